//! `memcrab bench` runs for a few seconds against a real memcached and
//! prints the fields scripts read (its figures are not asserted).

mod support;

use support::cli;
use support::MemcachedServer;

/// The number after `"name":` in a flat JSON object.
fn number(json: &str, name: &str) -> f64 {
    let at = json
        .find(&format!("\"{name}\":"))
        .unwrap_or_else(|| panic!("no {name} in {json}"));
    let rest = &json[at + name.len() + 3..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number in {json}"))
}

#[test]
fn bench_json_smoke() {
    let server = MemcachedServer::start();
    let addr = server.addr_string();
    let run = cli::run(&[
        "--servers",
        &addr,
        "bench",
        "--duration",
        "2",
        "--connections",
        "2",
        "--pipeline",
        "8",
        "--keys",
        "1000",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.stdout_str();
    assert_eq!(out.lines().count(), 1, "one JSON object: {out}");
    for field in ["ops_per_sec", "keys_per_sec", "requests", "errors"] {
        assert!(number(out, field) >= 0.0);
    }
    let latency = &out[out.find("\"latency_us\":{").expect("latency_us")..];
    for field in ["p50", "p90", "p99", "p999"] {
        assert!(number(latency, field) >= 0.0);
    }
    assert!(number(out, "requests") > 0.0);
    assert_eq!(number(out, "errors"), 0.0);
    // Progress lines go to stderr.
    assert!(run.stderr.contains("ops/s"), "{}", run.stderr);
}

#[test]
fn bench_text_multi_get_meta_smoke() {
    let server = MemcachedServer::start();
    let addr = server.addr_string();
    let run = cli::run(&[
        "--servers",
        &addr,
        "bench",
        "--requests",
        "2000",
        "--multi-get",
        "10",
        "--ratio",
        "3:1",
        "--protocol",
        "meta",
        "--keys",
        "500",
        "--value-size",
        "1000",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.stdout_str();
    for word in ["throughput:", "ops/s", "keys/s", "p99.9"] {
        assert!(out.contains(word), "{out}");
    }
}

#[test]
fn bench_usage_errors() {
    let run = cli::run(&["bench", "--ratio", "nine"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--ratio"), "{}", run.stderr);
    let help = cli::run(&["bench", "--help"]);
    assert!(help.stdout_str().contains("--multi-get"));
}
