//! Moving from an old memcached cluster to a new one without a cold start,
//! with a `FallbackClient` (pymemcache's documented use of its
//! `fallback.FallbackClient`).
//!
//! The application talks to `FallbackClient::new(vec![new, old])`: reads
//! find what the new cluster already has and fall back to the old cluster
//! for the rest; every write lands in the new cluster only. As keys are
//! rewritten (or copied on a fallback hit, as below), the new cluster
//! warms up; once the old cluster's hit rate is negligible, drop it.
//!
//! Run it against two clusters (comma-separated servers each; two
//! memcached processes on different ports will do):
//!
//! ```text
//! memcached -p 11211 & memcached -p 11212 &
//! cargo run --example migrate_cluster -- 127.0.0.1:11211 127.0.0.1:11212
//! ```

use std::time::Duration;

use memcrab::{FallbackClient, HashClient, Memcache, Value};

/// A cluster of servers given as `host:port,host:port`.
fn cluster(servers: &str) -> memcrab::Result<HashClient> {
    HashClient::builder(servers.split(',').filter(|s| !s.is_empty()))
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .default_noreply(false)
        .build()
}

/// Reads `key` through the fallback client and, when only the old cluster
/// had it, copies it into the new one (`add`: a value written meanwhile by
/// the application wins).
fn read_through(cache: &FallbackClient<HashClient>, key: &str) -> memcrab::Result<Option<Value>> {
    let new = cache.primary();
    if let Some(v) = new.get(key)? {
        return Ok(Some(v));
    }
    let value = cache.get::<Value>(key)?;
    if let Some(v) = &value {
        new.add(key, v.clone())?;
    }
    Ok(value)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let old_servers = args.next().unwrap_or_else(|| "127.0.0.1:11211".into());
    let new_servers = args.next().unwrap_or_else(|| "127.0.0.1:11212".into());
    println!("migrating from [{old_servers}] to [{new_servers}]\n");

    // For the demonstration: the old cluster holds the application's data.
    let old = cluster(&old_servers)?;
    for i in 0..5 {
        old.set(
            format!("user:{i}"),
            format!("profile {i} (from the old cluster)"),
        )?;
    }
    old.set("visits", "100")?;

    // The application now reads through both clusters and writes to the new.
    let cache = FallbackClient::new(vec![cluster(&new_servers)?, old])?;

    // A write goes to the new cluster; the new value is what reads see.
    cache.set("user:0", "profile 0 (rewritten, in the new cluster)")?;
    for i in 0..3 {
        let key = format!("user:{i}");
        let v = cache.get(&key)?;
        println!("get {key:<8} -> {:?}", v.as_ref().and_then(Value::as_str));
    }

    // A multi-key read merges per key: new where present, else old.
    let many = cache.get_many::<Value, _>(&["user:0", "user:3", "user:9"])?;
    let mut keys: Vec<_> = many.keys().collect();
    keys.sort();
    println!("get_many         -> found {keys:?}");

    // Copy on a fallback hit, so the next read stays in the new cluster.
    read_through(&cache, "user:4")?;
    let copied = cache.primary().get("user:4")?;
    println!(
        "copied user:4    -> the new cluster has {:?}",
        copied.as_ref().and_then(Value::as_str)
    );

    // Counters live where they are written: an incr reaches the new
    // cluster only, so seed it from the old value first.
    if cache.primary().get::<Value>("visits")?.is_none() {
        if let Some(v) = cache.get::<Value>("visits")? {
            cache.add("visits", v)?;
        }
    }
    println!("incr visits      -> {:?}", cache.incr("visits", 1)?);

    // When the old cluster stops answering hits, drop it: the new cluster
    // alone is the cache from then on.
    let new = cache.into_caches().swap_remove(0);
    println!(
        "after the switch -> user:0 = {:?}",
        new.get("user:0")?.as_ref().and_then(Value::as_str)
    );
    Ok(())
}
