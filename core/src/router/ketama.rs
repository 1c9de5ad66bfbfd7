//! Ketama consistent hashing, as twemproxy (nutcracker) and libmemcached.
//!
//! The source followed is twemproxy 0.5.0 (`src/hashkit/nc_ketama.c`,
//! `nc_md5.c`, `nc_fnv.c`, `src/nc_server.c`, `src/nc_conf.c`), whose ketama
//! is libmemcached's weighted ketama (`MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use md5::{Digest, Md5};

/// Points each server gets on the continuum, scaled by its share of the
/// weight; every MD5 of a server name gives four of them.
const POINTS_PER_SERVER: f32 = 160.0;
/// twemproxy formats `"{name}-{i}"` into a buffer of this size, so it hashes
/// at most one byte less.
const MAX_HOSTLEN: usize = 273;
/// memcached's default port, which twemproxy leaves out of server names.
const DEFAULT_PORT: u16 = 11211;

/// Names the hash applied to keys, twemproxy's `hash:` setting.
///
/// Server points are always placed with MD5 (that is what ketama is); only
/// the key hash varies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyHash {
    /// `hash: md5`: the first four bytes of the key's MD5, little-endian.
    /// libmemcached's weighted ketama uses this too.
    #[default]
    Md5,
    /// `hash: fnv1a_64`, as twemproxy computes it: FNV-1a with the 64-bit
    /// offset basis and prime truncated to 32 bits, in 32-bit arithmetic.
    ///
    /// For ASCII keys that is the low 32 bits of standard FNV-1a 64. Each key
    /// byte is read through a C `char`, which is signed on x86-64, so a byte
    /// at or above 0x80 is sign-extended before it is mixed in; memcrab does
    /// the same, agreeing with nutcracker on x86-64 (a nutcracker built
    /// where `char` is unsigned, such as on ARM, routes such keys
    /// differently).
    Fnv1a64,
}

impl KeyHash {
    /// Hashes `key` as twemproxy's `hash_md5` or `hash_fnv1a_64` does.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::router::KeyHash;
    ///
    /// // The low 32 bits of FNV-1a 64 of "a" (0xaf63dc4c8601ec8c).
    /// assert_eq!(KeyHash::Fnv1a64.hash(b"a"), 0x8601_ec8c);
    /// // The first four bytes of MD5("a") = 0cc175b9..., little-endian.
    /// assert_eq!(KeyHash::Md5.hash(b"a"), 0xb975_c10c);
    /// ```
    #[must_use]
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            KeyHash::Md5 => md5_word(key, 0),
            KeyHash::Fnv1a64 => {
                let mut hash: u32 = 0x8422_2325; // (uint32_t) 0xcbf29ce484222325
                for &b in key {
                    // (uint32_t)(char) b: sign-extended on x86-64.
                    hash ^= i32::from(b as i8) as u32;
                    hash = hash.wrapping_mul(0x1b3); // (uint32_t) 0x100000001b3
                }
                hash
            }
        }
    }
}

/// Returns bytes `4 * word .. 4 * word + 4` of MD5(`data`) as a little-endian
/// number (twemproxy's `ketama_hash(data, len, word)`).
fn md5_word(data: &[u8], word: usize) -> u32 {
    let digest = Md5::digest(data);
    let i = 4 * word;
    u32::from_le_bytes([digest[i], digest[i + 1], digest[i + 2], digest[i + 3]])
}

/// Returns the name twemproxy hashes for a `servers:` line `host:port:weight`
/// without a name: `host` when `port` is 11211, else `host:port`.
///
/// The weight is never part of the name. A line with a name
/// (`host:port:weight name`) hashes that name instead, and twemproxy then
/// keeps its server at the same place on the continuum whatever its address,
/// so give [`Ketama`] the same name. libmemcached's weighted ketama names
/// servers the same way. `host` is taken as written in the configuration.
///
/// # Example
///
/// ```
/// use memcrab_core::router::twemproxy_server_name;
///
/// assert_eq!(twemproxy_server_name("10.0.0.1", 11211), "10.0.0.1");
/// assert_eq!(twemproxy_server_name("10.0.0.1", 11212), "10.0.0.1:11212");
/// ```
#[must_use]
pub fn twemproxy_server_name(host: &str, port: u16) -> String {
    if port == DEFAULT_PORT {
        host.into()
    } else {
        format!("{host}:{port}")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Server {
    name: String,
    weight: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Point {
    value: u32,
    server: usize,
}

/// Picks a server for each key on a ketama continuum, exactly as twemproxy's
/// `distribution: ketama` and libmemcached's weighted ketama.
///
/// Each server gets `floor(weight / total_weight * 40 * servers) * 4` points
/// (160 with equal weights; computed in `f32` as the C code does, so a
/// server may get 156): for `i` in `0..points / 4`, the MD5 of
/// `"{name}-{i}"` gives four points, one per 4-byte word. A key goes to the
/// first point at or after its hash, wrapping around to the first point.
/// Points are sorted stably, so equal values keep server order, as with
/// glibc's `qsort`. An empty key hashes to 0, and a single server takes
/// every key, as in twemproxy.
///
/// Server names are the strings twemproxy hashes, not addresses: see
/// [`twemproxy_server_name`]. Removing a server (twemproxy's
/// `auto_eject_hosts`) rebuilds the continuum from the others, which is
/// exactly what twemproxy does while a server is ejected.
///
/// # Example
///
/// ```
/// use memcrab_core::router::{Ketama, KeyHash};
///
/// // nutcracker's `servers:` 127.0.0.1:21201:1, 127.0.0.1:21202:1, 127.0.0.2:11211:1
/// let servers = [("127.0.0.1:21201", 1), ("127.0.0.1:21202", 1), ("127.0.0.2", 1)];
/// let ring = Ketama::new(&servers, KeyHash::Md5);
/// assert_eq!(ring.points(), 480);
/// assert_eq!(ring.get_server(b"key2"), Some("127.0.0.1:21202"));
/// assert_eq!(ring.get_index(b"key5"), Some(2));
/// ```
#[derive(Clone, Debug)]
pub struct Ketama {
    servers: Vec<Server>,
    continuum: Vec<Point>,
    key_hash: KeyHash,
}

impl Ketama {
    /// Builds the continuum of `servers`, each a name and a weight, hashing
    /// keys with `key_hash`.
    ///
    /// A weight of 0 counts as 1 (libmemcached's rule; twemproxy refuses
    /// it). A name given twice is kept once, with its first weight.
    #[must_use]
    pub fn new<S: AsRef<str>>(servers: &[(S, u32)], key_hash: KeyHash) -> Self {
        let mut ring = Ketama {
            servers: Vec::with_capacity(servers.len()),
            continuum: Vec::new(),
            key_hash,
        };
        for (name, weight) in servers {
            let name = name.as_ref();
            if ring.position(name).is_none() {
                ring.servers.push(Server {
                    name: name.into(),
                    weight: (*weight).max(1),
                });
            }
        }
        ring.rebuild();
        ring
    }

    /// Returns the hash applied to keys.
    #[must_use]
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// Adds the server `name` with `weight` after the others and rebuilds
    /// the continuum, unless a server has that name.
    ///
    /// Returns true if the server was added.
    pub fn add_server(&mut self, name: &str, weight: u32) -> bool {
        if self.position(name).is_some() {
            return false;
        }
        self.servers.push(Server {
            name: name.into(),
            weight: weight.max(1),
        });
        self.rebuild();
        true
    }

    /// Removes the server `name` and rebuilds the continuum.
    ///
    /// Returns false if there was no such server.
    pub fn remove_server(&mut self, name: &str) -> bool {
        match self.position(name) {
            Some(i) => {
                self.servers.remove(i);
                self.rebuild();
                true
            }
            None => false,
        }
    }

    /// Returns the number of servers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Returns true if there is no server.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Returns the number of points on the continuum.
    #[must_use]
    pub fn points(&self) -> usize {
        self.continuum.len()
    }

    /// Returns the servers' names and weights, in the order they were added.
    pub fn servers(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        self.servers.iter().map(|s| (s.name.as_str(), s.weight))
    }

    /// Returns the hash twemproxy computes for `key` (0 for an empty key).
    #[must_use]
    pub fn hash_key(&self, key: &[u8]) -> u32 {
        if key.is_empty() {
            0
        } else {
            self.key_hash.hash(key)
        }
    }

    /// Returns the name of the server that `key` belongs to, or `None` if
    /// there is no server.
    #[must_use]
    pub fn get_server(&self, key: &[u8]) -> Option<&str> {
        self.get_index(key).map(|i| self.servers[i].name.as_str())
    }

    /// Returns the position, in [`servers`](Self::servers) order, of the
    /// server that `key` belongs to, or `None` if there is no server.
    #[must_use]
    pub fn get_index(&self, key: &[u8]) -> Option<usize> {
        if self.servers.len() == 1 {
            return Some(0);
        }
        self.index_for_hash(self.hash_key(key))
    }

    /// Returns the server of the first point at or after `hash`, wrapping
    /// around (twemproxy's `ketama_dispatch`).
    fn index_for_hash(&self, hash: u32) -> Option<usize> {
        let first_at_or_after = self.continuum.partition_point(|p| p.value < hash);
        self.continuum
            .get(first_at_or_after)
            .or_else(|| self.continuum.first())
            .map(|p| p.server)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.servers.iter().position(|s| s.name == name)
    }

    /// Rebuilds the continuum as twemproxy's `ketama_update`.
    fn rebuild(&mut self) {
        self.continuum.clear();
        let live = self.servers.len();
        let total_weight: u64 = self.servers.iter().map(|s| u64::from(s.weight)).sum();
        let mut host: Vec<u8> = Vec::new();
        for (server, s) in self.servers.iter().enumerate() {
            let pct = s.weight as f32 / total_weight as f32;
            for i in 0..points_for(pct, live) / 4 {
                host.clear();
                host.extend_from_slice(s.name.as_bytes());
                host.push(b'-');
                push_decimal(&mut host, i);
                host.truncate(MAX_HOSTLEN - 1);
                let digest = Md5::digest(&host);
                for word in digest.chunks_exact(4) {
                    let value = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                    self.continuum.push(Point { value, server });
                }
            }
        }
        self.continuum.sort_by_key(|p| p.value);
    }
}

/// Returns the points of a server with weight share `pct` among `live`
/// servers, with the C expression's float types:
/// `(uint32_t)(floorf((float)(pct * 160 / 4 * (float)live + 0.0000000001)) * 4)`.
fn points_for(pct: f32, live: usize) -> u32 {
    let scaled: f32 = pct * POINTS_PER_SERVER / 4.0 * live as f32;
    let nudged = (f64::from(scaled) + 0.000_000_000_1) as f32;
    // `as u32` truncates, which is floor for the non-negative values here.
    (nudged as u32).saturating_mul(4)
}

/// Appends `n` in decimal (twemproxy's `%u`).
fn push_decimal(out: &mut Vec<u8>, n: u32) {
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[..len].iter().rev());
}

#[cfg(test)]
mod tests;
