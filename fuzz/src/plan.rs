//! The input format of the `text_reply` and `meta_reply` targets: a small
//! plan of requests and read splits, then the server's bytes.
//!
//! ```text
//! input  := config:u8 n_ops:u8 op{n_ops % 16 + 1} n_cuts:u8 cut:u16le{n_cuts % 16} reply...
//! op     := kind:u8 a:u8 b:u8
//! config := bits 0-1 limits (see `Plan::limits`), bit 2 key prefix "p:",
//!           bit 3 Protocol::Meta for the classic requests (meta_reply only)
//! ```
//!
//! Every input decodes (missing bytes read as 0), and [`Plan::encode`] is
//! the inverse, so the seed generator (`examples/seed.rs`) writes a plan, runs
//! it against a real memcached and stores the plan with the real reply.
//!
//! Keys and values come from small tables, so replies the fuzzer builds by
//! mutation name keys that were asked for and values of the sizes stored.

use memcrab_core::meta::{
    ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaRequest, MetaSet, SetMode,
};
use memcrab_core::{GetCommand, KeyPolicy, Limits, Request, StoreCommand};

/// The keys requests use (`b"n"` usually holds a number).
pub const KEYS: [&[u8]; 4] = [b"a", b"b", b"c", b"n"];
/// A key only the meta protocol can carry (sent base64-encoded).
pub const SPACE_KEY: &[u8] = b"s p";
/// The values stores use.
pub const VALUES: [&[u8]; 4] = [b"v", b"", b"10", b"hello world"];
/// `stats` arguments.
pub const STATS: [&[&[u8]]; 6] = [
    &[],
    &[b"items"],
    &[b"slabs"],
    &[b"settings"],
    &[b"reset"],
    &[b"sizes"],
];
/// Raw commands and the terminators of their replies.
pub const RAWS: [(&[u8], &[u8]); 4] = [
    (b"version", b"\r\n"),
    (b"stats", b"END\r\n"),
    (b"get a", b"END\r\n"),
    (b"mn", b"MN\r\n"),
];
/// The number of classic op kinds ([`text_op`]).
pub const TEXT_KINDS: u8 = 18;

/// A decoded input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// See the module docs.
    pub config: u8,
    /// `(kind, a, b)` triples.
    pub ops: Vec<[u8; 3]>,
    /// Cut points, taken modulo the reply length + 1.
    pub cuts: Vec<u16>,
    /// The server's bytes.
    pub reply: Vec<u8>,
}

impl Plan {
    /// Decodes any bytes.
    pub fn decode(data: &[u8]) -> Plan {
        let mut r = Reader(data);
        let config = r.u8();
        let n_ops = usize::from(r.u8() % 16) + 1;
        let ops = (0..n_ops).map(|_| [r.u8(), r.u8(), r.u8()]).collect();
        let n_cuts = usize::from(r.u8() % 16);
        let cuts = (0..n_cuts)
            .map(|_| u16::from_le_bytes([r.u8(), r.u8()]))
            .collect();
        Plan {
            config,
            ops,
            cuts,
            reply: r.0.to_vec(),
        }
    }

    /// Encodes a plan of 1 to 16 ops and at most 15 cuts.
    pub fn encode(&self) -> Vec<u8> {
        assert!((1..=16).contains(&self.ops.len()) && self.cuts.len() < 16);
        let mut out = vec![self.config, (self.ops.len() - 1) as u8];
        for op in &self.ops {
            out.extend_from_slice(op);
        }
        out.push(self.cuts.len() as u8);
        for c in &self.cuts {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.extend_from_slice(&self.reply);
        out
    }

    /// The limits: default, a 16-byte line limit, an 8-byte item limit, or
    /// both small (40 and 2).
    pub fn limits(&self) -> Limits {
        match self.config & 3 {
            0 => Limits::default(),
            1 => Limits {
                max_line: 16,
                ..Limits::default()
            },
            2 => Limits {
                max_item_size: 8,
                ..Limits::default()
            },
            _ => Limits {
                max_line: 40,
                max_item_size: 2,
            },
        }
    }

    /// The key policy: no prefix or `p:`.
    pub fn policy(&self) -> KeyPolicy {
        if self.config & 4 != 0 {
            KeyPolicy::new().with_prefix(&b"p:"[..])
        } else {
            KeyPolicy::new()
        }
    }

    /// Whether classic requests go over the meta protocol.
    pub fn meta_protocol(&self) -> bool {
        self.config & 8 != 0
    }

    /// The reply cut into reads at the cut points.
    pub fn chunks(&self) -> Vec<&[u8]> {
        let mut at: Vec<usize> = self
            .cuts
            .iter()
            .map(|&c| usize::from(c) % (self.reply.len() + 1))
            .collect();
        at.sort_unstable();
        at.dedup();
        let mut out = Vec::new();
        let mut last = 0;
        for a in at {
            out.push(&self.reply[last..a]);
            last = a;
        }
        out.push(&self.reply[last..]);
        out
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
}

/// A classic request decoded from an op; keys and values borrow the tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextOp {
    keys: Vec<&'static [u8]>,
    kind: TextKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TextKind {
    Get(GetCommand),
    Store {
        command: StoreCommand,
        value: &'static [u8],
        flags: u32,
        noreply: bool,
    },
    Delete(bool),
    Touch(bool),
    Incr(u64, bool),
    Decr(u64, bool),
    Stats(&'static [&'static [u8]]),
    Version,
    FlushAll(bool),
    Verbosity(u32, bool),
    Raw(&'static [u8], &'static [u8]),
    Shutdown(bool),
    CacheMemlimit(u64, bool),
    Quit,
}

/// Decodes a classic request from `(kind, a, b)`.
pub fn text_op(kind: u8, a: u8, b: u8) -> TextOp {
    let key = KEYS[usize::from(a & 3)];
    let noreply = b & 1 != 0;
    let value = VALUES[usize::from((b >> 1) & 3)];
    let mut keys = vec![key];
    let kind = match kind % TEXT_KINDS {
        k @ 0..=3 => {
            // A subset of the keys (bits 0-3), in order or reversed (bit 7),
            // the first one repeated (bit 6).
            keys = (0..4)
                .filter(|i| a & (1 << i) != 0)
                .map(|i| KEYS[i])
                .collect();
            if keys.is_empty() {
                keys.push(KEYS[usize::from((a >> 4) & 3)]);
            }
            if a & 0x80 != 0 {
                keys.reverse();
            }
            if a & 0x40 != 0 {
                keys.push(keys[0]);
            }
            TextKind::Get(match k {
                0 => GetCommand::Get,
                1 => GetCommand::Gets,
                2 => GetCommand::Gat(0),
                _ => GetCommand::Gats(0),
            })
        }
        4 => TextKind::Store {
            command: [
                StoreCommand::Set,
                StoreCommand::Add,
                StoreCommand::Replace,
                StoreCommand::Append,
                StoreCommand::Prepend,
            ][usize::from((a >> 2) % 5)],
            value,
            flags: if b & 8 != 0 { u32::from(b) * 1000 } else { 0 },
            noreply,
        },
        5 => TextKind::Store {
            command: StoreCommand::Cas(u64::from(a >> 2)),
            value,
            flags: 0,
            noreply,
        },
        6 => TextKind::Delete(noreply),
        7 => TextKind::Touch(noreply),
        8 => TextKind::Incr(u64::from(b >> 1), noreply),
        9 => TextKind::Decr(u64::from(b >> 1), noreply),
        10 => TextKind::Stats(STATS[usize::from(a) % STATS.len()]),
        11 => TextKind::Version,
        12 => TextKind::FlushAll(noreply),
        13 => TextKind::Verbosity(u32::from(a & 1), noreply),
        14 => {
            let (line, terminator) = RAWS[usize::from(a) % RAWS.len()];
            TextKind::Raw(line, terminator)
        }
        15 => TextKind::Shutdown(a & 1 != 0),
        16 => TextKind::CacheMemlimit(64 + u64::from(a), noreply),
        _ => TextKind::Quit,
    };
    TextOp { keys, kind }
}

impl TextOp {
    /// The request.
    pub fn request(&self) -> Request<'_> {
        let key = self.keys[0];
        match self.kind {
            TextKind::Get(command) => Request::Get {
                command,
                keys: &self.keys,
            },
            TextKind::Store {
                command,
                value,
                flags,
                noreply,
            } => Request::Store {
                command,
                key,
                value,
                flags,
                exptime: 0,
                noreply,
            },
            TextKind::Delete(noreply) => Request::Delete { key, noreply },
            TextKind::Touch(noreply) => Request::Touch {
                key,
                exptime: 0,
                noreply,
            },
            TextKind::Incr(delta, noreply) => Request::Incr {
                key,
                delta,
                noreply,
            },
            TextKind::Decr(delta, noreply) => Request::Decr {
                key,
                delta,
                noreply,
            },
            TextKind::Stats(args) => Request::Stats { args },
            TextKind::Version => Request::Version,
            TextKind::FlushAll(noreply) => Request::FlushAll { delay: 0, noreply },
            TextKind::Verbosity(level, noreply) => Request::Verbosity { level, noreply },
            TextKind::Raw(line, terminator) => Request::Raw { line, terminator },
            TextKind::Shutdown(graceful) => Request::Shutdown { graceful },
            TextKind::CacheMemlimit(megabytes, noreply) => {
                Request::CacheMemlimit { megabytes, noreply }
            }
            TextKind::Quit => Request::Quit,
        }
    }

    /// The command name `ERROR` is reported for.
    pub fn command(&self) -> &'static str {
        match self.request() {
            Request::Store { command, .. } => command.name(),
            Request::Get { command, .. } => command.name(),
            Request::Touch { .. } => "touch",
            Request::Delete { .. } => "delete",
            Request::Incr { .. } => "incr",
            Request::Decr { .. } => "decr",
            Request::Stats { .. } => "stats",
            Request::Version => "version",
            Request::FlushAll { .. } => "flush_all",
            Request::Verbosity { .. } => "verbosity",
            Request::CacheMemlimit { .. } => "cache_memlimit",
            Request::Quit => "quit",
            Request::Shutdown { .. } => "shutdown",
            _ => "raw",
        }
    }
}

/// An op of the meta target: a meta request, or a classic one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaOp {
    /// A meta request (`submit_meta`).
    Meta(MetaRequest<'static>),
    /// A classic request (`submit`; over meta commands with `Protocol::Meta`).
    Classic(TextOp),
}

/// Decodes a meta-target op: kinds below 128 are meta requests, the rest
/// classic ones.
pub fn meta_op(kind: u8, a: u8, b: u8) -> MetaOp {
    if kind >= 128 {
        return MetaOp::Classic(text_op(kind - 128, a, b));
    }
    let key = if a & 4 != 0 {
        SPACE_KEY
    } else {
        KEYS[usize::from(a & 3)]
    };
    let req = match kind % 6 {
        0 => {
            let mut g = MetaGet::new(key);
            g.return_value = b & 1 != 0;
            g.return_cas = b & 2 != 0;
            g.return_flags = b & 4 != 0;
            g.return_key = b & 8 != 0;
            g.return_ttl = b & 16 != 0;
            g.return_size = b & 32 != 0;
            g.return_hit = b & 64 != 0;
            g.quiet = b & 128 != 0;
            g.vivify = (a & 8 != 0).then_some(30);
            g.recache = (a & 16 != 0).then_some(30);
            g.touch = (a & 32 != 0).then_some(0);
            g.no_bump = a & 64 != 0;
            g.return_last_access = a & 128 != 0;
            MetaRequest::Get(g)
        }
        1 => {
            let mut s = MetaSet::new(key, VALUES[usize::from((b >> 3) & 3)]).mode(
                [
                    SetMode::Set,
                    SetMode::Add,
                    SetMode::Replace,
                    SetMode::Append,
                    SetMode::Prepend,
                ][usize::from((a >> 3) % 5)],
            );
            s.quiet = b & 1 != 0;
            s.return_cas = b & 2 != 0;
            s.return_key = b & 4 != 0;
            s.compare_cas = (b & 32 != 0).then_some(u64::from(a >> 6));
            s.invalidate = b & 64 != 0;
            s.client_flags = if b & 128 != 0 { 7 } else { 0 };
            MetaRequest::Set(s)
        }
        2 => {
            let mut d = MetaDelete::new(key);
            d.compare_cas = (a & 8 != 0).then_some(u64::from(b));
            d.invalidate = a & 16 != 0;
            d.return_key = a & 32 != 0;
            d.quiet = a & 64 != 0;
            MetaRequest::Delete(d)
        }
        3 => {
            let mut m = MetaArithmetic::new(key).delta(u64::from(b & 15));
            if a & 8 != 0 {
                m = m.mode(ArithMode::Decr);
            }
            m.quiet = a & 16 != 0;
            if a & 32 != 0 {
                m = m.autovivify(0, u64::from(b >> 4));
            }
            m.return_value = a & 64 == 0;
            m.return_cas = a & 128 != 0;
            MetaRequest::Arithmetic(m)
        }
        4 => MetaRequest::Noop,
        _ => MetaRequest::Debug { key },
    };
    MetaOp::Meta(req)
}
