//! `DiscoveryClient` against real memcached nodes and a scripted
//! configuration endpoint that answers `config get cluster` as ElastiCache
//! does, and whose node list the test changes mid-run.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use memcrab::address::ServerAddr;
use memcrab::{ClientOptions, DiscoveryClient, ErrorKind, ManualClock, Memcache};
use support::MemcachedServer;

/// A configuration endpoint on a loopback port: answers `config get
/// cluster` with its current version and nodes, anything else with
/// `ERROR`.
struct Endpoint {
    port: u16,
    config: Arc<Mutex<(u64, Vec<u16>)>>,
    asked: Arc<AtomicUsize>,
}

impl Endpoint {
    fn start(version: u64, ports: &[u16]) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Arc::new(Mutex::new((version, ports.to_vec())));
        let asked = Arc::new(AtomicUsize::new(0));
        let (c, a) = (config.clone(), asked.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (c, a) = (c.clone(), a.clone());
                thread::spawn(move || serve(stream, &c, &a));
            }
        });
        Endpoint {
            port,
            config,
            asked,
        }
    }

    fn set(&self, version: u64, ports: &[u16]) {
        *self.config.lock().unwrap() = (version, ports.to_vec());
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn serve(stream: TcpStream, config: &Mutex<(u64, Vec<u16>)>, asked: &AtomicUsize) {
    let mut out = stream.try_clone().unwrap();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let reply = if line.trim_end() == "config get cluster" {
            asked.fetch_add(1, Ordering::SeqCst);
            let (version, ports) = config.lock().unwrap().clone();
            let nodes: Vec<String> = ports
                .iter()
                .map(|p| format!("node{p}.cache.example|127.0.0.1|{p}"))
                .collect();
            let body = format!("{version}\n{}\n", nodes.join(" "));
            format!("CONFIG cluster 0 {}\r\n{body}\r\nEND\r\n", body.len())
        } else {
            "ERROR\r\n".to_owned()
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn options(clock: &ManualClock) -> ClientOptions {
    ClientOptions {
        connect_timeout: Some(Duration::from_secs(2)),
        timeout: Some(Duration::from_secs(5)),
        default_noreply: false,
        clock: Arc::new(clock.clone()),
        ..ClientOptions::default()
    }
}

fn client(endpoint: &Endpoint, clock: &ManualClock) -> DiscoveryClient {
    DiscoveryClient::builder(endpoint.addr())
        .options(options(clock))
        .refresh_interval(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn ports_of(addrs: &[ServerAddr]) -> Vec<u16> {
    addrs.iter().map(|a| a.port().unwrap()).collect()
}

/// The index in `servers` of the node `key` goes to now.
fn owner(client: &DiscoveryClient, servers: &[MemcachedServer], key: &str) -> usize {
    let port = client
        .hash_client()
        .server_for(key)
        .unwrap()
        .port()
        .unwrap();
    servers.iter().position(|s| s.port() == port).unwrap()
}

fn keys() -> Vec<String> {
    (0..300).map(|i| format!("disc:{i}")).collect()
}

#[test]
fn builds_its_ring_from_the_endpoint_and_stores_on_the_named_node() {
    let servers = MemcachedServer::start_many(2);
    let clock = ManualClock::new();
    let endpoint = Endpoint::start(1, &[servers[0].port(), servers[1].port()]);
    let client = client(&endpoint, &clock);
    assert_eq!(client.config_version(), Some(1));
    assert_eq!(
        ports_of(&client.servers()),
        [servers[0].port(), servers[1].port()]
    );
    assert_eq!(
        ports_of(&client.hash_client().servers()),
        ports_of(&client.servers())
    );
    let mut per_node = [0; 2];
    for key in keys() {
        assert!(client.set(&key, key.as_str()).unwrap());
        let node = owner(&client, &servers, &key);
        per_node[node] += 1;
        assert_eq!(
            servers[node].raw_get(key.as_bytes()),
            Some(key.clone().into_bytes())
        );
        assert_eq!(servers[1 - node].raw_get(key.as_bytes()), None);
    }
    assert!(per_node.iter().all(|&n| n > 50), "{per_node:?}");
}

#[test]
fn new_versions_add_and_remove_nodes_on_the_interval() {
    let servers = MemcachedServer::start_many(3);
    let p: Vec<u16> = servers.iter().map(MemcachedServer::port).collect();
    let clock = ManualClock::new();
    let endpoint = Endpoint::start(1, &[p[0], p[1]]);
    let client = client(&endpoint, &clock);
    for key in keys() {
        assert!(client.set(&key, key.as_str()).unwrap());
    }
    let before: Vec<usize> = keys().iter().map(|k| owner(&client, &servers, k)).collect();
    let conns_on_1 = servers[1].raw_stat("total_connections");

    // A third node: nothing happens before the interval is over.
    endpoint.set(2, &[p[0], p[1], p[2]]);
    clock.advance(Duration::from_secs(59));
    assert!(client.get::<memcrab::Value>("disc:0").is_ok());
    assert_eq!(endpoint.asked(), 1);
    assert_eq!(client.config_version(), Some(1));
    clock.advance(Duration::from_secs(1));
    assert!(client.get::<memcrab::Value>("disc:0").is_ok());
    assert_eq!(endpoint.asked(), 2);
    assert_eq!(client.config_version(), Some(2));
    assert_eq!(ports_of(&client.servers()), [p[0], p[1], p[2]]);

    // Keys moved only to the new node; every other key is still there.
    let mut moved = 0;
    for (key, &old) in keys().iter().zip(&before) {
        let now = owner(&client, &servers, key);
        let got = client.get::<memcrab::Value>(key).unwrap();
        if now == 2 {
            moved += 1;
            assert_eq!(got, None, "{key} moved to the empty node");
            assert!(client.set(key, key.as_str()).unwrap());
            assert_eq!(
                servers[2].raw_get(key.as_bytes()),
                Some(key.clone().into_bytes())
            );
        } else {
            assert_eq!(now, old, "{key} moved between nodes that stayed");
            assert_eq!(got.unwrap().as_bytes(), Some(key.as_bytes()));
        }
    }
    assert!(moved > 30, "{moved} keys moved to the new node");
    // The node that stayed kept its connection (one more: raw_stat's own).
    let after = servers[1].raw_stat("total_connections");
    let (a, b): (u64, u64) = (
        conns_on_1.unwrap().parse().unwrap(),
        after.unwrap().parse().unwrap(),
    );
    assert_eq!(b, a + 1, "node 1 was reconnected");

    // Node 0 leaves: only its keys are lost.
    let owners: Vec<usize> = keys().iter().map(|k| owner(&client, &servers, k)).collect();
    endpoint.set(3, &[p[1], p[2]]);
    clock.advance(Duration::from_secs(60));
    assert!(client.get::<memcrab::Value>("disc:0").is_ok());
    assert_eq!(client.config_version(), Some(3));
    assert_eq!(ports_of(&client.servers()), [p[1], p[2]]);
    let mut lost = 0;
    for (key, &old) in keys().iter().zip(&owners) {
        let got = client.get::<memcrab::Value>(key).unwrap();
        if old == 0 {
            lost += 1;
            assert_eq!(got, None, "{key} lived on the removed node");
        } else {
            assert_eq!(owner(&client, &servers, key), old);
            assert_eq!(
                got.unwrap().as_bytes(),
                Some(key.as_bytes()),
                "{key} was lost"
            );
        }
    }
    assert!(lost > 30, "{lost}");
}

#[test]
fn an_unchanged_version_is_not_applied_again() {
    let servers = MemcachedServer::start_many(2);
    let clock = ManualClock::new();
    let endpoint = Endpoint::start(7, &[servers[0].port()]);
    let client = client(&endpoint, &clock);
    endpoint.set(7, &[servers[0].port(), servers[1].port()]);
    assert!(!client.refresh().unwrap());
    clock.advance(Duration::from_secs(60));
    client.set("k", "v").unwrap();
    assert_eq!(endpoint.asked(), 3);
    assert_eq!(ports_of(&client.servers()), [servers[0].port()]);
    assert_eq!(
        ports_of(&client.hash_client().servers()),
        [servers[0].port()]
    );
    endpoint.set(8, &[servers[0].port(), servers[1].port()]);
    assert!(client.refresh().unwrap());
    assert_eq!(client.config_version(), Some(8));
    assert_eq!(client.hash_client().servers().len(), 2);
}

#[test]
fn a_node_failure_makes_the_next_call_read_the_configuration() {
    let mut servers = MemcachedServer::start_many(3);
    let p: Vec<u16> = servers.iter().map(MemcachedServer::port).collect();
    let clock = ManualClock::new();
    let endpoint = Endpoint::start(1, &[p[0], p[1]]);
    let client = DiscoveryClient::builder(endpoint.addr())
        .options(options(&clock))
        .failure_spacing(Duration::ZERO)
        .build()
        .unwrap();
    let key = (0..1000)
        .map(|i| format!("fail:{i}"))
        .find(|k| owner(&client, &servers, k) == 1)
        .unwrap();
    // Node 1 dies and the cluster replaces it with node 2.
    servers[1].kill();
    endpoint.set(2, &[p[0], p[2]]);
    let err = client.set(&key, "v").unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");
    assert_eq!(endpoint.asked(), 1);
    // No time passed: the failure alone brings the new nodes.
    assert!(client.set(&key, "v").unwrap());
    assert_eq!(endpoint.asked(), 2);
    assert_eq!(ports_of(&client.servers()), [p[0], p[2]]);
    assert_eq!(
        client
            .get::<memcrab::Value>(&key)
            .unwrap()
            .unwrap()
            .as_bytes(),
        Some(&b"v"[..])
    );
}

#[test]
fn an_endpoint_without_discovery_is_an_error_and_a_failed_refresh_keeps_the_nodes() {
    let server = MemcachedServer::start();
    let clock = ManualClock::new();
    // Plain memcached does not know `config get cluster`.
    let err = DiscoveryClient::builder(server.addr_string())
        .options(options(&clock))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownCommand, "{err:?}");

    let endpoint = Endpoint::start(1, &[server.port()]);
    let client = client(&endpoint, &clock);
    // A malformed configuration: the read fails, the nodes stay.
    endpoint.set(2, &[0]);
    assert_eq!(client.refresh().unwrap_err().kind(), ErrorKind::Protocol);
    assert!(client.last_refresh_error().is_some());
    assert_eq!(ports_of(&client.servers()), [server.port()]);
    assert!(client.set("still", "here").unwrap());
    assert_eq!(server.raw_get(b"still"), Some(b"here".to_vec()));
}
