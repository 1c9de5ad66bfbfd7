//! The async twin of the command trait: every command of
//! [`Memcache`](crate::Memcache), with the same names and results, as
//! futures.

mod glue;
mod meta;

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

use bytes::Bytes;
use memcrab_core::meta::MetaRequest;
use memcrab_core::serde::{FromValue, ToValue};
use memcrab_core::stats::Stats;
use memcrab_core::{GetCommand, Request, StoreCommand};

use crate::api::results::{self, boolean, number, Encoded};
use crate::api::{CommandOptions, Expiry, StoreOptions};
use crate::blocking::Outcomes;
use crate::error::Result;

pub use meta::AsyncMetaCommands;

#[doc = include_str!("async_memcache.md")]
pub trait AsyncMemcache: Sync {
    /// Returns what the commands need to know of the client: its serde
    /// and the defaults of pymemcache's `noreply` and `ignore_exc`.
    fn command_options(&self) -> CommandOptions<'_>;

    /// Sends `requests` together and resolves with every outcome, in
    /// request order (`None` for requests that await no reply).
    ///
    /// Every request is validated first: if one is bad, nothing is sent.
    /// Dropping the future at any point is safe: its replies are read and
    /// discarded, never handed to another caller.
    ///
    /// # Errors
    ///
    /// The outer error when nothing could be sent (bad input, no
    /// connection); per-request errors inside.
    fn execute<'a>(
        &'a self,
        requests: &'a [Request<'a>],
    ) -> impl Future<Output = Result<Outcomes>> + Send + 'a;

    /// Sends meta `requests` together (see [`AsyncMetaCommands`]).
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    fn execute_meta<'a>(
        &'a self,
        requests: &'a [MetaRequest<'a>],
    ) -> impl Future<Output = Result<Outcomes>> + Send + 'a;

    /// Stores `value` under `key` (as [`Memcache::set`](crate::Memcache::set)).
    ///
    /// # Errors
    ///
    /// A bad key or a value over the item size limit (nothing sent), the
    /// server's error, or a connection error.
    fn set(
        &self,
        key: impl AsRef<[u8]> + Send,
        value: impl ToValue,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.store_with(StoreCommand::Set, key, value, StoreOptions::new())
    }

    /// Stores `value` under `key` with per-call options.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    fn set_with(
        &self,
        key: impl AsRef<[u8]> + Send,
        value: impl ToValue,
        opts: StoreOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.store_with(StoreCommand::Set, key, value, opts)
    }

    /// Stores `value` only if `key` does not exist yet.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    fn add(
        &self,
        key: impl AsRef<[u8]> + Send,
        value: impl ToValue,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.store_with(StoreCommand::Add, key, value, StoreOptions::new())
    }

    /// Stores `value` only if `key` exists.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    fn replace(
        &self,
        key: impl AsRef<[u8]> + Send,
        value: impl ToValue,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.store_with(StoreCommand::Replace, key, value, StoreOptions::new())
    }

    /// Appends `value` to the existing value of `key`.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    fn append(
        &self,
        key: impl AsRef<[u8]> + Send,
        value: impl ToValue,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.store_with(StoreCommand::Append, key, value, StoreOptions::new())
    }

    /// Prepends `value` to the existing value of `key`.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    fn prepend(
        &self,
        key: impl AsRef<[u8]> + Send,
        value: impl ToValue,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.store_with(StoreCommand::Prepend, key, value, StoreOptions::new())
    }

    /// Runs any storage command with per-call options.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    fn store_with(
        &self,
        command: StoreCommand,
        key: impl AsRef<[u8]> + Send,
        value: impl ToValue,
        opts: StoreOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        // Encoded now: the future holds bytes, not the caller's value.
        let encoded = Encoded::new(self.command_options(), key.as_ref(), &value, opts);
        async move {
            let reply = glue::store_reply(self, command, key.as_ref(), encoded?).await?;
            results::stored(reply)
        }
    }

    /// Stores `value` if the item's cas token is still `cas`: `Some(true)`
    /// stored, `Some(false)` changed by someone else, `None` gone.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    fn cas(
        &self,
        key: impl AsRef<[u8]> + Send,
        value: impl ToValue,
        cas: u64,
        opts: StoreOptions,
    ) -> impl Future<Output = Result<Option<bool>>> + Send {
        let opts = results::cas_options(opts);
        let encoded = Encoded::new(self.command_options(), key.as_ref(), &value, opts);
        async move {
            let command = StoreCommand::Cas(cas);
            let reply = glue::store_reply(self, command, key.as_ref(), encoded?).await?;
            results::cas_stored(reply)
        }
    }

    /// Stores every pair together; returns the keys not stored.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    fn set_many<K, V>(
        &self,
        items: &[(K, V)],
        opts: StoreOptions,
    ) -> impl Future<Output = Result<Vec<K>>> + Send
    where
        K: AsRef<[u8]> + Clone + Sync,
        V: ToValue + Sync,
    {
        async move {
            if items.is_empty() {
                return Ok(Vec::new());
            }
            let encoded = results::encode_many(self.command_options(), items, opts)?;
            let requests = results::set_requests(items, &encoded);
            let outcomes = self.execute(&requests).await?;
            results::not_stored(items, outcomes)
        }
    }

    /// Returns the value of `key`, `None` on a miss.
    ///
    /// # Errors
    ///
    /// A bad key (nothing sent), the server's error, a connection error
    /// (a miss under `ignore_exc`), or a value the serde cannot read.
    fn get<T: FromValue>(
        &self,
        key: impl AsRef<[u8]> + Send,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        async move {
            let key = key.as_ref();
            let items = glue::fetch(self, GetCommand::Get, &[key]).await?;
            results::first_value(self.command_options(), key, items)
        }
    }

    /// Returns the values of the keys found, in one request per server.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn get_many<T: FromValue, K>(
        &self,
        keys: &[K],
    ) -> impl Future<Output = Result<HashMap<K, T>>> + Send
    where
        K: AsRef<[u8]> + Clone + Eq + Hash + Sync,
    {
        async move {
            let items = glue::fetch_many(self, GetCommand::Get, keys).await?;
            results::found(self.command_options(), items)
        }
    }

    /// Returns the value of `key` and its cas token.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn gets<T: FromValue>(
        &self,
        key: impl AsRef<[u8]> + Send,
    ) -> impl Future<Output = Result<Option<(T, u64)>>> + Send {
        async move {
            let key = key.as_ref();
            let items = glue::fetch(self, GetCommand::Gets, &[key]).await?;
            results::first_value_cas(self.command_options(), key, items)
        }
    }

    /// Returns the values and cas tokens of the keys found.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn gets_many<T: FromValue, K>(
        &self,
        keys: &[K],
    ) -> impl Future<Output = Result<HashMap<K, (T, u64)>>> + Send
    where
        K: AsRef<[u8]> + Clone + Eq + Hash + Sync,
    {
        async move {
            let items = glue::fetch_many(self, GetCommand::Gets, keys).await?;
            results::found_cas(self.command_options(), items)
        }
    }

    /// Returns the value of `key` and sets its expiry (`gat`).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn gat<T: FromValue>(
        &self,
        key: impl AsRef<[u8]> + Send,
        expire: impl Into<Expiry>,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        let command = GetCommand::Gat(expire.into().exptime());
        async move {
            let key = key.as_ref();
            let items = glue::fetch(self, command, &[key]).await?;
            results::first_value(self.command_options(), key, items)
        }
    }

    /// Returns the value and cas token of `key` and sets its expiry.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn gats<T: FromValue>(
        &self,
        key: impl AsRef<[u8]> + Send,
        expire: impl Into<Expiry>,
    ) -> impl Future<Output = Result<Option<(T, u64)>>> + Send {
        let command = GetCommand::Gats(expire.into().exptime());
        async move {
            let key = key.as_ref();
            let items = glue::fetch(self, command, &[key]).await?;
            results::first_value_cas(self.command_options(), key, items)
        }
    }

    /// Sets the expiry of `key`; `true` if it exists (or noreply).
    ///
    /// # Errors
    ///
    /// A bad key, the server's error, or a connection error.
    fn touch(
        &self,
        key: impl AsRef<[u8]> + Send,
        expire: impl Into<Expiry>,
    ) -> impl Future<Output = Result<bool>> + Send {
        let noreply = self.command_options().default_noreply;
        self.touch_with(key, expire, noreply)
    }

    /// `touch` choosing noreply.
    ///
    /// # Errors
    ///
    /// As [`touch`](Self::touch).
    fn touch_with(
        &self,
        key: impl AsRef<[u8]> + Send,
        expire: impl Into<Expiry>,
        noreply: bool,
    ) -> impl Future<Output = Result<bool>> + Send {
        let exptime = expire.into().exptime();
        async move {
            let key = key.as_ref();
            let request = Request::Touch {
                key,
                exptime,
                noreply,
            };
            boolean(glue::run(self, request).await?)
        }
    }

    /// Deletes `key`; `true` if it existed (or noreply).
    ///
    /// # Errors
    ///
    /// As [`touch`](Self::touch).
    fn delete(&self, key: impl AsRef<[u8]> + Send) -> impl Future<Output = Result<bool>> + Send {
        let noreply = self.command_options().default_noreply;
        self.delete_with(key, noreply)
    }

    /// `delete` choosing noreply.
    ///
    /// # Errors
    ///
    /// As [`touch`](Self::touch).
    fn delete_with(
        &self,
        key: impl AsRef<[u8]> + Send,
        noreply: bool,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let key = key.as_ref();
            boolean(glue::run(self, Request::Delete { key, noreply }).await?)
        }
    }

    /// Deletes every key together.
    ///
    /// # Errors
    ///
    /// As [`touch`](Self::touch).
    fn delete_many<K>(&self, keys: &[K]) -> impl Future<Output = Result<bool>> + Send
    where
        K: AsRef<[u8]> + Sync,
    {
        let noreply = self.command_options().default_noreply;
        self.delete_many_with(keys, noreply)
    }

    /// `delete_many` choosing noreply.
    ///
    /// # Errors
    ///
    /// As [`touch`](Self::touch).
    fn delete_many_with<K>(
        &self,
        keys: &[K],
        noreply: bool,
    ) -> impl Future<Output = Result<bool>> + Send
    where
        K: AsRef<[u8]> + Sync,
    {
        async move {
            if keys.is_empty() {
                return Ok(true);
            }
            let requests = results::delete_requests(keys, noreply);
            results::all_deleted(self.execute(&requests).await?)
        }
    }

    /// Adds `delta` to the number stored at `key`: the new value, `None`
    /// if the key does not exist.
    ///
    /// # Errors
    ///
    /// A bad key, a value that is not a number, or a connection error.
    fn incr(
        &self,
        key: impl AsRef<[u8]> + Send,
        delta: u64,
    ) -> impl Future<Output = Result<Option<u64>>> + Send {
        self.incr_with(key, delta, false)
    }

    /// [`incr`](Self::incr) with a noreply choice: with `noreply` nothing
    /// is awaited and the result is `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As [`incr`](Self::incr) (with `noreply`, only errors of sending).
    fn incr_with(
        &self,
        key: impl AsRef<[u8]> + Send,
        delta: u64,
        noreply: bool,
    ) -> impl Future<Output = Result<Option<u64>>> + Send {
        async move {
            let request = results::arith(true, key.as_ref(), delta, noreply);
            number(glue::run(self, request).await?)
        }
    }

    /// Subtracts `delta` (stopping at 0): the new value, `None` if the key
    /// does not exist.
    ///
    /// # Errors
    ///
    /// As [`incr`](Self::incr).
    fn decr(
        &self,
        key: impl AsRef<[u8]> + Send,
        delta: u64,
    ) -> impl Future<Output = Result<Option<u64>>> + Send {
        self.decr_with(key, delta, false)
    }

    /// [`decr`](Self::decr) with a noreply choice (`Ok(None)` with it).
    ///
    /// # Errors
    ///
    /// As [`incr_with`](Self::incr_with).
    fn decr_with(
        &self,
        key: impl AsRef<[u8]> + Send,
        delta: u64,
        noreply: bool,
    ) -> impl Future<Output = Result<Option<u64>>> + Send {
        async move {
            let request = results::arith(false, key.as_ref(), delta, noreply);
            number(glue::run(self, request).await?)
        }
    }

    /// Returns the server's statistics (`stats`, or `stats <args>`).
    ///
    /// # Errors
    ///
    /// The server's error or a connection error (empty stats instead under
    /// `ignore_exc`, as pymemcache).
    fn stats<'a>(&'a self, args: &'a [&'a str]) -> impl Future<Output = Result<Stats>> + Send + 'a {
        async move {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let stats = glue::run(self, Request::Stats { args: &args }).await;
            let stats = stats.and_then(results::stats_of);
            results::unless_ignored(self.command_options(), stats, Stats::default)
        }
    }

    /// Returns the server's version string.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    fn version(&self) -> impl Future<Output = Result<String>> + Send {
        async move { results::version_of(glue::run(self, Request::Version).await?) }
    }

    /// Invalidates every item after `delay` (`Duration::ZERO`: now).
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    fn flush_all(&self, delay: Duration) -> impl Future<Output = Result<bool>> + Send {
        self.flush_all_with(delay, self.command_options().default_noreply)
    }

    /// `flush_all` choosing noreply.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    fn flush_all_with(
        &self,
        delay: Duration,
        noreply: bool,
    ) -> impl Future<Output = Result<bool>> + Send {
        let delay = results::delay_secs(delay);
        async move { boolean(glue::run(self, Request::FlushAll { delay, noreply }).await?) }
    }

    /// Sets the server's verbosity (waiting for the reply).
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    fn verbosity(&self, level: u32) -> impl Future<Output = Result<bool>> + Send {
        self.verbosity_with(level, false)
    }

    /// `verbosity` choosing noreply.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    fn verbosity_with(
        &self,
        level: u32,
        noreply: bool,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move { boolean(glue::run(self, Request::Verbosity { level, noreply }).await?) }
    }

    /// Sets the server's memory limit in megabytes.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats) (`true` instead under `ignore_exc`).
    fn cache_memlimit(&self, megabytes: u64) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let request = Request::CacheMemlimit {
                megabytes,
                noreply: false,
            };
            let set = glue::run(self, request).await.and_then(boolean);
            results::unless_ignored(self.command_options(), set, || true)
        }
    }

    /// Asks the server to close the connection.
    ///
    /// # Errors
    ///
    /// A connection error.
    fn quit(&self) -> impl Future<Output = Result<()>> + Send {
        async move { glue::one(self, Request::Quit).await.map(|_| ()) }
    }

    /// Asks the server to shut down (`graceful`: `shutdown graceful`).
    ///
    /// # Errors
    ///
    /// The server refusing (shutdown is off by default in memcached).
    fn shutdown(&self, graceful: bool) -> impl Future<Output = Result<()>> + Send {
        async move { results::shut_down(glue::one(self, Request::Shutdown { graceful }).await) }
    }

    /// Sends a raw command line and returns the reply up to `terminator`.
    ///
    /// # Errors
    ///
    /// A line with CR or LF inside, the server's error, or a connection
    /// error.
    fn raw_command<'a>(
        &'a self,
        line: impl AsRef<[u8]> + Send + 'a,
        terminator: &'a [u8],
    ) -> impl Future<Output = Result<Bytes>> + Send + 'a {
        async move {
            let line = line.as_ref();
            results::raw_of(glue::run(self, Request::Raw { line, terminator }).await?)
        }
    }
}
