//! A short tour of memcrab against a real memcached.
//!
//! Run it with `cargo xtask demo` (which starts a memcached when none is
//! given) or `cargo run --example tour -- 127.0.0.1:11211`.

use std::time::Duration;

use memcrab::{Client, Memcache, PickleSerde, StoreOptions, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("MEMCACHED_SERVERS").ok())
        .unwrap_or_else(|| "localhost:11211".into());
    println!("memcrab tour against {server}\n");

    let client = Client::builder(server.as_str())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .default_noreply(false)
        .build()?;
    println!("version          -> {}", client.version()?);

    client.set("tour:greeting", "hello, memcached")?;
    let v: Option<String> = client.get("tour:greeting")?;
    println!("set/get          -> {v:?}");

    let stored = client.add("tour:greeting", "again")?;
    println!("add existing     -> stored = {stored}");

    let a_minute = StoreOptions::new().expire(Duration::from_secs(60));
    client.set_with("tour:counter", 41u64, a_minute)?;
    println!("incr             -> {:?}", client.incr("tour:counter", 1)?);
    println!(
        "get::<u64>       -> {:?} (a counter reads back as a number)",
        client.get::<u64>("tour:counter")?
    );

    let (value, token) = client
        .gets::<String>("tour:greeting")?
        .ok_or("gets missed")?;
    println!("gets             -> {value:?} with cas token {token}");
    let first = client.cas("tour:greeting", "updated", token, StoreOptions::new())?;
    let second = client.cas("tour:greeting", "stale", token, StoreOptions::new())?;
    println!("cas, cas again   -> {first:?}, {second:?}");

    client.set_many(
        &[("tour:a", "1"), ("tour:b", "2"), ("tour:c", "3")],
        StoreOptions::new(),
    )?;
    let mut many: Vec<(&str, String)> = client
        .get_many(&["tour:a", "tour:b", "tour:c", "tour:missing"])?
        .into_iter()
        .collect();
    many.sort();
    println!("get_many         -> {many:?} (one request, misses left out)");

    match client.set("a key with spaces", "x") {
        Err(e) => println!("bad key          -> refused before sending: {e}"),
        Ok(_) => println!("bad key          -> unexpectedly accepted"),
    }

    let pickled = Client::builder(server.as_str())
        .serde(PickleSerde::new())
        .default_noreply(false)
        .build()?;
    pickled.set("tour:int", 42i64)?;
    println!(
        "pickle serde     -> {:?} (flags 2, readable by pymemcache)",
        pickled.get::<Value>("tour:int")?
    );

    let stats = client.stats(&[])?;
    println!(
        "stats            -> {} stats, curr_items = {:?}",
        stats.len(),
        stats.get("curr_items").map(ToString::to_string)
    );
    client.delete_many(&[
        "tour:greeting",
        "tour:counter",
        "tour:a",
        "tour:b",
        "tour:c",
        "tour:int",
    ])?;
    println!("\ndone.");
    Ok(())
}
