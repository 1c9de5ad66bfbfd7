//! `memcrab::tokio::Client` against real memcached servers: every command,
//! many tasks on one connection, cancellation at any point, servers killed
//! and restarted, several servers with a dead node, unix sockets.
#![cfg(feature = "tokio")]

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use memcrab::core::meta::{MetaGet, MetaSet, MetaStatus};
use memcrab::tokio::Client;
use memcrab::{AsyncMemcache, AsyncMetaCommands, ErrorKind, Recache, StoreOptions, Value};
use support::faults::FaultProxy;
use support::MemcachedServer;

fn client(addr: &str) -> Client {
    Client::builder()
        .server(addr)
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(2))
        .default_noreply(false)
        .build()
        .expect("build")
}

fn bytes(v: Option<Value>) -> Option<Vec<u8>> {
    v.and_then(|v| v.as_bytes().map(<[u8]>::to_vec))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command() {
    let server = MemcachedServer::start();
    let c = client(&server.addr_string());
    assert!(c.set("k", "v").await.unwrap());
    assert_eq!(bytes(c.get("k").await.unwrap()), Some(b"v".to_vec()));
    assert_eq!(c.get::<Value>("missing").await.unwrap(), None);
    assert!(!c.add("k", "x").await.unwrap());
    assert!(c.add("k2", "x").await.unwrap());
    assert!(c.replace("k2", "y").await.unwrap());
    assert!(!c.replace("nope", "y").await.unwrap());
    assert!(c.append("k", "w").await.unwrap());
    assert!(c.prepend("k", "u").await.unwrap());
    assert_eq!(bytes(c.get("k").await.unwrap()), Some(b"uvw".to_vec()));
    let (v, cas) = c.gets::<Value>("k").await.unwrap().expect("hit");
    assert_eq!(v.as_bytes(), Some(&b"uvw"[..]));
    assert_eq!(
        c.cas("k", "new", cas, StoreOptions::new()).await.unwrap(),
        Some(true)
    );
    assert_eq!(
        c.cas("k", "newer", cas, StoreOptions::new()).await.unwrap(),
        Some(false)
    );
    assert_eq!(
        c.cas("gone", "x", 1, StoreOptions::new()).await.unwrap(),
        None
    );
    let failed = c
        .set_many(&[("a", "1"), ("b", "2"), ("c", "3")], StoreOptions::new())
        .await
        .unwrap();
    assert!(failed.is_empty());
    let got = c
        .get_many::<Value, _>(&["a", "b", "c", "zz"])
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got["b"].as_bytes(), Some(&b"2"[..]));
    let got = c.gets_many::<Value, _>(&["a", "zz"]).await.unwrap();
    assert!(got["a"].1 > 0);
    assert_eq!(
        bytes(c.gat::<Value>("a", Duration::from_secs(100)).await.unwrap()),
        Some(b"1".to_vec())
    );
    assert!(c
        .gats::<Value>("a", Duration::from_secs(100))
        .await
        .unwrap()
        .is_some());
    assert!(c.touch("a", Duration::from_secs(100)).await.unwrap());
    assert!(!c.touch("zz", Duration::from_secs(100)).await.unwrap());
    assert!(c.set("n", "10").await.unwrap());
    assert_eq!(c.incr("n", 5).await.unwrap(), Some(15));
    assert_eq!(c.decr("n", 20).await.unwrap(), Some(0));
    assert_eq!(c.incr("no-counter", 1).await.unwrap(), None);
    assert!(c.delete("n").await.unwrap());
    assert!(!c.delete("n").await.unwrap());
    assert!(c.delete_many(&["a", "b"]).await.unwrap());
    assert_eq!(c.get::<Value>("a").await.unwrap(), None);
    let stats = c.stats(&[]).await.unwrap();
    assert!(stats.get("pid").is_some());
    assert!(c.version().await.unwrap().starts_with('1'));
    assert!(c.verbosity(0).await.unwrap());
    let raw = c.raw_command("get k", b"END\r\n").await.unwrap();
    assert!(raw.starts_with(b"VALUE k"));
    // Meta commands.
    let r = c
        .meta_set(MetaSet::new(b"m", b"meta").ttl(60))
        .await
        .unwrap();
    assert_eq!(r.status(), MetaStatus::Ok);
    let r = c.meta_get(MetaGet::new(b"m").value().ttl()).await.unwrap();
    assert_eq!(r.value.as_deref(), Some(&b"meta"[..]));
    // get_or_recache: computed once, then served.
    let computed = AtomicUsize::new(0);
    for _ in 0..2 {
        let got = c
            .get_or_recache("rc", Recache::default(), || async {
                computed.fetch_add(1, Ordering::SeqCst);
                Ok::<_, memcrab::Error>(Value::from("fresh"))
            })
            .await
            .unwrap();
        assert_eq!(got.value.as_bytes(), Some(&b"fresh"[..]));
    }
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    // `stats` of one server by address, and closing idle connections.
    let addr = c.servers().remove(0);
    let out = c
        .execute_on(&addr, &[memcrab::core::Request::Version])
        .await
        .unwrap();
    assert!(matches!(out[0], Some(Ok(memcrab::core::Reply::Version(_)))));
    c.close();
    assert!(c.flush_all(Duration::ZERO).await.unwrap());
    assert_eq!(c.get::<Value>("k").await.unwrap(), None);
    // A bad key is refused before anything is sent.
    let e = c.get::<Value>("bad key").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IllegalInput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_each_read_their_own_writes() {
    let server = MemcachedServer::start();
    let c = client(&server.addr_string());
    let mut tasks = Vec::new();
    for t in 0..1000 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                let key = format!("t{t}:{i}");
                let value = format!("value of {key}");
                assert!(c.set(&key, value.as_str()).await.unwrap());
                let got = c.get(&key).await.unwrap();
                assert_eq!(bytes(got), Some(value.into_bytes()), "{key}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    // One connection carried them all (pipelined, not pooled).
    let conns: u64 = server
        .raw_stat("curr_connections")
        .unwrap()
        .parse()
        .unwrap();
    assert!(conns <= 3, "{conns} connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_futures_never_desynchronise_the_connection() {
    let server = MemcachedServer::start();
    let c = client(&server.addr_string());
    for i in 0..100 {
        c.set(format!("d{i}"), format!("v{i}")).await.unwrap();
    }
    // 10,000 calls, each dropped after a pseudo-random number of polls.
    let mut seed = 0x2545_f491_u64;
    for n in 0..10_000u32 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let key = format!("d{}", seed % 100);
        let polls = seed % 4;
        let c = c.clone();
        let fut = async move {
            if n % 3 == 0 {
                let _ = c.set(&key, format!("v{}", &key[1..])).await;
            } else {
                let _ = c.get::<Value>(&key).await;
            }
        };
        let mut fut = Box::pin(fut);
        for _ in 0..polls {
            let waker = futures_noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            if fut.as_mut().poll(&mut cx).is_ready() {
                break;
            }
            tokio::task::yield_now().await;
        }
        drop(fut);
    }
    for i in 0..1000 {
        let k = format!("d{}", i % 100);
        let got = c.get(&k).await.unwrap();
        assert_eq!(
            bytes(got),
            Some(format!("v{}", i % 100).into_bytes()),
            "{k}"
        );
    }
}

fn futures_noop_waker() -> std::task::Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    std::task::Waker::from(Arc::new(Noop))
}

use std::future::Future;

// One thread: every task submits before the writer's turn, whatever the
// machine's load, so what merges is deterministic.
#[tokio::test(flavor = "current_thread")]
async fn concurrent_gets_are_merged() {
    let server = MemcachedServer::start();
    let proxy = FaultProxy::start(server.socket_addr());
    let proxy = &proxy;
    let run = |merge: bool| {
        let c = Client::builder()
            .server(proxy.addr_string())
            .timeout(Duration::from_secs(5))
            .default_noreply(false)
            .merge_gets(merge)
            .build()
            .unwrap();
        async move {
            c.set("mk", "mv").await.unwrap();
            let before = proxy.bytes_up();
            let tasks: Vec<_> = (0..2000)
                .map(|i| {
                    let c = c.clone();
                    tokio::spawn(async move {
                        let key = if i % 2 == 0 { "mk" } else { "absent" };
                        (key, c.get(key).await.unwrap())
                    })
                })
                .collect();
            for t in tasks {
                let (key, got) = t.await.unwrap();
                let want = (key == "mk").then(|| b"mv".to_vec());
                assert_eq!(bytes(got), want, "{key}");
            }
            proxy.bytes_up() - before
        }
    };
    let unmerged = run(false).await;
    let merged = run(true).await;
    // 1,000 `get mk\r\n` and 1,000 `get absent\r\n` when nothing merges.
    assert_eq!(unmerged, 1000 * 8 + 1000 * 12);
    // Merged: `get` and `\r\n` once per up to 64 keys (10,000 bytes of
    // keys and spaces, plus 6 per request): at least 8 keys per request.
    assert!(merged * 10 < unmerged * 6, "merged {merged} vs {unmerged}");
    eprintln!("request bytes: merged {merged}, unmerged {unmerged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_fails_calls_within_their_timeout_then_recovers() {
    let mut server = MemcachedServer::start();
    let c = Client::builder()
        .server(server.addr_string())
        .timeout(Duration::from_millis(1500))
        .connect_timeout(Duration::from_millis(500))
        .default_noreply(false)
        .build()
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..64 {
        let c = c.clone();
        let stop = Arc::clone(&stop);
        tasks.push(tokio::spawn(async move {
            let mut errors = 0u32;
            let mut i = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("kill{t}:{}", i % 8);
                let started = Instant::now();
                let value = format!("{key}={i}");
                match c.set(&key, value.as_str()).await {
                    Ok(_) => {}
                    Err(_) => errors += 1,
                }
                match c.get::<String>(&key).await {
                    Ok(Some(s)) => {
                        assert!(s.starts_with(&format!("{key}=")), "{key} got {s}");
                    }
                    Ok(None) => {}
                    Err(_) => errors += 1,
                }
                assert!(started.elapsed() < Duration::from_secs(4), "a call hung");
                i += 1;
            }
            errors
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart();
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.store(true, Ordering::SeqCst);
    let mut errors = 0;
    for t in tasks {
        errors += t.await.expect("no task panicked");
    }
    assert!(errors > 0, "the kill was noticed");
    // After the restart every call works again.
    assert!(c.set("after", "ok").await.unwrap());
    assert_eq!(bytes(c.get("after").await.unwrap()), Some(b"ok".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_keys_move_and_come_back() {
    const DEAD: Duration = Duration::from_millis(500);
    let mut servers = MemcachedServer::start_many(3);
    let addrs: Vec<String> = servers.iter().map(MemcachedServer::addr_string).collect();
    let c = Client::builder()
        .servers(addrs.iter().map(String::as_str))
        .timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(300))
        .retry_attempts(0)
        .retry_timeout(Duration::ZERO)
        .dead_timeout(DEAD)
        .default_noreply(false)
        .build()
        .unwrap();
    let keys: Vec<String> = (0..60).map(|i| format!("node{i}")).collect();
    let mut owner = HashMap::new();
    for k in &keys {
        c.set(k, k.as_str()).await.unwrap();
        owner.insert(k.clone(), c.server_for(k).unwrap());
    }
    let got = c.get_many::<Value, _>(&keys).await.unwrap();
    assert_eq!(got.len(), keys.len());
    let dead = servers[0].addr_string();
    servers[0].kill();
    let killed = Instant::now();
    // The call that meets the dead node fails; the node is dead at once
    // (a closed connection does not count, as in pymemcache: the refused
    // reconnect of the next call does).
    let e = c.get_many::<Value, _>(&keys).await.unwrap_err();
    if e.kind() == ErrorKind::UnexpectedClose {
        let e = c.get_many::<Value, _>(&keys).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    }
    // Its keys moved to live nodes (where they miss); the others still hit.
    let got = c.get_many::<Value, _>(&keys).await.unwrap();
    for k in &keys {
        let on_dead = owner[k].to_string() == dead;
        assert_eq!(got.contains_key(k), !on_dead, "{k}");
    }
    let moved = keys.iter().find(|k| owner[*k].to_string() == dead).unwrap();
    assert_ne!(c.server_for(moved).unwrap().to_string(), dead);
    assert!(c.set(moved, "moved").await.unwrap());
    assert_eq!(bytes(c.get(moved).await.unwrap()), Some(b"moved".to_vec()));
    servers[0].restart();
    // Back on the ring after dead_timeout.
    while c.server_for(moved).unwrap().to_string() != dead {
        assert!(
            killed.elapsed() < 3 * DEAD + Duration::from_millis(500),
            "never back"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(killed.elapsed() > DEAD);
    assert!(c.set(moved, "back").await.unwrap());
    assert_eq!(servers[0].raw_get(moved.as_bytes()), Some(b"back".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_ipv6() {
    if !support::ipv6_available() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let server = MemcachedServer::start_ipv6();
    let c = client(&format!("[::1]:{}", server.port()));
    assert!(c.set("six", "v6").await.unwrap());
    assert_eq!(bytes(c.get("six").await.unwrap()), Some(b"v6".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_unix_socket() {
    let server = MemcachedServer::start_unix();
    let path = server.socket_path().to_str().unwrap().to_owned();
    for addr in [path.clone(), format!("unix:{path}")] {
        let c = client(&addr);
        assert!(c.set("u", "unix").await.unwrap());
        assert_eq!(bytes(c.get("u").await.unwrap()), Some(b"unix".to_vec()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_times_out_and_a_bad_prefix_is_refused() {
    let mut server = MemcachedServer::start();
    let c = Client::builder()
        .server(server.addr_string())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    c.set("f", "v").await.unwrap();
    server.freeze();
    let started = Instant::now();
    let e = c.get::<Value>("f").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
    server.thaw();
    assert_eq!(bytes(c.get("f").await.unwrap()), Some(b"v".to_vec()));
    let e = Client::builder()
        .server(server.addr_string())
        .key_prefix("a b")
        .build();
    assert!(e.is_err());
    assert!(Client::builder().build().is_err());
}

/// Code written against `AsyncMemcache` runs the same on the in-memory
/// mock and on a real server.
async fn scenario<C: AsyncMemcache>(c: &C) -> Vec<String> {
    let mut seen = Vec::new();
    seen.push(format!("{:?}", c.set("a", "1").await));
    seen.push(format!("{:?}", c.add("a", "2").await));
    seen.push(format!("{:?}", c.incr("a", 41).await));
    seen.push(format!("{:?}", c.decr("a", 50).await));
    seen.push(format!("{:?}", bytes(c.get("a").await.unwrap())));
    seen.push(format!("{:?}", c.append("a", "x").await));
    seen.push(format!("{:?}", c.incr("a", 1).await.map_err(|e| e.kind())));
    let (_, cas) = c.gets::<Value>("a").await.unwrap().unwrap();
    seen.push(format!(
        "{:?}",
        c.cas("a", "c", cas + 1, StoreOptions::new()).await
    ));
    seen.push(format!(
        "{:?}",
        c.cas("a", "c", cas, StoreOptions::new()).await
    ));
    seen.push(format!(
        "{:?}",
        c.get_many::<Value, _>(&["a", "b"]).await.map(|m| m.len())
    ));
    seen.push(format!("{:?}", c.delete("a").await));
    seen.push(format!("{:?}", c.delete("a").await));
    seen.push(format!("{:?}", c.touch("a", Duration::from_secs(10)).await));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_answers_the_async_trait_as_memcached_does() {
    let server = MemcachedServer::start();
    let real = scenario(&client(&server.addr_string())).await;
    // The classic commands over the meta protocol answer the same.
    let meta = Client::builder()
        .server(server.addr_string())
        .protocol(memcrab::Protocol::Meta)
        .default_noreply(false)
        .build()
        .unwrap();
    assert_eq!(scenario(&meta).await, real);
    let mock = memcrab_transport::mock::MockClient::builder()
        .default_noreply(false)
        .build()
        .unwrap();
    assert_eq!(scenario(&mock).await, real);
    assert_eq!(real[2], "Ok(Some(42))");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_connection_makes_calls_wait_not_fail() {
    let server = MemcachedServer::start();
    for merge in [true, false] {
        let c = Client::builder()
            .server(server.addr_string())
            .connections(2)
            .depth(2)
            .merge_gets(merge)
            .default_noreply(false)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        c.set("full", "yes").await.unwrap();
        let tasks: Vec<_> = (0..300)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move {
                    if i % 3 == 0 {
                        let key = format!("w{i}");
                        assert!(c.set(&key, key.as_str()).await.unwrap());
                        assert_eq!(bytes(c.get(&key).await.unwrap()), Some(key.into_bytes()));
                    } else {
                        assert_eq!(bytes(c.get("full").await.unwrap()), Some(b"yes".to_vec()));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("no call failed");
        }
        let conns: u64 = server
            .raw_stat("curr_connections")
            .unwrap()
            .parse()
            .unwrap();
        assert!(conns <= 2 * 2 + 2, "{conns} connections");
    }
}

/// A client outlives the runtime that opened its connections: used from a
/// second runtime, it reconnects instead of waiting on dead tasks.
#[test]
fn a_client_survives_its_first_runtime() {
    let server = MemcachedServer::start();
    let c = Client::builder()
        .server(server.addr_string())
        .default_noreply(false)
        .build()
        .unwrap();
    for round in 0..3 {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let c2 = c.clone();
        let got = rt.block_on(async move {
            let value = format!("round {round}");
            assert!(c2.set("rt", value.as_str()).await.unwrap());
            tokio::time::timeout(Duration::from_secs(5), c2.get("rt"))
                .await
                .expect("no hang")
                .unwrap()
        });
        assert_eq!(bytes(got), Some(format!("round {round}").into_bytes()));
        drop(rt);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_values_round_trip() {
    let server = MemcachedServer::start();
    let c = client(&server.addr_string());
    c.set("t:s", String::from("héllo")).await.unwrap();
    let s: Option<String> = c.get("t:s").await.unwrap();
    assert_eq!(s.as_deref(), Some("héllo"));
    c.set("t:b", &b"\x00\xff"[..]).await.unwrap();
    assert_eq!(
        c.get::<Vec<u8>>("t:b").await.unwrap(),
        Some(vec![0x00, 0xff])
    );
    c.set("t:n", u64::MAX - 1).await.unwrap();
    assert_eq!(c.incr("t:n", 1).await.unwrap(), Some(u64::MAX));
    assert_eq!(c.get::<u64>("t:n").await.unwrap(), Some(u64::MAX));
    c.set("t:d", 100i32).await.unwrap();
    assert_eq!(c.decr("t:d", 91).await.unwrap(), Some(9));
    assert_eq!(c.get::<i32>("t:d").await.unwrap(), Some(9), "padded digits");
    let (n, _cas) = c.gets::<i32>("t:d").await.unwrap().unwrap();
    assert_eq!(n, 9);
    let many: HashMap<&str, String> = c.get_many(&["t:s", "t:none"]).await.unwrap();
    assert_eq!(many.len(), 1);
    let ttl = StoreOptions::new().expire(Duration::from_secs(60));
    c.set_with("t:ttl", -7i64, ttl).await.unwrap();
    assert_eq!(
        c.gat::<i64>("t:ttl", Duration::from_secs(120))
            .await
            .unwrap(),
        Some(-7)
    );
    // The wrong type names the key.
    let err = c.get::<u64>("t:s").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Serde);
    assert!(err.to_string().contains("\"t:s\""), "{err}");
    // A typed get_or_recache with the caller's own error type.
    let got = c
        .get_or_recache("t:rc", Recache::default(), || async {
            Ok::<u32, memcrab::Error>(41)
        })
        .await
        .unwrap();
    assert_eq!((got.value, got.recomputed), (41, true));
    assert_eq!(c.get::<u32>("t:rc").await.unwrap(), Some(41));
}
