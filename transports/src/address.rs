//! Server addresses: parsing, display, resolution.
//!
//! A memcached server is reached over TCP (`host:port`) or over a unix domain
//! socket (a path). [`ServerAddr`] holds either; it parses the same strings as
//! pymemcache's `normalize_server_spec`, but refuses what pymemcache lets
//! through by accident:
//!
//! | input | result |
//! |---|---|
//! | `"localhost"`, `"127.0.0.1"` | TCP, port [`DEFAULT_PORT`] (11211) |
//! | `"localhost:12345"` | TCP, port 12345 |
//! | `"[::1]"`, `"[::1]:12345"` | TCP to `::1` (brackets removed) |
//! | `"::1"` | TCP to `::1`, port 11211 (pymemcache misreads this as host `":"`, port 1) |
//! | `"/run/mc.sock"` | unix socket `/run/mc.sock` |
//! | `"unix:/run/mc.sock"`, `"unix:rel.sock"` | unix socket, prefix removed |
//! | `"host:abc"`, `"host:"`, `"host:0"`, `"host:70000"`, `""` | [`AddrParseError`] |
//!
//! Strictness beyond pymemcache: the host must be a DNS-style name (ASCII
//! letters, digits, `.`, `-`, `_`), a valid IPv4 address, or a valid IPv6
//! address (optionally with a `%zone`); brackets may only enclose an IPv6
//! address; an IPv6 address followed by a port must be bracketed
//! (`"[::1]:11211"`, not `"::1:11211"`, which is ambiguous).
//!
//! ```
//! use memcrab_transport::address::{ServerAddr, DEFAULT_PORT};
//!
//! let a: ServerAddr = "[::1]:12345".parse().unwrap();
//! assert_eq!(a, ServerAddr::Tcp { host: "::1".into(), port: 12345 });
//! assert_eq!(a.to_string(), "[::1]:12345");
//! assert_eq!(a.pymemcache_name(), "::1:12345");
//!
//! let b: ServerAddr = "unix:/run/memcached/socket".parse().unwrap();
//! assert_eq!(b, ServerAddr::Unix("/run/memcached/socket".into()));
//!
//! let c: ServerAddr = "localhost".parse().unwrap();
//! assert_eq!(c.port(), Some(DEFAULT_PORT));
//! ```

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The port memcached listens on by default, used when an address names none.
///
/// ```
/// use memcrab_transport::address::{ServerAddr, DEFAULT_PORT};
/// let a: ServerAddr = "cache1".parse().unwrap();
/// assert_eq!(a.port(), Some(DEFAULT_PORT));
/// assert_eq!(DEFAULT_PORT, 11211);
/// ```
pub const DEFAULT_PORT: u16 = 11211;

/// The address of one memcached server: TCP host and port, or a unix socket path.
///
/// The TCP host is kept as given (a name, an IPv4 address, or an IPv6 address
/// *without* brackets); it is resolved only by [`ServerAddr::resolve`].
///
/// ```
/// use memcrab_transport::address::ServerAddr;
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
    /// A unix domain socket path (absolute, or relative to the working directory).
    Unix(PathBuf),
}

/// What was wrong with a server address; see [`AddrParseError::kind`].
///
/// ```
/// use memcrab_transport::address::{AddrErrorKind, ServerAddr};
/// let err = "host:abc".parse::<ServerAddr>().unwrap_err();
/// assert_eq!(err.kind(), AddrErrorKind::InvalidPort);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddrErrorKind {
    /// The address (or the whole server list) is empty.
    Empty,
    /// The port is not a number from 1 to 65535.
    InvalidPort,
    /// The host is empty, contains characters no host name may contain, or is a
    /// malformed IP address, or brackets are misused.
    InvalidHost,
    /// The unix socket path is empty or contains a NUL byte.
    InvalidPath,
    /// An item of a comma-separated server list is empty.
    EmptyListItem,
}

/// A server address (or server list) that could not be parsed.
///
/// Its message names the input and the problem:
///
/// ```
/// use memcrab_transport::address::ServerAddr;
/// let err = "host:abc".parse::<ServerAddr>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid server address "host:abc": port "abc" is not a number 1-65535"#
/// );
/// assert_eq!(err.input(), "host:abc");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrParseError {
    what: &'static str,
    input: String,
    /// Show `input` in quotes (a string) or as is (a tuple, already rendered).
    quoted: bool,
    kind: AddrErrorKind,
    reason: String,
}

impl AddrParseError {
    fn new(input: &str, kind: AddrErrorKind, reason: impl Into<String>) -> Self {
        AddrParseError {
            what: "server address",
            input: input.to_owned(),
            quoted: true,
            kind,
            reason: reason.into(),
        }
    }

    fn list(input: &str, kind: AddrErrorKind, reason: impl Into<String>) -> Self {
        AddrParseError {
            what: "server list",
            ..AddrParseError::new(input, kind, reason)
        }
    }

    /// The kind of problem, for callers that want to match on it.
    ///
    /// ```
    /// use memcrab_transport::address::{AddrErrorKind, ServerAddr};
    /// assert_eq!("".parse::<ServerAddr>().unwrap_err().kind(), AddrErrorKind::Empty);
    /// ```
    pub fn kind(&self) -> AddrErrorKind {
        self.kind
    }

    /// The text that was refused (the address, or the whole list for
    /// [`AddrErrorKind::EmptyListItem`] and an empty list).
    ///
    /// ```
    /// use memcrab_transport::address::parse_server_list;
    /// let err = parse_server_list("a,,b").unwrap_err();
    /// assert_eq!(err.input(), "a,,b");
    /// ```
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for AddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted {
            write!(f, "invalid {} {:?}: {}", self.what, self.input, self.reason)
        } else {
            write!(f, "invalid {} {}: {}", self.what, self.input, self.reason)
        }
    }
}

impl std::error::Error for AddrParseError {}

impl From<AddrParseError> for io::Error {
    fn from(err: AddrParseError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}

// ---------------------------------------------------------------------------
// Parsing helpers
// ---------------------------------------------------------------------------

fn parse_port(input: &str, text: &str) -> Result<u16, AddrParseError> {
    let ok = !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u16>() {
        Ok(port) if ok && port != 0 => Ok(port),
        _ => Err(AddrParseError::new(
            input,
            AddrErrorKind::InvalidPort,
            format!("port {text:?} is not a number 1-65535"),
        )),
    }
}

/// `true` when `s` (without brackets) is an IPv6 address, optionally with a
/// non-empty `%zone` made of name characters.
fn is_ipv6_literal(s: &str) -> bool {
    let (addr, zone) = match s.split_once('%') {
        Some((addr, zone)) => (addr, Some(zone)),
        None => (s, None),
    };
    if let Some(zone) = zone {
        if zone.is_empty() || !zone.bytes().all(is_name_byte) {
            return false;
        }
    }
    addr.parse::<Ipv6Addr>().is_ok()
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

/// Checks a host given without brackets and without a port: a name, an IPv4
/// address, or an IPv6 address.
fn check_host(input: &str, host: &str) -> Result<(), AddrParseError> {
    let bad = |reason: String| {
        Err(AddrParseError::new(
            input,
            AddrErrorKind::InvalidHost,
            reason,
        ))
    };
    if host.is_empty() {
        return bad("host is empty".to_owned());
    }
    if host.contains(':') {
        if is_ipv6_literal(host) {
            return Ok(());
        }
        return bad(format!("host {host:?} is not a valid IPv6 address"));
    }
    if let Some(c) = host
        .chars()
        .find(|&c| !(c.is_ascii() && is_name_byte(c as u8)))
    {
        return bad(format!("host {host:?} contains the character {c:?}"));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') && host.parse::<Ipv4Addr>().is_err() {
        return bad(format!("host {host:?} is not a valid IPv4 address"));
    }
    // `unix:<port>` reads as a socket path, so a host named `unix` could
    // never be written down (displayed) and read back.
    if host == "unix" {
        return bad(
            "host \"unix\" cannot be told apart from the \"unix:\" prefix of a socket path; \
             write \"unix.\" or an IP address"
                .to_owned(),
        );
    }
    Ok(())
}

fn check_path(input: &str, path: &Path) -> Result<(), AddrParseError> {
    let text = path.as_os_str();
    if text.is_empty() {
        return Err(AddrParseError::new(
            input,
            AddrErrorKind::InvalidPath,
            "unix socket path is empty",
        ));
    }
    if text.to_string_lossy().contains('\0') {
        return Err(AddrParseError::new(
            input,
            AddrErrorKind::InvalidPath,
            "unix socket path contains a NUL byte",
        ));
    }
    Ok(())
}

fn parse_addr(input: &str) -> Result<ServerAddr, AddrParseError> {
    if input.is_empty() {
        return Err(AddrParseError::new(
            input,
            AddrErrorKind::Empty,
            "address is empty",
        ));
    }
    // Rules 3 and 4 of normalize_server_spec: unix sockets.
    if let Some(path) = input.strip_prefix("unix:") {
        let path = PathBuf::from(path);
        check_path(input, &path)?;
        return Ok(ServerAddr::Unix(path));
    }
    if input.starts_with('/') {
        let path = PathBuf::from(input);
        check_path(input, &path)?;
        return Ok(ServerAddr::Unix(path));
    }
    // Bracketed IPv6: "[addr]" or "[addr]:port".
    if let Some(rest) = input.strip_prefix('[') {
        let bad = |reason: String| {
            Err(AddrParseError::new(
                input,
                AddrErrorKind::InvalidHost,
                reason,
            ))
        };
        let Some((host, after)) = rest.split_once(']') else {
            return bad("\"[\" without a closing \"]\"".to_owned());
        };
        if !is_ipv6_literal(host) {
            return bad(format!(
                "brackets must enclose an IPv6 address, not {host:?}"
            ));
        }
        let port = if after.is_empty() {
            DEFAULT_PORT
        } else if let Some(port) = after.strip_prefix(':') {
            parse_port(input, port)?
        } else {
            return bad(format!("expected \":port\" after \"]\", found {after:?}"));
        };
        return Ok(ServerAddr::Tcp {
            host: host.to_owned(),
            port,
        });
    }
    match input.matches(':').count() {
        0 => {
            check_host(input, input)?;
            Ok(ServerAddr::Tcp {
                host: input.to_owned(),
                port: DEFAULT_PORT,
            })
        }
        1 => {
            let (host, port) = input.split_once(':').unwrap_or((input, ""));
            check_host(input, host)?;
            let port = parse_port(input, port)?;
            Ok(ServerAddr::Tcp {
                host: host.to_owned(),
                port,
            })
        }
        _ => {
            // Two or more colons and no brackets: a bare IPv6 address, default port.
            if is_ipv6_literal(input) {
                return Ok(ServerAddr::Tcp {
                    host: input.to_owned(),
                    port: DEFAULT_PORT,
                });
            }
            let hint = match input.rsplit_once(':') {
                Some((host, port)) if is_ipv6_literal(host) => format!(
                    "an IPv6 address with a port must be written in brackets: \"[{host}]:{port}\""
                ),
                _ => "neither an IPv6 address nor host:port (which has one \":\")".to_owned(),
            };
            Err(AddrParseError::new(input, AddrErrorKind::InvalidHost, hint))
        }
    }
}

/// Normalises a host given on its own (tuple form): brackets are tolerated
/// around an IPv6 address and removed.
fn bare_host(host: &str) -> &str {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) if is_ipv6_literal(inner) => inner,
        _ => host,
    }
}

fn tcp_checked(host: &str, port: u16) -> Result<ServerAddr, AddrParseError> {
    let shown = format!("({host:?}, {port})");
    let unquoted = |err: AddrParseError| AddrParseError {
        quoted: false,
        ..err
    };
    let host = bare_host(host);
    check_host(&shown, host).map_err(unquoted)?;
    if port == 0 {
        return Err(unquoted(AddrParseError::new(
            &shown,
            AddrErrorKind::InvalidPort,
            "port \"0\" is not a number 1-65535",
        )));
    }
    Ok(ServerAddr::Tcp {
        host: host.to_owned(),
        port,
    })
}

// ---------------------------------------------------------------------------
// ServerAddr
// ---------------------------------------------------------------------------

impl ServerAddr {
    /// The TCP host (IPv6 without brackets), or `None` for a unix socket.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// let a: ServerAddr = "[::1]:1234".parse().unwrap();
    /// assert_eq!(a.host(), Some("::1"));
    /// ```
    pub fn host(&self) -> Option<&str> {
        match self {
            ServerAddr::Tcp { host, .. } => Some(host),
            ServerAddr::Unix(_) => None,
        }
    }

    /// The TCP port, or `None` for a unix socket.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// assert_eq!("h:99".parse::<ServerAddr>().unwrap().port(), Some(99));
    /// assert_eq!("/tmp/mc.sock".parse::<ServerAddr>().unwrap().port(), None);
    /// ```
    pub fn port(&self) -> Option<u16> {
        match self {
            ServerAddr::Tcp { port, .. } => Some(*port),
            ServerAddr::Unix(_) => None,
        }
    }

    /// The unix socket path, or `None` for a TCP address.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// use std::path::Path;
    /// let a: ServerAddr = "unix:/run/mc.sock".parse().unwrap();
    /// assert_eq!(a.unix_path(), Some(Path::new("/run/mc.sock")));
    /// ```
    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            ServerAddr::Tcp { .. } => None,
            ServerAddr::Unix(path) => Some(path),
        }
    }

    /// The node name pymemcache's `HashClient` gives this server, which is also
    /// the string its rendezvous hash is fed: `host:port` with an IPv6 host
    /// *not* bracketed, or the unix path verbatim.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// let p = |s: &str| s.parse::<ServerAddr>().unwrap().pymemcache_name();
    /// assert_eq!(p("localhost"), "localhost:11211");
    /// assert_eq!(p("[::1]:11212"), "::1:11212");
    /// assert_eq!(p("unix:/run/mc.sock"), "/run/mc.sock");
    /// ```
    pub fn pymemcache_name(&self) -> String {
        match self {
            ServerAddr::Tcp { host, port } => format!("{host}:{port}"),
            ServerAddr::Unix(path) => path.to_string_lossy().into_owned(),
        }
    }

    /// Resolves a TCP address to socket addresses, to be tried in order.
    ///
    /// The resolver's order is kept within each family, but when a name
    /// resolves to both IPv6 and IPv4 addresses the IPv6 ones come first (as
    /// `getaddrinfo` usually orders them, and as pymemcache, which connects to
    /// the first only, would pick). Duplicates are removed. A unix socket
    /// address gives an [`io::ErrorKind::InvalidInput`] error.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// let a: ServerAddr = "127.0.0.1:11211".parse().unwrap();
    /// assert_eq!(a.resolve().unwrap(), vec!["127.0.0.1:11211".parse().unwrap()]);
    /// ```
    pub fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let (host, port) = match self {
            ServerAddr::Tcp { host, port } => (host.as_str(), *port),
            ServerAddr::Unix(path) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "unix socket {} has no network address to resolve",
                        path.display()
                    ),
                ))
            }
        };
        let resolved = (host, port)
            .to_socket_addrs()
            .map_err(|err| io::Error::new(err.kind(), format!("cannot resolve {self}: {err}")))?;
        let mut seen = HashSet::new();
        let mut v6: Vec<SocketAddr> = Vec::new();
        let mut v4: Vec<SocketAddr> = Vec::new();
        for addr in resolved {
            if seen.insert(addr) {
                if addr.is_ipv6() {
                    v6.push(addr);
                } else {
                    v4.push(addr);
                }
            }
        }
        v6.extend(v4);
        if v6.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("cannot resolve {self}: no addresses"),
            ));
        }
        Ok(v6)
    }

    /// `true` for a unix socket, the name `localhost` (or `*.localhost`), and
    /// loopback IP addresses (`127.0.0.0/8`, `::1`, `::ffff:127.x.x.x`). Other
    /// names return `false`; nothing is resolved.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// let l = |s: &str| s.parse::<ServerAddr>().unwrap().is_loopback();
    /// assert!(l("127.0.0.1:11211") && l("[::1]") && l("localhost") && l("/tmp/mc.sock"));
    /// assert!(!l("10.0.0.1") && !l("cache.example.com"));
    /// ```
    pub fn is_loopback(&self) -> bool {
        let host = match self {
            ServerAddr::Unix(_) => return true,
            ServerAddr::Tcp { host, .. } => host.as_str(),
        };
        let lower = host.trim_end_matches('.').to_ascii_lowercase();
        if lower == "localhost" || lower.ends_with(".localhost") {
            return true;
        }
        let ip_text = host.split('%').next().unwrap_or(host);
        match ip_text.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip.is_loopback(),
            Ok(IpAddr::V6(ip)) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            Err(_) => false,
        }
    }
}

impl fmt::Display for ServerAddr {
    /// `host:port` with an IPv6 host in brackets (`[::1]:11211`), or
    /// `unix:/path` for a unix socket. The output parses back to the same
    /// address.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// let a = ServerAddr::from(("::1", 11211));
    /// assert_eq!(a.to_string(), "[::1]:11211");
    /// assert_eq!(a.to_string().parse::<ServerAddr>().unwrap(), a);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            ServerAddr::Tcp { host, port } => write!(f, "{host}:{port}"),
            ServerAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl FromStr for ServerAddr {
    type Err = AddrParseError;

    /// Parses `host`, `host:port`, `[ipv6]`, `[ipv6]:port`, a bare IPv6
    /// address, `/path`, or `unix:path`; see the [module docs](self).
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// let a: ServerAddr = "::1".parse().unwrap();
    /// assert_eq!(a, ServerAddr::Tcp { host: "::1".into(), port: 11211 });
    /// assert!("localhost:0".parse::<ServerAddr>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_addr(s)
    }
}

impl From<(&str, u16)> for ServerAddr {
    /// A TCP address from a bare host and a port, like pymemcache's tuple form.
    /// Brackets around an IPv6 host are removed. Nothing is validated here;
    /// use [`ToServerAddr`] for a checked conversion.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
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
    /// use memcrab_transport::address::ServerAddr;
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
    /// A TCP address from a socket address; an IPv6 scope id becomes a
    /// numeric zone (`fe80::1%2`).
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// use std::net::SocketAddr;
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
    /// A TCP address from an IPv4 socket address.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// use std::net::{Ipv4Addr, SocketAddrV4};
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
    /// A TCP address from an IPv6 socket address; a non-zero scope id
    /// becomes a numeric zone.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// use std::net::{Ipv6Addr, SocketAddrV6};
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

impl From<&Path> for ServerAddr {
    /// A unix socket address.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// use std::path::Path;
    /// let a = ServerAddr::from(Path::new("/run/mc.sock"));
    /// assert_eq!(a.to_string(), "unix:/run/mc.sock");
    /// ```
    fn from(path: &Path) -> Self {
        ServerAddr::Unix(path.to_owned())
    }
}

impl From<PathBuf> for ServerAddr {
    /// A unix socket address.
    ///
    /// ```
    /// use memcrab_transport::address::ServerAddr;
    /// use std::path::PathBuf;
    /// let a = ServerAddr::from(PathBuf::from("rel.sock"));
    /// assert_eq!(a.to_string(), "unix:rel.sock");
    /// ```
    fn from(path: PathBuf) -> Self {
        ServerAddr::Unix(path)
    }
}

// ---------------------------------------------------------------------------
// ToServerAddr
// ---------------------------------------------------------------------------

/// Anything that names one memcached server, so a constructor can take
/// `impl ToServerAddr`: strings (parsed as by [`FromStr`]), `(host, port)`
/// tuples, socket addresses, paths (unix sockets) and [`ServerAddr`] itself.
/// References to any of these work too.
///
/// Unlike the `From` conversions, this validates: a tuple's host must be a
/// valid name or IP address and its port non-zero.
///
/// ```
/// use memcrab_transport::address::{ServerAddr, ToServerAddr};
/// use std::path::Path;
///
/// fn connect(addr: impl ToServerAddr) -> String {
///     addr.to_server_addr().unwrap().to_string()
/// }
/// assert_eq!(connect("localhost"), "localhost:11211");
/// assert_eq!(connect(("::1", 11212)), "[::1]:11212");
/// assert_eq!(connect(Path::new("/run/mc.sock")), "unix:/run/mc.sock");
/// assert!(("localhost", 0).to_server_addr().is_err());
/// ```
pub trait ToServerAddr {
    /// Converts to a [`ServerAddr`], or says why this does not name a server.
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
        tcp_checked(self.0, self.1)
    }
}

impl ToServerAddr for (String, u16) {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        tcp_checked(&self.0, self.1)
    }
}

impl ToServerAddr for (IpAddr, u16) {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        SocketAddr::new(self.0, self.1).to_server_addr()
    }
}

impl ToServerAddr for SocketAddr {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        if self.port() == 0 {
            return Err(AddrParseError::new(
                &self.to_string(),
                AddrErrorKind::InvalidPort,
                "port \"0\" is not a number 1-65535",
            ));
        }
        Ok(ServerAddr::from(*self))
    }
}

impl ToServerAddr for SocketAddrV4 {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        SocketAddr::V4(*self).to_server_addr()
    }
}

impl ToServerAddr for SocketAddrV6 {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        SocketAddr::V6(*self).to_server_addr()
    }
}

impl ToServerAddr for Path {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        check_path(&self.to_string_lossy(), self)?;
        Ok(ServerAddr::Unix(self.to_owned()))
    }
}

impl ToServerAddr for PathBuf {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        self.as_path().to_server_addr()
    }
}

impl<T: ToServerAddr + ?Sized> ToServerAddr for &T {
    fn to_server_addr(&self) -> Result<ServerAddr, AddrParseError> {
        (**self).to_server_addr()
    }
}

/// Parses a comma-separated server list, as given to the CLI's `--servers` or
/// in `$MEMCACHED_SERVERS`. Whitespace around each item is removed; an empty
/// list or an empty item (`"a,,b"`, a trailing comma) is an error.
///
/// ```
/// use memcrab_transport::address::{parse_server_list, ServerAddr};
/// let servers = parse_server_list("127.0.0.1:11211, [::1]:11212 ,unix:/run/mc.sock").unwrap();
/// assert_eq!(servers.len(), 3);
/// assert_eq!(servers[1], ServerAddr::Tcp { host: "::1".into(), port: 11212 });
/// assert!(parse_server_list("a,").is_err());
/// ```
pub fn parse_server_list(s: &str) -> Result<Vec<ServerAddr>, AddrParseError> {
    if s.trim().is_empty() {
        return Err(AddrParseError::list(
            s,
            AddrErrorKind::Empty,
            "no servers given",
        ));
    }
    s.split(',')
        .enumerate()
        .map(|(i, item)| {
            let item = item.trim();
            if item.is_empty() {
                Err(AddrParseError::list(
                    s,
                    AddrErrorKind::EmptyListItem,
                    format!("item {} is empty", i + 1),
                ))
            } else {
                item.parse()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> ServerAddr {
        ServerAddr::Tcp {
            host: host.to_owned(),
            port,
        }
    }

    fn unix(path: &str) -> ServerAddr {
        ServerAddr::Unix(PathBuf::from(path))
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
        assert!(PathBuf::new().to_server_addr().is_err());
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
    fn socket_addrs_and_paths() {
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
        assert_eq!(take(PathBuf::from("/s")), unix("/s"));
        assert_eq!(take(Path::new("/s")), unix("/s"));
        assert!("h:x".to_server_addr().is_err());
    }

    #[test]
    fn accessors() {
        assert_eq!(p("[::1]:5").host(), Some("::1"));
        assert_eq!(p("[::1]:5").port(), Some(5));
        assert_eq!(p("[::1]:5").unix_path(), None);
        assert_eq!(p("/s").host(), None);
        assert_eq!(p("/s").port(), None);
        assert_eq!(p("/s").unix_path(), Some(Path::new("/s")));
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
    fn resolve_literals() {
        assert_eq!(
            p("127.0.0.1:5").resolve().unwrap(),
            vec!["127.0.0.1:5".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            p("[::1]:5").resolve().unwrap(),
            vec!["[::1]:5".parse::<SocketAddr>().unwrap()]
        );
        let e = p("/s").resolve().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
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

    #[test]
    fn io_error_conversion() {
        let e: io::Error = err("h:x").into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("h:x"));
    }
}
