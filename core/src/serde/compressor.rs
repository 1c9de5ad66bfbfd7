//! The compression algorithms [`CompressedSerde`](super::CompressedSerde)
//! plugs in: zlib (pymemcache's, the default) and zstd (feature `zstd`).

use alloc::vec::Vec;
use miniz_oxide::inflate::TINFLStatus;

use super::SerdeError;

/// The flag bit, besides [`FLAG_COMPRESSED`](super::FLAG_COMPRESSED), that
/// marks a value compressed with zstd (`Zstd`, feature `zstd`).
///
/// pymemcache does not use this bit (it uses 1, 2, 4, 8 and 16). A zstd value
/// carries both bits, so pymemcache's `CompressedSerde` fails on it (zlib
/// cannot read it) rather than returning the compressed bytes as the value.
pub const FLAG_ZSTD: u32 = 1 << 5;

/// A compression algorithm for [`CompressedSerde`](super::CompressedSerde).
///
/// A compressor names itself with [`flag`](Compressor::flag): the bits,
/// besides [`FLAG_COMPRESSED`](super::FLAG_COMPRESSED), set on every value it
/// writes. [`Zlib`] has none (pymemcache's format); `Zstd` (feature `zstd`) has
/// [`FLAG_ZSTD`]. On reading, a compressed value whose marker bits (the
/// compressor's own and [`FLAG_ZSTD`]) differ from the compressor's flag is
/// refused with [`SerdeError::WrongCompressor`] instead of being fed to the
/// wrong decoder.
///
/// # Example
///
/// ```
/// use memcrab_core::serde::{CompressedSerde, Compressor, RawSerde, Serde, SerdeError, Value};
///
/// /// Not compression at all: a compressor that stores the bytes as they are.
/// #[derive(Debug)]
/// struct Stored;
///
/// impl Compressor for Stored {
///     fn name(&self) -> &'static str { "stored" }
///     fn flag(&self) -> u32 { 1 << 6 }
///     fn compress(&self, data: &[u8]) -> Vec<u8> { data.to_vec() }
///     fn decompress(&self, data: &[u8], limit: usize, flags: u32) -> Result<Vec<u8>, SerdeError> {
///         if data.len() > limit { return Err(SerdeError::TooLarge { flags, limit }); }
///         Ok(data.to_vec())
///     }
/// }
///
/// let serde = CompressedSerde::new(RawSerde).with_compressor(Stored).with_min_compress_len(1);
/// let (data, flags) = serde.serialize(b"k", &Value::from(&b"abc"[..]))?;
/// assert_eq!((&data[..], flags), (&b"abc"[..], 8 | 64));
/// assert_eq!(serde.deserialize(b"k", data, flags)?, Value::from(&b"abc"[..]));
/// # Ok::<(), SerdeError>(())
/// ```
pub trait Compressor: Send + Sync {
    /// Return the algorithm's name, for errors (e.g. `"zlib"`).
    fn name(&self) -> &'static str;

    /// Return the flag bits, besides `FLAG_COMPRESSED`, that mark a value
    /// this compressor wrote (0 for pymemcache's zlib).
    fn flag(&self) -> u32;

    /// Compress `data`.
    fn compress(&self, data: &[u8]) -> Vec<u8>;

    /// Decompress `data`, stored with `flags`, to at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// Returns [`SerdeError::TooLarge`] when the data inflates past `limit`
    /// and [`SerdeError::InvalidCompressed`] when it is not a valid stream.
    fn decompress(&self, data: &[u8], limit: usize, flags: u32) -> Result<Vec<u8>, SerdeError>;
}

/// The zlib level [`Zlib`] compresses at, by default (zlib's).
pub const DEFAULT_LEVEL: u8 = 6;

/// zlib (RFC 1950), as pymemcache's `CompressedSerde` writes it
/// (`zlib.compress`): the default compressor, no marker bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Zlib {
    level: u8,
}

impl Zlib {
    /// Compress at `level`, from 0 (store) to 9 (smallest); 10 is miniz's
    /// slower "uber" level, and larger values are read as 10.
    #[must_use]
    pub fn new(level: u8) -> Zlib {
        Zlib {
            level: level.min(10),
        }
    }

    /// Return the compression level.
    #[must_use]
    pub fn level(&self) -> u8 {
        self.level
    }
}

impl Default for Zlib {
    /// Compress at [`DEFAULT_LEVEL`].
    fn default() -> Zlib {
        Zlib::new(DEFAULT_LEVEL)
    }
}

impl Compressor for Zlib {
    fn name(&self) -> &'static str {
        "zlib"
    }

    fn flag(&self) -> u32 {
        0
    }

    fn compress(&self, data: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec_zlib(data, self.level)
    }

    fn decompress(&self, data: &[u8], limit: usize, flags: u32) -> Result<Vec<u8>, SerdeError> {
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(data, limit).map_err(
            |err| match err.status {
                TINFLStatus::HasMoreOutput => SerdeError::TooLarge { flags, limit },
                _ => SerdeError::InvalidCompressed { flags },
            },
        )
    }
}

/// Zstandard (RFC 8878) through the pure-Rust `ruzstd` (feature `zstd`),
/// marked with [`FLAG_ZSTD`]. pymemcache cannot read these values.
///
/// It compresses at ruzstd's "fastest" level (about zstd's level 1) and
/// reads frames of every level.
#[cfg(feature = "zstd")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Zstd;

#[cfg(feature = "zstd")]
impl Compressor for Zstd {
    fn name(&self) -> &'static str {
        "zstd"
    }

    fn flag(&self) -> u32 {
        FLAG_ZSTD
    }

    fn compress(&self, data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn decompress(&self, data: &[u8], limit: usize, flags: u32) -> Result<Vec<u8>, SerdeError> {
        use std::io::Read;
        let mut source = data;
        let decoder = ruzstd::decoding::StreamingDecoder::new(&mut source)
            .map_err(|_| SerdeError::InvalidCompressed { flags })?;
        let mut out = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        decoder
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|_| SerdeError::InvalidCompressed { flags })?;
        if out.len() > limit {
            return Err(SerdeError::TooLarge { flags, limit });
        }
        if !source.is_empty() {
            // Bytes after the frame: not what this compressor writes.
            return Err(SerdeError::InvalidCompressed { flags });
        }
        Ok(out)
    }
}

impl<C: Compressor + ?Sized> Compressor for &C {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn flag(&self) -> u32 {
        (**self).flag()
    }

    fn compress(&self, data: &[u8]) -> Vec<u8> {
        (**self).compress(data)
    }

    fn decompress(&self, data: &[u8], limit: usize, flags: u32) -> Result<Vec<u8>, SerdeError> {
        (**self).decompress(data, limit, flags)
    }
}

impl<C: Compressor + ?Sized> Compressor for alloc::boxed::Box<C> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn flag(&self) -> u32 {
        (**self).flag()
    }

    fn compress(&self, data: &[u8]) -> Vec<u8> {
        (**self).compress(data)
    }

    fn decompress(&self, data: &[u8], limit: usize, flags: u32) -> Result<Vec<u8>, SerdeError> {
        (**self).decompress(data, limit, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::{CompressedSerde, RawSerde, Serde, Value, FLAG_COMPRESSED};
    use alloc::vec;
    use bytes::Bytes;

    #[test]
    fn zlib_is_pymemcache_s_format_without_a_marker() {
        let serde = CompressedSerde::new(RawSerde);
        assert_eq!(serde.compressor(), &Zlib::new(6));
        let (data, flags) = serde
            .serialize(b"k", &Value::from(vec![b'a'; 401]))
            .unwrap();
        assert_eq!(flags, FLAG_COMPRESSED);
        // A zlib stream at the default level (miniz's deflate; Python's
        // zlib reads it, see python_tests.rs), and Python's reads back.
        assert_eq!(&data[..2], b"x\x9c");
        let python = Bytes::from_static(b"x\x9cKL\x1c\x05\x83\n\x00\x00T\xc3\x97\xf2");
        assert_eq!(
            serde.deserialize(b"k", python, FLAG_COMPRESSED),
            Ok(Value::from(vec![b'a'; 401]))
        );
        assert_eq!(serde.with_level(99).level(), 10);
    }

    #[test]
    fn a_custom_marker_is_checked_both_ways() {
        #[derive(Debug)]
        struct Marked;
        impl Compressor for Marked {
            fn name(&self) -> &'static str {
                "marked"
            }
            fn flag(&self) -> u32 {
                1 << 7
            }
            fn compress(&self, data: &[u8]) -> Vec<u8> {
                Zlib::default().compress(data)
            }
            fn decompress(
                &self,
                data: &[u8],
                limit: usize,
                flags: u32,
            ) -> Result<Vec<u8>, SerdeError> {
                Zlib::default().decompress(data, limit, flags)
            }
        }
        let marked = CompressedSerde::new(RawSerde).with_compressor(alloc::boxed::Box::new(Marked));
        let (data, flags) = marked
            .serialize(b"k", &Value::from(vec![b'a'; 500]))
            .unwrap();
        assert_eq!(flags, FLAG_COMPRESSED | 128);
        assert_eq!(
            CompressedSerde::new(RawSerde).deserialize(b"k", data.clone(), FLAG_COMPRESSED),
            Ok(Value::from(vec![b'a'; 500])),
            "the zlib bytes themselves are readable: only the marker differs"
        );
        assert_eq!(
            marked.deserialize(b"k", data.clone(), FLAG_COMPRESSED),
            Err(SerdeError::WrongCompressor {
                flags: 8,
                expected: "marked"
            })
        );
        assert_eq!(
            marked.deserialize(b"k", data, flags),
            Ok(Value::from(vec![b'a'; 500]))
        );
    }

    #[cfg(feature = "zstd")]
    mod zstd {
        use super::*;
        use crate::serde::PickleSerde;

        fn zstd_serde() -> CompressedSerde<PickleSerde, Zstd> {
            CompressedSerde::new(PickleSerde::new()).with_compressor(Zstd)
        }

        #[test]
        fn round_trips_above_the_threshold_only() {
            let serde = zstd_serde();
            for value in [
                Value::from(vec![b'a'; 401]),
                Value::from("memcrab ☃ ".repeat(200)),
                Value::Int(7),
            ] {
                let (data, flags) = serde.serialize(b"k", &value).unwrap();
                assert_eq!(serde.deserialize(b"k", data, flags), Ok(value));
            }
            let (data, flags) = serde
                .serialize(b"k", &Value::from(vec![b'a'; 401]))
                .unwrap();
            assert_eq!(flags, FLAG_COMPRESSED | FLAG_ZSTD);
            assert_eq!(&data[..4], b"\x28\xb5\x2f\xfd", "zstd frame magic");
            assert!(data.len() < 100, "{}", data.len());
            let (data, flags) = serde
                .serialize(b"k", &Value::from("é".repeat(300)))
                .unwrap();
            assert_eq!(flags, FLAG_COMPRESSED | FLAG_ZSTD | 16);
            assert_eq!(
                serde.deserialize(b"k", data, flags),
                Ok(Value::from("é".repeat(300)))
            );
            // At or below the threshold: stored as the inner serde wrote it.
            let (data, flags) = serde
                .serialize(b"k", &Value::from(vec![b'a'; 400]))
                .unwrap();
            assert_eq!((&data[..], flags), (&vec![b'a'; 400][..], 0));
            let (data, flags) = serde.serialize(b"k", &Value::from("short")).unwrap();
            assert_eq!((&data[..], flags), (&b"short"[..], 16));
        }

        #[test]
        fn values_of_the_other_compressor_are_refused_by_name() {
            let zlib = CompressedSerde::new(PickleSerde::new());
            let zstd = zstd_serde();
            let value = Value::from("x".repeat(1000));
            let (data, flags) = zstd.serialize(b"k", &value).unwrap();
            assert_eq!(
                zlib.deserialize(b"k", data, flags),
                Err(SerdeError::WrongCompressor {
                    flags: 8 | 32 | 16,
                    expected: "zlib"
                })
            );
            let (data, flags) = zlib.serialize(b"k", &value).unwrap();
            let err = zstd.deserialize(b"k", data, flags).unwrap_err();
            assert_eq!(
                err,
                SerdeError::WrongCompressor {
                    flags: 8 | 16,
                    expected: "zstd"
                }
            );
            assert_eq!(
                alloc::string::ToString::to_string(&err),
                "value with flags 24 was compressed with another algorithm than zstd, \
                 the one this serde reads"
            );
            // Uncompressed values read with either.
            let (data, flags) = zlib.serialize(b"k", &Value::from("short")).unwrap();
            assert_eq!(
                zstd.deserialize(b"k", data, flags),
                Ok(Value::from("short"))
            );
        }

        /// Run the `zstd` command line on `input`, or `None` when it is not
        /// installed.
        fn zstd_cli(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
            use std::io::Write;
            use std::process::{Command, Stdio};
            let mut child = match Command::new("zstd")
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
            {
                Ok(child) => child,
                Err(err) => {
                    std::eprintln!("zstd not available ({err}); skipping the cross-check");
                    return None;
                }
            };
            let mut stdin = child.stdin.take().expect("piped stdin");
            let input = input.to_vec();
            let writer = std::thread::spawn(move || stdin.write_all(&input));
            let output = child.wait_with_output().expect("zstd runs");
            writer.join().expect("writer").expect("writes to zstd");
            assert!(output.status.success(), "zstd {args:?} failed");
            Some(output.stdout)
        }

        #[test]
        fn the_zstd_command_line_reads_ours_and_we_read_its() {
            let text: Vec<u8> = "memcrab ☃ zstd ".repeat(500).into_bytes();
            let ours = Zstd.compress(&text);
            let Some(back) = zstd_cli(&["-d", "-c", "-q"], &ours) else {
                return;
            };
            assert_eq!(back, text);
            for level in ["-1", "-19", "--ultra -22"] {
                let mut args: Vec<&str> = level.split(' ').collect();
                args.extend(["-c", "-q"]);
                let theirs = zstd_cli(&args, &text).expect("zstd ran before");
                let read = Zstd.decompress(&theirs, text.len(), 40).unwrap();
                assert_eq!(read, text, "level {level}");
            }
        }

        #[test]
        fn stops_at_the_limit_and_reports_corrupt_frames() {
            let raw = CompressedSerde::new(RawSerde)
                .with_compressor(Zstd)
                .with_max_decompressed_len(8 << 20);
            let (data, flags) = raw
                .serialize(b"k", &Value::from(vec![0u8; 8 << 20]))
                .unwrap();
            assert!(data.len() < 100_000, "{}", data.len());
            let limited = raw.clone().with_max_decompressed_len(1000);
            assert_eq!(
                limited.deserialize(b"k", data.clone(), flags),
                Err(SerdeError::TooLarge {
                    flags: 40,
                    limit: 1000
                })
            );
            let exact = raw.clone().with_max_decompressed_len(8 << 20);
            assert_eq!(
                exact.deserialize(b"k", data.clone(), flags),
                Ok(Value::from(vec![0u8; 8 << 20]))
            );
            let mut trailing = data.to_vec();
            trailing.push(0);
            for bad in [
                Bytes::new(),
                Bytes::from_static(b"not zstd at all"),
                data.slice(..data.len() / 2),
                Bytes::from(trailing),
            ] {
                assert_eq!(
                    exact.deserialize(b"k", bad.clone(), 40),
                    Err(SerdeError::InvalidCompressed { flags: 40 }),
                    "{bad:?}"
                );
            }
        }
    }
}
