//! `memcrab bench`'s options: their clap definitions, their limits, and
//! the checked [`Config`] a run starts from.
//!
//! Every number has a limit named in its message, so no option can make
//! the load generator allocate without bound, overflow, or panic: a run
//! that cannot be done is refused with one line and exit 2 before any
//! connection.

use std::ffi::OsString;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::Args;
use memcrab::core::{KeyPolicy, MAX_KEY_LENGTH};
use memcrab::{Distribution, Protocol};

use crate::args::{seconds, Choice, Cli, Hash, PROTOCOLS};

/// The arguments of `bench`, as its usage shows them.
pub const SYNOPSIS: &str = "[--connections N] [--pipeline N] \
     [--value-size BYTES] [--keys N] [--ratio GET:SET] [--multi-get N] \
     [--duration SECONDS | --requests N] [--protocol text|meta] [--json] [--verify] \
     [--transport mio|tokio] [--tasks N]";

/// Most connections per server.
pub const MAX_CONNECTIONS: usize = 1024;
/// Most requests in flight per connection.
pub const MAX_PIPELINE: usize = 65_536;
/// Largest value: memcached's own ceiling for `-I` (1 GiB).
pub const MAX_VALUE_SIZE: usize = 1 << 30;
/// Largest key space.
pub const MAX_KEYS: usize = 1_000_000_000;
/// Most keys in one get.
pub const MAX_MULTI_GET: usize = 10_000;
/// Most keys in one merged get.
pub const MAX_MERGE_GETS: usize = 10_000;
/// Largest part of `--ratio`.
pub const MAX_RATIO: u32 = 1_000_000;
/// Most concurrent tasks of the tokio transport.
pub const MAX_TASKS: usize = 65_536;
/// Most reply bytes that may be in memory at once: connections × servers
/// × pipeline × keys per get × value size (4 GiB).
pub const MAX_IN_FLIGHT_BYTES: u128 = 4 << 30;

/// `memcrab bench [OPTIONS]`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Comma-separated servers (default: $MEMCACHED_SERVERS, then
    /// localhost:11211); keys are spread by --hash.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    servers: Option<String>,
    /// rendezvous (default), ketama-md5, ketama-fnv1a64.
    #[arg(long, value_name = "HASH", allow_hyphen_values = true,
          value_parser = Choice::new("--hash", Hash::NAMES))]
    hash: Option<Hash>,
    /// Connections per server (1 to 1024).
    #[arg(long, value_name = "N", default_value = "1",
          value_parser = whole("--connections", 1, MAX_CONNECTIONS))]
    connections: usize,
    /// Requests in flight per connection (1 to 65536).
    #[arg(long, value_name = "N", default_value = "1",
          value_parser = whole("--pipeline", 1, MAX_PIPELINE))]
    pipeline: usize,
    /// Size of the values set (0 to 1073741824).
    #[arg(long, value_name = "BYTES", default_value = "100",
          value_parser = whole("--value-size", 0, MAX_VALUE_SIZE))]
    value_size: usize,
    /// Size of the key space (1 to 1000000000).
    #[arg(long, value_name = "N", default_value = "10000",
          value_parser = whole("--keys", 1, MAX_KEYS))]
    keys: usize,
    /// Mix of gets and sets (default 9:1).
    #[arg(
        long,
        value_name = "GET:SET",
        default_value = "9:1",
        allow_hyphen_values = true
    )]
    ratio: String,
    /// Keys per get (1 to 10000).
    #[arg(long, value_name = "N", default_value = "1",
          value_parser = whole("--multi-get", 1, MAX_MULTI_GET))]
    multi_get: usize,
    /// How long to run (default 10, at most 86400).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true,
          value_parser = seconds("--duration"), overrides_with = "requests")]
    duration: Option<Duration>,
    /// How many requests to send, instead of --duration.
    #[arg(long, value_name = "N", value_parser = whole("--requests", 1, usize::MAX),
          overrides_with = "duration")]
    requests: Option<usize>,
    /// text (default) or meta.
    #[arg(long, value_name = "PROTOCOL", allow_hyphen_values = true,
          value_parser = Choice::new("--protocol", PROTOCOLS))]
    protocol: Option<Protocol>,
    /// Merge concurrent single-key gets to one server into gets of up to N
    /// keys (default off; at most 10000). With --transport tokio, any N
    /// over 1 turns the client's merging on (its own limit applies).
    #[arg(long, value_name = "N", default_value = "0",
          value_parser = whole("--merge-gets", 0, MAX_MERGE_GETS))]
    merge_gets: usize,
    /// Prefix of the keys.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "memcrab-bench:",
        allow_hyphen_values = true
    )]
    key_prefix: String,
    /// Do not fill the key space first.
    #[arg(long)]
    no_fill: bool,
    /// Reply timeout in seconds (default 5, at most 86400).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true,
          value_parser = seconds("--timeout"))]
    timeout: Option<Duration>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Write values that name their key and a checksum, check every value
    /// read against the key asked for; mismatches are counted, printed,
    /// and make the exit status 2.
    #[arg(long)]
    verify: bool,
    /// mio (default: the pipelined engine, one thread) or tokio (the async
    /// client, --tasks concurrent tasks).
    #[arg(long, value_name = "TRANSPORT", allow_hyphen_values = true,
          value_parser = Choice::new("--transport", TRANSPORTS))]
    transport: Option<Transport>,
    /// Concurrent tasks of --transport tokio, one request in flight each
    /// (default 1, at most 65536).
    #[arg(long, value_name = "N", value_parser = whole("--tasks", 1, MAX_TASKS))]
    tasks: Option<usize>,
    #[arg(hide = true)]
    extra: Vec<OsString>,
}

/// What drives the load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// The pipelined mio engine: `--pipeline` requests in flight per
    /// connection, one thread.
    #[default]
    Mio,
    /// The tokio client: `--tasks` tasks, one request in flight each.
    Tokio,
}

impl Transport {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Mio => "mio",
            Transport::Tokio => "tokio",
        }
    }
}

/// Every value of `--transport`.
const TRANSPORTS: &[(&str, Transport)] = &[("mio", Transport::Mio), ("tokio", Transport::Tokio)];

/// What to stop at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    /// After this long.
    Duration(Duration),
    /// After this many requests.
    Requests(u64),
}

/// A checked run.
#[derive(Clone, Debug)]
pub struct Config {
    /// `--servers` (of bench, else of the program), if given.
    pub servers: Option<String>,
    /// `--hash`.
    pub distribution: Distribution,
    /// Connections per server.
    pub connections: usize,
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// Bytes of each value set.
    pub value_size: usize,
    /// Keys in the key space.
    pub keys: usize,
    /// The GET part of `--ratio`.
    pub get: u32,
    /// The SET part of `--ratio`.
    pub set: u32,
    /// Keys per get.
    pub multi_get: usize,
    /// `--duration` or `--requests`.
    pub stop: Stop,
    /// `--protocol`.
    pub protocol: Protocol,
    /// Most keys of a merged get (0: no merging).
    pub merge_gets: usize,
    /// What every key starts with.
    pub key_prefix: String,
    /// Fill the key space first (not `--no-fill`).
    pub fill: bool,
    /// Reply timeout.
    pub timeout: Duration,
    /// `--json`.
    pub json: bool,
    /// `--verify`.
    pub verify: bool,
    /// `--transport`.
    pub transport: Transport,
    /// `--tasks` (1 unless the transport is tokio).
    pub tasks: usize,
}

/// A parser of a whole number of `option` from `min` to `max`.
fn whole(option: &'static str, min: usize, max: usize) -> impl TypedValueParser<Value = usize> {
    clap::builder::StringValueParser::new().try_map(move |text| {
        text.parse::<usize>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                let range = if max == usize::MAX {
                    format!("{min} or more")
                } else {
                    format!("from {min} to {max}")
                };
                format!("invalid {option} '{text}': expected a whole number {range}")
            })
    })
}

/// Checks `args` (the program's options from `cli` count unless `bench`
/// repeats them) into a [`Config`].
///
/// # Errors
///
/// What is wrong, naming the option and its limit.
pub fn config(args: BenchArgs, cli: &Cli) -> Result<Config, String> {
    if !args.extra.is_empty() {
        return Err(format!(
            "bench takes no arguments, got {}",
            args.extra.len()
        ));
    }
    if cli.tls.any() {
        return Err("bench does not speak TLS: the pipelined engine has no TLS".into());
    }
    let (get, set) = ratio(&args.ratio)?;
    let stop = match (args.requests, args.duration) {
        (Some(n), _) => Stop::Requests(n as u64),
        (None, Some(d)) => Stop::Duration(d),
        (None, None) => Stop::Duration(Duration::from_secs(10)),
    };
    let transport = args.transport.unwrap_or_default();
    match transport {
        Transport::Mio if args.tasks.is_some() => {
            return Err(
                "--tasks needs --transport tokio (the mio engine keeps --pipeline \
                        requests in flight per connection)"
                    .into(),
            );
        }
        Transport::Tokio if args.pipeline != 1 => {
            return Err(
                "--pipeline is for --transport mio: the tokio transport keeps \
                        --tasks requests in flight"
                    .into(),
            );
        }
        Transport::Tokio if !cfg!(feature = "tokio") => {
            return Err(
                "--transport tokio: this memcrab was built without the tokio \
                        transport (cargo feature tokio)"
                    .into(),
            );
        }
        _ => {}
    }
    let servers = args.servers.or_else(|| cli.servers.clone());
    let c = Config {
        distribution: args.hash.unwrap_or(cli.hash).distribution(),
        connections: args.connections,
        pipeline: args.pipeline,
        value_size: args.value_size,
        keys: args.keys,
        get,
        set,
        multi_get: args.multi_get,
        stop,
        protocol: args.protocol.unwrap_or(cli.protocol),
        merge_gets: args.merge_gets,
        key_prefix: args.key_prefix,
        fill: !args.no_fill,
        timeout: args.timeout.unwrap_or(cli.timeout),
        json: args.json,
        verify: args.verify,
        transport,
        tasks: args.tasks.unwrap_or(1),
        servers,
    };
    check_keys(&c)?;
    check_memory(&c)?;
    check_verify(&c)?;
    Ok(c)
}

/// `GET:SET`: two whole numbers, not both 0.
fn ratio(text: &str) -> Result<(u32, u32), String> {
    let bad = || {
        format!(
            "invalid --ratio '{text}': expected GET:SET, two whole numbers up to {MAX_RATIO}, \
             not both 0 (e.g. 9:1)"
        )
    };
    let (g, s) = text.split_once(':').ok_or_else(bad)?;
    let part = |p: &str| {
        p.parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_RATIO)
            .ok_or_else(bad)
    };
    let (get, set) = (part(g)?, part(s)?);
    if get == 0 && set == 0 {
        return Err(bad());
    }
    Ok((get, set))
}

/// The digits of the largest key number.
pub fn key_digits(keys: usize) -> usize {
    keys.saturating_sub(1).max(1).ilog10() as usize + 1
}

/// Every key is a key memcached takes.
fn check_keys(c: &Config) -> Result<(), String> {
    let length = c.key_prefix.len() + key_digits(c.keys);
    if length > MAX_KEY_LENGTH {
        return Err(format!(
            "--key-prefix is too long: the keys would be {length} bytes, over memcached's \
             {MAX_KEY_LENGTH}"
        ));
    }
    let first = format!("{}0", c.key_prefix);
    KeyPolicy::default()
        .check(first.as_bytes())
        .map_err(|e| format!("invalid --key-prefix '{}': {e}", c.key_prefix))
}

/// `--verify`'s values can name their key.
fn check_verify(c: &Config) -> Result<(), String> {
    let min = super::verify::min_value_size(c.key_prefix.len() + key_digits(c.keys));
    if c.verify && c.value_size < min {
        return Err(format!(
            "--verify needs --value-size {min} or more with these keys (the key, a space \
             and an 8-digit checksum), got {}",
            c.value_size
        ));
    }
    Ok(())
}

/// The replies in memory at once stay under [`MAX_IN_FLIGHT_BYTES`].
fn check_memory(c: &Config) -> Result<(), String> {
    if c.transport == Transport::Tokio {
        let bytes = [c.tasks, c.multi_get, c.value_size.max(1)]
            .iter()
            .try_fold(1u128, |acc, &n| acc.checked_mul(n as u128));
        return match bytes {
            Some(b) if b <= MAX_IN_FLIGHT_BYTES => Ok(()),
            _ => Err(format!(
                "--tasks x --multi-get x --value-size must be at most {MAX_IN_FLIGHT_BYTES} \
                 bytes (the replies that may be in memory at once)"
            )),
        };
    }
    let list = crate::args::server_list_text(c.servers.as_deref());
    let servers = list.split(',').count().max(1);
    let bytes = [
        c.connections,
        servers,
        c.pipeline,
        c.multi_get,
        c.value_size.max(1),
    ]
    .iter()
    .try_fold(1u128, |acc, &n| acc.checked_mul(n as u128));
    match bytes {
        Some(b) if b <= MAX_IN_FLIGHT_BYTES => Ok(()),
        _ => Err(format!(
            "--connections x --pipeline x --multi-get x --value-size x servers must be at most \
             {MAX_IN_FLIGHT_BYTES} bytes (the replies that may be in memory at once)"
        )),
    }
}
