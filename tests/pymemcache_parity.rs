//! pymemcache's small behaviours, against real memcached: `incr`/`decr`
//! with noreply, `ignore_exc` honoured by `stats` and `cache_memlimit`, and
//! a pool's `close` closing busy connections too.

mod support;

use std::net::TcpListener;
use std::thread::{self, sleep};
use std::time::{Duration, Instant};

use memcrab::{Client, ClientBuilder, ErrorKind, Memcache, PoolOptions, PooledClient};
use support::MemcachedServer;

fn builder(addr: &str) -> ClientBuilder {
    Client::builder(addr)
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
}

/// A loopback address nothing listens on.
fn dead_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    addr
}

#[test]
fn incr_and_decr_with_noreply_return_none_and_still_count() {
    let server = MemcachedServer::start();
    let client = builder(&server.addr_string()).build().unwrap();
    client.set("n", "10").unwrap();
    assert_eq!(client.incr_with("n", 5, true).unwrap(), None);
    assert_eq!(client.decr_with("n", 2, true).unwrap(), None);
    // The replies were not awaited; a call that waits sees both applied.
    assert_eq!(client.incr_with("n", 0, false).unwrap(), Some(13));
    assert_eq!(client.decr_with("n", 3, false).unwrap(), Some(10));
    assert_eq!(server.raw_get(b"n"), Some(b"10".to_vec()));
    // Waiting: a missing key is `None` too, told apart only by waiting.
    assert_eq!(client.incr_with("missing", 1, false).unwrap(), None);
    assert_eq!(client.incr("n", 1).unwrap(), Some(11));
    assert_eq!(client.decr("n", 1).unwrap(), Some(10));
}

#[test]
fn incr_with_noreply_on_a_non_number_does_not_misattribute_its_error() {
    let server = MemcachedServer::start();
    let client = builder(&server.addr_string()).build().unwrap();
    client.set("text", "abc").unwrap();
    // memcached answers CLIENT_ERROR to a noreply incr of a non-number; the
    // error must not become the reply of the next request.
    assert_eq!(client.incr_with("text", 1, true).unwrap(), None);
    assert!(client.set("n", "1").unwrap());
    assert_eq!(client.incr("n", 1).unwrap(), Some(2));
}

#[test]
fn stats_under_ignore_exc_is_empty_on_errors() {
    let server = MemcachedServer::start();
    let ignoring = builder(&server.addr_string())
        .ignore_exc(true)
        .build()
        .unwrap();
    assert!(ignoring.stats(&[]).unwrap().get("pid").is_some());
    // The server's error (an unknown section) and a dead server: empty.
    assert_eq!(ignoring.stats(&["bogus"]).unwrap().len(), 0);
    let dead = builder(&dead_addr()).ignore_exc(true).build().unwrap();
    assert_eq!(dead.stats(&[]).unwrap().len(), 0);
    // Without ignore_exc, both are errors.
    let strict = builder(&server.addr_string()).build().unwrap();
    assert!(strict.stats(&["bogus"]).is_err());
    let dead = builder(&dead_addr()).build().unwrap();
    assert_eq!(dead.stats(&[]).unwrap_err().kind(), ErrorKind::Io);
    // Bad input is never ignored.
    assert_eq!(
        ignoring.stats(&["two words"]).unwrap_err().kind(),
        ErrorKind::IllegalInput
    );
}

#[test]
fn cache_memlimit_under_ignore_exc_is_true_on_errors() {
    let server = MemcachedServer::start();
    let ignoring = builder(&server.addr_string())
        .ignore_exc(true)
        .build()
        .unwrap();
    assert!(ignoring.cache_memlimit(100).unwrap());
    assert_eq!(
        server.raw_stat("limit_maxbytes"),
        Some((100u64 << 20).to_string())
    );
    let dead = builder(&dead_addr()).ignore_exc(true).build().unwrap();
    assert!(dead.cache_memlimit(64).unwrap());
    let dead = builder(&dead_addr()).build().unwrap();
    assert_eq!(dead.cache_memlimit(64).unwrap_err().kind(), ErrorKind::Io);
}

/// Waits up to 10 s for `done`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(5));
    }
}

#[test]
fn pool_close_closes_busy_connections_once_they_are_given_back() {
    let mut server = MemcachedServer::start();
    let opts = builder(&server.addr_string())
        .timeout(Duration::from_secs(20))
        .current_options()
        .clone();
    let addr: memcrab::ServerAddr = server.addr_string().parse().unwrap();
    let pool = PooledClient::with_options(
        addr,
        opts,
        PoolOptions {
            max_pool_size: 4,
            ..PoolOptions::default()
        },
    )
    .unwrap();
    pool.set("k", "v").unwrap();
    assert_eq!(pool.idle_connections(), 1);
    server.freeze();
    thread::scope(|s| {
        let calls: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    pool.get::<memcrab::Value>("k")
                        .unwrap()
                        .map(|v| v.as_bytes().map(<[u8]>::to_vec))
                })
            })
            .collect();
        wait_for("two busy connections", || pool.busy_connections() == 2);
        wait_for("two open connections", || server.open_connections() == 2);
        pool.close();
        // Busy calls are not cut short.
        assert_eq!(pool.busy_connections(), 2);
        server.thaw();
        for call in calls {
            assert_eq!(call.join().unwrap(), Some(Some(b"v".to_vec())));
        }
    });
    // Given back, they were closed rather than pooled.
    assert_eq!((pool.idle_connections(), pool.busy_connections()), (0, 0));
    wait_for("the sockets to close", || server.open_connections() == 0);
    // The pool stays usable.
    assert_eq!(
        pool.get::<memcrab::Value>("k").unwrap().unwrap().as_bytes(),
        Some(&b"v"[..])
    );
    assert_eq!(pool.idle_connections(), 1);
    // Free connections close at once.
    pool.close();
    assert_eq!(pool.idle_connections(), 0);
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_twin_has_incr_with_noreply_and_ignore_exc() {
    use memcrab::AsyncMemcache;
    let server = MemcachedServer::start();
    let c = memcrab::tokio::Client::builder()
        .server(server.addr_string())
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(2))
        .default_noreply(false)
        .ignore_exc(true)
        .build()
        .unwrap();
    assert!(c.set("n", "1").await.unwrap());
    assert_eq!(c.incr_with("n", 4, true).await.unwrap(), None);
    assert_eq!(c.decr_with("n", 1, true).await.unwrap(), None);
    assert_eq!(c.incr_with("n", 0, false).await.unwrap(), Some(4));
    assert_eq!(c.decr_with("n", 4, false).await.unwrap(), Some(0));
    assert_eq!(c.stats(&["bogus"]).await.unwrap().len(), 0);
    assert!(c.cache_memlimit(100).await.unwrap());
}

#[test]
fn the_mock_has_incr_with_noreply_too() {
    let mock = memcrab::mock::MockClient::builder()
        .default_noreply(false)
        .build()
        .unwrap();
    assert!(mock.set("n", "10").unwrap());
    assert_eq!(mock.incr_with("n", 5, true).unwrap(), None);
    assert_eq!(mock.decr_with("n", 1, true).unwrap(), None);
    assert_eq!(mock.incr_with("n", 0, false).unwrap(), Some(14));
    assert_eq!(mock.decr_with("missing", 1, false).unwrap(), None);
}
