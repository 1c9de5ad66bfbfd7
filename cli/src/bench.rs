//! `memcrab bench`: a load generator on the pipelined mio engine.
//!
//! It fills its key space first (so gets hit), then keeps `--pipeline`
//! requests in flight on each connection for `--duration` seconds (or
//! `--requests` requests), printing a progress line to stderr each second,
//! and ends with throughput and latency percentiles (an `hdrhistogram`),
//! as text or, with `--json`, as one JSON object on stdout.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use memcrab::core::{GetCommand, Reply, Request, StoreCommand};
use memcrab::mio::{DriverOptions, Engine, JobId, TrySubmitError};
use memcrab::{Distribution, Protocol};

use crate::message;

/// The help of `memcrab bench --help`.
pub const HELP: &str = "\
memcrab bench: a load generator on memcrab's pipelined engine

Usage: memcrab [--servers LIST] bench [OPTIONS]

Fills the key space with --value-size byte values, then sends a GET:SET
mix of requests over every connection with up to --pipeline requests in
flight on each, for --duration seconds or --requests requests, printing a
progress line to stderr each second; then prints throughput and latency
percentiles (from submit to reply).

Options:
  --servers LIST       comma-separated servers (default: $MEMCACHED_SERVERS,
                       then localhost:11211); keys are spread by --hash
  --hash HASH          rendezvous (default), ketama-md5, ketama-fnv1a64
  --connections N      connections per server (default 1)
  --pipeline N         requests in flight per connection (default 1)
  --value-size BYTES   size of the values set (default 100)
  --keys N             size of the key space (default 10000)
  --ratio GET:SET      mix of gets and sets (default 9:1)
  --multi-get N        keys per get (default 1)
  --duration SECONDS   how long to run (default 10), or
  --requests N         how many requests to send
  --protocol PROTOCOL  text (default) or meta
  --merge-gets N       merge concurrent single-key gets to one server into
                       gets of up to N keys (default off)
  --key-prefix TEXT    prefix of the keys (default 'memcrab-bench:')
  --no-fill            do not fill the key space first
  --timeout SECONDS    reply timeout (default 5)
  --json               print one JSON object on stdout instead of text
  -h, --help           print this help and exit
";

const USAGE: &str = "usage: memcrab [--servers LIST] bench [--connections N] [--pipeline N] \
     [--value-size BYTES] [--keys N] [--ratio GET:SET] [--multi-get N] \
     [--duration SECONDS | --requests N] [--protocol text|meta] [--json]; see 'memcrab bench --help'";

/// Options of the global command line that `bench` understands, each with
/// a value.
const GLOBAL: &[&str] = &["--servers", "--hash", "--protocol", "--timeout"];

/// If the command is `bench`, runs it and returns the exit status.
///
/// Global options before `bench` (`--servers`, `--hash`, `--protocol`,
/// `--timeout`) count as if given after it.
pub fn dispatch(argv: &[OsString]) -> Option<u8> {
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].to_string_lossy();
        if arg == "bench" {
            let mut args: Vec<OsString> = argv[..i].to_vec();
            args.extend_from_slice(&argv[i + 1..]);
            return Some(main(args));
        }
        let name = arg.split('=').next().unwrap_or_default();
        if GLOBAL.contains(&name) && !arg.contains('=') {
            i += 2;
        } else if arg.starts_with("--") && GLOBAL.contains(&name) {
            i += 1;
        } else {
            return None;
        }
    }
    None
}

/// What to stop at.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stop {
    Duration(Duration),
    Requests(u64),
}

/// The parsed options.
#[derive(Clone, Debug)]
struct Config {
    servers: Option<String>,
    distribution: Distribution,
    connections: usize,
    pipeline: usize,
    value_size: usize,
    keys: usize,
    get: u32,
    set: u32,
    multi_get: usize,
    stop: Stop,
    protocol: Protocol,
    merge_gets: usize,
    key_prefix: String,
    fill: bool,
    timeout: Duration,
    json: bool,
}

enum Parsed {
    Help,
    Run(Config),
}

fn parse(args: Vec<OsString>) -> Result<Parsed, String> {
    let mut c = Config {
        servers: None,
        distribution: Distribution::Rendezvous,
        connections: 1,
        pipeline: 1,
        value_size: 100,
        keys: 10_000,
        get: 9,
        set: 1,
        multi_get: 1,
        stop: Stop::Duration(Duration::from_secs(10)),
        protocol: Protocol::Text,
        merge_gets: 0,
        key_prefix: "memcrab-bench:".into(),
        fill: true,
        timeout: Duration::from_secs(5),
        json: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|a| format!("invalid argument {a:?}"))?;
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .and_then(|v| v.into_string().ok())
                    .ok_or_else(|| format!("option {name} needs a value")),
            }
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => c.json = true,
            "--no-fill" => c.fill = false,
            "--servers" => c.servers = Some(value()?),
            "--hash" => {
                c.distribution = match value()?.as_str() {
                    "rendezvous" => Distribution::Rendezvous,
                    "ketama-md5" => Distribution::KetamaMd5,
                    "ketama-fnv1a64" => Distribution::KetamaFnv1a64,
                    v => return Err(format!("invalid value for --hash: {v:?}")),
                }
            }
            "--protocol" => {
                c.protocol = match value()?.as_str() {
                    "text" => Protocol::Text,
                    "meta" => Protocol::Meta,
                    v => return Err(format!("invalid value for --protocol: {v:?}")),
                }
            }
            "--connections" => c.connections = positive(&name, &value()?)?,
            "--pipeline" => c.pipeline = positive(&name, &value()?)?,
            "--value-size" => c.value_size = number(&name, &value()?)?,
            "--keys" => c.keys = positive(&name, &value()?)?,
            "--multi-get" => c.multi_get = positive(&name, &value()?)?,
            "--merge-gets" => c.merge_gets = number(&name, &value()?)?,
            "--key-prefix" => c.key_prefix = value()?,
            "--ratio" => {
                let v = value()?;
                let bad = || format!("invalid value for --ratio: {v:?} (want GET:SET, e.g. 9:1)");
                let (g, s) = v.split_once(':').ok_or_else(bad)?;
                c.get = g.parse().map_err(|_| bad())?;
                c.set = s.parse().map_err(|_| bad())?;
                if c.get + c.set == 0 {
                    return Err(bad());
                }
            }
            "--duration" => c.stop = Stop::Duration(seconds(&name, &value()?)?),
            "--requests" => c.stop = Stop::Requests(positive(&name, &value()?)? as u64),
            "--timeout" => c.timeout = seconds(&name, &value()?)?,
            _ => return Err(format!("unknown option {arg:?} for bench")),
        }
    }
    Ok(Parsed::Run(c))
}

fn number(name: &str, v: &str) -> Result<usize, String> {
    v.parse()
        .map_err(|_| format!("invalid value for {name}: {v:?}"))
}

fn positive(name: &str, v: &str) -> Result<usize, String> {
    match number(name, v)? {
        0 => Err(format!("{name} must be at least 1")),
        n => Ok(n),
    }
}

fn seconds(name: &str, v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("invalid value for {name}: {v:?}"))
}

fn main(args: Vec<OsString>) -> u8 {
    let config = match parse(args) {
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return 0;
        }
        Ok(Parsed::Run(c)) => c,
        Err(message) => {
            eprintln!("memcrab: {message}\n{USAGE}");
            return 2;
        }
    };
    match run(&config) {
        Ok(report) => {
            let text = if config.json {
                report.json(&config)
            } else {
                report.text(&config)
            };
            let mut out = io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => 0,
                Err(_) => 2,
            }
        }
        Err(message) => {
            eprintln!("memcrab: {message}");
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

/// What a run measured.
struct Report {
    servers: String,
    requests: u64,
    keys: u64,
    errors: u64,
    misses: u64,
    elapsed: Duration,
    fill: Duration,
    hist: Histogram<u64>,
    first_error: Option<String>,
}

/// The keys, formatted once.
struct Keys {
    bytes: Vec<u8>,
    width: usize,
}

impl Keys {
    fn new(prefix: &str, n: usize) -> Keys {
        let digits = n.saturating_sub(1).max(1).ilog10() as usize + 1;
        let width = prefix.len() + digits;
        let mut bytes = Vec::with_capacity(width * n);
        for i in 0..n {
            bytes.extend_from_slice(format!("{prefix}{i:0digits$}").as_bytes());
        }
        Keys { bytes, width }
    }

    fn get(&self, i: usize) -> &[u8] {
        &self.bytes[i * self.width..(i + 1) * self.width]
    }
}

fn run(c: &Config) -> Result<Report, String> {
    let servers = match (&c.servers, std::env::var("MEMCACHED_SERVERS")) {
        (Some(s), _) => s.clone(),
        (None, Ok(s)) if !s.trim().is_empty() => s,
        _ => "localhost:11211".into(),
    };
    let list = memcrab::address::parse_server_list(&servers).map_err(|e| e.to_string())?;
    let engine = |depth: usize, merge: usize| {
        let mut builder = Engine::builder()
            .connections(c.connections)
            .depth(depth)
            .merge_gets(merge)
            .options(DriverOptions {
                timeout: Some(c.timeout),
                protocol: c.protocol,
                distribution: c.distribution,
                ..DriverOptions::default()
            });
        for s in &list {
            builder = builder.server(s);
        }
        builder.build().map_err(|e| message(&e))
    };
    let keys = Keys::new(&c.key_prefix, c.keys);
    let value = vec![b'x'; c.value_size];
    let in_flight_cap = c.connections * c.pipeline * list.len();

    let started = Instant::now();
    if c.fill {
        progress_line(&format!("filling {} keys...", c.keys));
        // Filling is not measured: as deep a pipeline as it likes.
        let mut engine = engine(c.pipeline.max(64), 0)?;
        for i in 0..c.keys {
            engine
                .submit(&set(keys.get(i), &value))
                .map_err(|e| format!("cannot fill the key space: {}", message(&e)))?;
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
    let mut key_refs: Vec<&[u8]> = Vec::with_capacity(c.multi_get);
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
                key_refs.clear();
                let n = if is_get { c.multi_get } else { 1 };
                for _ in 0..n {
                    key_refs.push(keys.get(rng.below(c.keys)));
                }
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

impl Report {
    fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }

    fn quantile_us(&self, q: f64) -> u64 {
        if self.hist.is_empty() {
            0
        } else {
            self.hist.value_at_quantile(q)
        }
    }

    fn text(&self, c: &Config) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "memcrab bench: {} ({} connection(s) per server, pipeline {}, {} protocol)",
            self.servers,
            c.connections,
            c.pipeline,
            protocol_name(c.protocol)
        );
        let _ = writeln!(
            s,
            "workload:   {} keys, {}-byte values, GET:SET {}:{}, {} key(s) per get{}",
            c.keys,
            c.value_size,
            c.get,
            c.set,
            c.multi_get,
            if c.merge_gets > 1 {
                format!(", gets merged up to {}", c.merge_gets)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "requests:   {} in {:.2} s, {} errors, {} misses (fill took {:.2} s)",
            self.requests,
            self.secs(),
            self.errors,
            self.misses,
            self.fill.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "throughput: {:.0} ops/s, {:.0} keys/s",
            self.requests as f64 / self.secs(),
            self.keys as f64 / self.secs()
        );
        let _ = writeln!(
            s,
            "latency:    p50 {} us, p90 {} us, p99 {} us, p99.9 {} us, max {} us",
            self.quantile_us(0.5),
            self.quantile_us(0.9),
            self.quantile_us(0.99),
            self.quantile_us(0.999),
            self.hist.max()
        );
        if let Some(e) = &self.first_error {
            let _ = writeln!(s, "first error: {e}");
        }
        s
    }

    fn json(&self, c: &Config) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "{{\"ops_per_sec\":{:.1},\"keys_per_sec\":{:.1},\"requests\":{},\"errors\":{},\
             \"misses\":{},\"duration_s\":{:.3},\"latency_us\":{{\"p50\":{},\"p90\":{},\
             \"p99\":{},\"p999\":{},\"max\":{},\"mean\":{:.1}}},\"config\":{{\"servers\":{},\
             \"connections\":{},\"pipeline\":{},\"value_size\":{},\"keys\":{},\"ratio\":\"{}:{}\",\
             \"multi_get\":{},\"merge_gets\":{},\"protocol\":\"{}\"}}",
            self.requests as f64 / self.secs(),
            self.keys as f64 / self.secs(),
            self.requests,
            self.errors,
            self.misses,
            self.secs(),
            self.quantile_us(0.5),
            self.quantile_us(0.9),
            self.quantile_us(0.99),
            self.quantile_us(0.999),
            self.hist.max(),
            if self.hist.is_empty() {
                0.0
            } else {
                self.hist.mean()
            },
            json_string(&self.servers),
            c.connections,
            c.pipeline,
            c.value_size,
            c.keys,
            c.get,
            c.set,
            c.multi_get,
            c.merge_gets,
            protocol_name(c.protocol),
        );
        if let Some(e) = &self.first_error {
            let _ = write!(s, ",\"first_error\":{}", json_string(e));
        }
        s.push_str("}\n");
        s
    }
}

fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Meta => "meta",
        _ => "text",
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
