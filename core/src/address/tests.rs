//! The address parser's unit tests: every form accepted and refused, the
//! exact messages, display round trips, node names and loopback checks.
//! Conversions from `std::path` and DNS resolution are tested in
//! memcrab-transport, which has std.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use core::net::{IpAddr, SocketAddr, SocketAddrV6};

use super::*;
use crate::router::Distribution;

fn tcp(host: &str, port: u16) -> ServerAddr {
    ServerAddr::Tcp {
        host: host.to_owned(),
        port,
    }
}

fn unix(path: &str) -> ServerAddr {
    ServerAddr::Unix(path.to_owned())
}

fn p(s: &str) -> ServerAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn err(s: &str) -> AddrParseError {
    match s.parse::<ServerAddr>() {
        Ok(a) => panic!("{s:?} should be refused, parsed as {a:?}"),
        Err(e) => e,
    }
}

#[test]
fn tcp_forms() {
    assert_eq!(p("localhost"), tcp("localhost", 11211));
    assert_eq!(p("localhost:12345"), tcp("localhost", 12345));
    assert_eq!(p("127.0.0.1"), tcp("127.0.0.1", 11211));
    assert_eq!(p("127.0.0.1:11211"), tcp("127.0.0.1", 11211));
    assert_eq!(p("cache-1.example.com:1"), tcp("cache-1.example.com", 1));
    assert_eq!(p("memcached_1:65535"), tcp("memcached_1", 65535));
    assert_eq!(p("h:00080"), tcp("h", 80));
}

#[test]
fn ipv6_forms() {
    assert_eq!(p("[::1]"), tcp("::1", 11211));
    assert_eq!(p("[::1]:11211"), tcp("::1", 11211));
    assert_eq!(p("[::1]:12345"), tcp("::1", 12345));
    assert_eq!(p("[2001:db8::7]:5"), tcp("2001:db8::7", 5));
    assert_eq!(p("[fe80::1%eth0]:11211"), tcp("fe80::1%eth0", 11211));
    assert_eq!(p("[::ffff:127.0.0.1]"), tcp("::ffff:127.0.0.1", 11211));
}

#[test]
fn bare_ipv6_gets_default_port() {
    // pymemcache reads "::1" as host ":" port 1; memcrab sees an IPv6 address.
    assert_eq!(p("::1"), tcp("::1", DEFAULT_PORT));
    assert_eq!(p("2001:db8::1"), tcp("2001:db8::1", DEFAULT_PORT));
    assert_eq!(p("fe80::1%lo"), tcp("fe80::1%lo", DEFAULT_PORT));
    // A valid IPv6 address that looks like it ends in a port is still an address.
    assert_eq!(p("::1:2000"), tcp("::1:2000", DEFAULT_PORT));
}

#[test]
fn unix_forms() {
    assert_eq!(p("/run/mc.sock"), unix("/run/mc.sock"));
    assert_eq!(
        p("/run/memcached/memcached.sock"),
        unix("/run/memcached/memcached.sock")
    );
    assert_eq!(p("unix:/run/mc.sock"), unix("/run/mc.sock"));
    assert_eq!(p("unix:rel.sock"), unix("rel.sock"));
    // A path may contain colons.
    assert_eq!(p("/tmp/a:b.sock"), unix("/tmp/a:b.sock"));
    assert_eq!(p("unix:/tmp/a:1"), unix("/tmp/a:1"));
}

/// Spec §15 item 50.
#[test]
fn spec_item_50() {
    assert_eq!(
        ("127.0.0.1", 12345).to_server_addr().unwrap(),
        tcp("127.0.0.1", 12345)
    );
    assert_eq!(
        p("unix:/run/memcached/socket"),
        unix("/run/memcached/socket")
    );
    assert_eq!(p("localhost"), tcp("localhost", 11211));
    assert_eq!(p("[::1]:12345"), tcp("::1", 12345));
    // None / dict / int have no Rust counterpart; the type system refuses them.
}

/// Spec §2.2 results.
#[test]
fn spec_2_2_results() {
    assert_eq!(p("localhost"), tcp("localhost", 11211));
    assert_eq!(p("localhost:12345"), tcp("localhost", 12345));
    assert_eq!(p("127.0.0.1"), tcp("127.0.0.1", 11211));
    assert_eq!(p("[::1]"), tcp("::1", 11211));
    assert_eq!(p("[::1]:12345"), tcp("::1", 12345));
}

#[test]
fn bad_ports() {
    for (input, port) in [
        ("host:abc", "abc"),
        ("host:", ""),
        ("host:0", "0"),
        ("host:65536", "65536"),
        ("host:70000", "70000"),
        ("host:-1", "-1"),
        ("host:+80", "+80"),
        ("host: 80", " 80"),
        ("host:1234567", "1234567"),
        ("[::1]:", ""),
        ("[::1]:x", "x"),
        ("[::1]:0", "0"),
    ] {
        let e = err(input);
        assert_eq!(e.kind(), AddrErrorKind::InvalidPort, "{input}");
        assert_eq!(
            e.to_string(),
            format!("invalid server address {input:?}: port {port:?} is not a number 1-65535")
        );
    }
    assert_eq!(
        err("host:abc").to_string(),
        r#"invalid server address "host:abc": port "abc" is not a number 1-65535"#
    );
}

#[test]
fn bad_hosts() {
    for input in [
        ":11211",
        " localhost",
        "localhost ",
        "local host",
        "host\n",
        "ho\0st",
        "héllo",
        "a@b",
        "[localhost]",
        "[localhost]:11211",
        "[::1",
        "[::1]x",
        "[::1]11211",
        "[]",
        "[]:11211",
        "[:::]",
        "::1:11211",
        "a:b:c",
        "256.0.0.1",
        "1.2.3",
        "127.1:11211",
        "fe80::1%",
        "fe80::1%a b",
    ] {
        assert_eq!(err(input).kind(), AddrErrorKind::InvalidHost, "{input:?}");
    }
    assert!(err("::1:11211").to_string().contains("\"[::1]:11211\""));
    assert_eq!(
        err(":11211").to_string(),
        r#"invalid server address ":11211": host is empty"#
    );
}

#[test]
fn empty_and_bad_paths() {
    assert_eq!(err("").kind(), AddrErrorKind::Empty);
    assert_eq!(
        err("").to_string(),
        r#"invalid server address "": address is empty"#
    );
    assert_eq!(err("unix:").kind(), AddrErrorKind::InvalidPath);
    assert_eq!(err("unix:/a\0b").kind(), AddrErrorKind::InvalidPath);
    assert_eq!(err("/a\0b").kind(), AddrErrorKind::InvalidPath);
    assert_eq!(
        ServerAddr::unix("").unwrap_err().kind(),
        AddrErrorKind::InvalidPath
    );
    assert_eq!(
        ServerAddr::unix("").unwrap_err().to_string(),
        r#"invalid server address "": unix socket path is empty"#
    );
    assert_eq!(
        ServerAddr::unix("a\0").unwrap_err().kind(),
        AddrErrorKind::InvalidPath
    );
    assert_eq!(ServerAddr::unix("rel.sock").unwrap(), unix("rel.sock"));
}

#[test]
fn display() {
    assert_eq!(p("localhost").to_string(), "localhost:11211");
    assert_eq!(p("127.0.0.1:5").to_string(), "127.0.0.1:5");
    assert_eq!(p("::1").to_string(), "[::1]:11211");
    assert_eq!(p("[::1]:12345").to_string(), "[::1]:12345");
    assert_eq!(p("/run/mc.sock").to_string(), "unix:/run/mc.sock");
    assert_eq!(p("unix:rel.sock").to_string(), "unix:rel.sock");
    assert_eq!(p("[fe80::1%eth0]").to_string(), "[fe80::1%eth0]:11211");
}

#[test]
fn display_round_trips() {
    for input in [
        "localhost",
        "localhost:1",
        "127.0.0.1",
        "10.1.2.3:65535",
        "::1",
        "[::1]",
        "[::1]:12345",
        "::1:2000",
        "[2001:db8::1]:11300",
        "fe80::1%eth0",
        "/run/mc.sock",
        "unix:/run/mc.sock",
        "unix:rel.sock",
        "/tmp/a:b.sock",
    ] {
        let a = p(input);
        let shown = a.to_string();
        assert_eq!(p(&shown), a, "{input:?} displayed as {shown:?}");
        assert_eq!(p(&shown).to_string(), shown);
    }
}

/// Found by the `address_parser` fuzz target: `("unix", 27491)` was
/// accepted and displayed as `unix:27491`, which reads back as a socket
/// path. A host named `unix` is refused in every form; `unix.` (the same
/// DNS name) works.
#[test]
fn fuzz_regression_host_named_unix() {
    assert_eq!(err("unix").kind(), AddrErrorKind::InvalidHost);
    assert_eq!(p("unix:27491"), unix("27491"));
    let e = ("unix", 27491).to_server_addr().unwrap_err();
    assert_eq!(e.kind(), AddrErrorKind::InvalidHost);
    assert!(e.to_string().contains("\"unix.\""), "{e}");
    let dotted = p("unix.:27491");
    assert_eq!(dotted, tcp("unix.", 27491));
    assert_eq!(p(&dotted.to_string()), dotted);
    // Other spellings are other names, and round-trip.
    for host in ["UNIX", "unixbox", "my.unix"] {
        let a = p(host);
        assert_eq!(p(&a.to_string()), a, "{host}");
    }
}

/// Spec §11.2 node names.
#[test]
fn pymemcache_names() {
    assert_eq!(p("127.0.0.1:11211").pymemcache_name(), "127.0.0.1:11211");
    assert_eq!(p("localhost").pymemcache_name(), "localhost:11211");
    assert_eq!(p("[::1]").pymemcache_name(), "::1:11211");
    assert_eq!(p("[::1]:11212").pymemcache_name(), "::1:11212");
    assert_eq!(p("::1").pymemcache_name(), "::1:11211");
    assert_eq!(p("unix:/run/mc.sock").pymemcache_name(), "/run/mc.sock");
    assert_eq!(p("/run/mc.sock").pymemcache_name(), "/run/mc.sock");
    assert_eq!(p("unix:rel.sock").pymemcache_name(), "rel.sock");
    assert_eq!(
        ServerAddr::from(("10.0.0.2", 11300)).pymemcache_name(),
        "10.0.0.2:11300"
    );
    assert_eq!(
        ServerAddr::from(("::1", 11212)).pymemcache_name(),
        "::1:11212"
    );
}

#[test]
fn pymemcache_name_round_trips_except_ipv6() {
    // For names, IPv4 and absolute unix paths the node name is itself a
    // valid spec naming the same server (pymemcache relies on this when a
    // HashClient's node names are passed on).
    for input in [
        "127.0.0.1:11211",
        "localhost",
        "cache:99",
        "/run/mc.sock",
        "unix:/x/y",
    ] {
        let a = p(input);
        assert_eq!(p(&a.pymemcache_name()), a, "{input}");
    }
    // An unbracketed IPv6 name is ambiguous, so memcrab refuses to guess.
    assert!("::1:11211".parse::<ServerAddr>().is_err());
}

#[test]
fn tuples() {
    assert_eq!(
        ServerAddr::from(("localhost", 11211)),
        tcp("localhost", 11211)
    );
    assert_eq!(ServerAddr::from(("::1", 11211)), tcp("::1", 11211));
    assert_eq!(ServerAddr::from(("[::1]", 11211)), tcp("::1", 11211));
    assert_eq!(ServerAddr::from((String::from("::1"), 7)), tcp("::1", 7));
    assert_eq!(ServerAddr::from((String::from("[::1]"), 7)), tcp("::1", 7));
    assert_eq!(("::1", 5).to_server_addr().unwrap(), tcp("::1", 5));
    assert_eq!(
        (String::from("h"), 5).to_server_addr().unwrap(),
        tcp("h", 5)
    );
    assert_eq!(("[::1]", 5).to_server_addr().unwrap(), tcp("::1", 5));

    let e = ("localhost", 0).to_server_addr().unwrap_err();
    assert_eq!(e.kind(), AddrErrorKind::InvalidPort);
    assert_eq!(
        e.to_string(),
        r#"invalid server address ("localhost", 0): port "0" is not a number 1-65535"#
    );
    assert_eq!(
        ("", 1).to_server_addr().unwrap_err().kind(),
        AddrErrorKind::InvalidHost
    );
    assert_eq!(
        ("a b", 1).to_server_addr().unwrap_err().kind(),
        AddrErrorKind::InvalidHost
    );
    assert_eq!(
        ("h:1", 1).to_server_addr().unwrap_err().kind(),
        AddrErrorKind::InvalidHost
    );
}

#[test]
fn socket_addrs() {
    let v4: SocketAddr = "127.0.0.1:11211".parse().unwrap();
    let v6: SocketAddr = "[::1]:11212".parse().unwrap();
    assert_eq!(ServerAddr::from(v4), tcp("127.0.0.1", 11211));
    assert_eq!(ServerAddr::from(v6), tcp("::1", 11212));
    assert_eq!(v4.to_server_addr().unwrap(), tcp("127.0.0.1", 11211));
    assert_eq!(
        (IpAddr::from([127, 0, 0, 1]), 9).to_server_addr().unwrap(),
        tcp("127.0.0.1", 9)
    );
    let scoped = SocketAddrV6::new("fe80::1".parse().unwrap(), 11211, 0, 3);
    assert_eq!(ServerAddr::from(scoped), tcp("fe80::1%3", 11211));
    assert_eq!(
        p(&ServerAddr::from(scoped).to_string()),
        tcp("fe80::1%3", 11211)
    );
    assert!("127.0.0.1:0"
        .parse::<SocketAddr>()
        .unwrap()
        .to_server_addr()
        .is_err());
}

#[test]
fn to_server_addr_for_everything() {
    fn take(a: impl ToServerAddr) -> ServerAddr {
        a.to_server_addr().unwrap()
    }
    let sa = tcp("h", 1);
    assert_eq!(take("h:1"), sa);
    assert_eq!(take(String::from("h:1")), sa);
    let owned = String::from("h:1");
    assert_eq!(take(&owned), sa);
    assert_eq!(owned, "h:1");
    assert_eq!(take(("h", 1)), sa);
    assert_eq!(take((String::from("h"), 1)), sa);
    assert_eq!(take(sa.clone()), sa);
    assert_eq!(take(&sa), sa);
    assert_eq!(
        take("127.0.0.1:1".parse::<SocketAddr>().unwrap()),
        tcp("127.0.0.1", 1)
    );
    assert_eq!(take("/s"), unix("/s"));
    assert!("h:x".to_server_addr().is_err());
}

#[test]
fn accessors() {
    assert_eq!(p("[::1]:5").host(), Some("::1"));
    assert_eq!(p("[::1]:5").port(), Some(5));
    assert_eq!(p("[::1]:5").unix_socket(), None);
    assert_eq!(p("/s").host(), None);
    assert_eq!(p("/s").port(), None);
    assert_eq!(p("/s").unix_socket(), Some("/s"));
}

#[test]
fn loopback() {
    for yes in [
        "127.0.0.1",
        "127.3.2.1:5",
        "[::1]",
        "::1",
        "localhost",
        "LocalHost:1",
        "a.localhost",
        "localhost.",
        "[::ffff:127.0.0.1]",
        "/s",
        "unix:rel.sock",
    ] {
        assert!(p(yes).is_loopback(), "{yes}");
    }
    for no in [
        "10.0.0.1",
        "0.0.0.0",
        "[::]",
        "example.com",
        "localhost.example.com",
        "[2001:db8::1]",
    ] {
        assert!(!p(no).is_loopback(), "{no}");
    }
}

#[test]
fn server_lists() {
    assert_eq!(
        parse_server_list("127.0.0.1:11211,127.0.0.1:11212").unwrap(),
        vec![tcp("127.0.0.1", 11211), tcp("127.0.0.1", 11212)]
    );
    assert_eq!(
        parse_server_list(" localhost ,\t[::1]:5 , /run/mc.sock\n").unwrap(),
        vec![tcp("localhost", 11211), tcp("::1", 5), unix("/run/mc.sock")]
    );
    assert_eq!(parse_server_list("::1").unwrap(), vec![tcp("::1", 11211)]);

    let e = parse_server_list("a,,b").unwrap_err();
    assert_eq!(e.kind(), AddrErrorKind::EmptyListItem);
    assert_eq!(
        e.to_string(),
        r#"invalid server list "a,,b": item 2 is empty"#
    );
    assert_eq!(
        parse_server_list("a,").unwrap_err().kind(),
        AddrErrorKind::EmptyListItem
    );
    assert_eq!(
        parse_server_list(",a").unwrap_err().kind(),
        AddrErrorKind::EmptyListItem
    );
    assert_eq!(
        parse_server_list("").unwrap_err().kind(),
        AddrErrorKind::Empty
    );
    assert_eq!(
        parse_server_list("  ").unwrap_err().kind(),
        AddrErrorKind::Empty
    );
    let e = parse_server_list("a:1, b:x").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"invalid server address "b:x": port "x" is not a number 1-65535"#
    );
}

/// twemproxy names a server by its host alone on the default port.
#[test]
fn twemproxy_names() {
    assert_eq!(p("127.0.0.1:11211").twemproxy_name(), "127.0.0.1");
    assert_eq!(p("127.0.0.1").twemproxy_name(), "127.0.0.1");
    assert_eq!(p("127.0.0.1:11212").twemproxy_name(), "127.0.0.1:11212");
    assert_eq!(
        p("cache-1.example:21201").twemproxy_name(),
        "cache-1.example:21201"
    );
    assert_eq!(p("[::1]:11212").twemproxy_name(), "::1:11212");
    assert_eq!(p("unix:/run/mc.sock").twemproxy_name(), "/run/mc.sock");
}

/// The ring name of a server follows the distribution, as `HashClient`
/// names its nodes.
#[test]
fn node_names_follow_the_distribution() {
    let ketama = [Distribution::KetamaMd5, Distribution::KetamaFnv1a64];
    let rendezvous = [
        Distribution::Rendezvous,
        Distribution::RendezvousBytesRepr,
        Distribution::RendezvousWith(|_| 0),
    ];
    for (input, twemproxy, pymemcache) in [
        ("127.0.0.1", "127.0.0.1", "127.0.0.1:11211"),
        ("127.0.0.1:11212", "127.0.0.1:11212", "127.0.0.1:11212"),
        ("localhost", "localhost", "localhost:11211"),
        ("[::1]:5", "::1:5", "::1:5"),
        ("/run/mc.sock", "/run/mc.sock", "/run/mc.sock"),
    ] {
        let a = p(input);
        for d in ketama {
            assert_eq!(a.node_name(d), twemproxy, "{input} {d:?}");
        }
        for d in rendezvous {
            assert_eq!(a.node_name(d), pymemcache, "{input} {d:?}");
        }
    }
}

#[test]
fn error_is_a_core_error() {
    fn source_of(e: &dyn core::error::Error) -> Option<&dyn core::error::Error> {
        e.source()
    }
    let e = err("h:x");
    assert!(source_of(&e).is_none());
    assert_eq!(e.input(), "h:x");
    let owned: String = e.to_string();
    assert!(owned.starts_with("invalid server address"), "{owned}");
}
