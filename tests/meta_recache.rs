//! Stale-while-revalidate against a real memcached: many threads ask
//! `get_or_recache` for the same hot key at the same instant, and exactly one
//! of them recomputes it — when the key is missing, when its TTL is below
//! `recache_below`, and when it was invalidated (`md I`) — while the others
//! get the value (the old or stale one, or the winner's).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use memcrab::core::meta::{MetaDelete, MetaGet, MetaSet};
use memcrab::{
    Client, Memcache, MetaCommands, PoolOptions, PooledClient, Protocol, Recache, Recached, Value,
};
use support::MemcachedServer;

const THREADS: usize = 16;
const COMPUTE_TIME: Duration = Duration::from_millis(200);

fn opts() -> Recache {
    Recache {
        ttl: Duration::from_secs(300),
        recache_below: Duration::from_secs(30),
        lock_ttl: Duration::from_secs(30),
        wait: Duration::from_secs(5),
    }
}

/// `THREADS` clients, each with its own connection, already connected.
fn clients(server: &MemcachedServer) -> Vec<Client> {
    (0..THREADS)
        .map(|_| {
            let c = Client::builder(server.addr_string())
                .timeout(Duration::from_secs(10))
                .default_noreply(false)
                .build()
                .unwrap();
            c.version().unwrap();
            assert!(c.is_connected());
            c
        })
        .collect()
}

fn value(v: &[u8]) -> Value {
    Value::from(v)
}

/// Starts one thread per client, all released at once by a barrier, each
/// calling `get_or_recache(key)` with a `compute` that sleeps and returns
/// `new`. Returns every thread's result and how many times `compute` ran.
fn race<C: Memcache + Sync>(
    clients: &[C],
    key: &str,
    new: &'static [u8],
) -> (Vec<Recached>, usize) {
    let barrier = Barrier::new(clients.len());
    let calls = AtomicUsize::new(0);
    let results = thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .map(|c| {
                let (barrier, calls) = (&barrier, &calls);
                s.spawn(move || {
                    barrier.wait();
                    c.get_or_recache(key, opts(), || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(COMPUTE_TIME);
                        Ok::<_, memcrab::Error>(value(new))
                    })
                    .unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    (results, calls.load(Ordering::SeqCst))
}

/// The reply line and value of a raw `mg <key> <flags>`, before `MN`.
fn raw_meta(server: &MemcachedServer, line: &str) -> String {
    let reply = server.raw_until(format!("{line}\r\nmn\r\n").as_bytes(), b"MN\r\n");
    let reply = String::from_utf8_lossy(&reply).into_owned();
    reply.strip_suffix("MN\r\n").unwrap().to_owned()
}

/// The value, TTL and stale/win flags memcached holds for `key`.
fn held(server: &MemcachedServer, key: &str) -> (Option<Vec<u8>>, i64, String) {
    let value = server.raw_get(key.as_bytes());
    let line = raw_meta(server, &format!("mg {key} t u"));
    let line = line.trim_end().to_owned();
    let ttl = line
        .split(' ')
        .find_map(|t| t.strip_prefix('t'))
        .unwrap_or_else(|| panic!("no TTL in {line:?}"))
        .parse()
        .unwrap();
    let marks: String = line
        .split(' ')
        .filter(|t| ["W", "X", "Z"].contains(t))
        .collect();
    (value, ttl, marks)
}

fn winners(results: &[Recached]) -> usize {
    results.iter().filter(|r| r.recomputed).count()
}

#[test]
fn a_missing_hot_key_is_computed_by_exactly_one_thread() {
    let server = MemcachedServer::start();
    let clients = clients(&server);
    let (results, calls) = race(&clients, "hot", b"computed");
    assert_eq!(calls, 1, "compute ran {calls} times");
    assert_eq!(winners(&results), 1, "{results:?}");
    for r in &results {
        assert_eq!(r.value, value(b"computed"), "{r:?}");
        assert!(!r.stale, "{r:?}");
    }
    let (v, ttl, marks) = held(&server, "hot");
    assert_eq!(v.as_deref(), Some(&b"computed"[..]));
    assert!((298..=300).contains(&ttl), "{ttl}");
    assert_eq!(marks, "", "the winner's set ends the recache");

    // Now fresh: nobody computes.
    let (results, calls) = race(&clients, "hot", b"again");
    assert_eq!(calls, 0);
    assert!(results
        .iter()
        .all(|r| !r.recomputed && !r.stale && r.value == value(b"computed")));
}

#[test]
fn a_missing_hot_key_through_a_pool_is_computed_once() {
    let server = MemcachedServer::start();
    let pool = PooledClient::new(server.addr_string(), PoolOptions::default()).unwrap();
    let shared: Vec<&PooledClient> = vec![&pool; THREADS];
    let (results, calls) = race(&shared, "pooled", b"computed");
    assert_eq!(calls, 1, "compute ran {calls} times");
    assert_eq!(winners(&results), 1, "{results:?}");
    assert!(results.iter().all(|r| r.value == value(b"computed")));
    assert_eq!(server.raw_get(b"pooled").as_deref(), Some(&b"computed"[..]));
}

#[test]
fn a_key_about_to_expire_is_recomputed_by_one_while_the_others_get_the_old_value() {
    let server = MemcachedServer::start();
    let clients = clients(&server);
    clients[0]
        .meta_set(MetaSet::new(b"warm", b"old").ttl(10))
        .unwrap();
    let (results, calls) = race(&clients, "warm", b"new");
    assert_eq!(calls, 1, "compute ran {calls} times");
    assert_eq!(winners(&results), 1, "{results:?}");
    for r in &results {
        if r.recomputed {
            assert_eq!((&r.value, r.stale), (&value(b"new"), false), "{r:?}");
        } else {
            assert_eq!((&r.value, r.stale), (&value(b"old"), false), "{r:?}");
        }
    }
    let (v, ttl, marks) = held(&server, "warm");
    assert_eq!(v.as_deref(), Some(&b"new"[..]));
    assert!((298..=300).contains(&ttl), "{ttl}");
    assert_eq!(marks, "");

    // A key with plenty of TTL left is nobody's to recompute.
    clients[0]
        .meta_set(MetaSet::new(b"cool", b"kept").ttl(200))
        .unwrap();
    let (results, calls) = race(&clients, "cool", b"new");
    assert_eq!(calls, 0);
    assert!(results
        .iter()
        .all(|r| !r.recomputed && r.value == value(b"kept")));
}

#[test]
fn an_invalidated_key_is_recomputed_by_one_while_the_others_get_the_stale_value() {
    let server = MemcachedServer::start();
    let clients = clients(&server);
    clients[0]
        .meta_set(MetaSet::new(b"k", b"stale one").ttl(300))
        .unwrap();
    clients[0]
        .meta_delete(MetaDelete::new(b"k").invalidate(None))
        .unwrap();
    let r = clients[0].meta_get(MetaGet::new(b"k").value().no_bump());
    assert!(r.unwrap().stale, "md I marked it stale");
    // That mg took the win; a fresh invalidation makes the race real.
    clients[0]
        .meta_set(MetaSet::new(b"k", b"stale one").ttl(300))
        .unwrap();
    clients[0]
        .meta_delete(MetaDelete::new(b"k").invalidate(Some(100)))
        .unwrap();

    let (results, calls) = race(&clients, "k", b"fresh");
    assert_eq!(calls, 1, "compute ran {calls} times");
    assert_eq!(winners(&results), 1, "{results:?}");
    for r in &results {
        assert!(r.stale, "everyone saw the stale mark: {r:?}");
        if r.recomputed {
            assert_eq!(r.value, value(b"fresh"), "{r:?}");
        } else {
            assert_eq!(r.value, value(b"stale one"), "{r:?}");
        }
    }
    let (v, ttl, marks) = held(&server, "k");
    assert_eq!(v.as_deref(), Some(&b"fresh"[..]));
    assert!((298..=300).contains(&ttl), "{ttl}");
    assert_eq!(marks, "", "no longer stale");
}

#[test]
fn get_or_recache_works_over_both_protocols_and_reports_compute_errors() {
    let server = MemcachedServer::start();
    for protocol in [Protocol::Text, Protocol::Meta] {
        let c = Client::builder(server.addr_string())
            .timeout(Duration::from_secs(5))
            .protocol(protocol)
            .build()
            .unwrap();
        let key = format!("{protocol:?}");
        let r = c
            .get_or_recache(&key, opts(), || Ok::<_, memcrab::Error>(value(b"v")))
            .unwrap();
        assert_eq!(
            r,
            Recached {
                value: value(b"v"),
                recomputed: true,
                stale: false
            }
        );
        let r = c
            .get_or_recache::<Value, memcrab::Error, _>(&key, opts(), || panic!("must not compute"))
            .unwrap();
        assert_eq!((r.value, r.recomputed), (value(b"v"), false));
        // A failing compute is the caller's error; the placeholder stays
        // locked for lock_ttl, so the next caller waits for it (here: not
        // at all) and then computes itself.
        let err = c
            .get_or_recache("failing", opts(), || {
                Err::<Value, memcrab::Error>(memcrab::Error::Config("backend down".into()))
            })
            .unwrap_err();
        assert!(err.to_string().contains("backend down"), "{err}");
        let quick = Recache {
            wait: Duration::ZERO,
            ..opts()
        };
        let r = c
            .get_or_recache("failing", quick, || Ok::<_, memcrab::Error>(value(b"late")))
            .unwrap();
        assert_eq!((r.value, r.recomputed), (value(b"late"), true));
        server.raw_flush_all();
    }
}

/// The caller's error type: a database error, or the cache's.
#[derive(Debug)]
enum AppError {
    Db(&'static str),
    Cache(memcrab::Error),
}

impl From<memcrab::Error> for AppError {
    fn from(e: memcrab::Error) -> Self {
        AppError::Cache(e)
    }
}

#[test]
fn get_or_recache_passes_the_callers_error_through_and_reads_typed_values() {
    let server = MemcachedServer::start();
    let c = Client::builder(server.addr_string())
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
        .build()
        .unwrap();
    let err = c
        .get_or_recache("db:down", opts(), || {
            Err::<String, _>(AppError::Db("db down"))
        })
        .unwrap_err();
    assert!(matches!(err, AppError::Db("db down")), "{err:?}");

    let r = c
        .get_or_recache("typed:n", opts(), || Ok::<u64, AppError>(16_000))
        .unwrap();
    assert_eq!((r.value, r.recomputed), (16_000, true));
    let r: Recached<u64> = c
        .get_or_recache("typed:n", opts(), || Err(AppError::Db("must not compute")))
        .unwrap();
    assert_eq!((r.value, r.recomputed), (16_000, false));
    assert_eq!(c.get::<u64>("typed:n").unwrap(), Some(16_000));

    // A value of another type is the cache's error, naming the key.
    c.set("typed:s", "not a number").unwrap();
    let err = c
        .get_or_recache("typed:s", opts(), || Ok::<u64, AppError>(1))
        .unwrap_err();
    match err {
        AppError::Cache(e) => assert!(e.to_string().contains("typed:s"), "{e}"),
        other => panic!("expected the cache's error, got {other:?}"),
    }
}
