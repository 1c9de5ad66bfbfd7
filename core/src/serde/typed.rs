//! Typed values: what a client stores from a Rust type, and reads back into
//! one.
//!
//! [`ToValue`] and [`FromValue`] are to memcrab what `ToRedisArgs` and
//! `FromRedisValue` are to redis-rs: the storage commands take any
//! `impl ToValue`, the retrievals return any `T: FromValue`. The plain kinds
//! (bytes, text, integers) go through the client's [`Serde`] as a [`Value`],
//! so what a [`PickleSerde`](super::PickleSerde) client writes still reads
//! back in Python as before; the codecs [`Json`](super::Json) and
//! [`Pickle`](super::Pickle) write and check flags of their own.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use memcrab_core::serde::{FromValue, RawSerde, SerdeError, ToValue};
//!
//! let (data, flags) = 16_000u64.to_stored(b"hits", &RawSerde)?;
//! assert_eq!((&data[..], flags), (&b"16000"[..], 0));
//! assert_eq!(u64::from_stored(b"hits", data, flags, &RawSerde)?, 16_000);
//! // memcached pads a shrinking `decr` with spaces.
//! assert_eq!(u64::from_stored(b"hits", Bytes::from_static(b"9    "), 0, &RawSerde)?, 9);
//!
//! let err = u8::from_stored(b"name", Bytes::from_static(b"ada"), 0, &RawSerde).unwrap_err();
//! assert!(matches!(err, SerdeError::WrongType { .. }));
//! assert_eq!(err.key(), Some("name"));
//! # Ok::<(), SerdeError>(())
//! ```

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

use super::{Serde, SerdeError, Value};

/// Turn a Rust value into the bytes and flags a client stores.
///
/// Implemented for [`Value`], `str`, `String`, `[u8]`, `[u8; N]`,
/// `Vec<u8>`, [`Bytes`], every integer type (all through the client's
/// serde, as a [`Value`]), references to any of them, and the codecs
/// [`Json`](super::Json) and [`Pickle`](super::Pickle) (which bypass the
/// serde and set their own flags).
pub trait ToValue {
    /// Encode `self`, to be stored under `key`, with the client's `serde`
    /// (or a codec's own format).
    ///
    /// # Errors
    ///
    /// The serde's or the codec's error when it cannot represent `self`.
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError>;
}

/// Build a Rust value from the bytes and flags memcached returned.
///
/// Implemented for [`Value`] (the raw API: whatever the serde reads),
/// `String` (text, or bytes that are UTF-8), `Vec<u8>` and [`Bytes`]
/// (bytes or text), every integer type (an integer in range, or decimal
/// digits: memcached's counters come back as digits, padded with spaces
/// after a `decr` shrinks them), and the codecs [`Json`](super::Json) and
/// [`Pickle`](super::Pickle) (which check their flags).
pub trait FromValue: Sized {
    /// Decode the `data` and `flags` stored under `key`.
    ///
    /// # Errors
    ///
    /// The serde's error, or [`SerdeError::WrongType`] /
    /// [`SerdeError::WrongFlags`] naming `key` when the value is not what
    /// `Self` needs.
    fn from_stored(
        key: &[u8],
        data: Bytes,
        flags: u32,
        serde: &dyn Serde,
    ) -> Result<Self, SerdeError>;
}

impl ToValue for Value {
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        serde.serialize(key, self)
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        (**self).to_stored(key, serde)
    }
}

impl ToValue for str {
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        serde.serialize(key, &Value::Text(String::from(self)))
    }
}

impl ToValue for String {
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        self.as_str().to_stored(key, serde)
    }
}

impl ToValue for [u8] {
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        serde.serialize(key, &Value::Bytes(Bytes::copy_from_slice(self)))
    }
}

impl<const N: usize> ToValue for [u8; N] {
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        self.as_slice().to_stored(key, serde)
    }
}

impl ToValue for Vec<u8> {
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        self.as_slice().to_stored(key, serde)
    }
}

impl ToValue for Bytes {
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        // O(1): a `Bytes` clone shares the buffer.
        serde.serialize(key, &Value::Bytes(self.clone()))
    }
}

impl FromValue for Value {
    fn from_stored(
        key: &[u8],
        data: Bytes,
        flags: u32,
        serde: &dyn Serde,
    ) -> Result<Self, SerdeError> {
        serde.deserialize(key, data, flags)
    }
}

impl FromValue for Bytes {
    fn from_stored(
        key: &[u8],
        data: Bytes,
        flags: u32,
        serde: &dyn Serde,
    ) -> Result<Self, SerdeError> {
        serde
            .deserialize(key, data, flags)?
            .into_bytes()
            .map_err(|other| wrong_type(key, "bytes", &other))
    }
}

impl FromValue for Vec<u8> {
    fn from_stored(
        key: &[u8],
        data: Bytes,
        flags: u32,
        serde: &dyn Serde,
    ) -> Result<Self, SerdeError> {
        Bytes::from_stored(key, data, flags, serde).map(Vec::from)
    }
}

impl FromValue for String {
    fn from_stored(
        key: &[u8],
        data: Bytes,
        flags: u32,
        serde: &dyn Serde,
    ) -> Result<Self, SerdeError> {
        match serde.deserialize(key, data, flags)? {
            Value::Text(text) => Ok(text),
            Value::Bytes(bytes) => {
                String::from_utf8(Vec::from(bytes)).map_err(|_| SerdeError::WrongType {
                    key: key_text(key),
                    expected: "UTF-8 text",
                    found: String::from("bytes that are not UTF-8"),
                })
            }
            other => Err(wrong_type(key, "UTF-8 text", &other)),
        }
    }
}

macro_rules! integers {
    ($($int:ty),*) => {$(
        impl ToValue for $int {
            fn to_stored(
                &self,
                key: &[u8],
                serde: &dyn Serde,
            ) -> Result<(Bytes, u32), SerdeError> {
                serde.serialize(key, &Value::from(*self))
            }
        }
    )*};
}

integers!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);

impl ToValue for u128 {
    /// A `u128` above `i128::MAX` is refused: [`Value::Int`] is an `i128`
    /// (which holds every counter memcached can make, a `u64`).
    fn to_stored(&self, key: &[u8], serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        let n = i128::try_from(*self).map_err(|_| SerdeError::Unsupported {
            serde: "memcrab",
            kind: "u128 above i128::MAX",
        })?;
        serde.serialize(key, &Value::Int(n))
    }
}

macro_rules! from_integers {
    ($($int:ty),*) => {$(
        impl FromValue for $int {
            fn from_stored(
                key: &[u8],
                data: Bytes,
                flags: u32,
                serde: &dyn Serde,
            ) -> Result<Self, SerdeError> {
                let expected = concat!("an integer of type ", stringify!($int));
                let value = serde.deserialize(key, data, flags)?;
                let n = integer_of(key, expected, &value)?;
                <$int>::try_from(n).map_err(|_| SerdeError::WrongType {
                    key: key_text(key),
                    expected,
                    found: format!("the integer {n}, out of range"),
                })
            }
        }
    )*};
}

from_integers!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

/// The integer a value holds: an `Int`, or decimal digits in bytes or
/// text.
fn integer_of(key: &[u8], expected: &'static str, value: &Value) -> Result<i128, SerdeError> {
    let digits = match value {
        Value::Int(n) => return Ok(*n),
        Value::Bytes(bytes) => &bytes[..],
        Value::Text(text) => text.as_bytes(),
        other => return Err(wrong_type(key, expected, other)),
    };
    parse_decimal(digits).ok_or_else(|| SerdeError::WrongType {
        key: key_text(key),
        expected,
        found: format!("{} that are not a decimal integer", kind(value)),
    })
}

/// Reads `-?[0-9]+` followed by any number of spaces (memcached pads a
/// number that a `decr` made shorter); `None` for anything else or beyond
/// `i128`.
pub(crate) fn parse_decimal(bytes: &[u8]) -> Option<i128> {
    let end = bytes.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    let number = &bytes[..end];
    let digits = number.strip_prefix(b"-").unwrap_or(number);
    // Stricter than Python's `int()` (no leading space, `+` or `_`), then
    // read by the same digits reader as the serde's integers.
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    super::decimal::parse_int(number, 10)
}

/// The key, for an error message.
pub(crate) fn key_text(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

/// What kind of value this is, in an error's words.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Bytes(_) => "bytes",
        Value::Text(_) => "text",
        Value::Int(_) => "an integer",
        Value::Pickle(_) => "a pickle",
        #[cfg(feature = "pickle")]
        Value::Pickled(_) => "a Python value",
    }
}

fn wrong_type(key: &[u8], expected: &'static str, found: &Value) -> SerdeError {
    SerdeError::WrongType {
        key: key_text(key),
        expected,
        found: String::from(kind(found)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::{PickleSerde, RawSerde};

    fn round_trip<T: ToValue + FromValue>(value: &T, serde: &dyn Serde) -> T {
        let (data, flags) = value.to_stored(b"k", serde).unwrap();
        T::from_stored(b"k", data, flags, serde).unwrap()
    }

    #[test]
    fn plain_kinds_round_trip_through_both_serdes() {
        let serdes: [&dyn Serde; 2] = [&RawSerde, &PickleSerde::new()];
        for serde in serdes {
            assert_eq!(round_trip(&String::from("héllo"), serde), "héllo");
            assert_eq!(round_trip(&alloc::vec![0u8, 255], serde), [0, 255]);
            assert_eq!(round_trip(&Bytes::from_static(b"b"), serde), &b"b"[..]);
            assert_eq!(round_trip(&u64::MAX, serde), u64::MAX);
            assert_eq!(round_trip(&i64::MIN, serde), i64::MIN);
            assert_eq!(round_trip(&-7i8, serde), -7);
            assert_eq!(
                round_trip(&u128::from(u64::MAX), serde),
                u128::from(u64::MAX)
            );
            assert!(u128::MAX.to_stored(b"k", serde).is_err());
            assert_eq!(round_trip(&Value::from(3), serde).as_int(), Some(3));
        }
    }

    #[test]
    fn references_and_arrays_store_like_their_targets() {
        let direct = "v".to_stored(b"k", &RawSerde).unwrap();
        assert_eq!((&"v").to_stored(b"k", &RawSerde).unwrap(), direct);
        assert_eq!(b"v".to_stored(b"k", &RawSerde).unwrap(), direct);
        assert_eq!(b"v"[..].to_stored(b"k", &RawSerde).unwrap(), direct);
    }

    #[test]
    fn decimal_digits_with_trailing_spaces_only() {
        assert_eq!(parse_decimal(b"42"), Some(42));
        assert_eq!(parse_decimal(b"9   "), Some(9));
        assert_eq!(parse_decimal(b"-5"), Some(-5));
        assert_eq!(parse_decimal(b" 5"), None);
        assert_eq!(parse_decimal(b"5a"), None);
        assert_eq!(parse_decimal(b"-"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"1_0"), None);
        let too_big = [b'9'; 40];
        assert_eq!(parse_decimal(&too_big), None);
    }

    #[test]
    fn wrong_kinds_name_the_key_and_both_sides() {
        let err = u8::from_stored(b"n", Bytes::from_static(b"300"), 0, &RawSerde).unwrap_err();
        assert_eq!(
            err,
            SerdeError::WrongType {
                key: "n".into(),
                expected: "an integer of type u8",
                found: "the integer 300, out of range".into(),
            }
        );
        let text = String::from_stored(b"t", Bytes::from_static(b"\xff"), 0, &RawSerde);
        let message = format!("{}", text.unwrap_err());
        assert_eq!(
            message,
            "value of key \"t\" is bytes that are not UTF-8, not UTF-8 text"
        );
        let pickle = PickleSerde::new();
        let (data, flags) = 5u32.to_stored(b"i", &pickle).unwrap();
        let err = String::from_stored(b"i", data, flags, &pickle).unwrap_err();
        assert_eq!(err.key(), Some("i"));
        assert!(format!("{err}").contains("an integer"));
    }
}
