//! Failures against real memcached servers: bad keys that must never reach
//! the server, servers that restart, die, freeze, or refuse a value.

// Results are compared with `assert_eq!(…, true)` to show the exact value.
#![allow(clippy::bool_assert_comparison)]

mod support;

use std::time::{Duration, Instant};

use memcrab::{Client, ClientBuilder, Error, ErrorKind, Memcache, StoreOptions, Value};
use support::MemcachedServer;

fn builder(server: &MemcachedServer) -> ClientBuilder {
    Client::builder(server.addr_string())
        .default_noreply(false)
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
}

fn client(server: &MemcachedServer) -> Client {
    builder(server).build().unwrap()
}

fn bytes(v: &[u8]) -> Value {
    Value::from(v)
}

/// The counters that any command reaching the server would move.
const COUNTERS: &[&str] = &[
    "cmd_get",
    "cmd_set",
    "cmd_touch",
    "cmd_flush",
    "get_hits",
    "get_misses",
    "delete_hits",
    "delete_misses",
    "incr_misses",
    "decr_misses",
    "touch_misses",
    "cas_misses",
    "curr_items",
    "total_items",
];

/// What the server has counted so far: the counters above, and the bytes
/// it has read from all connections.
#[derive(Debug, PartialEq)]
struct Snapshot {
    counters: Vec<(String, String)>,
    bytes_read: u64,
}

fn snapshot(server: &MemcachedServer) -> Snapshot {
    let stats = server.raw_stats();
    let get = |name: &str| {
        stats
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no stat {name}"))
            .1
            .clone()
    };
    Snapshot {
        counters: COUNTERS.iter().map(|n| (n.to_string(), get(n))).collect(),
        bytes_read: get("bytes_read").parse().unwrap(),
    }
}

/// Asserts that between `before` and now the server read nothing but the
/// `stats\r\n` of the snapshot itself.
fn assert_nothing_sent(server: &MemcachedServer, before: &Snapshot) {
    let after = snapshot(server);
    assert_eq!(
        after.counters, before.counters,
        "a command reached the server"
    );
    assert_eq!(
        after.bytes_read - before.bytes_read,
        b"stats\r\n".len() as u64,
        "the server read bytes other than the harness's own `stats`"
    );
}

fn assert_illegal(result: Result<impl std::fmt::Debug, Error>, what: &str, expect: &str) {
    match result {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::IllegalInput, "{what}: {e}");
            assert!(
                e.to_string().contains(expect),
                "{what}: message {:?} should contain {expect:?}",
                e.to_string()
            );
        }
        Ok(v) => panic!("{what}: accepted a bad key: {v:?}"),
    }
}

// ---------------------------------------------------------------------------
// Bad keys
// ---------------------------------------------------------------------------

/// Keys that must be refused, with the words their error must contain.
fn bad_keys() -> Vec<(Vec<u8>, &'static str)> {
    vec![
        // A key that would inject a second command if it were sent as is.
        (
            b"k 0 0 1\r\nx\r\nset evil 0 0 1".to_vec(),
            "key contains whitespace: \"k 0 0 1\\r\\nx\\r\\nset evil 0 0 1\"",
        ),
        (
            b"crlf\r\nset evil 0 0 1\r\nx".to_vec(),
            "key contains whitespace",
        ),
        (
            b"with space".to_vec(),
            "key contains whitespace: \"with space\"",
        ),
        (b"lf\nonly".to_vec(), "key contains whitespace"),
        (b"tab\tkey".to_vec(), "key contains whitespace"),
        (b"nul\0evil".to_vec(), "key contains null: \"nul\\x00evil\""),
        (b"\0".to_vec(), "key contains null"),
        (vec![b'a'; 251], "key is too long"),
        (Vec::new(), "key is empty"),
        (
            b"ctrl\x01char".to_vec(),
            "key contains a control character: \"ctrl\\x01char\"",
        ),
        (b"del\x7f".to_vec(), "key contains a control character"),
        ("clé".as_bytes().to_vec(), "non-ASCII"),
    ]
}

#[test]
fn bad_keys_never_reach_the_server() {
    let server = MemcachedServer::start();
    let c = client(&server);
    // Connect first, so "nothing sent" is about the open connection.
    assert!(c.set("evil-canary", "kept").unwrap());
    assert!(c.is_connected());
    let before = snapshot(&server);

    for (key, expect) in bad_keys() {
        let k = key.as_slice();
        let shown = format!("{:?}", String::from_utf8_lossy(k));
        let opts = StoreOptions::new().noreply(false);
        assert_illegal(c.set(k, "y"), &format!("set {shown}"), expect);
        assert_illegal(
            c.set_with(k, "y", StoreOptions::new().noreply(true)),
            &format!("set noreply {shown}"),
            expect,
        );
        assert_illegal(c.add(k, "y"), &format!("add {shown}"), expect);
        assert_illegal(c.replace(k, "y"), &format!("replace {shown}"), expect);
        assert_illegal(c.append(k, "y"), &format!("append {shown}"), expect);
        assert_illegal(c.prepend(k, "y"), &format!("prepend {shown}"), expect);
        assert_illegal(c.cas(k, "y", 1, opts), &format!("cas {shown}"), expect);
        assert_illegal(c.get::<Value>(k), &format!("get {shown}"), expect);
        assert_illegal(c.gets::<Value>(k), &format!("gets {shown}"), expect);
        assert_illegal(
            c.gat::<Value>(k, Duration::from_secs(10)),
            &format!("gat {shown}"),
            expect,
        );
        assert_illegal(
            c.gats::<Value>(k, Duration::from_secs(10)),
            &format!("gats {shown}"),
            expect,
        );
        assert_illegal(
            c.touch(k, Duration::from_secs(10)),
            &format!("touch {shown}"),
            expect,
        );
        assert_illegal(c.delete(k), &format!("delete {shown}"), expect);
        assert_illegal(c.incr(k, 1), &format!("incr {shown}"), expect);
        assert_illegal(c.decr(k, 1), &format!("decr {shown}"), expect);
    }

    assert_nothing_sent(&server, &before);
    for key in [&b"evil"[..], b"k", b"x", b"crlf", b"nul", b"with", b"space"] {
        assert_eq!(
            server.raw_get(key),
            None,
            "{:?}",
            String::from_utf8_lossy(key)
        );
    }
    // The connection was never disturbed.
    assert!(c.is_connected());
    assert_eq!(c.get("evil-canary").unwrap(), Some(bytes(b"kept")));
}

#[test]
fn a_bad_key_anywhere_in_a_batch_sends_nothing() {
    let server = MemcachedServer::start();
    let c = client(&server);
    server.raw_set(b"present", b"v", 0);
    assert_eq!(c.get("present").unwrap(), Some(bytes(b"v")));
    let before = snapshot(&server);

    for (bad, expect) in bad_keys() {
        let shown = format!("{:?}", String::from_utf8_lossy(&bad));
        let keys: Vec<Vec<u8>> = vec![b"present".to_vec(), bad.clone(), b"good".to_vec()];
        assert_illegal(
            c.get_many::<Value, _>(&keys),
            &format!("get_many {shown}"),
            expect,
        );
        assert_illegal(
            c.gets_many::<Value, _>(&keys),
            &format!("gets_many {shown}"),
            expect,
        );
        assert_illegal(
            c.delete_many_with(&keys, false),
            &format!("delete_many {shown}"),
            expect,
        );
        assert_illegal(
            c.delete_many_with(&keys, true),
            &format!("delete_many noreply {shown}"),
            expect,
        );
        let items: Vec<(Vec<u8>, &[u8])> = keys.iter().map(|k| (k.clone(), &b"new"[..])).collect();
        assert_illegal(
            c.set_many(&items, StoreOptions::new()),
            &format!("set_many {shown}"),
            expect,
        );
        assert_illegal(
            c.set_many(&items, StoreOptions::new().noreply(true)),
            &format!("set_many noreply {shown}"),
            expect,
        );
    }

    assert_nothing_sent(&server, &before);
    assert_eq!(server.raw_get(b"present"), Some(b"v".to_vec()));
    assert_eq!(server.raw_get(b"good"), None);
    assert!(c.is_connected());
}

#[test]
fn a_bad_key_before_the_first_call_does_not_even_connect() {
    let server = MemcachedServer::start();
    let connections = server.raw_stat("total_connections").unwrap();
    let c = client(&server);
    let err = c.set("bad key", "v").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput);
    assert!(!c.is_connected());
    // Only the harness's own connection for this stat was added.
    let now: u64 = server
        .raw_stat("total_connections")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(now, connections.parse::<u64>().unwrap() + 1);
}

// ---------------------------------------------------------------------------
// Restart, kill
// ---------------------------------------------------------------------------

/// The first call on a connection whose server went away: memcached's
/// process is gone, the kernel closed its end (FIN), so the client's write
/// succeeds and its read sees end-of-file.
fn assert_unexpected_close(err: &Error) {
    assert_eq!(err.kind(), ErrorKind::UnexpectedClose, "{err:?}");
    assert!(err.is_connection_error());
    assert!(err.is_fatal());
    let msg = err.report().to_string();
    assert!(msg.contains("closed the connection unexpectedly"), "{msg}");
}

/// A write to a connection the server already closed and reset.
fn assert_write_to_closed(err: &Error, server: &MemcachedServer) {
    assert_eq!(err.kind(), ErrorKind::Io, "{err:?}");
    match err {
        Error::Io {
            server: named,
            source,
        } => {
            assert_eq!(named, &server.addr_string());
            assert!(
                matches!(
                    source.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ),
                "{source:?}"
            );
        }
        other => panic!("expected an I/O error: {other:?}"),
    }
    assert!(err
        .report()
        .to_string()
        .starts_with(&format!("I/O error with {}: ", server.addr_string())));
}

#[test]
fn restart_between_calls() {
    let mut server = MemcachedServer::start();
    let c = client(&server);
    assert!(c.set("k", "v").unwrap());
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v")));

    server.restart();

    let err = c.get::<Value>("k").unwrap_err();
    assert_unexpected_close(&err);
    assert!(!c.is_connected(), "the dead connection was dropped");
    // The next call reconnects; the restarted server holds nothing.
    assert_eq!(c.get::<Value>("k").unwrap(), None);
    assert!(c.set("k", "v2").unwrap());
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v2")));
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));
}

#[test]
fn restart_between_noreply_calls() {
    let mut server = MemcachedServer::start();
    let c = Client::builder(server.addr_string())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(c.set("k", "v").unwrap());
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v")));
    server.restart();
    // A noreply set reads nothing, so its write "succeeds" (and is lost,
    // as with any noreply client); the server's side answers it with a
    // reset, so the next write fails.
    assert_eq!(c.set("k", "lost").unwrap(), true);
    let err = c.get::<Value>("k").unwrap_err();
    // Whether the write already meets the reset or the read meets the
    // close depends on the kernel's timing: either is a clear error.
    if err.kind() == ErrorKind::UnexpectedClose {
        assert_unexpected_close(&err);
    } else {
        assert_write_to_closed(&err, &server);
    }
    assert!(!c.is_connected());
    assert_eq!(c.get::<Value>("k").unwrap(), None);
    assert!(c.set("k", "v2").unwrap());
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v2")));
}

#[test]
fn kill_then_restart() {
    let mut server = MemcachedServer::start();
    let c = client(&server);
    assert!(c.set("k", "v").unwrap());

    server.kill();

    // The open connection: closed under us.
    let err = c.get::<Value>("k").unwrap_err();
    assert_unexpected_close(&err);
    // Then nothing listens: connection refused, naming the server.
    let err = c.get::<Value>("k").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err:?}");
    assert!(err.is_connection_error());
    match &err {
        Error::Io {
            server: named,
            source,
        } => {
            assert_eq!(named, &server.addr_string());
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected an I/O error: {other:?}"),
    }
    assert!(
        err.report()
            .to_string()
            .starts_with(&format!("I/O error with {}: ", server.addr_string())),
        "{err}"
    );
    let err = c.set("k", "v").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err:?}");

    server.restart();
    assert_eq!(c.get::<Value>("k").unwrap(), None);
    assert!(c.set("k", "back").unwrap());
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"back")));
}

/// DESIGN.md: "Messages say what was wrong and with which key or server."
/// An unexpected close is the error a user sees first when memcached
/// restarts; with several servers (a hash client) it must say which.
#[test]
fn unexpected_close_names_the_server() {
    let mut server = MemcachedServer::start();
    let c = client(&server);
    assert!(c.set("k", "v").unwrap());
    server.restart();
    let err = c.get::<Value>("k").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedClose, "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&server.addr_string()),
        "the message should name the server {}: {msg:?}",
        server.addr_string()
    );
}

/// DESIGN.md: "Messages say what was wrong and with which key or server."
#[test]
fn timeout_names_the_server() {
    let mut server = MemcachedServer::start();
    let c = builder(&server)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(c.set("k", "v").unwrap());
    server.freeze();
    let result = c.get::<Value>("k");
    server.thaw();
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&server.addr_string()),
        "the message should name the server {}: {msg:?}",
        server.addr_string()
    );
}

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

#[test]
fn timeout_on_a_frozen_server_then_recovery_without_stale_replies() {
    let mut server = MemcachedServer::start();
    let c = builder(&server)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(c.set("k1", "a").unwrap());

    server.freeze();
    let start = Instant::now();
    let result = c.get::<Value>("k1");
    let elapsed = start.elapsed();
    server.thaw();

    let err = result.expect_err("a get against a frozen server must time out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert!(err.report().to_string().contains("timed out"), "{err}");
    assert!(
        elapsed >= Duration::from_millis(190),
        "returned before the timeout: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(!c.is_connected(), "a timed-out connection is dropped");

    // The server now answers the timed-out get on the old connection; that
    // reply must never be taken for the reply of a later request.
    assert!(c.set("k2", "b").unwrap());
    assert_eq!(c.get("k2").unwrap(), Some(bytes(b"b")));
    assert_eq!(c.get("k1").unwrap(), Some(bytes(b"a")));
    let got = c.get_many::<Value, _>(&["k1", "k2"]).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got["k1"], bytes(b"a"));
    assert_eq!(got["k2"], bytes(b"b"));
}

#[test]
fn timeout_on_a_storage_command() {
    let mut server = MemcachedServer::start();
    let c = builder(&server)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(c.set("k", "a").unwrap());
    server.freeze();
    let start = Instant::now();
    let result = c.incr("k", 1);
    let elapsed = start.elapsed();
    server.thaw();
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Timeout);
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(c.set("n", "1").unwrap());
    assert_eq!(c.incr("n", 1).unwrap(), Some(2));
}

// ---------------------------------------------------------------------------
// Server errors: with a reply, and for noreply requests
// ---------------------------------------------------------------------------

#[test]
fn server_error_with_reply_keeps_the_connection() {
    let server = MemcachedServer::builder().item_size_limit("1k").start();
    let c = client(&server);
    assert!(c.set("other", "fine").unwrap());
    let total = |c: &Client| c.stats(&[]).unwrap().get("total_connections").cloned();
    let connections = total(&c);

    let err = c.set("big", vec![b'x'; 2000]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err:?}");
    assert_eq!(
        err.report().to_string(),
        format!(
            "request to server {} failed: server error: object too large for cache",
            server.addr_string()
        )
    );
    assert!(!err.is_fatal());
    assert!(c.is_connected());

    assert_eq!(c.get("other").unwrap(), Some(bytes(b"fine")));
    assert_eq!(c.get::<Value>("big").unwrap(), None);
    assert_eq!(total(&c), connections, "the same connection is still used");
}

/// memcached 1.6 sends no error line for a noreply command it refuses
/// (`out_string` honours noreply, and the oversized value is swallowed), so
/// the text protocol stays in step: the next reply is the get's own. The
/// client must neither see a `Server` error nor a wrong value there.
#[test]
fn noreply_server_error_is_not_given_to_the_next_request() {
    let server = MemcachedServer::builder().item_size_limit("1k").start();
    let c = client(&server);
    assert!(c.set("other", "fine").unwrap());
    server.raw_set(b"big", b"old", 0);

    let big = vec![b'x'; 2000];
    assert_eq!(
        c.set_with("big", &big[..], StoreOptions::new().noreply(true))
            .unwrap(),
        true
    );
    let got = c.get("other");
    assert_eq!(
        got.as_ref().map_err(Error::kind),
        Ok(&Some(bytes(b"fine"))),
        "{got:?}"
    );
    // memcached unlinked the stale item rather than keep it.
    assert_eq!(c.get::<Value>("big").unwrap(), None);
    assert_eq!(server.raw_stat("store_too_large").as_deref(), Some("1"));

    // The same in one batch: noreply set, then a get of another key.
    let batch = [
        memcrab::core::Request::Store {
            command: memcrab::core::StoreCommand::Set,
            key: b"big",
            value: &big,
            flags: 0,
            exptime: 0,
            noreply: true,
        },
        memcrab::core::Request::Get {
            command: memcrab::core::GetCommand::Get,
            keys: &[b"other"],
        },
    ];
    let out = c.execute(&batch).unwrap();
    assert_eq!(out.len(), 2);
    assert!(out[0].is_none(), "{:?}", out[0]);
    match &out[1] {
        Some(Ok(memcrab::core::Reply::Values(items))) => {
            assert_eq!(items.len(), 1);
            assert_eq!(&items[0].key[..], b"other");
            assert_eq!(&items[0].value[..], b"fine");
        }
        other => panic!("the get must get its own reply: {other:?}"),
    }
    assert_eq!(server.raw_stat("store_too_large").as_deref(), Some("2"));
    assert!(c.is_connected());
    assert_eq!(c.get("other").unwrap(), Some(bytes(b"fine")));
}
