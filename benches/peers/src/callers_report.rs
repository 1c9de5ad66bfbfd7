//! BENCHMARKS.md's many-caller section: the table and the targets
//! for memcrab's tokio client against `async-memcached` behind a pool.

use std::fmt::Write as _;

use crate::callers::{CALLERS, MAX_THREADS, TOKIO_WORKERS};
use crate::report::{human, median};
use crate::workload::{Sample, Workload};
use crate::{Peer, Results};

const POOLS: [Peer; 3] = [Peer::AsyncPool1, Peer::AsyncPool4, Peer::AsyncPool16];

/// The `async-memcached` pool with the most gets/s at `n` callers.
fn best_pool(results: &Results, n: usize) -> Option<(Peer, Sample)> {
    POOLS
        .iter()
        .filter_map(|&p| median(results, Workload::Callers(n), p).map(|s| (p, s)))
        .max_by(|a, b| a.1.ops.total_cmp(&b.1.ops))
}

/// `async-memcached`'s peak over every caller count and pool size.
fn async_peak(results: &Results) -> Option<(usize, Peer, Sample)> {
    CALLERS
        .iter()
        .filter_map(|&n| best_pool(results, n).map(|(p, s)| (n, p, s)))
        .max_by(|a, b| a.2.ops.total_cmp(&b.2.ops))
}

fn pool_size(p: Peer) -> usize {
    p.async_pool().unwrap_or(0)
}

fn cell(results: &Results, n: usize, p: Peer) -> Option<Sample> {
    median(results, Workload::Callers(n), p)
}

fn verdict(measured: Option<f64>, bar: f64) -> &'static str {
    match measured {
        Some(r) if r >= bar => "**met**",
        Some(_) => "**not met**",
        None => "not measured",
    }
}

fn show(r: Option<f64>) -> String {
    r.map_or_else(|| "–".into(), |r| format!("{r:.2}×"))
}

pub fn many_callers(s: &mut String, results: &Results) {
    if !results.keys().any(|(w, _)| w.is_callers()) {
        return;
    }
    let _ = writeln!(s, "\n## Many callers: concurrent single gets\n");
    let _ = writeln!(
        s,
        "N callers, each doing single-key gets of 100-byte values one at a time (the next \
         after the last one's reply), against the same memcached. The async clients run N \
         tasks on one tokio multi-thread runtime of {TOKIO_WORKERS} worker threads; the \
         blocking ones run one thread per caller, at most {MAX_THREADS} (more callers use \
         {MAX_THREADS} threads). **memcrab tokio Client**: one connection (the default), \
         concurrent gets pipelined on it, merged into multi-key gets (the default) or not \
         (`merge_gets(false)`). **async-memcached 0.9** has no pool and one request in flight \
         per client: the bench puts K clients behind a semaphore (a caller takes a free one, \
         gets, puts it back), K = 1, 4, 16; *best* is the K with the most gets/s at that \
         caller count. **PooledClient**: memcrab's blocking pool of as many connections as \
         threads. **bare socket**: one thread and one connection per caller writing \
         `get KEY\\r\\n`, reading until `END\\r\\n`. Latency: per get, from the call to its \
         result (hdrhistogram). Client CPU: `getrusage(RUSAGE_SELF)` user + system over the \
         timed window (connections opened and warmed before it), ÷ gets.\n"
    );
    let _ = writeln!(
        s,
        "| callers | client | gets/s | p50 µs | p99 µs | p99.9 µs | client CPU µs/get | \
         gets/s ÷ async-memcached best |\n|---:|---|---:|---:|---:|---:|---:|---:|"
    );
    for n in CALLERS {
        let best = best_pool(results, n);
        for p in Peer::CALLERS {
            let Some(m) = cell(results, n, p) else {
                continue;
            };
            let mut name = p.name().to_owned();
            if best.is_some_and(|(b, _)| b == p) {
                name.push_str(" (best)");
            }
            let ratio = best.map(|(_, b)| m.ops / b.ops);
            let _ = writeln!(
                s,
                "| {n} | {name} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {} |",
                human(m.ops),
                m.latency_us[0],
                m.latency_us[1],
                m.latency_us[2],
                m.cpu_us_per_op,
                show(ratio)
            );
        }
    }

    // The targets.
    let _ = writeln!(s, "\n### The many-caller targets\n");
    let _ = writeln!(
        s,
        "| target | measured | bar | verdict | note |\n|---|---:|---:|---|---|"
    );
    let peak = async_peak(results);
    let at256 = best_pool(results, 256);
    for (p, what) in [
        (Peer::MemcrabTokio, ""),
        (Peer::MemcrabTokioNoMerge, ", merge_gets(false)"),
    ] {
        let mine = cell(results, 256, p);
        let tput = mine.zip(at256).map(|(m, (_, b))| m.ops / b.ops);
        let _ = writeln!(
            s,
            "| 256 callers: memcrab tokio{what} gets/s ÷ async-memcached best pool | {} | ≥ \
             5.00× | {} | {} vs {} gets/s (pool of {}) |",
            show(tput),
            verdict(tput, 5.0),
            mine.map_or("–".into(), |m| human(m.ops)),
            at256.map_or("–".into(), |(_, b)| human(b.ops)),
            at256.map_or(0, |(b, _)| pool_size(b)),
        );
        // p99 no worse than async-memcached's at its own peak: its p99 ÷ ours.
        let p99 = mine
            .zip(peak)
            .map(|(m, (_, _, b))| b.latency_us[1] / m.latency_us[1].max(1.0));
        let _ = writeln!(
            s,
            "| 256 callers: memcrab tokio{what} p99 no worse than async-memcached's p99 at \
             its peak (its p99 ÷ ours) | {} | ≥ 1.00× | {} | {} µs vs {} µs (async-memcached's \
             peak: {} callers, pool of {}); its p99 at 256 callers, best pool: {} µs |",
            show(p99),
            verdict(p99, 1.0),
            mine.map_or("–".into(), |m| format!("{:.0}", m.latency_us[1])),
            peak.map_or("–".into(), |(_, _, b)| format!("{:.0}", b.latency_us[1])),
            peak.map_or(0, |(n, _, _)| n),
            peak.map_or(0, |(_, b, _)| pool_size(b)),
            at256.map_or("–".into(), |(_, b)| format!("{:.0}", b.latency_us[1])),
        );
        let cpu = mine
            .zip(at256)
            .map(|(m, (_, b))| b.cpu_us_per_op / m.cpu_us_per_op.max(1e-9));
        let _ = writeln!(
            s,
            "| 256 callers: client CPU per get, at most half of async-memcached's (its ÷ \
             memcrab tokio{what}'s) | {} | ≥ 2.00× | {} | {} vs {} µs/get |",
            show(cpu),
            verdict(cpu, 2.0),
            mine.map_or("–".into(), |m| format!("{:.2}", m.cpu_us_per_op)),
            at256.map_or("–".into(), |(_, b)| format!("{:.2}", b.cpu_us_per_op)),
        );
    }
    let mine = cell(results, 1, Peer::MemcrabTokio);
    let bare = cell(results, 1, Peer::Bare);
    let seq = mine.zip(bare).map(|(m, b)| m.ops / b.ops);
    let _ = writeln!(
        s,
        "| 1 caller, sequential gets: memcrab tokio ÷ bare socket | {} | ≥ 0.90× | {} | {} vs \
         {} gets/s |",
        show(seq),
        verdict(seq, 0.9),
        mine.map_or("–".into(), |m| human(m.ops)),
        bare.map_or("–".into(), |b| human(b.ops)),
    );
}
