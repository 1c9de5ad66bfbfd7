//! The workloads, the key space, and what one measurement yields.

/// Keys in the key space, all filled before the first measurement.
pub const KEYS: usize = 10_000;
/// Bytes per value.
pub const VALUE_SIZE: usize = 100;
/// Key prefix (10 digits follow).
pub const PREFIX: &str = "peer:";

/// One workload of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Sequential single-key gets, 1 connection, one at a time.
    Get,
    /// Sequential sets awaiting the reply.
    Set,
    /// Sequential sets with `noreply` (a final round trip waits for them).
    SetNoreply,
    /// Sequential gets of N keys (100, 1000, 10,000: the whole key space).
    GetMany(usize),
    /// 9:1 get:set, N connections, one request at a time on each.
    Mixed(usize),
    /// Single-key gets over 4 connections, `depth` in flight on each.
    Pipelined(usize),
    /// 256 single-key gets kept in flight by the engine over N connections
    /// (256 / N on each): its cost per request against its connections.
    InFlight(usize),
    /// Single-key gets over 4 connections at depth 128, merged by the
    /// engine into multi-key gets.
    Merged,
    /// N concurrent callers, each doing single-key gets one at a time
    /// (`callers.rs`).
    Callers(usize),
}

impl Workload {
    pub fn all() -> Vec<Workload> {
        vec![
            Workload::Get,
            Workload::Set,
            Workload::SetNoreply,
            Workload::GetMany(100),
            Workload::GetMany(1000),
            Workload::GetMany(10_000),
            Workload::Mixed(1),
            Workload::Mixed(4),
            Workload::Mixed(16),
            Workload::Pipelined(1),
            Workload::Pipelined(16),
            Workload::Pipelined(128),
            Workload::InFlight(4),
            Workload::InFlight(256),
            Workload::Merged,
            Workload::Callers(1),
            Workload::Callers(16),
            Workload::Callers(64),
            Workload::Callers(256),
            Workload::Callers(1024),
        ]
    }

    /// True for the many-caller workload (its own table and targets).
    pub fn is_callers(self) -> bool {
        matches!(self, Workload::Callers(_))
    }

    pub fn name(self) -> String {
        match self {
            Workload::Get => "get".into(),
            Workload::Set => "set".into(),
            Workload::SetNoreply => "set_noreply".into(),
            Workload::GetMany(n) => format!("get_many_{n}"),
            Workload::Mixed(n) => format!("mixed_9to1_c{n}"),
            Workload::Pipelined(d) => format!("pipelined_c4_d{d}"),
            Workload::InFlight(n) => format!("inflight256_c{n}"),
            Workload::Merged => "merged_gets_c4_d128".into(),
            Workload::Callers(n) => format!("callers_{n}"),
        }
    }

    pub fn label(self) -> String {
        match self {
            Workload::Get => "sequential get (1 conn)".into(),
            Workload::Set => "sequential set, with reply".into(),
            Workload::SetNoreply => "sequential set, noreply".into(),
            Workload::GetMany(n) => format!("get_many({}), keys/s", thousands(n)),
            Workload::Mixed(n) => format!("mixed 9:1 get:set, {n} conn"),
            Workload::Pipelined(d) => format!("pipelined gets, 4 conn, depth {d}"),
            Workload::InFlight(n) => format!("256 gets in flight, {n} conn, depth {}", 256 / n),
            Workload::Merged => "single gets merged, 4 conn, depth 128, keys/s".into(),
            Workload::Callers(n) => format!("{n} concurrent callers, single gets"),
        }
    }

    /// Connections the workload uses.
    pub fn connections(self) -> usize {
        match self {
            Workload::Mixed(n) | Workload::InFlight(n) => n,
            Workload::Pipelined(_) | Workload::Merged => 4,
            _ => 1,
        }
    }

    /// True if the figure compared is keys/s rather than requests/s.
    pub fn per_key(self) -> bool {
        matches!(self, Workload::GetMany(_) | Workload::Merged)
    }
}

/// What one measurement of one peer on one workload gave.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// Requests per second.
    pub ops: f64,
    /// Keys per second (gets of many keys count each key).
    pub keys: f64,
    /// memcached's CPU use during the measurement, in cores.
    pub server_cpu: f64,
    /// The client's CPU use (this process and the children it ran), in
    /// cores.
    pub client_cpu: f64,
    /// Latency percentiles p50, p99, p99.9 in µs (many-caller workload
    /// only, else 0).
    pub latency_us: [f64; 3],
    /// Client CPU µs per request (many-caller workload only, else 0).
    pub cpu_us_per_op: f64,
}

impl Sample {
    pub fn figure(&self, w: Workload) -> f64 {
        if w.per_key() {
            self.keys
        } else {
            self.ops
        }
    }
}

/// A small fast random number generator (xorshift64*).
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }

    /// True one time in ten: a set of the 9:1 mix.
    pub fn is_set(&mut self) -> bool {
        self.next().is_multiple_of(10)
    }
}

/// The key space, formatted once.
pub struct Keys {
    bytes: Vec<u8>,
    width: usize,
}

impl Keys {
    pub fn new() -> Keys {
        let width = PREFIX.len() + 10;
        let mut bytes = Vec::with_capacity(width * KEYS);
        for i in 0..KEYS {
            bytes.extend_from_slice(format!("{PREFIX}{i:010}").as_bytes());
        }
        Keys { bytes, width }
    }

    pub fn get(&self, i: usize) -> &[u8] {
        &self.bytes[i * self.width..(i + 1) * self.width]
    }

    pub fn random(&self, rng: &mut Rng) -> &[u8] {
        self.get(rng.below(KEYS))
    }

    /// `n` distinct consecutive keys from a random start (at most
    /// [`KEYS`]).
    pub fn many(&self, n: usize, rng: &mut Rng) -> Vec<&[u8]> {
        let start = rng.below(KEYS - n + 1);
        (start..start + n).map(|i| self.get(i)).collect()
    }
}

/// `n` with thousands separators: 10000 → "10,000".
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn value() -> Vec<u8> {
    (0..VALUE_SIZE).map(|i| b'a' + (i % 26) as u8).collect()
}
