//! The builders of every blocking client against a real memcached: the
//! same options everywhere, one address convention, and a bad key prefix
//! refused at build.

mod support;

use std::time::Duration;

use memcrab::address::ServerAddr;
use memcrab::{
    Client, ClientOptions, Error, HashClient, HashOptions, Memcache, PickleSerde, PoolOptions,
    PooledClient, Protocol, Value,
};
use support::MemcachedServer;

/// `PooledClient::builder` takes every client option and the pool's.
#[test]
fn pooled_builder_applies_client_and_pool_options() {
    let server = MemcachedServer::start();
    let pool = PooledClient::builder(server.addr_string())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .no_delay(true)
        .key_prefix("app:")
        .default_noreply(false)
        .allow_unicode_keys(true)
        .serde(PickleSerde::new())
        .max_item_size(4096)
        .protocol(Protocol::Meta)
        .max_pool_size(3)
        .pool_idle_timeout(Duration::from_secs(30))
        .wait_timeout(Duration::from_millis(250))
        .build()
        .unwrap();
    let opts = pool.options();
    assert_eq!(opts.key_prefix.as_ref(), b"app:");
    assert_eq!(opts.timeout, Some(Duration::from_secs(5)));
    assert_eq!(opts.protocol, Protocol::Meta);
    assert_eq!(opts.max_item_size, 4096);
    assert!(!opts.default_noreply && opts.allow_unicode_keys);
    assert_eq!(
        *pool.pool_options(),
        PoolOptions {
            max_pool_size: 3,
            pool_idle_timeout: Some(Duration::from_secs(30)),
            wait_timeout: Duration::from_millis(250),
        }
    );

    // The options reach the wire: the prefix, the pickle serde's flags
    // (text is flag 16), a unicode key, the item size limit.
    assert!(pool.set("k", Value::from("héllo")).unwrap());
    let item = server.raw_item(b"app:k").expect("stored under the prefix");
    assert_eq!((item.flags, &item.value[..]), (16, "héllo".as_bytes()));
    assert_eq!(pool.get("k").unwrap(), Some(Value::from("héllo")));
    assert!(pool.set("ключ", "v").unwrap());
    assert!(server.raw_get("app:ключ".as_bytes()).is_some());
    let big = vec![b'x'; 5000];
    assert!(pool.set("big", &big[..]).is_err());
}

/// `HashClient::builder` takes every client option too.
#[test]
fn hash_builder_applies_every_client_option() {
    let servers = MemcachedServer::start_many(2);
    let client = HashClient::builder(servers.iter().map(MemcachedServer::addr_string))
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .key_prefix("h:")
        .default_noreply(false)
        .serde(PickleSerde::new())
        .max_item_size(4096)
        .protocol(Protocol::Meta)
        .allow_unicode_keys(true)
        .build()
        .unwrap();
    assert_eq!(client.options().key_prefix.as_ref(), b"h:");
    assert_eq!(client.options().protocol, Protocol::Meta);
    for i in 0..20 {
        assert!(client.set(format!("k{i}"), Value::Int(i)).unwrap());
    }
    let stored: usize = (0..20)
        .map(|i| {
            let key = format!("h:k{i}");
            servers
                .iter()
                .filter_map(|s| s.raw_item(key.as_bytes()))
                .inspect(|item| assert_eq!(item.flags, 2, "pickle's integer flag"))
                .count()
        })
        .sum();
    assert_eq!(stored, 20, "every key once, under the prefix");
    assert_eq!(client.get("k7").unwrap(), Some(Value::Int(7)));
    assert!(client.set("big", &vec![b'x'; 5000][..]).is_err());
}

/// Every constructor takes any address form, as `Client::new` does.
#[test]
fn every_constructor_takes_any_address_form() {
    let server = MemcachedServer::start();
    let port = server.port();
    let opts = ClientOptions {
        default_noreply: false,
        ..ClientOptions::default()
    };
    let parsed: ServerAddr = server.addr_string().parse().unwrap();
    let pools = [
        PooledClient::with_options(parsed, opts.clone(), PoolOptions::default()).unwrap(),
        PooledClient::with_options(("127.0.0.1", port), opts.clone(), PoolOptions::default())
            .unwrap(),
        PooledClient::with_options(server.addr_string(), opts.clone(), PoolOptions::default())
            .unwrap(),
        PooledClient::builder(("127.0.0.1", port))
            .options(opts.clone())
            .build()
            .unwrap(),
    ];
    for (i, pool) in pools.iter().enumerate() {
        assert!(pool.set(format!("p{i}"), "v").unwrap());
        assert!(server.raw_get(format!("p{i}").as_bytes()).is_some());
    }
    let bad = PooledClient::with_options("host:notaport", opts, PoolOptions::default());
    assert!(matches!(bad.unwrap_err(), Error::Config(_)));
}

/// A key prefix that is not a valid key is refused when the client is
/// built, by every client and every way of building it.
#[test]
fn bad_key_prefix_is_refused_at_build_everywhere() {
    let server = MemcachedServer::start();
    let addr = server.addr_string();
    let bad = ClientOptions {
        key_prefix: "has space".into(),
        ..ClientOptions::default()
    };
    let config = |r: memcrab::Result<()>| matches!(r, Err(Error::Config(_)));
    assert!(config(
        Client::builder(&*addr)
            .key_prefix("has space")
            .build()
            .map(drop)
    ));
    assert!(config(
        PooledClient::builder(&*addr)
            .key_prefix("has space")
            .build()
            .map(drop)
    ));
    assert!(config(
        PooledClient::with_options(&*addr, bad.clone(), PoolOptions::default()).map(drop)
    ));
    assert!(config(
        HashClient::builder([&*addr])
            .key_prefix("has space")
            .build()
            .map(drop)
    ));
    assert!(config(
        HashClient::with_options([&*addr], bad, HashOptions::default()).map(drop)
    ));
    // A prefix too long to leave room for any key is refused too.
    let long = "p".repeat(251);
    assert!(config(
        PooledClient::builder(&*addr)
            .key_prefix(long)
            .build()
            .map(drop)
    ));
    // A good prefix builds.
    assert!(PooledClient::builder(&*addr)
        .key_prefix("ok:")
        .build()
        .is_ok());
}

/// The mio engine and driver refuse a bad key prefix when built too.
#[cfg(feature = "mio")]
#[test]
fn mio_refuses_a_bad_key_prefix_at_build() {
    use memcrab::core::KeyPolicy;
    use memcrab::mio::{Driver, DriverOptions, Engine};

    let bad = DriverOptions {
        key_policy: KeyPolicy::new().with_prefix("has space"),
        ..DriverOptions::default()
    };
    let engine = Engine::builder()
        .server("127.0.0.1:11211")
        .options(bad.clone())
        .build();
    assert!(matches!(engine, Err(Error::Config(_))));
    let poll = mio::Poll::new().unwrap();
    let driver = Driver::new(poll.registry(), bad);
    assert_eq!(
        driver.map(drop).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    let good = DriverOptions {
        key_policy: KeyPolicy::new().with_prefix("ok:"),
        ..DriverOptions::default()
    };
    assert!(Driver::new(poll.registry(), good).is_ok());
}
