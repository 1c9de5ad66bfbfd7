//! `ServerAddr`: one server's address, its parts and its display form.

use alloc::string::String;
use core::fmt;

/// The port memcached listens on by default, used when an address names none.
///
/// ```
/// use memcrab_core::address::{ServerAddr, DEFAULT_PORT};
/// let a: ServerAddr = "cache1".parse().unwrap();
/// assert_eq!(a.port(), Some(DEFAULT_PORT));
/// assert_eq!(DEFAULT_PORT, 11211);
/// ```
pub const DEFAULT_PORT: u16 = 11211;

/// The address of one memcached server: TCP host and port, or a unix socket path.
///
/// The TCP host is kept as given (a name, an IPv4 address, or an IPv6 address
/// *without* brackets); a transport resolves it when it connects.
///
/// Build one by parsing a string (`"host:port".parse()`, see the
/// [module docs](super)), with the checked constructors [`ServerAddr::tcp`]
/// and [`ServerAddr::unix`], or through [`ToServerAddr`](super::ToServerAddr).
/// The variants can also be written out directly; nothing checks them then.
///
/// ```
/// use memcrab_core::address::ServerAddr;
///
/// let tcp: ServerAddr = "10.0.0.2:11300".parse().unwrap();
/// assert_eq!(tcp, ServerAddr::Tcp { host: "10.0.0.2".into(), port: 11300 });
///
/// let unix: ServerAddr = "/run/mc.sock".parse().unwrap();
/// assert_eq!(unix, ServerAddr::Unix("/run/mc.sock".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServerAddr {
    /// A TCP server. `host` is a DNS name, an IPv4 address, or an IPv6 address
    /// without brackets (e.g. `::1`, or `fe80::1%eth0` with a zone).
    Tcp {
        /// Name or IP address, IPv6 without brackets.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A unix domain socket path (absolute, or relative to the working
    /// directory), without the `unix:` prefix.
    Unix(String),
}

impl ServerAddr {
    /// Returns the TCP host (IPv6 without brackets), or `None` for a unix socket.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let a: ServerAddr = "[::1]:1234".parse().unwrap();
    /// assert_eq!(a.host(), Some("::1"));
    /// ```
    #[must_use]
    pub fn host(&self) -> Option<&str> {
        match self {
            ServerAddr::Tcp { host, .. } => Some(host),
            ServerAddr::Unix(_) => None,
        }
    }

    /// Returns the TCP port, or `None` for a unix socket.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// assert_eq!("h:99".parse::<ServerAddr>().unwrap().port(), Some(99));
    /// assert_eq!("/tmp/mc.sock".parse::<ServerAddr>().unwrap().port(), None);
    /// ```
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        match self {
            ServerAddr::Tcp { port, .. } => Some(*port),
            ServerAddr::Unix(_) => None,
        }
    }

    /// Returns the unix socket path as text, or `None` for a TCP address.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let a: ServerAddr = "unix:/run/mc.sock".parse().unwrap();
    /// assert_eq!(a.unix_socket(), Some("/run/mc.sock"));
    /// assert_eq!("h:1".parse::<ServerAddr>().unwrap().unix_socket(), None);
    /// ```
    #[must_use]
    pub fn unix_socket(&self) -> Option<&str> {
        match self {
            ServerAddr::Tcp { .. } => None,
            ServerAddr::Unix(path) => Some(path),
        }
    }

    /// Returns the unix socket path, or `None` for a TCP address (feature
    /// `std`; [`unix_socket`](Self::unix_socket) is the same as text).
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// use std::path::Path;
    /// let a: ServerAddr = "unix:/run/mc.sock".parse().unwrap();
    /// assert_eq!(a.unix_path(), Some(Path::new("/run/mc.sock")));
    /// ```
    #[cfg(feature = "std")]
    #[must_use]
    pub fn unix_path(&self) -> Option<&std::path::Path> {
        self.unix_socket().map(std::path::Path::new)
    }
}

impl fmt::Display for ServerAddr {
    /// Writes `host:port` with an IPv6 host in brackets (`[::1]:11211`), or
    /// `unix:/path` for a unix socket. The output parses back to the same
    /// address.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let a = ServerAddr::from(("::1", 11211));
    /// assert_eq!(a.to_string(), "[::1]:11211");
    /// assert_eq!(a.to_string().parse::<ServerAddr>().unwrap(), a);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            ServerAddr::Tcp { host, port } => write!(f, "{host}:{port}"),
            ServerAddr::Unix(path) => write!(f, "unix:{path}"),
        }
    }
}
