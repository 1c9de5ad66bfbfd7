//! The command trait is dyn-compatible: every client kind is a
//! `Box<dyn Memcache>`, and every command works through the box.

mod support;

use std::time::Duration;

use memcrab::mio::Engine;
use memcrab::mock::MockClient;
use memcrab::{
    Client, FallbackClient, HashClient, Memcache, PoolOptions, PooledClient, RetryingClient,
};
use support::MemcachedServer;

fn exercise(name: &str, client: &impl Memcache, key: &str) {
    assert!(client.set(key, "v1").unwrap(), "{name}: set");
    assert_eq!(
        client.get::<String>(key).unwrap(),
        Some("v1".to_owned()),
        "{name}: get"
    );
    let many = client
        .get_many::<memcrab::Value, _>(&[key, "absent"])
        .unwrap();
    assert_eq!(many.len(), 1, "{name}: get_many");
    assert!(client.delete(key).unwrap(), "{name}: delete");
    assert_eq!(
        client.get::<memcrab::Value>(key).unwrap(),
        None,
        "{name}: gone"
    );
}

#[test]
fn every_client_kind_is_a_box_dyn_memcache() {
    let servers = MemcachedServer::start_many(2);
    let a = servers[0].addr_string();
    let b = servers[1].addr_string();
    let noreply_off = |c: memcrab::ClientOptions| memcrab::ClientOptions {
        default_noreply: false,
        timeout: Some(Duration::from_secs(5)),
        ..c
    };
    let opts = noreply_off(memcrab::ClientOptions::default());
    let clients: Vec<(&str, Box<dyn Memcache>)> = vec![
        (
            "Client",
            Box::new(Client::with_options(a.parse().unwrap(), opts.clone())),
        ),
        (
            "PooledClient",
            Box::new(
                PooledClient::with_options(&*a, opts.clone(), PoolOptions::default()).unwrap(),
            ),
        ),
        (
            "HashClient",
            Box::new(
                HashClient::with_options([&a, &b], opts.clone(), memcrab::HashOptions::default())
                    .unwrap(),
            ),
        ),
        (
            "RetryingClient",
            Box::new(RetryingClient::new(Client::with_options(
                a.parse().unwrap(),
                opts.clone(),
            ))),
        ),
        (
            "FallbackClient",
            Box::new(
                FallbackClient::new(vec![
                    Client::with_options(b.parse().unwrap(), opts.clone()),
                    Client::with_options(a.parse().unwrap(), opts.clone()),
                ])
                .unwrap(),
            ),
        ),
        (
            "MockClient",
            Box::new(
                MockClient::builder()
                    .default_noreply(false)
                    .build()
                    .unwrap(),
            ),
        ),
        (
            "mio Engine",
            Box::new({
                let mut c = Engine::builder()
                    .server(&a)
                    .server(&b)
                    .build()
                    .unwrap()
                    .into_client();
                c.opts.default_noreply = false;
                c
            }),
        ),
    ];
    for (i, (name, client)) in clients.iter().enumerate() {
        exercise(name, client, &format!("dyn:{i}"));
        // A borrowed trait object is a client too.
        let borrowed: &dyn Memcache = client.as_ref();
        assert!(borrowed.version().is_ok(), "{name}");
        exercise(name, &borrowed, &format!("dyn:b{i}"));
        // And through the box itself, generic methods included.
        assert!(client
            .set_many(&[("dyn:x", "1")], Default::default())
            .unwrap()
            .is_empty());
    }
}
