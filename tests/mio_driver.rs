//! The mio driver and the pipelined engine against real memcached servers:
//! many connections, thousands of pipelined requests matched to their
//! replies, a server killed mid-pipeline, slow readers, partial writes,
//! backpressure, timeouts from the caller's loop, merged gets.
#![cfg(feature = "mio")]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use memcrab::core::{GetCommand, Reply, Request, StoreCommand};
use memcrab::mio::{Completion, Driver, DriverOptions, Engine, SubmitError, Ticket};
use memcrab::{ErrorKind, Protocol};
use mio::{Events, Poll, Token};
use support::MemcachedServer;

/// A test's own event loop around a driver.
struct Loop {
    poll: Poll,
    events: Events,
    driver: Driver,
}

impl Loop {
    fn new(options: DriverOptions) -> Loop {
        let poll = Poll::new().unwrap();
        let driver = Driver::new(poll.registry(), options).unwrap();
        Loop {
            poll,
            events: Events::with_capacity(256),
            driver,
        }
    }

    /// One turn: flush, wait for events (at most 50 ms), handle them.
    fn turn(&mut self) {
        self.driver.flush();
        let timeout = self
            .driver
            .poll_timeout()
            .map_or(Duration::from_millis(50), |t| {
                t.min(Duration::from_millis(50))
            });
        self.poll.poll(&mut self.events, Some(timeout)).unwrap();
        for event in self.events.iter() {
            assert!(self.driver.handle_event(event), "an event not ours");
        }
        self.driver.handle_timeout();
    }

    /// Turns until `want` completions came (30 s at most).
    fn collect(&mut self, want: usize) -> Vec<Completion> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut out = Vec::new();
        while out.len() < want {
            assert!(
                Instant::now() < deadline,
                "only {} of {want} completions",
                out.len()
            );
            self.turn();
            while let Some(c) = self.driver.poll() {
                out.push(c);
            }
        }
        out
    }
}

fn set<'a>(key: &'a [u8], value: &'a [u8], noreply: bool) -> Request<'a> {
    Request::Store {
        command: StoreCommand::Set,
        key,
        value,
        flags: 7,
        exptime: 0,
        noreply,
    }
}

fn value_of(reply: &Reply) -> Option<&[u8]> {
    match reply {
        Reply::Values(items) => items.first().map(|i| &i.value[..]),
        other => panic!("not a get reply: {other:?}"),
    }
}

fn tokens(from: usize, n: usize) -> Vec<Token> {
    (from..from + n).map(Token).collect()
}

/// Thousands of pipelined sets then gets over 3 servers × 4 connections:
/// every reply matches its request, and each key is on the server the
/// router named.
fn many_connections(protocol: Protocol) {
    let servers = MemcachedServer::start_many(3);
    let mut lp = Loop::new(DriverOptions {
        protocol,
        ..DriverOptions::default()
    });
    for (i, s) in servers.iter().enumerate() {
        lp.driver
            .add_server(s.addr_string(), &tokens(i * 4, 4))
            .unwrap();
    }
    const N: usize = 3000;
    let key = |i: usize| format!("mio:{i}");
    let value = |i: usize| format!("value {i} {}", "x".repeat(i % 300));
    let mut sets = HashMap::new();
    for i in 0..N {
        let (k, v) = (key(i), value(i));
        let t = lp
            .driver
            .submit(&set(k.as_bytes(), v.as_bytes(), false))
            .unwrap();
        sets.insert(t, i);
    }
    for c in lp.collect(N) {
        assert!(
            sets.remove(&c.ticket).is_some(),
            "{:?} twice or unknown",
            c.ticket
        );
        assert_eq!(c.result.unwrap(), Reply::Stored);
    }
    let mut gets: HashMap<Ticket, usize> = HashMap::new();
    let mut used = std::collections::HashSet::new();
    for i in (0..N).rev() {
        let k = key(i);
        let keys: &[&[u8]] = &[k.as_bytes()];
        let t = lp
            .driver
            .submit(&Request::Get {
                command: GetCommand::Get,
                keys,
            })
            .unwrap();
        used.insert(t.token);
        gets.insert(t, i);
    }
    assert!(
        used.len() > 6,
        "the keys went to only {} connections",
        used.len()
    );
    for c in lp.collect(N) {
        let i = gets.remove(&c.ticket).expect("one completion per get");
        let reply = c.result.unwrap();
        assert_eq!(
            value_of(&reply),
            Some(value(i).as_bytes()),
            "key {}",
            key(i)
        );
    }
    // Each key lives where the router sends it, and nowhere else.
    for i in (0..N).step_by(97) {
        let k = key(i);
        let token = lp.driver.route(k.as_bytes()).unwrap();
        let node = lp.driver.node_of(token).unwrap();
        for (j, s) in servers.iter().enumerate() {
            let want = (j == node.0).then(|| value(i).into_bytes());
            assert_eq!(s.raw_get(k.as_bytes()), want, "key {k} on server {j}");
        }
    }
}

#[test]
fn many_connections_thousands_pipelined_text() {
    many_connections(Protocol::Text);
}

#[test]
fn many_connections_thousands_pipelined_meta() {
    many_connections(Protocol::Meta);
}

/// Kills the server while thousands of gets of large values are in flight:
/// every request completes once, each with its own value or an error, none
/// with another's reply.
#[test]
fn server_killed_mid_pipeline() {
    let mut server = MemcachedServer::start();
    const KEYS: usize = 50;
    let value = |i: usize| vec![b'a' + (i % 26) as u8; 20_000 + i];
    for i in 0..KEYS {
        server.raw_set(format!("big:{i}").as_bytes(), &value(i), 0);
    }
    let mut lp = Loop::new(DriverOptions::default());
    lp.driver
        .add_server(server.addr_string(), &tokens(0, 2))
        .unwrap();
    let mut gets = HashMap::new();
    const N: usize = 4000;
    for n in 0..N {
        let k = format!("big:{}", n % KEYS);
        let keys: &[&[u8]] = &[k.as_bytes()];
        let t = lp
            .driver
            .submit(&Request::Get {
                command: GetCommand::Get,
                keys,
            })
            .unwrap();
        gets.insert(t, n % KEYS);
    }
    let mut done = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while done.len() < 200 {
        assert!(Instant::now() < deadline);
        lp.turn();
        while let Some(c) = lp.driver.poll() {
            done.push(c);
        }
    }
    server.kill();
    done.extend(lp.collect(N - done.len()));
    let (mut ok, mut failed) = (0, 0);
    for c in done {
        let i = gets.remove(&c.ticket).expect("one completion per request");
        match c.result {
            Ok(reply) => {
                assert_eq!(value_of(&reply), Some(&value(i)[..]));
                ok += 1;
            }
            Err(e) => {
                assert!(e.is_connection_error(), "{e}");
                failed += 1;
            }
        }
    }
    assert!(gets.is_empty());
    assert!(ok >= 200 && failed > 0, "{ok} ok, {failed} failed");
    // Later requests fail at once (the server is gone), without hanging.
    let keys: &[&[u8]] = &[b"big:1"];
    match lp.driver.submit(&Request::Get {
        command: GetCommand::Get,
        keys,
    }) {
        Err(SubmitError::Failed(e)) => assert!(e.is_connection_error(), "{e}"),
        Ok(_) => {
            let c = lp.collect(1).pop().unwrap();
            assert!(c.result.unwrap_err().is_connection_error());
        }
        Err(e) => panic!("{e}"),
    }
}

/// A reader that lets replies pile up (the server blocks on a full socket)
/// and then reads them through a 512-byte buffer: every reply intact.
#[test]
fn slow_reader() {
    let server = MemcachedServer::start();
    let value = |i: usize| vec![b'0' + (i % 10) as u8; 64 * 1024 + i];
    for i in 0..20 {
        server.raw_set(format!("slow:{i}").as_bytes(), &value(i), 0);
    }
    let mut lp = Loop::new(DriverOptions {
        read_buffer: 512,
        ..DriverOptions::default()
    });
    lp.driver
        .add_server(server.addr_string(), &[Token(7)])
        .unwrap();
    let mut gets = HashMap::new();
    for n in 0..400 {
        let k = format!("slow:{}", n % 20);
        let keys: &[&[u8]] = &[k.as_bytes()];
        let t = lp
            .driver
            .submit(&Request::Get {
                command: GetCommand::Get,
                keys,
            })
            .unwrap();
        gets.insert(t, n % 20);
    }
    // Write what the socket takes, then do not turn the loop for a while:
    // the server blocks on its full socket.
    lp.driver.flush();
    std::thread::sleep(Duration::from_millis(300));
    for c in lp.collect(400) {
        let i = gets.remove(&c.ticket).unwrap();
        assert_eq!(value_of(&c.result.unwrap()), Some(&value(i)[..]));
    }
}

/// Values far larger than the socket buffers: every write is partial, and
/// the server still gets every byte of every value. With a small
/// `max_buffered`, `submit` pushes back with `Full` and the loop recovers.
#[test]
fn partial_writes_and_backpressure() {
    let server = MemcachedServer::builder().item_size_limit("4m").start();
    let mut lp = Loop::new(DriverOptions {
        max_buffered: 1 << 20,
        limits: memcrab::core::Limits {
            max_item_size: 4 << 20,
            ..memcrab::core::Limits::default()
        },
        ..DriverOptions::default()
    });
    lp.driver
        .add_server(server.addr_string(), &[Token(1)])
        .unwrap();
    let value = |i: usize| {
        (0..(1 << 20) + i * 1000)
            .map(|j| (j * 31 + i) as u8)
            .collect::<Vec<u8>>()
    };
    let mut pending = HashMap::new();
    let mut fulls = 0;
    for i in 0..24 {
        let (k, v) = (format!("part:{i}"), value(i));
        loop {
            match lp.driver.submit(&set(k.as_bytes(), &v, false)) {
                Ok(t) => {
                    pending.insert(t, i);
                    break;
                }
                Err(SubmitError::Full) => {
                    fulls += 1;
                    assert!(lp.driver.wants_write(Token(1)));
                    lp.turn();
                    while let Some(c) = lp.driver.poll() {
                        assert_eq!(c.result.unwrap(), Reply::Stored);
                        pending.remove(&c.ticket).unwrap();
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert!(fulls > 0, "the write buffer never filled");
    let left = pending.len();
    for c in lp.collect(left) {
        assert_eq!(c.result.unwrap(), Reply::Stored);
        pending.remove(&c.ticket).unwrap();
    }
    for i in (0..24).step_by(5) {
        assert!(
            server.raw_get(format!("part:{i}").as_bytes()) == Some(value(i)),
            "value {i} differs"
        );
    }
}

/// A frozen server: the driver asks to be woken at the deadline, and the
/// request fails with a timeout then.
#[test]
fn timeout_comes_from_the_callers_loop() {
    let mut server = MemcachedServer::start();
    let mut lp = Loop::new(DriverOptions {
        timeout: Some(Duration::from_millis(300)),
        ..DriverOptions::default()
    });
    lp.driver
        .add_server(server.addr_string(), &[Token(3)])
        .unwrap();
    // Connect first.
    let keys: &[&[u8]] = &[b"k"];
    let get = Request::Get {
        command: GetCommand::Get,
        keys,
    };
    lp.driver.submit(&get).unwrap();
    assert!(lp.collect(1)[0].result.is_ok());
    server.freeze();
    let started = Instant::now();
    lp.driver.submit(&get).unwrap();
    lp.driver.flush();
    let wake = lp.driver.poll_timeout().expect("a deadline to wake for");
    assert!(wake <= Duration::from_millis(301), "{wake:?}");
    let c = lp.collect(1).pop().unwrap();
    server.thaw();
    assert_eq!(c.result.unwrap_err().kind(), ErrorKind::Timeout);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // The router now leaves the server alone for its retry timeout (1 s):
    // routed requests fail at once...
    match lp.driver.submit(&get) {
        Err(SubmitError::Failed(e)) => assert_eq!(e.kind(), ErrorKind::Timeout),
        other => panic!("{other:?}"),
    }
    // ... while a request sent to the token opens a new connection.
    lp.driver.submit_to(Token(3), &get).unwrap();
    assert!(lp.collect(1)[0].result.is_ok());
}

/// The engine: many requests from one thread at a chosen depth, and merged
/// single-key gets each answered with its own item (or a miss).
#[test]
fn engine_pipelines_and_merges_gets() {
    let server = MemcachedServer::start();
    for merge in [0, 100] {
        let mut engine = Engine::builder()
            .server(server.addr_string())
            .connections(3)
            .depth(16)
            .merge_gets(merge)
            .build()
            .unwrap();
        let mut want = HashMap::new();
        for i in 0..2000 {
            let (k, v) = (format!("eng:{merge}:{i}"), format!("v{i}"));
            let job = engine
                .submit(&set(k.as_bytes(), v.as_bytes(), false))
                .unwrap();
            want.insert(job, None);
            assert!(engine.cluster().in_flight() <= 3 * 16);
        }
        for (job, r) in engine.finish().unwrap() {
            assert_eq!(r.unwrap(), Reply::Stored);
            want.remove(&job).unwrap();
        }
        // Hits and misses interleaved, a key asked twice in a row.
        for i in 0..3000 {
            let k = if i % 3 == 2 {
                format!("missing:{i}")
            } else {
                format!("eng:{merge}:{}", i / 2)
            };
            let keys: &[&[u8]] = &[k.as_bytes()];
            let job = engine
                .submit(&Request::Get {
                    command: GetCommand::Get,
                    keys,
                })
                .unwrap();
            want.insert(job, (i % 3 != 2).then(|| format!("v{}", i / 2)));
        }
        let done = engine.finish().unwrap();
        assert_eq!(done.len(), 3000);
        for (job, r) in done {
            let expected = want.remove(&job).unwrap();
            let reply = r.unwrap();
            assert_eq!(
                value_of(&reply),
                expected.as_deref().map(str::as_bytes),
                "{job:?}"
            );
        }
        assert_eq!(engine.in_flight(), 0);
    }
}

/// Noreply sets over the meta protocol (quiet mode) through the engine:
/// nothing comes back for them, and the gets after them see the values.
#[test]
fn engine_meta_noreply() {
    let server = MemcachedServer::start();
    let mut engine = Engine::builder()
        .server(server.addr_string())
        .depth(32)
        .protocol(Protocol::Meta)
        .build()
        .unwrap();
    for i in 0..500 {
        let (k, v) = (format!("q:{i}"), format!("v{i}"));
        engine
            .submit(&set(k.as_bytes(), v.as_bytes(), true))
            .unwrap();
    }
    assert!(engine.finish().unwrap().is_empty());
    let mut want = HashMap::new();
    for i in 0..500 {
        let k = format!("q:{i}");
        let keys: &[&[u8]] = &[k.as_bytes()];
        let job = engine
            .submit(&Request::Get {
                command: GetCommand::Get,
                keys,
            })
            .unwrap();
        want.insert(job, format!("v{i}"));
    }
    for (job, r) in engine.finish().unwrap() {
        assert_eq!(
            value_of(&r.unwrap()),
            Some(want.remove(&job).unwrap().as_bytes())
        );
    }
    assert!(want.is_empty());
}

/// memcached closes an idle connection (`-o idle_timeout`): that is no
/// failure of the server, so the next routed request reconnects at once
/// instead of being refused for the router's retry timeout.
#[test]
fn idle_close_is_not_a_server_failure() {
    let server = MemcachedServer::builder()
        .args(["-o", "idle_timeout=1"])
        .start();
    let mut lp = Loop::new(DriverOptions::default());
    lp.driver
        .add_server(server.addr_string(), &[Token(5)])
        .unwrap();
    let keys: &[&[u8]] = &[b"idle"];
    let get = Request::Get {
        command: GetCommand::Get,
        keys,
    };
    lp.driver.submit(&get).unwrap();
    assert!(lp.collect(1)[0].result.is_ok());
    // Turn the loop until the server has closed the connection.
    let deadline = Instant::now() + Duration::from_secs(20);
    while lp.driver.is_open(Token(5)) {
        assert!(
            Instant::now() < deadline,
            "memcached never closed the idle connection"
        );
        lp.turn();
    }
    lp.driver.submit(&get).unwrap();
    assert!(lp.collect(1)[0].result.is_ok());
}

/// `finish` returns only once noreply requests (which await nothing) have
/// been written: the server holds every value afterwards.
#[test]
fn engine_finish_writes_noreply_requests() {
    let server = MemcachedServer::start();
    let mut engine = Engine::builder()
        .server(server.addr_string())
        .build()
        .unwrap();
    let value = vec![b'n'; 10_000];
    for i in 0..300 {
        let k = format!("nr:{i}");
        engine.submit(&set(k.as_bytes(), &value, true)).unwrap();
    }
    assert!(engine.finish().unwrap().is_empty());
    assert!(!engine.has_unwritten());
    // The server reads the socket in order: a fresh connection's get of the
    // last key may still race the parse of the last writes; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.raw_get(b"nr:299").is_none() {
        assert!(
            Instant::now() < deadline,
            "the last noreply set never arrived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.raw_get(b"nr:0"), Some(value));
}

/// A multi-key get through the engine over 3 servers is split by server:
/// every key comes back, each from the server that holds it.
#[test]
fn engine_multi_key_get_over_three_servers_returns_every_key() {
    let servers = MemcachedServer::start_many(3);
    let mut builder = Engine::builder().connections(2).depth(8);
    for s in &servers {
        builder = builder.server(s.addr_string());
    }
    let mut engine = builder.build().unwrap();
    let keys: Vec<String> = (0..60).map(|i| format!("mk:{i}")).collect();
    for k in &keys {
        engine
            .submit(&set(k.as_bytes(), format!("v-{k}").as_bytes(), false))
            .unwrap();
    }
    for (_, r) in engine.finish().unwrap() {
        assert_eq!(r.unwrap(), Reply::Stored);
    }
    // The keys really are spread: every server holds some.
    for s in &servers {
        assert!(keys.iter().any(|k| s.raw_get(k.as_bytes()).is_some()));
    }
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    engine
        .submit(&Request::Get {
            command: GetCommand::Get,
            keys: &refs,
        })
        .unwrap();
    let done = engine.finish().unwrap();
    assert_eq!(done.len(), 1);
    let Ok(Reply::Values(items)) = &done[0].1 else {
        panic!("{:?}", done[0].1)
    };
    assert_eq!(items.len(), keys.len(), "every key came back");
    for it in items {
        let k = std::str::from_utf8(&it.key).unwrap();
        assert_eq!(&it.value[..], format!("v-{k}").as_bytes());
    }
}

/// The driver over the core client: a multi-key get over 3 servers is
/// split by server and merged back, every key in one completion.
#[test]
fn driver_multi_key_get_over_three_servers_returns_every_key() {
    let servers = MemcachedServer::start_many(3);
    let mut lp = Loop::new(DriverOptions::default());
    for (i, s) in servers.iter().enumerate() {
        lp.driver
            .add_server(s.addr_string(), &tokens(i * 2, 2))
            .unwrap();
    }
    let keys: Vec<String> = (0..60).map(|i| format!("dmk:{i}")).collect();
    for k in &keys {
        lp.driver
            .submit(&set(k.as_bytes(), format!("v-{k}").as_bytes(), false))
            .unwrap();
    }
    for c in lp.collect(keys.len()) {
        assert_eq!(c.result.unwrap(), Reply::Stored);
    }
    for s in &servers {
        assert!(keys.iter().any(|k| s.raw_get(k.as_bytes()).is_some()));
    }
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    let ticket = lp
        .driver
        .submit(&Request::Get {
            command: GetCommand::Get,
            keys: &refs,
        })
        .unwrap();
    let done = lp.collect(1);
    assert_eq!(done[0].ticket, ticket);
    let Ok(Reply::Values(items)) = &done[0].result else {
        panic!("{:?}", done[0].result)
    };
    assert_eq!(items.len(), keys.len(), "every key came back");
    for it in items {
        let k = std::str::from_utf8(&it.key).unwrap();
        assert_eq!(&it.value[..], format!("v-{k}").as_bytes());
    }
    assert_eq!(lp.driver.total_in_flight(), 0);
    // submit_to: on the token's own connection, opened under it if need be.
    let one: &[&[u8]] = &[refs[0]];
    let get = Request::Get {
        command: GetCommand::Get,
        keys: one,
    };
    for token in [Token(5), Token(4), Token(5), Token(1)] {
        let t = lp.driver.submit_to(token, &get).unwrap();
        assert_eq!(t.token, token);
        assert!(lp.driver.is_open(token));
        assert!(lp.collect(1)[0].result.is_ok());
    }
}
