//! `HashClient` against real memcached servers: where keys land (and that
//! pymemcache puts them in the same place), multi-key calls in one round
//! trip, and the failed / dead / revived node state machine.

mod support;

use std::collections::{HashMap, HashSet};
use std::thread::sleep;
use std::time::{Duration, Instant};

use memcrab::address::ServerAddr;
use memcrab::core::router::{Distribution, HealthConfig, Route, Router};
use memcrab::core::Millis;
use memcrab::{
    ErrorKind, HashClient, HashClientBuilder, Memcache, PoolOptions, StoreOptions, Value,
};
use support::proxy::Proxy;
use support::reference::PYMEMCACHE_ROUTES;
use support::{python, MemcachedServer};

/// A builder over `addrs` that waits for every reply and never hangs.
fn builder_for(addrs: &[String]) -> HashClientBuilder {
    HashClient::builder(addrs.iter().map(String::as_str))
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
}

fn addrs(servers: &[MemcachedServer]) -> Vec<String> {
    servers.iter().map(MemcachedServer::addr_string).collect()
}

fn builder(servers: &[MemcachedServer]) -> HashClientBuilder {
    builder_for(&addrs(servers))
}

/// The index in `ports` of the server `addr` names.
fn index_of(ports: &[u16], addr: &ServerAddr) -> usize {
    assert_eq!(addr.host(), Some("127.0.0.1"), "{addr}");
    let port = addr.port().expect("a TCP address");
    ports
        .iter()
        .position(|&p| p == port)
        .unwrap_or_else(|| panic!("{addr} is not one of {ports:?}"))
}

fn ports(servers: &[MemcachedServer]) -> Vec<u16> {
    servers.iter().map(MemcachedServer::port).collect()
}

/// The index of the server `key` goes to now.
fn owner(client: &HashClient, ports: &[u16], key: &str) -> usize {
    let addr = client
        .server_for(key)
        .unwrap_or_else(|| panic!("no live server for {key:?}"));
    index_of(ports, &addr)
}

/// The first key `"{prefix}{i}"` that `client` sends to server `node`.
fn key_on(client: &HashClient, ports: &[u16], node: usize, prefix: &str) -> String {
    (0..10_000)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| owner(client, ports, k) == node)
        .expect("some key lands on every node")
}

fn text(v: &Value) -> &str {
    std::str::from_utf8(v.as_bytes().expect("a bytes value")).expect("UTF-8")
}

fn get_text(client: &impl Memcache, key: &str) -> Option<String> {
    client.get(key).unwrap().map(|v| text(&v).to_owned())
}

#[test]
fn every_key_lands_on_the_server_server_for_names() {
    let servers = MemcachedServer::start_many(3);
    let ports = ports(&servers);
    let client = builder(&servers).build().unwrap();
    let keys: Vec<String> = (0..200).map(|i| format!("spread:{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        assert!(client.set(key, format!("v{i}")).unwrap(), "set {key}");
    }
    let mut counts = [0usize; 3];
    for (i, key) in keys.iter().enumerate() {
        let node = owner(&client, &ports, key);
        counts[node] += 1;
        for (j, server) in servers.iter().enumerate() {
            let held = server.raw_get(key.as_bytes());
            if j == node {
                assert_eq!(
                    held,
                    Some(format!("v{i}").into_bytes()),
                    "{key} should be on server {j} ({})",
                    server.addr_string()
                );
            } else {
                assert_eq!(
                    held,
                    None,
                    "{key} belongs on server {node}, but server {j} ({}) holds it",
                    server.addr_string()
                );
            }
        }
    }
    assert!(
        counts.iter().all(|&n| n > 0),
        "every server should get some of 200 keys: {counts:?}"
    );
    eprintln!("keys per server: {counts:?}");
}

#[test]
fn hash_client_routes_as_pymemcache_reference_values() {
    let servers = ["127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"];
    // No I/O: server_for only consults the ring.
    let client = HashClient::new(servers).unwrap();
    let mut router = Router::new(
        servers,
        Distribution::Rendezvous,
        HealthConfig::default(),
        Millis(0),
    );
    for &(key, port) in PYMEMCACHE_ROUTES {
        let addr = client.server_for(key).unwrap();
        assert_eq!(addr.port(), Some(port), "HashClient: {key}");
        assert_eq!(addr.pymemcache_name(), format!("127.0.0.1:{port}"));
        let Route::Node(id) = router.node_for(key.as_bytes(), Millis(0)) else {
            panic!("router: no node for {key}");
        };
        assert_eq!(
            router.node_name(id),
            Some(format!("127.0.0.1:{port}").as_str()),
            "Router: {key}"
        );
    }
    // The key prefix is not hashed (pymemcache hashes the caller's key).
    let prefixed = HashClient::builder(servers)
        .options(memcrab::ClientOptions {
            key_prefix: "pfx:".into(),
            ..Default::default()
        })
        .build()
        .unwrap();
    for &(key, port) in PYMEMCACHE_ROUTES {
        assert_eq!(
            prefixed.server_for(key).unwrap().port(),
            Some(port),
            "{key}"
        );
    }
}

#[test]
fn hash_client_and_router_agree_on_live_servers() {
    let servers = MemcachedServer::start_many(3);
    let names: Vec<String> = servers
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port()))
        .collect();
    let client = builder(&servers).build().unwrap();
    let mut router = Router::new(
        &names,
        Distribution::Rendezvous,
        HealthConfig::default(),
        Millis(0),
    );
    for i in 0..500 {
        let key = format!("agree:{i}");
        let Route::Node(id) = router.node_for(key.as_bytes(), Millis(0)) else {
            panic!("router: no node for {key}");
        };
        let addr = client.server_for(&key).unwrap();
        assert_eq!(router.node_name(id), Some(addr.pymemcache_name().as_str()));
    }
}

const PYMEMCACHE_SCRIPT: &str = r#"
import json, sys
from pymemcache.client.hash import HashClient

servers = sys.argv[1].split(",")
c = HashClient(servers, connect_timeout=5, timeout=5, default_noreply=False)
for i in range(100):
    assert c.set("py:key%d" % i, b"pv%d" % i) is True, i
found = c.get_many(["rs:key%d" % i for i in range(100)])
rs_found = sum(1 for i in range(100) if found.get("rs:key%d" % i) == b"rv%d" % i)
nodes = {"py:key%d" % i: c.hasher.get_node("py:key%d" % i) for i in range(100)}
print(json.dumps({"rs_found": rs_found, "nodes": nodes}))
"#;

#[test]
fn pymemcache_and_memcrab_share_a_cluster() {
    let Some(python) = python::python_or_skip("pymemcache_and_memcrab_share_a_cluster") else {
        return;
    };
    let servers = MemcachedServer::start_many(3);
    let client = builder(&servers).build().unwrap();
    let rs: Vec<(String, String)> = (0..100)
        .map(|i| (format!("rs:key{i}"), format!("rv{i}")))
        .collect();
    assert!(client
        .set_many(&rs, StoreOptions::new())
        .unwrap()
        .is_empty());

    let out = python::run(&python, PYMEMCACHE_SCRIPT, &[&addrs(&servers).join(",")]);
    let out: serde_json::Value = serde_json::from_str(out.trim()).expect("the script's JSON");
    assert_eq!(
        out["rs_found"], 100,
        "pymemcache should find every key memcrab set"
    );
    for (key, node) in out["nodes"].as_object().unwrap() {
        assert_eq!(
            node.as_str(),
            Some(client.server_for(key).unwrap().pymemcache_name().as_str()),
            "{key}"
        );
    }

    let py_keys: Vec<String> = (0..100).map(|i| format!("py:key{i}")).collect();
    let got = client.get_many(&py_keys).unwrap();
    assert_eq!(
        got.len(),
        100,
        "memcrab should find every key pymemcache set"
    );
    for (i, key) in py_keys.iter().enumerate() {
        assert_eq!(text(&got[key]), format!("pv{i}"), "{key}");
    }
}

#[test]
fn multi_key_commands_across_nodes() {
    let servers = MemcachedServer::start_many(3);
    let ports = ports(&servers);
    let client = builder(&servers).build().unwrap();
    let items: Vec<(String, String)> = (0..60)
        .map(|i| (format!("multi:{i}"), format!("value-{i}")))
        .collect();
    let spread: HashSet<usize> = items
        .iter()
        .map(|(k, _)| owner(&client, &ports, k))
        .collect();
    assert_eq!(spread.len(), 3, "the keys should span every node");

    let failed = client.set_many(&items, StoreOptions::new()).unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    for (k, v) in &items {
        let node = owner(&client, &ports, k);
        assert_eq!(
            servers[node].raw_get(k.as_bytes()),
            Some(v.clone().into_bytes())
        );
    }

    let mut keys: Vec<String> = items.iter().map(|(k, _)| k.clone()).collect();
    keys.push("multi:missing-1".into());
    keys.push("multi:missing-2".into());
    let got = client.get_many(&keys).unwrap();
    assert_eq!(got.len(), 60);
    for (k, v) in &items {
        assert_eq!(text(&got[k]), v, "{k}");
    }

    let got = client.gets_many(&keys).unwrap();
    assert_eq!(got.len(), 60);
    for (k, v) in &items {
        let (value, cas) = &got[k];
        assert_eq!(text(value), v);
        let node = owner(&client, &ports, k);
        let held = servers[node].raw_item(k.as_bytes()).unwrap();
        assert_eq!(*cas, held.cas, "cas of {k}");
    }
    // A cas token from gets_many works on the right node.
    let (k0, _) = &items[0];
    assert_eq!(
        client
            .cas(k0, "swapped", got[k0].1, StoreOptions::new())
            .unwrap(),
        Some(true)
    );
    assert_eq!(get_text(&client, k0).as_deref(), Some("swapped"));

    let (gone, kept) = items.split_at(30);
    let gone_keys: Vec<&str> = gone.iter().map(|(k, _)| k.as_str()).collect();
    assert!(client.delete_many(&gone_keys).unwrap());
    let got = client.get_many::<Value, _>(&keys).unwrap();
    let mut expect: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
    let mut found: Vec<&str> = got.keys().map(String::as_str).collect();
    expect.sort_unstable();
    found.sort_unstable();
    assert_eq!(found, expect);
    for k in gone_keys {
        for server in &servers {
            assert_eq!(server.raw_get(k.as_bytes()), None, "{k} was deleted");
        }
    }
    assert!(client.get_many::<Value, String>(&[]).unwrap().is_empty());
}

/// Replies come back `DELAY` after each request through a proxy in front of
/// every server: a call that reads from the nodes one after another, each
/// after writing to it, takes at least 3 × DELAY; one that writes to all
/// first takes about one DELAY.
#[test]
fn multi_key_calls_take_one_round_trip() {
    const DELAY: Duration = Duration::from_millis(300);
    let servers = MemcachedServer::start_many(3);
    let proxies: Vec<Proxy> = servers
        .iter()
        .map(|s| Proxy::start(s.socket_addr(), DELAY))
        .collect();
    let proxy_addrs: Vec<String> = proxies.iter().map(Proxy::addr_string).collect();
    let proxy_ports: Vec<u16> = proxies.iter().map(Proxy::port).collect();
    let client = builder_for(&proxy_addrs).build().unwrap();

    let mut per_node = [0usize; 3];
    let mut items = Vec::new();
    for i in 0.. {
        let key = format!("rt:{i}");
        let node = owner(&client, &proxy_ports, &key);
        if per_node[node] < 4 {
            per_node[node] += 1;
            items.push((key, format!("rv{i}")));
        }
        if per_node.iter().all(|&n| n == 4) {
            break;
        }
    }
    let keys: Vec<String> = items.iter().map(|(k, _)| k.clone()).collect();

    // Connect to every node (version goes to every node at once).
    client.version().unwrap();

    let timed = |what: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        let took = t.elapsed();
        eprintln!(
            "{what}: {} ms (delay {} ms)",
            took.as_millis(),
            DELAY.as_millis()
        );
        took
    };

    let one = timed("get (one node)", &mut || {
        assert_eq!(client.get::<Value>("rt:absent").unwrap(), None);
    });
    assert!(one >= DELAY, "the proxy should delay replies: {one:?}");

    let took = timed("set_many over 3 nodes", &mut || {
        assert!(client
            .set_many(&items, StoreOptions::new())
            .unwrap()
            .is_empty());
    });
    assert!(took >= DELAY && took < 2 * DELAY, "set_many took {took:?}");

    let took = timed("get_many over 3 nodes", &mut || {
        let got = client.get_many(&keys).unwrap();
        assert_eq!(got.len(), 12);
        for (k, v) in &items {
            assert_eq!(text(&got[k]), v);
        }
    });
    assert!(took >= DELAY && took < 2 * DELAY, "get_many took {took:?}");

    let took = timed("gets_many over 3 nodes", &mut || {
        assert_eq!(client.gets_many::<Value, _>(&keys).unwrap().len(), 12);
    });
    assert!(took >= DELAY && took < 2 * DELAY, "gets_many took {took:?}");

    let took = timed("delete_many over 3 nodes", &mut || {
        assert!(client.delete_many(&keys).unwrap());
    });
    assert!(
        took >= DELAY && took < 2 * DELAY,
        "delete_many took {took:?}"
    );
    for (k, _) in &items {
        let node = owner(&client, &proxy_ports, k);
        assert_eq!(servers[node].raw_get(k.as_bytes()), None);
    }
}

#[test]
fn killed_server_fails_leaves_the_ring_and_comes_back() {
    const DEAD: Duration = Duration::from_secs(1);
    let mut servers = MemcachedServer::start_many(3);
    let ports = ports(&servers);
    let client = builder(&servers)
        .retry_attempts(0)
        .retry_timeout(Duration::ZERO)
        .dead_timeout(DEAD)
        .ignore_exc(false)
        .build()
        .unwrap();
    let keys: Vec<String> = (0..3)
        .map(|n| key_on(&client, &ports, n, "kill:"))
        .collect();
    for (n, key) in keys.iter().enumerate() {
        assert!(client.set(key, format!("v{n}")).unwrap());
    }

    servers[0].kill();
    let killed = Instant::now();
    let err = client.get::<Value>(&keys[0]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Io | ErrorKind::UnexpectedClose),
        "a connection error, got {:?}: {err}",
        err.kind()
    );
    assert!(err.is_connection_error());
    if err.kind() == ErrorKind::UnexpectedClose {
        // As in pymemcache, a closed connection does not count against the
        // node (the next call reconnects); the refused reconnect does.
        let err = client.get::<Value>(&keys[0]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    }

    // The other nodes keep working.
    assert_eq!(get_text(&client, &keys[1]).as_deref(), Some("v1"));
    assert_eq!(get_text(&client, &keys[2]).as_deref(), Some("v2"));
    assert!(client.set(&keys[1], "v1b").unwrap());
    assert_eq!(
        servers[1].raw_get(keys[1].as_bytes()),
        Some(b"v1b".to_vec())
    );

    // Node 0 is dead (retry_attempts 0): its keys go to the others.
    let moved_to = owner(&client, &ports, &keys[0]);
    assert_ne!(moved_to, 0, "a dead node gets no keys");
    assert_eq!(client.get::<Value>(&keys[0]).unwrap(), None);
    assert!(client.set(&keys[0], "moved").unwrap());
    assert_eq!(get_text(&client, &keys[0]).as_deref(), Some("moved"));
    assert_eq!(
        servers[moved_to].raw_get(keys[0].as_bytes()),
        Some(b"moved".to_vec())
    );

    servers[0].restart();
    if killed.elapsed() < DEAD - Duration::from_millis(100) {
        assert_ne!(
            owner(&client, &ports, &keys[0]),
            0,
            "back before dead_timeout"
        );
    }
    // Back after dead_timeout (checked at most once per dead_timeout, so
    // within two of them).
    let deadline = killed + 3 * DEAD + Duration::from_millis(500);
    while owner(&client, &ports, &keys[0]) != 0 {
        assert!(
            Instant::now() < deadline,
            "the node should be back on the ring after dead_timeout"
        );
        sleep(Duration::from_millis(25));
    }
    let back_after = killed.elapsed();
    eprintln!("node back after {} ms", back_after.as_millis());
    assert!(back_after > DEAD, "back too early: {back_after:?}");
    assert!(client.set(&keys[0], "back").unwrap());
    assert_eq!(
        servers[0].raw_get(keys[0].as_bytes()),
        Some(b"back".to_vec())
    );
    assert_eq!(get_text(&client, &keys[0]).as_deref(), Some("back"));
}

#[test]
fn ignore_exc_turns_calls_for_a_down_node_into_misses() {
    let mut servers = MemcachedServer::start_many(3);
    let ports = ports(&servers);
    // Default health: 2 retries, 1 s apart, so the node stays "failed" (not
    // dead) for the whole test and calls keep being routed to it.
    let client = builder(&servers).ignore_exc(true).build().unwrap();
    let keys: Vec<String> = (0..3).map(|n| key_on(&client, &ports, n, "ign:")).collect();
    for (n, key) in keys.iter().enumerate() {
        assert!(client.set(key, format!("v{n}")).unwrap());
    }

    servers[0].kill();
    // The call that meets the dead server: an error, swallowed.
    assert_eq!(client.get::<Value>(&keys[0]).unwrap(), None);
    // In the retry window: no I/O, misses and false.
    assert!(!client.set(&keys[0], "x").unwrap());
    assert_eq!(client.get::<Value>(&keys[0]).unwrap(), None);
    assert_eq!(client.gets::<Value>(&keys[0]).unwrap(), None);
    assert!(!client.delete(&keys[0]).unwrap());
    assert!(!client.touch(&keys[0], Duration::from_secs(10)).unwrap());
    assert_eq!(client.incr(&keys[0], 1).unwrap(), None);
    assert!(!client.add(&keys[0], "x").unwrap());
    let got = client.get_many::<Value, _>(&keys).unwrap();
    let found: HashSet<&String> = got.keys().collect();
    assert_eq!(found, HashSet::from([&keys[1], &keys[2]]));
    let failed = client
        .set_many(
            &[(keys[0].as_str(), "a"), (keys[1].as_str(), "b")],
            StoreOptions::new(),
        )
        .unwrap();
    assert_eq!(failed, vec![keys[0].as_str()]);
    assert_eq!(servers[1].raw_get(keys[1].as_bytes()), Some(b"b".to_vec()));
    assert_eq!(owner(&client, &ports, &keys[0]), 0, "failed, not dead yet");

    // With retry_attempts 0, the node is dead at once and its keys move.
    let dead_fast = builder(&servers)
        .ignore_exc(true)
        .retry_attempts(0)
        .build()
        .unwrap();
    assert!(!dead_fast.set(&keys[0], "x").unwrap(), "the failing call");
    assert_ne!(owner(&dead_fast, &ports, &keys[0]), 0);
    assert!(dead_fast.set(&keys[0], "moved").unwrap());
    assert_eq!(get_text(&dead_fast, &keys[0]).as_deref(), Some("moved"));
}

#[test]
fn retry_window_answers_misses_without_io() {
    const RETRY: Duration = Duration::from_millis(300);
    let servers = MemcachedServer::start_many(3);
    let proxies: Vec<Proxy> = servers
        .iter()
        .map(|s| Proxy::start(s.socket_addr(), Duration::ZERO))
        .collect();
    let proxy_addrs: Vec<String> = proxies.iter().map(Proxy::addr_string).collect();
    let pports: Vec<u16> = proxies.iter().map(Proxy::port).collect();
    let client = builder_for(&proxy_addrs)
        .retry_attempts(2)
        .retry_timeout(RETRY)
        .dead_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let ka = key_on(&client, &pports, 0, "win:");
    let kb = key_on(&client, &pports, 1, "win:");
    assert!(client.set(&ka, "a").unwrap());
    assert!(client.set(&kb, "b").unwrap());

    // Node 0 goes away: its open connection is cut, new ones are refused.
    proxies[0].set_reject(true);
    let mut err = client.get::<Value>(&ka).unwrap_err();
    assert!(err.is_connection_error(), "{err}");
    if err.kind() == ErrorKind::UnexpectedClose {
        // A cut connection does not count against the node (pymemcache's
        // rule); the refused reconnect does.
        err = client.get::<Value>(&ka).unwrap_err();
    }
    assert!(
        matches!(err.kind(), ErrorKind::Io | ErrorKind::Timeout),
        "{err}"
    );
    let failed_at = Instant::now();
    let accepted = proxies[0].accepted();

    // The server is reachable again and holds a new value, but inside the
    // retry window the client does not even try: misses, no connection.
    proxies[0].set_reject(false);
    servers[0].raw_set(ka.as_bytes(), b"direct", 0);
    assert_eq!(client.get::<Value>(&ka).unwrap(), None);
    assert!(!client.set(&ka, "x").unwrap());
    assert!(!client.delete(&ka).unwrap());
    let got = client
        .get_many::<Value, _>(&[ka.as_str(), kb.as_str()])
        .unwrap();
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![kb.as_str()]);
    assert!(
        failed_at.elapsed() < RETRY,
        "the checks above must run inside the window (took {:?})",
        failed_at.elapsed()
    );
    assert_eq!(
        proxies[0].accepted(),
        accepted,
        "no connection in the window"
    );
    assert_eq!(servers[0].raw_get(ka.as_bytes()), Some(b"direct".to_vec()));

    // After retry_timeout the node is tried again; success clears it.
    sleep(RETRY + Duration::from_millis(50));
    assert_eq!(get_text(&client, &ka).as_deref(), Some("direct"));
    assert_eq!(proxies[0].accepted(), accepted + 1);
    assert!(client.set(&ka, "again").unwrap());
    assert_eq!(servers[0].raw_get(ka.as_bytes()), Some(b"again".to_vec()));

    // Failing again: the first failure, then two failed retries, then the
    // node is dead and its keys go elsewhere.
    proxies[0].set_reject(true);
    let err = client.get::<Value>(&ka).unwrap_err();
    if err.kind() == ErrorKind::UnexpectedClose {
        // The cut connection does not count; the refused new one does.
        assert_eq!(client.get::<Value>(&ka).unwrap_err().kind(), ErrorKind::Io);
    }
    assert_eq!(client.get::<Value>(&ka).unwrap(), None, "retry window");
    for retry in 1..=2 {
        sleep(RETRY + Duration::from_millis(50));
        let before = proxies[0].accepted();
        let err = client.get::<Value>(&ka).unwrap_err();
        assert!(err.is_connection_error(), "retry {retry}: {err}");
        assert_eq!(proxies[0].accepted(), before + 1, "retry {retry} connects");
        if retry == 1 {
            // One retry left: still failed (in its window), not dead.
            assert_eq!(owner(&client, &pports, &ka), 0, "still failed, not dead");
            assert_eq!(client.get::<Value>(&ka).unwrap(), None, "retry window");
            assert_eq!(proxies[0].accepted(), before + 1);
        }
    }
    // Retries used up: the next routing of one of its keys declares it dead.
    let before = proxies[0].accepted();
    assert_eq!(
        client.get::<Value>(&ka).unwrap(),
        None,
        "routed to a live node"
    );
    assert_ne!(
        owner(&client, &pports, &ka),
        0,
        "dead after 2 failed retries"
    );
    assert!(client.set(&ka, "elsewhere").unwrap());
    assert_eq!(get_text(&client, &ka).as_deref(), Some("elsewhere"));
    assert_eq!(proxies[0].accepted(), before, "a dead node is not called");
}

#[test]
fn all_servers_down() {
    let mut servers = MemcachedServer::start_many(3);
    let ports = ports(&servers);
    let addrs = addrs(&servers);
    for s in &mut servers {
        s.kill();
    }
    let keys: Vec<String> = (0..30).map(|i| format!("down:{i}")).collect();

    let client = builder_for(&addrs).retry_attempts(0).build().unwrap();
    let spread: HashSet<usize> = keys.iter().map(|k| owner(&client, &ports, k)).collect();
    assert_eq!(spread.len(), 3);
    // The first call meets every node refusing: an I/O error; all dead now.
    let err = client.get_many::<Value, _>(&keys).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(client.server_for("down:0"), None);
    let err = client.get::<Value>("down:0").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoServers);
    assert_eq!(err.to_string(), "all servers seem to be down right now");
    assert_eq!(
        client.set("down:0", "x").unwrap_err().kind(),
        ErrorKind::NoServers
    );
    assert_eq!(
        client.delete("down:0").unwrap_err().kind(),
        ErrorKind::NoServers
    );
    assert_eq!(
        client.incr("down:0", 1).unwrap_err().kind(),
        ErrorKind::NoServers
    );
    assert_eq!(
        client.get_many::<Value, _>(&keys).unwrap_err().kind(),
        ErrorKind::NoServers
    );
    assert_eq!(
        client
            .set_many(&[("down:0", "x")], StoreOptions::new())
            .unwrap_err()
            .kind(),
        ErrorKind::NoServers
    );

    let ignoring = builder_for(&addrs)
        .retry_attempts(0)
        .ignore_exc(true)
        .build()
        .unwrap();
    assert!(ignoring.get_many::<Value, _>(&keys).unwrap().is_empty());
    assert_eq!(ignoring.server_for("down:0"), None);
    assert_eq!(ignoring.get::<Value>("down:0").unwrap(), None);
    assert!(!ignoring.set("down:0", "x").unwrap());
    assert!(!ignoring.delete("down:0").unwrap());
    assert_eq!(ignoring.incr("down:0", 1).unwrap(), None);
    assert!(ignoring.get_many::<Value, _>(&keys).unwrap().is_empty());

    // No servers configured at all.
    let empty = HashClient::new(Vec::<String>::new()).unwrap();
    assert_eq!(
        empty.get::<Value>("k").unwrap_err().kind(),
        ErrorKind::NoServers
    );
}

#[test]
fn adding_and_removing_servers_moves_keys() {
    let servers = MemcachedServer::start_many(3);
    let ports = ports(&servers);
    let client = builder(&servers[..2]).build().unwrap();
    let items: Vec<(String, String)> = (0..300)
        .map(|i| (format!("mv:{i}"), format!("m{i}")))
        .collect();
    assert!(client
        .set_many(&items, StoreOptions::new())
        .unwrap()
        .is_empty());
    let before: Vec<usize> = items
        .iter()
        .map(|(k, _)| owner(&client, &ports, k))
        .collect();
    assert!(before.iter().all(|&n| n < 2));

    client.add_server(servers[2].addr_string()).unwrap();
    assert_eq!(client.servers().len(), 3);
    let after: Vec<usize> = items
        .iter()
        .map(|(k, _)| owner(&client, &ports, k))
        .collect();
    let mut router = Router::new(
        servers.iter().map(|s| format!("127.0.0.1:{}", s.port())),
        Distribution::Rendezvous,
        HealthConfig::default(),
        Millis(0),
    );
    let mut moved = 0;
    for (((k, v), &b), &a) in items.iter().zip(&before).zip(&after) {
        let Route::Node(id) = router.node_for(k.as_bytes(), Millis(0)) else {
            panic!("no node for {k}");
        };
        assert_eq!(
            id.0, a,
            "{k}: HashClient and a fresh 3-node Router disagree"
        );
        if a == b {
            assert_eq!(get_text(&client, k).as_deref(), Some(v.as_str()));
        } else {
            assert_eq!(a, 2, "{k}: keys only move to the new node");
            moved += 1;
            // The client now asks the new, empty node.
            assert_eq!(client.get::<Value>(k).unwrap(), None);
        }
    }
    assert!(
        (50..=150).contains(&moved),
        "about a third should move: {moved}"
    );
    assert!(client.set("mv:new", "n").unwrap());
    let n = owner(&client, &ports, "mv:new");
    assert_eq!(servers[n].raw_get(b"mv:new"), Some(b"n".to_vec()));

    assert!(client.remove_server(servers[2].addr_string()).unwrap());
    assert!(!client.remove_server(servers[2].addr_string()).unwrap());
    assert!(!client.remove_server("127.0.0.1:1").unwrap());
    assert_eq!(client.servers().len(), 2);
    let back: Vec<usize> = items
        .iter()
        .map(|(k, _)| owner(&client, &ports, k))
        .collect();
    assert_eq!(back, before);
    let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(client.get_many::<Value, _>(&keys).unwrap().len(), 300);
}

#[test]
fn pooled_hash_client_from_many_threads() {
    let servers = MemcachedServer::start_many(3);
    let ports = ports(&servers);
    let client = builder(&servers)
        .use_pooling(
            true,
            PoolOptions {
                max_pool_size: 4,
                ..PoolOptions::default()
            },
        )
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let client = &client;
            s.spawn(move || {
                let items: Vec<(String, String)> = (0..25)
                    .map(|j| (format!("pool:{t}:{j}"), format!("p{t}-{j}")))
                    .collect();
                for (k, v) in &items {
                    assert!(client.set(k, v.as_str()).unwrap());
                    assert_eq!(get_text(client, k).as_deref(), Some(v.as_str()));
                }
                let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
                let got = client.get_many::<Value, _>(&keys).unwrap();
                assert_eq!(got.len(), 25);
                assert!(client.delete_many(&keys[..10]).unwrap());
                let got = client.get_many::<Value, _>(&keys).unwrap();
                let expect: HashSet<&str> = keys[10..].iter().copied().collect();
                assert_eq!(got.keys().copied().collect::<HashSet<_>>(), expect);
                assert_eq!(
                    client.incr(keys[20], 1).unwrap_err().kind(),
                    ErrorKind::Client
                );
            });
        }
    });
    let mut per_node: HashMap<usize, usize> = HashMap::new();
    for t in 0..8 {
        for j in 10..25 {
            let k = format!("pool:{t}:{j}");
            let node = owner(&client, &ports, &k);
            *per_node.entry(node).or_default() += 1;
            assert_eq!(
                servers[node].raw_get(k.as_bytes()),
                Some(format!("p{t}-{j}").into_bytes())
            );
        }
    }
    assert_eq!(per_node.len(), 3);
}
