//! The `memcrab` command line's values from stdin and files, values to
//! files, flags, and the commands that answer for every server (`stats`
//! and `version` with several servers, `dump`, `ping`), against real
//! memcached servers: exact bytes, exit codes, and what the servers hold
//! (read through the harness's plain-socket client).
//!
//! The binary is built once by `support::cli` (see tests/cli.rs).

mod support;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::time::{Duration, Instant};

use support::cli::{closed_port, run, run_stdin, Run};
use support::MemcachedServer;

/// `memcrab --servers <server> args...`.
fn mc<A: AsRef<OsStr>>(server: &MemcachedServer, args: &[A]) -> Run {
    let mut all: Vec<OsString> = vec!["--servers".into(), server.addr_string().into()];
    all.extend(args.iter().map(|a| a.as_ref().to_owned()));
    run(&all)
}

/// `memcrab --servers <server> args...` with `input` on stdin.
fn mc_stdin(server: &MemcachedServer, args: &[&str], input: &[u8]) -> Run {
    let addr = server.addr_string();
    let mut all = vec!["--servers", addr.as_str()];
    all.extend_from_slice(args);
    run_stdin(&all, input)
}

fn list(servers: &[MemcachedServer]) -> String {
    servers
        .iter()
        .map(MemcachedServer::addr_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Bytes no text tool would keep intact: CR LF, a protocol line, NUL,
/// invalid UTF-8.
fn binary_value(len: usize) -> Vec<u8> {
    let mut value = b"line1\r\nEND\r\nVALUE x 0 1\r\n\x00\xff\xfe".to_vec();
    value.extend((0..len as u32).map(|i| (i % 251) as u8));
    value
}

// ---------------------------------------------------------------------------
// Values from stdin and files
// ---------------------------------------------------------------------------

#[test]
fn a_value_of_dash_is_read_from_stdin_byte_for_byte() {
    let server = MemcachedServer::builder().item_size_limit("4m").start();
    let value = binary_value(2_000_000);
    mc_stdin(&server, &["set", "k", "-"], &value).silent_ok();
    assert_eq!(server.raw_get(b"k"), Some(value.clone()));
    assert_eq!(mc(&server, &["get", "k"]).ok(), &value[..]);

    // Every storage command takes it, with its options.
    mc_stdin(&server, &["add", "new", "-", "--flags", "5"], b"added").silent_ok();
    assert_eq!(server.raw_item(b"new").unwrap().flags, 5);
    mc_stdin(&server, &["append", "new", "-"], b">>").silent_ok();
    mc_stdin(&server, &["prepend", "new", "-"], b"<<").silent_ok();
    assert_eq!(server.raw_get(b"new"), Some(b"<<added>>".to_vec()));
    mc_stdin(&server, &["replace", "new", "-"], b"replaced").silent_ok();
    let cas = server.raw_item(b"new").unwrap().cas.to_string();
    mc_stdin(&server, &["cas", "new", "-", &cas], b"by cas").silent_ok();
    assert_eq!(server.raw_get(b"new"), Some(b"by cas".to_vec()));
    // The same exit codes as with the value given.
    let r = mc_stdin(&server, &["add", "new", "-"], b"again");
    assert_eq!(r.miss(), "memcrab: not stored\n");

    // An empty stdin is an empty value.
    mc_stdin(&server, &["set", "empty", "-"], b"").silent_ok();
    assert_eq!(server.raw_get(b"empty"), Some(Vec::new()));
    // `-` as a key is still a key; after `--` too.
    mc_stdin(&server, &["set", "--", "-", "-"], b"dash key").silent_ok();
    assert_eq!(server.raw_get(b"-"), Some(b"dash key".to_vec()));
}

#[test]
fn a_value_from_a_file_byte_for_byte() {
    let server = MemcachedServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("value.bin");
    let value = binary_value(100_000);
    fs::write(&path, &value).unwrap();
    let path_str = path.to_str().unwrap();
    mc(&server, &["set", "k", "--file", path_str, "--ttl", "100"]).silent_ok();
    assert_eq!(server.raw_get(b"k"), Some(value.clone()));
    mc(&server, &["append", "--file", path_str, "k"]).silent_ok();
    assert_eq!(server.raw_get(b"k").unwrap().len(), 2 * value.len());

    // cas KEY TOKEN --file PATH.
    fs::write(&path, b"swapped").unwrap();
    let cas = server.raw_item(b"k").unwrap().cas.to_string();
    mc(&server, &["cas", "k", &cas, "--file", path_str]).silent_ok();
    assert_eq!(server.raw_get(b"k"), Some(b"swapped".to_vec()));
    let r = mc(&server, &["cas", "k", &cas, "--file", path_str]);
    assert_eq!(
        r.miss(),
        "memcrab: not stored: the item changed since its cas token was read (EXISTS)\n"
    );
}

#[test]
fn a_value_that_cannot_be_read_exits_2_and_sends_nothing() {
    let server = MemcachedServer::start();
    let before = server.raw_stat("cmd_set").unwrap();
    let connections =
        |s: &MemcachedServer| -> u64 { s.raw_stat("total_connections").unwrap().parse().unwrap() };
    let opened = connections(&server);
    let missing = "/nonexistent/memcrab-value";
    let r = mc(&server, &["set", "k", "--file", missing]);
    assert_eq!(
        r.error(),
        format!("cannot read {missing}: No such file or directory (os error 2)")
    );
    let dir = tempfile::tempdir().unwrap();
    let r = mc(
        &server,
        &["set", "k", "--file", dir.path().to_str().unwrap()],
    );
    assert!(r.error().starts_with("cannot read "), "{r:?}");
    // Nothing reached the server: no set, and the command line never
    // connected (the two new connections are the stats reads).
    assert_eq!(server.raw_stat("cmd_set").unwrap(), before);
    assert_eq!(connections(&server), opened + 2);
    assert_eq!(server.raw_get(b"k"), None);

    // VALUE and --file together, or neither: usage errors.
    let r = mc(&server, &["set", "k", "v", "--file", missing]);
    assert_eq!(r.usage_error(), "set takes 1 argument with --file, got 2");
    let r = mc(&server, &["cas", "k", "--file", missing]);
    assert_eq!(r.usage_error(), "cas takes 2 arguments with --file, got 1");
}

// ---------------------------------------------------------------------------
// get --output, get --show-flags
// ---------------------------------------------------------------------------

#[test]
fn get_output_writes_what_get_prints_to_the_file() {
    let server = MemcachedServer::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let out_str = out.to_str().unwrap();
    let value = binary_value(50_000);
    server.raw_set(b"k", &value, 0);
    server.raw_set(b"b", b"two", 3);

    // One key: the raw value, nothing on stdout.
    mc(&server, &["get", "k", "--output", out_str]).silent_ok();
    assert_eq!(fs::read(&out).unwrap(), value);
    // An existing file is replaced.
    mc(&server, &["get", "--output", out_str, "b"]).silent_ok();
    assert_eq!(fs::read(&out).unwrap(), b"two");
    // An empty value makes an empty file.
    server.raw_set(b"empty", b"", 0);
    fs::remove_file(&out).unwrap();
    mc(&server, &["get", "empty", "--output", out_str]).silent_ok();
    assert_eq!(fs::read(&out).unwrap(), b"");

    // A miss: exit 1, and no file.
    fs::remove_file(&out).unwrap();
    assert_eq!(
        mc(&server, &["get", "nope", "--output", out_str]).miss(),
        ""
    );
    assert!(!out.exists());

    // Several keys: the 'KEY VALUE' lines; exit 1 for the missing one.
    let r = mc(&server, &["get", "b", "nope", "empty", "--output", out_str]);
    assert_eq!(
        (r.code, r.stdout.as_slice(), r.stderr.as_str()),
        (1, &b""[..], "")
    );
    assert_eq!(fs::read(&out).unwrap(), b"b two\nempty \n");
    // With the flags.
    mc(&server, &["get", "b", "--output", out_str, "--show-flags"]).silent_ok();
    assert_eq!(fs::read(&out).unwrap(), b"3 two\n");

    // A file that cannot be written: exit 2, one line naming it.
    let bad = dir.path().join("no-such-dir").join("out.bin");
    let r = mc(&server, &["get", "b", "--output", bad.to_str().unwrap()]);
    assert_eq!(
        r.error(),
        format!(
            "cannot write output: {}: No such file or directory (os error 2)",
            bad.display()
        )
    );
}

#[test]
fn get_show_flags_prints_the_flags_over_both_protocols() {
    let server = MemcachedServer::start();
    server.raw_set(b"a", b"1", 0);
    server.raw_set(b"b", b"two words", 4_294_967_295);
    server.raw_set(b"c", b"x\r\ny", 42);
    for protocol in ["text", "meta"] {
        let get = |args: &[&str]| {
            let mut all = vec!["--protocol", protocol, "get", "--show-flags"];
            all.extend_from_slice(args);
            mc(&server, &all)
        };
        assert_eq!(get(&["b"]).ok(), b"4294967295 two words\n", "{protocol}");
        assert_eq!(get(&["c"]).ok(), b"42 x\r\ny\n", "{protocol}");
        assert_eq!(
            get(&["c", "a", "b"]).ok(),
            b"c 42 x\r\ny\na 0 1\nb 4294967295 two words\n",
            "{protocol}"
        );
        let r = get(&["a", "nope", "a"]);
        assert_eq!(
            (r.code, r.stdout.as_slice(), r.stderr.as_str()),
            (1, &b"a 0 1\na 0 1\n"[..], ""),
            "{protocol}"
        );
        assert_eq!(get(&["nope"]).miss(), "", "{protocol}");
        // A bad key is refused before anything is sent, as without flags.
        assert!(get(&["a b"]).error().starts_with("illegal input: key"));
    }
}

#[test]
fn get_show_flags_over_several_servers() {
    let servers = MemcachedServer::start_many(3);
    let list = list(&servers);
    let keys: Vec<String> = (0..20).map(|i| format!("key{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        let flags = (i * 7).to_string();
        run(&["--servers", &list, "set", key, key, "--flags", &flags]).silent_ok();
    }
    let mut args = vec!["--servers", list.as_str(), "get", "--show-flags"];
    args.extend(keys.iter().rev().map(String::as_str));
    let expected: String = keys
        .iter()
        .enumerate()
        .rev()
        .map(|(i, k)| format!("{k} {} {k}\n", i * 7))
        .collect();
    assert_eq!(run(&args).ok_str(), expected);
}

// ---------------------------------------------------------------------------
// stats and version for every server
// ---------------------------------------------------------------------------

/// Splits `SERVER<TAB>REST` lines.
fn server_lines(out: &str) -> Vec<(String, String)> {
    assert!(out.ends_with('\n'), "{out:?}");
    out.lines()
        .map(|line| {
            let (server, rest) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("no tab in {line:?}"));
            (server.to_owned(), rest.to_owned())
        })
        .collect()
}

#[test]
fn stats_and_version_answer_for_every_server_with_a_server_column() {
    let servers = MemcachedServer::start_many(3);
    servers[1].raw_set(b"only-on-1", b"v", 0);
    // Blanks around the items are not part of them.
    let given: Vec<String> = servers.iter().map(MemcachedServer::addr_string).collect();
    let spaced = format!(" {} ,{}, {}", given[0], given[1], given[2]);

    let out = run(&["--servers", &spaced, "stats"]).ok_str().to_owned();
    let lines = server_lines(&out);
    for (i, server) in servers.iter().enumerate() {
        let mine: Vec<(String, String)> = lines
            .iter()
            .filter(|(s, _)| *s == given[i])
            .map(|(_, rest)| {
                let (n, v) = rest.split_once(' ').unwrap_or((rest, ""));
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let raw = server.raw_stats();
        let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&mine), names(&raw), "server {i}");
        let value = |v: &[(String, String)], name: &str| {
            v.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
        };
        assert_eq!(value(&mine, "pid"), value(&raw, "pid"), "server {i}");
        let items = if i == 1 { "1" } else { "0" };
        assert_eq!(value(&mine, "curr_items").as_deref(), Some(items));
    }
    // In the order given, each server's lines together.
    let order: Vec<&String> = lines.iter().map(|(s, _)| s).collect::<Vec<_>>();
    let mut seen: Vec<&String> = order.clone();
    seen.dedup();
    assert_eq!(seen, given.iter().collect::<Vec<_>>());

    // A section, and the server's words for a bad one.
    let out = run(&["--servers", &spaced, "stats", "settings"])
        .ok_str()
        .to_owned();
    for (server, rest) in server_lines(&out) {
        assert!(given.contains(&server), "{server}");
        assert!(!rest.contains('\t'), "{rest}");
    }
    assert_eq!(out.lines().filter(|l| l.contains("\tmaxbytes ")).count(), 3);
    let r = run(&["--servers", &spaced, "stats", "bogus"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 3, "{r:?}");
    for server in &given {
        let line = format!("memcrab: server refused command `stats`: ERROR (server {server})");
        assert!(r.stderr.lines().any(|l| l == line), "{r:?}");
    }

    // version: a line per server.
    let raw = String::from_utf8(servers[0].raw(b"version\r\n")).unwrap();
    let version = raw.strip_prefix("VERSION ").unwrap().trim_end();
    let expected: String = given.iter().map(|s| format!("{s}\t{version}\n")).collect();
    assert_eq!(run(&["--servers", &spaced, "version"]).ok_str(), expected);
    // Over meta too.
    assert_eq!(
        run(&["--protocol", "meta", "--servers", &spaced, "version"]).ok_str(),
        expected
    );
}

#[test]
fn a_server_that_is_down_gets_a_line_and_the_others_still_answer() {
    let servers = MemcachedServer::start_many(2);
    let down = format!("127.0.0.1:{}", closed_port());
    let given = [
        servers[0].addr_string(),
        down.clone(),
        servers[1].addr_string(),
    ];
    let list = given.join(",");
    for command in ["version", "stats", "dump", "ping"] {
        let r = run(&["--servers", &list, command]);
        assert_eq!(r.code, 2, "{command}: {r:?}");
        let stderr: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(stderr.len(), 1, "{command}: {r:?}");
        assert!(stderr[0].starts_with("memcrab: "), "{r:?}");
        assert!(stderr[0].contains(&down), "{command}: {r:?}");
        assert!(stderr[0].contains("refused"), "{command}: {r:?}");
        if command != "dump" {
            let out = String::from_utf8(r.stdout.clone()).unwrap();
            let answered: BTreeSet<String> =
                server_lines(&out).into_iter().map(|(s, _)| s).collect();
            let expected: BTreeSet<String> = [given[0].clone(), given[2].clone()].into();
            assert_eq!(answered, expected, "{command}");
        }
    }
}

// ---------------------------------------------------------------------------
// dump
// ---------------------------------------------------------------------------

#[test]
fn dump_lists_every_key_of_one_server() {
    let server = MemcachedServer::start();
    // Nothing stored: nothing printed.
    assert_eq!(mc(&server, &["dump"]).ok(), b"");
    let keys = ["plain", "with%percent", "caf\u{e9}", "a:b/c?d=e&f", "-dash"];
    for key in keys {
        server.raw_set(key.as_bytes(), b"v", 0);
    }
    server.raw_set(b"gone", b"v", 0);
    server.raw(b"delete gone\r\n");
    for protocol in ["text", "meta"] {
        let out = mc(&server, &["--protocol", protocol, "dump"]).ok().to_vec();
        let text = String::from_utf8(out).unwrap();
        let listed: BTreeSet<&str> = text.lines().collect();
        let expected: BTreeSet<&str> = keys.into_iter().collect();
        assert_eq!(listed, expected, "{protocol}: {text:?}");
        assert_eq!(text.lines().count(), keys.len());
    }
}

#[test]
fn dump_over_several_servers_prints_route_lines() {
    let servers = MemcachedServer::start_many(3);
    let list = list(&servers);
    let keys: Vec<String> = (0..30).map(|i| format!("user:{i}")).collect();
    for key in &keys {
        run(&["--servers", &list, "set", key, "v"]).silent_ok();
    }
    let out = run(&["--servers", &list, "dump"]).ok_str().to_owned();
    let mut dumped = server_lines(&out);
    dumped.sort();
    // Exactly what route says for the same keys, and where they really are.
    let mut args = vec!["--servers", list.as_str(), "route"];
    args.extend(keys.iter().map(String::as_str));
    let mut routed = server_lines(run(&args).ok_str());
    routed.sort();
    assert_eq!(dumped, routed);
    for (key, server) in &dumped {
        let at = servers
            .iter()
            .position(|s| s.raw_get(key.as_bytes()).is_some())
            .unwrap();
        assert_eq!(&servers[at].addr_string(), server, "{key}");
    }
}

// ---------------------------------------------------------------------------
// ping
// ---------------------------------------------------------------------------

/// The milliseconds of a `0.123 ms` field.
fn milliseconds(field: &str) -> f64 {
    let number = field
        .strip_suffix(" ms")
        .unwrap_or_else(|| panic!("not 'N ms': {field:?}"));
    let (whole, fraction) = number.split_once('.').expect("a decimal point");
    assert!(whole.bytes().all(|b| b.is_ascii_digit()), "{field:?}");
    assert_eq!(fraction.len(), 3, "{field:?}");
    number.parse().unwrap()
}

#[test]
fn ping_reports_a_round_trip_per_server() {
    let servers = MemcachedServer::start_many(2);
    let one = servers[0].addr_string();
    let lines = server_lines(run(&["--servers", &one, "ping"]).ok_str());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].0, one);
    assert!(milliseconds(&lines[0].1) < 5000.0);

    // Each server as given, in the order given; each really was asked
    // (two version requests on one connection).
    let before: Vec<u64> = servers
        .iter()
        .map(|s| s.raw_stat("total_connections").unwrap().parse().unwrap())
        .collect();
    let list = format!("{}, {}", servers[1].addr_string(), one);
    let lines = server_lines(run(&["--servers", &list, "ping"]).ok_str());
    let names: Vec<&str> = lines.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, [servers[1].addr_string().as_str(), one.as_str()]);
    for (_, time) in &lines {
        milliseconds(time);
    }
    for (server, before) in servers.iter().zip(before) {
        let after: u64 = server
            .raw_stat("total_connections")
            .unwrap()
            .parse()
            .unwrap();
        // Ping's connection and the stats read.
        assert_eq!(after, before + 2);
    }
}

#[test]
fn ping_of_a_frozen_server_times_out() {
    let mut server = MemcachedServer::start();
    server.freeze();
    let started = Instant::now();
    let r = mc(&server, &["--timeout", "0.5", "ping"]);
    let elapsed = started.elapsed();
    server.thaw();
    let message = r.error();
    assert!(message.contains("timed out"), "{r:?}");
    assert!(message.contains(&server.addr_string()), "{r:?}");
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}
