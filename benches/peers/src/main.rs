//! memcrab against its peers, in one run, on one local memcached.
//!
//! Starts memcached on a free loopback port, fills a key space, then runs
//! every workload with every peer that can do it, back to back, for
//! `--rounds` rounds (the median counts), and writes `BENCHMARKS.md` with
//! the table, the ratios of memcrab to each peer measured in the same run,
//! the targets met or not, CPU figures, and a chart. Run it with
//! `benches/run.sh`, which also runs the parser microbenchmarks whose
//! results it includes.

mod callers;
mod callers_report;
mod chart;
mod external;
mod peers;
mod report;
mod server;
mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use memcrab::PoolOptions;

use crate::peers::{Bare, Conn, Counts, Pooled, RustMemcache};
use crate::server::{cpu_seconds, Memcached};
use crate::workload::{Keys, Sample, Workload};

/// Every peer of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    Bare,
    BareOneThread,
    MemcrabClient,
    MemcrabPool,
    MemcrabEngine,
    Pymemcache,
    RustMemcache,
    AsyncMemcached,
    Memcaslap,
    MemcrabTokio,
    MemcrabTokioNoMerge,
    AsyncPool1,
    AsyncPool4,
    AsyncPool16,
}

impl Peer {
    pub const ALL: [Peer; 14] = [
        Peer::Bare,
        Peer::BareOneThread,
        Peer::MemcrabClient,
        Peer::MemcrabPool,
        Peer::MemcrabEngine,
        Peer::Pymemcache,
        Peer::RustMemcache,
        Peer::AsyncMemcached,
        Peer::Memcaslap,
        Peer::MemcrabTokio,
        Peer::MemcrabTokioNoMerge,
        Peer::AsyncPool1,
        Peer::AsyncPool4,
        Peer::AsyncPool16,
    ];

    /// The peers of the many-caller workload, in table order.
    pub const CALLERS: [Peer; 7] = [
        Peer::MemcrabTokio,
        Peer::MemcrabTokioNoMerge,
        Peer::AsyncPool1,
        Peer::AsyncPool4,
        Peer::AsyncPool16,
        Peer::MemcrabPool,
        Peer::Bare,
    ];

    /// The pool size of an `async-memcached` pool peer.
    pub fn async_pool(self) -> Option<usize> {
        match self {
            Peer::AsyncPool1 => Some(1),
            Peer::AsyncPool4 => Some(4),
            Peer::AsyncPool16 => Some(16),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Peer::Bare => "bare socket",
            Peer::BareOneThread => "bare socket, 1 thread",
            Peer::MemcrabClient => "memcrab Client",
            Peer::MemcrabPool => "memcrab PooledClient",
            Peer::MemcrabEngine => "memcrab mio Engine",
            Peer::Pymemcache => "pymemcache 4.0.0",
            Peer::RustMemcache => "memcache crate 0.17",
            Peer::AsyncMemcached => "async-memcached 0.9",
            Peer::Memcaslap => "memcaslap",
            Peer::MemcrabTokio => "memcrab tokio Client",
            Peer::MemcrabTokioNoMerge => "memcrab tokio Client, merge_gets(false)",
            Peer::AsyncPool1 => "async-memcached 0.9, pool of 1",
            Peer::AsyncPool4 => "async-memcached 0.9, pool of 4",
            Peer::AsyncPool16 => "async-memcached 0.9, pool of 16",
        }
    }

    pub fn is_memcrab(self) -> bool {
        matches!(
            self,
            Peer::MemcrabClient
                | Peer::MemcrabPool
                | Peer::MemcrabEngine
                | Peer::MemcrabTokio
                | Peer::MemcrabTokioNoMerge
        )
    }

    fn supports(self, w: Workload) -> bool {
        use Workload::*;
        if w.is_callers() {
            return Peer::CALLERS.contains(&self);
        }
        match self {
            // get_many of 1000 and 10,000 keys: the bare socket, the Client
            // and the engine (the targets); the in-flight rows: the
            // engine's connection count only.
            Peer::Bare => !matches!(w, Merged | InFlight(_)),
            _ if matches!(w, GetMany(n) if n > 100) => {
                matches!(self, Peer::MemcrabClient | Peer::MemcrabEngine)
            }
            Peer::BareOneThread => matches!(w, Pipelined(_)),
            Peer::MemcrabClient => matches!(w, Get | Set | SetNoreply | GetMany(_) | Mixed(1)),
            Peer::MemcrabPool => matches!(w, Get | GetMany(_) | Mixed(_)),
            Peer::MemcrabEngine => true,
            Peer::Pymemcache => matches!(w, Get | Set | SetNoreply | GetMany(_) | Mixed(_)),
            Peer::RustMemcache | Peer::AsyncMemcached => {
                matches!(w, Get | Set | GetMany(_) | Mixed(_))
            }
            Peer::Memcaslap => matches!(w, Mixed(_)),
            _ => false,
        }
    }
}

/// Options of the run.
pub struct Options {
    pub duration: Duration,
    pub rounds: usize,
    pub out: PathBuf,
    pub chart: PathBuf,
    pub json: PathBuf,
    pub python: Option<PathBuf>,
    pub criterion: PathBuf,
    pub only: Option<Vec<String>>,
    pub command: String,
    pub memcached_threads: u32,
}

fn parse_options() -> Options {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut o = Options {
        duration: Duration::from_secs(2),
        rounds: 3,
        out: root.join("BENCHMARKS.md"),
        chart: root.join("benches/benchmarks.svg"),
        json: root.join("benches/results.json"),
        python: std::env::var_os("MEMCRAB_PYTHON").map(PathBuf::from),
        criterion: root.join("target/criterion"),
        only: None,
        command: "benches/run.sh".into(),
        memcached_threads: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--duration" => o.duration = Duration::from_secs_f64(v().parse().unwrap()),
            "--rounds" => o.rounds = v().parse().unwrap(),
            "--out" => o.out = v().into(),
            "--chart" => o.chart = v().into(),
            "--json" => o.json = v().into(),
            "--python" => o.python = Some(v().into()),
            "--criterion" => o.criterion = v().into(),
            "--only" => o.only = Some(v().split(',').map(str::to_owned).collect()),
            "--command" => o.command = v(),
            "--memcached-threads" => o.memcached_threads = v().parse().unwrap(),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

/// The results: every sample of every (workload, peer).
pub type Results = BTreeMap<(Workload, Peer), Vec<Sample>>;

fn main() {
    let opts = parse_options();
    let load_before = load_average();
    let server = Memcached::start(opts.memcached_threads);
    let addr = server.addr();
    let keys = Keys::new();
    let value = workload::value();
    fill(&addr, &keys, &value);
    let python = opts.python.clone().filter(|p| p.exists());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pymemcache_bench.py");
    let has_memcaslap = std::process::Command::new("memcaslap")
        .arg("--version")
        .output()
        .is_ok();
    let workloads: Vec<Workload> = Workload::all()
        .into_iter()
        .filter(|w| opts.only.as_ref().is_none_or(|o| o.contains(&w.name())))
        .collect();
    let mut results = Results::new();
    let mut skipped: Vec<String> = Vec::new();
    for round in 0..opts.rounds {
        for &w in &workloads {
            for p in Peer::ALL {
                if !p.supports(w) {
                    continue;
                }
                if let Workload::Callers(n) = w {
                    match run_callers(&server, p, n, &addr, &keys, opts.duration) {
                        Ok(sample) => {
                            eprintln!(
                                "round {}/{} {:<22} {:<40} {:>10.0} gets/s  p50 {:.0} p99 {:.0} p99.9 {:.0} us  client {:.2} us/get",
                                round + 1,
                                opts.rounds,
                                w.name(),
                                p.name(),
                                sample.ops,
                                sample.latency_us[0],
                                sample.latency_us[1],
                                sample.latency_us[2],
                                sample.cpu_us_per_op
                            );
                            results.entry((w, p)).or_default().push(sample);
                        }
                        Err(e) => {
                            let note = format!("{} / {}: {e}", w.name(), p.name());
                            eprintln!("skipped {note}");
                            if !skipped.contains(&note) {
                                skipped.push(note);
                            }
                        }
                    }
                    continue;
                }
                let counts: Result<(Counts, (f64, f64)), String> = match p {
                    Peer::Pymemcache => match &python {
                        Some(py) => measure_cpu(&server, || {
                            external::pymemcache(py, &script, &addr, w, opts.duration)
                        }),
                        None => Err("no Python with pymemcache (set MEMCRAB_PYTHON)".into()),
                    },
                    Peer::Memcaslap if !has_memcaslap => Err("memcaslap is not installed".into()),
                    Peer::Memcaslap => measure_cpu(&server, || {
                        external::memcaslap(&addr, w.connections(), opts.duration)
                    }),
                    _ => measure_cpu(&server, || {
                        Ok(run_in_process(p, w, &addr, &keys, &value, opts.duration))
                    }),
                };
                let counts = counts.map(|(c, (server_cpu, client_cpu))| {
                    let secs = c.2.as_secs_f64();
                    Sample {
                        ops: c.0 as f64 / secs,
                        keys: c.1 as f64 / secs,
                        server_cpu,
                        client_cpu,
                        ..Sample::default()
                    }
                });
                match counts {
                    Ok(sample) => {
                        eprintln!(
                            "round {}/{} {:<22} {:<22} {:>12.0} ops/s {:>12.0} keys/s  memcached cpu {:.2}  client cpu {:.2}",
                            round + 1,
                            opts.rounds,
                            w.name(),
                            p.name(),
                            sample.ops,
                            sample.keys,
                            sample.server_cpu,
                            sample.client_cpu
                        );
                        results.entry((w, p)).or_default().push(sample);
                    }
                    Err(e) => {
                        let note = format!("{} / {}: {e}", w.name(), p.name());
                        eprintln!("skipped {note}");
                        if !skipped.contains(&note) {
                            skipped.push(note);
                        }
                    }
                }
            }
        }
    }
    let load_after = load_average();
    let env = report::Env {
        memcached: server.version(),
        memcached_threads: opts.memcached_threads,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_before,
        load_after,
        duration: opts.duration,
        rounds: opts.rounds,
        command: opts.command.clone(),
        skipped,
    };
    drop(server);
    let chart_name = opts
        .chart
        .file_name()
        .map(|n| format!("benches/{}", n.to_string_lossy()))
        .unwrap_or_default();
    if let Err(e) = chart::draw(&results, &opts.chart) {
        eprintln!("cannot draw the chart: {e}");
    }
    let md = report::markdown(&results, &env, &chart_name, &opts.criterion);
    std::fs::write(&opts.out, md).expect("write BENCHMARKS.md");
    std::fs::write(&opts.json, report::json(&results, &env)).expect("write results.json");
    eprintln!("wrote {} and {}", opts.out.display(), opts.chart.display());
}

/// Runs `f`, measuring memcached's CPU and this process's (with its waited
/// children) over it, in cores.
fn measure_cpu(
    server: &Memcached,
    f: impl FnOnce() -> Result<Counts, String>,
) -> Result<(Counts, (f64, f64)), String> {
    let pid = server.pid().to_string();
    let (s0, c0) = (cpu_seconds(&pid, false), cpu_seconds("self", true));
    let counts = f()?;
    let (s1, c1) = (cpu_seconds(&pid, false), cpu_seconds("self", true));
    let secs = counts.2.as_secs_f64().max(1e-9);
    Ok((counts, ((s1 - s0) / secs, (c1 - c0) / secs)))
}

/// One measurement of the many-caller workload: `n` callers of peer `p`.
fn run_callers(
    server: &Memcached,
    p: Peer,
    n: usize,
    addr: &str,
    keys: &Keys,
    d: Duration,
) -> Result<Sample, String> {
    let pid = server.pid().to_string();
    let s0 = cpu_seconds(&pid, false);
    let m = match p {
        Peer::Bare => callers::bare(addr, n, keys, d),
        Peer::MemcrabPool => callers::pooled(addr, n, keys, d),
        #[cfg(feature = "memcrab-tokio")]
        Peer::MemcrabTokio => callers::memcrab_tokio(addr, n, true, d),
        #[cfg(feature = "memcrab-tokio")]
        Peer::MemcrabTokioNoMerge => callers::memcrab_tokio(addr, n, false, d),
        #[cfg(not(feature = "memcrab-tokio"))]
        Peer::MemcrabTokio | Peer::MemcrabTokioNoMerge => {
            return Err("built without feature memcrab-tokio (memcrab::tokio::Client)".into());
        }
        p => match p.async_pool() {
            Some(k) => callers::async_memcached(addr, n, k, d),
            None => unreachable!("{p:?} is not a many-caller peer"),
        },
    };
    let s1 = cpu_seconds(&pid, false);
    let secs = m.elapsed.as_secs_f64().max(1e-9);
    let ops = m.gets as f64 / secs;
    let q = |q: f64| m.hist.value_at_quantile(q) as f64;
    Ok(Sample {
        ops,
        keys: ops,
        server_cpu: (s1 - s0) / secs,
        client_cpu: m.cpu / secs,
        latency_us: [q(0.5), q(0.99), q(0.999)],
        cpu_us_per_op: m.cpu / (m.gets.max(1) as f64) * 1e6,
    })
}

fn run_in_process(
    p: Peer,
    w: Workload,
    addr: &str,
    keys: &Keys,
    value: &[u8],
    d: Duration,
) -> Counts {
    let n = w.connections();
    match p {
        Peer::Bare => match w {
            Workload::Pipelined(depth) => peers::bare_pipelined(addr, 4, depth, keys, d),
            _ => {
                let conns = (0..n)
                    .map(|_| Box::new(Bare::connect(addr)) as Box<dyn Conn>)
                    .collect();
                peers::run_blocking(w, conns, keys, value, d)
            }
        },
        Peer::MemcrabClient => {
            let c = memcrab::Client::new(addr).unwrap();
            c.version().unwrap();
            peers::run_blocking(w, vec![Box::new(c)], keys, value, d)
        }
        Peer::MemcrabPool => {
            let pool = Arc::new(memcrab::PooledClient::new(addr, PoolOptions::default()).unwrap());
            let conns = (0..n)
                .map(|_| Box::new(Pooled(pool.clone())) as Box<dyn Conn>)
                .collect();
            peers::run_blocking(w, conns, keys, value, d)
        }
        Peer::BareOneThread => match w {
            Workload::Pipelined(depth) => peers::bare_pipelined_one_thread(addr, 4, depth, keys, d),
            _ => unreachable!(),
        },
        Peer::MemcrabEngine => peers::engine(addr, w, keys, value, d),
        Peer::RustMemcache => {
            let conns = (0..n)
                .map(|_| Box::new(RustMemcache::connect(addr)) as Box<dyn Conn>)
                .collect();
            peers::run_blocking(w, conns, keys, value, d)
        }
        Peer::AsyncMemcached => peers::async_memcached(addr, w, keys, value, d),
        _ => unreachable!("{p:?} runs elsewhere"),
    }
}

/// Sets every key of the key space, pipelined.
fn fill(addr: &str, keys: &Keys, value: &[u8]) {
    let mut engine = memcrab::mio::Engine::builder()
        .server(addr)
        .depth(256)
        .build()
        .unwrap();
    for i in 0..workload::KEYS {
        engine
            .submit(&memcrab::core::Request::Store {
                command: memcrab::core::StoreCommand::Set,
                key: keys.get(i),
                value,
                flags: 0,
                exptime: 0,
                noreply: false,
            })
            .unwrap();
    }
    for (_, r) in engine.finish().unwrap() {
        r.unwrap();
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

use memcrab::Memcache as _;
