//! `RetryingClient`: retries any client's calls on chosen error kinds.

use std::time::Duration;

use memcrab_core::command::retry::{Delivery, RetryPolicy};
use memcrab_core::command::Meaning;
use memcrab_core::meta::MetaRequest;
use memcrab_core::Request;

use crate::api::Memcache;
use crate::blocking::Outcomes;
use crate::error::{Error, ErrorKind, Result};

/// Wraps any [`Memcache`] client and retries failed calls (pymemcache's
/// `RetryingClient`).
///
/// Each request is tried up to `attempts` times, `retry_delay` apart, while
/// its error's kind is in `retry_for` (when given) and not in
/// `do_not_retry_for` — and only when sending it again is safe, as the
/// core decides ([`RetryPolicy`]): a read (`get`, `gets`, `gat`, `touch`,
/// `stats`, `version`), or a request that never reached a server
/// (connection refused, every server down, no free pool slot). A write
/// that may have been applied (`set`, `incr`, `append`, … cut off after it
/// was written) is never sent twice, unlike pymemcache, where a retried
/// `incr` may count twice. Retries are per request: in a batch (a
/// `set_many`), only the requests that failed are sent again. Bad input
/// is never retried; the server's own refusals (`SERVER_ERROR`,
/// `CLIENT_ERROR`) only when their kind is named in `retry_for`.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use memcrab_transport::{Client, ErrorKind, Memcache, RetryingClient};
///
/// let client = RetryingClient::builder(Client::new("localhost")?)
///     .attempts(3)
///     .retry_delay(Duration::from_millis(10))
///     .retry_for([ErrorKind::UnexpectedClose])
///     .build()?;
/// client.set("some_key", "some value")?;
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
pub struct RetryingClient<C> {
    inner: C,
    attempts: u32,
    retry_delay: Duration,
    retry_for: Option<Vec<ErrorKind>>,
    do_not_retry_for: Vec<ErrorKind>,
}

impl<C: Memcache> RetryingClient<C> {
    /// Wraps `inner` with pymemcache's defaults: 2 attempts, no delay,
    /// retry every kind but bad input.
    pub fn new(inner: C) -> Self {
        RetryingClient {
            inner,
            attempts: 2,
            retry_delay: Duration::ZERO,
            retry_for: None,
            do_not_retry_for: Vec::new(),
        }
    }

    /// Starts building a retrying wrapper around `inner`.
    pub fn builder(inner: C) -> RetryingBuilder<C> {
        RetryingBuilder {
            client: RetryingClient::new(inner),
        }
    }

    /// Returns the wrapped client.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Returns true if a request of `meaning` that failed with `e` is sent
    /// again.
    fn retryable(&self, meaning: Meaning, e: &Error) -> bool {
        let kind = e.kind();
        let named = |k| self.retry_for.as_ref().is_some_and(|r| r.contains(&k));
        let policy = RetryPolicy {
            server_errors: named(ErrorKind::Server),
            client_errors: named(ErrorKind::Client) || named(ErrorKind::UnknownCommand),
        };
        let delivery = if e.is_unsent() {
            Delivery::NotSent
        } else {
            Delivery::MaybeApplied
        };
        policy.may_retry(meaning, kind, delivery)
            && self.retry_for.as_ref().is_none_or(|r| r.contains(&kind))
            && !self.do_not_retry_for.contains(&kind)
    }
}

impl<C: Memcache> Memcache for RetryingClient<C> {
    fn command_options(&self) -> crate::api::CommandOptions<'_> {
        self.inner.command_options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        self.retry(requests, Meaning::of, |r| self.inner.execute(r))
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        self.retry(requests, Meaning::of_meta, |r| self.inner.execute_meta(r))
    }
}

impl<C: Memcache> RetryingClient<C> {
    /// Runs `requests`, then sends again, alone, each request whose error
    /// may be retried, until none is left or the attempts are used up.
    fn retry<R: Copy>(
        &self,
        requests: &[R],
        meaning: impl Fn(&R) -> Meaning,
        call: impl Fn(&[R]) -> Result<Outcomes>,
    ) -> Result<Outcomes> {
        let mut out = match call(requests) {
            Ok(out) => out,
            // Nothing was sent: the whole batch may go again.
            Err(e) if requests.iter().all(|r| self.retryable(meaning(r), &e)) => {
                failed(requests.len(), &e)
            }
            Err(e) => return Err(e),
        };
        let mut attempt = 1;
        while attempt < self.attempts {
            let again: Vec<usize> = (0..requests.len())
                .filter(|&i| match &out[i] {
                    Some(Err(e)) => self.retryable(meaning(&requests[i]), e),
                    _ => false,
                })
                .collect();
            if again.is_empty() {
                break;
            }
            attempt += 1;
            if !self.retry_delay.is_zero() {
                std::thread::sleep(self.retry_delay);
            }
            let subset: Vec<R> = again.iter().map(|&i| requests[i]).collect();
            let results = call(&subset).unwrap_or_else(|e| failed(subset.len(), &e));
            for (i, r) in again.into_iter().zip(results) {
                out[i] = r;
            }
        }
        Ok(out)
    }
}

/// `n` results that are each `e`.
pub(crate) fn failed(n: usize, e: &Error) -> Outcomes {
    (0..n).map(|_| Some(Err(e.clone()))).collect()
}

/// Builds a [`RetryingClient`], validating as pymemcache does.
#[derive(Debug)]
#[must_use]
pub struct RetryingBuilder<C> {
    client: RetryingClient<C>,
}

impl<C: Memcache> RetryingBuilder<C> {
    /// Sets the number of tries per call (at least 1; default 2).
    pub fn attempts(mut self, n: u32) -> Self {
        self.client.attempts = n;
        self
    }

    /// Sets the pause between tries (default none).
    pub fn retry_delay(mut self, d: Duration) -> Self {
        self.client.retry_delay = d;
        self
    }

    /// Retries only errors of these kinds.
    pub fn retry_for(mut self, kinds: impl IntoIterator<Item = ErrorKind>) -> Self {
        self.client.retry_for = Some(kinds.into_iter().collect());
        self
    }

    /// Never retries errors of these kinds.
    pub fn do_not_retry_for(mut self, kinds: impl IntoIterator<Item = ErrorKind>) -> Self {
        self.client.do_not_retry_for = kinds.into_iter().collect();
        self
    }

    /// Builds the wrapper.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `attempts` is 0 or a kind is both in
    /// `retry_for` and `do_not_retry_for`.
    pub fn build(self) -> Result<RetryingClient<C>> {
        let c = self.client;
        if c.attempts < 1 {
            return Err(Error::Config("attempts must be at least 1".into()));
        }
        if let Some(both) = c
            .retry_for
            .iter()
            .flatten()
            .find(|k| c.do_not_retry_for.contains(k))
        {
            return Err(Error::Config(format!(
                "{both:?} is in both retry_for and do_not_retry_for"
            )));
        }
        Ok(c)
    }
}
