//! `--transport mio` (the default): the pipelined engine, one thread,
//! `--pipeline` requests in flight per connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use memcrab::core::{GetCommand, Limits, Reply, Request, StoreCommand};
use memcrab::mio::{DriverOptions, Engine, JobId, TrySubmitError};

use super::verify::Verifier;
use super::{message, progress_end, progress_line, value_of, Config, Keys, Report, Rng, Stop};

/// A request in flight: when it was sent, its keys, and (with `--verify`)
/// which keys.
struct Pending {
    at: Instant,
    n: u32,
    keys: Vec<usize>,
}

/// The engine of a run: `depth` requests in flight per connection, gets
/// merged up to `merge` keys.
fn engine(
    c: &Config,
    list: &[memcrab::ServerAddr],
    depth: usize,
    merge: usize,
) -> Result<Engine, String> {
    let limits = Limits {
        max_item_size: c.value_size.max(Limits::default().max_item_size),
        ..Limits::default()
    };
    let mut builder = Engine::builder()
        .connections(c.connections)
        .depth(depth)
        .merge_gets(merge)
        .options(DriverOptions {
            timeout: Some(c.timeout),
            protocol: c.protocol,
            distribution: c.distribution,
            limits,
            ..DriverOptions::default()
        });
    for s in list {
        builder = builder.server(s);
    }
    builder.build().map_err(|e| message(&e))
}

/// Fills the key space (unless `--no-fill`), pipelined on an engine
/// whatever the transport; returns how long it took.
pub(super) fn fill(c: &Config, list: &[memcrab::ServerAddr]) -> Result<Duration, String> {
    let started = Instant::now();
    if c.fill {
        let keys = Keys::new(&c.key_prefix, c.keys);
        let mut value = Vec::new();
        let mut key = Vec::with_capacity(keys.width());
        progress_line(&format!("filling {} keys...", c.keys));
        // Filling is not measured: as deep a pipeline as it likes.
        let mut engine = engine(c, list, c.pipeline.max(64), 0)?;
        for i in 0..c.keys {
            key.clear();
            keys.push(i, &mut key);
            value_of(c, &key, &mut value);
            engine
                .submit(&set(&key, &value))
                .map_err(|e| format!("cannot fill the key space: {e}"))?;
            while let Some((_, r)) = engine.poll() {
                r.map_err(|e| format!("cannot fill the key space: {}", message(&e)))?;
            }
        }
        for (_, r) in engine.finish().map_err(|e| message(&e))? {
            r.map_err(|e| format!("cannot fill the key space: {}", message(&e)))?;
        }
    }
    Ok(started.elapsed())
}

pub(super) fn run(
    c: &Config,
    servers: String,
    list: &[memcrab::ServerAddr],
) -> Result<Report, String> {
    let keys = Keys::new(&c.key_prefix, c.keys);
    let mut value = Vec::new();
    let width = keys.width();
    let mut scratch: Vec<u8> = Vec::with_capacity(width * c.multi_get);
    let in_flight_cap = c
        .connections
        .saturating_mul(c.pipeline)
        .saturating_mul(list.len());
    let fill = fill(c, list)?;
    let mut engine = engine(c, list, c.pipeline, c.merge_gets)?;

    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut starts: VecDeque<Option<Pending>> = VecDeque::new();
    let mut verifier = c.verify.then(|| Verifier::new(c.value_size));
    let mut base = 0u64;
    let mut r = Report {
        servers,
        requests: 0,
        keys: 0,
        errors: 0,
        misses: 0,
        elapsed: Duration::ZERO,
        fill,
        hist: hist.clone(),
        first_error: None,
        verify: None,
    };
    let mut outstanding = 0usize;
    let mut sent = 0u64;
    let begin = Instant::now();
    let mut next_progress = begin + Duration::from_secs(1);
    let mut last = (begin, 0u64);
    let total = c.get + c.set;
    let mut picked: Vec<usize> = Vec::with_capacity(c.multi_get);
    loop {
        let now = Instant::now();
        let stopping = match c.stop {
            Stop::Duration(d) => now >= begin + d,
            Stop::Requests(n) => sent >= n,
        };
        if stopping && outstanding == 0 {
            break;
        }
        if !stopping {
            while outstanding < in_flight_cap {
                if let Stop::Requests(n) = c.stop {
                    if sent >= n {
                        break;
                    }
                }
                let is_get = (rng.next() % u64::from(total)) < u64::from(c.get);
                let n = if is_get { c.multi_get } else { 1 };
                scratch.clear();
                picked.clear();
                for _ in 0..n {
                    let i = rng.below(c.keys);
                    keys.push(i, &mut scratch);
                    picked.push(i);
                }
                let key_refs: Vec<&[u8]> = scratch.chunks(width).collect();
                let request = if is_get {
                    Request::Get {
                        command: GetCommand::Get,
                        keys: &key_refs,
                    }
                } else {
                    value_of(c, key_refs[0], &mut value);
                    set(key_refs[0], &value)
                };
                match engine.try_submit(&request) {
                    Ok(job) => {
                        let at = (job.0 - base) as usize;
                        if starts.len() <= at {
                            starts.resize_with(at + 1, || None);
                        }
                        starts[at] = Some(Pending {
                            at: now,
                            n: n as u32,
                            keys: if c.verify && is_get {
                                picked.clone()
                            } else {
                                Vec::new()
                            },
                        });
                        outstanding += 1;
                        sent += 1;
                    }
                    Err(TrySubmitError::Busy) => break,
                    Err(TrySubmitError::Failed(e)) => {
                        r.errors += 1;
                        r.requests += 1;
                        sent += 1;
                        r.first_error.get_or_insert_with(|| message(&e));
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        engine
            .wait(Some(Duration::from_millis(100)))
            .map_err(|e| e.to_string())?;
        let done_at = Instant::now();
        while let Some((JobId(job), result)) = engine.poll() {
            outstanding -= 1;
            let Some(slot) = starts.get_mut((job - base) as usize) else {
                continue;
            };
            let Some(Pending { at, n, keys: asked }) = slot.take() else {
                continue;
            };
            // Every value read is checked, counted in the figures or not.
            if let (Some(v), Ok(Reply::Values(items))) = (verifier.as_mut(), &result) {
                check(v, &keys, &asked, items);
            }
            let counted = match c.stop {
                Stop::Duration(d) => done_at <= begin + d,
                Stop::Requests(_) => true,
            };
            if !counted {
                continue;
            }
            r.requests += 1;
            r.keys += u64::from(n);
            let us = done_at.duration_since(at).as_micros() as u64;
            hist.saturating_record(us.max(1));
            match result {
                Ok(Reply::Values(items)) => {
                    r.misses += u64::from(n) - (items.len() as u64).min(u64::from(n));
                }
                Ok(_) => {}
                Err(e) => {
                    r.errors += 1;
                    r.first_error.get_or_insert_with(|| message(&e));
                }
            }
        }
        while starts.front().is_some_and(Option::is_none) {
            starts.pop_front();
            base += 1;
        }
        if done_at >= next_progress {
            let secs = done_at.duration_since(last.0).as_secs_f64();
            progress_line(&format!(
                "[{:>4.0}s] {:>10.0} ops/s  p99 {} us  errors {}",
                done_at.duration_since(begin).as_secs_f64(),
                (r.requests - last.1) as f64 / secs,
                hist.value_at_quantile(0.99),
                r.errors
            ));
            last = (done_at, r.requests);
            next_progress = done_at + Duration::from_secs(1);
        }
    }
    r.elapsed = match c.stop {
        Stop::Duration(d) => d.min(begin.elapsed()),
        Stop::Requests(_) => begin.elapsed(),
    };
    r.hist = hist;
    r.verify = verifier;
    progress_end();
    Ok(r)
}

/// Checks the items of a get of the keys numbered `asked`.
fn check(v: &mut Verifier, keys: &Keys, asked: &[usize], items: &[memcrab::core::Item]) {
    if let [one] = asked {
        let key = keys.key(*one);
        for item in items {
            if !item.key.is_empty() && item.key[..] != key[..] {
                v.item(std::slice::from_ref(&key), &item.key, &item.value);
            } else {
                v.single(&key, &item.value);
            }
        }
        return;
    }
    let asked: Vec<Vec<u8>> = asked.iter().map(|&i| keys.key(i)).collect();
    for item in items {
        v.item(&asked, &item.key, &item.value);
    }
}

fn set<'a>(key: &'a [u8], value: &'a [u8]) -> Request<'a> {
    Request::Store {
        command: StoreCommand::Set,
        key,
        value,
        flags: 0,
        exptime: 0,
        noreply: false,
    }
}
