//! A transport on virtual time: the hash client's health windows (retry,
//! dead node, revival) go by with a `ManualClock`, no sleeping.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use memcrab::{ErrorKind, HashClient, ManualClock, Memcache, ServerAddr};
use support::MemcachedServer;

#[test]
fn health_windows_pass_on_a_manual_clock() {
    let live = MemcachedServer::start();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let clock = ManualClock::new();
    let hash = HashClient::builder([live.addr_string(), closed.clone()])
        .clock(clock.clone())
        .retry_attempts(1)
        .retry_timeout(Duration::from_secs(1))
        .dead_timeout(Duration::from_secs(60))
        .default_noreply(false)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let dead: ServerAddr = closed.parse().unwrap();
    let key = (0..)
        .map(|i| format!("vt:{i}"))
        .find(|k| hash.server_for(k) == Some(dead.clone()))
        .unwrap();
    let started = Instant::now();
    // Refused: an I/O error naming the server.
    assert_eq!(
        hash.get::<memcrab::Value>(&key).unwrap_err().kind(),
        ErrorKind::Io
    );
    // Within retry_timeout: a miss, without trying.
    assert_eq!(hash.get::<memcrab::Value>(&key).unwrap(), None);
    clock.advance(Duration::from_millis(1_500));
    // The retry fails too: retry_attempts used up, the node is dead.
    assert_eq!(
        hash.get::<memcrab::Value>(&key).unwrap_err().kind(),
        ErrorKind::Io
    );
    clock.advance(Duration::from_millis(1_500));
    let _ = hash.get::<memcrab::Value>(&key);
    assert_eq!(
        hash.server_for(&key).and_then(|a| a.port()),
        Some(live.port()),
        "its keys moved to the live node"
    );
    assert!(hash.set(&key, "moved").unwrap());
    assert_eq!(
        hash.get::<memcrab::Value>(&key)
            .unwrap()
            .unwrap()
            .as_bytes(),
        Some(&b"moved"[..])
    );
    // After dead_timeout the node is back on the ring.
    clock.advance(Duration::from_secs(61));
    let _ = hash.get::<memcrab::Value>(&key);
    assert_eq!(hash.server_for(&key), Some(dead));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "64 virtual seconds took {:?}",
        started.elapsed()
    );
}
