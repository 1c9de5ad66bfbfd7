//! What needs std: paths, resolution, `io::Error`. The parser's own
//! tests are in memcrab-core (`core/src/address/tests.rs`).

use super::*;
use std::path::{Path, PathBuf};

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

#[test]
fn paths() {
    assert_eq!(
        ServerAddr::from(Path::new("/run/mc.sock")),
        unix("/run/mc.sock")
    );
    assert_eq!(
        ServerAddr::from(PathBuf::from("rel.sock")),
        unix("rel.sock")
    );
    assert_eq!(Path::new("/a").to_server_addr().unwrap(), unix("/a"));
    assert_eq!(PathBuf::from("/a").to_server_addr().unwrap(), unix("/a"));
    let e = PathBuf::new().to_server_addr().unwrap_err();
    assert_eq!(e.kind(), AddrErrorKind::InvalidPath);
    assert_eq!(
        e.to_string(),
        r#"invalid server address "": unix socket path is empty"#
    );
    assert_eq!(
        Path::new("/a\0b").to_server_addr().unwrap_err().kind(),
        AddrErrorKind::InvalidPath
    );
}

/// A path that is no UTF-8 cannot be written down as a server address;
/// the checked conversion refuses it instead of connecting elsewhere.
#[cfg(unix)]
#[test]
fn non_utf8_path_is_refused() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let path = Path::new(OsStr::from_bytes(b"/tmp/mc\xff.sock"));
    let e = path.to_server_addr().unwrap_err();
    assert_eq!(e.kind(), AddrErrorKind::InvalidPath);
    assert_eq!(
        e.to_string(),
        "invalid server address \"/tmp/mc\u{fffd}.sock\": unix socket path is not valid UTF-8"
    );
}

#[test]
fn to_server_addr_for_paths() {
    fn take(a: impl ToServerAddr) -> ServerAddr {
        a.to_server_addr().unwrap()
    }
    assert_eq!(take(PathBuf::from("/s")), unix("/s"));
    assert_eq!(take(Path::new("/s")), unix("/s"));
    let owned = PathBuf::from("/s");
    assert_eq!(take(&owned), unix("/s"));
    assert_eq!(owned, Path::new("/s"));
}

#[test]
fn unix_path_accessor() {
    assert_eq!(p("[::1]:5").unix_path(), None);
    assert_eq!(p("/s").unix_path(), Some(Path::new("/s")));
    assert_eq!(p("unix:rel.sock").unix_path(), Some(Path::new("rel.sock")));
}

#[test]
fn resolve_literals() {
    assert_eq!(
        p("127.0.0.1:5").resolve().unwrap(),
        vec!["127.0.0.1:5".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(
        p("[::1]:5").resolve().unwrap(),
        vec!["[::1]:5".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(
        resolve(&tcp("127.0.0.1", 7)).unwrap(),
        vec!["127.0.0.1:7".parse::<SocketAddr>().unwrap()]
    );
    let e = p("/s").resolve().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("/s"), "{e}");
}

#[test]
fn resolve_localhost_puts_ipv6_first() {
    let addrs = p("localhost:11211").resolve().expect("localhost resolves");
    assert!(!addrs.is_empty());
    assert!(addrs
        .iter()
        .all(|a| a.port() == 11211 && a.ip().is_loopback()));
    // Once an IPv4 address appears, no IPv6 address follows.
    let first_v4 = addrs
        .iter()
        .position(|a| a.is_ipv4())
        .unwrap_or(addrs.len());
    assert!(addrs[first_v4..].iter().all(|a| a.is_ipv4()), "{addrs:?}");
    let unique: HashSet<_> = addrs.iter().collect();
    assert_eq!(unique.len(), addrs.len());
}

#[test]
fn resolve_failure_names_the_server() {
    let e = p("no-such-host.invalid:11211").resolve().unwrap_err();
    assert!(e.to_string().contains("no-such-host.invalid:11211"), "{e}");
}

#[test]
fn io_error_conversion() {
    let e: io::Error = "h:x".parse::<ServerAddr>().unwrap_err().into();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("h:x"));
    fn parse_io(s: &str) -> io::Result<ServerAddr> {
        Ok(s.parse::<ServerAddr>()?)
    }
    assert_eq!(parse_io("h:1").unwrap(), tcp("h", 1));
    assert_eq!(
        parse_io("h:0").unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
}
