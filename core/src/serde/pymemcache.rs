//! pymemcache's `pickle_serde`: bytes, text, integers and pickles told apart
//! by their flags.

use alloc::format;
use bytes::Bytes;

use super::decimal::parse_int;
use super::{
    PickleProtocol, Serde, SerdeError, Value, FLAG_BYTES, FLAG_INTEGER, FLAG_LONG, FLAG_PICKLE,
    FLAG_TEXT,
};

/// Store values the way pymemcache's `pickle_serde` (python-memcached's
/// format) does, so Python programs and memcrab can share keys.
///
/// Writing, by kind:
///
/// | [`Value`] | bytes stored | flags |
/// |---|---|---|
/// | `Bytes` | unchanged | [`FLAG_BYTES`] (0) |
/// | `Text` | UTF-8 | [`FLAG_TEXT`] (16) |
/// | `Int` | decimal ASCII digits (`incr`/`decr` work on them) | [`FLAG_INTEGER`] (2) |
/// | `Pickle` | unchanged | [`FLAG_PICKLE`] (1) |
/// | `Pickled` (feature `pickle`) | pickled with [`protocol`](PickleSerde::protocol) | [`FLAG_PICKLE`] (1) |
///
/// Reading checks the flags in pymemcache's order: `0` gives bytes; else the
/// [`FLAG_TEXT`] bit gives text; else [`FLAG_INTEGER`] or [`FLAG_LONG`] gives an
/// integer; else [`FLAG_PICKLE`] gives a pickle; anything else (e.g. unknown
/// bits alone) gives the bytes unchanged.
///
/// A pickle reads as `Value::Pickled` with the `pickle` feature and as the
/// raw [`Value::Pickle`] bytes without it. Where pymemcache turns a value
/// that does not decode into a miss (`None`), memcrab returns a
/// [`SerdeError`].
///
/// # Example
///
/// ```
/// use memcrab_core::serde::{PickleSerde, Serde, Value, FLAG_INTEGER, FLAG_TEXT};
///
/// let serde = PickleSerde::new();
/// let (data, flags) = serde.serialize(b"s", &Value::from("héllo"))?;
/// assert_eq!((&data[..], flags), (&b"h\xc3\xa9llo"[..], FLAG_TEXT));
/// let (data, flags) = serde.serialize(b"i", &Value::from(42))?;
/// assert_eq!((&data[..], flags), (&b"42"[..], FLAG_INTEGER));
/// assert_eq!(serde.deserialize(b"i", data, flags)?, Value::Int(42));
/// # Ok::<(), memcrab_core::serde::SerdeError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PickleSerde {
    protocol: PickleProtocol,
}

impl PickleSerde {
    /// Create a serde that pickles with the highest protocol serde-pickle
    /// writes ([`PickleProtocol::V3`]).
    #[must_use]
    pub fn new() -> PickleSerde {
        PickleSerde::default()
    }

    /// Set the pickle protocol used to write `Value::Pickled` values (feature `pickle`).
    #[must_use]
    pub fn with_protocol(mut self, protocol: PickleProtocol) -> PickleSerde {
        self.protocol = protocol;
        self
    }

    /// Set the pickle protocol by number, as pymemcache's
    /// `PickleSerde(pickle_version=...)`: 2 to 5, or -1 for Python's
    /// highest (5). See [`PickleProtocol::new`].
    ///
    /// # Errors
    ///
    /// Returns [`SerdeError::UnsupportedProtocol`] for any other number,
    /// at construction rather than at the first write.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::serde::{PickleProtocol, PickleSerde, SerdeError};
    ///
    /// assert_eq!(PickleSerde::new().with_pickle_version(2)?.protocol(), PickleProtocol::V2);
    /// assert!(PickleSerde::new().with_pickle_version(1).is_err());
    /// # Ok::<(), SerdeError>(())
    /// ```
    pub fn with_pickle_version(self, version: i32) -> Result<PickleSerde, SerdeError> {
        Ok(self.with_protocol(PickleProtocol::new(version)?))
    }

    /// Return the pickle protocol used to write `Value::Pickled` values (feature `pickle`).
    #[must_use]
    pub fn protocol(&self) -> PickleProtocol {
        self.protocol
    }
}

impl Serde for PickleSerde {
    fn serialize(&self, _key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError> {
        Ok(match value {
            Value::Bytes(bytes) => (bytes.clone(), FLAG_BYTES),
            Value::Text(text) => (Bytes::copy_from_slice(text.as_bytes()), FLAG_TEXT),
            Value::Int(n) => (Bytes::from(format!("{n}").into_bytes()), FLAG_INTEGER),
            Value::Pickle(raw) => (raw.clone(), FLAG_PICKLE),
            #[cfg(feature = "pickle")]
            Value::Pickled(value) => (
                Bytes::from(super::pickle::dumps(value, self.protocol)?),
                FLAG_PICKLE,
            ),
        })
    }

    fn deserialize(&self, _key: &[u8], data: Bytes, flags: u32) -> Result<Value, SerdeError> {
        if flags == FLAG_BYTES {
            Ok(Value::Bytes(data))
        } else if flags & FLAG_TEXT != 0 {
            match alloc::string::String::from_utf8(data.to_vec()) {
                Ok(text) => Ok(Value::Text(text)),
                Err(_) => Err(SerdeError::InvalidText { flags }),
            }
        } else if flags & (FLAG_INTEGER | FLAG_LONG) != 0 {
            parse_int(&data, 10)
                .map(Value::Int)
                .ok_or(SerdeError::InvalidInt { flags })
        } else if flags & FLAG_PICKLE != 0 {
            unpickle(data, flags)
        } else {
            Ok(Value::Bytes(data))
        }
    }
}

/// Read a value stored with [`FLAG_PICKLE`].
#[cfg(feature = "pickle")]
fn unpickle(data: Bytes, flags: u32) -> Result<Value, SerdeError> {
    super::pickle::loads(&data, flags).map(Value::from)
}

/// Keep a value stored with [`FLAG_PICKLE`] as raw bytes.
#[cfg(not(feature = "pickle"))]
fn unpickle(data: Bytes, _flags: u32) -> Result<Value, SerdeError> {
    Ok(Value::Pickle(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::FLAG_COMPRESSED;

    fn write(value: impl Into<Value>) -> (Bytes, u32) {
        PickleSerde::new()
            .serialize(b"k", &value.into())
            .expect("serializes")
    }

    fn read(data: &'static [u8], flags: u32) -> Result<Value, SerdeError> {
        PickleSerde::new().deserialize(b"k", Bytes::from_static(data), flags)
    }

    #[test]
    fn writes_pymemcache_wire_bytes() {
        // spec §15 item 44.
        assert_eq!(write("héllo"), (Bytes::from_static(b"h\xc3\xa9llo"), 16));
        assert_eq!(write(42), (Bytes::from_static(b"42"), 2));
        assert_eq!(write(-3i64), (Bytes::from_static(b"-3"), 2));
        assert_eq!(
            write(u64::MAX),
            (Bytes::from_static(b"18446744073709551615"), 2)
        );
        assert_eq!(write(&b"raw"[..]), (Bytes::from_static(b"raw"), 0));
        assert_eq!(write("short"), (Bytes::from_static(b"short"), 16));
        let raw = Value::Pickle(Bytes::from_static(b"\x80\x05\x88."));
        assert_eq!(write(raw), (Bytes::from_static(b"\x80\x05\x88."), 1));
    }

    #[test]
    fn reads_in_pymemcache_precedence() {
        assert_eq!(read(b"x", 0), Ok(Value::Bytes(Bytes::from_static(b"x"))));
        assert_eq!(read(b"h\xc3\xa9llo", 16), Ok(Value::Text("héllo".into())));
        // TEXT wins over INTEGER and PICKLE.
        assert_eq!(read(b"42", 16 | 2 | 1), Ok(Value::Text("42".into())));
        assert_eq!(read(b"42", 2), Ok(Value::Int(42)));
        assert_eq!(read(b"42", 4), Ok(Value::Int(42)));
        assert_eq!(read(b"42", 2 | 1), Ok(Value::Int(42)));
        // memcached pads a shrunken decr result with spaces.
        assert_eq!(read(b"5  ", 2), Ok(Value::Int(5)));
        assert_eq!(
            read(b"18446744073709551615", 2),
            Ok(Value::Int(i128::from(u64::MAX)))
        );
        // Unknown bits alone, or COMPRESSED alone, read as bytes.
        assert_eq!(read(b"z", 8), Ok(Value::Bytes(Bytes::from_static(b"z"))));
        assert_eq!(
            read(b"z", 1 << 20),
            Ok(Value::Bytes(Bytes::from_static(b"z")))
        );
        assert_eq!(
            read(b"z", 32 | FLAG_COMPRESSED),
            Ok(Value::Bytes(Bytes::from_static(b"z")))
        );
    }

    #[test]
    fn reports_undecodable_values() {
        assert_eq!(
            read(b"\xff", 16),
            Err(SerdeError::InvalidText { flags: 16 })
        );
        assert_eq!(read(b"4x2", 2), Err(SerdeError::InvalidInt { flags: 2 }));
        assert_eq!(read(b"", 4), Err(SerdeError::InvalidInt { flags: 4 }));
    }

    #[test]
    fn only_writable_protocols_are_accepted() {
        for n in [-2, 0, 1, 6, i32::MAX] {
            assert_eq!(
                PickleSerde::new().with_pickle_version(n),
                Err(SerdeError::UnsupportedProtocol { protocol: n })
            );
            assert!(PickleProtocol::try_from(n).is_err(), "{n}");
        }
        for (n, protocol) in [
            (2, PickleProtocol::V2),
            (3, PickleProtocol::V3),
            (4, PickleProtocol::V4),
            (5, PickleProtocol::V5),
            (-1, PickleProtocol::V5),
        ] {
            let serde = PickleSerde::new().with_pickle_version(n).expect("writable");
            assert_eq!(serde.protocol(), protocol);
        }
        let numbers: alloc::vec::Vec<u8> = PickleProtocol::WRITABLE
            .iter()
            .map(|p| p.number())
            .collect();
        assert_eq!(numbers, [2, 3, 4, 5]);
    }

    #[cfg(not(feature = "pickle"))]
    #[test]
    fn keeps_pickles_raw_without_the_feature() {
        assert_eq!(
            read(b"abc", 1),
            Ok(Value::Pickle(Bytes::from_static(b"abc")))
        );
    }

    #[cfg(feature = "pickle")]
    #[test]
    fn reports_bad_pickles_with_the_feature() {
        // spec §15 item 44: pymemcache reads this as a miss.
        let err = read(b"abc", 1).unwrap_err();
        assert!(
            matches!(err, SerdeError::InvalidPickle { flags: 1, .. }),
            "{err:?}"
        );
    }

    #[cfg(feature = "pickle")]
    #[test]
    fn pickles_other_values() {
        // pymemcache: True → b"\x80\x05\x88." (protocol 5); serde-pickle writes 3.
        let (data, flags) = write(Value::Pickled(serde_pickle::Value::Bool(true)));
        assert_eq!((&data[..], flags), (&b"\x80\x03\x88."[..], 1));
        let v2 = PickleSerde::new().with_protocol(PickleProtocol::V2);
        let (data, _) = v2
            .serialize(b"k", &Value::Pickled(serde_pickle::Value::Bool(true)))
            .expect("pickles");
        assert_eq!(&data[..], b"\x80\x02\x88.");
        for (protocol, header) in [
            (PickleProtocol::V4, b"\x80\x04"),
            (PickleProtocol::V5, b"\x80\x05"),
        ] {
            let serde = PickleSerde::new().with_protocol(protocol);
            let value = Value::Pickled(serde_pickle::Value::List(alloc::vec![
                serde_pickle::Value::F64(1.5),
                serde_pickle::Value::None,
            ]));
            let (data, flags) = serde.serialize(b"k", &value).expect("pickles");
            assert_eq!(&data[..2], header);
            assert_eq!(serde.deserialize(b"k", data, flags), Ok(value));
        }
        assert_eq!(
            read(b"\x80\x05\x88.", 1),
            Ok(Value::Pickled(serde_pickle::Value::Bool(true)))
        );
        // A pickled str, bytes or int reads as the plain kind.
        assert_eq!(
            read(
                b"\x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00\x8c\x02hi\x94.",
                1
            ),
            Ok(Value::Text("hi".into()))
        );
        assert_eq!(read(b"\x80\x05K*.", 1), Ok(Value::Int(42)));
    }
}
