//! `memcrab bench --verify` against a real memcached: every value read is
//! checked against the key asked for; a clean run reports 0 mismatches and
//! exits 0, and a value that is not its key's is counted, printed, and
//! makes the exit status 2.

mod support;

use support::cli;
use support::MemcachedServer;

use support::cli::json_number as number;

/// Runs `bench --verify --json` with `extra` against `server`; asserts a
/// clean run: exit 0, values checked, no mismatch, no error.
#[track_caller]
fn clean_run(server: &MemcachedServer, extra: &[&str]) -> String {
    let addr = server.addr_string();
    let out = cli::clean_verify_run(&addr, &[], extra);
    assert!(out.contains("\"verify\":true"), "{out}");
    out
}

#[test]
fn verify_reports_no_mismatch_on_the_pipelined_engine() {
    let server = MemcachedServer::start();
    let out = clean_run(
        &server,
        &[
            "--duration",
            "1.5",
            "--connections",
            "2",
            "--pipeline",
            "16",
            "--keys",
            "2000",
        ],
    );
    // 9:1 gets: nearly every request is a checked get (every key filled).
    assert!(
        number(&out, "verified") >= number(&out, "requests") * 0.5,
        "{out}"
    );
    // Multi-key gets, merged, over meta, with values of another size.
    clean_run(
        &server,
        &[
            "--duration",
            "1",
            "--pipeline",
            "8",
            "--multi-get",
            "7",
            "--merge-gets",
            "50",
            "--protocol",
            "meta",
            "--value-size",
            "300",
            "--keys",
            "500",
        ],
    );
}

#[test]
fn verify_text_output_adds_its_line() {
    let server = MemcachedServer::start();
    let run = cli::run(&[
        "--servers",
        &server.addr_string(),
        "bench",
        "--verify",
        "--requests",
        "3000",
        "--keys",
        "100",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.stdout_str();
    assert!(out.contains("\nverify:     "), "{out}");
    assert!(out.contains(" values checked, 0 mismatches\n"), "{out}");
    assert!(!out.contains("first mismatch"), "{out}");
}

#[test]
fn verify_detects_a_corrupt_value_and_another_keys_value() {
    let server = MemcachedServer::start();
    let addr = server.addr_string();
    // Fill 10 keys with --verify's values (keys memcrab-bench:0 to 9).
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
    assert!(five.starts_with(b"memcrab-bench:5 "), "{five:?}");
    // Key 4 holds key 5's (well-formed) value; key 3 holds garbage.
    server.raw_set(b"memcrab-bench:4", &five, 0);
    server.raw_set(b"memcrab-bench:3", b"garbage", 0);

    let run = cli::run(&[
        "--servers",
        &addr,
        "bench",
        "--verify",
        "--no-fill",
        "--keys",
        "10",
        "--ratio",
        "1:0",
        "--requests",
        "2000",
        "--json",
    ]);
    assert_eq!(run.code, 2, "mismatches exit 2: {run:?}");
    let out = run.stdout_str();
    assert_eq!(out.lines().count(), 1, "the report is still printed: {out}");
    let mismatches = number(out, "mismatches");
    // About 1 get in 5 reads key 3 or 4: every one of them is counted.
    assert!((100.0..=1000.0).contains(&mismatches), "{out}");
    assert_eq!(number(out, "verified"), 2000.0, "{out}");
    assert!(
        out.contains("\"first_mismatch\":\"get memcrab-bench:"),
        "{out}"
    );
    for line in [
        "memcrab: mismatch: get memcrab-bench:4 returned the value of key memcrab-bench:5\n",
        "memcrab: mismatch: get memcrab-bench:3 returned a corrupt value (7 bytes, its \
         checksum does not hold)\n",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
    // At most 10 are printed, then one line says the rest are counted.
    assert_eq!(run.stderr.matches("memcrab: mismatch: ").count(), 10);
    assert!(run
        .stderr
        .contains("memcrab: further mismatches are counted, not printed\n"));

    // The text report says it too, and still exits 2.
    let text = cli::run(&[
        "--servers",
        &addr,
        "bench",
        "--verify",
        "--no-fill",
        "--keys",
        "10",
        "--ratio",
        "1:0",
        "--requests",
        "500",
    ]);
    assert_eq!(text.code, 2, "{text:?}");
    let out = text.stdout_str();
    assert!(out.contains("first mismatch: get memcrab-bench:"), "{out}");
    assert!(!out.contains(", 0 mismatches"), "{out}");

    // Without --verify the same run is not checked: exit 0 as before.
    let plain = cli::run(&[
        "--servers",
        &addr,
        "bench",
        "--no-fill",
        "--keys",
        "10",
        "--ratio",
        "1:0",
        "--requests",
        "500",
    ]);
    assert_eq!(plain.code, 0, "{plain:?}");
    assert!(!plain.stdout_str().contains("verify"), "{plain:?}");
}

#[test]
fn verify_refuses_values_too_small_to_name_their_key() {
    let closed = format!("127.0.0.1:{}", cli::closed_port());
    let run = cli::run(&[
        "--servers",
        &closed,
        "bench",
        "--verify",
        "--value-size",
        "26",
    ]);
    assert_eq!(
        run.usage_error(),
        "--verify needs --value-size 27 or more with these keys (the key, a space and an \
         8-digit checksum), got 26"
    );
    let run = cli::run(&["--servers", &closed, "bench", "--tasks", "4"]);
    assert!(
        run.usage_error()
            .starts_with("--tasks needs --transport tokio"),
        "{run:?}"
    );
}
