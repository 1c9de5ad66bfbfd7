//! Rendezvous (highest random weight) hashing, as pymemcache's `RendezvousHash`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use smallvec::SmallVec;

use super::murmur3::{low_byte, Murmur3};

/// Returns the node name pymemcache's `HashClient` gives the server at
/// `host` and `port`: `"{host}:{port}"`, an IPv6 host without brackets.
///
/// These names are what [`Rendezvous`] hashes, so a memcrab client whose
/// nodes are named this way sends every key to the server a pymemcache
/// client with the same servers picks. A unix socket's node name is its path
/// as given (after pymemcache drops a `unix:` prefix), not built here.
///
/// # Example
///
/// ```
/// use memcrab_core::router::pymemcache_node_name;
///
/// assert_eq!(pymemcache_node_name("127.0.0.1", 11211), "127.0.0.1:11211");
/// assert_eq!(pymemcache_node_name("[::1]", 11212), "::1:11212");
/// assert_eq!(pymemcache_node_name("::1", 11212), "::1:11212");
/// ```
#[must_use]
pub fn pymemcache_node_name(host: &str, port: u16) -> String {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    format!("{host}:{port}")
}

/// Says how a key's bytes become the text that pymemcache would hash.
///
/// pymemcache hashes `f"{node}-{key}"`, so what is hashed depends on whether
/// the Python program passed a `str` or a `bytes` key. memcrab keys are bytes;
/// this picks which Python program to agree with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyForm {
    /// Hashes the key as pymemcache hashes a `str` key (Django's backend and
    /// most programs pass `str`).
    ///
    /// A key that is valid UTF-8 is hashed as its characters, each as the
    /// low byte of its code point (see
    /// [`murmur3_32_str`](super::murmur3_32_str)); for ASCII keys that is
    /// the key's own bytes. A key that is not UTF-8 (pymemcache cannot have
    /// such a `str`) is hashed as its raw bytes. Every key a Python program
    /// can write as `str` thus lands on the server pymemcache picks for it.
    #[default]
    Str,
    /// Hashes the key as pymemcache hashes a `bytes` key: Python's `repr`,
    /// so `b"key0"` is hashed as the text `b'key0'`.
    BytesRepr,
}

/// The hash of a rendezvous score: standard MurmurHash3 or the caller's own.
#[derive(Clone, Copy, Debug)]
enum ScoreHash {
    Murmur3 { seed: u32 },
    Custom(fn(&[u8]) -> u32),
}

#[derive(Clone, Debug)]
struct Node {
    name: String,
    /// `"{name}-"` as hashed: the low byte of each character.
    prefix: Vec<u8>,
    /// MurmurHash3 state after `prefix`, so a lookup only hashes the key.
    state: Murmur3,
}

impl Node {
    fn new(name: &str, hash: ScoreHash) -> Node {
        let mut prefix: Vec<u8> = name.chars().map(low_byte).collect();
        prefix.push(b'-');
        let seed = match hash {
            ScoreHash::Murmur3 { seed } => seed,
            ScoreHash::Custom(_) => 0,
        };
        let mut state = Murmur3::new(seed);
        state.write(&prefix);
        Node {
            name: name.into(),
            prefix,
            state,
        }
    }

    fn score(&self, hash: ScoreHash, key_text: &[u8]) -> u32 {
        match hash {
            ScoreHash::Murmur3 { .. } => {
                let mut state = self.state.clone();
                state.write(key_text);
                state.finish()
            }
            ScoreHash::Custom(f) => {
                let mut buf: SmallVec<[u8; 512]> = SmallVec::new();
                buf.extend_from_slice(&self.prefix);
                buf.extend_from_slice(key_text);
                f(&buf)
            }
        }
    }
}

/// Picks a node for each key by rendezvous hashing, exactly as pymemcache's
/// `RendezvousHash`.
///
/// Every node scores a key with `hash("{node}-{key}")`; the highest score
/// wins, and among equal scores the greatest node name (string order) wins,
/// whatever the order of the nodes. The hash is MurmurHash3 x86 32-bit with
/// seed 0 unless made otherwise ([`with_seed`](Self::with_seed),
/// [`with_hash_fn`](Self::with_hash_fn)); node names and keys are turned into
/// text as described on [`KeyForm`].
///
/// With nodes named as pymemcache's `HashClient` names them (see
/// [`pymemcache_node_name`]), every key goes to
/// the same server as in a Python program sharing the cluster.
///
/// A lookup costs one hash of the key per node (the node name's part of
/// `"{node}-{key}"` is hashed once, when the node is added) and allocates
/// nothing unless the key's hashed text is longer than 256 bytes (with a
/// custom hash: node name and key longer than 512).
///
/// # Example
///
/// ```
/// use memcrab_core::router::Rendezvous;
///
/// let mut ring = Rendezvous::new();
/// ring.add_node("127.0.0.1:11211");
/// ring.add_node("127.0.0.1:11212");
/// ring.add_node("127.0.0.1:11213");
/// assert_eq!(ring.get_node(b"foo"), Some("127.0.0.1:11213"));
/// ```
#[derive(Clone, Debug)]
pub struct Rendezvous {
    nodes: Vec<Node>,
    hash: ScoreHash,
    key_form: KeyForm,
}

impl Default for Rendezvous {
    fn default() -> Self {
        Rendezvous::new()
    }
}

impl Rendezvous {
    /// Creates an empty ring hashing with MurmurHash3, seed 0 (pymemcache's
    /// default).
    #[must_use]
    pub fn new() -> Self {
        Rendezvous::with_seed(0)
    }

    /// Creates an empty ring hashing with MurmurHash3 and `seed`
    /// (`RendezvousHash(seed=…)`).
    #[must_use]
    pub fn with_seed(seed: u32) -> Self {
        Rendezvous {
            nodes: Vec::new(),
            hash: ScoreHash::Murmur3 { seed },
            key_form: KeyForm::Str,
        }
    }

    /// Creates an empty ring scoring with `hash`, which is given the bytes of
    /// `"{node}-{key}"` as described on [`KeyForm`]
    /// (`RendezvousHash(hash_function=…)`).
    #[must_use]
    pub fn with_hash_fn(hash: fn(&[u8]) -> u32) -> Self {
        Rendezvous {
            nodes: Vec::new(),
            hash: ScoreHash::Custom(hash),
            key_form: KeyForm::Str,
        }
    }

    /// Sets how keys are turned into hashed text; [`KeyForm::Str`] by default.
    #[must_use]
    pub fn with_key_form(mut self, key_form: KeyForm) -> Self {
        self.key_form = key_form;
        self
    }

    /// Returns how keys are turned into hashed text.
    #[must_use]
    pub fn key_form(&self) -> KeyForm {
        self.key_form
    }

    /// Adds the node `name` after the others, unless it is already there.
    ///
    /// Returns true if the node was added.
    pub fn add_node(&mut self, name: &str) -> bool {
        if self.contains(name) {
            return false;
        }
        self.nodes.push(Node::new(name, self.hash));
        true
    }

    /// Removes the node `name`, keeping the others in order.
    ///
    /// Returns false if there was no such node (pymemcache raises
    /// `ValueError`).
    pub fn remove_node(&mut self, name: &str) -> bool {
        match self.position(name) {
            Some(i) => {
                self.nodes.remove(i);
                true
            }
            None => false,
        }
    }

    /// Returns true if the ring has a node called `name`.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Returns the number of nodes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Returns true if the ring has no node.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Returns the node names in the order they were added.
    pub fn nodes(&self) -> impl Iterator<Item = &str> + '_ {
        self.nodes.iter().map(|n| n.name.as_str())
    }

    /// Returns the name of the node that `key` belongs to, or `None` if the
    /// ring is empty.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::router::Rendezvous;
    ///
    /// let mut ring = Rendezvous::new();
    /// assert_eq!(ring.get_node(b"mykey"), None);
    /// for name in ["0", "1", "2"] {
    ///     ring.add_node(name);
    /// }
    /// assert_eq!(ring.get_node(b"mykey"), Some("1"));
    /// ring.remove_node("1");
    /// assert_eq!(ring.get_node(b"mykey"), Some("0"));
    /// ```
    #[must_use]
    pub fn get_node(&self, key: &[u8]) -> Option<&str> {
        self.get_index(key).map(|i| self.nodes[i].name.as_str())
    }

    /// Returns the position, in [`nodes`](Self::nodes) order, of the node
    /// that `key` belongs to, or `None` if the ring is empty.
    #[must_use]
    pub fn get_index(&self, key: &[u8]) -> Option<usize> {
        let mut buf = KeyBuf::new();
        let text = key_text(key, self.key_form, &mut buf);
        let mut best: Option<(u32, usize)> = None;
        for (i, node) in self.nodes.iter().enumerate() {
            let score = node.score(self.hash, text);
            let wins = match best {
                None => true,
                Some((high, j)) => {
                    score > high || (score == high && node.name > self.nodes[j].name)
                }
            };
            if wins {
                best = Some((score, i));
            }
        }
        best.map(|(_, i)| i)
    }

    /// Returns the score that the node `name` (present or not) gives `key`:
    /// the hash of `"{name}-{key}"`.
    #[must_use]
    pub fn score(&self, name: &str, key: &[u8]) -> u32 {
        let mut buf = KeyBuf::new();
        Node::new(name, self.hash).score(self.hash, key_text(key, self.key_form, &mut buf))
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }
}

/// A key's hashed text when it is not the key itself; keys up to 256 bytes
/// stay on the stack.
type KeyBuf = SmallVec<[u8; 256]>;

/// Returns the text pymemcache hashes for `key` given as `form`, written to
/// `buf` when it differs from `key`.
fn key_text<'a>(key: &'a [u8], form: KeyForm, buf: &'a mut KeyBuf) -> &'a [u8] {
    match form {
        KeyForm::Str if key.is_ascii() => key,
        KeyForm::Str => match core::str::from_utf8(key) {
            Ok(s) => {
                buf.extend(s.chars().map(low_byte));
                buf
            }
            Err(_) => key,
        },
        KeyForm::BytesRepr => {
            python_bytes_repr(key, buf);
            buf
        }
    }
}

/// Returns Python's `repr(key)` of a `bytes` value, such as `b'key0'`.
fn python_bytes_repr(key: &[u8], out: &mut KeyBuf) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let quote = if key.contains(&b'\'') && !key.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push(b'b');
    out.push(quote);
    for &b in key {
        match b {
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ if b == quote => out.extend_from_slice(&[b'\\', b]),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests;
