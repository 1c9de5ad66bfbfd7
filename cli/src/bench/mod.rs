//! `memcrab bench`: a load generator on the pipelined mio engine.
//!
//! It fills its key space first (so gets hit), then keeps `--pipeline`
//! requests in flight on each connection for `--duration` seconds (or
//! `--requests` requests), printing a progress line to stderr each second,
//! and ends with throughput and latency percentiles (an `hdrhistogram`),
//! as text or, with `--json`, as one JSON object on stdout.
//!
//! `--transport tokio` runs the same workload on the tokio client instead,
//! from `--tasks` concurrent tasks; `--verify` checks every value read
//! against the key asked for, on either transport.

use std::io::{self, IsTerminal, Write};

use crate::message;

mod engine;
mod options;
mod report;
#[cfg(feature = "tokio")]
mod tasks;
mod verify;

pub use options::{config, BenchArgs, Config, SYNOPSIS};

use options::{key_digits, Stop, Transport};
use report::Report;

/// Runs the load generator and prints its report; returns the exit status
/// (2 if `--verify` found a mismatch).
pub fn main(config: &Config) -> u8 {
    match run(config) {
        Ok(report) => {
            let mismatched = report.verify.as_ref().is_some_and(|v| v.mismatches > 0);
            let text = if config.json {
                report.json(config)
            } else {
                report.text(config)
            };
            let mut out = io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) if mismatched => 2,
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
#[derive(Clone)]
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

    /// Key `i`.
    fn key(&self, i: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.width());
        self.push(i, &mut out);
        out
    }
}

/// The value set for `key`: `--verify`'s (naming the key) or `x`s.
fn value_of(c: &Config, key: &[u8], out: &mut Vec<u8>) {
    if c.verify {
        verify::encode(key, c.value_size, out);
    } else if out.len() != c.value_size || out.first().is_some_and(|&b| b != b'x') {
        out.clear();
        out.resize(c.value_size, b'x');
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
    match c.transport {
        Transport::Mio => engine::run(c, servers, &list),
        #[cfg(feature = "tokio")]
        Transport::Tokio => tasks::run(c, servers, &list),
        #[cfg(not(feature = "tokio"))]
        Transport::Tokio => Err("this memcrab was built without the tokio transport".into()),
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
