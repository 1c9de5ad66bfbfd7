//! `RetryingClient` over `Client`, `PooledClient` and `HashClient`, against
//! real memcached servers restarted between calls.

mod support;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use memcrab::address::ServerAddr;
use memcrab::blocking::Outcomes;
use memcrab::core::meta::MetaRequest;
use memcrab::core::Request;
use memcrab::{
    Client, ClientOptions, Error, ErrorKind, HashClient, Memcache, PoolOptions, PooledClient,
    Result, RetryingClient,
};
use support::faults::{Fault, FaultProxy};
use support::MemcachedServer;

/// A client that counts the batches it is asked to run.
#[derive(Debug)]
struct Counting<C> {
    inner: C,
    calls: AtomicUsize,
}

impl<C> Counting<C> {
    fn new(inner: C) -> Self {
        Counting {
            inner,
            calls: AtomicUsize::new(0),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl<C: Memcache> Memcache for Counting<C> {
    fn command_options(&self) -> memcrab::CommandOptions<'_> {
        self.inner.command_options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.execute(requests)
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.execute_meta(requests)
    }
}

/// A client that waits for every reply (so a dead connection is noticed).
fn client(addr: &str) -> Client {
    Client::builder(addr)
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
        .build()
        .unwrap()
}

/// A port nothing listens on: connections are refused.
fn closed_port_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr.to_string()
}

fn is_dead_connection(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::UnexpectedClose | ErrorKind::Io)
}

#[test]
fn a_restart_fails_one_call_without_retrying() {
    let mut server = MemcachedServer::start();
    let c = client(&server.addr_string());
    assert!(c.set("k", "v").unwrap());
    server.restart();
    let err = c.get::<memcrab::Value>("k").unwrap_err();
    assert!(is_dead_connection(&err), "{:?}: {err}", err.kind());
    // The next call reconnects (the restarted server is empty).
    assert_eq!(c.get::<memcrab::Value>("k").unwrap(), None);
}

#[test]
fn retry_for_connection_errors_survives_a_restart() {
    let mut server = MemcachedServer::start();
    let r = RetryingClient::builder(Counting::new(client(&server.addr_string())))
        .attempts(2)
        .retry_for([ErrorKind::UnexpectedClose, ErrorKind::Io])
        .build()
        .unwrap();
    assert!(r.set("k", "v").unwrap());
    assert_eq!(r.inner().calls(), 1);

    // A read is retried on a new connection (the restarted server is empty).
    server.restart();
    assert_eq!(
        r.get::<memcrab::Value>("k").unwrap(),
        None,
        "retried on a new connection"
    );
    assert_eq!(r.inner().calls(), 3, "one failed try, one retry");
    server.raw_set(b"k3", b"v3", 0);
    assert_eq!(
        r.get::<memcrab::Value>("k3").unwrap().unwrap().as_bytes(),
        Some(&b"v3"[..])
    );
    assert_eq!(r.inner().calls(), 4, "no retry after success");

    // A write that may have reached the server is never sent twice.
    server.restart();
    let err = r.set("k2", "v2").unwrap_err();
    assert!(is_dead_connection(&err), "{err}");
    assert_eq!(r.inner().calls(), 5, "the write was not retried");
    assert!(r.set("k2", "v2").unwrap(), "the next call reconnects");
    assert_eq!(server.raw_get(b"k2"), Some(b"v2".to_vec()));
}

/// A batch cut off after the server applied it: each `incr` counts once,
/// and only the read in the batch is sent again.
#[test]
fn a_reset_mid_batch_leaves_an_incr_counter_exact() {
    let server = MemcachedServer::start();
    let proxy = FaultProxy::start(server.socket_addr());
    let r = RetryingClient::builder(Counting::new(client(&proxy.addr_string())))
        .attempts(3)
        .build()
        .unwrap();
    server.raw_set(b"n", b"10", 0);
    server.raw_set(b"g", b"read me", 0);
    // Every request reaches the server; the replies never come back.
    proxy.set(Fault::ResetAfter(0));
    let incr = Request::Incr {
        key: b"n",
        delta: 1,
        noreply: false,
    };
    let get = Request::Get {
        command: memcrab::core::GetCommand::Get,
        keys: &[b"g"],
    };
    let out = {
        // The reset comes after the server read the whole batch.
        let out = r.execute(&[incr, get, incr, incr]).unwrap();
        proxy.clear();
        out
    };
    for i in [0, 2, 3] {
        let e = out[i].as_ref().unwrap().as_ref().unwrap_err();
        assert!(is_dead_connection(e), "incr {i}: {e}");
    }
    assert_eq!(server.raw_get(b"n"), Some(b"13".to_vec()), "each incr once");
    let calls = r.inner().calls();
    assert!(calls >= 2, "the get was sent again ({calls} calls)");
    // A later retry of the read alone succeeds once the link heals.
    assert_eq!(
        r.get::<memcrab::Value>("g").unwrap().unwrap().as_bytes(),
        Some(&b"read me"[..])
    );
    assert_eq!(server.raw_get(b"n"), Some(b"13".to_vec()));
}

/// `SERVER_ERROR` is the server's answer, not a fault in transit: it is
/// not retried unless asked for by kind.
#[test]
fn server_errors_are_not_retried_by_default() {
    let server = MemcachedServer::builder()
        .arg("-I")
        .arg("64k")
        .arg("-o")
        .arg("slab_chunk_max=32768")
        .start();
    let r = RetryingClient::builder(Counting::new(client(&server.addr_string())))
        .attempts(3)
        .build()
        .unwrap();
    let big = vec![b'x'; 100_000];
    let err = r.set("big", big.as_slice()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert_eq!(r.inner().calls(), 1);
    let r = RetryingClient::builder(Counting::new(client(&server.addr_string())))
        .attempts(3)
        .retry_for([ErrorKind::Server])
        .build()
        .unwrap();
    assert_eq!(
        r.set("big", big.as_slice()).unwrap_err().kind(),
        ErrorKind::Server
    );
    assert_eq!(r.inner().calls(), 3, "retried when asked");
}

#[test]
fn do_not_retry_for_stops_retrying() {
    let mut server = MemcachedServer::start();
    let r = RetryingClient::builder(Counting::new(client(&server.addr_string())))
        .attempts(3)
        .do_not_retry_for([ErrorKind::UnexpectedClose, ErrorKind::Io])
        .build()
        .unwrap();
    assert!(r.set("k", "v").unwrap());
    server.restart();
    let err = r.get::<memcrab::Value>("k").unwrap_err();
    assert!(is_dead_connection(&err), "{err}");
    assert_eq!(r.inner().calls(), 2, "the failed call was not retried");
}

#[test]
fn retry_for_other_kinds_does_not_retry() {
    let r = RetryingClient::builder(Counting::new(client(&closed_port_addr())))
        .attempts(4)
        .retry_for([ErrorKind::Timeout])
        .build()
        .unwrap();
    let err = r.get::<memcrab::Value>("k").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(r.inner().calls(), 1);
}

#[test]
fn every_attempt_is_made_retry_delay_apart() {
    let addr = closed_port_addr();
    // Defaults: 2 attempts, no delay, every kind retried.
    let r = RetryingClient::new(Counting::new(client(&addr)));
    assert_eq!(
        r.get::<memcrab::Value>("k").unwrap_err().kind(),
        ErrorKind::Io
    );
    assert_eq!(r.inner().calls(), 2);

    let delay = Duration::from_millis(100);
    let r = RetryingClient::builder(Counting::new(client(&addr)))
        .attempts(3)
        .retry_delay(delay)
        .build()
        .unwrap();
    let t = Instant::now();
    let err = r.set("k", "v").unwrap_err();
    let took = t.elapsed();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(r.inner().calls(), 3);
    assert!(took >= 2 * delay, "two pauses of {delay:?}, took {took:?}");
    assert!(took < 3 * delay + Duration::from_millis(400), "{took:?}");
    eprintln!("3 attempts, retry_delay 100 ms: {} ms", took.as_millis());
}

#[test]
fn bad_input_is_never_retried() {
    let r = RetryingClient::builder(Counting::new(client(&closed_port_addr())))
        .attempts(5)
        .retry_for([ErrorKind::IllegalInput, ErrorKind::Io])
        .build()
        .unwrap();
    for bad in ["bad key", "", "nul\0key"] {
        let before = r.inner().calls();
        let err = r.get::<memcrab::Value>(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IllegalInput, "{bad:?}: {err}");
        assert_eq!(r.inner().calls(), before + 1, "{bad:?} was retried");
    }
    let long = "k".repeat(251);
    let before = r.inner().calls();
    assert_eq!(
        r.set(&long, "v").unwrap_err().kind(),
        ErrorKind::IllegalInput
    );
    assert_eq!(r.inner().calls(), before + 1);
}

#[test]
fn builder_validation() {
    let c = || Client::new("127.0.0.1:11211").unwrap();
    let err = RetryingClient::builder(c())
        .attempts(0)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("attempts"), "{err}");

    let err = RetryingClient::builder(c())
        .retry_for([ErrorKind::Io, ErrorKind::Timeout])
        .do_not_retry_for([ErrorKind::Timeout])
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("Timeout"), "{err}");

    assert!(RetryingClient::builder(c()).attempts(1).build().is_ok());
    assert!(RetryingClient::builder(c())
        .retry_for([ErrorKind::Io])
        .do_not_retry_for([ErrorKind::Timeout])
        .build()
        .is_ok());
}

#[test]
fn retrying_over_a_pool() {
    let mut server = MemcachedServer::start();
    let addr: ServerAddr = server.addr_string().parse().unwrap();
    let opts = ClientOptions {
        timeout: Some(Duration::from_secs(5)),
        default_noreply: false,
        ..ClientOptions::default()
    };
    let pool = PooledClient::with_options(
        addr,
        opts,
        PoolOptions {
            max_pool_size: 2,
            ..PoolOptions::default()
        },
    )
    .unwrap();
    let r = RetryingClient::builder(Counting::new(pool))
        .attempts(2)
        .retry_for([ErrorKind::UnexpectedClose, ErrorKind::Io])
        .build()
        .unwrap();
    assert!(r.set("k", "v").unwrap());
    assert_eq!(r.inner().inner.idle_connections(), 1);
    server.restart();
    server.raw_set(b"k", b"v2", 0);
    assert_eq!(
        r.get::<memcrab::Value>("k").unwrap().unwrap().as_bytes(),
        Some(&b"v2"[..])
    );
    assert_eq!(r.inner().calls(), 3);
    assert_eq!(
        r.inner().inner.idle_connections(),
        1,
        "the dead one was dropped"
    );
}

#[test]
fn retrying_over_a_hash_client() {
    let mut servers = MemcachedServer::start_many(2);
    let hash = HashClient::builder(servers.iter().map(|s| s.addr_string()))
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
        .retry_timeout(Duration::ZERO)
        .build()
        .unwrap();
    let key = (0..)
        .map(|i| format!("rh:{i}"))
        .find(|k| hash.server_for(k).unwrap().port() == Some(servers[0].port()))
        .unwrap();
    let r = RetryingClient::builder(Counting::new(hash))
        .attempts(2)
        .retry_delay(Duration::from_millis(20))
        .retry_for([ErrorKind::UnexpectedClose, ErrorKind::Io])
        .build()
        .unwrap();
    assert!(r.set(&key, "v").unwrap());
    assert!(r.set("other", "o").unwrap());
    servers[0].restart();
    servers[0].raw_set(key.as_bytes(), b"v2", 0);
    // The first try meets the dead connection; the retry, after
    // retry_timeout, reaches the restarted server.
    assert_eq!(
        r.get::<memcrab::Value>(&key).unwrap().unwrap().as_bytes(),
        Some(&b"v2"[..])
    );
    assert_eq!(r.inner().calls(), 4);
}
