//! The `memcrab` command line's `route` command and its `--hash` and
//! `--protocol` options: exact stdout bytes and exit codes, routing checked
//! against pymemcache's reference table, the library's `HashClient`, real
//! memcached servers and, when installed, a real twemproxy (nutcracker).
//!
//! The binary belongs to another package, so `CARGO_BIN_EXE_memcrab` is not
//! set here: the first test to need it builds it once with
//! `cargo build -p memcrab-tools` into the target directory this test runs
//! from, with the same profile (as `tests/cli.rs` does).

mod support;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use memcrab::address::parse_server_list;
use memcrab::{Distribution, HashClient};
use support::cli::{closed_port, run, run_env, Run};
use support::nutcracker::find_nutcracker;
use support::reference::PYMEMCACHE_ROUTES;
use support::{MemcachedServer, RawConn, RawTarget};

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// `memcrab [--hash HASH] --servers LIST route KEYS...`.
fn route(hash: Option<&str>, list: &str, keys: &[&str]) -> Run {
    let mut args: Vec<&str> = Vec::new();
    if let Some(hash) = hash {
        args.extend(["--hash", hash]);
    }
    args.extend(["--servers", list, "route"]);
    args.extend_from_slice(keys);
    run(&args)
}

/// The `KEY<TAB>SERVER` lines for `pairs`.
fn lines(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, s)| format!("{k}\t{s}\n")).collect()
}

/// Parses `KEY<TAB>SERVER` lines into pairs, asserting the format.
fn parse_route(out: &str) -> Vec<(String, String)> {
    assert!(out.is_empty() || out.ends_with('\n'), "{out:?}");
    out.lines()
        .map(|line| {
            let (key, server) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("no tab in {line:?}"));
            assert!(!server.contains('\t'), "{line:?}");
            (key.to_owned(), server.to_owned())
        })
        .collect()
}

const HASHES: [(&str, Distribution); 3] = [
    ("rendezvous", Distribution::Rendezvous),
    ("ketama-md5", Distribution::KetamaMd5),
    ("ketama-fnv1a64", Distribution::KetamaFnv1a64),
];

/// The list `--servers` takes for `servers`.
fn server_list(servers: &[MemcachedServer]) -> String {
    servers
        .iter()
        .map(MemcachedServer::addr_string)
        .collect::<Vec<_>>()
        .join(",")
}

// ---------------------------------------------------------------------------
// route: what it prints
// ---------------------------------------------------------------------------

/// pymemcache's `HashClient(['127.0.0.1:11211', '127.0.0.1:11212',
/// '127.0.0.1:11213'])` (pymemcache-spec.md §16.2).
const PYMEMCACHE_NODES: &str = "127.0.0.1:11211,127.0.0.1:11212,127.0.0.1:11213";

#[test]
fn route_agrees_with_pymemcaches_reference_table() {
    let keys: Vec<&str> = PYMEMCACHE_ROUTES.iter().map(|(k, _)| *k).collect();
    let expected: String = PYMEMCACHE_ROUTES
        .iter()
        .map(|(k, port)| format!("{k}\t127.0.0.1:{port}\n"))
        .collect();
    // Rendezvous by default, and by name.
    assert_eq!(route(None, PYMEMCACHE_NODES, &keys).ok_str(), expected);
    assert_eq!(
        route(Some("rendezvous"), PYMEMCACHE_NODES, &keys).ok_str(),
        expected
    );
    // `--opt=value` forms and the environment's list route the same.
    let mut args = vec![
        "--hash=rendezvous",
        "--servers=127.0.0.1:11211,127.0.0.1:11212,127.0.0.1:11213",
        "route",
    ];
    args.extend_from_slice(&keys);
    assert_eq!(run(&args).ok_str(), expected);
    let mut args = vec!["route"];
    args.extend_from_slice(&keys);
    assert_eq!(run_env(Some(PYMEMCACHE_NODES), &args).ok_str(), expected);
    // One key, and a key given twice: a line per key, in the order given.
    assert_eq!(
        route(None, PYMEMCACHE_NODES, &["bar", "foo", "bar"]).ok(),
        b"bar\t127.0.0.1:11211\nfoo\t127.0.0.1:11213\nbar\t127.0.0.1:11211\n"
    );
}

#[test]
fn route_prints_each_server_exactly_as_given() {
    // pymemcache-spec.md §16.4: nodes '::1:11211', '/var/run/memcached.sock',
    // 'localhost:11211'; key0..key5 → localhost, ::1, localhost, sock,
    // sock, localhost.
    let keys = ["key0", "key1", "key2", "key3", "key4", "key5"];
    let spellings = [
        ("[::1]:11211", "/var/run/memcached.sock", "localhost:11211"),
        // Other spellings of the same servers: same routing, printed as
        // written.
        ("[::1]", "unix:/var/run/memcached.sock", "localhost"),
        ("::1", "/var/run/memcached.sock", "localhost:11211"),
    ];
    for (v6, sock, local) in spellings {
        let expected = lines(&[
            ("key0", local),
            ("key1", v6),
            ("key2", local),
            ("key3", sock),
            ("key4", sock),
            ("key5", local),
        ]);
        // Blanks around the items are not part of them.
        let list = format!("{v6}, {sock} ,{local}");
        assert_eq!(route(None, &list, &keys).ok_str(), expected, "{list}");
        let list = format!("{v6},{sock},{local}");
        assert_eq!(route(None, &list, &keys).ok_str(), expected, "{list}");
    }
    // Names the library would normalise (upper case, default port left
    // out, an IPv6 address written long) come back as written.
    let list = "LocalHost,[0:0:0:0:0:0:0:1]:11211,unix:./rel.sock";
    for (hash, _) in HASHES {
        let keys: Vec<String> = (0..60).map(|i| format!("{i}:k")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let out = route(Some(hash), list, &keys).ok_str().to_owned();
        let servers: BTreeSet<String> = parse_route(&out).into_iter().map(|(_, s)| s).collect();
        let given: BTreeSet<String> = list.split(',').map(str::to_owned).collect();
        assert_eq!(servers, given, "{hash}: every server, as written: {out}");
    }
}

#[test]
fn route_with_one_server_names_it_for_every_key() {
    for server in [
        "localhost",
        "localhost:11211",
        "127.0.0.1:1",
        "[::1]:11211",
        "::1",
        "unix:/tmp/x.sock",
        "/tmp/x.sock",
        "cache.example.invalid:4242",
    ] {
        for hash in ["rendezvous", "ketama-md5", "ketama-fnv1a64"] {
            let expected = lines(&[("a", server), ("key0", server), ("zz", server)]);
            let r = route(Some(hash), server, &["a", "key0", "zz"]);
            assert_eq!(r.ok_str(), expected, "{server} {hash}");
        }
    }
    // The default server when neither --servers nor the environment names
    // one, and the environment's list (blanks trimmed).
    assert_eq!(run(&["route", "k"]).ok(), b"k\tlocalhost:11211\n");
    assert_eq!(
        run_env(Some("  mc.example.invalid  "), &["route", "k"]).ok(),
        b"k\tmc.example.invalid\n"
    );
}

#[test]
fn route_connects_to_nothing() {
    // Listening sockets that must see no connection, a closed port, a host
    // that does not resolve, a unix socket that does not exist.
    let listeners: Vec<TcpListener> = (0..2)
        .map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.set_nonblocking(true).unwrap();
            l
        })
        .collect();
    let mut servers: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    servers.push(format!("127.0.0.1:{}", closed_port()));
    servers.push("no-such-host.invalid:11211".to_owned());
    servers.push("unix:/nonexistent/memcrab-test.sock".to_owned());
    let list = servers.join(",");
    let keys: Vec<String> = (0..50).map(|i| format!("key{i}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    for (hash, distribution) in HASHES {
        let started = Instant::now();
        let mut args = vec![
            "--timeout",
            "0.2",
            "--hash",
            hash,
            "--servers",
            &list,
            "route",
        ];
        args.extend_from_slice(&key_refs);
        let r = run(&args);
        let out = r.ok_str();
        let pairs = parse_route(out);
        assert_eq!(pairs.len(), keys.len(), "{out}");
        for ((key, server), expected) in pairs.iter().zip(&keys) {
            assert_eq!(key, expected);
            assert!(servers.contains(server), "{server} is not in {list}");
        }
        // The same as the library's hash client over the same list.
        assert_eq!(out, library_route(&list, distribution, &key_refs), "{hash}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    for l in &listeners {
        match l.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("accept: {e}"),
            Ok((_, peer)) => panic!(
                "route connected to {} (from {peer})",
                l.local_addr().unwrap()
            ),
        }
    }
}

/// What the library's `HashClient` with `distribution` says for `keys`
/// over `list`, as `route` lines with the servers as written in `list`.
fn library_route(list: &str, distribution: Distribution, keys: &[&str]) -> String {
    let addrs = parse_server_list(list).unwrap();
    let given: Vec<&str> = list.split(',').map(str::trim).collect();
    let client = HashClient::builder(addrs.clone())
        .distribution(distribution)
        .build()
        .unwrap();
    keys.iter()
        .map(|key| {
            let addr = client.server_for(key).expect("a server");
            let i = addrs.iter().position(|a| *a == addr).unwrap();
            format!("{key}\t{}\n", given[i])
        })
        .collect()
}

#[test]
fn route_equals_the_librarys_hash_client_for_every_hash() {
    let lists = [
        PYMEMCACHE_NODES.to_owned(),
        "10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11211,10.0.0.4:11211,10.0.0.5:11211".to_owned(),
        "mc-a.example,mc-b.example:11212,[::1]:11213,unix:/run/mc.sock".to_owned(),
        "127.0.0.1:40001,127.0.0.1:40002".to_owned(),
    ];
    let keys: Vec<String> = (0..300)
        .map(|i| format!("{i}:user:{}", i * 7919))
        .chain((0..50).map(|i| format!("key{i}")))
        .collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut outputs: HashMap<(&str, &str), String> = HashMap::new();
    for list in &lists {
        for (hash, distribution) in HASHES {
            let out = route(Some(hash), list, &key_refs).ok_str().to_owned();
            assert_eq!(
                out,
                library_route(list, distribution, &key_refs),
                "{hash} {list}"
            );
            outputs.insert((list.as_str(), hash), out);
        }
    }
    // --hash is honoured: the three hashes spread the same keys differently.
    for list in &lists {
        let of = |hash| &outputs[&(list.as_str(), hash)];
        assert_ne!(of("rendezvous"), of("ketama-md5"), "{list}");
        assert_ne!(of("rendezvous"), of("ketama-fnv1a64"), "{list}");
        assert_ne!(of("ketama-md5"), of("ketama-fnv1a64"), "{list}");
    }
}

// ---------------------------------------------------------------------------
// route, --hash, --protocol: errors
// ---------------------------------------------------------------------------

#[test]
fn bad_options_and_arguments_exit_2_before_any_connection() {
    let closed = format!("127.0.0.1:{}", closed_port());
    let cases: &[(&[&str], &str)] = &[
        (
            &["--hash", "foo", "get", "k"],
            "invalid --hash 'foo': expected rendezvous, ketama-md5 or ketama-fnv1a64",
        ),
        (
            &["--hash=Ketama-MD5", "route", "k"],
            "invalid --hash 'Ketama-MD5': expected rendezvous, ketama-md5 or ketama-fnv1a64",
        ),
        (
            &["--hash", "", "route", "k"],
            "invalid --hash '': expected rendezvous, ketama-md5 or ketama-fnv1a64",
        ),
        (
            &["--protocol", "bar", "version"],
            "invalid --protocol 'bar': expected text or meta",
        ),
        (
            &["--protocol=binary", "get", "k"],
            "invalid --protocol 'binary': expected text or meta",
        ),
        (&["--hash"], "option --hash needs a value"),
        (&["--protocol"], "option --protocol needs a value"),
        (
            &["get", "k", "--hash", "ketama-md5"],
            "option --hash belongs before the command",
        ),
        (
            &["route", "k", "--protocol", "meta"],
            "option --protocol belongs before the command",
        ),
        (&["route"], "route takes at least 1 argument, got 0"),
        (
            &["route", "k", "--ttl", "1"],
            "unknown option '--ttl' for route",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["--servers", closed.as_str()];
        all.extend_from_slice(args);
        let r = run(&all);
        assert_eq!(r.usage_error(), *message, "{args:?}");
    }
    let r = run(&["--servers", &closed, "route"]);
    assert!(
        r.stderr.ends_with(" (usage: memcrab route KEY...)\n"),
        "{r:?}"
    );
    let r = run(&["--servers", &closed, "--hash", "foo", "route", "k"]);
    assert!(r.stderr.ends_with("see 'memcrab --help')\n"), "{r:?}");
}

#[test]
fn route_refuses_bad_keys_and_prints_nothing() {
    let long = "k".repeat(251);
    let cases: Vec<(Vec<OsString>, &str)> = vec![
        (
            vec!["ok".into(), "a b".into()],
            r#"illegal input: key contains whitespace: "a b""#,
        ),
        (
            vec!["ok".into(), long.clone().into()],
            "illegal input: key is too long",
        ),
        (vec!["".into()], "illegal input: key is empty"),
        (
            vec![OsStr::from_bytes(b"a\tb").to_owned()],
            "illegal input: key contains whitespace",
        ),
        (
            vec![OsStr::from_bytes(b"a\x01b").to_owned()],
            "illegal input: key contains a control character",
        ),
        (
            vec![OsStr::from_bytes(b"\xff").to_owned()],
            "illegal input: key",
        ),
    ];
    for list in [PYMEMCACHE_NODES, "localhost"] {
        for (keys, message) in &cases {
            let mut args: Vec<OsString> = vec!["--servers".into(), list.into(), "route".into()];
            args.extend(keys.iter().cloned());
            let r = run(&args);
            assert!(r.error().starts_with(message), "{keys:?}: {r:?}");
        }
    }
    // The longest key there is routes.
    let longest = "k".repeat(250);
    assert_eq!(
        route(None, "localhost", &[&longest]).ok(),
        format!("{longest}\tlocalhost\n").as_bytes()
    );
}

#[test]
fn help_documents_hash_protocol_and_route() {
    let help = String::from_utf8(run(&["--help"]).ok().to_vec()).unwrap();
    for text in [
        "[--hash HASH]",
        "[--protocol PROTOCOL]",
        "--hash HASH",
        "rendezvous",
        "ketama-md5",
        "ketama-fnv1a64",
        "--protocol PROTOCOL",
        "text (default)",
        "meta: its meta commands",
        "route KEY...",
        "'KEY<TAB>SERVER'",
        "exactly as given",
        "connects to no server",
    ] {
        assert!(help.contains(text), "help lacks {text:?}:\n{help}");
    }
    // Every help line fits 80 columns.
    for line in help.lines() {
        assert!(line.chars().count() <= 80, "too long: {line:?}");
    }
}

// ---------------------------------------------------------------------------
// Real servers: keys land where route says
// ---------------------------------------------------------------------------

/// For each key, the index of the one server holding it.
fn holder(servers: &[MemcachedServer], key: &str) -> usize {
    let at: Vec<usize> = servers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.raw_get(key.as_bytes()).is_some())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "{key} is on servers {at:?}");
    at[0]
}

#[test]
fn set_through_the_cli_lands_on_the_server_route_names() {
    let servers = MemcachedServer::start_many(3);
    let list = server_list(&servers);
    let addrs: Vec<String> = servers.iter().map(MemcachedServer::addr_string).collect();
    let keys: Vec<String> = (0..30).map(|i| format!("{i}:item")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    for (hash, _) in HASHES {
        for protocol in ["text", "meta"] {
            for s in &servers {
                s.raw_flush_all();
            }
            let out = route(Some(hash), &list, &key_refs).ok_str().to_owned();
            let routes = parse_route(&out);
            let mut used = BTreeSet::new();
            for (key, server) in &routes {
                let value = format!("{hash}-{protocol}-{key}");
                let args = [
                    "--hash",
                    hash,
                    "--protocol",
                    protocol,
                    "--servers",
                    &list,
                    "set",
                    key,
                    &value,
                ];
                run(&args).silent_ok();
                let at = holder(&servers, key);
                assert_eq!(
                    &addrs[at], server,
                    "{hash}/{protocol}: {key} is on {} but route says {server}",
                    addrs[at]
                );
                assert_eq!(
                    servers[at].raw_get(key.as_bytes()),
                    Some(value.clone().into_bytes())
                );
                used.insert(at);
                // get with the same hash finds it.
                let args = [
                    "--hash",
                    hash,
                    "--protocol",
                    protocol,
                    "--servers",
                    &list,
                    "get",
                    key,
                ];
                assert_eq!(run(&args).ok(), value.as_bytes());
            }
            assert!(used.len() > 1, "{hash}: every key on one server");
        }
    }
}

#[test]
fn ketama_md5_keys_land_on_the_server_route_names() {
    // The case the brief singles out: --hash ketama-md5, three servers.
    let servers = MemcachedServer::start_many(3);
    let list = server_list(&servers);
    let addrs: Vec<String> = servers.iter().map(MemcachedServer::addr_string).collect();
    let keys: Vec<String> = (0..40).map(|i| format!("user:{i}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let routes = parse_route(route(Some("ketama-md5"), &list, &key_refs).ok_str());
    for (key, _) in &routes {
        run(&["--hash", "ketama-md5", "--servers", &list, "set", key, "v"]).silent_ok();
    }
    let mut per_server = [0usize; 3];
    for (key, server) in &routes {
        let at = holder(&servers, key);
        assert_eq!(&addrs[at], server, "{key}");
        per_server[at] += 1;
    }
    assert!(
        per_server.iter().filter(|&&n| n > 0).count() > 1,
        "{per_server:?}"
    );
    // A multi-key get and delete with the same hash reach every key.
    let mut args = vec!["--hash", "ketama-md5", "--servers", &list, "get"];
    args.extend_from_slice(&key_refs);
    let expected: String = keys.iter().map(|k| format!("{k} v\n")).collect();
    assert_eq!(std::str::from_utf8(run(&args).ok()).unwrap(), expected);
    let mut args = vec!["--hash", "ketama-md5", "--servers", &list, "delete"];
    args.extend_from_slice(&key_refs);
    run(&args).silent_ok();
    for s in &servers {
        assert_eq!(s.raw_stat("curr_items").as_deref(), Some("0"));
    }
}

// ---------------------------------------------------------------------------
// A real twemproxy (nutcracker) in ketama mode
// ---------------------------------------------------------------------------

/// A running nutcracker with one ketama pool, killed on drop.
struct Nutcracker {
    child: Child,
    _dir: tempfile::TempDir,
    listen: SocketAddr,
}

impl Nutcracker {
    fn start(bin: &Path, hash: &str, servers: &[String]) -> Nutcracker {
        let mut last = String::new();
        for _ in 0..5 {
            match Nutcracker::try_start(bin, hash, servers) {
                Ok(nc) => return nc,
                Err(log) => last = log,
            }
        }
        panic!("nutcracker did not start:\n{last}");
    }

    fn try_start(bin: &Path, hash: &str, servers: &[String]) -> Result<Nutcracker, String> {
        let dir = tempfile::Builder::new()
            .prefix("memcrab-cli-nutcracker-")
            .tempdir()
            .unwrap();
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let listen = free();
        let stats = free();
        let mut conf = format!(
            "pool:\n  listen: {listen}\n  hash: {hash}\n  distribution: ketama\n  \
             auto_eject_hosts: false\n  timeout: 5000\n  servers:\n"
        );
        for server in servers {
            conf.push_str(&format!("   - {server}:1\n"));
        }
        let conf_path = dir.path().join("nutcracker.yml");
        let log_path = dir.path().join("nutcracker.log");
        fs::write(&conf_path, &conf).unwrap();
        let mut child = Command::new(bin)
            .arg("-c")
            .arg(&conf_path)
            .arg("-o")
            .arg(&log_path)
            .args(["-s", &stats.port().to_string(), "-a", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!("exited ({status})\n{conf}\n{log}"));
            }
            if TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not listen on {listen}\n{conf}"));
            }
            sleep(Duration::from_millis(20));
        }
        Ok(Nutcracker {
            child,
            _dir: dir,
            listen,
        })
    }
}

impl Drop for Nutcracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn route_names_the_backend_twemproxy_put_each_key_on() {
    let Some(bin) = find_nutcracker() else {
        eprintln!("SKIPPED: nutcracker (twemproxy) is not installed (apt-get install nutcracker)");
        return;
    };
    let servers = MemcachedServer::start_many(3);
    let addrs: Vec<String> = servers.iter().map(MemcachedServer::addr_string).collect();
    let list = addrs.join(",");
    for (twemproxy_hash, cli_hash) in [("md5", "ketama-md5"), ("fnv1a_64", "ketama-fnv1a64")] {
        for s in &servers {
            s.raw_flush_all();
        }
        let nc = Nutcracker::start(&bin, twemproxy_hash, &addrs);
        // Keys that start with their number: twemproxy's fnv1a_64 spreads
        // keys that differ only at the end badly.
        let keys: Vec<String> = (0..100).map(|i| format!("{i}:tw")).collect();
        let mut conn =
            RawConn::connect(&RawTarget::Tcp(nc.listen), Duration::from_secs(5)).unwrap();
        for key in &keys {
            conn.send(format!("set {key} 0 0 2\r\ntw\r\n").as_bytes())
                .unwrap();
            assert_eq!(conn.read_line().unwrap(), b"STORED", "{key}");
        }
        drop(conn);
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let routes = parse_route(route(Some(cli_hash), &list, &key_refs).ok_str());
        let mut used = BTreeSet::new();
        for (key, server) in &routes {
            let at = holder(&servers, key);
            assert_eq!(
                &addrs[at], server,
                "twemproxy ({twemproxy_hash}) put {key} on {}, memcrab --hash {cli_hash} \
                 route says {server}",
                addrs[at]
            );
            used.insert(at);
        }
        assert!(used.len() > 1, "{twemproxy_hash}: every key on one server");
    }
}

// ---------------------------------------------------------------------------
// --protocol meta: every command, the same output as text
// ---------------------------------------------------------------------------

/// The memcached commands a `-vv` log shows memcrab sent between `from`
/// (a byte offset of the log) and its end.
fn commands_logged(server: &MemcachedServer, from: usize) -> BTreeSet<String> {
    let log = server.log();
    let mut commands = BTreeSet::new();
    for line in log[from..].lines() {
        // `<28 mg key v f`: a command received on connection 28.
        if let Some(rest) = line.strip_prefix('<') {
            let mut words = rest.split(' ');
            let conn = words.next().unwrap_or("");
            if conn.bytes().all(|b| b.is_ascii_digit()) {
                if let Some(command) = words.next() {
                    commands.insert(command.to_owned());
                }
            }
        }
    }
    commands
}

/// Runs every command of the command line, with `--protocol protocol`,
/// against `server` (started with `-vv -I 1k`), asserting each result;
/// returns the transcript (the server's address written `ADDR`) and the
/// memcached commands the command line sent.
fn every_command(server: &MemcachedServer, protocol: &str) -> (Vec<Run>, BTreeSet<String>) {
    let addr = server.addr_string();
    let transcript = RefCell::new(Vec::new());
    let sent = RefCell::new(BTreeSet::new());
    let mc = |args: &[&[u8]]| -> Run {
        let mut all: Vec<OsString> = vec![
            "--protocol".into(),
            protocol.into(),
            "--servers".into(),
            addr.clone().into(),
        ];
        all.extend(args.iter().map(|a| OsStr::from_bytes(a).to_owned()));
        // Only what the log gains while memcrab runs: memcached logs a
        // command before it replies, and memcrab exits after the reply.
        let log_at = server.log().len();
        let r = run(&all);
        sent.borrow_mut().extend(commands_logged(server, log_at));
        let mut normal = r.clone();
        normal.stdout = String::from_utf8_lossy(&r.stdout)
            .replace(&addr, "ADDR")
            .into_bytes();
        normal.stderr = r.stderr.replace(&addr, "ADDR");
        transcript.borrow_mut().push(normal);
        r
    };
    // Replaces the stdout of the last step in the transcript.
    let replace_last = |stdout: Vec<u8>| {
        transcript.borrow_mut().last_mut().unwrap().stdout = stdout;
    };

    // set and get
    mc(&[b"set", b"k", b"hello", b"--flags", b"3", b"--ttl", b"1000"]).silent_ok();
    let item = server.raw_item(b"k").unwrap();
    assert_eq!((item.value.as_slice(), item.flags), (&b"hello"[..], 3));
    assert_eq!(mc(&[b"get", b"k"]).ok(), b"hello");
    assert_eq!(mc(&[b"get", b"nope"]).miss(), "");
    let r = mc(&[b"get", b"nope", b"k", b"k"]);
    assert_eq!(
        (r.code, r.stdout.as_slice(), r.stderr.as_str()),
        (1, &b"k hello\nk hello\n"[..], "")
    );
    // Values are bytes: CR LF, END, invalid UTF-8.
    let binary = b"a\r\nEND\r\n\x01\xff b".to_vec();
    mc(&[b"set", b"bin", &binary]).silent_ok();
    assert_eq!(server.raw_get(b"bin"), Some(binary.clone()));
    assert_eq!(mc(&[b"get", b"bin"]).ok(), binary.as_slice());
    mc(&[b"set", b"empty", b""]).silent_ok();
    assert_eq!(mc(&[b"get", b"empty"]).ok(), b"");

    // gets and cas
    let cas = server.raw_item(b"k").unwrap().cas;
    assert_eq!(
        mc(&[b"gets", b"k"]).ok(),
        format!("{cas} hello\n").as_bytes()
    );
    assert_eq!(mc(&[b"gets", b"nope"]).miss(), "");
    let token = cas.to_string();
    mc(&[b"cas", b"k", b"v2", token.as_bytes(), b"--flags", b"9"]).silent_ok();
    let item = server.raw_item(b"k").unwrap();
    assert_eq!((item.value.as_slice(), item.flags), (&b"v2"[..], 9));
    assert_eq!(
        mc(&[b"cas", b"k", b"v3", token.as_bytes()]).miss(),
        "memcrab: not stored: the item changed since its cas token was read (EXISTS)\n"
    );
    assert_eq!(
        mc(&[b"cas", b"nope", b"v", b"1"]).miss(),
        "memcrab: not stored: not found: nope (NOT_FOUND)\n"
    );

    // add, replace, append, prepend
    assert_eq!(mc(&[b"add", b"k", b"x"]).miss(), "memcrab: not stored\n");
    mc(&[b"add", b"new", b"n1"]).silent_ok();
    assert_eq!(
        mc(&[b"replace", b"nope", b"x"]).miss(),
        "memcrab: not stored\n"
    );
    mc(&[b"replace", b"new", b"n2", b"--ttl", b"500"]).silent_ok();
    mc(&[b"append", b"k", b" world"]).silent_ok();
    mc(&[b"prepend", b"k", b">"]).silent_ok();
    assert_eq!(mc(&[b"get", b"k"]).ok(), b">v2 world");
    assert_eq!(
        mc(&[b"append", b"nope", b"x"]).miss(),
        "memcrab: not stored\n"
    );
    assert_eq!(
        mc(&[b"prepend", b"nope", b"x"]).miss(),
        "memcrab: not stored\n"
    );
    assert_eq!(mc(&[b"get", b"k", b"new"]).ok(), b"k >v2 world\nnew n2\n");

    // incr, decr
    mc(&[b"set", b"n", b"10"]).silent_ok();
    assert_eq!(mc(&[b"incr", b"n", b"5"]).ok(), b"15\n");
    assert_eq!(mc(&[b"decr", b"n", b"3"]).ok(), b"12\n");
    assert_eq!(mc(&[b"decr", b"n", b"100"]).ok(), b"0\n");
    assert_eq!(
        mc(&[b"incr", b"n", b"18446744073709551615"]).ok(),
        b"18446744073709551615\n"
    );
    assert_eq!(
        mc(&[b"incr", b"nope", b"1"]).miss(),
        "memcrab: not found: nope\n"
    );
    assert_eq!(
        mc(&[b"decr", b"nope", b"1"]).miss(),
        "memcrab: not found: nope\n"
    );
    mc(&[b"set", b"text", b"abc"]).silent_ok();
    assert_eq!(
        mc(&[b"incr", b"text", b"1"]).error(),
        format!(
            "server reported a client error: cannot increment or decrement non-numeric value \
             (server {addr})"
        )
    );

    // touch
    mc(&[b"touch", b"n", b"500"]).silent_ok();
    assert_eq!(
        mc(&[b"touch", b"nope", b"5"]).miss(),
        "memcrab: not found: nope\n"
    );

    // delete
    assert_eq!(
        mc(&[b"delete", b"new", b"nope", b"empty"]).miss(),
        "memcrab: not found: nope\n"
    );
    assert_eq!(
        (server.raw_get(b"new"), server.raw_get(b"empty")),
        (None, None)
    );
    mc(&[b"delete", b"bin"]).silent_ok();
    assert_eq!(server.raw_get(b"bin"), None);

    // Errors: a bad key never sent, a value over the server's limit.
    assert!(mc(&[b"get", b"a b"])
        .error()
        .starts_with("illegal input: key contains whitespace"),);
    assert_eq!(
        mc(&[b"set", b"big", "x".repeat(2000).as_bytes()]).error(),
        format!("server error: object too large for cache (server {addr})")
    );
    assert_eq!(server.raw_get(b"big"), None);

    // version, stats
    let version = String::from_utf8(server.raw(b"version\r\n")).unwrap();
    let version = version.strip_prefix("VERSION ").unwrap().trim_end();
    assert_eq!(mc(&[b"version"]).ok(), format!("{version}\n").as_bytes());
    let stats = mc(&[b"stats"]).ok_str().to_owned();
    let names: Vec<&str> = stats
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let raw = server.raw_stats();
    let raw_names: Vec<&str> = raw.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, raw_names);
    assert!(stats.contains("\ncurr_items 3\n"), "{stats}");
    // Server-dependent values (pid, uptime, ports) are not compared.
    replace_last(names.join("\n").into_bytes());
    let settings = mc(&[b"stats", b"settings"]).ok().to_vec();
    assert!(settings.starts_with(b"maxbytes "), "{settings:?}");
    replace_last(Vec::new());
    assert_eq!(
        mc(&[b"stats", b"bogus"]).error(),
        format!("server refused command `stats`: ERROR (server {addr})")
    );

    // route (no I/O), flush
    assert_eq!(
        mc(&[b"route", b"k", b"n"]).ok(),
        format!("k\t{addr}\nn\t{addr}\n").as_bytes()
    );
    mc(&[b"flush", b"--delay", b"100"]).silent_ok();
    assert!(server.raw_get(b"k").is_some());
    mc(&[b"flush"]).silent_ok();
    assert_eq!(mc(&[b"get", b"k", b"n", b"text"]).miss(), "");
    assert_eq!(server.raw_stat("cmd_flush").as_deref(), Some("2"));

    (transcript.into_inner(), sent.into_inner())
}

#[test]
fn every_command_over_meta_prints_exactly_what_text_prints() {
    let start = || {
        MemcachedServer::builder()
            .arg("-vv")
            .item_size_limit("1k")
            .start()
    };
    let (text_server, meta_server) = (start(), start());
    let (text, text_sent) = every_command(&text_server, "text");
    let (meta, meta_sent) = every_command(&meta_server, "meta");
    assert_eq!(text.len(), meta.len());
    for (i, (t, m)) in text.iter().zip(&meta).enumerate() {
        assert_eq!(t, m, "step {i}: text and meta differ");
    }

    // Each protocol really was used.
    let meta_commands = ["mg", "ms", "md", "ma", "mn", "me"];
    let keyed_classic = [
        "get", "gets", "set", "add", "replace", "append", "prepend", "cas", "delete", "incr",
        "decr", "touch",
    ];
    for word in &text_sent {
        assert!(
            !meta_commands.contains(&word.as_str()),
            "text sent {word}: {text_sent:?}"
        );
    }
    for word in keyed_classic {
        assert!(
            text_sent.contains(word),
            "text never sent {word}: {text_sent:?}"
        );
    }
    for word in &meta_sent {
        assert!(
            !keyed_classic.contains(&word.as_str()),
            "meta sent {word}: {meta_sent:?}"
        );
    }
    for word in ["mg", "ms", "md", "ma"] {
        assert!(
            meta_sent.contains(word),
            "meta never sent {word}: {meta_sent:?}"
        );
    }
    for word in ["version", "stats", "flush_all"] {
        assert!(meta_sent.contains(word), "{meta_sent:?}");
    }
}

#[test]
fn read_only_commands_print_the_same_bytes_over_both_protocols() {
    // One server, one state: text and meta must agree byte for byte.
    let server = MemcachedServer::start();
    server.raw_set(b"a", b"1", 7);
    server.raw_set(b"b", b"two words\r\nEND\r\n", 0);
    let addr = server.addr_string();
    let cases: &[&[&str]] = &[
        &["get", "a"],
        &["get", "b"],
        &["get", "b", "missing", "a"],
        &["get", "missing"],
        &["gets", "a"],
        &["gets", "missing"],
        &["stats", "settings"],
        &["version"],
        &["route", "a", "b"],
        &["get", "a b"],
        &["stats", "bogus"],
    ];
    for args in cases {
        let with = |protocol: &str| {
            let mut all = vec!["--protocol", protocol, "--servers", &addr];
            all.extend_from_slice(args);
            run(&all)
        };
        let (text, meta) = (with("text"), with("meta"));
        assert_eq!(text, meta, "{args:?}");
        // --protocol text is the default.
        let mut all = vec!["--servers", addr.as_str()];
        all.extend_from_slice(args);
        assert_eq!(run(&all), text, "{args:?}");
    }
}

#[test]
fn meta_over_several_servers_routes_like_text() {
    let servers = MemcachedServer::start_many(3);
    let list = server_list(&servers);
    let addrs: Vec<String> = servers.iter().map(MemcachedServer::addr_string).collect();
    let keys: Vec<String> = (0..20).map(|i| format!("key{i}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let routes = parse_route(route(None, &list, &key_refs).ok_str());
    for (key, server) in &routes {
        run(&["--protocol", "meta", "--servers", &list, "set", key, key]).silent_ok();
        assert_eq!(&addrs[holder(&servers, key)], server, "{key}");
    }
    let mut args = vec!["--protocol", "meta", "--servers", &list, "get"];
    args.extend(key_refs.iter().rev());
    let expected: String = keys.iter().rev().map(|k| format!("{k} {k}\n")).collect();
    assert_eq!(std::str::from_utf8(run(&args).ok()).unwrap(), expected);
    let mut args = vec!["--protocol", "meta", "--servers", &list, "delete", "nope"];
    args.extend_from_slice(&key_refs);
    assert_eq!(run(&args).miss(), "memcrab: not found: nope\n");
    for s in &servers {
        assert_eq!(s.raw_stat("curr_items").as_deref(), Some("0"));
    }
    run(&["--protocol", "meta", "--servers", &list, "flush"]).silent_ok();
    for s in &servers {
        assert_eq!(s.raw_stat("cmd_flush").as_deref(), Some("1"));
    }
}
