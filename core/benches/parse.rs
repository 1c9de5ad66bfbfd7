//! Replies parsed per second and bytes per second, for small (100-byte)
//! and 1 KiB values, against a plain `memchr` scan of the same bytes (the
//! ceiling: touching every byte once); and allocations per reply, counted
//! by a global allocator. `memcrab` polls replies already received (the
//! parsing alone, as after a transport read into `receive_buffer`);
//! `memcrab_receive_copy` also copies them in with `receive(&[u8])`.
//!
//! `cargo bench -p memcrab-core --bench parse`. Besides criterion's own
//! output it writes `target/criterion/memcrab-meta.json` (items and bytes
//! per iteration, allocations per reply), which `benches/run.sh` puts in
//! BENCHMARKS.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BatchSize, Criterion, Throughput};
use memcrab_core::{Connection, GetCommand, Reply, Request};

/// Counts every allocation (and reallocation) made through it.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Replies per buffer.
const REPLIES: usize = 1000;

fn key(i: usize) -> String {
    format!("key:{i:06}")
}

/// `REPLIES` get hits of `size`-byte values, as memcached sends them.
fn replies(size: usize) -> Vec<u8> {
    let value: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut buf = Vec::new();
    for i in 0..REPLIES {
        buf.extend_from_slice(format!("VALUE {} 0 {size}\r\n", key(i)).as_bytes());
        buf.extend_from_slice(&value);
        buf.extend_from_slice(b"\r\nEND\r\n");
    }
    buf
}

/// A connection awaiting the `REPLIES` gets (their requests written).
fn awaiting() -> Connection {
    let mut conn = Connection::new();
    for i in 0..REPLIES {
        let k = key(i);
        let keys: &[&[u8]] = &[k.as_bytes()];
        conn.submit(
            &Request::Get {
                command: GetCommand::Get,
                keys,
            },
            None,
        )
        .unwrap();
    }
    let n = conn.transmit().len();
    conn.advance_transmit(n);
    conn
}

/// Receives `buf` and polls every reply; returns the value bytes seen.
fn parse_all(conn: &mut Connection, buf: &[u8]) -> usize {
    conn.receive(buf);
    poll_all(conn)
}

/// Polls every reply already received; returns the value bytes seen.
fn poll_all(conn: &mut Connection) -> usize {
    let mut bytes = 0;
    while let Some((_, reply)) = conn.poll() {
        if let Ok(Reply::Values(items)) = reply {
            bytes += items.iter().map(|i| i.value.len()).sum::<usize>();
        }
    }
    bytes
}

/// Allocations per reply while parsing `buf` (the connection made first).
fn allocations_per_reply(buf: &[u8]) -> f64 {
    let mut conn = awaiting();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let n = parse_all(&mut conn, buf);
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    black_box(n);
    (after - before) as f64 / REPLIES as f64
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut meta = Vec::new();
    let mut allocs = Vec::new();
    for (name, size) in [("100B", 100), ("1KiB", 1024)] {
        let buf = replies(size);
        allocs.push(format!(
            "\"{name} values\": {:.3}",
            allocations_per_reply(&buf)
        ));
        let group_name = format!("parse_{name}");
        let mut g = c.benchmark_group(&group_name);
        g.throughput(Throughput::Bytes(buf.len() as u64));
        // Parsing: the bytes already received (as a transport reading into
        // `receive_buffer` leaves them), every reply polled.
        g.bench_function("memcrab", |b| {
            b.iter_batched(
                || {
                    let mut conn = awaiting();
                    conn.receive(&buf);
                    conn
                },
                |mut conn| {
                    black_box(poll_all(&mut conn));
                    conn
                },
                BatchSize::LargeInput,
            )
        });
        // Receiving by copy (`receive(&[u8])`) and parsing.
        g.bench_function("memcrab_receive_copy", |b| {
            b.iter_batched(
                awaiting,
                |mut conn| {
                    black_box(parse_all(&mut conn, black_box(&buf)));
                    // Dropped after the clock stops: its buffers are not
                    // parsing.
                    conn
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function("memchr_scan", |b| {
            b.iter(|| memchr::memchr_iter(b'\n', black_box(&buf)).count())
        });
        g.finish();
        for bench in ["memcrab", "memcrab_receive_copy", "memchr_scan"] {
            meta.push(format!(
                "{{\"id\": \"{group_name}/{bench}\", \"items\": {REPLIES}, \"bytes\": {}}}",
                buf.len()
            ));
        }
    }
    encode_benches(&mut c, &mut meta);
    c.final_summary();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let _ = std::fs::create_dir_all(&dir);
    let json = format!(
        "{{\"benches\": [{}], \"allocations\": {{{}}}}}\n",
        meta.join(", "),
        allocs.join(", ")
    );
    let _ = std::fs::write(dir.join("memcrab-meta.json"), json);
    println!("allocations per reply parsed: {}", allocs.join(", "));
}

/// Requests encoded per second: gets and 100-byte sets.
fn encode_benches(c: &mut Criterion, meta: &mut Vec<String>) {
    let keys: Vec<String> = (0..REPLIES).map(key).collect();
    let value = vec![b'v'; 100];
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(REPLIES as u64));
    g.bench_function("get", |b| {
        b.iter_batched(
            Connection::new,
            |mut conn| {
                for k in &keys {
                    let keys: &[&[u8]] = &[k.as_bytes()];
                    let _ = conn.submit(
                        &Request::Get {
                            command: GetCommand::Get,
                            keys,
                        },
                        None,
                    );
                }
                conn
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("set_100B", |b| {
        b.iter_batched(
            Connection::new,
            |mut conn| {
                for k in &keys {
                    let _ = conn.submit(
                        &Request::Store {
                            command: memcrab_core::StoreCommand::Set,
                            key: k.as_bytes(),
                            value: &value,
                            flags: 0,
                            exptime: 0,
                            noreply: false,
                        },
                        None,
                    );
                }
                conn
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
    let bytes = |line: usize| line * REPLIES;
    meta.push(format!(
        "{{\"id\": \"encode/get\", \"items\": {REPLIES}, \"bytes\": {}}}",
        bytes("get key:000000\r\n".len())
    ));
    meta.push(format!(
        "{{\"id\": \"encode/set_100B\", \"items\": {REPLIES}, \"bytes\": {}}}",
        bytes("set key:000000 0 0 100\r\n".len() + 102)
    ));
}
