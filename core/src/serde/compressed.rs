//! zlib compression around another serde, as pymemcache's `CompressedSerde`.

use bytes::Bytes;
use miniz_oxide::inflate::TINFLStatus;

use super::{PickleSerde, Serde, SerdeError, Value, FLAG_COMPRESSED};

/// The size above which [`CompressedSerde`] compresses, by default (pymemcache's).
pub const DEFAULT_MIN_COMPRESS_LEN: usize = 400;

/// The most bytes [`CompressedSerde`] inflates one value to, by default.
///
/// That is a default memcached's largest item (1 MiB) plus 64 KiB. A value
/// from the server may claim to inflate to far more (deflate reaches ratios
/// over 1000:1), so the limit bounds what a hostile or corrupt server can
/// make the client allocate. Raise it with
/// [`with_max_decompressed_len`](CompressedSerde::with_max_decompressed_len)
/// to store larger, compressible values.
pub const DEFAULT_MAX_DECOMPRESSED_LEN: usize = (1 << 20) + (64 << 10);

/// The zlib compression level [`CompressedSerde`] uses, by default (zlib's).
pub const DEFAULT_LEVEL: u8 = 6;

/// Compress what another serde writes with zlib (RFC 1950), as pymemcache's
/// `CompressedSerde` does, and decompress it on the way back.
///
/// Writing: the inner serde runs first; when its output is longer than
/// [`min_compress_len`](CompressedSerde::min_compress_len) bytes (and that
/// setting is not 0), it is compressed and [`FLAG_COMPRESSED`] is added to its
/// flags, unless the compressed form is longer, in which case the output is
/// stored unchanged.
///
/// Reading: a value with [`FLAG_COMPRESSED`] is decompressed first, then the
/// inner serde gets the result with the flags unchanged (the compressed bit
/// still set), which [`PickleSerde`] ignores.
///
/// A value is never inflated past
/// [`max_decompressed_len`](CompressedSerde::max_decompressed_len) bytes, and
/// for symmetry a value longer than that is refused on writing rather than
/// stored in a form this serde could not read back.
///
/// # Example
///
/// ```
/// use memcrab_core::serde::{CompressedSerde, PickleSerde, Serde, Value, FLAG_COMPRESSED};
///
/// let serde = CompressedSerde::new(PickleSerde::new());
/// let (data, flags) = serde.serialize(b"k", &Value::from(vec![b'a'; 401]))?;
/// assert_eq!(flags, FLAG_COMPRESSED);
/// assert!(data.len() < 401);
/// assert_eq!(serde.deserialize(b"k", data, flags)?, Value::from(vec![b'a'; 401]));
/// # Ok::<(), memcrab_core::serde::SerdeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompressedSerde<S> {
    inner: S,
    min_compress_len: usize,
    max_decompressed_len: usize,
    level: u8,
}

impl<S> CompressedSerde<S> {
    /// Create a compressing serde around `inner` with pymemcache's defaults:
    /// values over 400 bytes are compressed, at zlib level 6.
    #[must_use]
    pub fn new(inner: S) -> CompressedSerde<S> {
        CompressedSerde {
            inner,
            min_compress_len: DEFAULT_MIN_COMPRESS_LEN,
            max_decompressed_len: DEFAULT_MAX_DECOMPRESSED_LEN,
            level: DEFAULT_LEVEL,
        }
    }

    /// Compress only values longer than `len` bytes; 0 turns compression off
    /// (reading still decompresses).
    #[must_use]
    pub fn with_min_compress_len(mut self, len: usize) -> CompressedSerde<S> {
        self.min_compress_len = len;
        self
    }

    /// Refuse to inflate a value to more than `len` bytes.
    #[must_use]
    pub fn with_max_decompressed_len(mut self, len: usize) -> CompressedSerde<S> {
        self.max_decompressed_len = len;
        self
    }

    /// Compress at zlib `level`, from 0 (store) to 9 (smallest); 10 is
    /// miniz's slower "uber" level, and larger values are read as 10.
    #[must_use]
    pub fn with_level(mut self, level: u8) -> CompressedSerde<S> {
        self.level = level.min(10);
        self
    }

    /// Return the length a value must exceed to be compressed (0: never).
    #[must_use]
    pub fn min_compress_len(&self) -> usize {
        self.min_compress_len
    }

    /// Return the most bytes one value is inflated to.
    #[must_use]
    pub fn max_decompressed_len(&self) -> usize {
        self.max_decompressed_len
    }

    /// Return the zlib compression level.
    #[must_use]
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Return the serde that runs inside the compression.
    #[must_use]
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl Default for CompressedSerde<PickleSerde> {
    /// Create pymemcache's `compressed_serde`: [`PickleSerde`] inside,
    /// default settings.
    fn default() -> Self {
        CompressedSerde::new(PickleSerde::new())
    }
}

impl<S: Serde> Serde for CompressedSerde<S> {
    fn serialize(&self, key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError> {
        let (data, flags) = self.inner.serialize(key, value)?;
        if self.min_compress_len == 0 || data.len() <= self.min_compress_len {
            return Ok((data, flags));
        }
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&data, self.level);
        if compressed.len() > data.len() {
            return Ok((data, flags));
        }
        let flags = flags | FLAG_COMPRESSED;
        if data.len() > self.max_decompressed_len {
            return Err(SerdeError::TooLarge {
                flags,
                limit: self.max_decompressed_len,
            });
        }
        Ok((Bytes::from(compressed), flags))
    }

    fn deserialize(&self, key: &[u8], data: Bytes, flags: u32) -> Result<Value, SerdeError> {
        if flags & FLAG_COMPRESSED == 0 {
            return self.inner.deserialize(key, data, flags);
        }
        let limit = self.max_decompressed_len;
        let inflated = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&data, limit)
            .map_err(|err| match err.status {
                TINFLStatus::HasMoreOutput => SerdeError::TooLarge { flags, limit },
                _ => SerdeError::InvalidCompressed { flags },
            })?;
        self.inner.deserialize(key, Bytes::from(inflated), flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::{RawSerde, FLAG_TEXT};
    use alloc::vec;

    /// Python: `zlib.compress(b"a" * 401)`, spec §15 item 45.
    const PY_401_A: &[u8] = b"x\x9cKL\x1c\x05\x83\n\x00\x00T\xc3\x97\xf2";

    fn serde() -> CompressedSerde<PickleSerde> {
        CompressedSerde::default()
    }

    #[test]
    fn compresses_only_above_min_compress_len() {
        let (data, flags) = serde()
            .serialize(b"k", &Value::from(vec![b'a'; 401]))
            .unwrap();
        assert_eq!(flags, FLAG_COMPRESSED);
        assert_eq!(&data[..2], b"x\x9c", "zlib header, default level");
        let back = serde().deserialize(b"k", data, flags).unwrap();
        assert_eq!(back, Value::from(vec![b'a'; 401]));

        let (data, flags) = serde()
            .serialize(b"k", &Value::from(vec![b'a'; 400]))
            .unwrap();
        assert_eq!((data.len(), flags), (400, 0));
        let (data, flags) = serde().serialize(b"k", &Value::from("short")).unwrap();
        assert_eq!((&data[..], flags), (&b"short"[..], FLAG_TEXT));
    }

    #[test]
    fn reads_what_python_zlib_wrote() {
        let back = serde()
            .deserialize(b"k", Bytes::from_static(PY_401_A), FLAG_COMPRESSED)
            .unwrap();
        assert_eq!(back, Value::from(vec![b'a'; 401]));
        // The inner serde sees the compressed bit too: text stays text.
        let text = miniz_oxide::deflate::compress_to_vec_zlib("é".repeat(300).as_bytes(), 6);
        let back = serde()
            .deserialize(b"k", Bytes::from(text), FLAG_COMPRESSED | FLAG_TEXT)
            .unwrap();
        assert_eq!(back, Value::Text("é".repeat(300)));
    }

    #[test]
    fn keeps_data_that_does_not_shrink() {
        // 401 bytes of a xorshift sequence: incompressible.
        let mut state = 0x2545_f491_u32;
        let noise: alloc::vec::Vec<u8> = (0..401)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        let (data, flags) = serde()
            .serialize(b"k", &Value::from(noise.clone()))
            .unwrap();
        assert_eq!((&data[..], flags), (&noise[..], 0));
    }

    #[test]
    fn min_compress_len_0_disables_compression() {
        let serde = serde().with_min_compress_len(0);
        let (data, flags) = serde
            .serialize(b"k", &Value::from(vec![b'a'; 5000]))
            .unwrap();
        assert_eq!((data.len(), flags), (5000, 0));
        let back = serde.deserialize(b"k", Bytes::from_static(PY_401_A), FLAG_COMPRESSED);
        assert_eq!(back.unwrap(), Value::from(vec![b'a'; 401]));
    }

    #[test]
    fn stops_inflating_at_the_limit() {
        let serde = CompressedSerde::new(RawSerde).with_max_decompressed_len(400);
        let back = serde.deserialize(b"k", Bytes::from_static(PY_401_A), FLAG_COMPRESSED);
        assert_eq!(
            back,
            Err(SerdeError::TooLarge {
                flags: 8,
                limit: 400
            })
        );
        // Exactly at the limit is fine.
        let serde = serde.with_max_decompressed_len(401);
        let back = serde.deserialize(b"k", Bytes::from_static(PY_401_A), FLAG_COMPRESSED);
        assert_eq!(back, Ok(Value::from(vec![b'a'; 401])));
        // An 8 MiB bomb of about 8 KiB stops at the default limit.
        let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; 8 << 20], 9);
        assert!(bomb.len() < 10_000, "{}", bomb.len());
        let back = CompressedSerde::new(RawSerde).deserialize(b"k", Bytes::from(bomb), 8);
        assert_eq!(
            back,
            Err(SerdeError::TooLarge {
                flags: 8,
                limit: DEFAULT_MAX_DECOMPRESSED_LEN
            })
        );
    }

    #[test]
    fn refuses_to_write_what_it_could_not_read() {
        let serde = serde().with_max_decompressed_len(1000);
        let written = serde.serialize(b"k", &Value::from(vec![b'a'; 1001]));
        assert_eq!(
            written,
            Err(SerdeError::TooLarge {
                flags: 8,
                limit: 1000
            })
        );
        assert!(serde
            .serialize(b"k", &Value::from(vec![b'a'; 1000]))
            .is_ok());
    }

    #[test]
    fn reports_corrupt_streams() {
        for bad in [&b""[..], b"not zlib", &PY_401_A[..PY_401_A.len() - 1]] {
            let back = serde().deserialize(b"k", Bytes::copy_from_slice(bad), 8 | 16);
            assert_eq!(
                back,
                Err(SerdeError::InvalidCompressed { flags: 24 }),
                "{bad:?}"
            );
        }
        // A wrong Adler-32 checksum is caught.
        let mut wrong = PY_401_A.to_vec();
        let last = wrong.len() - 1;
        wrong[last] ^= 1;
        let back = serde().deserialize(b"k", Bytes::from(wrong), 8);
        assert_eq!(back, Err(SerdeError::InvalidCompressed { flags: 8 }));
    }
}
