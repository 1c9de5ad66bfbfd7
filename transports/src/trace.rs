//! Tracing (cargo feature `tracing`): a span per command batch, events
//! for connects, connect failures and node health changes.
//!
//! Each batch a driver runs is one `memcrab.command` span (level INFO)
//! with fields `command` (the first request's name: `get`, `set`, `mg`,
//! …), `server` (the server names its requests went to, comma-separated,
//! where known), `keys` (how many keys the batch names), `outcome` (`ok`,
//! `partial`: some requests failed, or `error`), `error` (the first error's
//! kind) and `latency_us`. Connects are DEBUG events, connect failures
//! WARN, a node leaving the ring (`node dead`) WARN and coming back
//! (`node revived`) INFO, all with target `memcrab`.
//!
//! Without the feature every item here is an empty inline function and
//! [`CallSpan`] is a zero-sized type: nothing is recorded or computed.

use memcrab_core::cluster::{Cluster, Ticket};

use crate::blocking::Outcomes;
use crate::error::{Error, Result};

/// The span of one command batch.
#[derive(Debug)]
pub(crate) struct CallSpan {
    #[cfg(feature = "tracing")]
    on: Option<On>,
}

#[cfg(feature = "tracing")]
#[derive(Debug)]
struct On {
    span: tracing::Span,
    started: std::time::Instant,
    seen: std::sync::Mutex<Seen>,
}

/// What the batch's pieces showed so far.
#[cfg(feature = "tracing")]
#[derive(Debug, Default)]
struct Seen {
    described: bool,
    keys: usize,
    servers: String,
}

impl CallSpan {
    /// Opens the span (when a subscriber wants it).
    #[inline]
    pub(crate) fn new() -> CallSpan {
        #[cfg(feature = "tracing")]
        {
            use tracing::field::Empty;
            let span = tracing::info_span!(
                target: "memcrab",
                "memcrab.command",
                command = Empty,
                server = Empty,
                keys = Empty,
                outcome = Empty,
                error = Empty,
                latency_us = Empty,
            );
            let on = (!span.is_disabled()).then(|| On {
                span,
                started: std::time::Instant::now(),
                seen: std::sync::Mutex::default(),
            });
            CallSpan { on }
        }
        #[cfg(not(feature = "tracing"))]
        CallSpan {}
    }

    /// Records what a just submitted `ticket` is: its command, keys and
    /// the servers of its connections.
    #[inline]
    pub(crate) fn submitted(&self, cluster: &Cluster<Error>, ticket: Ticket) {
        #[cfg(feature = "tracing")]
        if let Some(on) = &self.on {
            let mut seen = on
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let seen = &mut *seen;
            if let Some((command, keys)) = cluster.describe(ticket) {
                if !seen.described {
                    on.span.record("command", command);
                    seen.described = true;
                }
                seen.keys += keys;
                on.span.record("keys", seen.keys);
            }
            let servers = &mut seen.servers;
            let before = servers.len();
            for &conn in cluster.conns_of(ticket) {
                let Some(name) = cluster.server_of(conn).and_then(|s| cluster.server_name(s))
                else {
                    continue;
                };
                if !servers.split(',').any(|n| n == name) {
                    if !servers.is_empty() {
                        servers.push(',');
                    }
                    servers.push_str(name);
                }
            }
            if servers.len() != before {
                on.span.record("server", servers.as_str());
            }
        }
        #[cfg(not(feature = "tracing"))]
        let _ = (cluster, ticket);
    }

    /// Runs `f` inside the span (a blocking driver's whole call).
    #[inline]
    pub(crate) fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        if let Some(on) = &self.on {
            return on.span.in_scope(f);
        }
        f()
    }

    /// Wraps `f` in the span (an async driver's call).
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn instrument<F: std::future::Future>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument;
            let span = self
                .on
                .as_ref()
                .map_or_else(tracing::Span::none, |on| on.span.clone());
            f.instrument(span)
        }
        #[cfg(not(feature = "tracing"))]
        f
    }

    /// Records the batch's outcome and latency; the span closes when it
    /// is dropped.
    #[inline]
    pub(crate) fn finish(&self, out: &Result<Outcomes>) {
        #[cfg(feature = "tracing")]
        if let Some(on) = &self.on {
            let first_error = match out {
                Err(e) => Some((e.kind(), "error")),
                Ok(outs) => outs
                    .iter()
                    .find_map(|o| match o {
                        Some(Err(e)) => Some(e.kind()),
                        _ => None,
                    })
                    .map(|k| (k, "partial")),
            };
            match first_error {
                None => on.span.record("outcome", "ok"),
                Some((kind, outcome)) => {
                    on.span.record("error", tracing::field::debug(kind));
                    on.span.record("outcome", outcome)
                }
            };
            let us = u64::try_from(on.started.elapsed().as_micros()).unwrap_or(u64::MAX);
            on.span.record("latency_us", us);
        }
        #[cfg(not(feature = "tracing"))]
        let _ = out;
    }
}

/// A connection to `server` opened.
#[inline]
pub(crate) fn connected(server: &dyn std::fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "memcrab", server = %server, "connected");
    #[cfg(not(feature = "tracing"))]
    let _ = server;
}

/// Connecting to `server` failed with `error`.
#[inline]
pub(crate) fn connect_failed(server: &dyn std::fmt::Display, error: &Error) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "memcrab", server = %server, error = %error, "connect failed");
    #[cfg(not(feature = "tracing"))]
    let _ = (server, error);
}

/// Watches node health for `node dead` and `node revived` events: one
/// flag per server, live or not, as last seen.
#[derive(Debug, Default)]
pub(crate) struct HealthWatch {
    #[cfg(feature = "tracing")]
    dead: Vec<bool>,
}

impl HealthWatch {
    /// Compares every server's health with what was last seen; emits an
    /// event for each change.
    #[inline]
    pub(crate) fn check(&mut self, cluster: &Cluster<Error>) {
        #[cfg(feature = "tracing")]
        {
            if !tracing::enabled!(target: "memcrab", tracing::Level::INFO) {
                return;
            }
            let router = cluster.router();
            for id in cluster.servers() {
                let dead = !router.is_live(id);
                if self.dead.len() <= id.0 {
                    self.dead.resize(id.0 + 1, false);
                }
                if self.dead[id.0] != dead {
                    self.dead[id.0] = dead;
                    let server = cluster.server_name(id).unwrap_or("?");
                    if dead {
                        tracing::warn!(target: "memcrab", server, "node dead");
                    } else {
                        tracing::info!(target: "memcrab", server, "node revived");
                    }
                }
            }
        }
        #[cfg(not(feature = "tracing"))]
        let _ = cluster;
    }
}
