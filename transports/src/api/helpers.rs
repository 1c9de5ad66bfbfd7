//! What the commands share: one request's reply, a stored value, a
//! retrieval mapped to the caller's keys, a decoded item.

use std::hash::Hash;

use memcrab_core::command::{match_items, Meaning, Outcome};
use memcrab_core::serde::Value;
use memcrab_core::{GetCommand, Item, Reply, Request, StoreCommand};
use smallvec::SmallVec;

use super::{Memcache, StoreOptions};
use crate::error::{Error, ErrorKind, Result};

/// Sends one request and returns its reply (`None` for noreply).
pub(crate) fn one<C: Memcache + ?Sized>(c: &C, request: Request<'_>) -> Result<Option<Reply>> {
    let mut out = c.execute(&[request])?;
    match out.pop().flatten() {
        Some(r) => r.map(Some),
        None => Ok(None),
    }
}

/// Sends one request and turns its reply into its result, as the core
/// decides for every front end ([`Meaning`]).
pub(crate) fn run<C: Memcache + ?Sized>(c: &C, request: Request<'_>) -> Result<Outcome> {
    let meaning = Meaning::of(&request);
    meaning.outcome(one(c, request)?).map_err(Error::Protocol)
}

/// The result of a command that answers yes or no.
pub(crate) fn boolean(outcome: Outcome) -> Result<bool> {
    match outcome {
        Outcome::Bool(b) => Ok(b),
        other => Err(odd(&other)),
    }
}

/// The error for a result of the wrong shape (a bug, not a server's doing).
pub(crate) fn odd(outcome: &Outcome) -> Error {
    Error::Protocol(memcrab_core::Error::UnexpectedReply(format!("{outcome:?}")))
}

/// Serializes and stores one value; `true` when stored.
pub(crate) fn store<C: Memcache + ?Sized>(
    c: &C,
    command: StoreCommand,
    key: &[u8],
    value: &Value,
    opts: StoreOptions,
) -> Result<bool> {
    match store_reply(c, command, key, value, opts)? {
        None | Some(Reply::Stored) => Ok(true),
        Some(Reply::NotStored) => Ok(false),
        Some(other) => Err(unexpected(&other)),
    }
}

/// Serializes and stores one value; the raw reply.
pub(crate) fn store_reply<C: Memcache + ?Sized>(
    c: &C,
    command: StoreCommand,
    key: &[u8],
    value: &Value,
    opts: StoreOptions,
) -> Result<Option<Reply>> {
    let options = c.command_options();
    let (data, flags) = options.serde.serialize(key, value)?;
    one(
        c,
        Request::Store {
            command,
            key,
            value: &data,
            flags: opts.flags.unwrap_or(flags),
            exptime: opts.expire,
            noreply: opts.noreply.unwrap_or(options.default_noreply),
        },
    )
}

/// Runs one retrieval for `keys`; misses on error under `ignore_exc`.
pub(crate) fn fetch<C: Memcache + ?Sized>(
    c: &C,
    command: GetCommand,
    keys: &[&[u8]],
) -> Result<SmallVec<[Item; 1]>> {
    let result = one(c, Request::Get { command, keys }).and_then(|r| match r {
        // One hit stays inline: no allocation for a single get.
        Some(Reply::Values(items)) => Ok(items),
        Some(other) => Err(unexpected(&other)),
        None => Ok(SmallVec::new()),
    });
    match result {
        Err(e) if c.command_options().ignore_exc && e.kind() != ErrorKind::IllegalInput => {
            Ok(SmallVec::new())
        }
        other => other,
    }
}

/// Runs one retrieval for many keys and pairs each item with the caller's
/// key, in the caller's order (the core's [`match_items`]).
pub(crate) fn fetch_many<'k, C: Memcache + ?Sized, K: AsRef<[u8]> + Eq + Hash>(
    c: &C,
    command: GetCommand,
    keys: &'k [K],
) -> Result<Vec<(&'k K, Item)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let raw: SmallVec<[&[u8]; 16]> = keys.iter().map(AsRef::as_ref).collect();
    let items = fetch(c, command, &raw)?;
    let matched = match_items(&raw, items).map_err(Error::Protocol)?;
    Ok(matched.into_iter().map(|(i, it)| (&keys[i], it)).collect())
}

/// Deserializes one item with the client's serde.
pub(crate) fn decode<C: Memcache + ?Sized>(c: &C, key: &[u8], item: Item) -> Result<Value> {
    Ok(c.command_options()
        .serde
        .deserialize(key, item.value, item.flags)?)
}

/// The result of `incr`/`decr`: the new value, `None` if the key does not
/// exist (the core's `Meaning::Arith`).
pub(super) fn number(outcome: Outcome) -> Result<Option<u64>> {
    match outcome {
        Outcome::Number(n) => Ok(n),
        other => Err(odd(&other)),
    }
}

pub(crate) fn unexpected(reply: &Reply) -> Error {
    Error::Protocol(memcrab_core::Error::UnexpectedReply(format!("{reply:?}")))
}

/// Stores every pair in one batch; the keys not stored.
pub(crate) fn set_many<C: Memcache + ?Sized, K: AsRef<[u8]> + Clone, V: Into<Value> + Clone>(
    c: &C,
    items: &[(K, V)],
    opts: StoreOptions,
) -> Result<Vec<K>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let noreply = opts.noreply.unwrap_or(c.command_options().default_noreply);
    let serde = &c.command_options().serde;
    let mut encoded = Vec::with_capacity(items.len());
    for (k, v) in items {
        let (data, flags) = serde.serialize(k.as_ref(), &v.clone().into())?;
        encoded.push((data, opts.flags.unwrap_or(flags)));
    }
    let requests: Vec<Request<'_>> = items
        .iter()
        .zip(&encoded)
        .map(|((k, _), (data, flags))| Request::Store {
            command: StoreCommand::Set,
            key: k.as_ref(),
            value: data,
            flags: *flags,
            exptime: opts.expire,
            noreply,
        })
        .collect();
    let outcomes = c.execute(&requests)?;
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

/// Deletes every key in one batch.
pub(crate) fn delete_many<C: Memcache + ?Sized, K: AsRef<[u8]>>(
    c: &C,
    keys: &[K],
    noreply: Option<bool>,
) -> Result<bool> {
    if keys.is_empty() {
        return Ok(true);
    }
    let noreply = noreply.unwrap_or(c.command_options().default_noreply);
    let requests: Vec<Request<'_>> = keys
        .iter()
        .map(|k| Request::Delete {
            key: k.as_ref(),
            noreply,
        })
        .collect();
    for outcome in c.execute(&requests)? {
        match outcome {
            None | Some(Ok(Reply::Deleted | Reply::NotFound)) => {}
            Some(Ok(other)) => return Err(unexpected(&other)),
            Some(Err(e)) => return Err(e),
        }
    }
    Ok(true)
}
