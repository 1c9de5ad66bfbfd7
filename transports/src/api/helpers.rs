//! The blocking trait's glue: send a command's requests, map the replies
//! with [`results`](super::results).

use std::hash::Hash;

use memcrab_core::command::{Meaning, Outcome};
use memcrab_core::serde::ToValue;
use memcrab_core::{GetCommand, Item, Reply, Request, StoreCommand};
use smallvec::SmallVec;

use super::results::{self, Encoded};
use super::{Memcache, StoreOptions};
use crate::error::{Error, Result};

/// Sends one request and returns its reply (`None` for noreply).
pub(crate) fn one<C: Memcache + ?Sized>(c: &C, request: Request<'_>) -> Result<Option<Reply>> {
    results::first_reply(c.execute(&[request])?)
}

/// Sends one request and turns its reply into its result, as the core
/// decides for every front end ([`Meaning`]).
pub(crate) fn run<C: Memcache + ?Sized>(c: &C, request: Request<'_>) -> Result<Outcome> {
    let meaning = Meaning::of(&request);
    meaning.outcome(one(c, request)?).map_err(Error::Protocol)
}

/// Serializes and stores one value; the raw reply.
pub(crate) fn store_reply<C: Memcache + ?Sized>(
    c: &C,
    command: StoreCommand,
    key: &[u8],
    value: &dyn ToValue,
    opts: StoreOptions,
) -> Result<Option<Reply>> {
    let encoded = Encoded::new(c.command_options(), key, value, opts)?;
    one(c, encoded.request(command, key))
}

/// Serializes and stores one value; `true` when stored.
pub(crate) fn store<C: Memcache + ?Sized>(
    c: &C,
    command: StoreCommand,
    key: &[u8],
    value: &dyn ToValue,
    opts: StoreOptions,
) -> Result<bool> {
    results::stored(store_reply(c, command, key, value, opts)?)
}

/// Runs one retrieval for `keys`; misses on error under `ignore_exc`.
pub(crate) fn fetch<C: Memcache + ?Sized>(
    c: &C,
    command: GetCommand,
    keys: &[&[u8]],
) -> Result<SmallVec<[Item; 1]>> {
    let reply = one(c, Request::Get { command, keys });
    results::items_of(c.command_options(), reply)
}

/// Runs one retrieval for many keys; its items are paired with the
/// caller's keys as they are filed (see [`results::Fetched`]).
pub(crate) fn fetch_many<'k, C: Memcache + ?Sized, K: AsRef<[u8]> + Eq + Hash>(
    c: &C,
    command: GetCommand,
    keys: &'k [K],
) -> Result<results::Fetched<'k, K>> {
    if keys.is_empty() {
        return Ok(results::Fetched {
            keys,
            items: SmallVec::new(),
        });
    }
    let raw: SmallVec<[&[u8]; 16]> = keys.iter().map(AsRef::as_ref).collect();
    let items = fetch(c, command, &raw)?;
    Ok(results::Fetched { keys, items })
}

/// Stores every pair in one batch; the keys not stored.
pub(crate) fn set_many<C: Memcache + ?Sized, K: AsRef<[u8]> + Clone, V: ToValue>(
    c: &C,
    items: &[(K, V)],
    opts: StoreOptions,
) -> Result<Vec<K>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let encoded = results::encode_many(c.command_options(), items, opts)?;
    let outcomes = c.execute(&results::set_requests(items, &encoded))?;
    results::not_stored(items, outcomes)
}

/// Deletes every key in one batch.
pub(crate) fn delete_many<C: Memcache + ?Sized, K: AsRef<[u8]>>(
    c: &C,
    keys: &[K],
    noreply: bool,
) -> Result<bool> {
    if keys.is_empty() {
        return Ok(true);
    }
    results::all_deleted(c.execute(&results::delete_requests(keys, noreply))?)
}
