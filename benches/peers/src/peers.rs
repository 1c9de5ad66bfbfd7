//! The peers that run inside this process: the bare socket, memcrab's
//! blocking client, pool and mio engine, the `memcache` crate and
//! `async-memcached`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use memcrab::core::{GetCommand, Reply, Request, StoreCommand};
use memcrab::mio::{Engine, TrySubmitError};
use memcrab::{Memcache, StoreOptions};

use crate::workload::{Keys, Rng, Workload};

/// What a run counted: requests, keys, and how long it took.
pub type Counts = (u64, u64, Duration);

/// One blocking connection of a peer, used by one thread.
pub trait Conn: Send {
    fn get(&mut self, key: &[u8]);
    fn set(&mut self, key: &[u8], value: &[u8]);
    /// Returns false if the peer has no noreply set.
    fn set_noreply(&mut self, key: &[u8], value: &[u8]) -> bool;
    fn get_many(&mut self, keys: &[&[u8]]);
    /// One round trip: after it, every noreply request was processed.
    fn sync(&mut self);
}

/// Runs `workload` on each connection in its own thread for `duration`.
pub fn run_blocking(
    workload: Workload,
    conns: Vec<Box<dyn Conn>>,
    keys: &Keys,
    value: &[u8],
    duration: Duration,
) -> Counts {
    let start = Instant::now();
    let deadline = start + duration;
    let counts: Vec<(u64, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(t, mut conn)| {
                scope.spawn(move || {
                    let mut rng = Rng(0x1234_5678_9ABC_DEF1 ^ ((t as u64 + 1) * 0x9E37_79B9));
                    let (mut ops, mut nkeys) = (0u64, 0u64);
                    loop {
                        for _ in 0..8 {
                            match workload {
                                Workload::Get => conn.get(keys.random(&mut rng)),
                                Workload::Set => conn.set(keys.random(&mut rng), value),
                                Workload::SetNoreply => {
                                    assert!(conn.set_noreply(keys.random(&mut rng), value));
                                }
                                Workload::GetMany(n) => {
                                    let many = keys.many(n, &mut rng);
                                    conn.get_many(&many);
                                    nkeys += many.len() as u64 - 1;
                                }
                                _ => {
                                    if rng.is_set() {
                                        conn.set(keys.random(&mut rng), value);
                                    } else {
                                        conn.get(keys.random(&mut rng));
                                    }
                                }
                            }
                            ops += 1;
                            nkeys += 1;
                        }
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                    if workload == Workload::SetNoreply {
                        conn.sync();
                    }
                    (ops, nkeys)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed();
    let ops = counts.iter().map(|c| c.0).sum();
    let nkeys = counts.iter().map(|c| c.1).sum();
    (ops, nkeys, elapsed)
}

// ---------------------------------------------------------------------------
// The bare socket: writes the request bytes, reads until the reply ends.
// ---------------------------------------------------------------------------

pub struct Bare {
    s: TcpStream,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl Bare {
    pub fn connect(addr: &str) -> Bare {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        Bare {
            s,
            out: Vec::with_capacity(4096),
            // get_many(10,000) replies are 1.3 MB.
            buf: vec![0; 2 * 1024 * 1024],
        }
    }

    fn exchange(&mut self, end: &[u8]) {
        self.s.write_all(&self.out).unwrap();
        let mut have = 0;
        loop {
            let n = self.s.read(&mut self.buf[have..]).unwrap();
            assert!(n > 0, "server closed");
            have += n;
            if self.buf[..have].ends_with(end) {
                return;
            }
        }
    }

    fn store_line(&mut self, key: &[u8], value: &[u8], noreply: bool) {
        self.out.clear();
        self.out.extend_from_slice(b"set ");
        self.out.extend_from_slice(key);
        self.out.extend_from_slice(b" 0 0 ");
        self.out
            .extend_from_slice(value.len().to_string().as_bytes());
        if noreply {
            self.out.extend_from_slice(b" noreply");
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(value);
        self.out.extend_from_slice(b"\r\n");
    }
}

impl Conn for Bare {
    fn get(&mut self, key: &[u8]) {
        self.out.clear();
        self.out.extend_from_slice(b"get ");
        self.out.extend_from_slice(key);
        self.out.extend_from_slice(b"\r\n");
        self.exchange(b"END\r\n");
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.store_line(key, value, false);
        self.exchange(b"\r\n");
    }

    fn set_noreply(&mut self, key: &[u8], value: &[u8]) -> bool {
        self.store_line(key, value, true);
        self.s.write_all(&self.out).unwrap();
        true
    }

    fn get_many(&mut self, keys: &[&[u8]]) {
        self.out.clear();
        self.out.extend_from_slice(b"get");
        for k in keys {
            self.out.push(b' ');
            self.out.extend_from_slice(k);
        }
        self.out.extend_from_slice(b"\r\n");
        self.exchange(b"END\r\n");
    }

    fn sync(&mut self) {
        self.out.clear();
        self.out.extend_from_slice(b"version\r\n");
        self.exchange(b"\r\n");
    }
}

/// The bare socket pipelined: one thread per connection keeps `depth`
/// single-key gets in flight, writing one new request per reply ended.
pub fn bare_pipelined(
    addr: &str,
    conns: usize,
    depth: usize,
    keys: &Keys,
    duration: Duration,
) -> Counts {
    let start = Instant::now();
    let deadline = start + duration;
    let finder = memchr::memmem::Finder::new(b"END\r\n");
    let total: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..conns)
            .map(|t| {
                let finder = finder.clone();
                scope.spawn(move || {
                    let mut rng = Rng(0xABCD_EF01_2345_6789 ^ (t as u64 + 1));
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut out = Vec::with_capacity(depth * 32);
                    let mut buf = vec![0u8; 256 * 1024];
                    let push = |out: &mut Vec<u8>, n: usize, rng: &mut Rng| {
                        for _ in 0..n {
                            out.extend_from_slice(b"get ");
                            out.extend_from_slice(keys.random(rng));
                            out.extend_from_slice(b"\r\n");
                        }
                    };
                    push(&mut out, depth, &mut rng);
                    s.write_all(&out).unwrap();
                    let (mut done, mut carry) = (0u64, [0u8; 8]);
                    let mut carry_len = 0;
                    loop {
                        let n = s.read(&mut buf).unwrap();
                        assert!(n > 0);
                        let chunk = &buf[..n];
                        let mut ended = finder.find_iter(chunk).count();
                        // An END\r\n split across two reads.
                        let head = &chunk[..n.min(4)];
                        carry[carry_len..carry_len + head.len()].copy_from_slice(head);
                        ended += finder.find_iter(&carry[..carry_len + head.len()]).count();
                        let tail = &chunk[n.saturating_sub(4)..];
                        carry[..tail.len()].copy_from_slice(tail);
                        carry_len = tail.len();
                        done += ended as u64;
                        if Instant::now() >= deadline {
                            break;
                        }
                        out.clear();
                        push(&mut out, ended, &mut rng);
                        s.write_all(&out).unwrap();
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    (total, total, start.elapsed())
}

/// The bare socket pipelined from one thread, as the engine runs: one
/// `mio::Poll` over all connections, each keeping `depth` single-key gets
/// in flight; per readable connection, read until the socket is drained,
/// count the `END\r\n`s, write as many new gets. No parsing beyond that.
pub fn bare_pipelined_one_thread(
    addr: &str,
    conns: usize,
    depth: usize,
    keys: &Keys,
    duration: Duration,
) -> Counts {
    use mio::{Events, Interest, Poll, Token};
    let finder = memchr::memmem::Finder::new(b"END\r\n");
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    let mut rng = Rng(0x7777_1234_ABCD_0001);
    let mut socks: Vec<(mio::net::TcpStream, [u8; 8], usize)> = Vec::new();
    let mut out = Vec::with_capacity(depth * 32);
    let push = |out: &mut Vec<u8>, n: usize, rng: &mut Rng| {
        for _ in 0..n {
            out.extend_from_slice(b"get ");
            out.extend_from_slice(keys.random(rng));
            out.extend_from_slice(b"\r\n");
        }
    };
    for i in 0..conns {
        let std = TcpStream::connect(addr).unwrap();
        std.set_nodelay(true).unwrap();
        std.set_nonblocking(true).unwrap();
        let mut s = mio::net::TcpStream::from_std(std);
        poll.registry()
            .register(&mut s, Token(i), Interest::READABLE)
            .unwrap();
        socks.push((s, [0; 8], 0));
    }
    let mut buf = vec![0u8; 256 * 1024];
    let start = Instant::now();
    let deadline = start + duration;
    for (s, _, _) in socks.iter_mut() {
        out.clear();
        push(&mut out, depth, &mut rng);
        s.write_all(&out).unwrap();
    }
    let mut done = 0u64;
    while Instant::now() < deadline {
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        for ev in events.iter() {
            let (s, carry, carry_len) = &mut socks[ev.token().0];
            let mut ended = 0;
            loop {
                match s.read(&mut buf) {
                    Ok(0) => panic!("server closed"),
                    Ok(n) => {
                        let chunk = &buf[..n];
                        ended += finder.find_iter(chunk).count();
                        let head = &chunk[..n.min(4)];
                        carry[*carry_len..*carry_len + head.len()].copy_from_slice(head);
                        ended += finder.find_iter(&carry[..*carry_len + head.len()]).count();
                        let tail = &chunk[n.saturating_sub(4)..];
                        carry[..tail.len()].copy_from_slice(tail);
                        *carry_len = tail.len();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            done += ended as u64;
            if ended > 0 {
                out.clear();
                push(&mut out, ended, &mut rng);
                s.write_all(&out).unwrap();
            }
        }
    }
    (done, done, start.elapsed())
}

// ---------------------------------------------------------------------------
// memcrab's blocking client and pool.
// ---------------------------------------------------------------------------

impl Conn for memcrab::Client {
    fn get(&mut self, key: &[u8]) {
        Memcache::get::<memcrab::Value>(self, key).unwrap();
    }
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.set_with(key, value, StoreOptions::new().noreply(false))
            .unwrap();
    }
    fn set_noreply(&mut self, key: &[u8], value: &[u8]) -> bool {
        self.set_with(key, value, StoreOptions::new().noreply(true))
            .unwrap();
        true
    }
    fn get_many(&mut self, keys: &[&[u8]]) {
        Memcache::get_many::<memcrab::Value, _>(self, keys).unwrap();
    }
    fn sync(&mut self) {
        self.version().unwrap();
    }
}

/// A thread's handle on a shared pool.
pub struct Pooled(pub Arc<memcrab::PooledClient>);

impl Conn for Pooled {
    fn get(&mut self, key: &[u8]) {
        self.0.get::<memcrab::Value>(key).unwrap();
    }
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0
            .set_with(key, value, StoreOptions::new().noreply(false))
            .unwrap();
    }
    fn set_noreply(&mut self, key: &[u8], value: &[u8]) -> bool {
        self.0
            .set_with(key, value, StoreOptions::new().noreply(true))
            .unwrap();
        true
    }
    fn get_many(&mut self, keys: &[&[u8]]) {
        self.0.get_many::<memcrab::Value, _>(keys).unwrap();
    }
    fn sync(&mut self) {
        self.0.version().unwrap();
    }
}

// ---------------------------------------------------------------------------
// The `memcache` crate (rust-memcache).
// ---------------------------------------------------------------------------

pub struct RustMemcache(pub memcache::Client);

impl RustMemcache {
    pub fn connect(addr: &str) -> RustMemcache {
        RustMemcache(
            memcache::Client::connect(format!("memcache://{addr}?tcp_nodelay=true")).unwrap(),
        )
    }
}

fn s(key: &[u8]) -> &str {
    std::str::from_utf8(key).unwrap()
}

impl Conn for RustMemcache {
    fn get(&mut self, key: &[u8]) {
        let _: Option<Vec<u8>> = self.0.get(s(key)).unwrap();
    }
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0.set(s(key), value, 0).unwrap();
    }
    fn set_noreply(&mut self, _: &[u8], _: &[u8]) -> bool {
        false
    }
    fn get_many(&mut self, keys: &[&[u8]]) {
        let keys: Vec<&str> = keys.iter().map(|k| s(k)).collect();
        let _: std::collections::HashMap<String, Vec<u8>> = self.0.gets(&keys).unwrap();
    }
    fn sync(&mut self) {
        self.0.version().unwrap();
    }
}

// ---------------------------------------------------------------------------
// async-memcached (tokio): one task per connection on a current-thread
// runtime.
// ---------------------------------------------------------------------------

pub fn async_memcached(
    addr: &str,
    workload: Workload,
    keys: &Keys,
    value: &[u8],
    duration: Duration,
) -> Counts {
    use async_memcached::AsciiProtocol;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conns = workload.connections();
    rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..conns {
            clients.push(
                async_memcached::Client::new(format!("tcp://{addr}"))
                    .await
                    .unwrap(),
            );
        }
        let start = Instant::now();
        let deadline = start + duration;
        let local = tokio::task::LocalSet::new();
        let keys = &*keys;
        let mut handles = Vec::new();
        // Tasks borrow the key space: run them to completion within scope.
        let results = local
            .run_until(async {
                for (t, mut client) in clients.into_iter().enumerate() {
                    let keys: &'static Keys = static_keys(keys);
                    let value: &'static [u8] = static_value(value);
                    handles.push(tokio::task::spawn_local(async move {
                        let mut rng = Rng(0x5555_AAAA_1234_4321 ^ (t as u64 + 1));
                        let (mut ops, mut nkeys) = (0u64, 0u64);
                        while Instant::now() < deadline {
                            match workload {
                                Workload::Get => {
                                    client.get(keys.random(&mut rng)).await.unwrap();
                                }
                                Workload::Set => {
                                    client
                                        .set(keys.random(&mut rng), value, None, None)
                                        .await
                                        .unwrap();
                                }
                                Workload::GetMany(n) => {
                                    let many = keys.many(n, &mut rng);
                                    client.get_multi(&many).await.unwrap();
                                    nkeys += many.len() as u64 - 1;
                                }
                                _ => {
                                    if rng.is_set() {
                                        client
                                            .set(keys.random(&mut rng), value, None, None)
                                            .await
                                            .unwrap();
                                    } else {
                                        client.get(keys.random(&mut rng)).await.unwrap();
                                    }
                                }
                            }
                            ops += 1;
                            nkeys += 1;
                        }
                        (ops, nkeys)
                    }));
                }
                let mut out = (0, 0);
                for h in handles {
                    let (o, k) = h.await.unwrap();
                    out.0 += o;
                    out.1 += k;
                }
                out
            })
            .await;
        (results.0, results.1, start.elapsed())
    })
}

/// The key space (the same every time) and value, kept for the whole
/// program, so spawned tasks may hold them.
fn static_keys(_: &Keys) -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(Keys::new)
}

fn static_value(value: &[u8]) -> &'static [u8] {
    static VALUE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    VALUE.get_or_init(|| value.to_vec())
}

// ---------------------------------------------------------------------------
// memcrab's mio engine.
// ---------------------------------------------------------------------------

/// Runs `workload` on a pipelined engine: `conns` connections, `depth`
/// requests in flight on each (`merge`: single gets merged into gets of up
/// to 100 keys), one thread.
pub fn engine(
    addr: &str,
    workload: Workload,
    keys: &Keys,
    value: &[u8],
    duration: Duration,
) -> Counts {
    let (conns, depth, merge) = match workload {
        Workload::Mixed(n) => (n, 1, 0),
        Workload::Pipelined(d) => (4, d, 0),
        Workload::InFlight(n) => (n, 256 / n, 0),
        Workload::Merged => (4, 128, 100),
        _ => (1, 1, 0),
    };
    let mut engine = Engine::builder()
        .server(addr)
        .connections(conns)
        .depth(depth)
        .merge_gets(merge)
        .build()
        .unwrap();
    // Connect before the clock starts.
    engine
        .submit(&Request::Version)
        .and_then(|_| engine.finish())
        .unwrap();
    let cap = conns * depth;
    let mut rng = Rng(0x0F0F_F0F0_1357_9BDF);
    let (mut ops, mut nkeys, mut outstanding) = (0u64, 0u64, 0usize);
    let mut many: Vec<&[u8]> = Vec::new();
    let start = Instant::now();
    let deadline = start + duration;
    loop {
        let now = Instant::now();
        let stopping = now >= deadline;
        if stopping && outstanding == 0 {
            break;
        }
        while !stopping && outstanding < cap {
            let set = match workload {
                Workload::Set | Workload::SetNoreply => true,
                Workload::Mixed(_) => rng.is_set(),
                _ => false,
            };
            let request = if set {
                Request::Store {
                    command: StoreCommand::Set,
                    key: keys.random(&mut rng),
                    value,
                    flags: 0,
                    exptime: 0,
                    noreply: workload == Workload::SetNoreply,
                }
            } else {
                many.clear();
                if let Workload::GetMany(n) = workload {
                    many = keys.many(n, &mut rng);
                } else {
                    many.push(keys.random(&mut rng));
                }
                Request::Get {
                    command: GetCommand::Get,
                    keys: &many,
                }
            };
            match engine.try_submit(&request) {
                Ok(_) if workload == Workload::SetNoreply => {
                    ops += 1;
                    nkeys += 1;
                }
                Ok(_) => outstanding += 1,
                Err(TrySubmitError::Busy) => break,
                Err(e) => panic!("{e}"),
            }
        }
        engine.wait(Some(Duration::from_millis(50))).unwrap();
        while let Some((_, r)) = engine.poll() {
            outstanding -= 1;
            match r.unwrap() {
                Reply::Values(items) if matches!(workload, Workload::GetMany(_)) => {
                    nkeys += items.len() as u64;
                }
                _ => nkeys += 1,
            }
            ops += 1;
        }
    }
    if workload == Workload::SetNoreply {
        engine
            .submit(&Request::Version)
            .and_then(|_| engine.finish())
            .unwrap();
    }
    (ops, nkeys, start.elapsed())
}
