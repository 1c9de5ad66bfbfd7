//! The error a serde reports when it cannot encode or decode a value.

use alloc::string::String;
use core::fmt;

/// Report why a [`Serde`](super::Serde) could not encode or decode a value.
///
/// Decoding errors carry the `flags` the server returned with the value, since
/// they are what chose the (failed) decoding. No variant means the connection
/// is broken: the reply was framed correctly, only its contents are unusable.
///
/// # Example
///
/// ```
/// use memcrab_core::serde::{PickleSerde, Serde, SerdeError, FLAG_TEXT};
///
/// let err = PickleSerde::new()
///     .deserialize(b"k", bytes::Bytes::from_static(b"\xff"), FLAG_TEXT)
///     .unwrap_err();
/// assert_eq!(err, SerdeError::InvalidText { flags: FLAG_TEXT });
/// assert_eq!(err.flags(), Some(FLAG_TEXT));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SerdeError {
    /// The flags say UTF-8 text ([`FLAG_TEXT`](super::FLAG_TEXT)) but the
    /// bytes are not valid UTF-8.
    InvalidText {
        /// The flags stored with the value.
        flags: u32,
    },
    /// The flags say integer ([`FLAG_INTEGER`](super::FLAG_INTEGER) or
    /// [`FLAG_LONG`](super::FLAG_LONG)) but the bytes are not a decimal
    /// integer that fits in an `i128`.
    InvalidInt {
        /// The flags stored with the value.
        flags: u32,
    },
    /// The flags say pickle ([`FLAG_PICKLE`](super::FLAG_PICKLE)) but the
    /// bytes could not be unpickled. pymemcache logs this and reports a miss;
    /// memcrab reports it.
    InvalidPickle {
        /// The flags stored with the value.
        flags: u32,
        /// What the unpickler said.
        reason: String,
    },
    /// The flags say compressed ([`FLAG_COMPRESSED`](super::FLAG_COMPRESSED))
    /// but the bytes are not a valid stream of the serde's compressor.
    InvalidCompressed {
        /// The flags stored with the value.
        flags: u32,
    },
    /// The flags say the value was compressed by another algorithm than the
    /// serde's [`Compressor`](super::Compressor) (e.g. zstd, marked with
    /// [`FLAG_ZSTD`](super::FLAG_ZSTD), read by a zlib serde, or the reverse).
    WrongCompressor {
        /// The flags stored with the value.
        flags: u32,
        /// The name of the compressor the serde reads with.
        expected: &'static str,
    },
    /// The value decompresses (or, when writing, would decompress) to more
    /// than `limit` bytes, the most the serde is configured to inflate.
    TooLarge {
        /// The flags stored (or to be stored) with the value.
        flags: u32,
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The serde cannot write this kind of value, e.g. a pickle through
    /// [`RawSerde`](super::RawSerde).
    Unsupported {
        /// The serde that refused.
        serde: &'static str,
        /// The kind of value it refused.
        kind: &'static str,
    },
    /// A pickle protocol memcrab cannot write was asked for (see
    /// [`PickleProtocol::new`](super::PickleProtocol::new)).
    UnsupportedProtocol {
        /// The protocol number asked for.
        protocol: i32,
    },
    /// Pickling a value failed.
    Pickle {
        /// What the pickler said.
        reason: String,
    },
    /// A typed read ([`FromValue`](super::FromValue)) found a value of
    /// another kind than the type asked for, e.g. text read as a `u64`.
    WrongType {
        /// The key read (lossy UTF-8).
        key: String,
        /// What the caller's type needs.
        expected: &'static str,
        /// What the value was.
        found: String,
    },
    /// A codec ([`Json`](super::Json), [`Pickle`](super::Pickle)) read a
    /// value whose flags are not the codec's: it was written by something
    /// else.
    WrongFlags {
        /// The key read (lossy UTF-8).
        key: String,
        /// The codec that refused the value.
        codec: &'static str,
        /// The flags the codec writes.
        expected: u32,
        /// The flags stored with the value.
        found: u32,
    },
    /// A codec could not encode a value for `key`, or decode the value
    /// stored under it.
    Codec {
        /// The key written or read (lossy UTF-8).
        key: String,
        /// The codec that failed.
        codec: &'static str,
        /// What the codec's library said.
        reason: String,
    },
    /// A serde outside memcrab failed; `message` says why.
    Custom {
        /// The flags involved (stored with the value, or chosen for it).
        flags: u32,
        /// A description of the failure.
        message: String,
    },
}

impl SerdeError {
    /// Return the key a typed read or a codec failed on, if the error
    /// names one.
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        match self {
            SerdeError::WrongType { key, .. }
            | SerdeError::WrongFlags { key, .. }
            | SerdeError::Codec { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Return the flags the failed value had (or was to have), if any.
    #[must_use]
    pub fn flags(&self) -> Option<u32> {
        match *self {
            SerdeError::InvalidText { flags }
            | SerdeError::InvalidInt { flags }
            | SerdeError::InvalidPickle { flags, .. }
            | SerdeError::InvalidCompressed { flags }
            | SerdeError::WrongCompressor { flags, .. }
            | SerdeError::TooLarge { flags, .. }
            | SerdeError::Custom { flags, .. } => Some(flags),
            SerdeError::WrongFlags { found, .. } => Some(found),
            SerdeError::WrongType { .. }
            | SerdeError::Codec { .. }
            | SerdeError::Unsupported { .. }
            | SerdeError::UnsupportedProtocol { .. }
            | SerdeError::Pickle { .. } => None,
        }
    }
}

impl fmt::Display for SerdeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SerdeError::InvalidText { flags } => {
                write!(f, "value with flags {flags} is not valid UTF-8 text")
            }
            SerdeError::InvalidInt { flags } => write!(
                f,
                "value with flags {flags} is not a decimal integer within i128"
            ),
            SerdeError::InvalidPickle { flags, reason } => {
                write!(
                    f,
                    "value with flags {flags} is not a readable pickle: {reason}"
                )
            }
            SerdeError::InvalidCompressed { flags } => {
                write!(
                    f,
                    "value with flags {flags} is not a valid compressed stream"
                )
            }
            SerdeError::WrongCompressor { flags, expected } => write!(
                f,
                "value with flags {flags} was compressed with another algorithm than {expected}, \
                 the one this serde reads"
            ),
            SerdeError::TooLarge { flags, limit } => write!(
                f,
                "value with flags {flags} decompresses to more than {limit} bytes"
            ),
            SerdeError::Unsupported { serde, kind } => {
                write!(f, "{serde} cannot store a {kind}")
            }
            SerdeError::UnsupportedProtocol { protocol } => write!(
                f,
                "pickle protocol {protocol} cannot be written: memcrab writes protocols 2 to 5 \
                 (and reads 0 to 5)"
            ),
            SerdeError::Pickle { reason } => write!(f, "cannot pickle value: {reason}"),
            SerdeError::WrongType {
                key,
                expected,
                found,
            } => write!(f, "value of key {key:?} is {found}, not {expected}"),
            SerdeError::WrongFlags {
                key,
                codec,
                expected,
                found,
            } => write!(
                f,
                "value of key {key:?} has flags {found}, not {codec}'s flags {expected}"
            ),
            SerdeError::Codec { key, codec, reason } => {
                write!(f, "{codec} value of key {key:?}: {reason}")
            }
            SerdeError::Custom { flags, message } => {
                write!(f, "value with flags {flags}: {message}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SerdeError {}
