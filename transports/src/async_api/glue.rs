//! The async trait's glue: send a command's requests, map the replies
//! with the same [`results`](crate::api::results) as the blocking trait.

use std::hash::Hash;

use memcrab_core::command::{Meaning, Outcome};
use memcrab_core::{GetCommand, Item, Reply, Request, StoreCommand};
use smallvec::SmallVec;

use super::AsyncMemcache;
use crate::api::results::{self, Encoded};
use crate::error::{Error, Result};

/// Sends one request and returns its reply (`None` for noreply).
pub(crate) async fn one<C: AsyncMemcache + ?Sized>(
    c: &C,
    request: Request<'_>,
) -> Result<Option<Reply>> {
    results::first_reply(c.execute(&[request]).await?)
}

/// Sends one request and turns its reply into its result ([`Meaning`]).
pub(crate) async fn run<C: AsyncMemcache + ?Sized>(c: &C, request: Request<'_>) -> Result<Outcome> {
    let meaning = Meaning::of(&request);
    meaning
        .outcome(one(c, request).await?)
        .map_err(Error::Protocol)
}

/// Stores one encoded value; the raw reply.
pub(crate) async fn store_reply<C: AsyncMemcache + ?Sized>(
    c: &C,
    command: StoreCommand,
    key: &[u8],
    encoded: Encoded,
) -> Result<Option<Reply>> {
    one(c, encoded.request(command, key)).await
}

/// Runs one retrieval for `keys`; misses on error under `ignore_exc`.
pub(crate) async fn fetch<C: AsyncMemcache + ?Sized>(
    c: &C,
    command: GetCommand,
    keys: &[&[u8]],
) -> Result<SmallVec<[Item; 1]>> {
    let reply = one(c, Request::Get { command, keys }).await;
    results::items_of(c.command_options(), reply)
}

/// Runs one retrieval for many keys, paired with the caller's keys.
pub(crate) async fn fetch_many<'k, C: AsyncMemcache + ?Sized, K: AsRef<[u8]> + Eq + Hash + Sync>(
    c: &C,
    command: GetCommand,
    keys: &'k [K],
) -> Result<Vec<(&'k K, Item)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
    let items = fetch(c, command, &raw).await?;
    results::matched(keys, &raw, items)
}
