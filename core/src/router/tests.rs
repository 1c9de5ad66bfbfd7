//! Router tests: routing, membership, and pymemcache's failure timeline.

use super::*;
use alloc::format;
use alloc::vec;
use core::time::Duration;

const N11211: &str = "127.0.0.1:11211";
const N11212: &str = "127.0.0.1:11212";
const N11213: &str = "127.0.0.1:11213";
const THREE: [&str; 3] = [N11211, N11212, N11213];

fn ms(n: u64) -> Millis {
    Millis(n)
}

fn config(retry_attempts: u32, retry_ms: u64, dead_ms: u64) -> HealthConfig {
    HealthConfig {
        retry_attempts,
        retry_timeout: Duration::from_millis(retry_ms),
        dead_timeout: Duration::from_millis(dead_ms),
    }
}

fn name_of(router: &mut Router, key: &[u8], now: Millis) -> Option<String> {
    match router.node_for(key, now) {
        Route::Node(id) => router.node_name(id).map(String::from),
        _ => None,
    }
}

#[test]
fn routes_like_pymemcache_hash_client() {
    let mut router = Router::new(
        THREE,
        Distribution::default(),
        HealthConfig::default(),
        ms(0),
    );
    let ring = {
        let mut r = Rendezvous::new();
        for n in THREE {
            r.add_node(n);
        }
        r
    };
    for i in 0..200 {
        let key = format!("key{i}");
        let got = name_of(&mut router, key.as_bytes(), ms(0));
        assert_eq!(got.as_deref(), ring.get_node(key.as_bytes()), "{key}");
    }
    assert_eq!(name_of(&mut router, b"bar", ms(0)).as_deref(), Some(N11211));
    assert_eq!(
        name_of(&mut router, "my☃".as_bytes(), ms(0)).as_deref(),
        Some(N11213)
    );
}

#[test]
fn other_distributions_route_as_their_rings() {
    fn constant(_: &[u8]) -> u32 {
        7
    }
    let mut bytes = Router::new(
        THREE,
        Distribution::RendezvousBytesRepr,
        HealthConfig::default(),
        ms(0),
    );
    assert_eq!(name_of(&mut bytes, b"key0", ms(0)).as_deref(), Some(N11212));
    assert_eq!(name_of(&mut bytes, b"key3", ms(0)).as_deref(), Some(N11211));
    let mut custom = Router::new(
        ["c", "b", "a"],
        Distribution::RendezvousWith(constant),
        HealthConfig::default(),
        ms(0),
    );
    assert_eq!(name_of(&mut custom, b"k", ms(0)).as_deref(), Some("c"));

    // nutcracker-verified (see ketama/tests.rs): key0..key4 with md5.
    let servers = ["127.0.0.1:21201", "127.0.0.1:21202", "127.0.0.2"];
    let mut md5 = Router::new(
        servers,
        Distribution::KetamaMd5,
        HealthConfig::default(),
        ms(0),
    );
    let mut fnv = Router::new(
        servers,
        Distribution::KetamaFnv1a64,
        HealthConfig::default(),
        ms(0),
    );
    for (i, (m, f)) in [(0, 2), (0, 2), (1, 2), (1, 2), (1, 2)].iter().enumerate() {
        let key = format!("key{i}");
        assert_eq!(
            md5.node_for(key.as_bytes(), ms(0)),
            Route::Node(NodeId(*m)),
            "{key}"
        );
        assert_eq!(
            fnv.node_for(key.as_bytes(), ms(0)),
            Route::Node(NodeId(*f)),
            "{key}"
        );
    }
}

#[test]
fn weights_reach_ketama() {
    let mut router = Router::new(
        None::<&str>,
        Distribution::KetamaMd5,
        HealthConfig::default(),
        ms(0),
    );
    assert_eq!(router.add_weighted_node("127.0.0.1:21201", 1), NodeId(0));
    assert_eq!(router.add_weighted_node("127.0.0.1:21202", 2), NodeId(1));
    assert_eq!(router.add_weighted_node("127.0.0.2", 5), NodeId(2));
    // nutcracker-verified, weights 1/2/5: key0..key9.
    let want = [2, 2, 1, 1, 2, 2, 2, 2, 0, 0];
    for (i, w) in want.iter().enumerate() {
        let key = format!("key{i}");
        assert_eq!(
            router.node_for(key.as_bytes(), ms(0)),
            Route::Node(NodeId(*w)),
            "{key}"
        );
    }
}

#[test]
fn empty_router_has_no_nodes() {
    let mut router = Router::new(
        None::<&str>,
        Distribution::default(),
        HealthConfig::default(),
        ms(0),
    );
    assert_eq!(router.node_for(b"k", ms(0)), Route::NoNodes);
    let mut ketama = Router::new(
        None::<&str>,
        Distribution::KetamaMd5,
        HealthConfig::default(),
        ms(0),
    );
    assert_eq!(ketama.node_for(b"k", ms(0)), Route::NoNodes);
    assert_eq!(router.live_count(), 0);
    assert_eq!(router.nodes().count(), 0);
}

#[test]
fn ids_are_stable_across_remove_and_add() {
    let mut router = Router::new(
        [N11211, N11212, N11211],
        Distribution::default(),
        HealthConfig::default(),
        ms(0),
    );
    assert_eq!(
        router.nodes().collect::<Vec<_>>(),
        [(NodeId(0), N11211), (NodeId(1), N11212)]
    );
    assert_eq!(router.add_node(N11213), NodeId(2));
    assert_eq!(router.add_node(N11213), NodeId(2));
    assert!(router.remove_node(NodeId(1)));
    assert!(!router.remove_node(NodeId(1)));
    assert!(!router.remove_node(NodeId(9)));
    assert_eq!(router.node_name(NodeId(1)), None);
    assert_eq!(router.node_id(N11212), None);
    assert_eq!(router.live_count(), 2);
    for i in 0..100 {
        let key = format!("key{i}");
        assert_ne!(
            router.node_for(key.as_bytes(), ms(0)),
            Route::Node(NodeId(1))
        );
    }
    assert_eq!(router.add_node(N11212), NodeId(1));
    assert_eq!(router.node_id(N11212), Some(NodeId(1)));
    assert_eq!(name_of(&mut router, b"baz", ms(0)).as_deref(), Some(N11212));
}

#[test]
fn reports_for_unknown_nodes_are_ignored() {
    let mut router = Router::new(THREE, Distribution::default(), config(0, 10, 100), ms(0));
    router.report_failure(NodeId(42), ms(1));
    router.report_success(NodeId(42));
    assert!(router.remove_node(NodeId(0)));
    router.report_failure(NodeId(0), ms(1));
    assert_eq!(router.node_state(NodeId(0)), NodeState::Healthy);
    assert_eq!(router.live_count(), 2);
}

/// pymemcache-spec §11.6, "Observed timeline": retry_attempts 2,
/// retry_timeout 0.2 s, dead_timeout 0.5 s; a set and a get every 0.12 s for
/// a key whose node refuses connections. memcrab routes the key elsewhere
/// where pymemcache makes one more call to the dead node.
#[test]
fn pymemcache_observed_timeline() {
    let mut router = Router::new(THREE, Distribution::default(), config(2, 200, 500), ms(0));
    let down = NodeId(2);
    assert_eq!(router.node_for(b"foo", ms(0)), Route::Node(down));
    let elsewhere = {
        let mut r = Rendezvous::new();
        r.add_node(N11211);
        r.add_node(N11212);
        router.node_id(r.get_node(b"foo").unwrap_or_default())
    };
    let elsewhere = elsewhere.map(Route::Node);

    // Each step: the set, then the get, at the same time.
    let mut log = vec![];
    for step in 0..=12u64 {
        let now = ms(step * 120);
        for _ in 0..2 {
            let route = router.node_for(b"foo", now);
            if route == Route::Node(down) {
                router.report_failure(down, now);
            }
            log.push((now.0, route));
        }
    }
    let at = |t: u64| -> Vec<Route> {
        log.iter()
            .filter(|(n, _)| *n == t)
            .map(|(_, r)| *r)
            .collect()
    };
    // t=0: the set fails (attempts 0); the get waits.
    assert_eq!(at(0), [Route::Node(down), Route::Wait(down)]);
    assert_eq!(at(120), [Route::Wait(down), Route::Wait(down)]);
    // t=0.24: the retry fails (attempts 1).
    assert_eq!(at(240), [Route::Node(down), Route::Wait(down)]);
    assert_eq!(at(360), [Route::Wait(down), Route::Wait(down)]);
    // t=0.48: the retry fails (attempts 2); the get declares the node dead.
    let r480 = at(480);
    assert_eq!(r480[0], Route::Node(down));
    assert_eq!(Some(r480[1]), elsewhere);
    for t in [600, 720, 840, 960, 1080] {
        assert_eq!(
            at(t).iter().map(|r| Some(*r)).collect::<Vec<_>>(),
            [elsewhere, elsewhere],
            "t={t}"
        );
    }
    // t=1.2: checked at 0.6 (too early), now again: back on the ring, and
    // it fails again with a clean record (pymemcache: attempts 1).
    assert_eq!(at(1200), [Route::Node(down), Route::Wait(down)]);
    assert_eq!(at(1320), [Route::Wait(down), Route::Wait(down)]);
    assert_eq!(at(1440), [Route::Node(down), Route::Wait(down)]);
    assert_eq!(
        router.node_state(down),
        NodeState::Failed {
            attempts: 1,
            since: ms(1440)
        }
    );
}

#[test]
fn zero_retries_drop_a_node_at_once_and_bring_it_back() {
    let mut router = Router::new(THREE, Distribution::default(), config(0, 10, 100), ms(0));
    let foo = router.node_for(b"foo", ms(0));
    assert_eq!(foo, Route::Node(NodeId(2)));
    router.report_failure(NodeId(2), ms(0));
    assert!(!router.is_live(NodeId(2)));
    assert_eq!(router.live_count(), 2);
    assert_eq!(router.nodes().count(), 3);
    assert_ne!(router.node_for(b"foo", ms(1)), foo);
    assert_ne!(router.node_for(b"foo", ms(100)), foo);
    assert_eq!(router.node_for(b"foo", ms(101)), foo);
    assert!(router.is_live(NodeId(2)));
}

#[test]
fn all_nodes_dead_means_no_nodes_until_they_return() {
    let mut router = Router::new(THREE, Distribution::KetamaMd5, config(0, 10, 100), ms(0));
    for id in 0..3 {
        router.report_failure(NodeId(id), ms(5));
    }
    assert_eq!(router.node_for(b"k", ms(6)), Route::NoNodes);
    // Checked at 105 (100 ms after creation), when they were not due yet;
    // the next check comes more than 100 ms later.
    assert_eq!(router.node_for(b"k", ms(105)), Route::NoNodes);
    assert_eq!(router.node_for(b"k", ms(205)), Route::NoNodes);
    assert!(matches!(router.node_for(b"k", ms(206)), Route::Node(_)));
    assert_eq!(router.live_count(), 3);
}

#[test]
fn a_waiting_node_does_not_hold_up_other_keys() {
    let mut router = Router::new(
        THREE,
        Distribution::default(),
        HealthConfig::default(),
        ms(0),
    );
    router.report_failure(NodeId(2), ms(0)); // foo's node
    assert_eq!(router.node_for(b"foo", ms(1)), Route::Wait(NodeId(2)));
    assert_eq!(router.node_for(b"bar", ms(1)), Route::Node(NodeId(0)));
    assert_eq!(router.node_for(b"baz", ms(1)), Route::Node(NodeId(1)));
    router.report_success(NodeId(2));
    assert_eq!(router.node_for(b"foo", ms(2)), Route::Node(NodeId(2)));
}

#[test]
fn retries_used_up_reroute_with_ketama() {
    let mut router = Router::new(
        ["a", "b", "c"],
        Distribution::KetamaMd5,
        config(1, 0, 60_000),
        ms(0),
    );
    let Route::Node(first) = router.node_for(b"user:1", ms(0)) else {
        panic!("three live nodes");
    };
    router.report_failure(first, ms(0));
    assert_eq!(router.node_for(b"user:1", ms(1)), Route::Node(first)); // the one retry
    router.report_failure(first, ms(1));
    let rerouted = router.node_for(b"user:1", ms(2));
    assert_ne!(rerouted, Route::Node(first));
    assert!(router.health_config().retry_attempts == 1 && !router.is_live(first));
    let live: Vec<(&str, u32)> = router
        .nodes()
        .filter(|(id, _)| *id != first)
        .map(|(_, n)| (n, 1))
        .collect();
    let ring = Ketama::new(&live, KeyHash::Md5);
    let want = ring.get_server(b"user:1").and_then(|n| router.node_id(n));
    assert_eq!(Some(rerouted), want.map(Route::Node));
}
