//! MurmurHash3 x86 32-bit, the hash of pymemcache's rendezvous hashing.

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// Computes the standard MurmurHash3 x86 32-bit hash of `data` with `seed`.
///
/// For ASCII text this equals pymemcache's `murmur3_32(text, seed)`; for any
/// other text use [`murmur3_32_str`].
///
/// # Example
///
/// ```
/// use memcrab_core::router::murmur3_32;
///
/// assert_eq!(murmur3_32(b"hello world", 0), 1_586_663_183);
/// assert_eq!(murmur3_32(b"6666", 10), 2_981_722_772);
/// ```
#[must_use]
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    let mut hasher = Murmur3::new(seed);
    hasher.write(data);
    hasher.finish()
}

/// Computes pymemcache's `murmur3_32(s, seed)` of the text `s`.
///
/// pymemcache hashes a Python `str` one character at a time, taking the low
/// byte of each character's code point (`ord(c) & 0xff`), and mixes in the
/// number of characters as the length. For ASCII text this is
/// [`murmur3_32`] of its bytes; for other text it is not the hash of its
/// UTF-8 bytes (`"é"` hashes as the single byte `0xe9`).
///
/// # Example
///
/// ```
/// use memcrab_core::router::murmur3_32_str;
///
/// assert_eq!(murmur3_32_str("my☃", 0), 1_418_558_911);
/// ```
#[must_use]
pub fn murmur3_32_str(s: &str, seed: u32) -> u32 {
    let mut hasher = Murmur3::new(seed);
    hasher.write_str_low_bytes(s);
    hasher.finish()
}

/// Returns the low byte of a character's code point (Python `ord(c) & 0xff`).
pub(crate) fn low_byte(c: char) -> u8 {
    (u32::from(c) & 0xff) as u8
}

/// An incremental MurmurHash3 x86 32-bit hasher.
///
/// Writing `a` then `b` gives the hash of `a` followed by `b`, so a router can
/// keep the state after a node's `"{node}-"` prefix and only feed the key.
#[derive(Clone, Debug)]
pub(crate) struct Murmur3 {
    h: u32,
    tail: [u8; 4],
    tail_len: usize,
    len: u32,
}

impl Murmur3 {
    /// Starts a hash with `seed`.
    pub(crate) fn new(seed: u32) -> Self {
        Murmur3 {
            h: seed,
            tail: [0; 4],
            tail_len: 0,
            len: 0,
        }
    }

    /// Feeds `data`.
    pub(crate) fn write(&mut self, data: &[u8]) {
        let mut rest = data;
        while self.tail_len != 0 {
            match rest.split_first() {
                Some((&b, more)) => {
                    self.write_u8(b);
                    rest = more;
                }
                None => return,
            }
        }
        let mut blocks = rest.chunks_exact(4);
        for block in &mut blocks {
            self.h = mix_block(self.h, [block[0], block[1], block[2], block[3]]);
        }
        // The length is a 32-bit count in the reference (`h ^= len`).
        self.len = self
            .len
            .wrapping_add((rest.len() - blocks.remainder().len()) as u32);
        for &b in blocks.remainder() {
            self.write_u8(b);
        }
    }

    /// Feeds one byte.
    pub(crate) fn write_u8(&mut self, b: u8) {
        self.tail[self.tail_len] = b;
        self.tail_len += 1;
        self.len = self.len.wrapping_add(1);
        if self.tail_len == 4 {
            self.h = mix_block(self.h, self.tail);
            self.tail_len = 0;
        }
    }

    /// Feeds the low byte of each character of `s`, as pymemcache does.
    pub(crate) fn write_str_low_bytes(&mut self, s: &str) {
        if s.is_ascii() {
            self.write(s.as_bytes());
        } else {
            for c in s.chars() {
                self.write_u8(low_byte(c));
            }
        }
    }

    /// Returns the hash of everything written so far.
    pub(crate) fn finish(&self) -> u32 {
        let mut h = self.h;
        if self.tail_len > 0 {
            let mut k = 0u32;
            for (i, &b) in self.tail[..self.tail_len].iter().enumerate() {
                k |= u32::from(b) << (8 * i);
            }
            h ^= scramble(k);
        }
        fmix32(h ^ self.len)
    }
}

fn scramble(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn mix_block(h: u32, block: [u8; 4]) -> u32 {
    (h ^ scramble(u32::from_le_bytes(block)))
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    /// pymemcache-spec §16.1: (input, seed 0, seed 1, seed 10).
    const TABLE: &[(&str, u32, u32, u32)] = &[
        ("", 0, 1_364_076_727, 3_911_517_328),
        ("a", 1_009_084_850, 1_485_495_528, 3_451_434_720),
        ("ab", 2_613_040_991, 3_087_506_246, 2_754_115_252),
        ("abc", 3_017_643_002, 2_859_854_335, 949_467_219),
        ("abcd", 1_139_631_978, 2_616_542_610, 1_806_541_393),
        ("key", 3_801_901_636, 164_980_140, 992_674_799),
        ("hello world", 1_586_663_183, 1_128_525_090, 2_980_371_087),
        (
            "The quick brown fox jumps over the lazy dog",
            776_992_547,
            2_028_379_687,
            2_485_255_297,
        ),
        ("6666", 1_361_238_019, 1_172_514_443, 2_981_722_772),
    ];

    fn alphabet_300() -> String {
        "abcdefghijklmnopqrstuvwxyz"
            .chars()
            .cycle()
            .take(300)
            .collect()
    }

    #[test]
    fn spec_table_ascii() {
        for &(input, s0, s1, s10) in TABLE {
            assert_eq!(murmur3_32(input.as_bytes(), 0), s0, "{input:?} seed 0");
            assert_eq!(murmur3_32_str(input, 0), s0, "{input:?} str seed 0");
            assert_eq!(murmur3_32(input.as_bytes(), 1), s1, "{input:?} seed 1");
            assert_eq!(murmur3_32(input.as_bytes(), 10), s10, "{input:?} seed 10");
        }
        assert_eq!(0x5e92_8f0f, murmur3_32(b"hello world", 0));
    }

    #[test]
    fn spec_table_long_inputs() {
        let abc = alphabet_300();
        assert_eq!(murmur3_32(abc.as_bytes(), 0), 1_805_581_549);
        assert_eq!(murmur3_32(abc.as_bytes(), 1), 2_087_449_967);
        assert_eq!(murmur3_32(abc.as_bytes(), 10), 794_579_739);
        assert_eq!(murmur3_32(&[b'x'; 300], 0), 3_151_173_021);
        assert_eq!(murmur3_32(&[b'a'; 250], 0), 2_960_223_664);
    }

    #[test]
    fn spec_table_non_ascii_uses_code_point_low_bytes() {
        assert_eq!(murmur3_32_str("my☃", 0), 1_418_558_911);
        assert_eq!(murmur3_32_str("こんにちは", 0), 3_180_325_661);
        assert_eq!(murmur3_32_str("é", 0), 1_153_881_266);
        assert_eq!(murmur3_32_str("olé", 0), 1_279_907_659);
        assert_eq!(murmur3_32_str("\u{0fff}", 0), 4_251_775_245);
        // The standard hash of the UTF-8 bytes, for contrast (spec §16.1).
        assert_eq!(murmur3_32("my☃".as_bytes(), 0), 2_500_289_156);
        assert_eq!(murmur3_32("こんにちは".as_bytes(), 0), 757_219_804);
        assert_eq!(murmur3_32("é".as_bytes(), 0), 269_551_495);
    }

    #[test]
    fn incremental_equals_one_shot_for_every_split() {
        let data = alphabet_300();
        let data = &data.as_bytes()[..37];
        for seed in [0, 1, 0xdead_beef] {
            let whole = murmur3_32(data, seed);
            for i in 0..=data.len() {
                for j in i..=data.len() {
                    let mut h = Murmur3::new(seed);
                    h.write(&data[..i]);
                    h.write(&data[i..j]);
                    for &b in &data[j..] {
                        h.write_u8(b);
                    }
                    assert_eq!(h.finish(), whole, "split {i}/{j}");
                }
            }
        }
    }

    #[test]
    fn finish_does_not_consume_state() {
        let mut h = Murmur3::new(0);
        h.write(b"hello");
        let at_hello = h.finish();
        assert_eq!(at_hello, murmur3_32(b"hello", 0));
        h.write(b" world");
        assert_eq!(h.finish(), 1_586_663_183);
    }

    #[test]
    fn str_hash_equals_bytes_hash_of_low_bytes() {
        let s = "a☃bé日本";
        let low: Vec<u8> = s.chars().map(low_byte).collect();
        assert_eq!(murmur3_32_str(s, 7), murmur3_32(&low, 7));
    }
}
