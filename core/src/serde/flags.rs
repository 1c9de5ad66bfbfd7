//! The flag bits pymemcache and python-memcached give stored values.
//!
//! memcached stores a 32-bit `flags` word beside every item and hands it back
//! untouched; clients use it to remember how a value was encoded. These bit
//! values are the ones `pymemcache.serde` (and python-memcached before it)
//! write, so memcrab and Python programs can share a cache.

/// Mark raw bytes, stored as they are (pymemcache `FLAG_BYTES`).
pub const FLAG_BYTES: u32 = 0;

/// Mark a Python pickle (pymemcache `FLAG_PICKLE`, `1 << 0`).
pub const FLAG_PICKLE: u32 = 1 << 0;

/// Mark an integer written as decimal ASCII digits (`FLAG_INTEGER`, `1 << 1`).
///
/// memcached's `incr` and `decr` work on such values.
pub const FLAG_INTEGER: u32 = 1 << 1;

/// Mark a Python 2 `long`, read like [`FLAG_INTEGER`] and never written
/// (`FLAG_LONG`, `1 << 2`).
pub const FLAG_LONG: u32 = 1 << 2;

/// Mark a zlib-compressed value (RFC 1950 stream; `FLAG_COMPRESSED`, `1 << 3`).
///
/// Combined with the flags of what was compressed: `FLAG_COMPRESSED | FLAG_TEXT`
/// is compressed UTF-8 text.
pub const FLAG_COMPRESSED: u32 = 1 << 3;

/// Mark UTF-8 text (`FLAG_TEXT`, `1 << 4`).
pub const FLAG_TEXT: u32 = 1 << 4;

/// Mark a JSON document written by memcrab's [`Json`](super::Json) codec
/// (`1 << 6`: clear of pymemcache's bits above and of
/// [`FLAG_ZSTD`](super::FLAG_ZSTD), `1 << 5`).
pub const FLAG_JSON: u32 = 1 << 6;

#[cfg(test)]
mod tests {
    use super::super::FLAG_ZSTD;
    use super::*;

    #[test]
    fn every_memcrab_flag_is_a_distinct_bit() {
        let bits = [
            FLAG_PICKLE,
            FLAG_INTEGER,
            FLAG_LONG,
            FLAG_COMPRESSED,
            FLAG_TEXT,
            FLAG_ZSTD,
            FLAG_JSON,
        ];
        let mut seen = 0u32;
        for bit in bits {
            assert_eq!(bit.count_ones(), 1, "flag {bit} is not one bit");
            assert_eq!(seen & bit, 0, "flag {bit} is used twice");
            seen |= bit;
        }
        assert_eq!(FLAG_BYTES, 0);
        assert_eq!(FLAG_JSON, 64);
    }
}
