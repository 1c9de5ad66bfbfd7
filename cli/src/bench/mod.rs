//! `memcrab bench`: a load generator on the pipelined mio engine.
//!
//! It fills its key space first (so gets hit), then keeps `--pipeline`
//! requests in flight on each connection for `--duration` seconds (or
//! `--requests` requests), printing a progress line to stderr each second,
//! and ends with throughput and latency percentiles (an `hdrhistogram`),
//! as text or, with `--json`, as one JSON object on stdout.

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::message;
use memcrab::core::{GetCommand, Limits, Reply, Request, StoreCommand};
use memcrab::mio::{DriverOptions, Engine, JobId, TrySubmitError};

mod options;
mod report;

pub use options::{config, BenchArgs, Config, SYNOPSIS};

use options::{key_digits, Stop};
use report::Report;

/// Runs the load generator and prints its report; returns the exit status.
pub fn main(config: &Config) -> u8 {
    match run(config) {
        Ok(report) => {
            let text = if config.json {
                report.json(config)
            } else {
                report.text(config)
            };
            let mut out = io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => 0,
                Err(_) => 2,
            }
        }
        Err(message) => {
            let _ = crate::output::write_message(&mut io::stderr().lock(), &message);
            2
        }
    }
}

/// A small fast random number generator (xorshift64*), seeded fixed so
/// runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// The keys: the prefix and a zero-padded number, written on demand (a
/// key space of any size costs no memory).
struct Keys {
    prefix: Vec<u8>,
    digits: usize,
}

impl Keys {
    fn new(prefix: &str, n: usize) -> Keys {
        Keys {
            prefix: prefix.as_bytes().to_vec(),
            digits: key_digits(n),
        }
    }

    /// The length of every key.
    fn width(&self) -> usize {
        self.prefix.len() + self.digits
    }

    /// Appends key `i` to `out`.
    fn push(&self, i: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        let _ = write!(out, "{i:0width$}", width = self.digits);
    }
}

/// Checks that every server answers (a `version` each), so that a server
/// that is down is reported before anything is printed.
fn probe(c: &Config, list: &[memcrab::ServerAddr]) -> Result<(), String> {
    for addr in list {
        let client = memcrab::Client::builder(addr.clone())
            .connect_timeout(c.timeout)
            .timeout(c.timeout)
            .build()
            .map_err(|e| e.to_string())?;
        if let Err(e) = memcrab::Memcache::version(&client) {
            let message = message(&e);
            let server = addr.to_string();
            return Err(if message.contains(&server) {
                message
            } else {
                format!("{message} (server {server})")
            });
        }
    }
    Ok(())
}

fn run(c: &Config) -> Result<Report, String> {
    let servers = crate::args::server_list_text(c.servers.as_deref());
    let list = memcrab::address::parse_server_list(&servers).map_err(|e| e.to_string())?;
    probe(c, &list)?;
    let limits = Limits {
        max_item_size: c.value_size.max(Limits::default().max_item_size),
        ..Limits::default()
    };
    let engine = |depth: usize, merge: usize| {
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
        for s in &list {
            builder = builder.server(s);
        }
        builder.build().map_err(|e| message(&e))
    };
    let keys = Keys::new(&c.key_prefix, c.keys);
    let value = vec![b'x'; c.value_size];
    let width = keys.width();
    let mut scratch: Vec<u8> = Vec::with_capacity(width * c.multi_get);
    let in_flight_cap = c
        .connections
        .saturating_mul(c.pipeline)
        .saturating_mul(list.len());

    let started = Instant::now();
    if c.fill {
        progress_line(&format!("filling {} keys...", c.keys));
        // Filling is not measured: as deep a pipeline as it likes.
        let mut engine = engine(c.pipeline.max(64), 0)?;
        for i in 0..c.keys {
            scratch.clear();
            keys.push(i, &mut scratch);
            engine
                .submit(&set(&scratch, &value))
                .map_err(|e| format!("cannot fill the key space: {e}"))?;
            while let Some((_, r)) = engine.poll() {
                r.map_err(|e| format!("cannot fill the key space: {}", message(&e)))?;
            }
        }
        for (_, r) in engine.finish().map_err(|e| message(&e))? {
            r.map_err(|e| format!("cannot fill the key space: {}", message(&e)))?;
        }
    }
    let fill = started.elapsed();
    let mut engine = engine(c.pipeline, c.merge_gets)?;

    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut starts: VecDeque<Option<(Instant, u32)>> = VecDeque::new();
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
    };
    let mut outstanding = 0usize;
    let mut sent = 0u64;
    let begin = Instant::now();
    let mut next_progress = begin + Duration::from_secs(1);
    let mut last = (begin, 0u64);
    let total = c.get + c.set;
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
                for _ in 0..n {
                    keys.push(rng.below(c.keys), &mut scratch);
                }
                let key_refs: Vec<&[u8]> = scratch.chunks(width).collect();
                let request = if is_get {
                    Request::Get {
                        command: GetCommand::Get,
                        keys: &key_refs,
                    }
                } else {
                    set(key_refs[0], &value)
                };
                match engine.try_submit(&request) {
                    Ok(job) => {
                        let at = (job.0 - base) as usize;
                        if starts.len() <= at {
                            starts.resize(at + 1, None);
                        }
                        starts[at] = Some((now, n as u32));
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
            let Some((at, n)) = slot.take() else {
                continue;
            };
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
                    r.misses += n as u64 - (items.len() as u64).min(n as u64);
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
    progress_end();
    Ok(r)
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

/// Prints a progress line to stderr (over the last one on a terminal).
fn progress_line(line: &str) {
    let mut err = io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(err, "\r\x1b[2K{line}");
    } else {
        let _ = writeln!(err, "{line}");
    }
    let _ = err.flush();
}

fn progress_end() {
    let mut err = io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(err, "\r\x1b[2K");
    }
}
