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

/// Reads `server` as an address; a bad one is an
/// [`Error::Config`](crate::Error::Config) naming what was wrong.
pub(crate) fn config_addr(server: impl ToServerAddr) -> crate::Result<ServerAddr> {
    server
        .to_server_addr()
        .map_err(|e| crate::Error::Config(e.to_string()))
}

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
#[path = "tests/address.rs"]
mod tests;
