//! Serdes: how values become the bytes and flags memcached stores.
//!
//! memcached keeps a value's bytes and a 32-bit `flags` word, nothing more. A
//! [`Serde`] decides how a [`Value`] becomes those two, and reads them back.
//! The ones here are those of pymemcache, so that memcrab and Python programs
//! can share a cache:
//!
//! | memcrab | pymemcache | writes |
//! |---|---|---|
//! | [`RawSerde`] (the default) | no `serde` (identity) | bytes, flags 0 |
//! | [`PickleSerde`] | `serde.pickle_serde` | bytes 0, text 16, integers 2, pickles 1 |
//! | [`CompressedSerde`] | `serde.CompressedSerde` | zlib over another serde, +8 (zstd, feature `zstd`: +8+32) |
//!
//! Typed reads and writes ([`ToValue`], [`FromValue`]) work over any serde;
//! the codecs [`Json`] (feature `json`) and [`Pickle`] (feature `pickle`)
//! store serde types with flags of their own ([`FLAG_JSON`], [`FLAG_PICKLE`]).
//!
//! Python pickles are decoded and written with the `pickle` feature (through
//! serde-pickle); without it they pass through as raw bytes
//! ([`Value::Pickle`]).
//!
//! # Example
//!
//! ```
//! use memcrab_core::serde::{CompressedSerde, PickleSerde, Serde, Value};
//! use std::sync::Arc;
//!
//! let serde: Arc<dyn Serde> = Arc::new(CompressedSerde::new(PickleSerde::new()));
//! let (data, flags) = serde.serialize(b"k", &Value::from("héllo"))?;
//! assert_eq!(flags, 16);
//! assert_eq!(serde.deserialize(b"k", data, flags)?, Value::from("héllo"));
//! # Ok::<(), memcrab_core::serde::SerdeError>(())
//! ```

use alloc::boxed::Box;
use alloc::sync::Arc;
use bytes::Bytes;

mod codec;
mod compressed;
mod compressor;
pub(crate) mod decimal;
mod error;
mod flags;
mod pickle;
mod pymemcache;
#[cfg(all(test, feature = "pickle"))]
mod python_tests;
mod raw;
mod typed;
mod value;

pub use codec::{Json, Pickle};
pub use compressed::{CompressedSerde, DEFAULT_MAX_DECOMPRESSED_LEN, DEFAULT_MIN_COMPRESS_LEN};
#[cfg(feature = "zstd")]
pub use compressor::Zstd;
pub use compressor::{Compressor, Zlib, DEFAULT_LEVEL, FLAG_ZSTD};
pub use error::SerdeError;
pub use flags::{
    FLAG_BYTES, FLAG_COMPRESSED, FLAG_INTEGER, FLAG_JSON, FLAG_LONG, FLAG_PICKLE, FLAG_TEXT,
};
pub use pickle::PickleProtocol;
pub use pymemcache::PickleSerde;
pub use raw::RawSerde;
pub use typed::{FromValue, ToValue};
pub use value::Value;

/// Turn values into the bytes and flags memcached stores, and back:
/// pymemcache's serde protocol.
///
/// A client holds one serde, usually as `Arc<dyn Serde>`, and calls
/// [`serialize`](Serde::serialize) for every value it stores and
/// [`deserialize`](Serde::deserialize) for every value it reads. Both get the
/// key, so a serde may choose a format per key; memcrab's own serdes ignore
/// it.
///
/// # Example
///
/// A serde of one's own, like the JSON one in pymemcache's documentation:
/// text with flags 1, anything else refused.
///
/// ```
/// use bytes::Bytes;
/// use memcrab_core::serde::{Serde, SerdeError, Value};
///
/// struct TextOnly;
///
/// impl Serde for TextOnly {
///     fn serialize(&self, _key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError> {
///         match value.as_str() {
///             Some(text) => Ok((Bytes::copy_from_slice(text.as_bytes()), 1)),
///             None => Err(SerdeError::Unsupported { serde: "TextOnly", kind: "non-text value" }),
///         }
///     }
///
///     fn deserialize(&self, _key: &[u8], data: Bytes, flags: u32) -> Result<Value, SerdeError> {
///         match (flags, String::from_utf8(data.to_vec())) {
///             (1, Ok(text)) => Ok(Value::Text(text)),
///             (1, Err(_)) => Err(SerdeError::InvalidText { flags }),
///             _ => Err(SerdeError::Custom { flags, message: "unknown format".into() }),
///         }
///     }
/// }
///
/// let (data, flags) = TextOnly.serialize(b"k", &Value::from("hi"))?;
/// assert_eq!(TextOnly.deserialize(b"k", data, flags)?, Value::from("hi"));
/// # Ok::<(), SerdeError>(())
/// ```
pub trait Serde: Send + Sync {
    /// Encode `value`, to be stored under `key`, as the bytes and flags to
    /// send to memcached.
    ///
    /// # Errors
    ///
    /// Returns a [`SerdeError`] when this serde cannot represent `value`;
    /// nothing is sent then.
    fn serialize(&self, key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError>;

    /// Decode the `data` and `flags` memcached returned for `key`.
    ///
    /// # Errors
    ///
    /// Returns a [`SerdeError`] when `data` is not what `flags` say it is.
    fn deserialize(&self, key: &[u8], data: Bytes, flags: u32) -> Result<Value, SerdeError>;
}

impl<S: Serde + ?Sized> Serde for &S {
    fn serialize(&self, key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError> {
        (**self).serialize(key, value)
    }

    fn deserialize(&self, key: &[u8], data: Bytes, flags: u32) -> Result<Value, SerdeError> {
        (**self).deserialize(key, data, flags)
    }
}

impl<S: Serde + ?Sized> Serde for Box<S> {
    fn serialize(&self, key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError> {
        (**self).serialize(key, value)
    }

    fn deserialize(&self, key: &[u8], data: Bytes, flags: u32) -> Result<Value, SerdeError> {
        (**self).deserialize(key, data, flags)
    }
}

impl<S: Serde + ?Sized> Serde for Arc<S> {
    fn serialize(&self, key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError> {
        (**self).serialize(key, value)
    }

    fn deserialize(&self, key: &[u8], data: Bytes, flags: u32) -> Result<Value, SerdeError> {
        (**self).deserialize(key, data, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serdes_work_as_trait_objects() {
        let serdes: [Arc<dyn Serde>; 3] = [
            Arc::new(RawSerde),
            Arc::new(PickleSerde::new()),
            Arc::new(CompressedSerde::new(
                Box::new(PickleSerde::new()) as Box<dyn Serde>
            )),
        ];
        for serde in &serdes {
            let (data, flags) = serde.serialize(b"k", &Value::from(&b"v"[..])).unwrap();
            let back = serde.deserialize(b"k", data, flags).unwrap();
            assert_eq!(back, Value::from(&b"v"[..]));
        }
        // Wrapping a shared serde.
        let shared: Arc<dyn Serde> = Arc::new(PickleSerde::new());
        let wrapped = CompressedSerde::new(Arc::clone(&shared));
        let (_, flags) = wrapped.serialize(b"k", &Value::from(7)).unwrap();
        assert_eq!(flags, FLAG_INTEGER);
    }
}
