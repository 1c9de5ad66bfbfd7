//! The default options time out: a server that accepts and never answers
//! (a silent listener, or a frozen memcached) fails a default-options call
//! with a timeout after about 1 s, where pymemcache's defaults block.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use memcrab::{Client, ClientOptions, ErrorKind, HashClient, Memcache, PoolOptions, PooledClient};
use support::MemcachedServer;

/// A TCP listener that accepts every connection and never writes; the
/// accepted sockets stay open until the listener's thread ends with the
/// test process.
fn silent_listener() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback listener");
    let addr = listener.local_addr().expect("its address").to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    addr
}

/// Runs `call`, asserting it fails with a timeout after 0.9 to 5 s (the
/// upper bound leaves room for a loaded machine; a hang still fails).
fn assert_times_out<T: std::fmt::Debug>(what: &str, call: impl FnOnce() -> memcrab::Result<T>) {
    let started = Instant::now();
    let result = call();
    let took = started.elapsed();
    let err = result.expect_err(what);
    assert_eq!(err.kind(), ErrorKind::Timeout, "{what}: {err}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{what}: timed out after {took:?}, not about 1 s"
    );
}

#[test]
fn defaults_are_one_second_and_none_stays_available() {
    let d = ClientOptions::default();
    assert_eq!(d.connect_timeout, Some(Duration::from_secs(1)));
    assert_eq!(d.timeout, Some(Duration::from_secs(1)));
    assert_eq!(memcrab::blocking::DEFAULT_TIMEOUT, Duration::from_secs(1));
    let blocking = Client::builder("127.0.0.1")
        .timeout(None)
        .connect_timeout(None)
        .build()
        .unwrap();
    assert_eq!(blocking.options().timeout, None);
    assert_eq!(blocking.options().connect_timeout, None);
}

#[test]
fn default_client_times_out_on_a_silent_server() {
    let addr = silent_listener();
    let client = Client::new(&*addr).unwrap();
    assert_times_out("Client get", || client.get::<memcrab::Value>("k"));
    assert_times_out("Client version", || client.version());
}

#[test]
fn default_pool_times_out_on_a_silent_server() {
    let addr = silent_listener();
    let pool = PooledClient::new(&*addr, PoolOptions::default()).unwrap();
    assert_times_out("PooledClient get", || pool.get::<memcrab::Value>("k"));
    assert_times_out("PooledClient incr", || pool.incr("n", 1));
}

#[test]
fn default_hash_client_times_out_on_a_silent_server() {
    let addr = silent_listener();
    let client = HashClient::new([&*addr]).unwrap();
    assert_times_out("HashClient get", || client.get::<memcrab::Value>("k"));
}

#[test]
fn default_client_times_out_on_a_frozen_memcached() {
    let mut server = MemcachedServer::start();
    let client = Client::new(server.addr_string()).unwrap();
    assert_eq!(
        client.get::<memcrab::Value>("k").unwrap(),
        None,
        "connected and answered"
    );
    server.freeze();
    assert_times_out("Client get on a frozen server", || {
        client.get::<memcrab::Value>("k")
    });
    server.thaw();
}
