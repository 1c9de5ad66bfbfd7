//! Conversions into [`ServerAddr`]: `From` (unchecked) and [`ToServerAddr`]
//! (checked).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use core::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};

#[cfg(feature = "std")]
use super::error::AddrErrorKind;
use super::error::AddrParseError;
use super::parse::bare_host;
use super::server::ServerAddr;

impl From<(&str, u16)> for ServerAddr {
    /// Makes a TCP address of a bare host and a port, like pymemcache's tuple
    /// form. Brackets around an IPv6 host are removed. Nothing is validated
    /// here; use [`ServerAddr::tcp`] or [`ToServerAddr`] for a checked
    /// conversion.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let a = ServerAddr::from(("::1", 11212));
    /// assert_eq!(a.pymemcache_name(), "::1:11212");
    /// ```
    fn from((host, port): (&str, u16)) -> Self {
        ServerAddr::Tcp {
            host: bare_host(host).to_owned(),
            port,
        }
    }
}

impl From<(String, u16)> for ServerAddr {
    /// Same as `From<(&str, u16)>`.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let a = ServerAddr::from((String::from("localhost"), 11211));
    /// assert_eq!(a.to_string(), "localhost:11211");
    /// ```
    fn from((host, port): (String, u16)) -> Self {
        if bare_host(&host).len() == host.len() {
            ServerAddr::Tcp { host, port }
        } else {
            ServerAddr::from((host.as_str(), port))
        }
    }
}

impl From<SocketAddr> for ServerAddr {
    /// Makes a TCP address of a socket address; an IPv6 scope id becomes a
    /// numeric zone (`fe80::1%2`).
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// use core::net::SocketAddr;
    /// let sa: SocketAddr = "[::1]:11211".parse().unwrap();
    /// assert_eq!(ServerAddr::from(sa).to_string(), "[::1]:11211");
    /// ```
    fn from(addr: SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(a) => ServerAddr::from(a),
            SocketAddr::V6(a) => ServerAddr::from(a),
        }
    }
}

impl From<SocketAddrV4> for ServerAddr {
    /// Makes a TCP address of an IPv4 socket address.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// use core::net::{Ipv4Addr, SocketAddrV4};
    /// let a = ServerAddr::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 11211));
    /// assert_eq!(a.to_string(), "127.0.0.1:11211");
    /// ```
    fn from(addr: SocketAddrV4) -> Self {
        ServerAddr::Tcp {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl From<SocketAddrV6> for ServerAddr {
    /// Makes a TCP address of an IPv6 socket address; a non-zero scope id
    /// becomes a numeric zone.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// use core::net::SocketAddrV6;
    /// let a = ServerAddr::from(SocketAddrV6::new("fe80::1".parse().unwrap(), 11211, 0, 2));
    /// assert_eq!(a.host(), Some("fe80::1%2"));
    /// ```
    fn from(addr: SocketAddrV6) -> Self {
        let host = match addr.scope_id() {
            0 => addr.ip().to_string(),
            scope => format!("{}%{}", addr.ip(), scope),
        };
        ServerAddr::Tcp {
            host,
            port: addr.port(),
        }
    }
}

#[cfg(feature = "std")]
impl From<&std::path::Path> for ServerAddr {
    /// Makes a unix socket address of a path (feature `std`). A path that is
    /// not valid UTF-8 is converted lossily; [`ToServerAddr`] refuses it
    /// instead.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// use std::path::Path;
    /// let a = ServerAddr::from(Path::new("/run/mc.sock"));
    /// assert_eq!(a.to_string(), "unix:/run/mc.sock");
    /// ```
    fn from(path: &std::path::Path) -> Self {
        ServerAddr::Unix(path.to_string_lossy().into_owned())
    }
}

#[cfg(feature = "std")]
impl From<std::path::PathBuf> for ServerAddr {
    /// Makes a unix socket address of a path (feature `std`), as
    /// `From<&Path>`.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// use std::path::PathBuf;
    /// let a = ServerAddr::from(PathBuf::from("rel.sock"));
    /// assert_eq!(a.to_string(), "unix:rel.sock");
    /// ```
    fn from(path: std::path::PathBuf) -> Self {
        match path.into_os_string().into_string() {
            Ok(text) => ServerAddr::Unix(text),
            Err(raw) => ServerAddr::Unix(raw.to_string_lossy().into_owned()),
        }
    }
}

/// Anything that names one memcached server, so a constructor can take
/// `impl ToServerAddr`: strings (parsed as by [`FromStr`](core::str::FromStr)),
/// `(host, port)` tuples, socket addresses, paths (unix sockets; feature
/// `std`) and [`ServerAddr`] itself. References to any of these work too.
///
/// Unlike the `From` conversions, this validates: a tuple's host must be a
/// valid name or IP address and its port non-zero; a path must be non-empty
/// UTF-8 without NUL bytes.
///
/// ```
/// use memcrab_core::address::{ServerAddr, ToServerAddr};
///
/// fn connect(addr: impl ToServerAddr) -> String {
///     addr.to_server_addr().unwrap().to_string()
/// }
/// assert_eq!(connect("localhost"), "localhost:11211");
/// assert_eq!(connect(("::1", 11212)), "[::1]:11212");
/// assert_eq!(connect("/run/mc.sock"), "unix:/run/mc.sock");
/// assert!(("localhost", 0).to_server_addr().is_err());
/// ```
pub trait ToServerAddr {
    /// Converts to a [`ServerAddr`], or says why this does not name a server.
    ///
    /// # Errors
    ///
    /// An [`AddrParseError`] saying what is wrong with the address.
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError>;
}

impl ToServerAddr for ServerAddr {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        Ok(self.clone())
    }
}

impl ToServerAddr for str {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        self.parse()
    }
}

impl ToServerAddr for String {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        self.parse()
    }
}

impl ToServerAddr for (&str, u16) {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        ServerAddr::tcp(self.0, self.1)
    }
}

impl ToServerAddr for (String, u16) {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        ServerAddr::tcp(&self.0, self.1)
    }
}

impl ToServerAddr for (IpAddr, u16) {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        ServerAddr::from_socket_addr(SocketAddr::new(self.0, self.1))
    }
}

impl ToServerAddr for SocketAddr {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        ServerAddr::from_socket_addr(*self)
    }
}

impl ToServerAddr for SocketAddrV4 {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        ServerAddr::from_socket_addr(SocketAddr::V4(*self))
    }
}

impl ToServerAddr for SocketAddrV6 {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        ServerAddr::from_socket_addr(SocketAddr::V6(*self))
    }
}

#[cfg(feature = "std")]
impl ToServerAddr for std::path::Path {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        match self.to_str() {
            Some(path) => ServerAddr::unix(path),
            None => Err(AddrParseError::new(
                &self.to_string_lossy(),
                AddrErrorKind::InvalidPath,
                "unix socket path is not valid UTF-8",
            )),
        }
    }
}

#[cfg(feature = "std")]
impl ToServerAddr for std::path::PathBuf {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        self.as_path().to_server_addr()
    }
}

impl<T: ToServerAddr + ?Sized> ToServerAddr for &T {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        (**self).to_server_addr()
    }
}
