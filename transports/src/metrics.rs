//! Metrics (cargo feature `metrics`), through the [`metrics`]
//! facade: install any recorder (a Prometheus exporter, …) and every
//! client reports, per command batch:
//!
//! - `memcrab_requests_total` (counter; labels `command`, `server`),
//! - `memcrab_hits_total` and `memcrab_misses_total` (counters; label
//!   `server`): the keys a get-family batch (`get`, `gets`, `gat`, `gats`,
//!   `mg`) found and did not find; a request that failed counts as an
//!   error, not as misses,
//! - `memcrab_errors_total` (counter; labels `command`, `server`, `kind`:
//!   the [`ErrorKind`](crate::ErrorKind) in `Debug` form), once per failed
//!   request,
//! - `memcrab_request_duration_seconds` (histogram; labels `command`,
//!   `server`).
//!
//! `server` is the server's name (`host:port`, or the socket path); a batch
//! spread over several servers (a `get_many` on a
//! [`HashClient`](crate::HashClient)) has their names comma-separated.
//! Without the feature nothing is compiled in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use ::metrics::{Counter, Histogram};
use memcrab_core::Reply;

use crate::blocking::Outcomes;
use crate::error::Result;
use crate::trace::Seen;

/// The registered metrics of one command on one server (registered once
/// per recorder, so a call allocates nothing).
#[derive(Debug)]
pub(crate) struct Handles {
    command: &'static str,
    server: Arc<str>,
    requests: Counter,
    duration: Histogram,
    hits: Counter,
    misses: Counter,
}

/// Per recorder (its address), per server name, per command.
type Cache = HashMap<usize, HashMap<String, HashMap<&'static str, Arc<Handles>>>>;

static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();

/// Returns the handles of `command` on `server` for the current recorder.
pub(crate) fn handles(command: &'static str, server: &str) -> Arc<Handles> {
    let recorder = ::metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize);
    let mut cache = CACHE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let by_server = cache.entry(recorder).or_default();
    if let Some(h) = by_server.get(server).and_then(|m| m.get(command)) {
        return Arc::clone(h);
    }
    let labels = [
        ("command", command.to_string()),
        ("server", server.to_string()),
    ];
    let by = [("server", server.to_string())];
    let h = Arc::new(Handles {
        command,
        server: server.into(),
        requests: ::metrics::counter!("memcrab_requests_total", &labels),
        duration: ::metrics::histogram!("memcrab_request_duration_seconds", &labels),
        hits: ::metrics::counter!("memcrab_hits_total", &by),
        misses: ::metrics::counter!("memcrab_misses_total", &by),
    });
    by_server
        .entry(server.to_string())
        .or_default()
        .insert(command, Arc::clone(&h));
    h
}

/// Records one batch.
pub(crate) fn record(seen: &Seen, out: &Result<Outcomes>, latency: Duration) {
    let Some(h) = &seen.metrics else {
        // Refused before anything was submitted (a bad key, …).
        if let Err(e) = out {
            error(seen.command, "", e);
        }
        return;
    };
    h.requests.increment(1);
    h.duration.record(latency.as_secs_f64());
    let outs = match out {
        Ok(outs) => outs,
        Err(e) => {
            error(h.command, &h.server, e);
            return;
        }
    };
    let mut failed = 0;
    for o in outs {
        if let Some(Err(e)) = o {
            failed += 1;
            error(h.command, &h.server, e);
        }
    }
    let (hits, misses) = match h.command {
        "get" | "gets" | "gat" | "gats" => {
            let hits: usize = outs
                .iter()
                .map(|o| match o {
                    Some(Ok(Reply::Values(items))) => items.len(),
                    _ => 0,
                })
                .sum();
            (hits, seen.keys.saturating_sub(hits + failed))
        }
        "mg" => outs.iter().fold((0, 0), |(h, m), o| match o {
            Some(Ok(Reply::Meta(r))) if r.is_miss() => (h, m + 1),
            Some(Ok(Reply::Meta(_))) => (h + 1, m),
            _ => (h, m),
        }),
        _ => return,
    };
    if hits > 0 {
        h.hits.increment(hits as u64);
    }
    if misses > 0 {
        h.misses.increment(misses as u64);
    }
}

fn error(command: &'static str, server: &str, e: &crate::Error) {
    let labels = [
        ("command", command.to_string()),
        ("server", server.to_string()),
        ("kind", format!("{:?}", e.kind())),
    ];
    ::metrics::counter!("memcrab_errors_total", &labels).increment(1);
}
