//! Server addresses: parsing and display (from the core), and resolution.
//!
//! [`ServerAddr`], its parser, its errors and [`ToServerAddr`] are
//! memcrab-core's ([`memcrab_core::address`], where every accepted and
//! refused form is listed), so the blocking and mio transports, the
//! WebAssembly `Router` and the CLI read the same strings the same way. What
//! needs the operating system is here: [`Resolve`] turns a TCP address into
//! socket addresses through the system resolver.
//!
//! ```
//! use memcrab_transport::address::{Resolve, ServerAddr, DEFAULT_PORT};
//!
//! let a: ServerAddr = "[::1]:12345".parse().unwrap();
//! assert_eq!(a, ServerAddr::Tcp { host: "::1".into(), port: 12345 });
//! assert_eq!(a.to_string(), "[::1]:12345");
//! assert_eq!(a.pymemcache_name(), "::1:12345");
//! assert_eq!(a.resolve().unwrap(), vec!["[::1]:12345".parse().unwrap()]);
//!
//! let b: ServerAddr = "unix:/run/memcached/socket".parse().unwrap();
//! assert_eq!(b, ServerAddr::Unix("/run/memcached/socket".into()));
//!
//! let c: ServerAddr = "localhost".parse().unwrap();
//! assert_eq!(c.port(), Some(DEFAULT_PORT));
//! ```

use std::collections::HashSet;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

pub use memcrab_core::address::{
    parse_server_list, AddrErrorKind, AddrParseError, ServerAddr, ToServerAddr, DEFAULT_PORT,
};

/// Resolves a [`ServerAddr`] to socket addresses through the system
/// resolver (DNS, `/etc/hosts`); bring it into scope to call
/// `addr.resolve()`.
///
/// ```
/// use memcrab_transport::address::{Resolve, ServerAddr};
/// let a: ServerAddr = "127.0.0.1:11211".parse().unwrap();
/// assert_eq!(a.resolve().unwrap(), vec!["127.0.0.1:11211".parse().unwrap()]);
/// ```
pub trait Resolve {
    /// Resolves a TCP address to socket addresses, to be tried in order.
    ///
    /// The resolver's order is kept within each family, but when a name
    /// resolves to both IPv6 and IPv4 addresses the IPv6 ones come first (as
    /// `getaddrinfo` usually orders them, and as pymemcache, which connects to
    /// the first only, would pick). Duplicates are removed.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] for a unix socket address; the
    /// resolver's error, or [`io::ErrorKind::NotFound`] when it finds no
    /// address, naming the server.
    fn resolve(&self) -> io::Result<Vec<SocketAddr>>;
}

impl Resolve for ServerAddr {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        resolve(self)
    }
}

/// Resolves `addr` as [`Resolve::resolve`] does.
///
/// # Errors
///
/// As [`Resolve::resolve`].
///
/// ```
/// use memcrab_transport::address::{resolve, ServerAddr};
/// let a = ServerAddr::from(("::1", 5));
/// assert_eq!(resolve(&a).unwrap(), vec!["[::1]:5".parse().unwrap()]);
/// ```
pub fn resolve(addr: &ServerAddr) -> io::Result<Vec<SocketAddr>> {
    let (host, port) = match addr {
        ServerAddr::Tcp { host, port } => (host.as_str(), *port),
        ServerAddr::Unix(path) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unix socket {path} has no network address to resolve"),
            ))
        }
    };
    let resolved = (host, port)
        .to_socket_addrs()
        .map_err(|err| io::Error::new(err.kind(), format!("cannot resolve {addr}: {err}")))?;
    let mut seen = HashSet::new();
    let mut v6: Vec<SocketAddr> = Vec::new();
    let mut v4: Vec<SocketAddr> = Vec::new();
    for sa in resolved {
        if seen.insert(sa) {
            if sa.is_ipv6() {
                v6.push(sa);
            } else {
                v4.push(sa);
            }
        }
    }
    v6.extend(v4);
    if v6.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("cannot resolve {addr}: no addresses"),
        ));
    }
    Ok(v6)
}

#[cfg(test)]
mod tests {
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
}
