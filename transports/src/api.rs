//! The one command API every client implements, with pymemcache's names.

use std::collections::HashMap;
use std::hash::Hash;

use bytes::Bytes;
use memcrab_core::meta::MetaRequest;
use memcrab_core::serde::Value;
use memcrab_core::stats::Stats;
use memcrab_core::{GetCommand, Item, Reply, Request, StoreCommand};

use memcrab_core::serde::Serde;
use smallvec::SmallVec;

use crate::blocking::Outcomes;
use crate::error::{Error, ErrorKind, Result};

/// Per-call options of the storage commands (pymemcache's `expire`,
/// `noreply` and `flags` arguments).
///
/// # Example
///
/// ```
/// use memcrab_transport::StoreOptions;
///
/// let opts = StoreOptions::new().expire(60).noreply(false).flags(7);
/// assert_eq!(opts.expire, 60);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Expiration in seconds (0 never; over 30 days a Unix time).
    pub expire: i64,
    /// Wait for no reply; `None` uses the client's `default_noreply`.
    pub noreply: Option<bool>,
    /// Client flags overriding the serde's.
    pub flags: Option<u32>,
}

impl StoreOptions {
    /// Returns the defaults: no expiry, the client's noreply default, the
    /// serde's flags.
    #[must_use]
    pub fn new() -> Self {
        StoreOptions::default()
    }

    /// Sets the expiration in seconds.
    #[must_use]
    pub fn expire(mut self, seconds: i64) -> Self {
        self.expire = seconds;
        self
    }

    /// Sets whether to wait for the server's reply.
    #[must_use]
    pub fn noreply(mut self, noreply: bool) -> Self {
        self.noreply = Some(noreply);
        self
    }

    /// Sets the client flags, overriding the serde's.
    #[must_use]
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = Some(flags);
        self
    }
}

/// What the command methods need to know of a client: how values become
/// bytes, and the defaults of pymemcache's per-call arguments. No
/// transport's type appears here, so any client — blocking, the mio
/// engine, the in-memory mock — can offer the commands.
#[derive(Clone, Copy)]
pub struct CommandOptions<'a> {
    /// How values become bytes and flags, and back.
    pub serde: &'a dyn Serde,
    /// The noreply default of the storage commands.
    pub default_noreply: bool,
    /// Turn errors of the get family into misses.
    pub ignore_exc: bool,
}

impl std::fmt::Debug for CommandOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandOptions")
            .field("default_noreply", &self.default_noreply)
            .field("ignore_exc", &self.ignore_exc)
            .finish_non_exhaustive()
    }
}

/// memcached's commands with pymemcache's names and results.
///
/// A client implements three methods —
/// [`command_options`](Memcache::command_options),
/// [`execute`](Memcache::execute), which sends a batch of requests in one
/// write and reads every reply, and [`execute_meta`](Memcache::execute_meta)
/// — and gets every command from them. The trait is dyn-compatible: a
/// `Box<dyn Memcache>` (or `&dyn Memcache`) is a client too, with every
/// command (the generic ones need `Self: Sized`, which a box is).
/// [`Client`](crate::Client), [`PooledClient`](crate::PooledClient),
/// [`HashClient`](crate::HashClient) and
/// [`RetryingClient`](crate::RetryingClient) all implement it, so code
/// written against `impl Memcache` takes any of them.
///
/// Results follow pymemcache: storage commands return `true` when stored
/// (and `true` without asking when noreply), `get` returns `None` on a miss,
/// `get_many` returns only the keys found, `cas` returns `Some(true)` stored,
/// `Some(false)` when someone else changed the item, `None` when it is gone.
///
/// Keys are anything `AsRef<[u8]>` (`&str`, `String`, `&[u8]`, `Vec<u8>`,
/// `Bytes`); values anything `Into<Value>` (bytes, strings, integers).
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::{Client, Memcache};
///
/// let client = Client::new("localhost")?;
/// client.set("some_key", "some_value")?;
/// let value = client.get("some_key")?;
/// assert_eq!(value.unwrap().as_bytes(), Some(&b"some_value"[..]));
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
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
    fn set(&self, key: impl AsRef<[u8]>, value: impl Into<Value>) -> Result<bool>
    where
        Self: Sized,
    {
        self.store(
            StoreCommand::Set,
            key.as_ref(),
            &value.into(),
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
        value: impl Into<Value>,
        opts: StoreOptions,
    ) -> Result<bool>
    where
        Self: Sized,
    {
        self.store(StoreCommand::Set, key.as_ref(), &value.into(), opts)
    }

    /// Stores `value` only if `key` does not exist yet.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn add(&self, key: impl AsRef<[u8]>, value: impl Into<Value>) -> Result<bool>
    where
        Self: Sized,
    {
        self.store(
            StoreCommand::Add,
            key.as_ref(),
            &value.into(),
            StoreOptions::new(),
        )
    }

    /// Stores `value` only if `key` exists.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn replace(&self, key: impl AsRef<[u8]>, value: impl Into<Value>) -> Result<bool>
    where
        Self: Sized,
    {
        self.store(
            StoreCommand::Replace,
            key.as_ref(),
            &value.into(),
            StoreOptions::new(),
        )
    }

    /// Appends `value` to the existing value of `key`.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn append(&self, key: impl AsRef<[u8]>, value: impl Into<Value>) -> Result<bool>
    where
        Self: Sized,
    {
        self.store(
            StoreCommand::Append,
            key.as_ref(),
            &value.into(),
            StoreOptions::new(),
        )
    }

    /// Prepends `value` to the existing value of `key`.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    fn prepend(&self, key: impl AsRef<[u8]>, value: impl Into<Value>) -> Result<bool>
    where
        Self: Sized,
    {
        self.store(
            StoreCommand::Prepend,
            key.as_ref(),
            &value.into(),
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
        value: impl Into<Value>,
        opts: StoreOptions,
    ) -> Result<bool>
    where
        Self: Sized,
    {
        self.store(command, key.as_ref(), &value.into(), opts)
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
        value: impl Into<Value>,
        cas: u64,
        opts: StoreOptions,
    ) -> Result<Option<bool>>
    where
        Self: Sized,
    {
        let opts = StoreOptions {
            noreply: Some(opts.noreply.unwrap_or(false)),
            ..opts
        };
        let reply = self.store_reply(StoreCommand::Cas(cas), key.as_ref(), &value.into(), opts)?;
        match reply {
            None | Some(Reply::Stored) => Ok(Some(true)),
            Some(Reply::Exists) => Ok(Some(false)),
            Some(Reply::NotFound) => Ok(None),
            Some(other) => Err(unexpected(&other)),
        }
    }

    /// Stores every `(key, value)` pair in one write and returns the keys
    /// that were not stored (empty with noreply).
    ///
    /// # Errors
    ///
    /// A bad key anywhere (nothing sent), a serde error, or the first
    /// server or connection error.
    fn set_many<K: AsRef<[u8]> + Clone, V: Into<Value> + Clone>(
        &self,
        items: &[(K, V)],
        opts: StoreOptions,
    ) -> Result<Vec<K>>
    where
        Self: Sized,
    {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let noreply = opts
            .noreply
            .unwrap_or(self.command_options().default_noreply);
        let serde = &self.command_options().serde;
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
        let outcomes = self.execute(&requests)?;
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

    /// Returns the value of `key`, or `None` on a miss.
    ///
    /// # Errors
    ///
    /// A bad key; the server's or a connection error unless `ignore_exc`
    /// (then a miss).
    fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let items = self.fetch(GetCommand::Get, &[key])?;
        items
            .into_iter()
            .next()
            .map(|it| self.decode(key, it))
            .transpose()
    }

    /// Returns the values of the `keys` found, keyed by the caller's keys,
    /// with one request (pymemcache's `get_many`).
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn get_many<K: AsRef<[u8]> + Clone + Eq + Hash>(&self, keys: &[K]) -> Result<HashMap<K, Value>>
    where
        Self: Sized,
    {
        let items = self.fetch_many(GetCommand::Get, keys)?;
        let mut found = HashMap::with_capacity(items.len());
        for (k, it) in items {
            found.insert(k.clone(), self.decode(k.as_ref(), it)?);
        }
        Ok(found)
    }

    /// Returns the value of `key` and its cas token, or `None` on a miss.
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<(Value, u64)>>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let items = self.fetch(GetCommand::Gets, &[key])?;
        items
            .into_iter()
            .next()
            .map(|it| {
                let cas = it.cas.unwrap_or(0);
                Ok((self.decode(key, it)?, cas))
            })
            .transpose()
    }

    /// Returns values and cas tokens of the `keys` found, with one request.
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn gets_many<K: AsRef<[u8]> + Clone + Eq + Hash>(
        &self,
        keys: &[K],
    ) -> Result<HashMap<K, (Value, u64)>>
    where
        Self: Sized,
    {
        let items = self.fetch_many(GetCommand::Gets, keys)?;
        let mut found = HashMap::with_capacity(items.len());
        for (k, it) in items {
            let cas = it.cas.unwrap_or(0);
            found.insert(k.clone(), (self.decode(k.as_ref(), it)?, cas));
        }
        Ok(found)
    }

    /// Returns the value of `key` and sets its expiration to `expire`
    /// (memcached's `gat`; pymemcache 4.0 lacks it).
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn gat(&self, key: impl AsRef<[u8]>, expire: i64) -> Result<Option<Value>>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let items = self.fetch(GetCommand::Gat(expire), &[key])?;
        items
            .into_iter()
            .next()
            .map(|it| self.decode(key, it))
            .transpose()
    }

    /// Returns the value and cas token of `key` and sets its expiration.
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    fn gats(&self, key: impl AsRef<[u8]>, expire: i64) -> Result<Option<(Value, u64)>>
    where
        Self: Sized,
    {
        let key = key.as_ref();
        let items = self.fetch(GetCommand::Gats(expire), &[key])?;
        items
            .into_iter()
            .next()
            .map(|it| {
                let cas = it.cas.unwrap_or(0);
                Ok((self.decode(key, it)?, cas))
            })
            .transpose()
    }

    /// Sets the expiration of `key`: `true` if it exists (and with noreply).
    ///
    /// # Errors
    ///
    /// A bad key, the server's or a connection error.
    fn touch(&self, key: impl AsRef<[u8]>, expire: i64) -> Result<bool>
    where
        Self: Sized,
    {
        self.touch_with(key, expire, None)
    }

    /// [`touch`](Memcache::touch) with an explicit noreply choice.
    ///
    /// # Errors
    ///
    /// As [`touch`](Memcache::touch).
    fn touch_with(&self, key: impl AsRef<[u8]>, expire: i64, noreply: Option<bool>) -> Result<bool>
    where
        Self: Sized,
    {
        let noreply = noreply.unwrap_or(self.command_options().default_noreply);
        match self.one(Request::Touch {
            key: key.as_ref(),
            exptime: expire,
            noreply,
        })? {
            None | Some(Reply::Touched) => Ok(true),
            Some(Reply::NotFound) => Ok(false),
            Some(other) => Err(unexpected(&other)),
        }
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
        self.delete_with(key, None)
    }

    /// [`delete`](Memcache::delete) with an explicit noreply choice.
    ///
    /// # Errors
    ///
    /// As [`delete`](Memcache::delete).
    fn delete_with(&self, key: impl AsRef<[u8]>, noreply: Option<bool>) -> Result<bool>
    where
        Self: Sized,
    {
        let noreply = noreply.unwrap_or(self.command_options().default_noreply);
        match self.one(Request::Delete {
            key: key.as_ref(),
            noreply,
        })? {
            None | Some(Reply::Deleted) => Ok(true),
            Some(Reply::NotFound) => Ok(false),
            Some(other) => Err(unexpected(&other)),
        }
    }

    /// Deletes every key in one write; returns `true` (as pymemcache).
    ///
    /// # Errors
    ///
    /// A bad key (nothing sent), the first server or connection error.
    fn delete_many<K: AsRef<[u8]>>(&self, keys: &[K], noreply: Option<bool>) -> Result<bool>
    where
        Self: Sized,
    {
        if keys.is_empty() {
            return Ok(true);
        }
        let noreply = noreply.unwrap_or(self.command_options().default_noreply);
        let requests: Vec<Request<'_>> = keys
            .iter()
            .map(|k| Request::Delete {
                key: k.as_ref(),
                noreply,
            })
            .collect();
        for outcome in self.execute(&requests)? {
            match outcome {
                None | Some(Ok(Reply::Deleted | Reply::NotFound)) => {}
                Some(Ok(other)) => return Err(unexpected(&other)),
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(true)
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
        let req = Request::Incr {
            key: key.as_ref(),
            delta,
            noreply: false,
        };
        arith(self.one(req)?)
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
        let req = Request::Decr {
            key: key.as_ref(),
            delta,
            noreply: false,
        };
        arith(self.one(req)?)
    }

    /// Returns the server's statistics, typed (`args` picks a section such
    /// as `settings`, `items`, `slabs`).
    ///
    /// # Errors
    ///
    /// A bad argument; the server's error (`ERROR` for an unknown section);
    /// a connection error.
    fn stats(&self, args: &[&str]) -> Result<Stats> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        match self.one(Request::Stats { args: &args })? {
            Some(Reply::Stats(pairs)) => Ok(Stats::from_pairs(pairs)),
            Some(Reply::Ok) => Ok(Stats::from_pairs(Vec::new())),
            Some(other) => Err(unexpected(&other)),
            None => Err(unexpected(&Reply::Ok)),
        }
    }

    /// Returns the server's version string.
    ///
    /// # Errors
    ///
    /// A connection error.
    fn version(&self) -> Result<String> {
        match self.one(Request::Version)? {
            Some(Reply::Version(v)) => Ok(String::from_utf8_lossy(&v).into_owned()),
            Some(other) => Err(unexpected(&other)),
            None => Err(unexpected(&Reply::Ok)),
        }
    }

    /// Invalidates every item after `delay` seconds (0: now).
    ///
    /// # Errors
    ///
    /// A connection error.
    fn flush_all(&self, delay: i64, noreply: Option<bool>) -> Result<bool> {
        let noreply = noreply.unwrap_or(self.command_options().default_noreply);
        match self.one(Request::FlushAll { delay, noreply })? {
            None | Some(Reply::Ok) => Ok(true),
            Some(other) => Err(unexpected(&other)),
        }
    }

    /// Sets the server's logging verbosity.
    ///
    /// # Errors
    ///
    /// A connection error.
    fn verbosity(&self, level: u32, noreply: Option<bool>) -> Result<bool> {
        let noreply = noreply.unwrap_or(false);
        match self.one(Request::Verbosity { level, noreply })? {
            None | Some(Reply::Ok) => Ok(true),
            Some(other) => Err(unexpected(&other)),
        }
    }

    /// Sets the server's memory limit, in megabytes.
    ///
    /// # Errors
    ///
    /// The server's error; a connection error.
    fn cache_memlimit(&self, megabytes: u64) -> Result<bool> {
        match self.one(Request::CacheMemlimit {
            megabytes,
            noreply: false,
        })? {
            None | Some(Reply::Ok) => Ok(true),
            Some(other) => Err(unexpected(&other)),
        }
    }

    /// Sends `quit`; the server closes the connection (the next call
    /// reconnects).
    ///
    /// # Errors
    ///
    /// A connection error while sending.
    fn quit(&self) -> Result<()> {
        self.one(Request::Quit).map(|_| ())
    }

    /// Asks the server to shut down (it must run with `-A`); `graceful`
    /// sends `shutdown graceful`.
    ///
    /// # Errors
    ///
    /// `ERROR: shutdown not enabled` as [`Error`]; a connection error.
    fn shutdown(&self, graceful: bool) -> Result<()> {
        match self.one(Request::Shutdown { graceful }) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::UnexpectedClose => Ok(()),
            Err(e) => Err(e),
        }
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
        match self.one(Request::Raw {
            line: line.as_ref(),
            terminator,
        })? {
            Some(Reply::Raw(b)) => Ok(b),
            Some(other) => Err(unexpected(&other)),
            None => Err(unexpected(&Reply::Ok)),
        }
    }

    // ---- helpers shared by the commands (not meant to be overridden) ----

    /// Sends one request and returns its reply (`None` for noreply).
    ///
    /// # Errors
    ///
    /// The request's error.
    #[doc(hidden)]
    fn one(&self, request: Request<'_>) -> Result<Option<Reply>> {
        let mut out = self.execute(&[request])?;
        match out.pop().flatten() {
            Some(r) => r.map(Some),
            None => Ok(None),
        }
    }

    /// Serializes and stores one value; `true` when stored.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    #[doc(hidden)]
    fn store(
        &self,
        command: StoreCommand,
        key: &[u8],
        value: &Value,
        opts: StoreOptions,
    ) -> Result<bool> {
        match self.store_reply(command, key, value, opts)? {
            None | Some(Reply::Stored) => Ok(true),
            Some(Reply::NotStored) => Ok(false),
            Some(other) => Err(unexpected(&other)),
        }
    }

    /// Serializes and stores one value; the raw reply.
    ///
    /// # Errors
    ///
    /// As [`set`](Memcache::set).
    #[doc(hidden)]
    fn store_reply(
        &self,
        command: StoreCommand,
        key: &[u8],
        value: &Value,
        opts: StoreOptions,
    ) -> Result<Option<Reply>> {
        let (data, flags) = self.command_options().serde.serialize(key, value)?;
        self.one(Request::Store {
            command,
            key,
            value: &data,
            flags: opts.flags.unwrap_or(flags),
            exptime: opts.expire,
            noreply: opts
                .noreply
                .unwrap_or(self.command_options().default_noreply),
        })
    }

    /// Runs one retrieval for `keys`; misses on error under `ignore_exc`.
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    #[doc(hidden)]
    fn fetch(&self, command: GetCommand, keys: &[&[u8]]) -> Result<SmallVec<[Item; 1]>> {
        let result = self
            .one(Request::Get { command, keys })
            .and_then(|r| match r {
                // One hit stays inline: no allocation for a single get.
                Some(Reply::Values(items)) => Ok(items),
                Some(other) => Err(unexpected(&other)),
                None => Ok(SmallVec::new()),
            });
        match result {
            Err(e) if self.command_options().ignore_exc && e.kind() != ErrorKind::IllegalInput => {
                Ok(SmallVec::new())
            }
            other => other,
        }
    }

    /// Runs one retrieval for many keys and maps items to the caller's keys.
    ///
    /// # Errors
    ///
    /// As [`get`](Memcache::get).
    #[doc(hidden)]
    fn fetch_many<'k, K: AsRef<[u8]> + Eq + Hash>(
        &self,
        command: GetCommand,
        keys: &'k [K],
    ) -> Result<Vec<(&'k K, Item)>>
    where
        Self: Sized,
    {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
        let items = self.fetch(command, &raw)?;
        // Hits come in request order (the core checks it, as memcached
        // answers): walk the keys alongside, no hashing. A hash client
        // merges nodes' replies, so fall back to a lookup when out of order.
        let mut out = Vec::with_capacity(items.len());
        let mut cursor = 0;
        let mut by_wire: Option<HashMap<&[u8], &K>> = None;
        for it in items {
            let at = raw[cursor..].iter().position(|k| *k == &it.key[..]);
            let key = match at {
                Some(i) => {
                    cursor += i + 1;
                    Some(&keys[cursor - 1])
                }
                None => by_wire
                    .get_or_insert_with(|| keys.iter().map(|k| (k.as_ref(), k)).collect())
                    .get(&it.key[..])
                    .copied(),
            };
            match key {
                Some(k) => out.push((k, it)),
                None => {
                    return Err(Error::Protocol(memcrab_core::Error::Protocol(format!(
                        "server returned key {:?}, which was not asked for",
                        String::from_utf8_lossy(&it.key)
                    ))))
                }
            }
        }
        Ok(out)
    }

    /// Deserializes one item with the client's serde.
    ///
    /// # Errors
    ///
    /// The serde's error.
    #[doc(hidden)]
    fn decode(&self, key: &[u8], item: Item) -> Result<Value> {
        Ok(self
            .command_options()
            .serde
            .deserialize(key, item.value, item.flags)?)
    }
}

fn arith(reply: Option<Reply>) -> Result<Option<u64>> {
    match reply {
        Some(Reply::Number(n)) => Ok(Some(n)),
        Some(Reply::NotFound) | None => Ok(None),
        Some(other) => Err(unexpected(&other)),
    }
}

fn unexpected(reply: &Reply) -> Error {
    Error::Protocol(memcrab_core::Error::UnexpectedReply(format!("{reply:?}")))
}

macro_rules! forward_memcache {
    ($($ty:ty),*) => {$(
        impl<C: Memcache + ?Sized> Memcache for $ty {
            fn command_options(&self) -> CommandOptions<'_> {
                (**self).command_options()
            }

            fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
                (**self).execute(requests)
            }

            fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
                (**self).execute_meta(requests)
            }
        }
    )*};
}

// A shared or boxed client is a client: `Arc<PooledClient>` across
// threads, `Box<HashClient>`, `&Client` in a wrapper.
forward_memcache!(&C, Box<C>, std::sync::Arc<C>);
