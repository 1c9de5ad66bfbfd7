//! Ketama compatibility with a real twemproxy (nutcracker): keys set
//! through nutcracker are found by memcrab's `HashClient` with
//! `Distribution::KetamaMd5` / `KetamaFnv1a64` over the same servers, and
//! the other way round.
//!
//! Needs the `nutcracker` binary (Debian/Ubuntu: `apt-get install -y
//! nutcracker`; or set `NUTCRACKER_BIN`). Without it the tests are skipped
//! with a notice, unless `MEMCRAB_REQUIRE_NUTCRACKER=1`, which makes them
//! try `apt-get install -y nutcracker` and fail if that does not work.

mod support;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use memcrab::address::ServerAddr;
use memcrab::core::router::{
    twemproxy_server_name, Distribution, HealthConfig, NodeId, Route, Router,
};
use memcrab::core::Millis;
use memcrab::{HashClient, Memcache, StoreOptions};
use support::nutcracker::find_nutcracker;
use support::{MemcachedServer, RawConn, RawTarget};

const KEYS: usize = 300;
const IO_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// Finding and running nutcracker
// ---------------------------------------------------------------------------

fn required() -> bool {
    std::env::var("MEMCRAB_REQUIRE_NUTCRACKER").as_deref() == Ok("1")
}

/// The nutcracker binary, or `None` after printing why `test` is skipped.
fn nutcracker_or_skip(test: &str) -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        find_nutcracker().or_else(|| {
            if !required() {
                return None;
            }
            eprintln!("nutcracker not found; trying apt-get install -y nutcracker");
            let _ = Command::new("apt-get")
                .args(["install", "-y", "nutcracker"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .status();
            find_nutcracker()
        })
    });
    match found {
        Some(bin) => Some(bin.clone()),
        None if required() => panic!(
            "MEMCRAB_REQUIRE_NUTCRACKER=1 but the nutcracker (twemproxy) binary was not found \
             and `apt-get install -y nutcracker` did not provide it; install it, or set \
             NUTCRACKER_BIN=/path/to/nutcracker"
        ),
        None => {
            eprintln!(
                "SKIPPED {test}: nutcracker (twemproxy) is not installed; \
                 apt-get install -y nutcracker (MEMCRAB_REQUIRE_NUTCRACKER=1 makes this fail)"
            );
            None
        }
    }
}

/// One pool of a nutcracker configuration.
struct Pool {
    hash: &'static str,
    /// `host:port` and weight of each server, in order.
    servers: Vec<(String, u32)>,
}

/// A running nutcracker, killed on drop.
struct Nutcracker {
    child: Child,
    _dir: tempfile::TempDir,
    /// The listen address of each pool, in order.
    listen: Vec<SocketAddr>,
}

impl Nutcracker {
    fn start(bin: &Path, pools: &[Pool]) -> Nutcracker {
        let mut last_log = String::new();
        for _ in 0..5 {
            match Nutcracker::try_start(bin, pools) {
                Ok(nc) => return nc,
                Err(log) => last_log = log,
            }
        }
        panic!("nutcracker did not start; its log:\n{last_log}");
    }

    fn try_start(bin: &Path, pools: &[Pool]) -> Result<Nutcracker, String> {
        let dir = tempfile::Builder::new()
            .prefix("memcrab-nutcracker-")
            .tempdir()
            .unwrap();
        let listen: Vec<SocketAddr> = pools.iter().map(|_| free_addr()).collect();
        let mut conf = String::new();
        for (i, (pool, addr)) in pools.iter().zip(&listen).enumerate() {
            conf.push_str(&format!(
                "pool_{i}:\n  listen: {addr}\n  hash: {}\n  distribution: ketama\n  \
                 auto_eject_hosts: false\n  timeout: 5000\n  servers:\n",
                pool.hash
            ));
            for (server, weight) in &pool.servers {
                conf.push_str(&format!("   - {server}:{weight}\n"));
            }
        }
        let conf_path = dir.path().join("nutcracker.yml");
        let log_path = dir.path().join("nutcracker.log");
        fs::write(&conf_path, &conf).unwrap();
        let stats = free_addr();
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
        let log = || {
            format!(
                "config:\n{conf}\nlog:\n{}",
                fs::read_to_string(&log_path).unwrap_or_default()
            )
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        for addr in &listen {
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("nutcracker exited ({status})\n{}", log()));
                }
                if TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok() {
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("nutcracker did not listen on {addr}\n{}", log()));
                }
                sleep(Duration::from_millis(20));
            }
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

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Plain-socket exchanges
// ---------------------------------------------------------------------------

fn connect(addr: SocketAddr) -> RawConn {
    RawConn::connect(&RawTarget::Tcp(addr), IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// Sets every item on one connection to `addr`, asserting `STORED`.
fn raw_set_all(addr: SocketAddr, items: &[(String, String)]) {
    let mut conn = connect(addr);
    for (k, v) in items {
        conn.send(format!("set {k} 0 0 {}\r\n{v}\r\n", v.len()).as_bytes())
            .unwrap();
        let line = conn.read_line().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&line),
            "STORED",
            "set {k} through {addr}"
        );
    }
}

/// `get k1 k2 …` on one connection to `addr`: the items found.
fn raw_get_many(addr: SocketAddr, keys: &[String]) -> io::Result<HashMap<String, String>> {
    let mut conn = RawConn::connect(&RawTarget::Tcp(addr), IO_TIMEOUT)?;
    let mut found = HashMap::new();
    for chunk in keys.chunks(100) {
        conn.send(format!("get {}\r\n", chunk.join(" ")).as_bytes())?;
        loop {
            let line = String::from_utf8(conn.read_line()?).unwrap();
            if line == "END" {
                break;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            assert!(
                fields.len() == 4 && fields[0] == "VALUE",
                "unexpected line from {addr}: {line:?}"
            );
            let len: usize = fields[3].parse().unwrap();
            let mut data = conn.read_exact_bytes(len + 2)?;
            data.truncate(len);
            found.insert(fields[1].to_owned(), String::from_utf8(data).unwrap());
        }
    }
    Ok(found)
}

/// `KEYS` items whose keys start with their number: twemproxy's fnv1a_64
/// (32-bit) spreads keys that differ only in their last bytes badly.
fn items(suffix: &str) -> Vec<(String, String)> {
    (0..KEYS)
        .map(|i| (format!("{i}:{suffix}"), format!("value{i}{suffix}")))
        .collect()
}

fn keys_of(items: &[(String, String)]) -> Vec<String> {
    items.iter().map(|(k, _)| k.clone()).collect()
}

/// For each key, the index of the one server holding it (asserting no key
/// is on two servers and every key is somewhere).
fn holders(servers: &[SocketAddr], keys: &[String]) -> HashMap<String, usize> {
    let mut at = HashMap::new();
    for (i, &addr) in servers.iter().enumerate() {
        for k in raw_get_many(addr, keys).unwrap().into_keys() {
            if let Some(j) = at.insert(k.clone(), i) {
                panic!("{k} is on servers {j} and {i}");
            }
        }
    }
    assert_eq!(at.len(), keys.len(), "every key should be on some server");
    at
}

fn hash_client(addrs: &[String], distribution: Distribution) -> HashClient {
    HashClient::builder(addrs.iter().map(String::as_str))
        .distribution(distribution)
        .connect_timeout(Duration::from_secs(2))
        .timeout(IO_TIMEOUT)
        .default_noreply(false)
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Keys set through twemproxy with `hash` are found by memcrab with
/// `distribution`, and keys set by memcrab are found through twemproxy.
fn same_keys_as_twemproxy(test: &str, hash: &'static str, distribution: Distribution) {
    let Some(bin) = nutcracker_or_skip(test) else {
        return;
    };
    let servers = MemcachedServer::start_many(3);
    let addrs: Vec<String> = servers.iter().map(MemcachedServer::addr_string).collect();
    let sockets: Vec<SocketAddr> = servers.iter().map(MemcachedServer::socket_addr).collect();
    let nc = Nutcracker::start(
        &bin,
        &[Pool {
            hash,
            servers: addrs.iter().map(|a| (a.clone(), 1)).collect(),
        }],
    );
    let proxy = nc.listen[0];
    let client = hash_client(&addrs, distribution);

    // HashClient names ketama nodes as twemproxy does.
    for s in &servers {
        let addr: ServerAddr = s.addr_string().parse().unwrap();
        assert_eq!(client.node_name(&addr), format!("127.0.0.1:{}", s.port()));
    }

    // Twemproxy → memcrab.
    let tw = items("tw");
    let tw_keys = keys_of(&tw);
    raw_set_all(proxy, &tw);
    let got = client.get_many::<memcrab::Value, _>(&tw_keys).unwrap();
    let missing: Vec<&String> = tw_keys.iter().filter(|k| !got.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "memcrab ({distribution:?}) misses {} of {KEYS} keys twemproxy ({hash}) set, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    for (k, v) in &tw {
        assert_eq!(got[k].as_bytes(), Some(v.as_bytes()), "{k}");
    }
    let at = holders(&sockets, &tw_keys);
    let mut per_server = [0usize; 3];
    for k in &tw_keys {
        let owner = client.server_for(k).unwrap();
        assert_eq!(owner.port(), Some(servers[at[k]].port()), "{k}");
        per_server[at[k]] += 1;
    }
    assert!(per_server.iter().all(|&n| n > 0), "{per_server:?}");
    eprintln!("{hash}: keys per server {per_server:?}");

    // The check can fail: rendezvous hashing puts many keys elsewhere.
    let rendezvous = hash_client(&addrs, Distribution::Rendezvous);
    let found = rendezvous
        .get_many::<memcrab::Value, _>(&tw_keys)
        .unwrap()
        .len();
    assert!(found < KEYS * 2 / 3, "rendezvous found {found}");

    // Keys with bytes above 0x7f (fnv1a_64 mixes them in sign-extended,
    // as nutcracker built for x86-64 does).
    let unicode: Vec<(String, String)> = (0..100)
        .map(|i| (format!("é{i}ü-ключ"), format!("u{i}")))
        .collect();
    raw_set_all(proxy, &unicode);
    let unicode_client = HashClient::builder(addrs.iter().map(String::as_str))
        .options(memcrab::ClientOptions {
            allow_unicode_keys: true,
            timeout: Some(IO_TIMEOUT),
            ..Default::default()
        })
        .distribution(distribution)
        .build()
        .unwrap();
    let got = unicode_client
        .get_many::<memcrab::Value, _>(&keys_of(&unicode))
        .unwrap();
    assert_eq!(
        got.len(),
        100,
        "non-ASCII keys set through twemproxy ({hash})"
    );

    // memcrab → twemproxy.
    let rs = items("rs");
    assert!(client
        .set_many(&rs, StoreOptions::new())
        .unwrap()
        .is_empty());
    let through = raw_get_many(proxy, &keys_of(&rs)).unwrap();
    assert_eq!(through.len(), KEYS, "twemproxy finds memcrab's keys");
    for (k, v) in &rs {
        assert_eq!(&through[k], v);
    }
}

#[test]
fn ketama_md5_matches_twemproxy() {
    same_keys_as_twemproxy(
        "ketama_md5_matches_twemproxy",
        "md5",
        Distribution::KetamaMd5,
    );
}

#[test]
fn ketama_fnv1a_64_matches_twemproxy() {
    same_keys_as_twemproxy(
        "ketama_fnv1a_64_matches_twemproxy",
        "fnv1a_64",
        Distribution::KetamaFnv1a64,
    );
}

/// The core `Router` with weights places keys as twemproxy does with the
/// same weights (the weight is not part of a server's name).
#[test]
fn weighted_router_matches_twemproxy() {
    let Some(bin) = nutcracker_or_skip("weighted_router_matches_twemproxy") else {
        return;
    };
    let servers = MemcachedServer::start_many(3);
    let sockets: Vec<SocketAddr> = servers.iter().map(MemcachedServer::socket_addr).collect();
    let weights = [1u32, 3, 6];
    let pools = [
        ("md5", Distribution::KetamaMd5),
        ("fnv1a_64", Distribution::KetamaFnv1a64),
    ];
    let nc = Nutcracker::start(
        &bin,
        &pools
            .iter()
            .map(|&(hash, _)| Pool {
                hash,
                servers: servers
                    .iter()
                    .zip(weights)
                    .map(|(s, w)| (s.addr_string(), w))
                    .collect(),
            })
            .collect::<Vec<_>>(),
    );
    for (p, &(hash, distribution)) in pools.iter().enumerate() {
        let items = items(&format!("w{hash}"));
        let keys = keys_of(&items);
        raw_set_all(nc.listen[p], &items);
        let at = holders(&sockets, &keys);

        let names: Vec<String> = servers
            .iter()
            .map(|s| twemproxy_server_name("127.0.0.1", s.port()))
            .collect();
        let mut router = Router::new(&names, distribution, HealthConfig::default(), Millis(0));
        for (name, w) in names.iter().zip(weights) {
            router.add_weighted_node(name, w);
        }
        let mut per_server = [0usize; 3];
        for k in &keys {
            let Route::Node(id) = router.node_for(k.as_bytes(), Millis(0)) else {
                panic!("no node for {k}");
            };
            assert_eq!(id.0, at[k], "{hash}: {k}");
            per_server[at[k]] += 1;
        }
        eprintln!("{hash}, weights {weights:?}: keys per server {per_server:?}");
        assert!(per_server[0] < per_server[2], "{per_server:?}");
    }
}

#[test]
fn ketama_node_names_follow_twemproxy() {
    let client = HashClient::builder(["127.0.0.1"])
        .distribution(Distribution::KetamaMd5)
        .build()
        .unwrap();
    let name = |s: &str| client.node_name(&s.parse::<ServerAddr>().unwrap());
    assert_eq!(name("127.0.0.1:11211"), "127.0.0.1");
    assert_eq!(name("127.0.0.1"), "127.0.0.1");
    assert_eq!(name("localhost"), "localhost");
    assert_eq!(name("127.0.0.1:11212"), "127.0.0.1:11212");
    assert_eq!(name("10.0.0.2:22122"), "10.0.0.2:22122");
    assert_eq!(twemproxy_server_name("127.0.0.1", 11211), "127.0.0.1");

    let fnv = HashClient::builder(["127.0.0.1"])
        .distribution(Distribution::KetamaFnv1a64)
        .build()
        .unwrap();
    assert_eq!(
        fnv.node_name(&"127.0.0.1:11211".parse().unwrap()),
        "127.0.0.1"
    );

    // Rendezvous keeps pymemcache's `host:port`.
    let rendezvous = HashClient::new(["127.0.0.1"]).unwrap();
    assert_eq!(
        rendezvous.node_name(&"127.0.0.1".parse().unwrap()),
        "127.0.0.1:11211"
    );
}

/// A memcached on the default port 11211, started by hand (the harness
/// picks free ports), killed on drop.
struct DefaultPortMemcached(Child);

impl Drop for DefaultPortMemcached {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_on_11211() -> Option<DefaultPortMemcached> {
    // Only when 11211 is free; nothing else of ours uses it.
    drop(TcpListener::bind("127.0.0.1:11211").ok()?);
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut cmd = Command::new(support::require_memcached());
    cmd.args(["-l", "127.0.0.1", "-p", "11211", "-U", "0"]);
    if root {
        cmd.args(["-u", "root"]);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut mc = DefaultPortMemcached(child);
    let pid = mc.0.id().to_string();
    let target = RawTarget::Tcp("127.0.0.1:11211".parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(Some(_)) = mc.0.try_wait() {
            return None; // someone else took the port
        }
        let ours = support::raw::exchange(&target, b"stats\r\n", b"END\r\n", IO_TIMEOUT)
            .ok()
            .map(|r| support::raw::parse_stats(&r))
            .is_some_and(|s| s.iter().any(|(n, v)| n == "pid" && *v == pid));
        if ours {
            return Some(mc);
        }
        if Instant::now() >= deadline {
            return None;
        }
        sleep(Duration::from_millis(20));
    }
}

/// twemproxy names a server on port 11211 by its host alone: checked with
/// a real server on 11211 (skipped when the port is taken).
#[test]
fn twemproxy_names_a_default_port_server_by_its_host() {
    let Some(bin) = nutcracker_or_skip("twemproxy_names_a_default_port_server_by_its_host") else {
        return;
    };
    let Some(_default) = start_on_11211() else {
        eprintln!(
            "SKIPPED twemproxy_names_a_default_port_server_by_its_host: 127.0.0.1:11211 is in use"
        );
        return;
    };
    let others = MemcachedServer::start_many(2);
    let mut addrs = vec!["127.0.0.1:11211".to_owned()];
    addrs.extend(others.iter().map(MemcachedServer::addr_string));
    let sockets: Vec<SocketAddr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
    let nc = Nutcracker::start(
        &bin,
        &[Pool {
            hash: "md5",
            servers: addrs.iter().map(|a| (a.clone(), 1)).collect(),
        }],
    );
    let items = items("dp");
    let keys = keys_of(&items);
    raw_set_all(nc.listen[0], &items);
    let at = holders(&sockets, &keys);

    // memcrab, given the server as "127.0.0.1" (port 11211 implied).
    let mut given = vec!["127.0.0.1".to_owned()];
    given.extend(others.iter().map(MemcachedServer::addr_string));
    let client = hash_client(&given, Distribution::KetamaMd5);
    assert_eq!(client.node_name(&"127.0.0.1".parse().unwrap()), "127.0.0.1");
    let got = client.get_many::<memcrab::Value, _>(&keys).unwrap();
    assert_eq!(got.len(), KEYS, "memcrab finds every key twemproxy set");
    for (k, v) in &items {
        assert_eq!(got[k].as_bytes(), Some(v.as_bytes()), "{k}");
    }

    // Naming it "127.0.0.1:11211" instead would place keys differently.
    let mut router = Router::new(
        &addrs,
        Distribution::KetamaMd5,
        HealthConfig::default(),
        Millis(0),
    );
    let misplaced = keys
        .iter()
        .filter(|k| router.node_for(k.as_bytes(), Millis(0)) != Route::Node(NodeId(at[*k])))
        .count();
    assert!(misplaced > 0, "the name should matter");
    let unique: HashSet<usize> = at.values().copied().collect();
    assert_eq!(unique.len(), 3);
}
