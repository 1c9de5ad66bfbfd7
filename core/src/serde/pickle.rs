//! Python pickles, through serde-pickle (feature `pickle`).
//!
//! serde-pickle reads pickle protocols 0 to 5 (all that Python 3.8+ writes,
//! out-of-band buffers excepted) and writes protocols 2 and 3. Python 3 reads
//! both; Python 2 reads only protocol 2. memcrab also writes protocols 4 and
//! 5 as protocol 3's opcodes under a protocol 4 or 5 header: each protocol's
//! opcodes include all of the ones before, and frames are optional, so these
//! are valid protocol 4 and 5 pickles (Python 3.4+ and 3.8+ read them),
//! without frames or out-of-band buffers. Protocols 0 and 1 are not written.

#[cfg(not(feature = "pickle"))]
use super::SerdeError;
#[cfg(feature = "pickle")]
use alloc::string::ToString;
#[cfg(feature = "pickle")]
use alloc::vec::Vec;
#[cfg(feature = "pickle")]
use bytes::Bytes;

#[cfg(feature = "pickle")]
use super::{decimal::parse_int, SerdeError, Value};

/// Choose the pickle protocol [`PickleSerde`](super::PickleSerde) writes.
///
/// Only the `pickle` feature pickles anything; without it the choice is kept
/// but unused. Reading accepts every protocol whatever is chosen here.
///
/// # Example
///
/// ```
/// use memcrab_core::serde::{PickleProtocol, PickleSerde};
///
/// // Readable by Python 2 as well as Python 3.
/// let serde = PickleSerde::new().with_protocol(PickleProtocol::V2);
/// assert_eq!(serde.protocol(), PickleProtocol::V2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PickleProtocol {
    /// Protocol 2: Python 2.3 and later read it.
    V2,
    /// Protocol 3: Python 3.0 and later; the highest serde-pickle writes.
    #[default]
    V3,
    /// Protocol 4: Python 3.4 and later (written with protocol 3's opcodes).
    V4,
    /// Protocol 5: Python 3.8 and later, Python's highest (written with
    /// protocol 3's opcodes).
    V5,
}

impl PickleProtocol {
    /// The protocols memcrab can write, lowest first.
    pub const WRITABLE: [PickleProtocol; 4] = [
        PickleProtocol::V2,
        PickleProtocol::V3,
        PickleProtocol::V4,
        PickleProtocol::V5,
    ];

    /// Choose protocol `number`, as pymemcache's `pickle_version` argument
    /// does; `-1` (Python's `HIGHEST_PROTOCOL`, pymemcache's default) is
    /// [`PickleProtocol::V5`].
    ///
    /// # Errors
    ///
    /// Returns [`SerdeError::UnsupportedProtocol`] for any other protocol
    /// than 2 to 5 and -1: memcrab does not write protocols 0 and 1.
    /// (Reading takes every protocol, 0 to 5.)
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::serde::{PickleProtocol, SerdeError};
    ///
    /// assert_eq!(PickleProtocol::new(2), Ok(PickleProtocol::V2));
    /// assert_eq!(PickleProtocol::new(-1), Ok(PickleProtocol::V5));
    /// let err = PickleProtocol::new(1).unwrap_err();
    /// assert_eq!(err, SerdeError::UnsupportedProtocol { protocol: 1 });
    /// assert_eq!(
    ///     err.to_string(),
    ///     "pickle protocol 1 cannot be written: memcrab writes protocols 2 to 5 (and reads 0 to 5)"
    /// );
    /// ```
    pub fn new(number: i32) -> Result<PickleProtocol, SerdeError> {
        match number {
            2 => Ok(PickleProtocol::V2),
            3 => Ok(PickleProtocol::V3),
            4 => Ok(PickleProtocol::V4),
            5 | -1 => Ok(PickleProtocol::V5),
            other => Err(SerdeError::UnsupportedProtocol { protocol: other }),
        }
    }

    /// Return the protocol's number (2 to 5), the second byte of every
    /// pickle written with it.
    #[must_use]
    pub fn number(self) -> u8 {
        match self {
            PickleProtocol::V2 => 2,
            PickleProtocol::V3 => 3,
            PickleProtocol::V4 => 4,
            PickleProtocol::V5 => 5,
        }
    }
}

impl TryFrom<i32> for PickleProtocol {
    type Error = SerdeError;

    /// The same as [`PickleProtocol::new`].
    fn try_from(number: i32) -> Result<PickleProtocol, SerdeError> {
        PickleProtocol::new(number)
    }
}

/// Pickle `value` with `protocol`.
#[cfg(feature = "pickle")]
pub(crate) fn dumps(
    value: &serde_pickle::Value,
    protocol: PickleProtocol,
) -> Result<Vec<u8>, SerdeError> {
    let options = match protocol {
        PickleProtocol::V2 => serde_pickle::SerOptions::new().proto_v2(),
        PickleProtocol::V3 | PickleProtocol::V4 | PickleProtocol::V5 => {
            serde_pickle::SerOptions::new()
        }
    };
    let mut pickle =
        serde_pickle::value_to_vec(value, options).map_err(|err| SerdeError::Pickle {
            reason: err.to_string(),
        })?;
    // serde-pickle starts with PROTO (0x80) and its protocol; protocols 4
    // and 5 take every protocol-3 opcode, so only that byte changes.
    match pickle.get_mut(..2) {
        Some([0x80, number]) => *number = protocol.number(),
        _ => {
            return Err(SerdeError::Pickle {
                reason: "serde-pickle wrote no PROTO opcode".to_string(),
            })
        }
    }
    Ok(pickle)
}

/// Unpickle `data`, stored with `flags`.
#[cfg(feature = "pickle")]
pub(crate) fn loads(data: &[u8], flags: u32) -> Result<serde_pickle::Value, SerdeError> {
    serde_pickle::value_from_slice(data, serde_pickle::DeOptions::new()).map_err(|err| {
        SerdeError::InvalidPickle {
            flags,
            reason: err.to_string(),
        }
    })
}

/// Build the Python integer `n`, outside the `i64` range, by unpickling it.
///
/// serde-pickle's serializer stops at `u64` and its big integer type is not
/// ours to name, but it reads a `LONG1` opcode (little-endian two's
/// complement) of any length.
#[cfg(feature = "pickle")]
fn big_int(n: i128) -> Result<serde_pickle::Value, SerdeError> {
    let mut pickle = Vec::with_capacity(21);
    pickle.extend_from_slice(b"\x80\x02\x8a\x10");
    pickle.extend_from_slice(&n.to_le_bytes());
    pickle.push(b'.');
    loads(&pickle, super::FLAG_PICKLE)
}

#[cfg(feature = "pickle")]
impl From<serde_pickle::Value> for Value {
    /// Convert a Python value, turning `str`, `bytes` and `int` (in `i64` or
    /// `u64` range) into [`Value::Text`], [`Value::Bytes`] and [`Value::Int`], so
    /// that [`PickleSerde`](super::PickleSerde) stores them as pymemcache
    /// would (flags 16, 0 and 2), and anything else into [`Value::Pickled`].
    fn from(value: serde_pickle::Value) -> Value {
        match value {
            serde_pickle::Value::String(text) => Value::Text(text),
            serde_pickle::Value::Bytes(bytes) => Value::Bytes(Bytes::from(bytes)),
            serde_pickle::Value::I64(n) => Value::Int(i128::from(n)),
            serde_pickle::Value::Int(big) => match parse_int(big.to_string().as_bytes(), 10) {
                Some(n) => Value::Int(n),
                None => Value::Pickled(serde_pickle::Value::Int(big)),
            },
            other => Value::Pickled(other),
        }
    }
}

#[cfg(feature = "pickle")]
impl Value {
    /// Convert any `serde::Serialize` value into a [`Value`], as pymemcache's
    /// pickle serde would store the equivalent Python value.
    ///
    /// Strings, byte buffers (`serde_bytes`) and integers become
    /// [`Value::Text`], [`Value::Bytes`] and [`Value::Int`]; everything else
    /// (floats, `bool`, `None`, sequences, maps, structs) becomes a
    /// [`Value::Pickled`]. A `Vec<u8>` without `serde_bytes` is a list of
    /// integers, as serde sees it.
    ///
    /// # Errors
    ///
    /// Returns [`SerdeError::Pickle`] when serde-pickle cannot represent the
    /// value (e.g. a map whose keys are not hashable in Python).
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::serde::{PickleSerde, Serde, Value, FLAG_PICKLE};
    /// use std::collections::BTreeMap;
    ///
    /// let mut map = BTreeMap::new();
    /// map.insert("a", vec![1, 2]);
    /// let value = Value::from_serialize(&map)?;
    /// let (data, flags) = PickleSerde::new().serialize(b"k", &value)?;
    /// assert_eq!(flags, FLAG_PICKLE);
    /// let back = PickleSerde::new().deserialize(b"k", data, flags)?;
    /// assert_eq!(back.deserialize_into::<BTreeMap<String, Vec<i32>>>()?["a"], [1, 2]);
    /// # Ok::<(), memcrab_core::serde::SerdeError>(())
    /// ```
    pub fn from_serialize<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, SerdeError> {
        serde_pickle::to_value(value)
            .map(Value::from)
            .map_err(|err| SerdeError::Pickle {
                reason: err.to_string(),
            })
    }

    /// Convert this value into the Python value it stands for.
    ///
    /// # Errors
    ///
    /// Returns [`SerdeError::InvalidPickle`] for a [`Value::Pickle`] whose
    /// bytes do not unpickle.
    pub fn into_pickle_value(self) -> Result<serde_pickle::Value, SerdeError> {
        match self {
            Value::Bytes(bytes) => Ok(serde_pickle::Value::Bytes(bytes.to_vec())),
            Value::Text(text) => Ok(serde_pickle::Value::String(text)),
            Value::Int(n) => Ok(match i64::try_from(n) {
                Ok(small) => serde_pickle::Value::I64(small),
                Err(_) => big_int(n)?,
            }),
            Value::Pickle(raw) => loads(&raw, super::FLAG_PICKLE),
            Value::Pickled(value) => Ok(value),
        }
    }

    /// Convert this value into any `serde::Deserialize` type.
    ///
    /// Works for every kind, not only pickles: text deserializes as a
    /// `String`, an integer as any integer type it fits.
    ///
    /// # Errors
    ///
    /// Returns [`SerdeError::Pickle`] when the value does not have the shape
    /// of `T`, and the errors of [`Value::into_pickle_value`].
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::serde::Value;
    ///
    /// assert_eq!(Value::from(42).deserialize_into::<u8>()?, 42);
    /// assert_eq!(Value::from("hi").deserialize_into::<String>()?, "hi");
    /// # Ok::<(), memcrab_core::serde::SerdeError>(())
    /// ```
    pub fn deserialize_into<T: serde::de::DeserializeOwned>(self) -> Result<T, SerdeError> {
        serde_pickle::from_value(self.into_pickle_value()?).map_err(|err| SerdeError::Pickle {
            reason: err.to_string(),
        })
    }
}

#[cfg(all(test, feature = "pickle"))]
mod tests {
    use super::*;
    use serde_pickle::Value as P;

    #[test]
    fn plain_python_kinds_become_plain_values() {
        assert_eq!(Value::from(P::String("s".into())), Value::Text("s".into()));
        assert_eq!(
            Value::from(P::Bytes(alloc::vec![1])),
            Value::Bytes(Bytes::from_static(&[1]))
        );
        assert_eq!(Value::from(P::I64(-1)), Value::Int(-1));
        assert_eq!(Value::from(P::Bool(false)), Value::Pickled(P::Bool(false)));
        assert_eq!(Value::from(P::None), Value::Pickled(P::None));
    }

    #[test]
    fn integers_round_trip_through_python_values() {
        for n in [
            0,
            -1,
            i128::from(i64::MIN),
            i128::from(u64::MAX),
            i128::MIN,
            i128::MAX,
        ] {
            let python = Value::Int(n).into_pickle_value().unwrap();
            assert_eq!(Value::from(python), Value::Int(n), "{n}");
        }
        let beyond = loads(b"\x80\x02\x8a\x11\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01.", 1);
        assert!(matches!(
            Value::from(beyond.unwrap()),
            Value::Pickled(P::Int(_))
        ));
    }

    #[test]
    fn serialize_and_deserialize_rust_types() {
        assert_eq!(Value::from_serialize("s"), Ok(Value::Text("s".into())));
        assert_eq!(Value::from_serialize(&7u8), Ok(Value::Int(7)));
        assert_eq!(Value::from_serialize(&1.5), Ok(Value::Pickled(P::F64(1.5))));
        let list = Value::from_serialize(&alloc::vec![1, 2]).unwrap();
        assert_eq!(list.deserialize_into::<Vec<u64>>(), Ok(alloc::vec![1, 2]));
        let raw = Value::Pickle(Bytes::from_static(b"\x80\x03K\x07."));
        assert_eq!(raw.deserialize_into::<i32>(), Ok(7));
        let err = Value::from("x").deserialize_into::<i32>().unwrap_err();
        assert!(matches!(err, SerdeError::Pickle { .. }), "{err:?}");
    }
}
