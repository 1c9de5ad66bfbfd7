//! MockClient against its own expectations (memcached's answers are
//! checked in tests/model.rs and tests/model_wire.rs).
use std::time::Duration;
use std::time::UNIX_EPOCH;

use memcrab_core::meta::{MetaGet, MetaSet};
use memcrab_core::serde::PickleSerde;

use super::{MockClient, MockClock};
use crate::{ErrorKind, Memcache, MetaCommands, Protocol, StoreOptions, Value};

fn waiting(protocol: Protocol) -> MockClient {
    MockClient::builder()
        .default_noreply(false)
        .protocol(protocol)
        .build()
        .unwrap()
}

#[test]
fn ttls_follow_the_clock_over_both_protocols() {
    for protocol in [Protocol::Text, Protocol::Meta] {
        let cache = waiting(protocol);
        cache
            .set_with(
                "k",
                "v",
                StoreOptions::new().expire(Duration::from_secs(10)),
            )
            .unwrap();
        cache
            .set_with("gone", "v", StoreOptions::new().expire(UNIX_EPOCH))
            .unwrap();
        assert_eq!(cache.get::<Value>("gone").unwrap(), None);
        cache.advance(Duration::from_millis(9_999));
        assert!(cache.get::<Value>("k").unwrap().is_some());
        assert!(cache.touch("k", Duration::from_secs(5)).unwrap());
        cache.advance(Duration::from_secs(5));
        assert_eq!(cache.get::<Value>("k").unwrap(), None, "{protocol:?}");
        // Over 30 days, a TTL is a Unix time.
        cache.set_unix_time(2_000_000_000);
        let at = StoreOptions::new().expire(UNIX_EPOCH + Duration::from_secs(2_000_000_060));
        cache.set_with("abs", "v", at).unwrap();
        cache.advance(Duration::from_secs(59));
        assert!(cache.get::<Value>("abs").unwrap().is_some());
        cache.advance(Duration::from_secs(1));
        assert_eq!(cache.get::<Value>("abs").unwrap(), None);
    }
}

#[test]
fn a_shared_clock_moves_every_mock_and_never_back() {
    let clock = MockClock::new();
    let a = MockClient::builder().clock(clock.clone()).build().unwrap();
    let b = MockClient::builder().clock(clock.clone()).build().unwrap();
    a.set_with("k", "1", StoreOptions::new().expire(Duration::from_secs(1)))
        .unwrap();
    b.set_with("k", "1", StoreOptions::new().expire(Duration::from_secs(1)))
        .unwrap();
    clock.set_time(Duration::from_secs(1));
    clock.set_time(Duration::from_millis(10));
    assert_eq!(clock.elapsed(), Duration::from_secs(1));
    assert_eq!(
        (a.get::<Value>("k").unwrap(), b.get::<Value>("k").unwrap()),
        (None, None)
    );
}

#[test]
fn flush_all_with_a_delay_and_item_counts() {
    let cache = waiting(Protocol::Text);
    cache.set("a", "1").unwrap();
    assert!(cache.flush_all(Duration::from_secs(10)).unwrap());
    cache.advance(Duration::from_secs(8));
    assert_eq!(cache.item_count(), 1);
    cache.advance(Duration::from_secs(2));
    assert_eq!(cache.get::<Value>("a").unwrap(), None);
    cache.set("b", "1").unwrap();
    assert_eq!(cache.item_count(), 1);
}

#[test]
fn cas_incr_and_errors_are_memcached_s() {
    let cache = waiting(Protocol::Text);
    cache.set("n", "18446744073709551615").unwrap();
    assert_eq!(cache.incr("n", 2).unwrap(), Some(1));
    assert_eq!(cache.decr("n", 5).unwrap(), Some(0));
    cache.set("s", "abc").unwrap();
    assert_eq!(cache.incr("s", 1).unwrap_err().kind(), ErrorKind::Client);
    let (_, token) = cache.gets::<Value>("s").unwrap().unwrap();
    let opts = StoreOptions::new();
    assert_eq!(cache.cas("s", "x", token + 1, opts).unwrap(), Some(false));
    assert_eq!(cache.cas("s", "x", token, opts).unwrap(), Some(true));
    assert_eq!(cache.cas("none", "x", token, opts).unwrap(), None);
    // Refused before sending: the client's own key and size rules.
    assert_eq!(
        cache.get::<Value>("a b").unwrap_err().kind(),
        ErrorKind::IllegalInput
    );
    let big = vec![b'x'; 2 << 20];
    assert_eq!(
        cache.set("big", &big[..]).unwrap_err().kind(),
        ErrorKind::IllegalInput
    );
    // The server's own limit counts the key and the item header.
    let near = vec![b'x'; 1024 * 1024];
    assert_eq!(
        cache.set("big", &near[..]).unwrap_err().kind(),
        ErrorKind::Server
    );
}

#[test]
fn a_mock_is_shared_across_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let cache = std::sync::Arc::new(waiting(Protocol::Text));
    send_sync(&cache);
    cache.set("n", "0").unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let c = cache.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    c.incr("n", 1).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    // Calls take turns on the one connection: no increment is lost.
    assert_eq!(cache.incr("n", 0).unwrap(), Some(400));
}

#[test]
fn stats_count_what_happened() {
    let cache = waiting(Protocol::Text);
    cache.set("a", "1").unwrap();
    cache.get::<Value>("a").unwrap();
    cache.get::<Value>("b").unwrap();
    let stats = cache.stats(&[]).unwrap();
    let n = |name: &str| stats.get(name).and_then(|v| v.as_u64());
    assert_eq!(
        (n("curr_items"), n("get_hits"), n("get_misses")),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        cache.stats(&["bogus"]).unwrap_err().kind(),
        ErrorKind::UnknownCommand
    );
    let raw = cache.raw_command("stats settings", b"END\r\n").unwrap();
    assert!(raw.starts_with(b"STAT maxbytes"), "{raw:?}");
}

#[test]
fn quit_closes_and_the_next_call_reconnects() {
    let cache = waiting(Protocol::Meta);
    cache.set("k", "v").unwrap();
    cache.quit().unwrap();
    assert!(cache.get::<Value>("k").unwrap().is_some());
    assert_eq!(cache.version().unwrap(), "1.6.18");
    assert!(cache.verbosity(1).unwrap());
}

#[test]
fn serde_prefix_and_meta_commands_are_the_real_client_s() {
    let cache = MockClient::builder()
        .serde(PickleSerde::default())
        .key_prefix("app:")
        .build()
        .unwrap();
    cache.set("n", 42i64).unwrap();
    assert_eq!(cache.get("n").unwrap(), Some(Value::Int(42)));
    let raw = cache.meta_get(MetaGet::new(b"n").flags().key()).unwrap();
    assert_eq!(raw.key.as_deref(), Some(&b"n"[..]));
    cache
        .meta_set(MetaSet::new(b"bin key\x01", b"v").quiet())
        .unwrap();
    let hit = cache
        .meta_get(MetaGet::new(b"bin key\x01").value().key())
        .unwrap();
    assert_eq!(hit.key.as_deref(), Some(&b"bin key\x01"[..]));
    let won = cache.meta_get(MetaGet::new(b"miss").vivify(30)).unwrap();
    assert!(won.win);
    assert!(MockClient::builder()
        .key_prefix("bad prefix")
        .build()
        .is_err());
}
