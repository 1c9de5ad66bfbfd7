//! Observability of commands: tracing (cargo feature `tracing`) and
//! metrics (cargo feature `metrics`).
//!
//! Each batch a driver runs is one `memcrab.command` span (level INFO)
//! with fields `command` (the first request's name: `get`, `set`, `mg`,
//! …), `server` (the server names its requests went to, comma-separated,
//! where known), `keys` (how many keys the batch names), `outcome` (`ok`,
//! `partial`: some requests failed, or `error`), `error` (the first error's
//! kind) and `latency_us`. Connects are DEBUG events, connect failures
//! WARN, a node leaving the ring (`node dead`) WARN and coming back
//! (`node revived`) INFO, all with target `memcrab`. The metrics are
//! described in the `metrics` module.
//!
//! Without either feature every item here is an empty inline function and
//! [`CallSpan`] is a zero-sized type: nothing is recorded or computed.

use memcrab_core::cluster::{Cluster, Ticket};

use crate::blocking::Outcomes;
use crate::error::{Error, Result};

/// The span (and metrics) of one command batch.
#[derive(Debug)]
pub(crate) struct CallSpan {
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    on: Option<On>,
}

#[cfg(any(feature = "tracing", feature = "metrics"))]
#[derive(Debug)]
struct On {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    started: std::time::Instant,
    seen: std::sync::Mutex<Seen>,
}

/// What the batch's pieces showed so far.
#[cfg(any(feature = "tracing", feature = "metrics"))]
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// The first request's command name ("" before submission).
    pub(crate) command: &'static str,
    /// Keys named by the batch.
    pub(crate) keys: usize,
    /// The servers its requests went to.
    nodes: smallvec::SmallVec<[memcrab_core::router::NodeId; 4]>,
    /// Their names, comma-separated (built only when needed).
    servers: String,
    /// The batch's metric handles.
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Option<std::sync::Arc<crate::metrics::Handles>>,
}

impl CallSpan {
    /// Opens the span (when a subscriber wants it, or metrics are on).
    #[inline]
    pub(crate) fn new() -> CallSpan {
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        {
            #[cfg(feature = "tracing")]
            let span = {
                use tracing::field::Empty;
                tracing::info_span!(
                    target: "memcrab",
                    "memcrab.command",
                    command = Empty,
                    server = Empty,
                    keys = Empty,
                    outcome = Empty,
                    error = Empty,
                    latency_us = Empty,
                )
            };
            #[cfg(all(feature = "tracing", not(feature = "metrics")))]
            let wanted = !span.is_disabled();
            #[cfg(feature = "metrics")]
            let wanted = true;
            let on = wanted.then(|| On {
                #[cfg(feature = "tracing")]
                span,
                started: std::time::Instant::now(),
                seen: std::sync::Mutex::default(),
            });
            CallSpan { on }
        }
        #[cfg(not(any(feature = "tracing", feature = "metrics")))]
        CallSpan {}
    }

    /// Records what a just submitted `ticket` is: its command, keys and
    /// the servers of its connections.
    #[inline]
    pub(crate) fn submitted(&self, cluster: &Cluster<Error>, ticket: Ticket) {
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        if let Some(on) = &self.on {
            let mut seen = on
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let seen = &mut *seen;
            if let Some((command, keys)) = cluster.describe(ticket) {
                if seen.command.is_empty() {
                    seen.command = command;
                    #[cfg(feature = "tracing")]
                    on.span.record("command", command);
                }
                seen.keys += keys;
                #[cfg(feature = "tracing")]
                on.span.record("keys", seen.keys);
            }
            let before = seen.nodes.len();
            for &conn in cluster.conns_of(ticket) {
                if let Some(node) = cluster.server_of(conn) {
                    if !seen.nodes.contains(&node) {
                        seen.nodes.push(node);
                    }
                }
            }
            if seen.nodes.len() == before && before > 0 {
                return;
            }
            #[cfg(feature = "tracing")]
            let traced = !on.span.is_disabled();
            #[cfg(not(feature = "tracing"))]
            let traced = false;
            let name = |n| cluster.server_name(n).unwrap_or("?");
            if traced || seen.nodes.len() > 1 {
                seen.servers.clear();
                for (i, &n) in seen.nodes.iter().enumerate() {
                    if i > 0 {
                        seen.servers.push(',');
                    }
                    seen.servers.push_str(name(n));
                }
            }
            #[cfg(feature = "tracing")]
            if traced {
                on.span.record("server", seen.servers.as_str());
            }
            #[cfg(feature = "metrics")]
            {
                let server = match seen.nodes[..] {
                    [one] => name(one),
                    _ => seen.servers.as_str(),
                };
                seen.metrics = Some(crate::metrics::handles(seen.command, server));
            }
        }
        #[cfg(not(any(feature = "tracing", feature = "metrics")))]
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

    /// Records the batch's outcome and latency (and its metrics); the span
    /// closes when it is dropped.
    #[inline]
    pub(crate) fn finish(&self, out: &Result<Outcomes>) {
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        if let Some(on) = &self.on {
            let latency = on.started.elapsed();
            let seen = on
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            #[cfg(feature = "metrics")]
            crate::metrics::record(&seen, out, latency);
            #[cfg(feature = "tracing")]
            {
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
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                on.span.record("latency_us", us);
            }
            drop(seen);
        }
        #[cfg(not(any(feature = "tracing", feature = "metrics")))]
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
