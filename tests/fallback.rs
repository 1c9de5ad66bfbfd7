//! `FallbackClient` against real memcached servers: reads go through the
//! caches in order and the first hit wins, per key; writes reach the
//! primary only (pymemcache's `fallback.FallbackClient`); what each server
//! really holds is read back from the server itself.

mod support;

use std::time::Duration;

use memcrab::core::meta::{MetaGet, MetaSet, MetaStatus};
use memcrab::{Client, ErrorKind, FallbackClient, Memcache, MetaCommands, Protocol, StoreOptions};
use memcrab_transport::mock::MockClient;
use support::MemcachedServer;

fn client(server: &MemcachedServer) -> Client {
    Client::builder(server.addr_string())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
        .build()
        .unwrap()
}

fn text(v: Option<memcrab::Value>) -> Option<String> {
    v.map(|v| String::from_utf8(v.as_bytes().unwrap().to_vec()).unwrap())
}

/// A new and an old server, and a fallback client over (new, old).
fn pair() -> (MemcachedServer, MemcachedServer, FallbackClient<Client>) {
    let new = MemcachedServer::start();
    let old = MemcachedServer::start();
    let fallback = FallbackClient::new(vec![client(&new), client(&old)]).unwrap();
    (new, old, fallback)
}

#[test]
fn a_read_tries_the_caches_in_order_and_the_first_hit_wins() {
    let (new, old, cache) = pair();
    let (new_c, old_c) = (client(&new), client(&old));
    assert!(old_c.set("only-old", "old").unwrap());
    assert!(old_c.set("both", "old").unwrap());
    assert!(new_c.set("both", "new").unwrap());
    assert_eq!(text(cache.get("only-old").unwrap()).as_deref(), Some("old"));
    assert_eq!(text(cache.get("both").unwrap()).as_deref(), Some("new"));
    assert_eq!(cache.get::<memcrab::Value>("nowhere").unwrap(), None);
    let (value, cas) = cache.gets::<memcrab::Value>("only-old").unwrap().unwrap();
    assert_eq!(value.as_bytes(), Some(&b"old"[..]));
    // The token is the old server's: a cas with it reaches the new one only.
    assert_eq!(
        cache
            .cas("only-old", "x", cas, StoreOptions::new())
            .unwrap(),
        None
    );
    assert_eq!(old.raw_get(b"only-old"), Some(b"old".to_vec()));
}

#[test]
fn a_multi_key_read_asks_the_next_cache_for_the_missing_keys_only() {
    let (new, old, cache) = pair();
    let (new_c, old_c) = (client(&new), client(&old));
    for (k, v) in [("a", "old-a"), ("b", "old-b"), ("c", "old-c")] {
        assert!(old_c.set(k, v).unwrap());
    }
    assert!(new_c.set("b", "new-b").unwrap());
    assert!(new_c.set("d", "new-d").unwrap());
    let got = cache.get_many(&["a", "b", "c", "d", "e"]).unwrap();
    let mut got: Vec<(&str, String)> = got
        .into_iter()
        .map(|(k, v)| (k, text(Some(v)).unwrap()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("a", "old-a".to_string()),
            ("b", "new-b".to_string()),
            ("c", "old-c".to_string()),
            ("d", "new-d".to_string()),
        ]
    );
    let tokens = cache.gets_many::<memcrab::Value, _>(&["b", "c"]).unwrap();
    assert_eq!(tokens.len(), 2);
    // The old server was asked for the missing keys only: a, c, e, then c.
    let stats = old_c.stats(&[]).unwrap();
    assert_eq!(stats.get("cmd_get").and_then(|v| v.as_u64()), Some(4));
}

#[test]
fn writes_go_to_the_primary_only() {
    let (new, old, cache) = pair();
    let old_c = client(&old);
    assert!(old_c.set("k", "old").unwrap());
    assert!(old_c.set("n", "10").unwrap());
    assert!(cache.set("k", "new").unwrap());
    assert!(cache.add("added", "1").unwrap());
    assert!(!cache.replace("missing", "1").unwrap());
    assert!(cache.append("k", "+").unwrap());
    // incr finds no counter on the primary: the old one is not touched.
    assert_eq!(cache.incr("n", 1).unwrap(), None);
    assert!(!cache.touch("n", Duration::from_secs(100)).unwrap());
    assert_eq!(new.raw_get(b"k"), Some(b"new+".to_vec()));
    assert_eq!(new.raw_get(b"added"), Some(b"1".to_vec()));
    assert_eq!(old.raw_get(b"k"), Some(b"old".to_vec()));
    assert_eq!(old.raw_get(b"n"), Some(b"10".to_vec()));
    assert_eq!(old.raw_get(b"added"), None);
    // A delete reaches the primary only: the old copy reads again
    // (pymemcache's semantics).
    assert!(cache.delete("k").unwrap());
    assert_eq!(new.raw_get(b"k"), None);
    assert_eq!(text(cache.get("k").unwrap()).as_deref(), Some("old"));
    assert!(cache.flush_all(Duration::ZERO).unwrap());
    assert_eq!(new.raw_get(b"added"), None);
    assert_eq!(old.raw_get(b"n"), Some(b"10".to_vec()));
    let old_sets = old_c
        .stats(&[])
        .unwrap()
        .get("cmd_set")
        .and_then(|v| v.as_u64());
    assert_eq!(old_sets, Some(2));
}

#[test]
fn meta_reads_fall_back_and_meta_writes_do_not() {
    let (new, old, cache) = pair();
    client(&old)
        .meta_set(MetaSet::new(b"m", b"old").client_flags(3))
        .unwrap();
    let r = cache.meta_get(MetaGet::new(b"m").value().flags()).unwrap();
    assert_eq!(
        (r.status(), r.value.as_deref()),
        (MetaStatus::Value, Some(&b"old"[..]))
    );
    assert_eq!(r.client_flags, Some(3));
    let quiet = cache.meta_get(MetaGet::new(b"m").value().quiet()).unwrap();
    assert_eq!(quiet.value.as_deref(), Some(&b"old"[..]));
    // vivify changes the item: primary only.
    let r = cache
        .meta_get(MetaGet::new(b"m").value().vivify(30))
        .unwrap();
    assert!(r.win && r.value.as_deref() == Some(&b""[..]), "{r:?}");
    cache.meta_set(MetaSet::new(b"w", b"new")).unwrap();
    assert_eq!(new.raw_get(b"w"), Some(b"new".to_vec()));
    assert_eq!(old.raw_get(b"w"), None);
}

#[test]
fn a_dead_fallback_fails_the_read_unless_it_ignores_errors() {
    let new = MemcachedServer::start();
    let mut old = MemcachedServer::start();
    let old_addr = old.addr_string();
    old.stop();
    let strict = FallbackClient::new(vec![client(&new), Client::new(&old_addr).unwrap()]).unwrap();
    assert!(client(&new).set("here", "1").unwrap());
    // A hit on the primary never asks the dead one.
    assert_eq!(text(strict.get("here").unwrap()).as_deref(), Some("1"));
    let e = strict.get::<memcrab::Value>("elsewhere").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    let lenient_old = Client::builder(&old_addr).ignore_exc(true).build().unwrap();
    let lenient = FallbackClient::new(vec![client(&new), lenient_old]).unwrap();
    assert_eq!(lenient.get::<memcrab::Value>("elsewhere").unwrap(), None);
    assert_eq!(
        lenient
            .get_many::<memcrab::Value, _>(&["here", "elsewhere"])
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_primary_that_ignores_errors_reads_from_the_next_cache() {
    let mut new = MemcachedServer::start();
    let old = MemcachedServer::start();
    assert!(client(&old).set("k", "old").unwrap());
    let new_addr = new.addr_string();
    new.stop();
    let primary = Client::builder(&new_addr).ignore_exc(true).build().unwrap();
    let cache = FallbackClient::new(vec![primary, client(&old)]).unwrap();
    assert_eq!(text(cache.get("k").unwrap()).as_deref(), Some("old"));
    let m = cache.meta_get(MetaGet::new(b"k").value()).unwrap();
    assert_eq!(m.value.as_deref(), Some(&b"old"[..]));
    // Writes still go to the primary, and fail there.
    assert!(cache
        .set_with("k", "v", StoreOptions::new().noreply(false))
        .is_err());
}

#[test]
fn caches_with_their_own_key_prefixes_merge_by_the_caller_s_keys() {
    // In-memory caches: the fallback logic needs no server to be shown.
    let new = MockClient::builder().key_prefix("v2:").build().unwrap();
    let old = MockClient::builder().key_prefix("v1:").build().unwrap();
    old.set("a", "old-a").unwrap();
    old.set("b", "old-b").unwrap();
    new.set("b", "new-b").unwrap();
    let cache = FallbackClient::new(vec![new, old]).unwrap();
    let got = cache.get_many(&["a", "b", "c"]).unwrap();
    assert_eq!(text(got.get("a").cloned()).as_deref(), Some("old-a"));
    assert_eq!(text(got.get("b").cloned()).as_deref(), Some("new-b"));
    assert_eq!(got.len(), 2);
    assert!(cache.delete("b").unwrap());
    assert_eq!(text(cache.get("b").unwrap()).as_deref(), Some("old-b"));
    assert_eq!(cache.caches()[1].item_count(), 2);
}

#[test]
fn three_caches_over_both_protocols() {
    let servers = MemcachedServer::start_many(3);
    let clients: Vec<Client> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Client::builder(s.addr_string())
                .timeout(Duration::from_secs(5))
                .protocol(if i % 2 == 0 {
                    Protocol::Meta
                } else {
                    Protocol::Text
                })
                .build()
                .unwrap()
        })
        .collect();
    for (i, c) in clients.iter().enumerate() {
        let key = format!("k{i}");
        assert!(c.set(&key, i.to_string()).unwrap());
    }
    let cache = FallbackClient::new(clients).unwrap();
    let got = cache
        .get_many::<memcrab::Value, _>(&["k0", "k1", "k2", "k3"])
        .unwrap();
    assert_eq!(got.len(), 3);
    for i in 0..3 {
        let key = format!("k{i}");
        assert_eq!(text(cache.get(&key).unwrap()), Some(i.to_string()));
    }
    assert!(FallbackClient::<Client>::new(Vec::new()).is_err());
}
