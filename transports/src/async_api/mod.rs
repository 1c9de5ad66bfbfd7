//! The async twin of the command trait: every command of
//! [`Memcache`](crate::Memcache), with the same names and results, as
//! futures.

mod glue;
mod meta;

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use bytes::Bytes;
use memcrab_core::meta::MetaRequest;
use memcrab_core::serde::Value;
use memcrab_core::stats::Stats;
use memcrab_core::{GetCommand, Request, StoreCommand};

use crate::api::results::{self, boolean, number};
use crate::api::{CommandOptions, StoreOptions};
use crate::blocking::Outcomes;
use crate::error::Result;

pub use meta::AsyncMetaCommands;

/// memcached's commands with pymemcache's names and results, as futures:
/// the async twin of [`Memcache`](crate::Memcache).
///
/// A client implements [`command_options`](Self::command_options),
/// [`execute`](Self::execute) and [`execute_meta`](Self::execute_meta);
/// every command comes from them, mapped exactly as the blocking trait
/// maps it (one shared mapping). Every future is `Send`, so calls can be
/// spawned on a multi-threaded runtime. `memcrab::tokio::Client` (cargo
/// feature `tokio`) implements it.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> memcrab_transport::Result<()> {
/// use memcrab_transport::AsyncMemcache;
///
/// let client = memcrab_transport::tokio::Client::new("127.0.0.1:11211")?;
/// client.set("some_key", "some_value").await?;
/// let value = client.get("some_key").await?;
/// assert_eq!(value.unwrap().as_bytes(), Some(&b"some_value"[..]));
/// # Ok(())
/// # }
/// ```
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
        value: impl Into<Value>,
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
        value: impl Into<Value>,
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
        value: impl Into<Value>,
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
        value: impl Into<Value>,
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
        value: impl Into<Value>,
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
        value: impl Into<Value>,
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
        value: impl Into<Value>,
        opts: StoreOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        let value = value.into();
        async move {
            let reply = glue::store_reply(self, command, key.as_ref(), &value, opts).await?;
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
        value: impl Into<Value>,
        cas: u64,
        opts: StoreOptions,
    ) -> impl Future<Output = Result<Option<bool>>> + Send {
        let value = value.into();
        async move {
            let opts = results::cas_options(opts);
            let command = StoreCommand::Cas(cas);
            let reply = glue::store_reply(self, command, key.as_ref(), &value, opts).await?;
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
        V: Into<Value> + Clone + Sync,
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
    fn get(
        &self,
        key: impl AsRef<[u8]> + Send,
    ) -> impl Future<Output = Result<Option<Value>>> + Send {
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
    fn get_many<K>(&self, keys: &[K]) -> impl Future<Output = Result<HashMap<K, Value>>> + Send
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
    fn gets(
        &self,
        key: impl AsRef<[u8]> + Send,
    ) -> impl Future<Output = Result<Option<(Value, u64)>>> + Send {
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
    fn gets_many<K>(
        &self,
        keys: &[K],
    ) -> impl Future<Output = Result<HashMap<K, (Value, u64)>>> + Send
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
    fn gat(
        &self,
        key: impl AsRef<[u8]> + Send,
        expire: i64,
    ) -> impl Future<Output = Result<Option<Value>>> + Send {
        async move {
            let key = key.as_ref();
            let items = glue::fetch(self, GetCommand::Gat(expire), &[key]).await?;
            results::first_value(self.command_options(), key, items)
        }
    }

    /// Returns the value and cas token of `key` and sets its expiry.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn gats(
        &self,
        key: impl AsRef<[u8]> + Send,
        expire: i64,
    ) -> impl Future<Output = Result<Option<(Value, u64)>>> + Send {
        async move {
            let key = key.as_ref();
            let items = glue::fetch(self, GetCommand::Gats(expire), &[key]).await?;
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
        expire: i64,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.touch_with(key, expire, None)
    }

    /// `touch` choosing noreply.
    ///
    /// # Errors
    ///
    /// As [`touch`](Self::touch).
    fn touch_with(
        &self,
        key: impl AsRef<[u8]> + Send,
        expire: i64,
        noreply: Option<bool>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let noreply = noreply.unwrap_or(self.command_options().default_noreply);
            let key = key.as_ref();
            let request = Request::Touch {
                key,
                exptime: expire,
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
        self.delete_with(key, None)
    }

    /// `delete` choosing noreply.
    ///
    /// # Errors
    ///
    /// As [`touch`](Self::touch).
    fn delete_with(
        &self,
        key: impl AsRef<[u8]> + Send,
        noreply: Option<bool>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let noreply = noreply.unwrap_or(self.command_options().default_noreply);
            let key = key.as_ref();
            boolean(glue::run(self, Request::Delete { key, noreply }).await?)
        }
    }

    /// Deletes every key together.
    ///
    /// # Errors
    ///
    /// As [`touch`](Self::touch).
    fn delete_many<K>(
        &self,
        keys: &[K],
        noreply: Option<bool>,
    ) -> impl Future<Output = Result<bool>> + Send
    where
        K: AsRef<[u8]> + Sync,
    {
        async move {
            if keys.is_empty() {
                return Ok(true);
            }
            let noreply = noreply.unwrap_or(self.command_options().default_noreply);
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

    /// Invalidates every item after `delay` seconds.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    fn flush_all(
        &self,
        delay: i64,
        noreply: Option<bool>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let noreply = noreply.unwrap_or(self.command_options().default_noreply);
            boolean(glue::run(self, Request::FlushAll { delay, noreply }).await?)
        }
    }

    /// Sets the server's verbosity.
    ///
    /// # Errors
    ///
    /// As [`stats`](Self::stats).
    fn verbosity(
        &self,
        level: u32,
        noreply: Option<bool>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let noreply = noreply.unwrap_or(false);
            boolean(glue::run(self, Request::Verbosity { level, noreply }).await?)
        }
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
