//! The items of a multi-key get, matched to the caller's keys.

use alloc::format;
use alloc::vec::Vec;

use crate::error::{escape, Error};
use crate::text::Item;

/// Pairs each item of a multi-key get with the index of the key it
/// answers in `keys`, sorted by that index (the caller's key order).
///
/// memcached answers in request order, so the usual case is one walk
/// alongside the keys with no hashing; items merged from several servers
/// come out of order and are looked up instead.
///
/// # Errors
///
/// [`Error::Protocol`] for an item whose key was not asked for.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use memcrab_core::command::match_items;
/// use memcrab_core::Item;
///
/// let item = |k: &'static str| Item { key: Bytes::from(k), flags: 0, value: Bytes::new(), cas: None };
/// let keys: [&[u8]; 3] = [b"a", b"b", b"c"];
/// let found = match_items(&keys, [item("c"), item("a")]).unwrap();
/// assert_eq!(found.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2]);
/// ```
pub fn match_items<K: AsRef<[u8]>>(
    keys: &[K],
    items: impl IntoIterator<Item = Item>,
) -> Result<Vec<(usize, Item)>, Error> {
    let items = items.into_iter();
    let mut out = Vec::with_capacity(items.size_hint().0);
    let mut sorted = true;
    let mut last = 0;
    for_each_match(keys, items, |i, item| {
        sorted &= out.is_empty() || i > last;
        last = i;
        out.push((i, item));
        Ok::<(), Error>(())
    })?;
    if !sorted {
        out.sort_by_key(|(i, _)| *i);
    }
    Ok(out)
}

/// Hands each item of a multi-key get to `f` with the index of the key it
/// answers in `keys`, in the server's order, as [`match_items`] pairs them
/// (the same walk, the same lookup for items out of order) without
/// collecting them: for a caller that files them by key anyway.
///
/// # Errors
///
/// [`Error::Protocol`] for an item whose key was not asked for; the first
/// error `f` returns.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use memcrab_core::command::for_each_match;
/// use memcrab_core::{Error, Item};
///
/// let item = |k: &'static str| Item { key: Bytes::from(k), flags: 0, value: Bytes::new(), cas: None };
/// let keys: [&[u8]; 3] = [b"a", b"b", b"c"];
/// let mut seen = Vec::new();
/// for_each_match(&keys, [item("c"), item("a")], |i, _| {
///     seen.push(i);
///     Ok::<(), Error>(())
/// })
/// .unwrap();
/// assert_eq!(seen, [2, 0]);
/// ```
pub fn for_each_match<K: AsRef<[u8]>, E: From<Error>>(
    keys: &[K],
    items: impl IntoIterator<Item = Item>,
    mut f: impl FnMut(usize, Item) -> Result<(), E>,
) -> Result<(), E> {
    let mut cursor = 0;
    // Built only when the items come out of order: (key, index) by key.
    let mut lookup: Option<Vec<(&[u8], usize)>> = None;
    for item in items {
        let at = keys[cursor.min(keys.len())..]
            .iter()
            .position(|k| k.as_ref() == &item.key[..]);
        let index = match at {
            Some(i) => {
                cursor += i + 1;
                cursor - 1
            }
            None => {
                let table = lookup.get_or_insert_with(|| {
                    let mut t: Vec<(&[u8], usize)> = keys
                        .iter()
                        .enumerate()
                        .map(|(i, k)| (k.as_ref(), i))
                        .collect();
                    t.sort_unstable();
                    t
                });
                let pos = table.partition_point(|(k, _)| *k < &item.key[..]);
                match table.get(pos) {
                    Some((k, i)) if *k == &item.key[..] => *i,
                    _ => {
                        return Err(Error::Protocol(format!(
                            "server returned key {}, which was not asked for",
                            escape(&item.key)
                        ))
                        .into())
                    }
                }
            }
        };
        f(index, item)?;
    }
    Ok(())
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

    #[test]
    fn in_order_duplicates_and_merged() {
        let keys = ["a", "b", "a", "c"];
        let got = match_items(&keys, [item("a"), item("a"), item("c")]).unwrap();
        assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2, 3]);
        let got = match_items(&keys, [item("c"), item("b")]).unwrap();
        assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 3]);
        assert!(matches!(
            match_items(&keys, [item("z")]),
            Err(Error::Protocol(m)) if m.contains("\"z\"") || m.contains('z')
        ));
    }
}
