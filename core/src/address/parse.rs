//! Parsing: `FromStr`, server lists, and the checked constructors.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use core::str::FromStr;

use super::error::{AddrErrorKind, AddrParseError};
use super::server::{ServerAddr, DEFAULT_PORT};

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

/// Returns `true` when `s` (without brackets) is an IPv6 address, optionally
/// with a non-empty `%zone` made of name characters.
pub(super) fn is_ipv6_literal(s: &str) -> bool {
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

/// Checks a unix socket path; `input` is what the error shows.
pub(super) fn check_path(input: &str, path: &str) -> Result<(), AddrParseError> {
    if path.is_empty() {
        return Err(AddrParseError::new(
            input,
            AddrErrorKind::InvalidPath,
            "unix socket path is empty",
        ));
    }
    if path.contains('\0') {
        return Err(AddrParseError::new(
            input,
            AddrErrorKind::InvalidPath,
            "unix socket path contains a NUL byte",
        ));
    }
    Ok(())
}

fn unix_checked(input: &str, path: &str) -> Result<ServerAddr, AddrParseError> {
    check_path(input, path)?;
    Ok(ServerAddr::Unix(path.to_owned()))
}

fn parse_bracketed(input: &str, rest: &str) -> Result<ServerAddr, AddrParseError> {
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
    Ok(ServerAddr::Tcp {
        host: host.to_owned(),
        port,
    })
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
        return unix_checked(input, path);
    }
    if input.starts_with('/') {
        return unix_checked(input, input);
    }
    // Bracketed IPv6: "[addr]" or "[addr]:port".
    if let Some(rest) = input.strip_prefix('[') {
        return parse_bracketed(input, rest);
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
pub(super) fn bare_host(host: &str) -> &str {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) if is_ipv6_literal(inner) => inner,
        _ => host,
    }
}

impl ServerAddr {
    /// Checks a bare `host` and a `port` (pymemcache's `(host, port)` tuple
    /// form) and makes a TCP address of them.
    ///
    /// Brackets around an IPv6 host are removed. The host must be a name, an
    /// IPv4 or an IPv6 address, as in a parsed string; the port must not be 0.
    ///
    /// # Errors
    ///
    /// [`AddrErrorKind::InvalidHost`] or [`AddrErrorKind::InvalidPort`], the
    /// message showing the tuple.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// assert_eq!(ServerAddr::tcp("[::1]", 5).unwrap().to_string(), "[::1]:5");
    /// assert_eq!(
    ///     ServerAddr::tcp("localhost", 0).unwrap_err().to_string(),
    ///     r#"invalid server address ("localhost", 0): port "0" is not a number 1-65535"#
    /// );
    /// ```
    pub fn tcp(host: &str, port: u16) -> Result<ServerAddr, AddrParseError> {
        let shown = format!("({host:?}, {port})");
        let host = bare_host(host);
        check_host(&shown, host).map_err(AddrParseError::unquoted)?;
        if port == 0 {
            return Err(AddrParseError::new(
                &shown,
                AddrErrorKind::InvalidPort,
                "port \"0\" is not a number 1-65535",
            )
            .unquoted());
        }
        Ok(ServerAddr::Tcp {
            host: host.to_owned(),
            port,
        })
    }

    /// Checks a unix socket `path` (given without a `unix:` prefix) and makes
    /// an address of it.
    ///
    /// # Errors
    ///
    /// [`AddrErrorKind::InvalidPath`] if `path` is empty or contains a NUL byte.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// assert_eq!(ServerAddr::unix("rel.sock").unwrap().to_string(), "unix:rel.sock");
    /// assert!(ServerAddr::unix("").is_err());
    /// ```
    pub fn unix(path: &str) -> Result<ServerAddr, AddrParseError> {
        unix_checked(path, path)
    }

    /// Checks a socket address (its port must not be 0) and makes a TCP
    /// address of it; an IPv6 scope id becomes a numeric zone.
    ///
    /// # Errors
    ///
    /// [`AddrErrorKind::InvalidPort`] for port 0.
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// use core::net::SocketAddr;
    /// let sa: SocketAddr = "127.0.0.1:11211".parse().unwrap();
    /// assert_eq!(ServerAddr::from_socket_addr(sa).unwrap().to_string(), "127.0.0.1:11211");
    /// assert!(ServerAddr::from_socket_addr("127.0.0.1:0".parse().unwrap()).is_err());
    /// ```
    pub fn from_socket_addr(addr: SocketAddr) -> Result<ServerAddr, AddrParseError> {
        if addr.port() == 0 {
            return Err(AddrParseError::new(
                &addr.to_string(),
                AddrErrorKind::InvalidPort,
                "port \"0\" is not a number 1-65535",
            ));
        }
        Ok(ServerAddr::from(addr))
    }
}

impl FromStr for ServerAddr {
    type Err = AddrParseError;

    /// Parses `host`, `host:port`, `[ipv6]`, `[ipv6]:port`, a bare IPv6
    /// address, `/path`, or `unix:path`; see the [module docs](super).
    ///
    /// ```
    /// use memcrab_core::address::ServerAddr;
    /// let a: ServerAddr = "::1".parse().unwrap();
    /// assert_eq!(a, ServerAddr::Tcp { host: "::1".into(), port: 11211 });
    /// assert!("localhost:0".parse::<ServerAddr>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_addr(s)
    }
}

/// Parses a comma-separated server list, as given to the CLI's `--servers` or
/// in `$MEMCACHED_SERVERS`. Whitespace around each item is removed; an empty
/// list or an empty item (`"a,,b"`, a trailing comma) is an error.
///
/// # Errors
///
/// [`AddrErrorKind::Empty`] or [`AddrErrorKind::EmptyListItem`] naming the
/// whole list, or the first item's own error.
///
/// ```
/// use memcrab_core::address::{parse_server_list, ServerAddr};
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
