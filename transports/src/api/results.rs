//! What the blocking and the async command traits share: the requests a
//! command sends and how its replies become its result, with no I/O (the
//! traits only add the call in between).

use std::collections::HashMap;
use std::hash::Hash;

use bytes::Bytes;
use memcrab_core::command::{for_each_match, match_items, Outcome};
use memcrab_core::serde::{FromValue, ToValue};
use memcrab_core::stats::Stats;
use memcrab_core::{Item, Reply, Request, StoreCommand};
use smallvec::SmallVec;

use super::{CommandOptions, StoreOptions};
use crate::blocking::Outcomes;
use crate::error::{Error, ErrorKind, Result};

/// A value serialized for a storage command: its bytes, flags and noreply.
pub(crate) struct Encoded {
    pub(crate) data: Bytes,
    pub(crate) flags: u32,
    pub(crate) expire: i64,
    pub(crate) noreply: bool,
}

impl Encoded {
    /// Serializes `value` for `key` with the client's serde and defaults.
    pub(crate) fn new(
        o: CommandOptions<'_>,
        key: &[u8],
        value: &dyn ToValue,
        opts: StoreOptions,
    ) -> Result<Encoded> {
        let (data, flags) = value.to_stored(key, o.serde)?;
        Ok(Encoded {
            data,
            flags: opts.flags.unwrap_or(flags),
            expire: opts.expire.exptime(),
            noreply: opts.noreply.unwrap_or(o.default_noreply),
        })
    }

    /// The storage request that sends it.
    pub(crate) fn request<'a>(&'a self, command: StoreCommand, key: &'a [u8]) -> Request<'a> {
        Request::Store {
            command,
            key,
            value: &self.data,
            flags: self.flags,
            exptime: self.expire,
            noreply: self.noreply,
        }
    }
}

/// A delay in memcached's whole seconds, rounded up (`flush_all`).
pub(crate) fn delay_secs(delay: std::time::Duration) -> i64 {
    let secs = delay
        .as_secs()
        .saturating_add(u64::from(delay.subsec_nanos() > 0));
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// `cas` waits for its reply unless asked not to.
pub(crate) fn cas_options(opts: StoreOptions) -> StoreOptions {
    StoreOptions {
        noreply: Some(opts.noreply.unwrap_or(false)),
        ..opts
    }
}

/// The one reply of a one-request batch (`None` for noreply).
pub(crate) fn first_reply(mut out: Outcomes) -> Result<Option<Reply>> {
    match out.pop().flatten() {
        Some(r) => r.map(Some),
        None => Ok(None),
    }
}

/// A storage command's result: `true` when stored (or not asked).
pub(crate) fn stored(reply: Option<Reply>) -> Result<bool> {
    match reply {
        None | Some(Reply::Stored) => Ok(true),
        Some(Reply::NotStored) => Ok(false),
        Some(other) => Err(unexpected(&other)),
    }
}

/// `cas`'s result: stored, someone else changed it, or it is gone.
pub(crate) fn cas_stored(reply: Option<Reply>) -> Result<Option<bool>> {
    match reply {
        None | Some(Reply::Stored) => Ok(Some(true)),
        Some(Reply::Exists) => Ok(Some(false)),
        Some(Reply::NotFound) => Ok(None),
        Some(other) => Err(unexpected(&other)),
    }
}

/// A retrieval's items; misses on error under `ignore_exc` (never for a
/// bad key).
pub(crate) fn items_of(
    o: CommandOptions<'_>,
    result: Result<Option<Reply>>,
) -> Result<SmallVec<[Item; 1]>> {
    let result = result.and_then(|r| match r {
        // One hit stays inline: no allocation for a single get.
        Some(Reply::Values(items)) => Ok(items),
        Some(other) => Err(unexpected(&other)),
        None => Ok(SmallVec::new()),
    });
    match result {
        Err(e) if o.ignore_exc && e.kind() != ErrorKind::IllegalInput => Ok(SmallVec::new()),
        other => other,
    }
}

/// Decodes one item into a `T`, with the client's serde.
pub(crate) fn decode_item<T: FromValue>(
    o: CommandOptions<'_>,
    key: &[u8],
    item: Item,
) -> Result<T> {
    Ok(T::from_stored(key, item.value, item.flags, o.serde)?)
}

/// A single-key retrieval's value, `None` on a miss.
pub(crate) fn first_value<T: FromValue>(
    o: CommandOptions<'_>,
    key: &[u8],
    items: SmallVec<[Item; 1]>,
) -> Result<Option<T>> {
    items
        .into_iter()
        .next()
        .map(|it| decode_item(o, key, it))
        .transpose()
}

/// A single-key `gets`' value and cas token, `None` on a miss.
pub(crate) fn first_value_cas<T: FromValue>(
    o: CommandOptions<'_>,
    key: &[u8],
    items: SmallVec<[Item; 1]>,
) -> Result<Option<(T, u64)>> {
    items
        .into_iter()
        .next()
        .map(|it| {
            let cas = it.cas.unwrap_or(0);
            Ok((decode_item(o, key, it)?, cas))
        })
        .transpose()
}

/// Each item paired with the caller's key, in the caller's order (the
/// core's [`match_items`]).
pub(crate) fn matched<'k, K: AsRef<[u8]>>(
    keys: &'k [K],
    raw: &[&[u8]],
    items: SmallVec<[Item; 1]>,
) -> Result<Vec<(&'k K, Item)>> {
    let matched = match_items(raw, items).map_err(Error::Protocol)?;
    Ok(matched.into_iter().map(|(i, it)| (&keys[i], it)).collect())
}

/// The items of a multi-key retrieval with the caller's keys they answer:
/// a list already paired, or [`Fetched`] items paired as they are filed.
pub(crate) trait Keyed<'k, K: 'k> {
    /// How many items.
    fn count(&self) -> usize;
    /// Hands each item to `f` with its key; the first error stops.
    fn each(self, f: impl FnMut(&'k K, Item) -> Result<()>) -> Result<()>;
}

impl<'k, K: 'k> Keyed<'k, K> for Vec<(&'k K, Item)> {
    fn count(&self) -> usize {
        self.len()
    }

    fn each(self, mut f: impl FnMut(&'k K, Item) -> Result<()>) -> Result<()> {
        for (k, it) in self {
            f(k, it)?;
        }
        Ok(())
    }
}

/// A multi-key retrieval's items, not yet paired with the caller's keys:
/// [`found`] pairs each as it files it (the core's [`for_each_match`]), with
/// no list in between.
pub(crate) struct Fetched<'k, K> {
    pub(crate) keys: &'k [K],
    pub(crate) items: SmallVec<[Item; 1]>,
}

impl<'k, K: AsRef<[u8]>> Keyed<'k, K> for Fetched<'k, K> {
    fn count(&self) -> usize {
        self.items.len()
    }

    fn each(self, mut f: impl FnMut(&'k K, Item) -> Result<()>) -> Result<()> {
        let keys = self.keys;
        for_each_match(keys, self.items, |i, it| f(&keys[i], it))
    }
}

/// A multi-key retrieval's values by key (only the keys found).
pub(crate) fn found<'k, K: AsRef<[u8]> + Clone + Eq + Hash + 'k, T: FromValue>(
    o: CommandOptions<'_>,
    items: impl Keyed<'k, K>,
) -> Result<HashMap<K, T>> {
    let mut out = HashMap::with_capacity(items.count());
    items.each(|k, it| {
        out.insert(k.clone(), decode_item(o, k.as_ref(), it)?);
        Ok(())
    })?;
    Ok(out)
}

/// A multi-key `gets`' values and cas tokens by key.
pub(crate) fn found_cas<'k, K: AsRef<[u8]> + Clone + Eq + Hash + 'k, T: FromValue>(
    o: CommandOptions<'_>,
    items: impl Keyed<'k, K>,
) -> Result<HashMap<K, (T, u64)>> {
    let mut out = HashMap::with_capacity(items.count());
    items.each(|k, it| {
        let cas = it.cas.unwrap_or(0);
        out.insert(k.clone(), (decode_item(o, k.as_ref(), it)?, cas));
        Ok(())
    })?;
    Ok(out)
}

/// Serializes every pair of a `set_many`.
pub(crate) fn encode_many<K: AsRef<[u8]>, V: ToValue>(
    o: CommandOptions<'_>,
    items: &[(K, V)],
    opts: StoreOptions,
) -> Result<Vec<Encoded>> {
    items
        .iter()
        .map(|(k, v)| Encoded::new(o, k.as_ref(), v, opts))
        .collect()
}

/// The requests of a `set_many`, borrowing its keys and encoded values.
pub(crate) fn set_requests<'a, K: AsRef<[u8]>, V>(
    items: &'a [(K, V)],
    encoded: &'a [Encoded],
) -> Vec<Request<'a>> {
    items
        .iter()
        .zip(encoded)
        .map(|((k, _), e)| e.request(StoreCommand::Set, k.as_ref()))
        .collect()
}

/// `set_many`'s result: the keys not stored.
pub(crate) fn not_stored<K: Clone, V>(items: &[(K, V)], outcomes: Outcomes) -> Result<Vec<K>> {
    let mut failed = Vec::new();
    for ((k, _), outcome) in items.iter().zip(outcomes) {
        match outcome {
            None | Some(Ok(Reply::Stored)) => {}
            Some(Ok(Reply::NotStored)) => failed.push(k.clone()),
            Some(Ok(other)) => return Err(unexpected(&other)),
            Some(Err(e)) => return Err(e),
        }
    }
    Ok(failed)
}

/// The requests of a `delete_many`.
pub(crate) fn delete_requests<K: AsRef<[u8]>>(keys: &[K], noreply: bool) -> Vec<Request<'_>> {
    keys.iter()
        .map(|k| Request::Delete {
            key: k.as_ref(),
            noreply,
        })
        .collect()
}

/// `delete_many`'s result: `true` unless a request failed.
pub(crate) fn all_deleted(outcomes: Outcomes) -> Result<bool> {
    for outcome in outcomes {
        match outcome {
            None | Some(Ok(Reply::Deleted | Reply::NotFound)) => {}
            Some(Ok(other)) => return Err(unexpected(&other)),
            Some(Err(e)) => return Err(e),
        }
    }
    Ok(true)
}

/// The result of a command that answers yes or no.
pub(crate) fn boolean(outcome: Outcome) -> Result<bool> {
    match outcome {
        Outcome::Bool(b) => Ok(b),
        other => Err(odd(&other)),
    }
}

/// The result of `incr`/`decr`: the new value, `None` if the key does not
/// exist (the core's `Meaning::Arith`).
pub(crate) fn number(outcome: Outcome) -> Result<Option<u64>> {
    match outcome {
        Outcome::Number(n) => Ok(n),
        other => Err(odd(&other)),
    }
}

/// The request of `incr` (`up`) or `decr`.
pub(crate) fn arith(up: bool, key: &[u8], delta: u64, noreply: bool) -> Request<'_> {
    if up {
        Request::Incr {
            key,
            delta,
            noreply,
        }
    } else {
        Request::Decr {
            key,
            delta,
            noreply,
        }
    }
}

/// `result`, or `fallback()` for an error under `ignore_exc` (never for
/// bad input): pymemcache's `{}` from `stats`, `True` from `cache_memlimit`.
pub(crate) fn unless_ignored<T>(
    o: CommandOptions<'_>,
    result: Result<T>,
    fallback: impl FnOnce() -> T,
) -> Result<T> {
    match result {
        Err(e) if o.ignore_exc && e.kind() != ErrorKind::IllegalInput => Ok(fallback()),
        other => other,
    }
}

/// `stats`' result.
pub(crate) fn stats_of(outcome: Outcome) -> Result<Stats> {
    match outcome {
        Outcome::Stats(pairs) => Ok(Stats::from_pairs(pairs)),
        other => Err(odd(&other)),
    }
}

/// `version`'s result.
pub(crate) fn version_of(outcome: Outcome) -> Result<String> {
    match outcome {
        Outcome::Version(v) => Ok(String::from_utf8_lossy(&v).into_owned()),
        other => Err(odd(&other)),
    }
}

/// `raw_command`'s result.
pub(crate) fn raw_of(outcome: Outcome) -> Result<Bytes> {
    match outcome {
        Outcome::Raw(b) => Ok(b),
        other => Err(odd(&other)),
    }
}

/// `shutdown`'s result: the server closing the connection is success.
pub(crate) fn shut_down(result: Result<Option<Reply>>) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::UnexpectedClose => Ok(()),
        Err(e) => Err(e),
    }
}

/// The error for a result of the wrong shape (a bug, not a server's doing).
pub(crate) fn odd(outcome: &Outcome) -> Error {
    Error::Protocol(memcrab_core::Error::UnexpectedReply(format!("{outcome:?}")))
}

pub(crate) fn unexpected(reply: &Reply) -> Error {
    Error::Protocol(memcrab_core::Error::UnexpectedReply(format!("{reply:?}")))
}
