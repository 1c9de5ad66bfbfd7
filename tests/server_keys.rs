//! `(server_key, key)` keys on `HashClient` (`HashClient::server_keyed`),
//! against three real memcached servers: commands go to the server the
//! server key names and store under their own keys.

mod support;

use std::time::Duration;

use memcrab::{ErrorKind, HashClient, Memcache, StoreOptions};
use support::MemcachedServer;

fn client(servers: &[MemcachedServer]) -> HashClient {
    HashClient::builder(servers.iter().map(MemcachedServer::addr_string))
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
        .build()
        .unwrap()
}

fn index(servers: &[MemcachedServer], client: &HashClient, key: &str) -> usize {
    let port = client.server_for(key).unwrap().port().unwrap();
    servers.iter().position(|s| s.port() == port).unwrap()
}

#[test]
fn every_command_goes_to_the_server_keys_server() {
    let servers = MemcachedServer::start_many(3);
    let client = client(&servers);
    let home = index(&servers, &client, "user:42");
    let view = client.server_keyed("user:42");
    assert_eq!(view.server_key(), b"user:42");
    assert_eq!(view.server(), client.server_for("user:42"));
    // Keys that on their own would go elsewhere.
    let keys: Vec<String> = (0..60)
        .map(|i| format!("field:{i}"))
        .filter(|k| index(&servers, &client, k) != home)
        .take(20)
        .collect();
    assert_eq!(keys.len(), 20);
    for key in &keys {
        assert!(view.set(key, key.as_str()).unwrap());
        assert_eq!(
            servers[home].raw_get(key.as_bytes()),
            Some(key.clone().into_bytes())
        );
        for (i, s) in servers.iter().enumerate().filter(|(i, _)| *i != home) {
            assert_eq!(s.raw_get(key.as_bytes()), None, "{key} on server {i}");
        }
        // Routed by its own key, the client looks elsewhere: a miss.
        assert_eq!(client.get::<memcrab::Value>(key).unwrap(), None);
        assert_eq!(
            view.get::<memcrab::Value>(key).unwrap().unwrap().as_bytes(),
            Some(key.as_bytes())
        );
    }
    let found = view.get_many::<memcrab::Value, _>(&keys).unwrap();
    assert_eq!(found.len(), keys.len());
    assert!(view.set("count", "1").unwrap());
    assert_eq!(view.incr("count", 2).unwrap(), Some(3));
    assert_eq!(servers[home].raw_get(b"count"), Some(b"3".to_vec()));
    assert!(view.delete(&keys[0]).unwrap());
    assert_eq!(servers[home].raw_get(keys[0].as_bytes()), None);
    let not_stored = view
        .set_many(&[("a", "1"), ("b", "2")], StoreOptions::new())
        .unwrap();
    assert!(not_stored.is_empty());
    assert_eq!(servers[home].raw_get(b"a"), Some(b"1".to_vec()));
    assert_eq!(servers[home].raw_get(b"b"), Some(b"2".to_vec()));
}

#[test]
fn the_server_key_follows_the_key_rules_and_the_prefix() {
    let servers = MemcachedServer::start_many(2);
    let client = client(&servers);
    let err = client.server_keyed("bad key").set("k", "v").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput);
    assert!(
        servers.iter().all(|s| s.raw_get(b"k").is_none()),
        "nothing sent"
    );

    let prefixed = HashClient::builder(servers.iter().map(MemcachedServer::addr_string))
        .options(memcrab::ClientOptions {
            key_prefix: "app:".into(),
            default_noreply: false,
            ..memcrab::ClientOptions::default()
        })
        .build()
        .unwrap();
    // Routed by the server key without prefix, stored with it.
    let home = index(&servers, &prefixed, "group");
    let key = (0..100)
        .map(|i| format!("k{i}"))
        .find(|k| index(&servers, &prefixed, k) != home)
        .unwrap();
    assert!(prefixed.server_keyed("group").set(&key, "v").unwrap());
    let stored = format!("app:{key}").into_bytes();
    assert_eq!(servers[home].raw_get(&stored), Some(b"v".to_vec()));
    assert_eq!(servers[1 - home].raw_get(&stored), None);
}
