//! The meta protocol's commands for every client, and stale-while-revalidate.

use std::time::{Duration, Instant};

use memcrab_core::meta::{
    MetaArithmetic, MetaDelete, MetaGet, MetaReply, MetaRequest, MetaSet, MetaStatus, RecacheStep,
};
use memcrab_core::serde::{FromValue, ToValue, Value};
use memcrab_core::Reply;

use crate::api::Expiry;

use crate::api::{CommandOptions, Memcache};
use crate::blocking::Outcomes;
use crate::error::{Error, Result};

/// The meta commands, typed, for every [`Memcache`] client.
///
/// Each takes a flag builder from [`memcrab_core::meta`] and returns the
/// [`MetaReply`] with the flags asked for. Keys may be any bytes: keys a
/// text command could not carry go base64-encoded (flag `b`) and come back
/// decoded.
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::{Client, MetaCommands};
/// use memcrab_core::meta::{MetaGet, MetaSet};
///
/// let client = Client::new("localhost")?;
/// client.meta_set(MetaSet::new(b"user:1", b"ada").ttl(60))?; // seconds, on the wire
/// let reply = client.meta_get(MetaGet::new(b"user:1").value().ttl().cas())?;
/// assert_eq!(reply.value.as_deref(), Some(&b"ada"[..]));
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
pub trait MetaCommands: Memcache {
    /// Runs `mg`: `status()` is `Value` (with `v`), `Ok` (hit without `v`)
    /// or `Miss`.
    ///
    /// # Errors
    ///
    /// A bad key, the server's error line, a connection error.
    fn meta_get(&self, request: MetaGet<'_>) -> Result<MetaReply> {
        meta_one(self, MetaRequest::Get(request))
    }

    /// Runs `ms`: `Ok` stored, `NotStored`, `Exists` (cas mismatch) or
    /// `NotFound`.
    ///
    /// # Errors
    ///
    /// As [`meta_get`](MetaCommands::meta_get).
    fn meta_set(&self, request: MetaSet<'_>) -> Result<MetaReply> {
        meta_one(self, MetaRequest::Set(request))
    }

    /// Runs `md`: `Ok` deleted (or marked stale), `NotFound` or `Exists`.
    ///
    /// # Errors
    ///
    /// As [`meta_get`](MetaCommands::meta_get).
    fn meta_delete(&self, request: MetaDelete<'_>) -> Result<MetaReply> {
        meta_one(self, MetaRequest::Delete(request))
    }

    /// Runs `ma`: `Value` with the new number (with `v`), `Ok`, `NotFound`,
    /// `NotStored` or `Exists`.
    ///
    /// # Errors
    ///
    /// As [`meta_get`](MetaCommands::meta_get).
    fn meta_arithmetic(&self, request: MetaArithmetic<'_>) -> Result<MetaReply> {
        meta_one(self, MetaRequest::Arithmetic(request))
    }

    /// Runs `me`: the item's metadata as text (`exp=… la=… cas=… …`) in
    /// `value`, or `Miss`.
    ///
    /// # Errors
    ///
    /// As [`meta_get`](MetaCommands::meta_get).
    fn meta_debug(&self, key: impl AsRef<[u8]>) -> Result<MetaReply> {
        meta_one(self, MetaRequest::Debug { key: key.as_ref() })
    }

    /// Returns the value of `key` as a `V`, recomputing it with `compute` when it is
    /// missing or about to expire, such that among all clients asking at the
    /// same time exactly one recomputes while the others get the current
    /// (possibly stale) value (stale-while-revalidate).
    ///
    /// Uses `mg` with vivify-on-miss (`N`) and recache (`R`): the client the
    /// server tells it "won" (`W`) calls `compute` and stores the result
    /// with `ttl`; the others get the existing value, or, when there is
    /// none yet (a miss someone else is recomputing), ask again every 10 ms
    /// for up to `opts.wait` before computing themselves.
    ///
    /// `compute` returns the caller's own error type `E`, which only needs
    /// to convert from [`Error`]: a database error passes through untouched.
    ///
    /// # Errors
    ///
    /// `compute`'s error as it is; the server's, a connection or a serde
    /// error (a value that is not a `V`) converted into `E`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use memcrab_transport::{Client, MetaCommands, Recache};
    ///
    /// #[derive(Debug)]
    /// enum AppError { Db(String), Cache(memcrab_transport::Error) }
    /// impl From<memcrab_transport::Error> for AppError {
    ///     fn from(e: memcrab_transport::Error) -> Self { AppError::Cache(e) }
    /// }
    ///
    /// let client = Client::new("localhost").map_err(AppError::Cache)?;
    /// let opts = Recache { ttl: Duration::from_secs(60), ..Recache::default() };
    /// let name = client.get_or_recache("user:1:name", opts, || {
    ///     Ok::<String, AppError>("Ada".to_owned()) // the database query
    /// })?;
    /// println!("{} (recomputed: {})", name.value, name.recomputed);
    /// # Ok::<(), AppError>(())
    /// ```
    fn get_or_recache<V, E, F>(
        &self,
        key: impl AsRef<[u8]>,
        opts: Recache,
        compute: F,
    ) -> std::result::Result<Recached<V>, E>
    where
        V: ToValue + FromValue,
        E: From<Error>,
        F: FnOnce() -> std::result::Result<V, E>,
    {
        let key = key.as_ref();
        let started = Instant::now();
        loop {
            let reply = self.meta_get(recache_get(key, opts))?;
            match RecacheStep::of(&reply, started.elapsed() >= opts.wait) {
                RecacheStep::Use { stale } => {
                    return Ok(recached(self.command_options(), key, reply, stale)?)
                }
                RecacheStep::Compute { store, stale } => {
                    let value = compute()?;
                    if store {
                        let set = recache_set(self.command_options(), key, &value, opts)?;
                        self.meta_set(set.request(key))?;
                    }
                    return Ok(Recached {
                        value,
                        recomputed: true,
                        stale,
                    });
                }
                RecacheStep::Wait => std::thread::sleep(RECACHE_POLL),
            }
        }
    }
}

impl<T: Memcache + ?Sized> MetaCommands for T {}

/// Settings of [`MetaCommands::get_or_recache`] (times in whole seconds
/// on the wire, sub-seconds rounded up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recache {
    /// Time to live of the recomputed value (default 300 s; `ZERO`: never
    /// expires).
    pub ttl: Duration,
    /// Recompute once the value has less than this left to live (default
    /// 30 s).
    pub recache_below: Duration,
    /// Time to live of the placeholder a miss creates while the winner
    /// recomputes (default 30 s).
    pub lock_ttl: Duration,
    /// How long a loser waits for the winner's value on a miss (default
    /// 2 s).
    pub wait: Duration,
}

impl Default for Recache {
    fn default() -> Self {
        Recache {
            ttl: Duration::from_secs(300),
            recache_below: Duration::from_secs(30),
            lock_ttl: Duration::from_secs(30),
            wait: Duration::from_secs(2),
        }
    }
}

/// What [`MetaCommands::get_or_recache`] returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Recached<V = Value> {
    /// The value.
    pub value: V,
    /// This call computed the value.
    pub recomputed: bool,
    /// The value the server had was marked stale.
    pub stale: bool,
}

fn meta_one<C: Memcache + ?Sized>(client: &C, request: MetaRequest<'_>) -> Result<MetaReply> {
    meta_reply(&request, client.execute_meta(&[request])?)
}

/// How long a loser of `get_or_recache` waits before asking again.
pub(crate) const RECACHE_POLL: Duration = Duration::from_millis(10);

/// The one meta reply of a one-request batch; a quiet request that
/// succeeded silently answers as memcached would have.
pub(crate) fn meta_reply(request: &MetaRequest<'_>, mut out: Outcomes) -> Result<MetaReply> {
    match out.pop().flatten() {
        Some(Ok(Reply::Meta(m))) => Ok(*m),
        Some(Ok(other)) => Err(Error::Protocol(memcrab_core::Error::UnexpectedReply(
            format!("{other:?} to a meta request"),
        ))),
        Some(Err(e)) => Err(e),
        None if request.is_quiet() => Ok(MetaReply::new(match request {
            MetaRequest::Get(_) => MetaStatus::Miss,
            _ => MetaStatus::Ok,
        })),
        None => Err(Error::Protocol(memcrab_core::Error::UnexpectedClose)),
    }
}

/// The `mg` of `get_or_recache`: value, flags, cas, vivify on miss,
/// recache below a TTL.
pub(crate) fn recache_get(key: &[u8], opts: Recache) -> MetaGet<'_> {
    MetaGet::new(key)
        .value()
        .flags()
        .cas()
        .vivify(Expiry::from(opts.lock_ttl).exptime())
        .recache(crate::api::results::delay_secs(opts.recache_below))
}

/// The value a `get_or_recache` winner stores, encoded.
pub(crate) struct RecacheSet {
    data: bytes::Bytes,
    flags: u32,
    ttl: i64,
}

impl RecacheSet {
    /// The `ms` that stores it.
    pub(crate) fn request<'a>(&'a self, key: &'a [u8]) -> MetaSet<'a> {
        MetaSet::new(key, &self.data)
            .client_flags(self.flags)
            .ttl(self.ttl)
    }
}

/// Encodes the value a `get_or_recache` winner stores.
pub(crate) fn recache_set(
    o: CommandOptions<'_>,
    key: &[u8],
    value: &dyn ToValue,
    opts: Recache,
) -> Result<RecacheSet> {
    let (data, flags) = value.to_stored(key, o.serde)?;
    Ok(RecacheSet {
        data,
        flags,
        ttl: Expiry::from(opts.ttl).exptime(),
    })
}

/// The value of an `mg` reply that [`RecacheStep::of`] said to use.
pub(crate) fn recached<V: FromValue>(
    o: CommandOptions<'_>,
    key: &[u8],
    reply: MetaReply,
    stale: bool,
) -> Result<Recached<V>> {
    let data = reply.value.unwrap_or_default();
    let value = V::from_stored(key, data, reply.client_flags.unwrap_or(0), o.serde)?;
    Ok(Recached {
        value,
        recomputed: false,
        stale,
    })
}
