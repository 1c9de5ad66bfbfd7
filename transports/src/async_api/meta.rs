//! The meta protocol's commands as futures, and stale-while-revalidate.

use std::future::Future;
use std::time::Instant;

use memcrab_core::meta::{
    MetaArithmetic, MetaDelete, MetaGet, MetaReply, MetaRequest, MetaSet, RecacheStep,
};
use memcrab_core::serde::{FromValue, ToValue};

use super::AsyncMemcache;
use crate::error::{Error, Result};
use crate::meta_api::{
    meta_reply, recache_get, recache_set, recached, Recache, Recached, RECACHE_POLL,
};

/// The meta commands of every [`AsyncMemcache`] client: the async twin of
/// [`MetaCommands`](crate::MetaCommands), with the same replies.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> memcrab_transport::Result<()> {
/// use memcrab_core::meta::MetaGet;
/// use memcrab_transport::AsyncMetaCommands;
///
/// let client = memcrab_transport::tokio::Client::new("127.0.0.1:11211")?;
/// let reply = client.meta_get(MetaGet::new(b"k").value().ttl()).await?;
/// println!("{:?} ttl {:?}", reply.status(), reply.ttl);
/// # Ok(())
/// # }
/// ```
pub trait AsyncMetaCommands: AsyncMemcache {
    /// Sends one `mg`.
    ///
    /// # Errors
    ///
    /// A bad key or flag (nothing sent), the server's error, or a
    /// connection error.
    fn meta_get(&self, request: MetaGet<'_>) -> impl Future<Output = Result<MetaReply>> + Send {
        meta_one(self, MetaRequest::Get(request))
    }

    /// Sends one `ms`.
    ///
    /// # Errors
    ///
    /// As [`meta_get`](Self::meta_get).
    fn meta_set(&self, request: MetaSet<'_>) -> impl Future<Output = Result<MetaReply>> + Send {
        meta_one(self, MetaRequest::Set(request))
    }

    /// Sends one `md`.
    ///
    /// # Errors
    ///
    /// As [`meta_get`](Self::meta_get).
    fn meta_delete(
        &self,
        request: MetaDelete<'_>,
    ) -> impl Future<Output = Result<MetaReply>> + Send {
        meta_one(self, MetaRequest::Delete(request))
    }

    /// Sends one `ma`.
    ///
    /// # Errors
    ///
    /// As [`meta_get`](Self::meta_get).
    fn meta_arithmetic(
        &self,
        request: MetaArithmetic<'_>,
    ) -> impl Future<Output = Result<MetaReply>> + Send {
        meta_one(self, MetaRequest::Arithmetic(request))
    }

    /// Sends one `me` (the item's internals).
    ///
    /// # Errors
    ///
    /// As [`meta_get`](Self::meta_get).
    fn meta_debug(
        &self,
        key: impl AsRef<[u8]> + Send,
    ) -> impl Future<Output = Result<MetaReply>> + Send {
        async move { meta_one(self, MetaRequest::Debug { key: key.as_ref() }).await }
    }

    /// Returns the value of `key`, recomputing it with `compute` when it
    /// is missing or due for a recache, with one caller recomputing while
    /// the others get the stale value or wait (as
    /// [`MetaCommands::get_or_recache`](crate::MetaCommands::get_or_recache);
    /// waiting uses tokio's timer). `compute` returns the caller's error
    /// type `E`, which converts from [`Error`].
    ///
    /// # Errors
    ///
    /// `compute`'s error as it is; the commands' errors converted into `E`.
    fn get_or_recache<V, E, F, Fut>(
        &self,
        key: impl AsRef<[u8]> + Send,
        opts: Recache,
        compute: F,
    ) -> impl Future<Output = std::result::Result<Recached<V>, E>> + Send
    where
        V: ToValue + FromValue + Send,
        E: From<Error> + Send,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = std::result::Result<V, E>> + Send,
    {
        async move {
            let key = key.as_ref();
            let started = Instant::now();
            loop {
                let reply = self.meta_get(recache_get(key, opts)).await?;
                match RecacheStep::of(&reply, started.elapsed() >= opts.wait) {
                    RecacheStep::Use { stale } => {
                        return Ok(recached(self.command_options(), key, reply, stale)?)
                    }
                    RecacheStep::Compute { store, stale } => {
                        let value = compute().await?;
                        if store {
                            let set = recache_set(self.command_options(), key, &value, opts)?;
                            self.meta_set(set.request(key)).await?;
                        }
                        return Ok(Recached {
                            value,
                            recomputed: true,
                            stale,
                        });
                    }
                    RecacheStep::Wait => sleep(RECACHE_POLL).await,
                }
            }
        }
    }
}

impl<T: AsyncMemcache + ?Sized> AsyncMetaCommands for T {}

async fn meta_one<C: AsyncMemcache + ?Sized>(c: &C, request: MetaRequest<'_>) -> Result<MetaReply> {
    let out = c.execute_meta(&[request]).await?;
    meta_reply(&request, out)
}

#[cfg(feature = "tokio")]
async fn sleep(d: std::time::Duration) {
    ::tokio::time::sleep(d).await;
}

/// Without a runtime's timer, a wait yields once (the next `mg` is then
/// the wait).
#[cfg(not(feature = "tokio"))]
async fn sleep(_d: std::time::Duration) {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}
