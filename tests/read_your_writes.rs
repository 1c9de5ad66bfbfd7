//! A thread reads its own earlier writes through a `PooledClient`, with the
//! default options (noreply writes): 8 threads × 5,000 `set`-then-`get` of
//! their own keys see every value they wrote.
//!
//! The one option changed is the call timeout (10 s instead of the default
//! 1 s): on a loaded two-core machine a reply can take over a second, and
//! a timeout is not what this test is about.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use memcrab::{Memcache, PooledClient, Value};
use support::MemcachedServer;

const THREADS: usize = 8;
const ROUNDS: usize = 5_000;

/// Runs the 8 × 5,000 case through `pool`, each thread on 5,000 keys of
/// its own or (`reuse`) rewriting 7 of them, so reads of an older write
/// are seen too, not only misses; returns (misses, stale reads).
fn set_then_get(pool: &PooledClient, reuse: bool) -> (usize, usize) {
    let misses = AtomicUsize::new(0);
    let stale = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (misses, stale) = (&misses, &stale);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let key = if reuse {
                        format!("ryw:{t}:{}", i % 7)
                    } else {
                        format!("ryw:{t}:{i}")
                    };
                    let value = format!("{i}");
                    assert!(pool.set(&key, value.as_str()).unwrap());
                    match pool.get::<Value>(&key).unwrap() {
                        None => {
                            misses.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(v) if v == Value::from(value.as_bytes().to_vec()) => {}
                        Some(_) => {
                            stale.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    (misses.into_inner(), stale.into_inner())
}

#[test]
fn pooled_client_reads_its_own_noreply_writes() {
    let server = MemcachedServer::builder().threads(4).start();
    let pool = PooledClient::builder(server.addr_string())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(pool.options().default_noreply, "the default noreply");
    let (misses, stale) = set_then_get(&pool, false);
    assert_eq!(
        (misses, stale),
        (0, 0),
        "misses and stale reads of {} own writes",
        THREADS * ROUNDS
    );
}

#[test]
fn a_small_pool_reads_its_own_noreply_writes() {
    // Fewer connections than threads: connections change hands all the time.
    let server = MemcachedServer::builder().threads(4).start();
    let pool = PooledClient::builder(server.addr_string())
        .timeout(Duration::from_secs(10))
        .max_pool_size(3)
        .build()
        .unwrap();
    assert!(pool.options().default_noreply, "the default noreply");
    assert_eq!(set_then_get(&pool, true), (0, 0), "misses and stale reads");
}
