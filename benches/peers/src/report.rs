//! BENCHMARKS.md: the table, the ratios, the targets, CPU, the parser.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::workload::{Sample, Workload};
use crate::{Peer, Results};

/// Where and how the run happened.
pub struct Env {
    pub memcached: String,
    pub memcached_threads: u32,
    pub cores: usize,
    pub load_before: String,
    pub load_after: String,
    pub duration: Duration,
    pub rounds: usize,
    pub command: String,
    pub skipped: Vec<String>,
}

/// The median sample (by the workload's figure) of a cell.
pub fn median(results: &Results, w: Workload, p: Peer) -> Option<Sample> {
    let mut v = results.get(&(w, p))?.clone();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.figure(w).total_cmp(&b.figure(w)));
    Some(v[v.len() / 2])
}

fn fig(results: &Results, w: Workload, p: Peer) -> Option<f64> {
    median(results, w, p).map(|s| s.figure(w))
}

pub fn human(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn show_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".into(), |r| format!("{r:.2}×"))
}

/// One target: memcrab's figure over a peer's, against the bar.
struct Target {
    what: String,
    measured: Option<f64>,
    bar: f64,
    note: String,
    /// The bare socket itself does not reach the bar over this peer: the
    /// bare-socket target is the one that counts.
    unreachable: bool,
}

impl Target {
    fn verdict(&self) -> &'static str {
        match self.measured {
            Some(r) if r >= self.bar => "**met**",
            Some(_) if self.unreachable => "not met, out of reach here",
            Some(_) => "**not met**",
            None => "not measured",
        }
    }
}

pub fn markdown(results: &Results, env: &Env, chart: &str, criterion: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# memcrab benchmarks\n");
    let _ = writeln!(
        s,
        "Written by `{}` (never part of the test suite). Every figure below was measured \
         in **one run**, against **one local memcached** ({}, {} worker threads, loopback), \
         on a {}-core machine; the workloads ran back to back, each peer for {:.1} s per \
         round, {} rounds, and each cell is the median round. Absolute numbers drift with \
         the machine's load (load average {} before the run, {} after): read the **ratios**, \
         which compare peers measured minutes apart in the same run.\n",
        env.command,
        env.memcached,
        env.memcached_threads,
        env.cores,
        env.duration.as_secs_f64(),
        env.rounds,
        env.load_before,
        env.load_after
    );
    let _ = writeln!(
        s,
        "Key space: 10,000 keys of 15 bytes, 100-byte values, filled before the first \
         measurement (every get hits; memcaslap uses its own keys). Requests/s unless the \
         workload says keys/s.\n"
    );
    let _ = writeln!(
        s,
        "![memcrab and its peers, relative to the bare socket]({chart})\n"
    );

    // The table.
    let peers: Vec<Peer> = Peer::ALL
        .into_iter()
        .filter(|p| results.keys().any(|(w, q)| q == p && !w.is_callers()))
        .collect();
    // The many-caller workload has its own section (many_callers).
    let workloads: Vec<Workload> = {
        let mut w: Vec<Workload> = results
            .keys()
            .map(|(w, _)| *w)
            .filter(|w| !w.is_callers())
            .collect();
        w.dedup();
        w
    };
    let _ = writeln!(s, "## Throughput\n");
    let _ = write!(s, "| workload |");
    for p in &peers {
        let _ = write!(s, " {} |", p.name());
    }
    let _ = write!(s, "\n|---|");
    for _ in &peers {
        let _ = write!(s, "---:|");
    }
    s.push('\n');
    for &w in &workloads {
        let _ = write!(s, "| {} |", w.label());
        for &p in &peers {
            let cell = fig(results, w, p).map_or_else(|| "".into(), human);
            let _ = write!(s, " {cell} |");
        }
        s.push('\n');
    }

    // Ratios of each memcrab variant to each peer.
    let others: Vec<Peer> = peers.iter().copied().filter(|p| !p.is_memcrab()).collect();
    let _ = writeln!(s, "\n## memcrab relative to each peer (same run)\n");
    let _ = write!(s, "| workload | memcrab | figure |");
    for p in &others {
        let _ = write!(s, " ÷ {} |", p.name());
    }
    let _ = write!(s, "\n|---|---|---:|");
    for _ in &others {
        let _ = write!(s, "---:|");
    }
    s.push('\n');
    for &w in &workloads {
        for m in [Peer::MemcrabClient, Peer::MemcrabPool, Peer::MemcrabEngine] {
            let Some(mine) = fig(results, w, m) else {
                continue;
            };
            let _ = write!(s, "| {} | {} | {} |", w.label(), m.name(), human(mine));
            for &p in &others {
                let other = match (w, p) {
                    // memcaslap cannot pipeline: its 4-connection figure.
                    (Workload::Pipelined(_), Peer::Memcaslap) => {
                        fig(results, Workload::Mixed(4), p)
                    }
                    _ => fig(results, w, p),
                };
                let _ = write!(s, " {} |", show_ratio(ratio(Some(mine), other)));
            }
            s.push('\n');
        }
    }
    let _ = writeln!(
        s,
        "\nmemcaslap cannot pipeline: the pipelined rows divide by its 9:1 figure at 4 \
         connections. No peer merges gets: the targets below divide the merged row's keys/s \
         by each peer's best single-key figure (sequential, mixed or pipelined)."
    );

    // Targets.
    let _ = writeln!(s, "\n## The issue's targets\n");
    let mut targets = Vec::new();
    let bare_py = ratio(
        fig(results, Workload::Get, Peer::Bare),
        fig(results, Workload::Get, Peer::Pymemcache),
    );
    let client = |w| fig(results, w, Peer::MemcrabClient);
    for (peer, bar) in [
        (Peer::Bare, 0.9),
        (Peer::Pymemcache, 1.4),
        (Peer::RustMemcache, 2.0),
    ] {
        let note = if peer == Peer::Pymemcache && bare_py.is_some_and(|b| b < bar) {
            format!(
                "the bare socket itself reaches only {} of pymemcache in this run: the \
                 bare-socket target above is the one that counts",
                show_ratio(bare_py)
            )
        } else {
            String::new()
        };
        targets.push(Target {
            what: format!("sequential get (Client) ÷ {}", peer.name()),
            measured: ratio(client(Workload::Get), fig(results, Workload::Get, peer)),
            bar,
            unreachable: !note.is_empty(),
            note,
        });
    }
    let bare_py_many = ratio(
        fig(results, Workload::GetMany(100), Peer::Bare),
        fig(results, Workload::GetMany(100), Peer::Pymemcache),
    );
    for (peer, bar) in [
        (Peer::Bare, 0.85),
        (Peer::Pymemcache, 7.0),
        (Peer::RustMemcache, 2.5),
    ] {
        let note = if peer == Peer::Pymemcache && bare_py_many.is_some_and(|b| b < bar) {
            format!(
                "the bare socket itself reaches only {} of pymemcache in this run: the \
                 bare-socket target above is the one that counts",
                show_ratio(bare_py_many)
            )
        } else {
            String::new()
        };
        targets.push(Target {
            what: format!("get_many(100) keys/s (Client) ÷ {}", peer.name()),
            measured: ratio(
                client(Workload::GetMany(100)),
                fig(results, Workload::GetMany(100), peer),
            ),
            bar,
            unreachable: !note.is_empty(),
            note,
        });
    }
    // get_many of 1000 and 10,000 keys: the client's CPU, not the server,
    // is then the limit.
    for n in [1000, 10_000] {
        let w = Workload::GetMany(n);
        for peer in [Peer::MemcrabClient, Peer::MemcrabEngine] {
            targets.push(Target {
                what: format!("{} ({}) ÷ bare socket", w.label(), peer.name()),
                measured: ratio(fig(results, w, peer), fig(results, w, Peer::Bare)),
                bar: 0.9,
                note: String::new(),
                unreachable: false,
            });
        }
    }
    // The engine's throughput independent of its connection count.
    let (few, many) = (
        fig(results, Workload::InFlight(4), Peer::MemcrabEngine),
        fig(results, Workload::InFlight(256), Peer::MemcrabEngine),
    );
    targets.push(Target {
        what: "engine, 256 gets in flight: 256 conn (depth 1) ÷ 4 conn (depth 64)".into(),
        measured: ratio(many, few),
        bar: 0.9,
        note: match (many, few) {
            (Some(m), Some(f)) => format!("{} vs {} gets/s", human(m), human(f)),
            _ => String::new(),
        },
        unreachable: false,
    });
    let p128 = Workload::Pipelined(128);
    targets.push(Target {
        what: "pipelined engine, 4 conn, depth 128 ÷ bare socket, one thread per connection".into(),
        measured: ratio(
            fig(results, p128, Peer::MemcrabEngine),
            fig(results, p128, Peer::Bare),
        ),
        bar: 0.9,
        note: "the engine drives all 4 connections from one thread".into(),
        unreachable: false,
    });
    targets.push(Target {
        what: "pipelined engine, 4 conn, depth 128 ÷ bare socket, one thread (one mio loop)".into(),
        measured: ratio(
            fig(results, p128, Peer::MemcrabEngine),
            fig(results, p128, Peer::BareOneThread),
        ),
        bar: 0.9,
        note: "the same loop as the engine's, without the protocol: memcrab's own cost".into(),
        unreachable: false,
    });
    targets.push(Target {
        what: "pipelined engine, 4 conn, depth 128 ÷ memcaslap at 4 conn".into(),
        measured: ratio(
            fig(results, p128, Peer::MemcrabEngine),
            fig(results, Workload::Mixed(4), Peer::Memcaslap),
        ),
        bar: 1.5,
        note: String::new(),
        unreachable: false,
    });
    // Merged gets against the best single-key figure of every peer.
    let merged = fig(results, Workload::Merged, Peer::MemcrabEngine);
    for p in others.iter().copied() {
        let best = workloads
            .iter()
            .filter(|w| {
                matches!(
                    w,
                    Workload::Get | Workload::Mixed(_) | Workload::Pipelined(_)
                )
            })
            .filter_map(|&w| fig(results, w, p))
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
        targets.push(Target {
            what: format!(
                "merged single-key gets (keys/s) ÷ {}'s best single-key figure",
                p.name()
            ),
            measured: ratio(merged, best),
            bar: 1.0,
            note: String::new(),
            unreachable: false,
        });
    }
    let parse = parser_figures(criterion);
    if let Some(p) = &parse {
        targets.push(Target {
            what: "parsing 1 KiB values: memchr scan time ÷ parse time (within 2×)".into(),
            measured: Some(p.kib_scan_ns / p.kib_parse_ns),
            bar: 0.5,
            note: format!(
                "parse is {:.2}× the scan's time",
                p.kib_parse_ns / p.kib_scan_ns
            ),
            unreachable: false,
        });
    }
    let _ = writeln!(
        s,
        "| target | measured | bar | verdict | note |\n|---|---:|---:|---|---|"
    );
    for t in &targets {
        let _ = writeln!(
            s,
            "| {} | {} | ≥ {:.2}× | {} | {} |",
            t.what,
            show_ratio(t.measured),
            t.bar,
            t.verdict(),
            t.note
        );
    }

    crate::callers_report::many_callers(&mut s, results);

    // CPU.
    let _ = writeln!(s, "\n## CPU: who is saturated\n");
    let _ = writeln!(
        s,
        "CPU time (utime + stime from /proc/PID/stat) over each measurement, in cores \
         (1.00 = one core busy all the time). memcached runs with {} worker threads on {} cores.\n",
        env.memcached_threads, env.cores
    );
    let _ = writeln!(
        s,
        "| workload | client | throughput | memcached CPU | client CPU | memcached CPU per 100k req/s |\n|---|---|---:|---:|---:|---:|"
    );
    for w in [
        Workload::Pipelined(1),
        Workload::Pipelined(16),
        Workload::Pipelined(128),
        Workload::Merged,
    ] {
        for p in [Peer::Bare, Peer::BareOneThread, Peer::MemcrabEngine] {
            if let Some(m) = median(results, w, p) {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} ops/s | {:.2} | {:.2} | {:.2} |",
                    w.label(),
                    p.name(),
                    human(m.ops),
                    m.server_cpu,
                    m.client_cpu,
                    m.server_cpu / (m.ops / 1e5)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\nThe bare socket's client CPU counts its 4 threads (one per connection); \
         the one-thread bare socket and memcrab's engine drive all 4 connections from one \
         thread. memcached is saturated when its CPU nears what the client leaves it of the \
         machine's cores."
    );

    // Parser.
    let _ = writeln!(
        s,
        "\n## Parser and encoder (criterion, `cargo bench -p memcrab-core`)\n"
    );
    match &parse {
        Some(p) => s.push_str(&p.table),
        None => {
            let _ = writeln!(
                s,
                "No criterion results found under {}.",
                criterion.display()
            );
        }
    }
    // Instructions, from `memcrab-ir` (run by benches/run.sh when valgrind
    // is installed).
    let ir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/instructions.md");
    if let Ok(table) = std::fs::read_to_string(&ir) {
        let _ = writeln!(
            s,
            "\n## Instructions per operation (callgrind, `benches/peers/target/release/memcrab-ir`)\n\n\
             User-space instructions (`Ir`) of the client process only, counted by \
             `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=*ir_measured*`: \
             each (client, workload) runs in its own process against one memcached \
             (1 worker thread, `-I 2m`, outside valgrind); the same operations run once \
             unmeasured (warm-up: connections, buffers, first allocations), then N of them \
             inside the never-inlined `ir_measured`, the only function counted; each cell \
             is its total ÷ N (÷ keys for get_many). Counts do not move with the machine's \
             load. Caveat: callgrind counts one `Ir` per byte of glibc's `rep movsb`/`rep stosb` \
             (large memcpy/memset), so a copy or a zero-fill of 1 MiB weighs ≈ 1M. \
             `memcrab-core-parse` is `Connection::poll` over replies already received (the \
             parser alone); `memchr-scan` counts `\\n` over the same bytes. \
             `memcrab-engine-cN` is the engine over N connections at depth 1 keeping N single \
             gets in flight (each operation: top up, take one completed get): its cost per \
             get against its connection count. The 1 MiB value's zero-fill (the receive \
             room for it, `BytesMut::zeroed`: safe code cannot read a socket into memory it \
             has not initialised) is ≈ 1M of the memcrab 1 MiB figures.\n"
        );
        s.push_str(&table);
    }
    if !env.skipped.is_empty() {
        let _ = writeln!(s, "\n## Not measured\n");
        for n in &env.skipped {
            let _ = writeln!(s, "- {n}");
        }
    }
    let _ = writeln!(
        s,
        "\n## How each peer was run\n\n\
         - **bare socket**: a `std::net::TcpStream` (TCP_NODELAY) that writes the request \
         bytes and reads until the reply's end (`END\\r\\n`, or the line) and does nothing \
         else; one thread per connection; pipelined, each connection keeps `depth` gets \
         in flight and writes one new get per `END\\r\\n` it counts.\n\
         - **bare socket, 1 thread**: the same pipelined loop over all 4 connections from \
         one thread and one `mio::Poll`, as the engine runs, without parsing.\n\
         - **memcrab Client / PooledClient**: the blocking clients with default options \
         (sets with `noreply(false)` where a reply is awaited); one thread per connection \
         sharing one pool.\n\
         - **memcrab mio Engine**: one thread, `connections × depth` requests kept in \
         flight (depth 1 for the sequential and mixed rows); the merged row lets the \
         engine merge single-key gets into gets of up to 100 keys (`merge_gets(100)`); \
         the 256-in-flight rows keep 256 single gets in flight over 4 connections (depth \
         64) or 256 (depth 1), the engine's cost against its connection count.\n\
         - **get_many(1,000) and get_many(10,000)**: consecutive keys from a random start \
         (10,000: the whole key space), one get at a time; only the bare socket, the \
         `Client` and the engine run them.\n\
         - **pymemcache 4.0.0**: `pymemcache.client.base.Client(no_delay=True)` in a venv, \
         one Python thread per connection (`benches/peers/pymemcache_bench.py`).\n\
         - **memcache crate 0.17** (rust-memcache): `memcache://…?tcp_nodelay=true`, one \
         client per thread; it has no noreply set.\n\
         - **async-memcached 0.9** (Shopify, tokio): one client per connection, one task \
         each on a current-thread runtime; no noreply set.\n\
         - **memcaslap** (libmemcached-tools): `-T min(conns,2) -c conns`, 9:1 get:set, \
         100-byte values, its own 20-byte keys (it refuses keys of 16 bytes or less); it fits the mixed workload only.\n\
         \nRaw samples: `benches/results.json`."
    );
    s
}

/// Figures read from criterion's output and the parse bench's sidecar.
struct Parse {
    kib_parse_ns: f64,
    kib_scan_ns: f64,
    table: String,
}

fn estimate_ns(criterion: &Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(criterion.join(id).join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn parser_figures(criterion: &Path) -> Option<Parse> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(criterion.join("memcrab-meta.json")).ok()?)
            .ok()?;
    let mut table = String::from(
        "| benchmark | per iteration | items | replies or requests/s | bytes/s |\n|---|---:|---:|---:|---:|\n",
    );
    let mut kib = (None, None);
    for entry in meta["benches"].as_array()? {
        let id = entry["id"].as_str()?;
        let items = entry["items"].as_f64()?;
        let bytes = entry["bytes"].as_f64()?;
        let Some(ns) = estimate_ns(criterion, id) else {
            continue;
        };
        if id == "parse_1KiB/memcrab" {
            kib.0 = Some(ns);
        }
        if id == "parse_1KiB/memchr_scan" {
            kib.1 = Some(ns);
        }
        let _ = writeln!(
            table,
            "| `{id}` | {:.1} µs | {items} | {}/s | {}B/s |",
            ns / 1e3,
            human(items / (ns / 1e9)),
            human(bytes / (ns / 1e9))
        );
    }
    let _ = writeln!(
        table,
        "\nAllocations per reply parsed (counting global allocator, `core/benches/parse.rs`): \
         {}.",
        meta["allocations"]
            .as_object()
            .map(|o| o
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "))
            .unwrap_or_default()
    );
    Some(Parse {
        kib_parse_ns: kib.0?,
        kib_scan_ns: kib.1?,
        table,
    })
}

pub fn json(results: &Results, env: &Env) -> String {
    let mut cells = Vec::new();
    for ((w, p), samples) in results {
        cells.push(serde_json::json!({
            "workload": w.name(),
            "peer": p.name(),
            "samples": samples.iter().map(|s| serde_json::json!({
                "ops_per_sec": s.ops, "keys_per_sec": s.keys,
                "memcached_cpu": s.server_cpu, "client_cpu": s.client_cpu,
                "latency_us": {"p50": s.latency_us[0], "p99": s.latency_us[1], "p999": s.latency_us[2]},
                "client_cpu_us_per_op": s.cpu_us_per_op,
            })).collect::<Vec<_>>(),
        }));
    }
    serde_json::to_string_pretty(&serde_json::json!({
        "memcached": env.memcached,
        "cores": env.cores,
        "load_before": env.load_before,
        "load_after": env.load_after,
        "seconds_per_sample": env.duration.as_secs_f64(),
        "rounds": env.rounds,
        "cells": cells,
    }))
    .unwrap()
}
