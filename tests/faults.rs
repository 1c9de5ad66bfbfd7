//! Fault injection: a proxy between the clients and a real memcached delays,
//! splits, cuts, resets, swallows and drips the traffic (see
//! `support/faults.rs`). For every fault and every client (`Client`,
//! `PooledClient`, `HashClient`):
//!
//! - the call returns a clear error (of the right kind, naming the server)
//!   within its timeout, and nothing panics;
//! - the broken connection is discarded (the proxy sees it closed, and the
//!   next call opens a new one);
//! - the next call works once the fault is off;
//! - no request ever receives another request's reply.
//!
//! The pool drops the broken connection; the hash client marks the node
//! failed (answering its keys as misses, without I/O, for `retry_timeout`)
//! and tries it again after that.

mod support;

use std::time::{Duration, Instant};

use memcrab::{
    Client, ClientOptions, Error, ErrorKind, HashClient, Memcache, PoolOptions, PooledClient,
    Protocol, ServerAddr, StoreOptions,
};
use support::faults::{Fault, FaultProxy};
use support::MemcachedServer;

/// Every call's reply timeout.
const TIMEOUT: Duration = Duration::from_millis(400);
/// Slack for a loaded two-core CI machine: a call must fail within
/// `TIMEOUT + MARGIN`.
const MARGIN: Duration = Duration::from_millis(800);
/// The hash client's `retry_timeout`.
const RETRY: Duration = Duration::from_millis(300);
/// How long the proxy may take to notice that a client closed.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A value with protocol lookalikes inside: a parser that looks for `END`
/// or `VALUE` instead of counting bytes would go wrong on it.
fn value(tag: &str) -> Vec<u8> {
    let mut v = format!("{tag}:\r\nEND\r\nVALUE {tag} 0 2\r\nxx\r\nEN\r\nVA 2\r\n").into_bytes();
    v.resize(100, b'.');
    v
}

fn options(protocol: Protocol) -> ClientOptions {
    ClientOptions {
        connect_timeout: Some(Duration::from_secs(2)),
        timeout: Some(TIMEOUT),
        default_noreply: false,
        protocol,
        ..ClientOptions::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Client,
    Pool,
    Hash,
}

// One per test: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Under {
    Client(Client),
    Pool(PooledClient),
    Hash(HashClient),
}

fn get_bytes(c: &impl Memcache, key: &str) -> Result<Option<Vec<u8>>, Error> {
    c.get::<Vec<u8>>(key)
}

/// A client of some kind whose (first) node sits behind a fault proxy.
struct Rig {
    under: Under,
    /// The proxy in front of the faulty node.
    proxy: FaultProxy,
    /// Hash client only: the proxy in front of the healthy node.
    other: Option<FaultProxy>,
    /// Two keys on the faulty node.
    k1: String,
    k2: String,
    /// Hash client only: a key on the healthy node.
    kb: Option<String>,
    _servers: Vec<MemcachedServer>,
}

impl Rig {
    fn new(kind: Kind, protocol: Protocol) -> Rig {
        let server = MemcachedServer::start();
        let proxy = FaultProxy::start(server.socket_addr());
        let mut servers = vec![server];
        let opts = options(protocol);
        let addr: ServerAddr = proxy.addr_string().parse().unwrap();
        let (under, other, k1, k2, kb) = match kind {
            Kind::Client => (
                Under::Client(Client::with_options(addr, opts)),
                None,
                "k1".to_owned(),
                "k2".to_owned(),
                None,
            ),
            Kind::Pool => (
                Under::Pool(
                    PooledClient::with_options(
                        addr,
                        opts,
                        PoolOptions {
                            max_pool_size: 2,
                            ..PoolOptions::default()
                        },
                    )
                    .unwrap(),
                ),
                None,
                "k1".to_owned(),
                "k2".to_owned(),
                None,
            ),
            Kind::Hash => {
                let healthy = MemcachedServer::start();
                let other = FaultProxy::start(healthy.socket_addr());
                servers.push(healthy);
                let hash = HashClient::builder([proxy.addr_string(), other.addr_string()])
                    .options(opts)
                    .retry_timeout(RETRY)
                    .retry_attempts(2)
                    .dead_timeout(Duration::from_secs(60))
                    .build()
                    .unwrap();
                let on = |node: &FaultProxy, prefix: &str| {
                    let want: ServerAddr = node.addr_string().parse().unwrap();
                    (0..1000)
                        .map(|i| format!("{prefix}-{i}"))
                        .find(|k| hash.server_for(k) == Some(want.clone()))
                        .expect("a key on the node")
                };
                let (k1, k2, kb) = (on(&proxy, "k1"), on(&proxy, "k2"), on(&other, "kb"));
                (Under::Hash(hash), Some(other), k1, k2, Some(kb))
            }
        };
        let rig = Rig {
            under,
            proxy,
            other,
            k1,
            k2,
            kb,
            _servers: servers,
        };
        rig.set(&rig.k1, &value("v1")).unwrap();
        rig.set(&rig.k2, &value("v2")).unwrap();
        if let Some(kb) = &rig.kb {
            rig.set(kb, &value("vb")).unwrap();
        }
        assert_eq!(rig.proxy.accepted(), 1, "one connection for the set calls");
        rig
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        match &self.under {
            Under::Client(c) => get_bytes(c, key),
            Under::Pool(c) => get_bytes(c, key),
            Under::Hash(c) => get_bytes(c, key),
        }
    }

    fn set(&self, key: &str, v: &[u8]) -> Result<bool, Error> {
        match &self.under {
            Under::Client(c) => c.set(key, v),
            Under::Pool(c) => c.set(key, v),
            Under::Hash(c) => c.set(key, v),
        }
    }

    fn set_many(&self, items: &[(&str, &[u8])]) -> Result<Vec<String>, Error> {
        let items: Vec<(String, Vec<u8>)> = items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
            .collect();
        match &self.under {
            Under::Client(c) => c.set_many(&items, StoreOptions::new()),
            Under::Pool(c) => c.set_many(&items, StoreOptions::new()),
            Under::Hash(c) => c.set_many(&items, StoreOptions::new()),
        }
    }

    /// Asserts that the client holds no connection to the faulty node.
    fn assert_discarded(&self) {
        match &self.under {
            Under::Client(c) => assert!(!c.is_connected(), "the client kept a broken connection"),
            Under::Pool(p) => {
                assert_eq!(p.idle_connections(), 0, "the pool kept a broken connection");
                assert_eq!(p.busy_connections(), 0, "the pool leaked a busy slot");
            }
            Under::Hash(_) => {}
        }
        assert!(
            self.proxy.wait_open_connections(0, CLOSE_WAIT),
            "the broken connection was not closed ({} still open)",
            self.proxy.open_connections()
        );
    }
}

/// Asserts `r` is an error of `kind` naming the proxy's server, returned
/// within the timeout.
fn assert_clear_error<T: std::fmt::Debug>(
    r: Result<T, Error>,
    kinds: &[ErrorKind],
    elapsed: Duration,
    proxy: &FaultProxy,
) -> Error {
    let e = r.expect_err("the fault must fail the call");
    assert!(
        kinds.contains(&e.kind()),
        "expected one of {kinds:?}, got {:?}: {e}",
        e.kind()
    );
    assert!(
        e.to_string().contains(&proxy.addr_string()),
        "the message must name the server: {e}"
    );
    assert!(
        elapsed < TIMEOUT + MARGIN,
        "the call took {elapsed:?}, past its {TIMEOUT:?} timeout"
    );
    assert!(e.is_fatal() && e.is_connection_error(), "{e}");
    e
}

/// The whole story of one fault against one kind of client.
fn scenario(kind: Kind, protocol: Protocol, fault: Fault, kinds: &[ErrorKind]) {
    let rig = Rig::new(kind, protocol);
    rig.proxy.set(fault);
    let started = Instant::now();
    let r = rig.get(&rig.k1);
    let elapsed = started.elapsed();
    let e = assert_clear_error(r, kinds, elapsed, &rig.proxy);
    eprintln!("{kind:?} {protocol:?} {fault:?}: {e} (after {elapsed:?})");
    if kind == Kind::Hash && e.kind() != ErrorKind::UnexpectedClose {
        // The node could not be reached (I/O error, timeout): it is marked
        // failed, and within retry_timeout it is not tried: its keys are
        // misses, without I/O. (An unexpected close does not count, as in
        // pymemcache: the next call just reconnects.)
        let (accepted, up) = (rig.proxy.accepted(), rig.proxy.bytes_up());
        rig.proxy.clear();
        assert_eq!(rig.get(&rig.k2).unwrap(), None);
        assert_eq!(rig.proxy.accepted(), accepted);
        assert_eq!(rig.proxy.bytes_up(), up);
        rig.proxy.set(fault);
    }
    rig.assert_discarded();

    if let (Some(other), Some(kb)) = (&rig.other, &rig.kb) {
        // The healthy node is untouched by the other's fault.
        assert_eq!(rig.get(kb).unwrap(), Some(value("vb")));
        assert_eq!(other.accepted(), 1);
    }
    rig.proxy.clear();
    if kind == Kind::Hash {
        // Past retry_timeout (if the node was marked failed at all).
        std::thread::sleep(RETRY + Duration::from_millis(100));
    }

    // The next calls work, on a new connection, each with its own value.
    assert_eq!(rig.get(&rig.k2).unwrap(), Some(value("v2")));
    assert_eq!(
        rig.proxy.accepted(),
        2,
        "the next call opens a new connection"
    );
    assert_eq!(rig.get(&rig.k1).unwrap(), Some(value("v1")));
    assert_eq!(rig.proxy.accepted(), 2, "and keeps it");
}

const TIMEOUTS: &[ErrorKind] = &[ErrorKind::Timeout];
const CLOSED: &[ErrorKind] = &[ErrorKind::UnexpectedClose];
/// An RST is an I/O error ("Connection reset by peer").
const RESET: &[ErrorKind] = &[ErrorKind::Io];
/// A server gone under an open connection: the write of the request or
/// the read of its reply fails first, by a reset (I/O error) or a close.
const GONE: &[ErrorKind] = &[ErrorKind::Io, ErrorKind::UnexpectedClose];

/// A reply delayed past the timeout.
fn delay() -> Fault {
    Fault::Delay(TIMEOUT * 3)
}

/// A reply dripped one byte every 50 ms: each read succeeds well within
/// the timeout, but the whole reply cannot.
fn slow() -> Fault {
    Fault::Slow(Duration::from_millis(50))
}

/// Cut in the middle of the 100-byte value (both protocols' headers are
/// shorter than 30 bytes).
const MID_VALUE: usize = 60;

#[test]
fn delayed_reply_client() {
    scenario(Kind::Client, Protocol::Text, delay(), TIMEOUTS);
}

#[test]
fn delayed_reply_pool() {
    scenario(Kind::Pool, Protocol::Text, delay(), TIMEOUTS);
}

#[test]
fn delayed_reply_hash() {
    scenario(Kind::Hash, Protocol::Text, delay(), TIMEOUTS);
}

#[test]
fn delayed_reply_meta_client() {
    scenario(Kind::Client, Protocol::Meta, delay(), TIMEOUTS);
}

#[test]
fn cut_mid_value_client() {
    scenario(
        Kind::Client,
        Protocol::Text,
        Fault::CutAfter(MID_VALUE),
        CLOSED,
    );
}

#[test]
fn cut_mid_value_pool() {
    scenario(
        Kind::Pool,
        Protocol::Text,
        Fault::CutAfter(MID_VALUE),
        CLOSED,
    );
}

#[test]
fn cut_mid_value_hash() {
    scenario(
        Kind::Hash,
        Protocol::Text,
        Fault::CutAfter(MID_VALUE),
        CLOSED,
    );
}

#[test]
fn cut_mid_value_meta_client() {
    scenario(
        Kind::Client,
        Protocol::Meta,
        Fault::CutAfter(MID_VALUE),
        CLOSED,
    );
}

#[test]
fn reset_client() {
    scenario(Kind::Client, Protocol::Text, Fault::ResetAfter(0), RESET);
}

#[test]
fn reset_mid_value_client() {
    scenario(
        Kind::Client,
        Protocol::Text,
        Fault::ResetAfter(MID_VALUE),
        RESET,
    );
}

#[test]
fn reset_pool() {
    scenario(
        Kind::Pool,
        Protocol::Text,
        Fault::ResetAfter(MID_VALUE),
        RESET,
    );
}

#[test]
fn reset_hash() {
    scenario(
        Kind::Hash,
        Protocol::Text,
        Fault::ResetAfter(MID_VALUE),
        RESET,
    );
}

#[test]
fn never_answered_client() {
    scenario(Kind::Client, Protocol::Text, Fault::Blackhole, TIMEOUTS);
}

#[test]
fn never_answered_pool() {
    scenario(Kind::Pool, Protocol::Text, Fault::Blackhole, TIMEOUTS);
}

#[test]
fn never_answered_hash() {
    scenario(Kind::Hash, Protocol::Text, Fault::Blackhole, TIMEOUTS);
}

#[test]
fn slow_drip_client() {
    scenario(Kind::Client, Protocol::Text, slow(), TIMEOUTS);
}

#[test]
fn slow_drip_pool() {
    scenario(Kind::Pool, Protocol::Text, slow(), TIMEOUTS);
}

#[test]
fn slow_drip_hash() {
    scenario(Kind::Hash, Protocol::Text, slow(), TIMEOUTS);
}

#[test]
fn slow_drip_meta_client() {
    scenario(Kind::Client, Protocol::Meta, slow(), TIMEOUTS);
}

/// One-byte writes are no fault: every reply parses, on the same
/// connection, for every kind of client and command.
fn split_scenario(kind: Kind, protocol: Protocol) {
    let rig = Rig::new(kind, protocol);
    rig.proxy.set(Fault::Split);
    for _ in 0..3 {
        assert_eq!(rig.get(&rig.k1).unwrap(), Some(value("v1")));
        assert_eq!(rig.get(&rig.k2).unwrap(), Some(value("v2")));
        assert_eq!(rig.get("missing").unwrap(), None);
    }
    let keys = [rig.k1.as_str(), "missing", rig.k2.as_str()];
    let got = match &rig.under {
        Under::Client(c) => c.get_many::<memcrab::Value, _>(&keys).unwrap(),
        Under::Pool(c) => c.get_many(&keys).unwrap(),
        Under::Hash(c) => c.get_many(&keys).unwrap(),
    };
    assert_eq!(got.len(), 2);
    assert_eq!(got[rig.k1.as_str()].as_bytes(), Some(&value("v1")[..]));
    assert_eq!(got[rig.k2.as_str()].as_bytes(), Some(&value("v2")[..]));
    assert!(rig.set(&rig.k1, &value("v3")).unwrap());
    assert_eq!(rig.get(&rig.k1).unwrap(), Some(value("v3")));
    if let Under::Client(c) = &rig.under {
        assert_eq!(c.incr("missing", 1).unwrap(), None);
        assert!(!c.version().unwrap().is_empty());
        assert!(c.stats(&[]).unwrap().get("pid").is_some());
    }
    assert_eq!(rig.proxy.accepted(), 1, "no reconnection");
    assert!(rig.proxy.bytes_down() > 0);
}

#[test]
fn split_replies_client() {
    split_scenario(Kind::Client, Protocol::Text);
}

#[test]
fn split_replies_pool() {
    split_scenario(Kind::Pool, Protocol::Text);
}

#[test]
fn split_replies_hash() {
    split_scenario(Kind::Hash, Protocol::Text);
}

#[test]
fn split_replies_meta_client() {
    split_scenario(Kind::Client, Protocol::Meta);
}

/// A reply cut anywhere — in the header, the value, its `\r\n`, the `END`
/// — is an unexpected close, never a short or partial value.
#[test]
fn a_reply_cut_anywhere_is_an_unexpected_close() {
    let rig = Rig::new(Kind::Client, Protocol::Text);
    let header = format!("VALUE {} 0 100\r\n", rig.k1).len();
    let total = header + 100 + 2 + 5;
    let mut connections = 1;
    for cut in [
        0,
        1,
        3,
        header - 1,
        header,
        header + 1,
        header + 99,
        header + 100,
        header + 101,
        header + 102,
        total - 1,
    ] {
        rig.proxy.set(Fault::CutAfter(cut));
        let started = Instant::now();
        let r = rig.get(&rig.k1);
        let e = assert_clear_error(r, CLOSED, started.elapsed(), &rig.proxy);
        assert!(
            e.report().to_string().contains("closed the connection"),
            "cut after {cut}: {e}"
        );
        rig.assert_discarded();
        rig.proxy.clear();
        assert_eq!(rig.get(&rig.k2).unwrap(), Some(value("v2")), "cut {cut}");
        connections += 1;
        assert_eq!(rig.proxy.accepted(), connections);
    }
}

/// The server accepts but never answers, from the very first connection.
#[test]
fn accepted_but_never_answered_from_the_start() {
    let server = MemcachedServer::start();
    let proxy = FaultProxy::start(server.socket_addr());
    proxy.set(Fault::Blackhole);
    let client = Client::builder(proxy.addr_string())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let r = client.get::<memcrab::Value>("k");
        assert_clear_error(r, TIMEOUTS, started.elapsed(), &proxy);
    }
    assert_eq!(proxy.accepted(), 2, "a new connection for each call");
    proxy.clear();
    server.raw_set(b"k", b"v", 0);
    assert_eq!(
        client
            .get::<memcrab::Value>("k")
            .unwrap()
            .unwrap()
            .as_bytes(),
        Some(&b"v"[..])
    );
}

/// A pipelined multi-key get whose reply is late: the late bytes are never
/// read as the reply of a later request.
#[test]
fn a_late_multi_get_reply_never_answers_a_later_request() {
    let rig = Rig::new(Kind::Client, Protocol::Text);
    let Under::Client(c) = &rig.under else {
        unreachable!()
    };
    rig.proxy.set(delay());
    let r = c.get_many::<memcrab::Value, _>(&[rig.k1.as_str(), rig.k2.as_str()]);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
    rig.proxy.clear();
    // The late reply (k1 and k2) is still on its way on the old connection.
    for _ in 0..5 {
        assert_eq!(rig.get(&rig.k2).unwrap(), Some(value("v2")));
        assert_eq!(rig.get("missing").unwrap(), None);
        assert_eq!(rig.get(&rig.k1).unwrap(), Some(value("v1")));
    }
    assert_eq!(rig.proxy.accepted(), 2);
}

/// The hash client gives up on a node that keeps failing: after its
/// retries it leaves the ring and its keys go to the healthy node.
#[test]
fn hash_client_drops_a_node_that_never_answers() {
    let rig = Rig::new(Kind::Hash, Protocol::Text);
    let Under::Hash(hash) = &rig.under else {
        unreachable!()
    };
    let faulty: ServerAddr = rig.proxy.addr_string().parse().unwrap();
    let healthy: ServerAddr = rig.other.as_ref().unwrap().addr_string().parse().unwrap();
    rig.proxy.set(Fault::Blackhole);
    // The first failure and retry_attempts (2) failed retries.
    for attempt in 0..3 {
        assert_eq!(hash.server_for(&rig.k1), Some(faulty.clone()), "{attempt}");
        let started = Instant::now();
        let r = rig.get(&rig.k1);
        assert_clear_error(r, TIMEOUTS, started.elapsed(), &rig.proxy);
        std::thread::sleep(RETRY + Duration::from_millis(100));
    }
    // The first attempt used the connection of the setup; each retry a new one.
    assert_eq!(rig.proxy.accepted(), 3, "one connection per retry");
    // The next call finds the node dead and routes the key elsewhere.
    let started = Instant::now();
    assert_eq!(rig.get(&rig.k1).unwrap(), None, "k1 lives on the dead node");
    assert!(started.elapsed() < TIMEOUT, "no call went to the dead node");
    assert_eq!(hash.server_for(&rig.k1), Some(healthy));
    assert!(rig.set(&rig.k1, b"moved").unwrap());
    assert_eq!(rig.get(&rig.k1).unwrap(), Some(b"moved".to_vec()));
    assert_eq!(rig.proxy.accepted(), 3, "the dead node is left alone");
}

// ---------------------------------------------------------------------------
// Shopify async-memcached's resiliency cases (toxiproxy there, FaultProxy
// here), with memcrab's errors.
// ---------------------------------------------------------------------------

fn three() -> [(&'static str, &'static [u8]); 3] {
    [
        ("key1", b"value1"),
        ("key2", b"value2"),
        ("key3", b"value3"),
    ]
}

/// `test_set_multi_succeeds_with_clean_client`.
#[test]
fn set_many_through_a_clean_proxy_succeeds() {
    let rig = Rig::new(Kind::Client, Protocol::Text);
    assert_eq!(rig.set_many(&three()).unwrap(), Vec::<String>::new());
    for (k, v) in three() {
        assert_eq!(rig.get(k).unwrap(), Some(v.to_vec()));
    }
}

/// `test_set_multi_errors_with_toxic_client_via_with_down`: the server
/// goes away under an open connection.
#[test]
fn set_many_with_the_server_down_fails_then_recovers() {
    for kind in [Kind::Client, Kind::Pool, Kind::Hash] {
        let rig = Rig::new(kind, Protocol::Text);
        rig.proxy.set(Fault::Down);
        // Only keys of the faulty node, so the hash client's call fails too.
        let items = [(rig.k1.as_str(), &b"x"[..]), (rig.k2.as_str(), &b"y"[..])];
        let started = Instant::now();
        let r = rig.set_many(&items);
        let e = assert_clear_error(r, GONE, started.elapsed(), &rig.proxy);
        eprintln!("{kind:?} down: {e}");
        rig.assert_discarded();
        rig.proxy.clear();
        if kind == Kind::Hash {
            std::thread::sleep(RETRY + Duration::from_millis(100));
        }
        assert_eq!(rig.set_many(&items).unwrap(), Vec::<String>::new());
        assert_eq!(rig.get(&rig.k1).unwrap(), Some(b"x".to_vec()));
    }
}

/// `test_set_multi_errors_on_upstream_with_toxic_client_via_limit_data`:
/// the request is cut on its way in; the server stores the complete
/// commands only, and the client reports the failure.
#[test]
fn set_many_cut_on_the_way_in_stores_only_whole_commands() {
    let rig = Rig::new(Kind::Client, Protocol::Text);
    let wire: usize = three()
        .iter()
        .map(|(k, v)| format!("set {k} 0 0 {}\r\n", v.len()).len() + v.len() + 2)
        .sum();
    rig.proxy.set(Fault::CutRequestAfter(wire - 10));
    let started = Instant::now();
    let r = rig.set_many(&three());
    assert_clear_error(r, GONE, started.elapsed(), &rig.proxy);
    rig.assert_discarded();
    let server = &rig._servers[0];
    assert_eq!(server.raw_get(b"key1"), Some(b"value1".to_vec()));
    assert_eq!(server.raw_get(b"key2"), Some(b"value2".to_vec()));
    assert_eq!(server.raw_get(b"key3"), None);
    rig.proxy.clear();
    assert_eq!(rig.get("key2").unwrap(), Some(b"value2".to_vec()));
}

/// `test_set_multi_errors_on_downstream_with_toxic_client_via_limit_data`:
/// the replies are cut after the first `STORED\r\n` and one byte; the
/// server stored everything, the client reports the failure.
#[test]
fn set_many_with_replies_cut_fails_but_the_server_stored_all() {
    let rig = Rig::new(Kind::Client, Protocol::Text);
    rig.proxy.set(Fault::CutAfter("STORED\r\n".len() + 1));
    let started = Instant::now();
    let r = rig.set_many(&three());
    let e = assert_clear_error(r, CLOSED, started.elapsed(), &rig.proxy);
    assert!(
        e.report().to_string().contains("closed the connection"),
        "{e}"
    );
    rig.assert_discarded();
    let server = &rig._servers[0];
    for (k, v) in three() {
        assert_eq!(server.raw_get(k.as_bytes()), Some(v.to_vec()));
    }
    rig.proxy.clear();
    for (k, v) in three() {
        assert_eq!(rig.get(k).unwrap(), Some(v.to_vec()));
    }
}
