//! The one command API every client implements, with pymemcache's names.

mod expiry;
mod forward;
mod helpers;
mod options;
pub(crate) mod results;

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use bytes::Bytes;
use memcrab_core::meta::MetaRequest;
use memcrab_core::serde::{FromValue, ToValue};
use memcrab_core::stats::Stats;
use memcrab_core::{GetCommand, Request, StoreCommand};

pub use expiry::Expiry;
pub(crate) use helpers::{fetch, one, store};
use helpers::{fetch_many, run, store_reply};
pub use options::{CommandOptions, StoreOptions};
use results::{boolean, number};

use crate::blocking::Outcomes;
use crate::error::Result;

#[doc = include_str!("memcache.md")]
pub trait Memcache {
    /// Returns what the commands need to know of the client: its serde
    /// and the defaults of pymemcache's `noreply` and `ignore_exc`.
    fn command_options(&self) -> CommandOptions<'_>;

    /// Sends `requests` in one write and reads every awaited reply.
    ///
    /// Every request is validated first: if one is bad, nothing is sent.
    /// The outcomes are in request order; `None` for noreply requests.
    ///
    /// # Errors
    ///
    /// The outer error when nothing could be sent (bad input, no
    /// connection); per-request errors inside.
    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes>;

    /// Sends meta `requests` in one write and reads every reply (see
    /// [`MetaCommands`](crate::MetaCommands) for the typed methods).
    ///
    /// Quiet requests give `None` when they succeeded silently.
    ///
    /// # Errors
    ///
    /// As [`execute`](Memcache::execute).
    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes>;

    /// Stores `value` under `key` (pymemcache's `set`).
    ///
    /// # Errors
    ///
    /// A bad key or a value over the item size limit (nothing sent), the
    /// server's error, or a connection error.
    fn set(&self, key: impl AsRef<[u8]>, value: impl ToValue) -> Result<bool>
    where
        Self: Sized,
    {
        store(
            self,
            StoreCommand::Set,
            key.as_ref(),
            &value,
            StoreOptions::new(),
        )
    }

    /// Stores `value` under `key` with per-call options.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn set_with(
        &self,
        key: impl AsRef<[u8]>,
        value: impl ToValue,
        opts: StoreOptions,
    ) -> Result<bool>
    where
        Self: Sized,
    {
        store(self, StoreCommand::Set, key.as_ref(), &value, opts)
    }

    /// Stores `value` only if `key` does not exist yet.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn add(&self, key: impl AsRef<[u8]>, value: impl ToValue) -> Result<bool>
    where
        Self: Sized,
    {
        store(
            self,
            StoreCommand::Add,
            key.as_ref(),
            &value,
            StoreOptions::new(),
        )
    }

    /// Stores `value` only if `key` exists.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn replace(&self, key: impl AsRef<[u8]>, value: impl ToValue) -> Result<bool>
    where
        Self: Sized,
    {
        store(
            self,
            StoreCommand::Replace,
            key.as_ref(),
            &value,
            StoreOptions::new(),
        )
    }

    /// Appends `value` to the existing value of `key`.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn append(&self, key: impl AsRef<[u8]>, value: impl ToValue) -> Result<bool>
    where
        Self: Sized,
    {
        store(
            self,
            StoreCommand::Append,
            key.as_ref(),
            &value,
            StoreOptions::new(),
        )
    }

    /// Prepends `value` to the existing value of `key`.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn prepend(&self, key: impl AsRef<[u8]>, value: impl ToValue) -> Result<bool>
    where
        Self: Sized,
    {
        store(
            self,
            StoreCommand::Prepend,
            key.as_ref(),
            &value,
            StoreOptions::new(),
        )
    }

    /// Runs any storage command with per-call options (`add`, `replace`,
    /// `append`, `prepend` with an expiry, noreply choice or flags).
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn store_with(
        &self,
        command: StoreCommand,
        key: impl AsRef<[u8]>,
        value: impl ToValue,
        opts: StoreOptions,
    ) -> Result<bool>
    where
        Self: Sized,
    {
        store(self, command, key.as_ref(), &value, opts)
    }

    /// Stores `value` only if the item still has the `cas` token from
    /// [`gets`](Memcache::gets): `Some(true)` stored, `Some(false)` changed
    /// by someone else, `None` not found. Waits for the reply unless
    /// `opts.noreply` says otherwise (then `Some(true)`).
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn cas(
        &self,
        key: impl AsRef<[u8]>,
        value: impl ToValue,
        cas: u64,
        opts: StoreOptions,
    ) -> Result<Option<bool>>
    where
        Self: Sized,
    {
        let opts = results::cas_options(opts);
        let reply = store_reply(self, StoreCommand::Cas(cas), key.as_ref(), &value, opts)?;
        results::cas_stored(reply)
    }

    /// Stores every `(key, value)` pair in one write and returns the keys
    /// that were not stored (empty with noreply).
    ///
    /// # Errors
    ///
    /// A bad key anywhere (nothing sent), a serde error, or the first
    /// server or connection error.
    fn set_many<K: AsRef<[u8]> + Clone, V: ToValue>(
        &self,
        items: &[(K, V)],
        opts: StoreOptions,
    ) -> Result<Vec<K>>
    where
        Self: Sized,
    {
        helpers::set_many(self, items, opts)
    }

    /// Returns the value of `key` as a `T`, or `None` on a miss:
    /// `get::<String>`, `get::<u64>` (a counter), `get::<Value>` (raw).
    ///
    /// # Errors
    ///
    /// A bad key; the server's or a connection error unless `ignore_exc`
    /// (then a miss); a value that is not a `T` (an error naming the key).
    fn get<T: FromValue>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let items = fetch(self, GetCommand::Get, &[key])?;
        results::first_value(self.command_options(), key, items)
    }

    /// Returns the values of the `keys` found, keyed by the caller's keys,
    /// with one request (pymemcache's `get_many`).
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn get_many<T: FromValue, K: AsRef<[u8]> + Clone + Eq + Hash>(
        &self,
        keys: &[K],
    ) -> Result<HashMap<K, T>>
    where
        Self: Sized,
    {
        let items = fetch_many(self, GetCommand::Get, keys)?;
        results::found(self.command_options(), items)
    }

    /// Returns the value of `key` and its cas token, or `None` on a miss.
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn gets<T: FromValue>(&self, key: impl AsRef<[u8]>) -> Result<Option<(T, u64)>>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let items = fetch(self, GetCommand::Gets, &[key])?;
        results::first_value_cas(self.command_options(), key, items)
    }

    /// Returns values and cas tokens of the `keys` found, with one request.
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn gets_many<T: FromValue, K: AsRef<[u8]> + Clone + Eq + Hash>(
        &self,
        keys: &[K],
    ) -> Result<HashMap<K, (T, u64)>>
    where
        Self: Sized,
    {
        let items = fetch_many(self, GetCommand::Gets, keys)?;
        results::found_cas(self.command_options(), items)
    }

    /// Returns the value of `key` and sets its expiration to `expire`
    /// (memcached's `gat`; pymemcache 4.0 lacks it).
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn gat<T: FromValue>(
        &self,
        key: impl AsRef<[u8]>,
        expire: impl Into<Expiry>,
    ) -> Result<Option<T>>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let command = GetCommand::Gat(expire.into().exptime());
        let items = fetch(self, command, &[key])?;
        results::first_value(self.command_options(), key, items)
    }

    /// Returns the value and cas token of `key` and sets its expiration.
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn gats<T: FromValue>(
        &self,
        key: impl AsRef<[u8]>,
        expire: impl Into<Expiry>,
    ) -> Result<Option<(T, u64)>>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let command = GetCommand::Gats(expire.into().exptime());
        let items = fetch(self, command, &[key])?;
        results::first_value_cas(self.command_options(), key, items)
    }

    /// Sets the expiration of `key`: `true` if it exists (and with noreply).
    ///
    /// # Errors
    ///
    /// A bad key, the server's or a connection error.
    fn touch(&self, key: impl AsRef<[u8]>, expire: impl Into<Expiry>) -> Result<bool>
    where
        Self: Sized,
    {
        let noreply = self.command_options().default_noreply;
        self.touch_with(key, expire, noreply)
    }

    /// [`touch`](Memcache::touch) with an explicit noreply choice.
    ///
    /// # Errors
    ///
    /// As [`touch`](Memcache::touch).
    fn touch_with(
        &self,
        key: impl AsRef<[u8]>,
        expire: impl Into<Expiry>,
        noreply: bool,
    ) -> Result<bool>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let exptime = expire.into().exptime();
        boolean(run(
            self,
            Request::Touch {
                key,
                exptime,
                noreply,
            },
        )?)
    }

    /// Deletes `key`: `true` if it existed (and with noreply).
    ///
    /// # Errors
    ///
    /// A bad key, the server's or a connection error.
    fn delete(&self, key: impl AsRef<[u8]>) -> Result<bool>
    where
        Self: Sized,
    {
        let noreply = self.command_options().default_noreply;
        self.delete_with(key, noreply)
    }

    /// [`delete`](Memcache::delete) with an explicit noreply choice.
    ///
    /// # Errors
    ///
    /// As [`delete`](Memcache::delete).
    fn delete_with(&self, key: impl AsRef<[u8]>, noreply: bool) -> Result<bool>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        boolean(run(self, Request::Delete { key, noreply })?)
    }

    /// Deletes every key in one write; returns `true` (as pymemcache).
    ///
    /// # Errors
    ///
    /// A bad key (nothing sent), the first server or connection error.
    fn delete_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<bool>
    where
        Self: Sized,
    {
        let noreply = self.command_options().default_noreply;
        helpers::delete_many(self, keys, noreply)
    }

    /// [`delete_many`](Memcache::delete_many) with an explicit noreply
    /// choice.
    ///
    /// # Errors
    ///
    /// As [`delete_many`](Memcache::delete_many).
    fn delete_many_with<K: AsRef<[u8]>>(&self, keys: &[K], noreply: bool) -> Result<bool>
    where
        Self: Sized,
    {
        helpers::delete_many(self, keys, noreply)
    }

    /// Adds `delta` to the number stored at `key`: the new value, or `None`
    /// if the key does not exist. Waits for the reply.
    ///
    /// # Errors
    ///
    /// A bad key; `CLIENT_ERROR` if the value is not a number; a connection
    /// error.
    fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>>
    where
        Self: Sized,
    {
        self.incr_with(key, delta, false)
    }

    /// [`incr`](Memcache::incr) with a noreply choice (pymemcache's
    /// `incr(key, value, noreply)`): with `noreply` nothing is awaited and
    /// the result is `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As [`incr`](Memcache::incr) (with `noreply`, only errors of sending).
    fn incr_with(&self, key: impl AsRef<[u8]>, delta: u64, noreply: bool) -> Result<Option<u64>>
    where
        Self: Sized,
    {
        number(run(
            self,
            results::arith(true, key.as_ref(), delta, noreply),
        )?)
    }

    /// Subtracts `delta` from the number at `key` (floored at 0 by the
    /// server): the new value, or `None` if the key does not exist.
    ///
    /// # Errors
    ///
    /// As [`incr`](Memcache::incr).
    fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>>
    where
        Self: Sized,
    {
        self.decr_with(key, delta, false)
    }

    /// [`decr`](Memcache::decr) with a noreply choice: with `noreply`
    /// nothing is awaited and the result is `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As [`incr_with`](Memcache::incr_with).
    fn decr_with(&self, key: impl AsRef<[u8]>, delta: u64, noreply: bool) -> Result<Option<u64>>
    where
        Self: Sized,
    {
        number(run(
            self,
            results::arith(false, key.as_ref(), delta, noreply),
        )?)
    }

    /// Returns the server's statistics, typed (`args` picks a section such
    /// as `settings`, `items`, `slabs`).
    ///
    /// # Errors
    ///
    /// A bad argument; the server's error (`ERROR` for an unknown section);
    /// a connection error. Under `ignore_exc`, the server's and connection
    /// errors give empty stats instead (as pymemcache's `{}`).
    fn stats(&self, args: &[&str]) -> Result<Stats> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let stats = run(self, Request::Stats { args: &args }).and_then(results::stats_of);
        results::unless_ignored(self.command_options(), stats, Stats::default)
    }

    /// Returns the server's version string.
    ///
    /// # Errors
    ///
    /// A connection error.
    fn version(&self) -> Result<String> {
        results::version_of(run(self, Request::Version)?)
    }

    /// Invalidates every item after `delay` (`Duration::ZERO`: now;
    /// sub-second delays round up to a second).
    ///
    /// # Errors
    ///
    /// A connection error.
    fn flush_all(&self, delay: Duration) -> Result<bool> {
        self.flush_all_with(delay, self.command_options().default_noreply)
    }

    /// [`flush_all`](Memcache::flush_all) with an explicit noreply choice.
    ///
    /// # Errors
    ///
    /// As [`flush_all`](Memcache::flush_all).
    fn flush_all_with(&self, delay: Duration, noreply: bool) -> Result<bool> {
        let delay = results::delay_secs(delay);
        boolean(run(self, Request::FlushAll { delay, noreply })?)
    }

    /// Sets the server's logging verbosity (waiting for the reply).
    ///
    /// # Errors
    ///
    /// A connection error.
    fn verbosity(&self, level: u32) -> Result<bool> {
        self.verbosity_with(level, false)
    }

    /// [`verbosity`](Memcache::verbosity) with a noreply choice.
    ///
    /// # Errors
    ///
    /// As [`verbosity`](Memcache::verbosity).
    fn verbosity_with(&self, level: u32, noreply: bool) -> Result<bool> {
        boolean(run(self, Request::Verbosity { level, noreply })?)
    }

    /// Sets the server's memory limit, in megabytes.
    ///
    /// # Errors
    ///
    /// The server's error; a connection error. Under `ignore_exc`, those
    /// give `true` instead (as pymemcache).
    fn cache_memlimit(&self, megabytes: u64) -> Result<bool> {
        let noreply = false;
        let set = run(self, Request::CacheMemlimit { megabytes, noreply }).and_then(boolean);
        results::unless_ignored(self.command_options(), set, || true)
    }

    /// Sends `quit`; the server closes the connection (the next call
    /// reconnects).
    ///
    /// # Errors
    ///
    /// A connection error while sending.
    fn quit(&self) -> Result<()> {
        one(self, Request::Quit).map(|_| ())
    }

    /// Asks the server to shut down (it must run with `-A`); `graceful`
    /// sends `shutdown graceful`.
    ///
    /// # Errors
    ///
    /// `ERROR: shutdown not enabled` as [`Error`](crate::Error); a connection error.
    fn shutdown(&self, graceful: bool) -> Result<()> {
        results::shut_down(one(self, Request::Shutdown { graceful }))
    }

    /// Sends one raw command line and returns the reply up to (not
    /// including) `terminator` (`b"\r\n"` for one line).
    ///
    /// # Errors
    ///
    /// A line with `\r` or `\n`, an empty terminator, the server's error
    /// line, a connection error.
    fn raw_command(&self, line: impl AsRef<[u8]>, terminator: &[u8]) -> Result<Bytes>
    where
        Self: Sized,
    {
        let line = line.as_ref();
        results::raw_of(run(self, Request::Raw { line, terminator })?)
    }
}
