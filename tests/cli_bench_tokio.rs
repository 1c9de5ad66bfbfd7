//! `memcrab bench --transport tokio`: `--tasks` concurrent tasks on the
//! tokio client, against a real memcached for a few seconds, with
//! `--verify` checking every value read against the key asked for.

mod support;

use support::cli;
use support::MemcachedServer;

use support::cli::json_number as number;

/// Runs `bench --transport tokio --verify --json` with `extra`; asserts a
/// clean run and returns its JSON.
#[track_caller]
fn clean_run(server: &MemcachedServer, extra: &[&str]) -> String {
    let addr = server.addr_string();
    let out = cli::clean_verify_run(&addr, &["--transport", "tokio"], extra);
    assert!(out.contains("\"transport\":\"tokio\""), "{out}");
    out
}

#[test]
fn tokio_bench_verifies_many_tasks_for_seconds() {
    let server = MemcachedServer::start();
    let out = clean_run(
        &server,
        &["--tasks", "64", "--duration", "2", "--keys", "2000"],
    );
    assert_eq!(number(&out, "tasks"), 64.0, "{out}");
    assert!(number(&out, "requests") > 100.0, "{out}");
    // Merged gets, multi-key gets, meta, two connections.
    clean_run(
        &server,
        &[
            "--tasks",
            "100",
            "--duration",
            "1",
            "--merge-gets",
            "100",
            "--connections",
            "2",
            "--keys",
            "500",
        ],
    );
    clean_run(
        &server,
        &[
            "--tasks",
            "16",
            "--duration",
            "1",
            "--multi-get",
            "5",
            "--protocol",
            "meta",
            "--value-size",
            "500",
            "--keys",
            "500",
        ],
    );
}

#[test]
fn tokio_bench_sends_exactly_the_requests_asked() {
    let server = MemcachedServer::start();
    for tasks in ["1", "7"] {
        let out = clean_run(
            &server,
            &[
                "--tasks",
                tasks,
                "--requests",
                "1000",
                "--keys",
                "100",
                "--merge-gets",
                "10",
            ],
        );
        assert_eq!(number(&out, "requests"), 1000.0, "{out}");
    }
    // The text report names the transport and the tasks.
    let run = cli::run(&[
        "--servers",
        &server.addr_string(),
        "bench",
        "--transport",
        "tokio",
        "--tasks",
        "3",
        "--requests",
        "300",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.stdout_str();
    assert!(
        out.starts_with(&format!(
            "memcrab bench: {} (tokio, 3 task(s), 1 connection(s) per server, text protocol)\n",
            server.addr_string()
        )),
        "{out}"
    );
    assert!(out.contains("requests:   300 in "), "{out}");
}

#[test]
fn tokio_bench_detects_a_value_of_another_key() {
    let server = MemcachedServer::start();
    let addr = server.addr_string();
    let fill = cli::run(&[
        "--servers",
        &addr,
        "bench",
        "--verify",
        "--keys",
        "10",
        "--requests",
        "1",
    ]);
    assert_eq!(fill.code, 0, "{fill:?}");
    let five = server.raw_get(b"memcrab-bench:5").expect("key 5 filled");
    server.raw_set(b"memcrab-bench:4", &five, 0);
    let run = cli::run(&[
        "--servers",
        &addr,
        "bench",
        "--transport",
        "tokio",
        "--tasks",
        "8",
        "--verify",
        "--no-fill",
        "--keys",
        "10",
        "--ratio",
        "1:0",
        "--requests",
        "1000",
        "--json",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    let out = run.stdout_str();
    assert!((20.0..=400.0).contains(&number(out, "mismatches")), "{out}");
    assert!(
        run.stderr.contains(
            "memcrab: mismatch: get memcrab-bench:4 returned the value of key memcrab-bench:5\n"
        ),
        "{}",
        run.stderr
    );
    // Ten printed in all, not ten per task.
    assert_eq!(
        run.stderr.matches("memcrab: mismatch: ").count(),
        10,
        "{}",
        run.stderr
    );
}

#[test]
fn tokio_bench_refuses_what_it_cannot_do() {
    let closed = format!("127.0.0.1:{}", cli::closed_port());
    let run = cli::run(&[
        "--servers",
        &closed,
        "bench",
        "--transport",
        "tokio",
        "--pipeline",
        "4",
    ]);
    assert!(
        run.usage_error()
            .starts_with("--pipeline is for --transport mio"),
        "{run:?}"
    );
    let run = cli::run(&[
        "--servers",
        &closed,
        "bench",
        "--transport",
        "tokio",
        "--tasks",
        "0",
    ]);
    assert_eq!(
        run.usage_error(),
        "invalid --tasks '0': expected a whole number from 1 to 65536"
    );
    let run = cli::run(&["--servers", &closed, "bench", "--transport", "uring"]);
    assert!(run.usage_error().contains("--transport"), "{run:?}");
    // A server that is down: one line, nothing printed before it.
    let run = cli::run(&[
        "--servers",
        &closed,
        "bench",
        "--transport",
        "tokio",
        "--requests",
        "10",
    ]);
    assert!(run.error().contains("refused"), "{run:?}");
}
