//! Every command of the `Memcache` trait against a real memcached, with
//! exact results, checked against what the server really holds (through
//! the harness's plain-socket client, independent of memcrab).

// Results are compared with `assert_eq!(…, true)` to show the exact value.
#![allow(clippy::bool_assert_comparison)]

mod support;

use std::collections::HashMap;
use std::thread::sleep;
use std::time::UNIX_EPOCH;
use std::time::{Duration, Instant};

use memcrab::{Client, ClientBuilder, ErrorKind, Memcache, StatValue, StoreOptions, Value};
use support::MemcachedServer;

/// A builder for `server` with a generous timeout (a hung test fails
/// instead of hanging).
fn builder(server: &MemcachedServer) -> ClientBuilder {
    Client::builder(server.addr_string()).timeout(Duration::from_secs(5))
}

/// A client that waits for every reply, so results are the server's.
fn client(server: &MemcachedServer) -> Client {
    builder(server).default_noreply(false).build().unwrap()
}

fn bytes(v: &[u8]) -> Value {
    Value::from(v)
}

fn waiting() -> StoreOptions {
    StoreOptions::new().noreply(false)
}

/// The TTL memcached reports for `key` through the meta protocol
/// (`mg <key> t` → `HD t<seconds>`; -1 for no expiry), or `None` on a miss.
fn server_ttl(server: &MemcachedServer, key: &str) -> Option<i64> {
    let reply = server.raw(format!("mg {key} t\r\n").as_bytes());
    let line = String::from_utf8(reply).unwrap();
    let line = line.trim_end();
    if line == "EN" {
        return None;
    }
    let ttl = line
        .strip_prefix("HD t")
        .unwrap_or_else(|| panic!("unexpected mg reply {line:?}"));
    Some(ttl.parse().unwrap())
}

// ---------------------------------------------------------------------------
// Storage commands
// ---------------------------------------------------------------------------

#[test]
fn set_then_get_hit_and_miss() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert_eq!(c.set("k", "v1").unwrap(), true);
    assert_eq!(server.raw_get(b"k"), Some(b"v1".to_vec()));
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v1")));
    // Overwrite.
    assert_eq!(c.set("k", &b"v2"[..]).unwrap(), true);
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));
    let owned_key: Vec<u8> = b"k".to_vec();
    assert_eq!(c.get(owned_key).unwrap(), Some(bytes(b"v2")));
    // Miss.
    assert_eq!(c.get::<Value>("missing").unwrap(), None);
    // Integers and text go out as their digits / UTF-8 with RawSerde.
    assert_eq!(c.set("n", 42).unwrap(), true);
    assert_eq!(server.raw_get(b"n"), Some(b"42".to_vec()));
    assert_eq!(c.set("t", "héllo").unwrap(), true);
    assert_eq!(server.raw_get(b"t"), Some("héllo".as_bytes().to_vec()));
    assert_eq!(c.get("t").unwrap(), Some(bytes("héllo".as_bytes())));
    // An empty value is a value.
    assert_eq!(c.set("empty", &b""[..]).unwrap(), true);
    assert_eq!(c.get("empty").unwrap(), Some(bytes(b"")));
}

#[test]
fn set_with_flags_and_expire() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert!(c
        .set_with(
            "k",
            "xyz",
            StoreOptions::new()
                .expire(Duration::from_secs(100))
                .flags(7)
        )
        .unwrap());
    let item = server.raw_item(b"k").unwrap();
    assert_eq!(item.flags, 7);
    assert_eq!(item.value, b"xyz");
    let ttl = server_ttl(&server, "k").unwrap();
    assert!((98..=100).contains(&ttl), "ttl {ttl}");
    // The raw serde reads the value back whatever its flags.
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"xyz")));

    // Largest flags value.
    assert!(c
        .set_with("f", "v", StoreOptions::new().flags(u32::MAX))
        .unwrap());
    assert_eq!(server.raw_item(b"f").unwrap().flags, u32::MAX);

    // No expiry: memcached reports -1.
    assert!(c.set("forever", "v").unwrap());
    assert_eq!(server_ttl(&server, "forever"), Some(-1));

    // A negative expiry stores an item that is already expired.
    assert!(c
        .set_with("gone", "v", StoreOptions::new().expire(UNIX_EPOCH))
        .unwrap());
    assert_eq!(server.raw_get(b"gone"), None);
    assert_eq!(c.get::<Value>("gone").unwrap(), None);
}

#[test]
fn add_only_when_missing() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert_eq!(c.add("k", "first").unwrap(), true);
    assert_eq!(server.raw_get(b"k"), Some(b"first".to_vec()));
    assert_eq!(c.add("k", "second").unwrap(), false);
    assert_eq!(server.raw_get(b"k"), Some(b"first".to_vec()));
}

#[test]
fn replace_only_when_present() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert_eq!(c.replace("k", "x").unwrap(), false);
    assert_eq!(server.raw_get(b"k"), None);
    server.raw_set(b"k", b"old", 3);
    assert_eq!(c.replace("k", "new").unwrap(), true);
    let item = server.raw_item(b"k").unwrap();
    assert_eq!(item.value, b"new");
    assert_eq!(item.flags, 0, "replace stores the new flags");
}

#[test]
fn append_and_prepend() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert_eq!(c.append("k", "_a").unwrap(), false);
    assert_eq!(c.prepend("k", "p_").unwrap(), false);
    assert_eq!(server.raw_get(b"k"), None, "append/prepend never create");

    server.raw_set(b"k", b"mid", 5);
    assert_eq!(c.append("k", "_a").unwrap(), true);
    assert_eq!(c.prepend("k", "p_").unwrap(), true);
    let item = server.raw_item(b"k").unwrap();
    assert_eq!(item.value, b"p_mid_a");
    assert_eq!(item.flags, 5, "memcached keeps the flags on append/prepend");
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"p_mid_a")));

    // store_with runs the same commands with options.
    assert!(c
        .store_with(memcrab::core::StoreCommand::Append, "k", "!", waiting())
        .unwrap());
    assert_eq!(server.raw_get(b"k"), Some(b"p_mid_a!".to_vec()));
}

#[test]
fn cas_stored_exists_not_found() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert!(c.set("k", "v1").unwrap());
    let (value, token) = c.gets::<Value>("k").unwrap().unwrap();
    assert_eq!(value, bytes(b"v1"));
    assert_eq!(token, server.raw_item(b"k").unwrap().cas);

    assert_eq!(
        c.cas("k", "v2", token, StoreOptions::new()).unwrap(),
        Some(true)
    );
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));
    // The token is stale now.
    assert_eq!(
        c.cas("k", "v3", token, StoreOptions::new()).unwrap(),
        Some(false)
    );
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));
    // Gone.
    assert_eq!(
        c.cas("nope", "v", token, StoreOptions::new()).unwrap(),
        None
    );
    assert_eq!(server.raw_get(b"nope"), None);

    // noreply: Some(true) without asking, and it was stored.
    let (_, token) = c.gets::<Value>("k").unwrap().unwrap();
    assert_eq!(
        c.cas("k", "v4", token, StoreOptions::new().noreply(true).flags(9))
            .unwrap(),
        Some(true)
    );
    // A waiting call on the same connection: the server has run the cas.
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v4")));
    let item = server.raw_item(b"k").unwrap();
    assert_eq!((item.value.as_slice(), item.flags), (&b"v4"[..], 9));
}

#[test]
fn set_many_stores_everything_in_one_call() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let failed = c
        .set_many(&[("a", "1"), ("b", "2"), ("c", "3")], StoreOptions::new())
        .unwrap();
    assert_eq!(failed, Vec::<&str>::new());
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        assert_eq!(server.raw_get(k.as_bytes()), Some(v.as_bytes().to_vec()));
    }
    // Flags override every key; expiry applies to every key.
    let failed = c
        .set_many(
            &[(b"x".to_vec(), &b"s"[..]), (b"y".to_vec(), &b"t"[..])],
            StoreOptions::new()
                .flags(5)
                .expire(Duration::from_secs(100)),
        )
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(server.raw_item(b"x").unwrap().flags, 5);
    assert_eq!(server.raw_item(b"y").unwrap().flags, 5);
    assert!((98..=100).contains(&server_ttl(&server, "y").unwrap()));
    // noreply: [] and stored.
    let failed = c
        .set_many(
            &[("n1", "v"), ("n2", "w")],
            StoreOptions::new().noreply(true),
        )
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(c.get("n2").unwrap(), Some(bytes(b"w")));
    assert_eq!(server.raw_get(b"n1"), Some(b"v".to_vec()));
    // Empty: nothing to do.
    let none: &[(&str, &str)] = &[];
    assert!(c.set_many(none, StoreOptions::new()).unwrap().is_empty());
}

#[test]
fn set_many_reports_the_server_error_of_an_oversized_value() {
    let server = MemcachedServer::builder().item_size_limit("1k").start();
    let c = client(&server);
    let big = vec![b'x'; 2000];
    let err = c
        .set_many(
            &[("a", &b"1"[..]), ("big", &big[..]), ("c", &b"3"[..])],
            StoreOptions::new(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert!(
        err.report()
            .to_string()
            .contains("object too large for cache"),
        "{err}"
    );
    // The batch was one write: the keys around the big one are stored.
    assert_eq!(server.raw_get(b"a"), Some(b"1".to_vec()));
    assert_eq!(server.raw_get(b"big"), None);
    assert_eq!(server.raw_get(b"c"), Some(b"3".to_vec()));
    // The connection is still in step.
    assert_eq!(c.get("c").unwrap(), Some(bytes(b"3")));
}

// ---------------------------------------------------------------------------
// Retrieval commands
// ---------------------------------------------------------------------------

#[test]
fn get_many_returns_only_hits_under_the_callers_keys() {
    let server = MemcachedServer::start();
    let c = client(&server);
    server.raw_set(b"a", b"1", 0);
    server.raw_set(b"b", b"2", 0);

    let got = c.get_many(&["a", "missing", "b"]).unwrap();
    let want: HashMap<&str, Value> = [("a", bytes(b"1")), ("b", bytes(b"2"))].into();
    assert_eq!(got, want);

    // Vec<u8> keys come back as Vec<u8>.
    let got = c.get_many(&[b"b".to_vec(), b"zzz".to_vec()]).unwrap();
    let want: HashMap<Vec<u8>, Value> = [(b"b".to_vec(), bytes(b"2"))].into();
    assert_eq!(got, want);

    // Duplicates are asked for and mapped once.
    let got = c.get_many::<Value, _>(&["a", "a", "b", "a"]).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got["a"], bytes(b"1"));
    assert_eq!(got["b"], bytes(b"2"));

    // All misses, and no keys at all.
    assert!(c.get_many::<Value, _>(&["x", "y"]).unwrap().is_empty());
    let no_keys: &[&str] = &[];
    assert!(c.get_many::<Value, _>(no_keys).unwrap().is_empty());
}

#[test]
fn gets_tokens_change_after_set() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert_eq!(c.gets::<Value>("k").unwrap(), None);
    assert!(c.set("k", "v1").unwrap());
    assert!(c.set("j", "w").unwrap());
    let (v, t1) = c.gets::<Value>("k").unwrap().unwrap();
    assert_eq!(v, bytes(b"v1"));
    assert_eq!(t1, server.raw_item(b"k").unwrap().cas);
    // Reading does not change the token.
    assert_eq!(c.gets::<Value>("k").unwrap().unwrap().1, t1);
    assert!(c.set("k", "v2").unwrap());
    let (v, t2) = c.gets::<Value>("k").unwrap().unwrap();
    assert_eq!(v, bytes(b"v2"));
    assert_ne!(t2, t1);
    assert_eq!(t2, server.raw_item(b"k").unwrap().cas);

    let many = c.gets_many::<Value, _>(&["k", "j", "missing"]).unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(many["k"], (bytes(b"v2"), t2));
    assert_eq!(many["j"], (bytes(b"w"), server.raw_item(b"j").unwrap().cas));
}

#[test]
fn gat_and_gats_touch_the_item() {
    let server = MemcachedServer::start();
    let c = client(&server);
    for k in ["gat", "gats", "control"] {
        assert!(c
            .set_with(k, k, StoreOptions::new().expire(Duration::from_secs(1)))
            .unwrap());
    }
    assert_eq!(
        c.gat("gat", Duration::from_secs(100)).unwrap(),
        Some(bytes(b"gat"))
    );
    let (v, token) = c
        .gats::<Value>("gats", Duration::from_secs(100))
        .unwrap()
        .unwrap();
    assert_eq!(v, bytes(b"gats"));
    assert_eq!(token, server.raw_item(b"gats").unwrap().cas);
    assert!((98..=100).contains(&server_ttl(&server, "gat").unwrap()));
    assert!((98..=100).contains(&server_ttl(&server, "gats").unwrap()));
    // Misses.
    assert_eq!(
        c.gat::<Value>("missing", Duration::from_secs(100)).unwrap(),
        None
    );
    assert_eq!(
        c.gats::<Value>("missing", Duration::from_secs(100))
            .unwrap(),
        None
    );

    sleep(Duration::from_millis(2200));
    assert_eq!(
        c.get::<Value>("control").unwrap(),
        None,
        "the untouched item expired"
    );
    assert_eq!(c.get("gat").unwrap(), Some(bytes(b"gat")));
    assert_eq!(c.get("gats").unwrap(), Some(bytes(b"gats")));
}

// ---------------------------------------------------------------------------
// touch, delete, incr/decr
// ---------------------------------------------------------------------------

#[test]
fn touch_present_and_missing() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert!(c.set("k", "v").unwrap());
    assert_eq!(server_ttl(&server, "k"), Some(-1));
    assert_eq!(c.touch("k", Duration::from_secs(100)).unwrap(), true);
    assert!((98..=100).contains(&server_ttl(&server, "k").unwrap()));
    assert_eq!(c.touch("missing", Duration::from_secs(100)).unwrap(), false);
    assert_eq!(server.raw_get(b"missing"), None);
    // noreply: true without asking, and it happened.
    assert_eq!(c.touch_with("k", Duration::ZERO, true).unwrap(), true);
    assert_eq!(c.touch_with("missing", Duration::ZERO, true).unwrap(), true);
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v")));
    assert_eq!(server_ttl(&server, "k"), Some(-1));
}

#[test]
fn delete_and_delete_many() {
    let server = MemcachedServer::start();
    let c = client(&server);
    server.raw_set(b"k", b"v", 0);
    assert_eq!(c.delete("k").unwrap(), true);
    assert_eq!(server.raw_get(b"k"), None);
    assert_eq!(c.delete("k").unwrap(), false);
    // noreply: true without asking.
    server.raw_set(b"k", b"v", 0);
    assert_eq!(c.delete_with("k", true).unwrap(), true);
    assert_eq!(c.delete_with("k", true).unwrap(), true);
    assert_eq!(c.get::<Value>("k").unwrap(), None);

    for k in [&b"a"[..], b"b", b"c"] {
        server.raw_set(k, b"v", 0);
    }
    assert_eq!(c.delete_many(&["a", "missing", "b"]).unwrap(), true);
    assert_eq!(server.raw_get(b"a"), None);
    assert_eq!(server.raw_get(b"b"), None);
    assert_eq!(server.raw_get(b"c"), Some(b"v".to_vec()));
    assert_eq!(c.delete_many_with(&[b"c".to_vec()], true).unwrap(), true);
    assert_eq!(c.get::<Value>("c").unwrap(), None);
    let none: &[&str] = &[];
    assert_eq!(c.delete_many(none).unwrap(), true);
}

#[test]
fn incr_and_decr() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert_eq!(c.incr("n", 1).unwrap(), None);
    assert_eq!(c.decr("n", 1).unwrap(), None);
    assert_eq!(server.raw_get(b"n"), None, "incr does not create");

    assert!(c.set("n", "10").unwrap());
    assert_eq!(c.incr("n", 5).unwrap(), Some(15));
    assert_eq!(c.decr("n", 3).unwrap(), Some(12));
    assert_eq!(server.raw_get(b"n"), Some(b"12".to_vec()));
    // decr floors at 0.
    assert_eq!(c.decr("n", 100).unwrap(), Some(0));
    // memcached may shrink a decremented number in place, padding it with
    // spaces, or store a new item (when another thread holds a reference).
    let stored = server.raw_get(b"n").unwrap();
    assert!(stored == b"0 " || stored == b"0", "{stored:?}");
    assert_eq!(c.incr("n", 7).unwrap(), Some(7));

    // 64-bit wrap, as memcached does.
    assert!(c.set("n", u64::MAX).unwrap());
    assert_eq!(c.incr("n", 0).unwrap(), Some(u64::MAX));
    assert_eq!(c.incr("n", 1).unwrap(), Some(0));
    assert!(c.set("n", "1").unwrap());
    assert_eq!(c.incr("n", u64::MAX).unwrap(), Some(0));
    assert!(c.set("n", "2").unwrap());
    assert_eq!(c.incr("n", u64::MAX).unwrap(), Some(1));

    // Not a number: the server's CLIENT_ERROR, and the connection goes on.
    assert!(c.set("text", "abc").unwrap());
    let err = c.incr("text", 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Client, "{err}");
    assert_eq!(
        err.report().to_string(),
        format!(
            "request to server {} failed: \
             server reported a client error: cannot increment or decrement non-numeric value",
            server.addr_string()
        )
    );
    let err = c.decr("text", 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Client, "{err}");
    assert!(c.is_connected());
    assert_eq!(c.get("text").unwrap(), Some(bytes(b"abc")));
}

// ---------------------------------------------------------------------------
// Server commands
// ---------------------------------------------------------------------------

#[test]
fn stats_are_typed() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let stats = c.stats(&[]).unwrap();
    assert_eq!(
        stats.get("pid"),
        Some(&StatValue::Int(i128::from(server.pid().unwrap())))
    );
    let raw_version = String::from_utf8(server.raw(b"version\r\n")).unwrap();
    let version = raw_version.trim_end().strip_prefix("VERSION ").unwrap();
    assert_eq!(
        stats.get("version"),
        Some(&StatValue::Bytes(version.as_bytes().to_vec().into()))
    );
    assert!(
        matches!(stats.get("rusage_user"), Some(StatValue::Float(x)) if *x >= 0.0),
        "{:?}",
        stats.get("rusage_user")
    );
    assert!(matches!(stats.get("curr_connections"), Some(StatValue::Int(n)) if *n >= 1));
    assert_eq!(stats.get("no_such_stat"), None);

    let settings = c.stats(&["settings"]).unwrap();
    assert_eq!(
        settings.get("item_size_max"),
        Some(&StatValue::Int(1024 * 1024))
    );
    assert_eq!(
        settings.get("tcpport"),
        Some(&StatValue::Int(i128::from(server.port())))
    );
    assert_eq!(settings.get("growth_factor"), Some(&StatValue::Float(1.25)));
    assert_eq!(settings.get("cas_enabled"), Some(&StatValue::Bool(true)));
    assert_eq!(
        settings.get("detail_enabled"),
        Some(&StatValue::Bool(false))
    );
    assert_eq!(settings.get("umask"), Some(&StatValue::Int(0o700)));
    assert_eq!(
        settings.get("evictions"),
        Some(&StatValue::Bytes(b"on".to_vec().into()))
    );

    // An unknown section: the server's ERROR, kept; the connection goes on.
    let err = c.stats(&["bogus"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownCommand, "{err}");
    assert!(err.report().to_string().contains("stats"), "{err}");
    assert!(c.is_connected());
    assert_eq!(c.stats(&[]).unwrap().get("pid"), stats.get("pid"));
}

#[test]
fn version_is_the_servers() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let raw = String::from_utf8(server.raw(b"version\r\n")).unwrap();
    let want = raw.trim_end().strip_prefix("VERSION ").unwrap().to_owned();
    assert_eq!(c.version().unwrap(), want);
    assert!(want.starts_with("1."), "{want}");
}

#[test]
fn flush_all_now_with_and_without_reply() {
    let server = MemcachedServer::start();
    let c = client(&server);
    server.raw_set(b"a", b"1", 0);
    assert_eq!(c.flush_all_with(Duration::ZERO, false).unwrap(), true);
    assert_eq!(server.raw_get(b"a"), None);

    server.raw_set(b"b", b"2", 0);
    assert_eq!(c.flush_all_with(Duration::ZERO, true).unwrap(), true);
    // The next reply on the same connection comes after the flush.
    assert_eq!(c.get::<Value>("b").unwrap(), None);
    assert_eq!(server.raw_get(b"b"), None);

    // A delayed flush leaves the items for now.
    server.raw_set(b"c", b"3", 0);
    assert_eq!(
        c.flush_all_with(Duration::from_secs(100), false).unwrap(),
        true
    );
    assert_eq!(c.get("c").unwrap(), Some(bytes(b"3")));
    // The server counted every flush, the noreply one too.
    assert_eq!(server.raw_stat("cmd_flush").as_deref(), Some("3"));
}

#[test]
fn verbosity_changes_the_setting() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let setting = || c.stats(&["settings"]).unwrap().get("verbosity").cloned();
    assert_eq!(setting(), Some(StatValue::Int(0)));
    assert_eq!(c.verbosity(1).unwrap(), true);
    assert_eq!(setting(), Some(StatValue::Int(1)));
    assert_eq!(c.verbosity_with(0, true).unwrap(), true);
    assert_eq!(setting(), Some(StatValue::Int(0)));
}

#[test]
fn cache_memlimit_changes_maxbytes() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert_eq!(c.cache_memlimit(100).unwrap(), true);
    let settings = c.stats(&["settings"]).unwrap();
    assert_eq!(
        settings.get("maxbytes"),
        Some(&StatValue::Int(100 * 1024 * 1024))
    );
    assert_eq!(
        c.stats(&[]).unwrap().get("limit_maxbytes"),
        Some(&StatValue::Int(100 * 1024 * 1024))
    );
}

#[test]
fn quit_then_the_next_call_reconnects() {
    let server = MemcachedServer::start();
    let c = client(&server);
    assert!(c.set("k", "v").unwrap());
    let total = |c: &Client| c.stats(&[]).unwrap().get("total_connections").cloned();
    let before = total(&c).unwrap();
    c.quit().unwrap();
    assert!(!c.is_connected());
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v")));
    assert!(c.is_connected());
    let StatValue::Int(before) = before else {
        panic!("total_connections {before:?}")
    };
    assert_eq!(
        total(&c),
        Some(StatValue::Int(before + 1)),
        "one new connection"
    );
}

#[test]
fn shutdown_stops_a_server_that_allows_it() {
    let mut server = MemcachedServer::builder().enable_shutdown().start();
    let c = client(&server);
    assert!(c.set("k", "v").unwrap());
    c.shutdown(false).unwrap();
    assert!(
        server.wait_for_exit(Duration::from_secs(5)),
        "memcached is still running after shutdown"
    );
    let err = c.get::<Value>("k").unwrap_err();
    assert!(err.is_connection_error(), "{err}");
}

#[test]
fn shutdown_graceful_stops_a_server_that_allows_it() {
    let mut server = MemcachedServer::builder().enable_shutdown().start();
    let c = client(&server);
    c.shutdown(true).unwrap();
    assert!(server.wait_for_exit(Duration::from_secs(5)));
}

#[test]
fn shutdown_without_dash_a_is_refused() {
    let mut server = MemcachedServer::start();
    let c = client(&server);
    let err = c.shutdown(false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownCommand, "{err}");
    assert!(
        err.report().to_string().contains("shutdown not enabled"),
        "{err}"
    );
    assert!(server.is_running());
    assert!(c.set("k", "v").unwrap());
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v")));
}

#[test]
fn raw_command_returns_up_to_the_terminator() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let raw = String::from_utf8(server.raw(b"version\r\n")).unwrap();
    assert_eq!(
        &c.raw_command("version", b"\r\n").unwrap()[..],
        raw.trim_end().as_bytes()
    );
    let stats = c.raw_command("stats", b"END\r\n").unwrap();
    let stats = String::from_utf8(stats.to_vec()).unwrap();
    assert!(
        stats.starts_with(&format!("STAT pid {}\r\n", server.pid().unwrap())),
        "{stats}"
    );
    assert!(stats.ends_with("\r\n") && !stats.contains("END"), "{stats}");
    assert_eq!(&c.raw_command("mn", b"\r\n").unwrap()[..], b"MN");
    // Meta commands through raw_command.
    server.raw_set(b"m", b"val", 0);
    assert_eq!(&c.raw_command("mg m v", b"\r\n").unwrap()[..], b"VA 3");
    // A line with CR/LF would be two commands: refused, nothing sent.
    let err = c.raw_command("version\r\nflush_all", b"\r\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    assert_eq!(server.raw_get(b"m"), Some(b"val".to_vec()));
    // The connection is still in step after raw replies.
    assert_eq!(c.get("m").unwrap(), Some(bytes(b"val")));
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

#[test]
fn key_prefix_is_added_on_the_wire_and_removed_from_results() {
    let server = MemcachedServer::start();
    let c = builder(&server)
        .default_noreply(false)
        .key_prefix("p:")
        .build()
        .unwrap();
    assert!(c.set("a", "1").unwrap());
    let owned_key: Vec<u8> = b"b".to_vec();
    assert!(c.set(owned_key, "2").unwrap());
    assert_eq!(server.raw_get(b"p:a"), Some(b"1".to_vec()));
    assert_eq!(server.raw_get(b"p:b"), Some(b"2".to_vec()));
    assert_eq!(server.raw_get(b"a"), None);
    server.raw_set(b"c", b"unprefixed", 0);

    assert_eq!(c.get("a").unwrap(), Some(bytes(b"1")));
    assert_eq!(c.get::<Value>("c").unwrap(), None, "c is p:c on the wire");
    let got = c.get_many(&["a", "b", "c"]).unwrap();
    let want: HashMap<&str, Value> = [("a", bytes(b"1")), ("b", bytes(b"2"))].into();
    assert_eq!(got, want);
    let got = c.gets_many(&[b"a".to_vec()]).unwrap();
    assert_eq!(
        got[&b"a".to_vec()],
        (bytes(b"1"), server.raw_item(b"p:a").unwrap().cas)
    );
    assert!(c.set("n", "5").unwrap());
    assert_eq!(c.incr("n", 1).unwrap(), Some(6));
    assert_eq!(server.raw_get(b"p:n"), Some(b"6".to_vec()));
    assert!(c.touch("a", Duration::from_secs(100)).unwrap());
    assert!(c.delete("a").unwrap());
    assert_eq!(server.raw_get(b"p:a"), None);

    // The prefix counts towards the 250 bytes.
    let ok = "k".repeat(248);
    assert!(c.set(ok.as_str(), "v").unwrap());
    assert_eq!(
        server.raw_get(format!("p:{ok}").as_bytes()),
        Some(b"v".to_vec())
    );
    let err = c.set("k".repeat(249), "v").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    assert!(err.to_string().contains("251 bytes"), "{err}");

    // A prefix that is not a valid key is refused when building.
    let err = Client::builder(server.addr_string())
        .key_prefix("bad prefix")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
}

#[test]
fn default_noreply_true_does_not_wait() {
    let server = MemcachedServer::start();
    let quiet = builder(&server).build().unwrap();
    assert!(quiet.options().default_noreply, "pymemcache's default");
    let loud = client(&server);

    assert_eq!(quiet.set("k", "first").unwrap(), true);
    // add of an existing key: NOT_STORED, but noreply never reads it.
    assert_eq!(quiet.add("k", "second").unwrap(), true);
    assert_eq!(quiet.replace("missing", "x").unwrap(), true);
    assert_eq!(quiet.append("missing", "x").unwrap(), true);
    assert_eq!(quiet.prepend("missing", "x").unwrap(), true);
    assert_eq!(quiet.delete("missing").unwrap(), true);
    assert_eq!(
        quiet.touch("missing", Duration::from_secs(10)).unwrap(),
        true
    );
    // A waiting call on the same connection sees the effects in order.
    assert_eq!(quiet.get("k").unwrap(), Some(bytes(b"first")));
    assert_eq!(quiet.get::<Value>("missing").unwrap(), None);
    // cas, incr and decr wait whatever the default.
    assert_eq!(quiet.incr("missing", 1).unwrap(), None);
    assert_eq!(
        quiet.cas("missing", "v", 1, StoreOptions::new()).unwrap(),
        None
    );
    // Per-call noreply=false overrides the default.
    assert_eq!(
        quiet
            .set_with("k", "x", StoreOptions::new().noreply(false))
            .unwrap(),
        true
    );
    assert_eq!(
        quiet
            .store_with(
                memcrab::core::StoreCommand::Add,
                "k",
                "y",
                StoreOptions::new().noreply(false)
            )
            .unwrap(),
        false
    );

    assert_eq!(loud.add("k", "second").unwrap(), false);
    assert_eq!(loud.replace("missing", "x").unwrap(), false);
    assert_eq!(loud.append("missing", "x").unwrap(), false);
    assert_eq!(loud.prepend("missing", "x").unwrap(), false);
    assert_eq!(loud.delete("missing").unwrap(), false);
    assert_eq!(
        loud.touch("missing", Duration::from_secs(10)).unwrap(),
        false
    );
    assert_eq!(server.raw_get(b"k"), Some(b"x".to_vec()));
}

#[test]
fn allow_unicode_keys() {
    let server = MemcachedServer::start();
    let strict = client(&server);
    let err = strict.set("clé", "v").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    assert!(err.to_string().contains("non-ASCII"), "{err}");
    let err = strict.get::<Value>("こんにちは").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    assert_eq!(server.raw_get("clé".as_bytes()), None);

    let c = builder(&server)
        .default_noreply(false)
        .allow_unicode_keys(true)
        .key_prefix("pfx:")
        .build()
        .unwrap();
    assert!(c.set("my☃", "snow").unwrap());
    assert_eq!(server.raw_get("pfx:my☃".as_bytes()), Some(b"snow".to_vec()));
    assert_eq!(c.get("my☃").unwrap(), Some(bytes(b"snow")));
    let got = c.get_many::<Value, _>(&["my☃", "clé"]).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got["my☃"], bytes(b"snow"));
    // Still at most 250 bytes: 83 snowmen are 249 bytes, plus the prefix.
    let err = c.get::<Value>("☃".repeat(83)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
}

#[test]
fn binary_values_round_trip() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let all: Vec<u8> = (0..=255u8).collect();
    let values: [(&str, &[u8]); 5] = [
        ("crlf", b"line1\r\nline2\r\n"),
        ("end", b"END\r\n"),
        ("fake", b"VALUE other 0 3\r\nabc\r\nEND\r\n"),
        ("nul", b"\0\0\r\n\0"),
        ("all", &all),
    ];
    for (k, v) in values {
        assert!(c.set(k, v).unwrap());
        assert_eq!(server.raw_get(k.as_bytes()).as_deref(), Some(v), "{k}");
        assert_eq!(c.get(k).unwrap(), Some(bytes(v)), "{k}");
    }
    let keys: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
    let got = c.get_many::<Value, _>(&keys).unwrap();
    assert_eq!(got.len(), values.len());
    for (k, v) in values {
        assert_eq!(got[k], bytes(v), "{k}");
    }
}

#[test]
fn value_of_exactly_max_size_is_sent_one_over_is_refused() {
    let server = MemcachedServer::start();
    let c = builder(&server)
        .default_noreply(false)
        .max_item_size(1000)
        .build()
        .unwrap();
    let exact = vec![b'x'; 1000];
    assert!(c.set("k", &exact[..]).unwrap());
    assert_eq!(server.raw_get(b"k"), Some(exact.clone()));
    assert_eq!(c.get("k").unwrap(), Some(bytes(&exact)));

    let sets_before = server.raw_stat("cmd_set");
    let over = vec![b'y'; 1001];
    let err = c.set("k", &over[..]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    assert_eq!(
        err.to_string(),
        "illegal input: value for key \"k\" is 1001 bytes, larger than the 1000-byte item size limit"
    );
    // Also in a batch: nothing of it is sent.
    let err = c
        .set_many(&[("a", &b"1"[..]), ("k", &over[..])], StoreOptions::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    assert_eq!(server.raw_stat("cmd_set"), sets_before);
    assert_eq!(server.raw_get(b"k"), Some(exact), "the old value is intact");
    assert_eq!(server.raw_get(b"a"), None);
    assert!(
        c.is_connected(),
        "refusing input does not drop the connection"
    );

    // The default limit is memcached's default item size plus slack.
    let c = client(&server);
    let err = c.set("big", vec![0u8; 1024 * 1024 + 513]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
}

#[test]
fn ignore_exc_turns_get_errors_into_misses() {
    let mut server = MemcachedServer::start();
    let c = builder(&server)
        .default_noreply(false)
        .ignore_exc(true)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(c.set("k", "v").unwrap());
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v")));

    server.freeze();
    let start = Instant::now();
    let got = c.get::<Value>("k");
    let elapsed = start.elapsed();
    let many = c.get_many::<Value, _>(&["k"]);
    let gets = c.gets::<Value>("k");
    // A bad key is the caller's error, never ignored.
    let bad = c.get::<Value>("bad key");
    // Storage commands are not covered by ignore_exc (another key: memcached
    // runs this set when it is thawed).
    let set = c.set("other", "w");
    server.thaw();

    assert_eq!(got.unwrap(), None);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(many.unwrap().is_empty());
    assert_eq!(gets.unwrap(), None);
    assert_eq!(bad.unwrap_err().kind(), ErrorKind::IllegalInput);
    assert_eq!(set.unwrap_err().kind(), ErrorKind::Timeout);
    // Thawed: works again.
    assert_eq!(c.get("k").unwrap(), Some(bytes(b"v")));
}
