//! The `memcrab` command line (package `memcrab-tools`) against real
//! memcached servers: exact stdout bytes, stderr and exit codes of every
//! command, checked against what the server really holds (through the
//! harness's plain-socket client).
//!
//! The binary belongs to another package, so `CARGO_BIN_EXE_memcrab` is not
//! set here: the first test to need it builds it once with
//! `cargo build -p memcrab-tools` into the target directory this test runs
//! from, with the same profile.

mod support;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use support::cli::{closed_port, run, run_env, Run};
use support::MemcachedServer;

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// Runs `memcrab --servers <server> args...`.
fn mc<A: AsRef<OsStr>>(server: &MemcachedServer, args: &[A]) -> Run {
    let mut all: Vec<OsString> = vec!["--servers".into(), server.addr_string().into()];
    all.extend(args.iter().map(|a| a.as_ref().to_owned()));
    run(&all)
}

/// An argument made of arbitrary bytes.
fn os(bytes: &[u8]) -> OsString {
    OsStr::from_bytes(bytes).to_owned()
}

/// The TTL memcached reports for `key` (`mg <key> t`; -1 for none), or
/// `None` on a miss.
fn server_ttl(server: &MemcachedServer, key: &str) -> Option<i64> {
    let reply = String::from_utf8(server.raw(format!("mg {key} t\r\n").as_bytes())).unwrap();
    let line = reply.trim_end();
    if line == "EN" {
        return None;
    }
    let ttl = line
        .strip_prefix("HD t")
        .unwrap_or_else(|| panic!("unexpected mg reply {line:?}"));
    Some(ttl.parse().unwrap())
}

fn stat(server: &MemcachedServer, name: &str) -> u64 {
    server.raw_stat(name).unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------
// Help, version, usage errors
// ---------------------------------------------------------------------------

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        let r = run(&[flag]);
        let help = String::from_utf8(r.ok().to_vec()).unwrap();
        assert!(help.contains("Usage: memcrab [--servers LIST]"), "{help}");
        for command in [
            "get KEY...",
            "gets KEY",
            "set KEY VALUE",
            "add KEY VALUE",
            "replace KEY VALUE",
            "append KEY VALUE",
            "prepend KEY VALUE",
            "cas KEY VALUE TOKEN",
            "delete KEY...",
            "incr KEY N",
            "decr KEY N",
            "touch KEY TTL",
            "stats [SECTION]",
            "version",
            "flush [--delay SECONDS]",
            "--timeout SECONDS",
            "--hash HASH",
            "--protocol PROTOCOL",
            "route KEY...",
            "MEMCACHED_SERVERS",
            "'TOKEN VALUE'",
        ] {
            assert!(help.contains(command), "help lacks {command:?}:\n{help}");
        }
        // The exit status of a multi-key get is documented.
        assert!(help.contains("get KEY...: every key was found"), "{help}");
        assert!(help.contains("found ones are still printed"), "{help}");
    }
    // Help anywhere before `--`, even after a command.
    let r = run(&["get", "--help"]);
    assert!(r
        .ok()
        .starts_with(b"memcrab: a memcached command line client\n"));
}

#[test]
fn version_flag_prints_the_crate_version() {
    let expected = format!("memcrab {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(run(&["--version"]).ok(), expected.as_bytes());
    assert_eq!(run(&["-V"]).ok(), expected.as_bytes());
}

#[test]
fn usage_errors_exit_2_with_a_hint_and_contact_no_server() {
    // A closed port: a usage error must be reported before any connection.
    let servers = format!("127.0.0.1:{}", closed_port());
    let cases: &[(&[&str], &str)] = &[
        (&[], "no command given"),
        (&["frobnicate"], "unknown command 'frobnicate'"),
        (&["--bogus", "get", "k"], "unknown option '--bogus'"),
        (&["get", "k", "--bogus"], "unknown option '--bogus' for get"),
        (&["get"], "get takes at least 1 argument, got 0"),
        (&["set", "k"], "set takes 2 arguments, got 1"),
        (&["set", "k", "v", "w"], "set takes 2 arguments, got 3"),
        (&["cas", "k", "v"], "cas takes 3 arguments, got 2"),
        (&["gets", "a", "b"], "gets takes 1 argument, got 2"),
        (&["incr", "k"], "incr takes 2 arguments, got 1"),
        (&["touch", "k"], "touch takes 2 arguments, got 1"),
        (&["stats", "a", "b"], "stats takes 0 to 1 arguments, got 2"),
        (&["version", "x"], "version takes no arguments, got 1"),
        (&["flush", "now"], "flush takes no arguments, got 1"),
        (&["delete"], "delete takes at least 1 argument, got 0"),
        (
            &["incr", "k", "x"],
            "invalid N 'x': expected a number from 0 to 18446744073709551615",
        ),
        (
            &["cas", "k", "v", "abc"],
            "invalid TOKEN 'abc': expected a cas token from gets",
        ),
        (
            &["touch", "k", "soon"],
            "invalid TTL 'soon': expected a whole number of seconds",
        ),
        (
            &["set", "k", "v", "--ttl", "x"],
            "invalid --ttl 'x': expected a whole number of seconds",
        ),
        (
            &["set", "k", "v", "--flags", "-1"],
            "invalid --flags '-1': expected a number from 0 to 4294967295",
        ),
        (&["set", "k", "v", "--ttl"], "option --ttl needs a value"),
        (
            &["get", "k", "--ttl", "5"],
            "unknown option '--ttl' for get",
        ),
        (
            &["--ttl", "5", "set", "k", "v"],
            "option --ttl belongs after the command",
        ),
        (
            &["get", "k", "--servers", "x"],
            "option --servers belongs before the command",
        ),
        (
            &["--timeout", "0", "version"],
            "invalid --timeout '0': expected a number of seconds greater than 0",
        ),
        (
            &["flush", "--delay", "-1"],
            "invalid --delay '-1': expected a whole number of seconds, 0 or more",
        ),
        (
            &["--hash", "foo", "get", "k"],
            "invalid --hash 'foo': expected rendezvous, ketama-md5 or ketama-fnv1a64",
        ),
        (
            &["--protocol", "bar", "get", "k"],
            "invalid --protocol 'bar': expected text or meta",
        ),
        (&["route"], "route takes at least 1 argument, got 0"),
    ];
    for (args, message) in cases {
        let mut all = vec!["--servers", servers.as_str()];
        all.extend_from_slice(args);
        let r = run(&all);
        assert_eq!(r.usage_error(), *message, "{args:?}");
    }
    // The usage line names the command concerned.
    let r = run(&["--servers", &servers, "set", "k"]);
    assert!(
        r.stderr
            .ends_with(" (usage: memcrab set KEY VALUE [--ttl SECONDS] [--flags N])\n"),
        "{r:?}"
    );
    let r = run(&["--servers", &servers, "nope"]);
    assert!(r.stderr.ends_with("see 'memcrab --help')\n"), "{r:?}");
}

#[test]
fn a_bad_server_list_exits_2() {
    let r = run(&["--servers", "host:abc", "version"]);
    assert_eq!(
        r.error(),
        r#"invalid server address "host:abc": port "abc" is not a number 1-65535"#
    );
    let r = run(&["--servers", "a,,b", "version"]);
    assert!(
        r.error().starts_with("invalid server list \"a,,b\""),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------
// get, gets
// ---------------------------------------------------------------------------

#[test]
fn set_then_get_prints_exactly_the_value() {
    let server = MemcachedServer::start();
    mc(&server, &["set", "greeting", "hello world"]).silent_ok();
    assert_eq!(server.raw_get(b"greeting"), Some(b"hello world".to_vec()));
    assert_eq!(mc(&server, &["get", "greeting"]).ok(), b"hello world");
    // An empty value prints nothing, and is found.
    mc(&server, &["set", "empty", ""]).silent_ok();
    assert_eq!(server.raw_get(b"empty"), Some(Vec::new()));
    mc(&server, &["get", "empty"]).silent_ok();
}

#[test]
fn get_prints_binary_values_byte_for_byte() {
    let server = MemcachedServer::start();
    let value = b"line1\r\nEND\r\nVALUE x 0 1\r\n\x00\xff\xfe tail\n".to_vec();
    server.raw_set(b"bin", &value, 0);
    assert_eq!(mc(&server, &["get", "bin"]).ok(), &value[..]);

    // A value with \r\n (and invalid UTF-8) given on the command line
    // reaches the server unchanged.
    let arg = b"a\r\nb\xff\x01".to_vec();
    mc(&server, &[os(b"set"), os(b"k2"), os(&arg)]).silent_ok();
    assert_eq!(server.raw_get(b"k2"), Some(arg.clone()));
    assert_eq!(mc(&server, &["get", "k2"]).ok(), &arg[..]);
}

#[test]
fn values_over_a_mebibyte_are_the_servers_business() {
    // The command line accepts what the server accepts (here `-I 2m`), not
    // the library's 1 MiB default.
    let server = MemcachedServer::builder().item_size_limit("2m").start();
    let value: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    server.raw_set(b"big", &value, 0);
    assert_eq!(mc(&server, &["get", "big"]).ok(), &value[..]);
}

#[test]
fn get_of_a_missing_key_exits_1_silently() {
    let server = MemcachedServer::start();
    let r = mc(&server, &["get", "nope"]);
    assert_eq!(r.miss(), "");
}

#[test]
fn get_of_several_keys_prints_found_ones_in_the_order_given() {
    let server = MemcachedServer::start();
    server.raw_set(b"a", b"1", 0);
    server.raw_set(b"b", b"two words", 0);
    server.raw_set(b"c", b"3", 0);
    assert_eq!(
        mc(&server, &["get", "c", "a", "b"]).ok(),
        b"c 3\na 1\nb two words\n"
    );
    // A missing key: the others are printed, exit 1, nothing on stderr.
    let r = mc(&server, &["get", "b", "missing", "a"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, b"b two words\na 1\n");
    assert_eq!(r.stderr, "");
    // None found.
    let r = mc(&server, &["get", "x", "y"]);
    assert_eq!(r.miss(), "");
}

#[test]
fn gets_prints_token_then_value() {
    let server = MemcachedServer::start();
    server.raw_set(b"k", b"some value", 0);
    let cas = server.raw_item(b"k").unwrap().cas;
    assert_eq!(
        mc(&server, &["gets", "k"]).ok(),
        format!("{cas} some value\n").as_bytes()
    );
    assert_eq!(mc(&server, &["gets", "nope"]).miss(), "");
}

// ---------------------------------------------------------------------------
// Storage commands
// ---------------------------------------------------------------------------

#[test]
fn set_with_ttl_and_flags() {
    let server = MemcachedServer::start();
    mc(&server, &["set", "k", "v", "--ttl", "100", "--flags", "42"]).silent_ok();
    let item = server.raw_item(b"k").unwrap();
    assert_eq!((item.value, item.flags), (b"v".to_vec(), 42));
    let ttl = server_ttl(&server, "k").unwrap();
    assert!((98..=100).contains(&ttl), "ttl {ttl}");

    // `--name=value` works too, and options may come before the arguments.
    mc(&server, &["set", "--ttl=200", "--flags=7", "k", "w"]).silent_ok();
    let item = server.raw_item(b"k").unwrap();
    assert_eq!((item.value, item.flags), (b"w".to_vec(), 7));
    assert!(server_ttl(&server, "k").unwrap() > 150);

    // No options: no expiry, flags 0.
    mc(&server, &["set", "k", "x"]).silent_ok();
    assert_eq!(server.raw_item(b"k").unwrap().flags, 0);
    assert_eq!(server_ttl(&server, "k"), Some(-1));

    // A negative TTL: expired at once.
    mc(&server, &["set", "k", "gone", "--ttl", "-1"]).silent_ok();
    assert_eq!(server.raw_get(b"k"), None);
}

#[test]
fn add_replace_append_prepend() {
    let server = MemcachedServer::start();
    mc(&server, &["add", "k", "first"]).silent_ok();
    assert_eq!(server.raw_get(b"k"), Some(b"first".to_vec()));

    // add on an existing key: not stored.
    assert_eq!(
        mc(&server, &["add", "k", "second"]).miss(),
        "memcrab: not stored\n"
    );
    assert_eq!(server.raw_get(b"k"), Some(b"first".to_vec()));

    mc(&server, &["replace", "k", "mid"]).silent_ok();
    mc(&server, &["append", "k", ">>"]).silent_ok();
    mc(&server, &["prepend", "k", "<<"]).silent_ok();
    assert_eq!(server.raw_get(b"k"), Some(b"<<mid>>".to_vec()));

    for command in ["replace", "append", "prepend"] {
        assert_eq!(
            mc(&server, &[command, "missing", "v"]).miss(),
            "memcrab: not stored\n",
            "{command}"
        );
    }
    assert_eq!(server.raw_get(b"missing"), None);
}

#[test]
fn cas_stores_only_with_the_current_token() {
    let server = MemcachedServer::start();
    server.raw_set(b"k", b"v1", 0);
    let out = mc(&server, &["gets", "k"]).ok().to_vec();
    let line = String::from_utf8(out).unwrap();
    let (token, value) = line.trim_end().split_once(' ').unwrap();
    assert_eq!(value, "v1");
    assert_eq!(
        token.parse::<u64>().unwrap(),
        server.raw_item(b"k").unwrap().cas
    );

    mc(&server, &["cas", "k", "v2", token]).silent_ok();
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));

    // The same token again: the item changed since.
    let r = mc(&server, &["cas", "k", "v3", token]);
    assert_eq!(
        r.miss(),
        "memcrab: not stored: the item changed since its cas token was read (EXISTS)\n"
    );
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));

    // A missing key.
    let r = mc(&server, &["cas", "nope", "v", token]);
    assert_eq!(
        r.miss(),
        "memcrab: not stored: not found: nope (NOT_FOUND)\n"
    );
    assert_eq!(server.raw_get(b"nope"), None);

    // cas takes --ttl and --flags too.
    let cas = server.raw_item(b"k").unwrap().cas.to_string();
    mc(
        &server,
        &["cas", "k", "v4", &cas, "--flags", "9", "--ttl", "300"],
    )
    .silent_ok();
    let item = server.raw_item(b"k").unwrap();
    assert_eq!((item.value, item.flags), (b"v4".to_vec(), 9));
    assert!(server_ttl(&server, "k").unwrap() > 250);
}

#[test]
fn a_value_over_the_servers_item_limit_exits_2_with_the_servers_words() {
    let server = MemcachedServer::builder().item_size_limit("1k").start();
    let value = "x".repeat(2000);
    let r = mc(&server, &["set", "big", &value]);
    let message = r.error();
    assert!(
        message.contains("object too large for cache"),
        "the server's words: {r:?}"
    );
    // The library's message names the server that refused.
    assert_eq!(
        message,
        format!(
            "server error: object too large for cache (server {})",
            server.addr_string()
        )
    );
    assert_eq!(server.raw_get(b"big"), None);
    // A value under the limit is stored.
    mc(&server, &["set", "small", &"y".repeat(500)]).silent_ok();
    assert_eq!(server.raw_get(b"small").map(|v| v.len()), Some(500));
}

// ---------------------------------------------------------------------------
// Bad keys never reach the server
// ---------------------------------------------------------------------------

#[test]
fn bad_keys_exit_2_and_never_reach_the_server() {
    let server = MemcachedServer::start();
    let long = "k".repeat(251);
    let cases: Vec<(Vec<OsString>, &str)> = vec![
        (
            vec![os(b"set"), os(b"a b"), os(b"v")],
            r#"illegal input: key contains whitespace: "a b""#,
        ),
        (
            vec![os(b"set"), os(long.as_bytes()), os(b"v")],
            "illegal input: key is too long",
        ),
        (
            vec![os(b"set"), os(b"a\x01b"), os(b"v")],
            "illegal input: key contains a control character",
        ),
        (
            vec![os(b"set"), os(b"a\nb"), os(b"v")],
            "illegal input: key contains whitespace",
        ),
        (
            vec![os(b"get"), os(b"a b")],
            "illegal input: key contains whitespace",
        ),
        (
            vec![os(b"get"), os(b"ok"), os(long.as_bytes())],
            "illegal input: key is too long",
        ),
        (
            vec![os(b"delete"), os(b"ok"), os(b"a b")],
            "illegal input: key contains whitespace",
        ),
        (
            vec![os(b"incr"), os(b"a b"), os(b"1")],
            "illegal input: key",
        ),
        (
            vec![os(b"touch"), os(b"a b"), os(b"1")],
            "illegal input: key",
        ),
        (vec![os(b"gets"), os(b"")], "illegal input: key is empty"),
        (
            vec![os(b"add"), os(b"\xff"), os(b"v")],
            "illegal input: key",
        ),
    ];
    server.raw_set(b"ok", b"still here", 0);
    let before = server.raw_stats();
    for (args, message) in &cases {
        let r = mc(&server, args);
        assert!(r.error().starts_with(message), "{args:?}: {r:?}");
    }
    // Nothing was sent: the command line never even connected (the only
    // new connection is the one reading these stats), no command counter
    // moved, and the server holds only the one item.
    let after = server.raw_stats();
    let connections = |stats: &[(String, String)]| -> u64 {
        let (_, v) = stats
            .iter()
            .find(|(n, _)| n == "total_connections")
            .unwrap();
        v.parse().unwrap()
    };
    assert_eq!(connections(&after), connections(&before) + 1);
    for name in [
        "cmd_get",
        "cmd_set",
        "cmd_touch",
        "delete_misses",
        "delete_hits",
        "incr_misses",
        "get_misses",
    ] {
        let value = |stats: &[(String, String)]| {
            stats
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value(&after), value(&before), "{name}");
    }
    assert_eq!(stat(&server, "curr_items"), 1);
    assert_eq!(server.raw_get(b"ok"), Some(b"still here".to_vec()));
}

#[test]
fn double_dash_allows_keys_and_values_starting_with_dash() {
    let server = MemcachedServer::start();
    mc(&server, &["set", "--", "-key", "-value"]).silent_ok();
    assert_eq!(server.raw_get(b"-key"), Some(b"-value".to_vec()));
    assert_eq!(mc(&server, &["get", "--", "-key"]).ok(), b"-value");
    // `--` before the command works too.
    assert_eq!(mc(&server, &["--", "get", "-key"]).ok(), b"-value");
    // Options before `--` still count.
    mc(&server, &["set", "--flags", "3", "--", "--ttl", "x"]).silent_ok();
    assert_eq!(server.raw_item(b"--ttl").unwrap().flags, 3);
    // Without `--`, a key starting with `-` is an unknown option...
    let r = mc(&server, &["get", "-key"]);
    assert_eq!(r.usage_error(), "unknown option '-key' for get");
    // ...but `-` alone and negative numbers are arguments.
    mc(&server, &["set", "n", "-5"]).silent_ok();
    assert_eq!(server.raw_get(b"n"), Some(b"-5".to_vec()));
    mc(&server, &["set", "-", "dash"]).silent_ok();
    assert_eq!(server.raw_get(b"-"), Some(b"dash".to_vec()));
}

// ---------------------------------------------------------------------------
// delete, incr, decr, touch
// ---------------------------------------------------------------------------

#[test]
fn delete_exits_1_if_any_key_was_missing() {
    let server = MemcachedServer::start();
    server.raw_set(b"a", b"1", 0);
    server.raw_set(b"b", b"2", 0);
    server.raw_set(b"c", b"3", 0);
    mc(&server, &["delete", "a"]).silent_ok();
    assert_eq!(server.raw_get(b"a"), None);

    mc(&server, &["delete", "b", "c"]).silent_ok();
    assert_eq!((server.raw_get(b"b"), server.raw_get(b"c")), (None, None));

    server.raw_set(b"d", b"4", 0);
    let r = mc(&server, &["delete", "x", "d", "y"]);
    assert_eq!(r.miss(), "memcrab: not found: x\nmemcrab: not found: y\n");
    assert_eq!(server.raw_get(b"d"), None);
}

#[test]
fn incr_and_decr_print_the_new_value() {
    let server = MemcachedServer::start();
    server.raw_set(b"n", b"10", 0);
    assert_eq!(mc(&server, &["incr", "n", "5"]).ok(), b"15\n");
    assert_eq!(mc(&server, &["decr", "n", "3"]).ok(), b"12\n");
    assert_eq!(mc(&server, &["decr", "n", "100"]).ok(), b"0\n");
    assert_eq!(
        mc(&server, &["incr", "n", "18446744073709551615"]).ok(),
        b"18446744073709551615\n"
    );
    assert_eq!(server.raw_get(b"n"), Some(b"18446744073709551615".to_vec()));

    assert_eq!(
        mc(&server, &["incr", "nope", "1"]).miss(),
        "memcrab: not found: nope\n"
    );
    assert_eq!(
        mc(&server, &["decr", "nope", "1"]).miss(),
        "memcrab: not found: nope\n"
    );

    // The server refuses a non-number: exit 2 with its words.
    server.raw_set(b"text", b"abc", 0);
    let r = mc(&server, &["incr", "text", "1"]);
    assert!(
        r.error()
            .contains("cannot increment or decrement non-numeric value"),
        "{r:?}"
    );
}

#[test]
fn touch_sets_the_ttl_and_exits_1_when_missing() {
    let server = MemcachedServer::start();
    server.raw_set(b"k", b"v", 0);
    assert_eq!(server_ttl(&server, "k"), Some(-1));
    mc(&server, &["touch", "k", "500"]).silent_ok();
    let ttl = server_ttl(&server, "k").unwrap();
    assert!((498..=500).contains(&ttl), "ttl {ttl}");
    assert_eq!(
        mc(&server, &["touch", "nope", "10"]).miss(),
        "memcrab: not found: nope\n"
    );
}

// ---------------------------------------------------------------------------
// stats, version, flush
// ---------------------------------------------------------------------------

/// Parses `NAME VALUE` lines.
fn stat_lines(out: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(text.ends_with('\n'), "{text:?}");
    text.lines()
        .map(|line| {
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

#[test]
fn stats_prints_name_value_lines_in_the_servers_order() {
    let server = MemcachedServer::start();
    server.raw_set(b"a", b"1", 0);
    server.raw_set(b"b", b"2", 0);
    let cli = stat_lines(mc(&server, &["stats"]).ok());
    let raw = server.raw_stats();
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&cli), names(&raw));
    let get = |v: &[(String, String)], name: &str| {
        v.iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
            .unwrap()
    };
    for name in ["pid", "version", "curr_items", "total_items", "libevent"] {
        assert_eq!(get(&cli, name), get(&raw, name), "{name}");
    }
    assert_eq!(get(&cli, "curr_items"), "2");

    // A section: exactly the server's lines, values as it sent them
    // (`umask 700`, `cas_enabled yes`: not reinterpreted).
    let settings = server.raw_until(b"stats settings\r\n", b"END\r\n");
    let expected: String = support::raw::parse_stats(&settings)
        .into_iter()
        .map(|(n, v)| format!("{n} {v}\n"))
        .collect();
    let out = mc(&server, &["stats", "settings"]).ok().to_vec();
    assert_eq!(String::from_utf8(out).unwrap(), expected);
    assert!(expected.contains("\numask 700\n"), "{expected}");

    // An unknown section: the server's error, exit 2.
    let r = mc(&server, &["stats", "bogus"]);
    assert_eq!(
        r.error(),
        format!(
            "server refused command `stats`: ERROR (server {})",
            server.addr_string()
        )
    );
}

#[test]
fn version_prints_the_servers_version() {
    let server = MemcachedServer::start();
    let raw = String::from_utf8(server.raw(b"version\r\n")).unwrap();
    let version = raw.strip_prefix("VERSION ").unwrap().trim_end();
    assert_eq!(
        mc(&server, &["version"]).ok(),
        format!("{version}\n").as_bytes()
    );
}

#[test]
fn flush_invalidates_every_item() {
    let server = MemcachedServer::start();
    server.raw_set(b"a", b"1", 0);
    server.raw_set(b"b", b"2", 0);
    // With a delay the items live on for now.
    mc(&server, &["flush", "--delay", "100"]).silent_ok();
    assert_eq!(server.raw_get(b"a"), Some(b"1".to_vec()));
    mc(&server, &["flush"]).silent_ok();
    assert_eq!((server.raw_get(b"a"), server.raw_get(b"b")), (None, None));
    assert_eq!(stat(&server, "cmd_flush"), 2);
}

// ---------------------------------------------------------------------------
// Server addresses
// ---------------------------------------------------------------------------

#[test]
fn memcached_servers_is_honoured_and_servers_overrides_it() {
    let server = MemcachedServer::start();
    server.raw_set(b"k", b"from env", 0);
    let addr = server.addr_string();
    assert_eq!(run_env(Some(&addr), &["get", "k"]).ok(), b"from env");

    // --servers wins over the environment (which names a closed port).
    let closed = format!("127.0.0.1:{}", closed_port());
    let r = run_env(Some(&closed), &["--servers", &addr, "get", "k"]);
    assert_eq!(r.ok(), b"from env");

    // The environment really is used: a closed port there fails.
    let r = run_env(Some(&closed), &["get", "k"]);
    assert!(r.error().contains(&closed), "{r:?}");
}

#[test]
fn unix_socket_servers() {
    let server = MemcachedServer::start_unix();
    let path = server.socket_path().display().to_string();
    for spec in [format!("unix:{path}"), path.clone()] {
        for protocol in ["text", "meta"] {
            let value = format!("{protocol} {spec}");
            let r = run(&[
                "--protocol",
                protocol,
                "--servers",
                &spec,
                "set",
                "k",
                &value,
            ]);
            r.silent_ok();
            assert_eq!(server.raw_get(b"k"), Some(value.clone().into_bytes()));
            let r = run(&["--protocol", protocol, "--servers", &spec, "get", "k"]);
            assert_eq!(r.ok(), value.as_bytes());
        }
    }
    // A socket that does not exist: exit 2, the message names it.
    let missing = format!("unix:{path}.missing");
    let r = run(&["--servers", &missing, "version"]);
    assert!(r.error().contains(&format!("{path}.missing")), "{r:?}");
}

#[test]
fn ipv6_servers() {
    if !support::ipv6_available() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let server = MemcachedServer::start_ipv6();
    let addr = server.addr_string();
    assert!(addr.starts_with("[::1]:"));
    for protocol in ["text", "meta"] {
        run(&[
            "--protocol",
            protocol,
            "--servers",
            &addr,
            "set",
            "k",
            protocol,
        ])
        .silent_ok();
        assert_eq!(server.raw_get(b"k"), Some(protocol.as_bytes().to_vec()));
        let r = run(&["--protocol", protocol, "--servers", &addr, "get", "k"]);
        assert_eq!(r.ok(), protocol.as_bytes());
    }
}

#[test]
fn an_unreachable_server_exits_2_naming_it() {
    let port = closed_port();
    let addr = format!("127.0.0.1:{port}");
    for args in [
        &["get", "k"][..],
        &["set", "k", "v"],
        &["stats"],
        &["version"],
        &["flush"],
    ] {
        let mut all = vec!["--servers", addr.as_str()];
        all.extend_from_slice(args);
        let started = Instant::now();
        let r = run(&all);
        let message = r.error();
        assert!(message.contains(&addr), "{args:?}: {r:?}");
        assert!(message.contains("refused"), "{args:?}: {r:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn a_frozen_server_times_out_instead_of_hanging() {
    let mut server = MemcachedServer::start();
    server.raw_set(b"k", b"v", 0);
    server.freeze();
    let started = Instant::now();
    let r = mc(&server, &["--timeout", "0.5", "get", "k"]);
    let elapsed = started.elapsed();
    server.thaw();
    let message = r.error();
    assert!(message.contains("timed out"), "{r:?}");
    assert!(message.contains(&server.addr_string()), "{r:?}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn several_servers_spread_keys_and_each_key_lives_on_one() {
    let servers = MemcachedServer::start_many(3);
    let list = servers
        .iter()
        .map(MemcachedServer::addr_string)
        .collect::<Vec<_>>()
        .join(",");
    let keys: Vec<String> = (0..30).map(|i| format!("key{i}")).collect();
    for key in &keys {
        run(&["--servers", &list, "set", key, &format!("v-{key}")]).silent_ok();
    }
    for key in &keys {
        let holders: Vec<usize> = servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.raw_get(key.as_bytes()).is_some())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(holders.len(), 1, "{key} is on servers {holders:?}");
        let value = run(&["--servers", &list, "get", key]).ok().to_vec();
        assert_eq!(value, format!("v-{key}").into_bytes());
    }
    // Keys were spread over more than one server.
    let used = servers.iter().filter(|s| stat(s, "curr_items") > 0).count();
    assert!(used > 1, "all keys on one server");
    // A multi-key get gathers from every server, in the order given.
    let mut args = vec!["--servers", list.as_str(), "get"];
    args.extend(keys.iter().rev().map(String::as_str));
    let expected: String = keys.iter().rev().map(|k| format!("{k} v-{k}\n")).collect();
    assert_eq!(run(&args).stdout_str(), expected);
    // flush reaches every server.
    run(&["--servers", &list, "flush"]).silent_ok();
    for server in &servers {
        assert_eq!(stat(server, "cmd_flush"), 1);
    }
}
