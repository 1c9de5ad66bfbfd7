//! `FallbackClient`: read through several caches in order, write to the
//! first (pymemcache's `fallback.FallbackClient`).

use memcrab_core::meta::{MetaReply, MetaRequest, MetaStatus};
use memcrab_core::{fallback, GetCommand, Reply, Request};
use smallvec::SmallVec;

use crate::api::Memcache;
use crate::blocking::Outcomes;
use crate::error::{Error, Result};

/// Reads that try several caches in order, the first hit winning; every
/// write goes to the first cache, the primary, only (pymemcache's
/// `FallbackClient`).
///
/// Its documented use is a migration from an old cache cluster to a new
/// one: put the new cluster first and the old one after it; reads find what
/// is already in the new cluster, fall back to the old one for the rest,
/// and every write lands in the new cluster, which fills up as the old one
/// drains (see `examples/migrate_cluster.rs`).
///
/// Which cache each command reaches:
///
/// - `get`, `gets`, `get_many`, `gets_many` (and plain `meta_get`s): the
///   primary, then, for the keys it missed, each next cache in turn. A
///   multi-key read asks the next cache for the missing keys only and
///   merges per key (pymemcache returns the first non-empty dict instead).
///   The cas token of a value found in a fallback cache is that cache's,
///   so a `cas` with it (sent to the primary) does not store.
/// - Everything else — `set`, `add`, `replace`, `append`, `prepend`, `cas`,
///   `delete`, `incr`, `decr`, `touch`, `gat`/`gats` (they touch),
///   `flush_all`, `stats`, `version`, meta writes, `raw_command`: the
///   primary only, with its result (pymemcache discards write results).
///   So a key deleted through the fallback client still reads from an old
///   cache that holds it, as in pymemcache.
/// - `quit`: every cache.
///
/// An error from a cache is the read's error, unless that cache's client
/// has `ignore_exc`: then its keys count as misses there, and the next
/// cache is asked. Options
/// (serde, noreply default, `ignore_exc`) are the primary's; give every
/// cache the same serde.
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::{Client, FallbackClient, Memcache};
///
/// let new = Client::new("new-cache:11211")?;
/// let old = Client::new("old-cache:11211")?;
/// let cache = FallbackClient::new(vec![new, old])?;
/// cache.set("user:1", "ada")?; // the new cache only
/// let value: Option<String> = cache.get("user:2")?; // the new cache, else the old
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
pub struct FallbackClient<C> {
    caches: Vec<C>,
}

impl<C: Memcache> FallbackClient<C> {
    /// Reads through `caches` in order and writes to the first.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `caches` is empty.
    pub fn new(caches: Vec<C>) -> Result<FallbackClient<C>> {
        if caches.is_empty() {
            return Err(Error::Config(
                "a FallbackClient needs at least one cache".into(),
            ));
        }
        Ok(FallbackClient { caches })
    }

    /// Returns the caches, the primary first.
    #[must_use]
    pub fn caches(&self) -> &[C] {
        &self.caches
    }

    /// Returns the primary cache, where writes go.
    #[must_use]
    pub fn primary(&self) -> &C {
        &self.caches[0]
    }

    /// Gives the caches back.
    #[must_use]
    pub fn into_caches(self) -> Vec<C> {
        self.caches
    }

    /// Sends `quit` to every cache after the primary.
    /// Runs a batch on the primary. With `ignore_exc`, an unreachable
    /// primary fails each request on its own, so the reads go on to the
    /// next cache, and a read the primary failed is a miss there (`miss`);
    /// a bad key is never ignored.
    fn on_primary<R>(
        &self,
        requests: &[R],
        run: impl FnOnce(&C) -> Result<Outcomes>,
        miss: impl Fn(&R) -> Option<Reply>,
    ) -> Result<Outcomes> {
        let ignore = self.primary().command_options().ignore_exc;
        let soft = |e: &Error| ignore && e.kind() != crate::ErrorKind::IllegalInput;
        let mut out = match run(self.primary()) {
            Ok(out) => out,
            Err(e) if soft(&e) => crate::retrying::failed(requests.len(), &e),
            Err(e) => return Err(e),
        };
        for (r, o) in requests.iter().zip(out.iter_mut()) {
            if matches!(o, Some(Err(e)) if soft(e)) {
                if let Some(m) = miss(r) {
                    *o = Some(Ok(m));
                }
            }
        }
        Ok(out)
    }

    fn quit_fallbacks(&self, requests: &[Request<'_>]) {
        if requests.iter().any(|r| matches!(r, Request::Quit)) {
            for cache in &self.caches[1..] {
                // A cache that cannot be told to quit has nothing to close.
                let _ = cache.execute(&[Request::Quit]);
            }
        }
    }
}

impl<C: Memcache> Memcache for FallbackClient<C> {
    fn command_options(&self) -> crate::api::CommandOptions<'_> {
        self.primary().command_options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        let mut out = self.on_primary(
            requests,
            |p| p.execute(requests),
            |r| matches!(r, Request::Get { .. }).then(|| Reply::Values(SmallVec::new())),
        )?;
        self.quit_fallbacks(requests);
        for cache in &self.caches[1..] {
            // One request per get with misses, for the missing keys only.
            let mut asks: Vec<(usize, GetCommand, Vec<&[u8]>)> = Vec::new();
            for (i, r) in requests.iter().enumerate() {
                if let Request::Get {
                    command: command @ (GetCommand::Get | GetCommand::Gets),
                    keys,
                } = *r
                {
                    let keys = match &out[i] {
                        Some(Ok(Reply::Values(hits))) => fallback::missing_keys(keys, hits),
                        _ => Vec::new(),
                    };
                    if !keys.is_empty() {
                        asks.push((i, command, keys));
                    }
                }
            }
            if asks.is_empty() {
                break;
            }
            let reqs: Vec<Request<'_>> = asks
                .iter()
                .map(|(_, command, keys)| Request::Get {
                    command: *command,
                    keys,
                })
                .collect();
            let ignore = cache.command_options().ignore_exc;
            let answers = match cache.execute(&reqs) {
                Ok(a) => a,
                Err(_) if ignore => continue,
                Err(e) => {
                    for (i, _, _) in &asks {
                        out[*i] = Some(Err(e.clone()));
                    }
                    break;
                }
            };
            for ((i, _, _), answer) in asks.iter().zip(answers) {
                let Request::Get { keys, .. } = requests[*i] else {
                    continue;
                };
                match answer {
                    Some(Ok(Reply::Values(found))) => {
                        if let Some(Ok(Reply::Values(hits))) = &mut out[*i] {
                            fallback::merge_found(keys, hits, found);
                        }
                    }
                    Some(Err(_)) if ignore => {}
                    Some(Err(e)) => out[*i] = Some(Err(e)),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        let mut out = self.on_primary(
            requests,
            |p| p.execute_meta(requests),
            |r| {
                matches!(r, MetaRequest::Get(_))
                    .then(|| Reply::Meta(Box::new(MetaReply::new(MetaStatus::Miss))))
            },
        )?;
        for cache in &self.caches[1..] {
            // Plain reads that missed: no vivify, recache or touch, which
            // change the item and belong to the primary.
            let asks: Vec<usize> = requests
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    let MetaRequest::Get(g) = r else {
                        return false;
                    };
                    let plain = g.vivify.is_none() && g.recache.is_none() && g.touch.is_none();
                    let missed = match &out[*i] {
                        None => g.quiet,
                        Some(Ok(Reply::Meta(m))) => m.status() == MetaStatus::Miss,
                        _ => false,
                    };
                    plain && missed
                })
                .map(|(i, _)| i)
                .collect();
            if asks.is_empty() {
                break;
            }
            let reqs: Vec<MetaRequest<'_>> = asks.iter().map(|&i| requests[i]).collect();
            let ignore = cache.command_options().ignore_exc;
            let answers = match cache.execute_meta(&reqs) {
                Ok(a) => a,
                Err(_) if ignore => continue,
                Err(e) => {
                    for &i in &asks {
                        out[i] = Some(Err(e.clone()));
                    }
                    break;
                }
            };
            for (&i, answer) in asks.iter().zip(answers) {
                match answer {
                    Some(Ok(Reply::Meta(m))) if m.status() != MetaStatus::Miss => {
                        out[i] = Some(Ok(Reply::Meta(m)));
                    }
                    Some(Err(_)) if ignore => {}
                    Some(Err(e)) => out[i] = Some(Err(e)),
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}
