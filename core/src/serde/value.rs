//! The values a serde turns into bytes and back.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

use super::decimal::parse_int;

/// Hold a value as a memcached client stores it: bytes, text, an integer or
/// a Python pickle.
///
/// These are the kinds pymemcache's `pickle_serde` tells apart by their
/// flags, so a [`Value`] written by memcrab reads back in Python as the same
/// kind, and the other way round. With the default [`RawSerde`](super::RawSerde)
/// every value reads back as [`Value::Bytes`].
///
/// # Example
///
/// Build values from ordinary Rust types and read them back.
///
/// ```
/// use memcrab_core::serde::Value;
///
/// assert_eq!(Value::from("héllo").as_str(), Some("héllo"));
/// assert_eq!(Value::from(42u32).as_int(), Some(42));
/// assert_eq!(Value::from(&b"raw"[..]).as_bytes(), Some(&b"raw"[..]));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Raw bytes, stored as they are (Python `bytes`, flags 0).
    Bytes(Bytes),
    /// Text, stored as UTF-8 (Python `str`, flags 16 under pymemcache's
    /// pickle serde).
    Text(String),
    /// An integer, stored as decimal ASCII digits (Python `int`, flags 2).
    ///
    /// `i128` holds every `i64` and every `u64`, so every counter memcached's
    /// `incr` can produce.
    Int(i128),
    /// A pickle stream kept as raw bytes (flags 1).
    ///
    /// Without the `pickle` feature this is what a pickled value reads back
    /// as; written, the bytes are stored unchanged with
    /// [`FLAG_PICKLE`](super::FLAG_PICKLE).
    Pickle(Bytes),
    /// A decoded Python value (flags 1), with the `pickle` feature.
    ///
    /// Reading a pickle gives this variant, except that a pickled `str`,
    /// `bytes` or `int` (in `i64` or `u64` range) is turned into [`Value::Text`],
    /// [`Value::Bytes`] or [`Value::Int`] by `From<serde_pickle::Value>`.
    #[cfg(feature = "pickle")]
    Pickled(serde_pickle::Value),
}

impl Value {
    /// Return the bytes of a [`Value::Bytes`], the UTF-8 of a
    /// [`Value::Text`], and `None` for any other value.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::serde::Value;
    ///
    /// assert_eq!(Value::from("é").as_bytes(), Some(&b"\xc3\xa9"[..]));
    /// assert_eq!(Value::from(1).as_bytes(), None);
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(bytes) => Some(bytes),
            Value::Text(text) => Some(text.as_bytes()),
            _ => None,
        }
    }

    /// Return the text of a [`Value::Text`], or of a [`Value::Bytes`] that is
    /// valid UTF-8, and `None` otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::serde::Value;
    /// use bytes::Bytes;
    ///
    /// assert_eq!(Value::from(Bytes::from_static(b"plain")).as_str(), Some("plain"));
    /// assert_eq!(Value::from(Bytes::from_static(b"\xff")).as_str(), None);
    /// ```
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            Value::Bytes(bytes) => core::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// Return the integer of a [`Value::Int`], or the integer that a
    /// [`Value::Bytes`] or [`Value::Text`] spells in decimal, and `None`
    /// otherwise.
    ///
    /// Digits are read like Python's `int()`: surrounding ASCII whitespace,
    /// a sign and single underscores between digits are allowed.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::serde::Value;
    ///
    /// assert_eq!(Value::from(-7i64).as_int(), Some(-7));
    /// assert_eq!(Value::from(&b"43"[..]).as_int(), Some(43));
    /// assert_eq!(Value::from("forty").as_int(), None);
    /// ```
    #[must_use]
    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Bytes(bytes) => parse_int(bytes, 10),
            Value::Text(text) => parse_int(text.as_bytes(), 10),
            _ => None,
        }
    }

    /// Return the bytes of a [`Value::Bytes`] or [`Value::Text`], giving the
    /// value back unchanged as the error for any other kind.
    ///
    /// This is an `O(1)` operation: neither kind is copied.
    ///
    /// # Errors
    ///
    /// Returns `Err(self)` for an integer or a pickle.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::serde::Value;
    ///
    /// assert_eq!(Value::from("ok").into_bytes().unwrap(), &b"ok"[..]);
    /// assert_eq!(Value::from(3).into_bytes(), Err(Value::Int(3)));
    /// ```
    pub fn into_bytes(self) -> Result<Bytes, Value> {
        match self {
            Value::Bytes(bytes) => Ok(bytes),
            Value::Text(text) => Ok(Bytes::from(text.into_bytes())),
            other => Err(other),
        }
    }
}

impl From<Bytes> for Value {
    fn from(bytes: Bytes) -> Value {
        Value::Bytes(bytes)
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Value {
        Value::Bytes(Bytes::from(bytes))
    }
}

impl From<&[u8]> for Value {
    fn from(bytes: &[u8]) -> Value {
        Value::Bytes(Bytes::copy_from_slice(bytes))
    }
}

impl<const N: usize> From<&[u8; N]> for Value {
    fn from(bytes: &[u8; N]) -> Value {
        Value::Bytes(Bytes::copy_from_slice(bytes))
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::Text(text)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::Text(String::from(text))
    }
}

macro_rules! from_integer {
    ($($int:ty),*) => {$(
        impl From<$int> for Value {
            fn from(n: $int) -> Value {
                Value::Int(i128::from(n))
            }
        }
    )*};
}

from_integer!(i8, i16, i32, i64, i128, u8, u16, u32, u64);

impl From<isize> for Value {
    fn from(n: isize) -> Value {
        // isize is at most 64 bits on every target Rust supports.
        Value::Int(n as i128)
    }
}

impl From<usize> for Value {
    fn from(n: usize) -> Value {
        // usize is at most 64 bits on every target Rust supports.
        Value::Int(n as i128)
    }
}

#[cfg(test)]
mod tests {
    use super::Value;
    use bytes::Bytes;

    #[test]
    fn from_impls_pick_the_kind() {
        assert_eq!(Value::from("a"), Value::Text("a".into()));
        assert_eq!(
            Value::from(alloc::string::String::from("a")),
            Value::Text("a".into())
        );
        assert_eq!(
            Value::from(alloc::vec![1u8]),
            Value::Bytes(Bytes::from_static(&[1]))
        );
        assert_eq!(
            Value::from(&b"x"[..]),
            Value::Bytes(Bytes::from_static(b"x"))
        );
        assert_eq!(Value::from(b"x"), Value::Bytes(Bytes::from_static(b"x")));
        assert_eq!(Value::from(u64::MAX), Value::Int(i128::from(u64::MAX)));
        assert_eq!(Value::from(i64::MIN), Value::Int(i128::from(i64::MIN)));
        assert_eq!(Value::from(7usize), Value::Int(7));
        assert_eq!(Value::from(-7isize), Value::Int(-7));
    }

    #[test]
    fn accessors_refuse_other_kinds() {
        let pickle = Value::Pickle(Bytes::from_static(b"\x80\x03K\x01."));
        assert_eq!(pickle.as_bytes(), None);
        assert_eq!(pickle.as_str(), None);
        assert_eq!(pickle.as_int(), None);
        assert_eq!(pickle.clone().into_bytes(), Err(pickle));
        assert_eq!(Value::from(5).as_str(), None);
        assert_eq!(Value::from(&b"5  "[..]).as_int(), Some(5));
    }
}
