//! Codecs: any serde type stored as JSON ([`Json`], feature `json`) or as a
//! Python pickle ([`Pickle`], feature `pickle`), with flags of their own.
//!
//! A codec bypasses the client's [`Serde`]: it writes its own format and
//! flags, and on reading refuses a value whose flags are not its own with
//! [`SerdeError::WrongFlags`], naming the key.

#[cfg(any(feature = "json", feature = "pickle"))]
use alloc::string::ToString;
#[cfg(any(feature = "json", feature = "pickle"))]
use bytes::Bytes;

#[cfg(any(feature = "json", feature = "pickle"))]
use super::typed::key_text;
#[cfg(any(feature = "json", feature = "pickle"))]
use super::{FromValue, Serde, SerdeError, ToValue};

/// Store a serde type as JSON with flags [`FLAG_JSON`](super::FLAG_JSON)
/// (feature `json`).
///
/// # Example
///
/// ```
/// # #[cfg(feature = "json")] {
/// use memcrab_core::serde::{FromValue, Json, RawSerde, SerdeError, ToValue, FLAG_JSON};
///
/// let (data, flags) = Json(vec![1, 2]).to_stored(b"k", &RawSerde)?;
/// assert_eq!((&data[..], flags), (&b"[1,2]"[..], FLAG_JSON));
/// let Json(back) = Json::<Vec<u8>>::from_stored(b"k", data.clone(), flags, &RawSerde)?;
/// assert_eq!(back, [1, 2]);
/// // The same bytes without the JSON flag are refused, naming the key.
/// let err = Json::<Vec<u8>>::from_stored(b"k", data, 0, &RawSerde).unwrap_err();
/// assert!(matches!(err, SerdeError::WrongFlags { found: 0, .. }));
/// # }
/// # Ok::<(), memcrab_core::serde::SerdeError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Json<T>(pub T);

/// Store a serde type as a Python pickle (protocol 3) with flags
/// [`FLAG_PICKLE`](super::FLAG_PICKLE), as pymemcache's `pickle_serde` does
/// (feature `pickle`).
///
/// Python reads it with `pickle.loads`; memcrab reads back only values
/// stored with exactly `FLAG_PICKLE` (not compressed).
///
/// # Example
///
/// ```
/// # #[cfg(feature = "pickle")] {
/// use memcrab_core::serde::{FromValue, Pickle, RawSerde, ToValue, FLAG_PICKLE};
///
/// let (data, flags) = Pickle(("ada", 36)).to_stored(b"k", &RawSerde)?;
/// assert_eq!(flags, FLAG_PICKLE);
/// let Pickle(back) = Pickle::<(String, u8)>::from_stored(b"k", data, flags, &RawSerde)?;
/// assert_eq!(back, ("ada".to_string(), 36));
/// # }
/// # Ok::<(), memcrab_core::serde::SerdeError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pickle<T>(pub T);

impl<T> Json<T> {
    /// Return the value inside.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Pickle<T> {
    /// Return the value inside.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Refuse a value whose flags are not the codec's.
#[cfg(any(feature = "json", feature = "pickle"))]
fn check_flags(
    key: &[u8],
    codec: &'static str,
    expected: u32,
    found: u32,
) -> Result<(), SerdeError> {
    if found == expected {
        Ok(())
    } else {
        Err(SerdeError::WrongFlags {
            key: key_text(key),
            codec,
            expected,
            found,
        })
    }
}

#[cfg(any(feature = "json", feature = "pickle"))]
fn codec_error(key: &[u8], codec: &'static str, reason: &impl ToString) -> SerdeError {
    SerdeError::Codec {
        key: key_text(key),
        codec,
        reason: reason.to_string(),
    }
}

#[cfg(feature = "json")]
impl<T: serde::Serialize> ToValue for Json<T> {
    fn to_stored(&self, key: &[u8], _serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        let data = serde_json::to_vec(&self.0).map_err(|e| codec_error(key, "JSON", &e))?;
        Ok((Bytes::from(data), super::FLAG_JSON))
    }
}

#[cfg(feature = "json")]
impl<T: serde::de::DeserializeOwned> FromValue for Json<T> {
    fn from_stored(
        key: &[u8],
        data: Bytes,
        flags: u32,
        _serde: &dyn Serde,
    ) -> Result<Self, SerdeError> {
        check_flags(key, "JSON", super::FLAG_JSON, flags)?;
        serde_json::from_slice(&data)
            .map(Json)
            .map_err(|e| codec_error(key, "JSON", &e))
    }
}

#[cfg(feature = "pickle")]
impl<T: serde::Serialize> ToValue for Pickle<T> {
    fn to_stored(&self, key: &[u8], _serde: &dyn Serde) -> Result<(Bytes, u32), SerdeError> {
        let data = serde_pickle::to_vec(&self.0, serde_pickle::SerOptions::new())
            .map_err(|e| codec_error(key, "pickle", &e))?;
        Ok((Bytes::from(data), super::FLAG_PICKLE))
    }
}

#[cfg(feature = "pickle")]
impl<T: serde::de::DeserializeOwned> FromValue for Pickle<T> {
    fn from_stored(
        key: &[u8],
        data: Bytes,
        flags: u32,
        _serde: &dyn Serde,
    ) -> Result<Self, SerdeError> {
        check_flags(key, "pickle", super::FLAG_PICKLE, flags)?;
        serde_pickle::from_slice(&data, serde_pickle::DeOptions::new())
            .map(Pickle)
            .map_err(|e| codec_error(key, "pickle", &e))
    }
}

#[cfg(all(test, feature = "json"))]
mod json_tests {
    use super::*;
    use crate::serde::{PickleSerde, RawSerde, FLAG_JSON, FLAG_TEXT};
    use alloc::format;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn json_ignores_the_client_serde_and_checks_its_flag() {
        let (data, flags) = Json(vec![1u8])
            .to_stored(b"k", &PickleSerde::new())
            .unwrap();
        assert_eq!((&data[..], flags), (&b"[1]"[..], FLAG_JSON));
        let err = Json::<Vec<u8>>::from_stored(b"user:1", data, FLAG_TEXT, &RawSerde).unwrap_err();
        assert_eq!(
            format!("{err}"),
            "value of key \"user:1\" has flags 16, not JSON's flags 64"
        );
        let bad = Json::<u8>::from_stored(b"k", Bytes::from_static(b"[]"), FLAG_JSON, &RawSerde);
        assert!(matches!(bad, Err(SerdeError::Codec { codec: "JSON", .. })));
    }
}
