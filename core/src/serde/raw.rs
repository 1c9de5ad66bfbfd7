//! The default serde: values are bytes, flags are 0.

use alloc::format;
use bytes::Bytes;

use super::{Serde, SerdeError, Value, FLAG_BYTES};

/// Store values as plain bytes with flags 0, and read every value back as
/// [`Value::Bytes`] whatever its flags: pymemcache's default (identity) serde.
///
/// Text is stored as its UTF-8 and an integer as its decimal digits, as
/// pymemcache stores `str(value)`. A pickle is refused with
/// [`SerdeError::Unsupported`], since flags 0 could not tell it apart from
/// bytes; use [`PickleSerde`](super::PickleSerde) for pickles.
///
/// # Example
///
/// ```
/// use memcrab_core::serde::{RawSerde, Serde, Value};
///
/// let (data, flags) = RawSerde.serialize(b"k", &Value::from(42))?;
/// assert_eq!((&data[..], flags), (&b"42"[..], 0));
/// assert_eq!(RawSerde.deserialize(b"k", data, 2)?, Value::from(&b"42"[..]));
/// # Ok::<(), memcrab_core::serde::SerdeError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawSerde;

impl Serde for RawSerde {
    fn serialize(&self, _key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError> {
        match value {
            Value::Bytes(bytes) => Ok((bytes.clone(), FLAG_BYTES)),
            Value::Text(text) => Ok((Bytes::copy_from_slice(text.as_bytes()), FLAG_BYTES)),
            Value::Int(n) => Ok((Bytes::from(format!("{n}").into_bytes()), FLAG_BYTES)),
            _ => Err(SerdeError::Unsupported {
                serde: "RawSerde",
                kind: "pickle",
            }),
        }
    }

    fn deserialize(&self, _key: &[u8], data: Bytes, _flags: u32) -> Result<Value, SerdeError> {
        Ok(Value::Bytes(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_bytes_text_and_digits_with_flags_0() {
        let write = |value: Value| RawSerde.serialize(b"k", &value);
        assert_eq!(
            write(Value::from(&b"v"[..])),
            Ok((Bytes::from_static(b"v"), 0))
        );
        assert_eq!(
            write(Value::from("é")),
            Ok((Bytes::from_static(b"\xc3\xa9"), 0))
        );
        assert_eq!(write(Value::from(-12)), Ok((Bytes::from_static(b"-12"), 0)));
        assert_eq!(
            write(Value::Pickle(Bytes::from_static(b"\x80\x03N."))),
            Err(SerdeError::Unsupported {
                serde: "RawSerde",
                kind: "pickle"
            })
        );
    }

    #[test]
    fn reads_bytes_whatever_the_flags() {
        for flags in [0, 1, 2, 8, 16, u32::MAX] {
            let value = RawSerde.deserialize(b"k", Bytes::from_static(b"\xff"), flags);
            assert_eq!(value, Ok(Value::Bytes(Bytes::from_static(b"\xff"))));
        }
    }
}
