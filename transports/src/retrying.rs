//! `RetryingClient`: retries any client's calls on chosen error kinds.

use std::time::Duration;

use memcrab_core::meta::MetaRequest;
use memcrab_core::Request;

use crate::api::Memcache;
use crate::blocking::{ClientOptions, Outcomes};
use crate::error::{Error, ErrorKind, Result};

/// Wraps any [`Memcache`] client and retries failed calls (pymemcache's
/// `RetryingClient`).
///
/// A call is tried up to `attempts` times, `retry_delay` apart, while its
/// error's kind is in `retry_for` (when given) and not in
/// `do_not_retry_for`. Bad input is never retried. A batch (for example a
/// `set_many`) is retried whole when any of its requests failed with a
/// retryable error: as with pymemcache, a retried `append` or `incr` may
/// apply twice if the first attempt reached the server.
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

    fn retryable(&self, e: &Error) -> bool {
        let kind = e.kind();
        kind != ErrorKind::IllegalInput
            && self.retry_for.as_ref().is_none_or(|r| r.contains(&kind))
            && !self.do_not_retry_for.contains(&kind)
    }
}

impl<C: Memcache> Memcache for RetryingClient<C> {
    fn options(&self) -> &ClientOptions {
        self.inner.options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        self.retry(|| self.inner.execute(requests))
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        self.retry(|| self.inner.execute_meta(requests))
    }
}

impl<C: Memcache> RetryingClient<C> {
    /// Runs `call` until it succeeds, fails with a kind not retried, or the
    /// attempts are used up.
    fn retry(&self, call: impl Fn() -> Result<Outcomes>) -> Result<Outcomes> {
        let mut attempt = 1;
        loop {
            let result = call();
            let failed = match &result {
                Err(e) => Some(e),
                Ok(out) => out.iter().flatten().find_map(|r| r.as_ref().err()),
            };
            match failed {
                Some(e) if attempt < self.attempts && self.retryable(e) => {
                    attempt += 1;
                    if !self.retry_delay.is_zero() {
                        std::thread::sleep(self.retry_delay);
                    }
                }
                _ => return result,
            }
        }
    }
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
