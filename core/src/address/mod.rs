//! Server addresses: parsing, display and node names, with no I/O.
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
//! Everything here is pure logic over strings: nothing is resolved (names
//! are resolved by the transports, which own DNS) and nothing is opened. A
//! unix socket path is kept as a `String`; with the `std` feature,
//! `ServerAddr::unix_path` and the `Path`/`PathBuf` conversions bridge to
//! `std::path`.
//!
//! The same strings name the same servers everywhere memcrab runs: the
//! blocking and mio transports, the WebAssembly `Router`, and (through
//! [`ServerAddr::node_name`]) the hash rings of pymemcache and twemproxy.
//!
//! ```
//! use memcrab_core::address::{ServerAddr, DEFAULT_PORT};
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

mod convert;
mod error;
mod names;
mod parse;
mod server;
#[cfg(test)]
mod tests;

pub use convert::ToServerAddr;
pub use error::{AddrErrorKind, AddrParseError};
pub use parse::parse_server_list;
pub use server::{ServerAddr, DEFAULT_PORT};
