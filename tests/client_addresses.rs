//! Every address form a client takes connects to a real memcached and
//! round-trips a value: TCP over IPv4 and IPv6 (strings, tuples, socket
//! addresses, a host name) and unix sockets (a path, a `unix:` prefix).

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use memcrab::{Client, Memcache, ServerAddr, StoreOptions, ToServerAddr, Value};
use support::MemcachedServer;

/// Connects through `addr`, stores a value, reads it back, and checks the
/// server itself holds it (so the client really talked to `server`).
fn round_trip(
    server: &MemcachedServer,
    addr: impl ToServerAddr + std::fmt::Debug,
    want: ServerAddr,
) {
    let shown = format!("{addr:?}");
    let client = Client::builder(addr)
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert_eq!(client.server(), &want, "{shown}");
    let key = format!("addr-{}", server.raw_stat("total_connections").unwrap());
    let value = format!("via {shown}");
    assert!(client
        .set_with(
            key.as_str(),
            value.as_str(),
            StoreOptions::new().noreply(false)
        )
        .unwrap_or_else(|e| panic!("{shown}: set: {e}")));
    assert_eq!(
        client
            .get(key.as_str())
            .unwrap_or_else(|e| panic!("{shown}: get: {e}")),
        Some(Value::from(value.as_bytes())),
        "{shown}"
    );
    assert_eq!(
        server.raw_get(key.as_bytes()),
        Some(value.into_bytes()),
        "{shown}: the server must hold the value"
    );
    assert!(client.is_connected(), "{shown}");
}

fn tcp(host: &str, port: u16) -> ServerAddr {
    ServerAddr::Tcp {
        host: host.to_owned(),
        port,
    }
}

#[test]
fn ipv4_string() {
    let server = MemcachedServer::start();
    let port = server.port();
    round_trip(&server, format!("127.0.0.1:{port}"), tcp("127.0.0.1", port));
    round_trip(&server, server.addr_string(), tcp("127.0.0.1", port));
    let as_str: &str = &format!("127.0.0.1:{port}");
    round_trip(&server, as_str, tcp("127.0.0.1", port));
}

#[test]
fn ipv4_tuple() {
    let server = MemcachedServer::start();
    let port = server.port();
    round_trip(&server, ("127.0.0.1", port), tcp("127.0.0.1", port));
    round_trip(
        &server,
        (String::from("127.0.0.1"), port),
        tcp("127.0.0.1", port),
    );
    round_trip(
        &server,
        (IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        tcp("127.0.0.1", port),
    );
}

#[test]
fn ipv4_socket_addr() {
    let server = MemcachedServer::start();
    let port = server.port();
    let sa: SocketAddr = server.socket_addr();
    round_trip(&server, sa, tcp("127.0.0.1", port));
}

#[test]
fn localhost_name() {
    // localhost may resolve to ::1 first; the client tries every address.
    let server = MemcachedServer::start();
    let port = server.port();
    round_trip(&server, format!("localhost:{port}"), tcp("localhost", port));
    round_trip(&server, ("localhost", port), tcp("localhost", port));
}

fn ipv6_server() -> Option<MemcachedServer> {
    if support::ipv6_available() {
        Some(MemcachedServer::start_ipv6())
    } else {
        eprintln!(
            "SKIPPED: the IPv6 loopback ::1 is not available on this machine, so the IPv6 \
             address forms cannot be tested (sysctl -w net.ipv6.conf.lo.disable_ipv6=0 enables it)"
        );
        None
    }
}

#[test]
fn ipv6_bracketed_string() {
    let Some(server) = ipv6_server() else { return };
    let port = server.port();
    round_trip(&server, format!("[::1]:{port}"), tcp("::1", port));
    round_trip(&server, server.addr_string(), tcp("::1", port));
}

#[test]
fn ipv6_tuple() {
    let Some(server) = ipv6_server() else { return };
    let port = server.port();
    round_trip(&server, ("::1", port), tcp("::1", port));
    round_trip(&server, ("[::1]", port), tcp("::1", port));
    round_trip(
        &server,
        (IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        tcp("::1", port),
    );
}

#[test]
fn ipv6_socket_addr() {
    let Some(server) = ipv6_server() else { return };
    let port = server.port();
    round_trip(&server, server.socket_addr(), tcp("::1", port));
}

#[test]
fn unix_path() {
    let server = MemcachedServer::start_unix();
    let path = server.socket_path().to_path_buf();
    let want = ServerAddr::Unix(path.display().to_string());
    round_trip(&server, path.display().to_string(), want.clone());
    round_trip(&server, server.addr_string(), want.clone());
    round_trip(&server, path.clone(), want.clone());
    round_trip(&server, path.as_path(), want);
}

#[test]
fn unix_prefix() {
    let server = MemcachedServer::start_unix();
    let path: &Path = server.socket_path();
    let want = ServerAddr::from(PathBuf::from(path));
    round_trip(&server, format!("unix:{}", path.display()), want);
}

#[test]
fn parsed_server_addr() {
    let server = MemcachedServer::start();
    let addr: ServerAddr = server.addr_string().parse().unwrap();
    round_trip(&server, addr.clone(), addr.clone());
    round_trip(&server, &addr, addr.clone());
}

#[test]
fn bad_addresses_are_config_errors_before_any_io() {
    for bad in ["127.0.0.1:abc", "127.0.0.1:0", "::1:11211", "", "unix:"] {
        let err = Client::new(bad).unwrap_err();
        assert_eq!(
            err.kind(),
            memcrab::ErrorKind::IllegalInput,
            "{bad:?}: {err}"
        );
        assert!(
            err.to_string().contains(&format!("{bad:?}")),
            "{bad:?}: the message names the address: {err}"
        );
    }
}
