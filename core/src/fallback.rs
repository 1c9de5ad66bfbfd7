//! Reading through several caches in order (pymemcache's
//! `FallbackClient`): which keys of a get the next cache is asked for, and
//! how its hits join the ones before, in the caller's key order.
//!
//! ```
//! use bytes::Bytes;
//! use memcrab_core::fallback::{merge_found, missing_keys};
//! use memcrab_core::Item;
//!
//! let item = |k: &'static str| Item { key: Bytes::from(k), flags: 0, value: Bytes::new(), cas: None };
//! let keys: [&[u8]; 3] = [b"a", b"b", b"c"];
//! let mut hits = smallvec::smallvec![item("c")];
//! assert_eq!(missing_keys(&keys, &hits), [b"a".as_slice(), b"b"]);
//! merge_found(&keys, &mut hits, [item("a")]);
//! assert_eq!(hits.iter().map(|i| &i.key[..]).collect::<Vec<_>>(), [b"a".as_slice(), b"c"]);
//! ```

use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::Item;

/// The keys of `keys` that `hits` (a get's items so far) does not hold, in
/// `keys`' order: what the next cache is asked for.
#[must_use]
pub fn missing_keys<'k>(keys: &[&'k [u8]], hits: &[Item]) -> Vec<&'k [u8]> {
    keys.iter()
        .filter(|k| !hits.iter().any(|it| &it.key[..] == **k))
        .copied()
        .collect()
}

/// Adds `found` (the next cache's hits) to `hits` and puts them all in the
/// order of `keys`, the caller's.
pub fn merge_found(
    keys: &[&[u8]],
    hits: &mut SmallVec<[Item; 1]>,
    found: impl IntoIterator<Item = Item>,
) {
    hits.extend(found);
    let rank = |it: &Item| keys.iter().position(|k| *k == &it.key[..]);
    hits.sort_by_key(|it| rank(it));
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn item(k: &'static str) -> Item {
        Item {
            key: Bytes::from(k),
            flags: 0,
            value: Bytes::from(k),
            cas: None,
        }
    }

    fn keys_of(hits: &[Item]) -> Vec<&[u8]> {
        hits.iter().map(|i| &i.key[..]).collect()
    }

    #[test]
    fn only_the_keys_not_found_are_asked_again() {
        let keys: [&[u8]; 4] = [b"a", b"b", b"c", b"d"];
        assert_eq!(missing_keys(&keys, &[item("b"), item("d")]), [b"a", b"c"]);
        assert_eq!(missing_keys(&keys, &[]), keys);
        let all = [item("a"), item("b"), item("c"), item("d")];
        assert!(missing_keys(&keys, &all).is_empty());
    }

    #[test]
    fn merged_hits_follow_the_callers_key_order() {
        let keys: [&[u8]; 4] = [b"d", b"a", b"c", b"b"];
        let mut hits: SmallVec<[Item; 1]> = [item("b"), item("a")].into_iter().collect();
        merge_found(&keys, &mut hits, [item("c"), item("d")]);
        assert_eq!(keys_of(&hits), [b"d", b"a", b"c", b"b"]);
    }
}
