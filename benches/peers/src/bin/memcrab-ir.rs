//! Instructions (callgrind's `Ir`) per operation, memcrab against its peers.
//!
//! `memcrab-ir` (no arguments) starts memcached on a free loopback port,
//! fills it, then runs itself once per (peer, workload) under
//! `valgrind --tool=callgrind --collect-atstart=no
//! --toggle-collect=*ir_measured*`, so only the measured loop is counted:
//! `N` operations after a warm-up of the same operations outside the
//! collected function. It prints a Markdown table of Ir per operation (per
//! key for `get_many`, per reply for the parser alone) and writes it to
//! `--out` if given. Instruction counts do not move with the machine's
//! load, unlike timings. memcached runs outside valgrind: only the
//! client's user-space instructions are counted.
//!
//! `memcrab-ir --child PEER WORK ADDR N` is one such measured run;
//! `memcrab-ir --fill ADDR` fills a server of one's own for it (to profile
//! one run with `callgrind_annotate`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memcrab::core::{Connection, GetCommand, Reply, Request};
use memcrab::Memcache as _;

const KEYS: usize = 10_000;
const VALUE: usize = 100;
const BIG: usize = 1024 * 1024;
const PEERS: [&str; 10] = [
    "bare",
    "memcrab-client",
    "memcrab-engine",
    "memcrab-engine-c1",
    "memcrab-engine-c16",
    "memcrab-engine-c256",
    "async-memcached",
    "memcache-crate",
    "memcrab-core-parse",
    "memchr-scan",
];
const WORKS: [&str; 6] = [
    "get",
    "get_many_100",
    "get_many_1000",
    "get_many_10000",
    "get_1mib",
    "get_1kib",
];

/// Only the parser and the scan have a 1 KiB column; they have no
/// get_many(1000) or get_many(10,000) one. The engine over N
/// connections at depth 1 (`memcrab-engine-cN`: N single gets kept in
/// flight, one per connection) has the single-get column only: its cost
/// per get against its connections.
fn measured(peer: &str, work: &str) -> bool {
    let offline = matches!(peer, "memcrab-core-parse" | "memchr-scan");
    if in_flight(peer).is_some() {
        return work == "get";
    }
    match work {
        "get_1kib" => offline,
        "get_many_1000" | "get_many_10000" => !offline,
        _ => true,
    }
}

/// The connections of a `memcrab-engine-cN` peer: N.
fn in_flight(peer: &str) -> Option<usize> {
    peer.strip_prefix("memcrab-engine-c")?.parse().ok()
}

fn key(i: usize) -> String {
    format!("ir:{i:08}")
}

fn value(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

/// The loop callgrind counts: `f` run `n` times. Never inlined, so
/// `--toggle-collect` finds it by name.
#[inline(never)]
fn ir_measured(n: usize, f: &mut dyn FnMut(usize)) {
    for i in 0..n {
        f(i);
    }
}

/// Operations measured (and the same number of warm-up ones) per workload.
fn ops(work: &str) -> usize {
    match work {
        "get" | "get_1kib" => 2000,
        "get_many_100" => 50,
        "get_many_1000" => 10,
        "get_many_10000" => 5,
        _ => 10,
    }
}

/// Keys (or bytes-sized units) each operation counts for.
fn per_op(work: &str) -> usize {
    match work {
        "get_many_100" => 100,
        "get_many_1000" => 1000,
        "get_many_10000" => 10_000,
        _ => 1,
    }
}

fn many(work: &str) -> usize {
    match work {
        "get_many_100" => 100,
        "get_many_1000" => 1000,
        "get_many_10000" => 10_000,
        _ => 1,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let n: usize = args[4].parse().expect("N");
        child(&args[1], &args[2], &args[3], n);
        return;
    }
    if args.first().map(String::as_str) == Some("--fill") {
        fill(&args[1]);
        return;
    }
    let mut out = None;
    let mut only: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().cloned(),
            "--only" => only = it.next().map(|s| s.split(',').map(str::to_owned).collect()),
            other => panic!("unknown option {other}"),
        }
    }
    let server = Server::start();
    fill(&server.addr());
    let exe = std::env::current_exe().expect("own path");
    let mut rows = Vec::new();
    for peer in PEERS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|p| p == peer)) {
            continue;
        }
        let mut row = Vec::new();
        for work in WORKS {
            if !measured(peer, work) {
                row.push(None);
                continue;
            }
            let n = ops(work);
            let file = std::env::temp_dir().join(format!(
                "memcrab-ir.{}.{peer}.{work}.out",
                std::process::id()
            ));
            let status = Command::new("valgrind")
                .args([
                    "--tool=callgrind",
                    "--collect-atstart=no",
                    "--toggle-collect=*ir_measured*",
                    "--dump-instr=no",
                    "--compress-strings=no",
                ])
                .arg(format!("--callgrind-out-file={}", file.display()))
                .arg(&exe)
                .args(["--child", peer, work, &server.addr(), &n.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run valgrind");
            assert!(status.success(), "{peer} {work} failed under valgrind");
            let text = std::fs::read_to_string(&file).expect("callgrind output");
            let _ = std::fs::remove_file(&file);
            let total: u64 = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("totals:")
                        .or_else(|| l.strip_prefix("summary:"))
                })
                .and_then(|t| t.split_whitespace().next())
                .and_then(|t| t.parse().ok())
                .expect("totals line");
            let each = total as f64 / (n * per_op(work)) as f64;
            eprintln!("{peer:<20} {work:<14} {total:>14} Ir  {each:>12.1} per unit");
            row.push(Some(each));
        }
        rows.push((peer, row));
    }
    let mut md = String::from(
        "| client | Ir per get | Ir per key, get_many(100) | Ir per key, get_many(1000) | Ir per key, get_many(10,000) | Ir per 1 MiB get | Ir per 1 KiB get |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (peer, row) in &rows {
        md.push_str(&format!("| {peer} |"));
        for v in row {
            match v {
                Some(v) => md.push_str(&format!(" {} |", group(*v))),
                None => md.push_str(" – |"),
            }
        }
        md.push('\n');
    }
    md.push_str(&targets(&rows));
    print!("{md}");
    if let Some(path) = out {
        std::fs::write(path, md).expect("write --out");
    }
}

/// The instruction targets, met or not, from the table's cells.
fn targets(rows: &[(&str, Vec<Option<f64>>)]) -> String {
    let cell = |peer: &str, work: &str| -> Option<f64> {
        let col = WORKS.iter().position(|w| *w == work)?;
        rows.iter().find(|(p, _)| *p == peer)?.1[col]
    };
    let mut s = String::from("\n| target | figure | met |\n|---|---:|---|\n");
    let mut line = |what: &str, got: Option<f64>, limit: Option<f64>| {
        if let (Some(got), Some(limit)) = (got, limit) {
            let met = if got <= limit { "yes" } else { "no" };
            s.push_str(&format!(
                "| {what} ≤ {} | {} | {met} |\n",
                group(limit),
                group(got)
            ));
        }
    };
    line(
        "parse a 100-byte reply (memcrab-core-parse, Ir per get)",
        cell("memcrab-core-parse", "get"),
        Some(300.0),
    );
    line(
        "parse a 1 KiB reply (limit: a memchr scan of its bytes)",
        cell("memcrab-core-parse", "get_1kib"),
        cell("memchr-scan", "get_1kib"),
    );
    for peer in ["memcrab-client", "memcrab-engine"] {
        line(
            &format!("{peer}: Ir per sequential get"),
            cell(peer, "get"),
            Some(1500.0),
        );
        line(
            &format!("{peer}: Ir per key of get_many(100)"),
            cell(peer, "get_many_100"),
            Some(300.0),
        );
        line(
            &format!("{peer}: Ir per 1 MiB get"),
            cell(peer, "get_1mib"),
            Some(262_144.0),
        );
    }
    for n in [16, 256] {
        line(
            &format!(
                "memcrab-engine-c{n}: Ir per get at depth 1 over {n} connections (limit: 1.2× memcrab-engine-c1's)"
            ),
            cell(&format!("memcrab-engine-c{n}"), "get"),
            cell("memcrab-engine-c1", "get").map(|one| one * 1.2),
        );
    }
    s
}

/// Formats with thousands separators, no decimals.
fn group(v: f64) -> String {
    let s = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One measured run: warm up with `n` operations, then `n` inside
/// [`ir_measured`].
fn child(peer: &str, work: &str, addr: &str, n: usize) {
    let keys: Vec<String> = (0..KEYS).map(key).collect();
    let m = many(work);
    let pick = |i: usize| select(&keys, work, m, i);
    let expect = |got: usize| assert_eq!(got, m, "{peer} {work}: missing keys");
    match peer {
        "bare" => {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_nodelay(true).unwrap();
            let mut out = Vec::with_capacity(16 * 1024);
            let mut buf = vec![0u8; 2 * BIG];
            let mut f = |i: usize| {
                out.clear();
                out.extend_from_slice(b"get");
                for k in pick(i) {
                    out.push(b' ');
                    out.extend_from_slice(k);
                }
                out.extend_from_slice(b"\r\n");
                s.write_all(&out).unwrap();
                let mut have = 0;
                loop {
                    let n = s.read(&mut buf[have..]).unwrap();
                    assert!(n > 0);
                    have += n;
                    if buf[..have].ends_with(b"END\r\n") {
                        break;
                    }
                }
            };
            (0..n).for_each(&mut f);
            ir_measured(n, &mut f);
        }
        "memcrab-client" => {
            let c = memcrab::Client::new(addr).unwrap();
            let mut f = |i: usize| {
                let keys = pick(i);
                if keys.len() == 1 {
                    expect(usize::from(
                        c.get::<memcrab::Value>(keys[0]).unwrap().is_some(),
                    ));
                } else {
                    expect(c.get_many::<memcrab::Value, _>(&keys).unwrap().len());
                }
            };
            (0..n).for_each(&mut f);
            ir_measured(n, &mut f);
        }
        p if in_flight(p).is_some() => {
            let conns = in_flight(p).unwrap_or(1);
            let mut engine = memcrab::mio::Engine::builder()
                .server(addr)
                .connections(conns)
                .depth(1)
                .build()
                .unwrap();
            // Each call: top the engine up to one get in flight per
            // connection, then take one completed get (waiting if none).
            let mut f = |i: usize| {
                let mut k = i;
                loop {
                    let keys = pick(k % KEYS);
                    let request = Request::Get {
                        command: GetCommand::Get,
                        keys: &keys,
                    };
                    match engine.try_submit(&request) {
                        Ok(_) => k += 7919,
                        Err(memcrab::mio::TrySubmitError::Busy) => break,
                        Err(e) => panic!("{e}"),
                    }
                }
                let got = loop {
                    if let Some((_, r)) = engine.poll() {
                        break r.unwrap();
                    }
                    engine.wait(None).unwrap();
                };
                match got {
                    Reply::Values(items) => expect(items.len()),
                    other => panic!("{other:?}"),
                }
            };
            (0..n).for_each(&mut f);
            ir_measured(n, &mut f);
        }
        "memcrab-engine" => {
            let mut engine = memcrab::mio::Engine::builder()
                .server(addr)
                .build()
                .unwrap();
            let mut f = |i: usize| {
                let keys = pick(i);
                engine
                    .submit(&Request::Get {
                        command: GetCommand::Get,
                        keys: &keys,
                    })
                    .unwrap();
                let got = loop {
                    if let Some((_, r)) = engine.poll() {
                        break r.unwrap();
                    }
                    engine.wait(None).unwrap();
                };
                match got {
                    Reply::Values(items) => expect(items.len()),
                    other => panic!("{other:?}"),
                }
            };
            (0..n).for_each(&mut f);
            ir_measured(n, &mut f);
        }
        "async-memcached" => {
            use async_memcached::AsciiProtocol as _;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut client = rt
                .block_on(async_memcached::Client::new(format!("tcp://{addr}")))
                .unwrap();
            let mut f = |i: usize| {
                let keys = pick(i);
                rt.block_on(async {
                    if keys.len() == 1 {
                        let v = client.get(keys[0]).await.unwrap();
                        expect(usize::from(v.is_some()));
                    } else {
                        expect(client.get_multi(&keys).await.unwrap().len());
                    }
                });
            };
            (0..n).for_each(&mut f);
            ir_measured(n, &mut f);
        }
        "memcache-crate" => {
            let c =
                memcache::Client::connect(format!("memcache://{addr}?tcp_nodelay=true")).unwrap();
            let mut f = |i: usize| {
                let keys = pick(i);
                let keys: Vec<&str> = keys
                    .iter()
                    .map(|k| std::str::from_utf8(k).unwrap())
                    .collect();
                if keys.len() == 1 {
                    let v: Option<Vec<u8>> = c.get(keys[0]).unwrap();
                    expect(usize::from(v.is_some()));
                } else {
                    let got: std::collections::HashMap<String, Vec<u8>> = c.gets(&keys).unwrap();
                    expect(got.len());
                }
            };
            (0..n).for_each(&mut f);
            ir_measured(n, &mut f);
        }
        "memcrab-core-parse" => parse_only(work, n, &pick, false),
        "memchr-scan" => parse_only(work, n, &pick, true),
        other => panic!("unknown peer {other}"),
    }
}

/// The keys of operation `i`: consecutive keys, or the 1 MiB one.
fn select<'k>(keys: &'k [String], work: &str, m: usize, i: usize) -> Vec<&'k [u8]> {
    if work == "get_1mib" {
        return vec![b"ir:big".as_slice()];
    }
    let start = (i * m) % (KEYS - m + 1);
    keys[start..start + m]
        .iter()
        .map(|k| k.as_bytes())
        .collect()
}

/// The core's parser alone: `n` replies (as memcached sends them) already
/// received, then `poll`ed inside [`ir_measured`]; or (`scan`) a memchr
/// scan for `\n` over the same bytes, one reply's bytes per operation.
fn parse_only<'k>(work: &str, n: usize, pick: &dyn Fn(usize) -> Vec<&'k [u8]>, scan: bool) {
    let size = match work {
        "get_1mib" => BIG,
        "get_1kib" => 1024,
        _ => VALUE,
    };
    let v = value(size);
    let run = |measure: bool| {
        let mut conn = Connection::new();
        let mut wire = Vec::new();
        let mut ends = Vec::new();
        for i in 0..n {
            let keys = pick(i);
            conn.submit(
                &Request::Get {
                    command: GetCommand::Get,
                    keys: &keys,
                },
                None,
            )
            .unwrap();
            for k in &keys {
                wire.extend_from_slice(b"VALUE ");
                wire.extend_from_slice(k);
                wire.extend_from_slice(format!(" 0 {size}\r\n").as_bytes());
                wire.extend_from_slice(&v);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"END\r\n");
            ends.push(wire.len());
        }
        if scan {
            let mut seen = 0;
            let mut f = |i: usize| {
                let from = if i == 0 { 0 } else { ends[i - 1] };
                seen += memchr::memchr_iter(b'\n', &wire[from..ends[i]]).count();
            };
            if measure {
                ir_measured(n, &mut f);
            } else {
                (0..n).for_each(&mut f);
            }
            assert!(seen >= 2 * n);
            return;
        }
        let sent = conn.transmit().len();
        conn.advance_transmit(sent);
        conn.receive(&wire);
        let mut f = |_| match conn.poll() {
            Some((_, Ok(Reply::Values(items)))) => assert!(!items.is_empty()),
            other => panic!("{other:?}"),
        };
        if measure {
            ir_measured(n, &mut f);
        } else {
            (0..n).for_each(&mut f);
        }
    };
    run(false);
    run(true);
}

/// memcached on a free loopback port, with room for 1 MiB values.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut cmd = Command::new(std::env::var("MEMCACHED").unwrap_or("memcached".into()));
        cmd.args([
            "-l",
            "127.0.0.1",
            "-U",
            "0",
            "-m",
            "256",
            "-I",
            "2m",
            "-t",
            "1",
        ])
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if is_root() {
            cmd.args(["-u", "root"]);
        }
        let child = cmd.spawn().expect("start memcached");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "memcached did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// memcached refuses to run as root without `-u root`.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets every key (100-byte values) and `ir:big` (1 MiB).
fn fill(addr: &str) {
    let c = memcrab::Client::new(addr).unwrap();
    let v = value(VALUE);
    for i in 0..KEYS {
        c.set(key(i).as_bytes(), v.as_slice()).unwrap();
    }
    c.set(b"ir:big", value(BIG).as_slice()).unwrap();
}
