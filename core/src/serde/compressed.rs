//! Compression around another serde, as pymemcache's `CompressedSerde`.

use bytes::Bytes;

use super::compressor::{Compressor, Zlib, FLAG_ZSTD};
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

/// Compress what another serde writes, with zlib (RFC 1950) by default as
/// pymemcache's `CompressedSerde` does, and decompress it on the way back.
///
/// The algorithm is pluggable (pymemcache's `compress`/`decompress`
/// arguments): [`Zlib`](super::Zlib) by default, byte for byte what
/// pymemcache writes and reads; [`Zstd`](super::Compressor) with the `zstd`
/// feature; or any [`Compressor`], set with
/// [`with_compressor`](CompressedSerde::with_compressor).
///
/// Writing: the inner serde runs first; when its output is longer than
/// [`min_compress_len`](CompressedSerde::min_compress_len) bytes (and that
/// setting is not 0), it is compressed and [`FLAG_COMPRESSED`] is added to its
/// flags with the compressor's own [`flag`](Compressor::flag) bits, unless
/// the compressed form is longer, in which case the output is stored
/// unchanged.
///
/// Reading: a value with [`FLAG_COMPRESSED`] is decompressed first, then the
/// inner serde gets the result with the flags unchanged (the compressed bits
/// still set), which [`PickleSerde`] ignores. A value marked as written by
/// another compressor (its [`FLAG_ZSTD`](super::FLAG_ZSTD) or the
/// compressor's own bits differ) is refused with
/// [`SerdeError::WrongCompressor`].
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
pub struct CompressedSerde<S, C = Zlib> {
    inner: S,
    compressor: C,
    min_compress_len: usize,
    max_decompressed_len: usize,
}

impl<S> CompressedSerde<S, Zlib> {
    /// Create a compressing serde around `inner` with pymemcache's defaults:
    /// values over 400 bytes are compressed, with zlib at level 6.
    #[must_use]
    pub fn new(inner: S) -> CompressedSerde<S, Zlib> {
        CompressedSerde {
            inner,
            compressor: Zlib::default(),
            min_compress_len: DEFAULT_MIN_COMPRESS_LEN,
            max_decompressed_len: DEFAULT_MAX_DECOMPRESSED_LEN,
        }
    }

    /// Compress at zlib `level`, from 0 (store) to 9 (smallest); 10 is
    /// miniz's slower "uber" level, and larger values are read as 10.
    #[must_use]
    pub fn with_level(mut self, level: u8) -> CompressedSerde<S, Zlib> {
        self.compressor = Zlib::new(level);
        self
    }

    /// Return the zlib compression level.
    #[must_use]
    pub fn level(&self) -> u8 {
        self.compressor.level()
    }
}

impl<S, C> CompressedSerde<S, C> {
    /// Compress (and decompress) with `compressor` instead, keeping the
    /// other settings.
    ///
    /// # Example
    ///
    /// ```
    /// # #[cfg(feature = "zstd")] {
    /// use memcrab_core::serde::{CompressedSerde, RawSerde, Serde, Value, Zstd, FLAG_ZSTD};
    ///
    /// let serde = CompressedSerde::new(RawSerde).with_compressor(Zstd);
    /// let (data, flags) = serde.serialize(b"k", &Value::from(vec![b'a'; 500])).unwrap();
    /// assert_eq!(flags, 8 | FLAG_ZSTD);
    /// assert_eq!(serde.deserialize(b"k", data, flags).unwrap(), Value::from(vec![b'a'; 500]));
    /// # }
    /// ```
    #[must_use]
    pub fn with_compressor<D>(self, compressor: D) -> CompressedSerde<S, D> {
        CompressedSerde {
            inner: self.inner,
            compressor,
            min_compress_len: self.min_compress_len,
            max_decompressed_len: self.max_decompressed_len,
        }
    }

    /// Compress only values longer than `len` bytes; 0 turns compression off
    /// (reading still decompresses).
    #[must_use]
    pub fn with_min_compress_len(mut self, len: usize) -> CompressedSerde<S, C> {
        self.min_compress_len = len;
        self
    }

    /// Refuse to inflate a value to more than `len` bytes.
    #[must_use]
    pub fn with_max_decompressed_len(mut self, len: usize) -> CompressedSerde<S, C> {
        self.max_decompressed_len = len;
        self
    }

    /// Return the compressor.
    #[must_use]
    pub fn compressor(&self) -> &C {
        &self.compressor
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

impl<S: Serde, C: Compressor> Serde for CompressedSerde<S, C> {
    fn serialize(&self, key: &[u8], value: &Value) -> Result<(Bytes, u32), SerdeError> {
        let (data, flags) = self.inner.serialize(key, value)?;
        if self.min_compress_len == 0 || data.len() <= self.min_compress_len {
            return Ok((data, flags));
        }
        let compressed = self.compressor.compress(&data);
        if compressed.len() > data.len() {
            return Ok((data, flags));
        }
        let flags = flags | FLAG_COMPRESSED | self.compressor.flag();
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
        let own = self.compressor.flag();
        if flags & (own | FLAG_ZSTD) != own {
            return Err(SerdeError::WrongCompressor {
                flags,
                expected: self.compressor.name(),
            });
        }
        let inflated = self
            .compressor
            .decompress(&data, self.max_decompressed_len, flags)?;
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
