//! `memcrab bench` runs for a few seconds against a real memcached and
//! prints the fields scripts read (its figures are not asserted).

mod support;

use support::cli;
use support::MemcachedServer;

use support::cli::json_number as number;

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

/// Asserts `bench args...` refused the run with exit 2 and exactly one
/// line on stderr (no panic, no abort), nothing on stdout; returns it.
#[track_caller]
fn refused(args: &[&str]) -> String {
    let r = cli::run(args);
    assert_eq!(r.code, 2, "{args:?}: {r:?}");
    assert_eq!(r.stdout, b"", "{args:?}: {r:?}");
    assert!(!r.stderr.contains("panicked"), "{args:?}: {r:?}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: one line: {r:?}");
    assert!(lines[0].starts_with("memcrab: "), "{args:?}: {r:?}");
    lines[0].to_owned()
}

#[test]
fn bench_refuses_nonsense_with_one_line_naming_the_limit() {
    // A closed port: every one of these is refused before any connection.
    let closed = format!("127.0.0.1:{}", cli::closed_port());
    let cases: &[(&[&str], &str)] = &[
        (
            &["--duration", "1e20"],
            "invalid --duration '1e20': at most 86400 seconds (a day)",
        ),
        (
            &["--timeout", "1e20"],
            "invalid --timeout '1e20': at most 86400 seconds (a day)",
        ),
        (
            &["--duration", "NaN"],
            "invalid --duration 'NaN': expected a number of seconds greater than 0",
        ),
        (
            &["--value-size", "99999999999"],
            "invalid --value-size '99999999999': expected a whole number from 0 to 1073741824",
        ),
        (
            &["--keys", "18446744073709551615"],
            "invalid --keys '18446744073709551615': expected a whole number from 1 to 1000000000",
        ),
        (
            &["--multi-get", "99999999999"],
            "invalid --multi-get '99999999999': expected a whole number from 1 to 10000",
        ),
        (
            &["--pipeline", "18446744073709551615", "--connections", "2"],
            "invalid --pipeline '18446744073709551615': expected a whole number from 1 to 65536",
        ),
        (
            &["--connections", "100000"],
            "invalid --connections '100000': expected a whole number from 1 to 1024",
        ),
        (
            &["--merge-gets", "-1"],
            "invalid --merge-gets '-1': expected a whole number from 0 to 10000",
        ),
        (
            &["--requests", "0"],
            "invalid --requests '0': expected a whole number 1 or more",
        ),
        (
            &["--ratio", "4294967295:1"],
            "invalid --ratio '4294967295:1': expected GET:SET, two whole numbers up to 1000000, \
             not both 0 (e.g. 9:1)",
        ),
        (
            &["--ratio", "0:0"],
            "invalid --ratio '0:0': expected GET:SET, two whole numbers up to 1000000, \
             not both 0 (e.g. 9:1)",
        ),
        (
            &[
                "--connections",
                "1024",
                "--pipeline",
                "65536",
                "--value-size",
                "1000",
            ],
            "--connections x --pipeline x --multi-get x --value-size x servers must be at most \
             4294967296 bytes (the replies that may be in memory at once)",
        ),
        (
            &["--key-prefix", "a b"],
            "invalid --key-prefix 'a b': key contains whitespace",
        ),
        (&["--bogus"], "unknown option '--bogus' for bench"),
        (&["extra"], "bench takes no arguments, got 1"),
        (&["--pipeline"], "option --pipeline needs a value"),
    ];
    for (args, message) in cases {
        let mut all = vec!["--servers", closed.as_str(), "bench"];
        all.extend_from_slice(args);
        let line = refused(&all);
        assert!(
            line.starts_with(&format!("memcrab: {message}")),
            "{args:?}: {line}"
        );
        assert!(
            line.ends_with("see 'memcrab bench --help')"),
            "{args:?}: {line}"
        );
    }
    let long = "k".repeat(247);
    let line = refused(&["--servers", &closed, "bench", "--key-prefix", &long]);
    assert!(
        line.contains("--key-prefix is too long: the keys would be 251 bytes"),
        "{line}"
    );
}

#[test]
fn bench_prints_nothing_before_a_connection_error() {
    let closed = format!("127.0.0.1:{}", cli::closed_port());
    for extra in [&[][..], &["--no-fill"], &["--json"]] {
        let mut args = vec!["--servers", closed.as_str(), "bench", "--requests", "10"];
        args.extend_from_slice(extra);
        let line = refused(&args);
        assert!(line.contains(&closed), "{line}");
        assert!(line.contains("refused"), "{line}");
    }
    // One server of two down: still nothing printed before the error.
    let server = MemcachedServer::start();
    let list = format!("{},{closed}", server.addr_string());
    let line = refused(&["--servers", &list, "bench", "--requests", "10"]);
    assert!(line.contains(&closed), "{line}");
}

#[test]
fn bench_options_after_bench_override_those_before() {
    let server = MemcachedServer::start();
    let closed = format!("127.0.0.1:{}", cli::closed_port());
    let run = cli::run(&[
        "--servers",
        &closed,
        "--protocol",
        "text",
        "bench",
        "--servers",
        &server.addr_string(),
        "--protocol",
        "meta",
        "--requests",
        "100",
        "--duration",
        "5",
        "--requests",
        "200",
        "--keys",
        "50",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.stdout_str();
    assert_eq!(number(out, "requests"), 200.0, "{out}");
    assert!(out.contains("\"protocol\":\"meta\""), "{out}");
    assert!(out.contains(&server.addr_string()), "{out}");
}
