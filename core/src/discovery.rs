//! Cloud node discovery: ElastiCache's `config get cluster` reply.
//!
//! An ElastiCache (memcached 1.4.14 or later) configuration endpoint answers
//! `config get cluster` with the cluster's configuration version and its
//! nodes:
//!
//! ```text
//! CONFIG cluster 0 <length>\r\n
//! <version>\n
//! <host>|<ip>|<port> <host>|<ip>|<port> ...\n
//! \r\n
//! END\r\n
//! ```
//!
//! [`ClusterConfig::parse`] reads that reply, whole or as a raw command
//! returns it ([`REQUEST_LINE`] sent with [`TERMINATOR`], which strips the
//! terminator). It is pure: no I/O, no allocation beyond the node list, and
//! malformed input is an error, never a panic. The `<length>` must be a
//! number but does not delimit the body (servers differ on whether it
//! counts the last newline); the terminator does.
//!
//! # Example
//!
//! ```
//! use memcrab_core::discovery::ClusterConfig;
//!
//! let reply = b"CONFIG cluster 0 43\r\n7\na.example|10.0.0.1|11211 b.example||11212\n\r\nEND\r\n";
//! let config = ClusterConfig::parse(reply)?;
//! assert_eq!(config.version, 7);
//! assert_eq!(config.nodes[0].address(true), "10.0.0.1:11211");
//! assert_eq!(config.nodes[1].address(true), "b.example:11212");
//! # Ok::<(), memcrab_core::Error>(())
//! ```

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::serde::decimal::trim_ascii_whitespace;
use crate::Error;

mod refresh;
pub use refresh::{node_changes, Refresh};

/// The command line that asks a configuration endpoint for the cluster.
pub const REQUEST_LINE: &[u8] = b"config get cluster";

/// The bytes that end a `config get cluster` reply (for a raw command).
pub const TERMINATOR: &[u8] = b"\n\r\nEND\r\n";

/// One node of a cluster configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The node's host name (may be empty).
    pub host: String,
    /// The node's IP address (may be empty).
    pub ip: String,
    /// The node's port.
    pub port: u16,
}

impl Node {
    /// Returns `host:port` to connect to: the IP when `use_ip` and there is
    /// one (pymemcache's `use_vpc`), else the host name (or the IP when the
    /// host name is empty). An IPv6 address is bracketed.
    #[must_use]
    pub fn address(&self, use_ip: bool) -> String {
        let name = if (use_ip && !self.ip.is_empty()) || self.host.is_empty() {
            &self.ip
        } else {
            &self.host
        };
        if name.contains(':') {
            format!("[{name}]:{}", self.port)
        } else {
            format!("{name}:{}", self.port)
        }
    }
}

/// A cluster's configuration: its version and its nodes, in the order the
/// endpoint listed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The configuration version; it grows each time the nodes change.
    pub version: u64,
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl ClusterConfig {
    /// Parses a `config get cluster` reply, with or without its terminator
    /// (`\n\r\nEND\r\n`).
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] naming what is malformed: the `CONFIG` line, the
    /// version, or a node (not `host|ip|port`, no host nor IP, a bad port).
    pub fn parse(reply: &[u8]) -> Result<ClusterConfig, Error> {
        let reply = reply.strip_suffix(TERMINATOR).unwrap_or(reply);
        let eol =
            memchr::memmem::find(reply, b"\r\n").ok_or_else(|| bad("no CONFIG line".into()))?;
        header(&reply[..eol])?;
        let body = &reply[eol + 2..];
        let (version, nodes) = match memchr::memchr(b'\n', body) {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, &b""[..]),
        };
        let version = number(trim_ascii_whitespace(version))
            .ok_or_else(|| bad(format!("bad version {}", show(version))))?;
        let nodes = nodes
            .split(|b| b.is_ascii_whitespace())
            .filter(|n| !n.is_empty())
            .map(node)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClusterConfig { version, nodes })
    }
}

/// Checks `CONFIG cluster <flags> <length>`.
fn header(line: &[u8]) -> Result<(), Error> {
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let ok = words.next() == Some(b"CONFIG")
        && words.next() == Some(b"cluster")
        && words.next().and_then(number).is_some()
        && words.next().and_then(number).is_some()
        && words.next().is_none();
    if ok {
        Ok(())
    } else {
        Err(bad(format!("bad CONFIG line {}", show(line))))
    }
}

/// Parses one `host|ip|port`.
fn node(text: &[u8]) -> Result<Node, Error> {
    let fail = || bad(format!("bad node {}", show(text)));
    let mut parts = text.split(|&b| b == b'|');
    let (Some(host), Some(ip), Some(port), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(fail());
    };
    let port = number(port)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p != 0)
        .ok_or_else(fail)?;
    let text_of = |b: &[u8]| {
        core::str::from_utf8(b)
            .ok()
            .filter(|s| {
                s.bytes()
                    .all(|c| c.is_ascii_graphic() && c != b'[' && c != b']')
            })
            .map(String::from)
    };
    let (Some(host), Some(ip)) = (text_of(host), text_of(ip)) else {
        return Err(fail());
    };
    if host.is_empty() && ip.is_empty() {
        return Err(fail());
    }
    Ok(Node { host, ip, port })
}

/// Parses plain decimal digits (no sign, at most `u64::MAX`).
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

fn bad(what: String) -> Error {
    Error::Protocol(format!("config get cluster: {what}"))
}

/// At most 64 bytes of `bytes`, escaped.
fn show(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(64)];
    format!("\"{}\"", cut.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS: &[u8] = b"CONFIG cluster 0 147\r\n12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n\r\nEND\r\n";

    #[test]
    fn parses_the_documented_reply() {
        let c = ClusterConfig::parse(AWS).unwrap();
        assert_eq!(c.version, 12);
        assert_eq!(c.nodes.len(), 2);
        assert_eq!(
            c.nodes[0],
            Node {
                host: "myCluster.pc4ldq.0001.use1.cache.amazonaws.com".into(),
                ip: "10.82.235.120".into(),
                port: 11211
            }
        );
        assert_eq!(c.nodes[1].address(true), "10.80.249.27:11211");
        assert_eq!(
            c.nodes[1].address(false),
            "myCluster.pc4ldq.0002.use1.cache.amazonaws.com:11211"
        );
    }

    #[test]
    fn parses_what_a_raw_command_returns() {
        let raw = &AWS[..AWS.len() - TERMINATOR.len()];
        assert_eq!(ClusterConfig::parse(raw), ClusterConfig::parse(AWS));
    }

    #[test]
    fn empty_node_list_and_ipv6() {
        let c = ClusterConfig::parse(b"CONFIG cluster 0 2\r\n3\n\n\r\nEND\r\n").unwrap();
        assert_eq!((c.version, c.nodes.len()), (3, 0));
        let c = ClusterConfig::parse(b"CONFIG cluster 0 9\r\n4\n|::1|11211\n\r\nEND\r\n").unwrap();
        assert_eq!(c.nodes[0].address(false), "[::1]:11211");
    }

    #[test]
    fn malformed_replies_are_errors() {
        let cases: &[&[u8]] = &[
            b"",
            b"END\r\n",
            b"ERROR\r\n",
            b"CONFIG cluster 0\r\n1\na|b|1\n\r\nEND\r\n",
            b"CONFIG cluster 0 x\r\n1\na|b|1\n\r\nEND\r\n",
            b"CONFIG other 0 9\r\n1\na|b|1\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n-1\na|b|1\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n99999999999999999999999\na|b|1\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n1\na|b\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n1\na|b|1|2\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n1\na|b|0\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n1\na|b|65536\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n1\n||11211\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n1\na\xff|b|1\n\r\nEND\r\n",
            b"CONFIG cluster 0 9\r\n1\n[a]|b|1\n\r\nEND\r\n",
        ];
        for case in cases {
            let result = ClusterConfig::parse(case);
            assert!(
                matches!(result, Err(Error::Protocol(_))),
                "{:?}: {result:?}",
                show(case)
            );
        }
    }

    #[test]
    fn every_prefix_and_byte_flip_never_panics() {
        for cut in 0..=AWS.len() {
            let _ = ClusterConfig::parse(&AWS[..cut]);
        }
        let mut bytes = AWS.to_vec();
        for i in 0..bytes.len() {
            for b in [0u8, b'\n', b'\r', b'|', b' ', 0xff, b'9'] {
                let old = bytes[i];
                bytes[i] = b;
                if let Ok(c) = ClusterConfig::parse(&bytes) {
                    assert!(c.nodes.iter().all(|n| n.port != 0));
                }
                bytes[i] = old;
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn what_an_endpoint_writes_parses_back(
            version in proptest::prelude::any::<u64>(),
            nodes in proptest::collection::vec(
                ("[a-z0-9.-]{0,20}", "[0-9.]{1,15}", 1u16..),
                0..6,
            ),
            raw in proptest::prelude::any::<bool>(),
        ) {
            let list: Vec<String> = nodes.iter().map(|(h, i, p)| format!("{h}|{i}|{p}")).collect();
            let body = format!("{version}\n{}\n", list.join(" "));
            let mut reply = format!("CONFIG cluster 0 {}\r\n{body}\r\nEND\r\n", body.len()).into_bytes();
            if raw {
                reply.truncate(reply.len() - TERMINATOR.len());
            }
            let config = ClusterConfig::parse(&reply).unwrap();
            proptest::prop_assert_eq!(config.version, version);
            let back: Vec<(String, String, u16)> =
                config.nodes.into_iter().map(|n| (n.host, n.ip, n.port)).collect();
            proptest::prop_assert_eq!(back, nodes);
        }
    }
}
