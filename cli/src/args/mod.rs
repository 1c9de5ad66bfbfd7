//! Command line parsing (with clap) and the usage texts.
//!
//! `memcrab [OPTIONS] COMMAND [ARGS]`: the global options (`--servers`,
//! `--hash`, `--protocol`, `--timeout`, the TLS options) go before the
//! command, the command's own options (`--ttl`, `--flags`, `--delay`…)
//! after it. After `--` every argument is a positional one (the command
//! name too, if `--` comes before it), so keys and values may start with
//! `-`. An argument that is `-` alone or looks like a negative number
//! (`-5`, `-1.5`) is positional even before `--`.
//!
//! Keys and values are taken as raw bytes (no UTF-8 required); the library
//! checks keys before anything is sent. Every usage error is one line: what
//! is wrong, then the usage of the command concerned ([`errors`]).

mod build;
mod errors;
pub mod help;
mod spec;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::FromArgMatches;
use memcrab::{Distribution, Protocol};

pub use help::USAGE;
pub use spec::{command, seconds, Choice, TlsArgs, PROTOCOLS};

use spec::Top;

pub use build::{parse_choice, parse_timeout};

/// The timeout used when `--timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest `--timeout` (and bench `--duration`): a day.
pub const MAX_SECONDS: f64 = 86_400.0;

/// The server used when neither `--servers` nor `$MEMCACHED_SERVERS` is set.
pub const DEFAULT_SERVER: &str = "localhost:11211";

/// The environment variable holding the default server list.
pub const SERVERS_ENV: &str = "MEMCACHED_SERVERS";

/// `--hash`: how keys are spread over several servers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Hash {
    /// `rendezvous`: pymemcache's `HashClient`.
    #[default]
    Rendezvous,
    /// `ketama-md5`: twemproxy's ketama with md5 key hashes.
    KetamaMd5,
    /// `ketama-fnv1a64`: twemproxy's ketama with fnv1a_64 key hashes.
    KetamaFnv1a64,
}

impl Hash {
    /// Every value of `--hash`, as written on the command line.
    pub const NAMES: &'static [(&'static str, Hash)] = &[
        ("rendezvous", Hash::Rendezvous),
        ("ketama-md5", Hash::KetamaMd5),
        ("ketama-fnv1a64", Hash::KetamaFnv1a64),
    ];

    /// The library's distribution for this choice.
    pub fn distribution(self) -> Distribution {
        match self {
            Hash::Rendezvous => Distribution::Rendezvous,
            Hash::KetamaMd5 => Distribution::KetamaMd5,
            Hash::KetamaFnv1a64 => Distribution::KetamaFnv1a64,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
// One value per process: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Parsed {
    /// `--help`: print this text.
    Help(String),
    /// `--version`: print memcrab's version.
    Version,
    /// `completions SHELL`: print a completion script.
    Completions(clap_complete::Shell),
    /// `bench`: run the load generator.
    Bench(Box<crate::bench::Config>),
    /// Run a command.
    Run(Cli),
}

/// A command with its global options.
#[derive(Debug, PartialEq, Eq)]
pub struct Cli {
    /// `--servers`, if given.
    pub servers: Option<String>,
    /// `--hash`, or rendezvous.
    pub hash: Hash,
    /// `--protocol`, or text.
    pub protocol: Protocol,
    /// `--timeout`, or [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// The TLS options.
    pub tls: TlsArgs,
    /// The command.
    pub command: Command,
}

/// The storage commands with the same arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    /// `set`
    Set,
    /// `add`
    Add,
    /// `replace`
    Replace,
    /// `append`
    Append,
    /// `prepend`
    Prepend,
}

/// Where a value to store comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// The argument's bytes.
    Bytes(Vec<u8>),
    /// `-`: standard input, to its end.
    Stdin,
    /// `--file PATH`: the file's bytes.
    File(PathBuf),
}

/// One command and its arguments; keys and values are raw bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `get KEY... [--output PATH] [--show-flags]`
    Get {
        keys: Vec<Vec<u8>>,
        output: Option<PathBuf>,
        show_flags: bool,
    },
    /// `gets KEY`
    Gets { key: Vec<u8> },
    /// `set|add|replace|append|prepend KEY VALUE [--ttl S] [--flags N]`
    Store {
        op: StoreOp,
        key: Vec<u8>,
        value: Payload,
        ttl: i64,
        flags: Option<u32>,
    },
    /// `cas KEY VALUE TOKEN [--ttl S] [--flags N]`
    Cas {
        key: Vec<u8>,
        value: Payload,
        token: u64,
        ttl: i64,
        flags: Option<u32>,
    },
    /// `delete KEY...`
    Delete { keys: Vec<Vec<u8>> },
    /// `incr KEY N` (`decr` when `decr` is true)
    Arith {
        decr: bool,
        key: Vec<u8>,
        delta: u64,
    },
    /// `touch KEY TTL`
    Touch { key: Vec<u8>, ttl: i64 },
    /// `stats [SECTION]`
    Stats { section: Option<Vec<u8>> },
    /// `version`
    Version,
    /// `flush [--delay S]`
    Flush { delay: i64 },
    /// `route KEY...`: where each key goes; no I/O.
    Route { keys: Vec<Vec<u8>> },
    /// `dump`: every key of every server.
    Dump,
    /// `ping`: the round trip to every server.
    Ping,
}

impl Command {
    /// The first key the command names, if it names one.
    pub fn first_key(&self) -> Option<&[u8]> {
        match self {
            Command::Get { keys, .. } | Command::Delete { keys } | Command::Route { keys } => {
                keys.first().map(Vec::as_slice)
            }
            Command::Gets { key }
            | Command::Store { key, .. }
            | Command::Cas { key, .. }
            | Command::Arith { key, .. }
            | Command::Touch { key, .. } => Some(key),
            Command::Stats { .. }
            | Command::Version
            | Command::Flush { .. }
            | Command::Dump
            | Command::Ping => None,
        }
    }
}

/// A command line that cannot be run: the message and a usage line.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    /// What is wrong, one line.
    pub message: String,
    /// The usage of the command concerned, or the general [`USAGE`].
    pub usage: String,
}

impl UsageError {
    /// An error outside any command: the general usage.
    pub fn general(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            usage: USAGE.to_owned(),
        }
    }

    /// An error of the command `name` (the general usage if unknown).
    pub fn of(name: &str, message: impl Into<String>) -> Self {
        match spec(name) {
            Some(spec) => UsageError {
                message: message.into(),
                usage: spec.error_usage(),
            },
            None => UsageError::general(message),
        }
    }
}

/// The shape of one command, for counts and usage lines.
pub struct Spec {
    /// The command's name.
    pub name: &'static str,
    /// Its arguments, as shown after a usage error.
    synopsis: &'static str,
    /// Its full usage in its `--help`, when longer than the synopsis.
    help: Option<&'static str>,
    /// Fewest and most positional arguments (`usize::MAX`: no limit).
    min: usize,
    max: usize,
}

const STORE_SYNOPSIS: &str = "KEY VALUE [--ttl SECONDS] [--flags N]";
const STORE_HELP: &str = "KEY VALUE [--ttl SECONDS] [--flags N]
       memcrab [OPTIONS] {} KEY - [--ttl SECONDS] [--flags N]
       memcrab [OPTIONS] {} KEY --file PATH [--ttl SECONDS] [--flags N]";

/// Every command.
const COMMANDS: &[Spec] = &[
    Spec::new("get", "KEY...", 1, usize::MAX).help("KEY... [--output PATH] [--show-flags]"),
    Spec::new("gets", "KEY", 1, 1),
    Spec::new("set", STORE_SYNOPSIS, 2, 2).help(STORE_HELP),
    Spec::new("add", STORE_SYNOPSIS, 2, 2).help(STORE_HELP),
    Spec::new("replace", STORE_SYNOPSIS, 2, 2).help(STORE_HELP),
    Spec::new("append", STORE_SYNOPSIS, 2, 2).help(STORE_HELP),
    Spec::new("prepend", STORE_SYNOPSIS, 2, 2).help(STORE_HELP),
    Spec::new("cas", "KEY VALUE TOKEN [--ttl SECONDS] [--flags N]", 3, 3).help(
        "KEY VALUE TOKEN [--ttl SECONDS] [--flags N]
       memcrab [OPTIONS] cas KEY TOKEN --file PATH [--ttl SECONDS] [--flags N]",
    ),
    Spec::new("delete", "KEY...", 1, usize::MAX),
    Spec::new("incr", "KEY N", 2, 2),
    Spec::new("decr", "KEY N", 2, 2),
    Spec::new("touch", "KEY TTL", 2, 2),
    Spec::new("stats", "[SECTION]", 0, 1),
    Spec::new("version", "", 0, 0),
    Spec::new("flush", "[--delay SECONDS]", 0, 0),
    Spec::new("route", "KEY...", 1, usize::MAX),
    Spec::new("dump", "", 0, 0),
    Spec::new("ping", "", 0, 0),
    Spec::new("completions", "SHELL", 1, 1),
    Spec::new("bench", crate::bench::SYNOPSIS, 0, 0).help("[BENCH OPTIONS]"),
];

impl Spec {
    const fn new(name: &'static str, synopsis: &'static str, min: usize, max: usize) -> Spec {
        Spec {
            name,
            synopsis,
            help: None,
            min,
            max,
        }
    }

    const fn help(mut self, usage: &'static str) -> Spec {
        self.help = Some(usage);
        self
    }

    /// `usage: memcrab NAME SYNOPSIS`, as shown after a usage error.
    pub fn error_usage(&self) -> String {
        if self.name == "bench" {
            return format!(
                "usage: memcrab [--servers LIST] bench {}; see 'memcrab bench --help'",
                self.synopsis
            );
        }
        format!("usage: memcrab {} {}", self.name, self.synopsis)
            .trim_end()
            .to_owned()
    }

    /// The usage line(s) of the command's `--help`.
    pub fn help_usage(&self) -> String {
        let args = self.help.unwrap_or(self.synopsis).replace("{}", self.name);
        format!("memcrab [OPTIONS] {} {args}", self.name)
            .trim_end()
            .to_owned()
    }

    /// `NAME takes N arguments, got M`, for a count out of bounds.
    pub(crate) fn count_error(&self, got: usize, with_file: bool) -> UsageError {
        let (min, max) = self.counts(with_file);
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let wanted = match (min, max) {
            (0, 0) => "no arguments".to_owned(),
            (min, usize::MAX) => format!("at least {min} argument{}", plural(min)),
            (min, max) if min == max => format!("{min} argument{}", plural(min)),
            (min, max) => format!("{min} to {max} arguments"),
        };
        let with = if with_file { " with --file" } else { "" };
        UsageError::of(
            self.name,
            format!("{} takes {wanted}{with}, got {got}", self.name),
        )
    }

    /// Fewest and most positional arguments; `--file` stands for VALUE.
    pub(crate) fn counts(&self, with_file: bool) -> (usize, usize) {
        if with_file {
            (self.min - 1, self.max - 1)
        } else {
            (self.min, self.max)
        }
    }
}

/// The server list: `servers` (`--servers`), else `$MEMCACHED_SERVERS`
/// when set and not empty, else [`DEFAULT_SERVER`].
pub fn server_list_text(servers: Option<&str>) -> String {
    let from_env = std::env::var(SERVERS_ENV)
        .ok()
        .filter(|list| !list.trim().is_empty());
    match (servers, from_env) {
        (Some(list), _) => list.to_owned(),
        (None, Some(list)) => list,
        (None, None) => DEFAULT_SERVER.to_owned(),
    }
}

/// The command named `name`, if there is one.
pub fn spec(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|spec| spec.name == name)
}

/// Parses the arguments after the program name.
///
/// # Errors
///
/// A [`UsageError`] for anything that cannot be run.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, UsageError> {
    let argv: Vec<OsString> = args.into_iter().collect();
    let mut scan = errors::Scan::new(&argv);
    if let Some(e) = scan.unknown_command(&argv) {
        return Err(e);
    }
    let argv = scan.rewritten(argv);
    let program = std::iter::once(OsString::from("memcrab"));
    let matches = match command().try_get_matches_from(program.chain(argv.iter().cloned())) {
        Ok(matches) => matches,
        Err(e) => return errors::map(&e, &argv, &scan),
    };
    let top =
        Top::from_arg_matches(&matches).map_err(|e| UsageError::general(errors::first_line(&e)))?;
    build::build(top)
}

#[cfg(test)]
mod tests;
