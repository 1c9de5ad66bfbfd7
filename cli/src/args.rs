//! Command line parsing and the usage text.
//!
//! `memcrab [OPTIONS] COMMAND [ARGS]`: the global options (`--servers`,
//! `--hash`, `--protocol`, `--timeout`) go before the command, the command's own options (`--ttl`,
//! `--flags`, `--delay`) after it. After `--` every argument is a
//! positional one (the command name too, if `--` comes before it), so keys
//! and values may start with `-`. An argument that is `-` alone or looks
//! like a negative integer (`-5`) is positional even before `--`.
//!
//! Keys and values are taken as raw bytes (no UTF-8 required); the library
//! checks keys before anything is sent.

use std::ffi::OsString;
use std::time::Duration;

use memcrab::{Distribution, Protocol};

/// The timeout used when `--timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The server used when neither `--servers` nor `$MEMCACHED_SERVERS` is set.
pub const DEFAULT_SERVER: &str = "localhost:11211";

/// The environment variable holding the default server list.
pub const SERVERS_ENV: &str = "MEMCACHED_SERVERS";

/// The full help text, printed by `--help`.
pub const HELP: &str = "\
memcrab: a memcached command line client

Usage: memcrab [--servers LIST] [--hash HASH] [--protocol PROTOCOL]
               [--timeout SECONDS] COMMAND [ARGS]

Options (before the command):
  --servers LIST       comma-separated server addresses: host, host:port,
                       [::1]:11211, /path/to.sock or unix:/path
                       (default: $MEMCACHED_SERVERS, then localhost:11211);
                       with several servers each key goes to the server
                       --hash picks for it; stats and version answer for
                       the first server, flush for all
  --hash HASH          how keys are spread over several servers:
                       rendezvous (default): as pymemcache's HashClient;
                       ketama-md5, ketama-fnv1a64: as twemproxy's
                       distribution ketama with hash md5 or fnv1a_64
  --protocol PROTOCOL  text (default): memcached's classic commands;
                       meta: its meta commands (memcached 1.6 and later);
                       the output is the same
  --timeout SECONDS    connect and reply timeout, may be fractional (default 5)
  -h, --help           print this help and exit
  -V, --version        print memcrab's version and exit
  --                   end of options: later arguments (keys, values, even
                       the command) may start with '-'; '-' alone and
                       negative integers such as -5 are never options

Commands:
  get KEY...           one key: its value, raw bytes, no newline added;
                       several keys: a 'KEY VALUE' line for each key found,
                       in the order given (missing keys are left out)
  gets KEY             one line 'TOKEN VALUE': the cas token, a space, the
                       raw value, a newline
  set KEY VALUE [--ttl SECONDS] [--flags N]
  add KEY VALUE [--ttl SECONDS] [--flags N]
  replace KEY VALUE [--ttl SECONDS] [--flags N]
  append KEY VALUE [--ttl SECONDS] [--flags N]
  prepend KEY VALUE [--ttl SECONDS] [--flags N]
                       store VALUE; print nothing; exit 1 ('not stored')
                       when the server does not store it (add: the key
                       exists; replace/append/prepend: it does not)
  cas KEY VALUE TOKEN [--ttl SECONDS] [--flags N]
                       store VALUE if the item still has TOKEN (from gets);
                       exit 1 if it changed since (EXISTS) or is gone
  delete KEY...        delete the keys; exit 1 if any was missing
  incr KEY N           add N to the number at KEY; print the new value
  decr KEY N           subtract N (the server stops at 0); print the new value
  touch KEY TTL        set the expiration of KEY to TTL seconds
  stats [SECTION]      a 'NAME VALUE' line per statistic, in the server's
                       order (SECTION: settings, items, slabs, sizes, conns...)
  version              the server's version and a newline
  flush [--delay SECONDS]
                       invalidate every item (flush_all); print nothing
  route KEY...         a 'KEY<TAB>SERVER' line per key, in the order
                       given: the server of LIST (or of the default) the
                       key goes to with --hash, written exactly as given
                       there; connects to no server
  bench [OPTIONS]      a load generator on the pipelined engine: fills a
                       key space, then reports throughput and latency
                       percentiles; see 'memcrab bench --help'

  Keys and values are taken as given, as bytes; a bad key (whitespace,
  control characters, over 250 bytes) is refused before anything is sent.
  Values print raw, so with 'get KEY...' a value holding a newline spans
  lines: use 'get KEY' for such values.
  TTL and --ttl are memcached expiration times: seconds from now (0 never
  expires; over 30 days, a Unix time; negative, already expired).
  Every write waits for the server's reply.

Exit status:
  0  success (get KEY...: every key was found)
  1  a key was missing (get: nothing printed for it; with several keys the
     found ones are still printed), or not stored (add, replace, append,
     prepend, cas), or not found (cas, delete, incr, decr, touch); the
     commands other than get and gets say which on stderr
  2  any error: usage, a bad key (never sent to the server), the server's
     error (its words on stderr), a connection error or timeout; a one-line
     'memcrab: ...' message on stderr
";

/// The one-line usage shown after a usage error.
pub const USAGE: &str = "usage: memcrab [--servers LIST] [--hash HASH] [--protocol PROTOCOL] \
     [--timeout SECONDS] COMMAND [ARGS]; see 'memcrab --help'";

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
    const NAMES: &'static [(&'static str, Hash)] = &[
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

/// Every value of `--protocol`, as written on the command line.
const PROTOCOLS: &[(&str, Protocol)] = &[("text", Protocol::Text), ("meta", Protocol::Meta)];

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// `--help`: print [`HELP`].
    Help,
    /// `--version`: print memcrab's version.
    Version,
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

/// One command and its arguments; keys and values are raw bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `get KEY...`
    Get { keys: Vec<Vec<u8>> },
    /// `gets KEY`
    Gets { key: Vec<u8> },
    /// `set|add|replace|append|prepend KEY VALUE [--ttl S] [--flags N]`
    Store {
        op: StoreOp,
        key: Vec<u8>,
        value: Vec<u8>,
        ttl: i64,
        flags: Option<u32>,
    },
    /// `cas KEY VALUE TOKEN [--ttl S] [--flags N]`
    Cas {
        key: Vec<u8>,
        value: Vec<u8>,
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
}

impl Command {
    /// The first key the command names, if it names one.
    pub fn first_key(&self) -> Option<&[u8]> {
        match self {
            Command::Get { keys } | Command::Delete { keys } | Command::Route { keys } => {
                keys.first().map(Vec::as_slice)
            }
            Command::Gets { key }
            | Command::Store { key, .. }
            | Command::Cas { key, .. }
            | Command::Arith { key, .. }
            | Command::Touch { key, .. } => Some(key),
            Command::Stats { .. } | Command::Version | Command::Flush { .. } => None,
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
    fn general(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            usage: USAGE.to_owned(),
        }
    }

    fn of(spec: &Spec, message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            usage: format!("usage: memcrab {} {}", spec.name, spec.synopsis)
                .trim_end()
                .to_owned(),
        }
    }
}

/// The shape of one command.
struct Spec {
    name: &'static str,
    synopsis: &'static str,
    /// Fewest and most positional arguments (`usize::MAX`: no limit).
    min: usize,
    max: usize,
    /// Options it takes, each with a value.
    options: &'static [&'static str],
}

const STORE_OPTIONS: &[&str] = &["--ttl", "--flags"];
const STORE_SYNOPSIS: &str = "KEY VALUE [--ttl SECONDS] [--flags N]";

/// Every command.
const COMMANDS: &[Spec] = &[
    Spec::new("get", "KEY...", 1, usize::MAX, &[]),
    Spec::new("gets", "KEY", 1, 1, &[]),
    Spec::new("set", STORE_SYNOPSIS, 2, 2, STORE_OPTIONS),
    Spec::new("add", STORE_SYNOPSIS, 2, 2, STORE_OPTIONS),
    Spec::new("replace", STORE_SYNOPSIS, 2, 2, STORE_OPTIONS),
    Spec::new("append", STORE_SYNOPSIS, 2, 2, STORE_OPTIONS),
    Spec::new("prepend", STORE_SYNOPSIS, 2, 2, STORE_OPTIONS),
    Spec::new(
        "cas",
        "KEY VALUE TOKEN [--ttl SECONDS] [--flags N]",
        3,
        3,
        STORE_OPTIONS,
    ),
    Spec::new("delete", "KEY...", 1, usize::MAX, &[]),
    Spec::new("incr", "KEY N", 2, 2, &[]),
    Spec::new("decr", "KEY N", 2, 2, &[]),
    Spec::new("touch", "KEY TTL", 2, 2, &[]),
    Spec::new("stats", "[SECTION]", 0, 1, &[]),
    Spec::new("version", "", 0, 0, &[]),
    Spec::new("flush", "[--delay SECONDS]", 0, 0, &["--delay"]),
    Spec::new("route", "KEY...", 1, usize::MAX, &[]),
];

impl Spec {
    const fn new(
        name: &'static str,
        synopsis: &'static str,
        min: usize,
        max: usize,
        options: &'static [&'static str],
    ) -> Spec {
        Spec {
            name,
            synopsis,
            min,
            max,
            options,
        }
    }
}

fn spec(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|spec| spec.name == name)
}

const GLOBAL_OPTIONS: &[&str] = &["--servers", "--hash", "--protocol", "--timeout"];
const COMMAND_OPTIONS: &[&str] = &["--ttl", "--flags", "--delay"];

/// Text for messages: the argument as UTF-8, invalid bytes replaced.
fn show(arg: &OsString) -> String {
    arg.to_string_lossy().into_owned()
}

/// `true` for arguments that are options: they start with `-`, but are
/// neither `-` alone nor a negative integer.
fn is_option(arg: &[u8]) -> bool {
    match arg {
        [b'-', rest @ ..] => {
            !(rest.is_empty() || (rest.iter().all(u8::is_ascii_digit) && rest[0] != b'-'))
        }
        _ => false,
    }
}

/// Splits `--name=value` into its name and value.
fn split_inline(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('=') {
        Some((name, value)) if name.starts_with("--") => (name, Some(value)),
        _ => (arg, None),
    }
}

/// The next argument as the value of `option`.
fn option_value(
    option: &str,
    inline: Option<&str>,
    args: &mut impl Iterator<Item = OsString>,
    error: impl Fn(String) -> UsageError,
) -> Result<String, UsageError> {
    if let Some(value) = inline {
        return Ok(value.to_owned());
    }
    let value = args
        .next()
        .ok_or_else(|| error(format!("option {option} needs a value")))?;
    value
        .into_string()
        .map_err(|v| error(format!("invalid value for {option}: {:?}", v)))
}

/// Parses the arguments after the program name.
///
/// # Errors
///
/// A [`UsageError`] for anything that cannot be run.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, UsageError> {
    let mut args = args.into_iter();
    let mut servers = None;
    let mut hash = Hash::default();
    let mut protocol = Protocol::default();
    let mut timeout = DEFAULT_TIMEOUT;
    let mut positional_only = false;

    // Global options, up to the command name.
    let name = loop {
        let Some(arg) = args.next() else {
            return Err(UsageError::general("no command given"));
        };
        if positional_only || !is_option(arg.as_encoded_bytes()) {
            break arg;
        }
        let text = show(&arg);
        let (option, inline) = split_inline(&text);
        match option {
            "--" if inline.is_none() => positional_only = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "--servers" => {
                servers = Some(option_value(
                    option,
                    inline,
                    &mut args,
                    UsageError::general,
                )?);
            }
            "--hash" => {
                let value = option_value(option, inline, &mut args, UsageError::general)?;
                hash = parse_choice(option, &value, Hash::NAMES).map_err(UsageError::general)?;
            }
            "--protocol" => {
                let value = option_value(option, inline, &mut args, UsageError::general)?;
                protocol = parse_choice(option, &value, PROTOCOLS).map_err(UsageError::general)?;
            }
            "--timeout" => {
                let value = option_value(option, inline, &mut args, UsageError::general)?;
                timeout = parse_timeout(&value).map_err(UsageError::general)?;
            }
            _ if COMMAND_OPTIONS.contains(&option) => {
                return Err(UsageError::general(format!(
                    "option {option} belongs after the command"
                )))
            }
            _ => return Err(UsageError::general(format!("unknown option '{text}'"))),
        }
    };
    let Some(spec) = name.to_str().and_then(spec) else {
        return Err(UsageError::general(format!(
            "unknown command '{}'",
            show(&name)
        )));
    };

    // The command's arguments and options.
    let mut positional: Vec<Vec<u8>> = Vec::new();
    let mut options: Vec<(&'static str, String)> = Vec::new();
    while let Some(arg) = args.next() {
        if positional_only || !is_option(arg.as_encoded_bytes()) {
            positional.push(arg.into_encoded_bytes());
            continue;
        }
        let text = show(&arg);
        let (option, inline) = split_inline(&text);
        match option {
            "--" if inline.is_none() => positional_only = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            _ => {
                if let Some(&known) = spec.options.iter().find(|&&o| o == option) {
                    let value =
                        option_value(option, inline, &mut args, |m| UsageError::of(spec, m))?;
                    options.push((known, value));
                } else if GLOBAL_OPTIONS.contains(&option) {
                    return Err(UsageError::general(format!(
                        "option {option} belongs before the command"
                    )));
                } else {
                    return Err(UsageError::of(
                        spec,
                        format!("unknown option '{text}' for {}", spec.name),
                    ));
                }
            }
        }
    }

    let got = positional.len();
    if got < spec.min || got > spec.max {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let wanted = match (spec.min, spec.max) {
            (0, 0) => "no arguments".to_owned(),
            (min, usize::MAX) => format!("at least {min} argument{}", plural(min)),
            (min, max) if min == max => format!("{min} argument{}", plural(min)),
            (min, max) => format!("{min} to {max} arguments"),
        };
        return Err(UsageError::of(
            spec,
            format!("{} takes {wanted}, got {got}", spec.name),
        ));
    }

    let command = build(spec, positional, &options)?;
    Ok(Parsed::Run(Cli {
        servers,
        hash,
        protocol,
        timeout,
        command,
    }))
}

/// Turns checked positional arguments and options into a [`Command`].
fn build(
    spec: &Spec,
    positional: Vec<Vec<u8>>,
    options: &[(&'static str, String)],
) -> Result<Command, UsageError> {
    let err = |m: String| UsageError::of(spec, m);
    let option = |name: &str| {
        options
            .iter()
            .rev()
            .find(|(o, _)| *o == name)
            .map(|(_, v)| v.as_str())
    };
    let ttl = option("--ttl")
        .map(|v| parse_int::<i64>(v, "--ttl", "a whole number of seconds"))
        .transpose()
        .map_err(err)?
        .unwrap_or(0);
    let flags = option("--flags")
        .map(|v| parse_int::<u32>(v, "--flags", "a number from 0 to 4294967295"))
        .transpose()
        .map_err(err)?;
    let mut args = positional.into_iter();
    let command = match spec.name {
        "get" => Command::Get {
            keys: positional_rest(take(&mut args), args),
        },
        "delete" => Command::Delete {
            keys: positional_rest(take(&mut args), args),
        },
        "route" => Command::Route {
            keys: positional_rest(take(&mut args), args),
        },
        "gets" => Command::Gets {
            key: take(&mut args),
        },
        "cas" => {
            let (key, value, token) = (take(&mut args), take(&mut args), take(&mut args));
            Command::Cas {
                key,
                value,
                token: parse_int(&lossy(&token), "TOKEN", "a cas token from gets").map_err(err)?,
                ttl,
                flags,
            }
        }
        "incr" | "decr" => {
            let (key, delta) = (take(&mut args), take(&mut args));
            Command::Arith {
                decr: spec.name == "decr",
                key,
                delta: parse_int(
                    &lossy(&delta),
                    "N",
                    "a number from 0 to 18446744073709551615",
                )
                .map_err(err)?,
            }
        }
        "touch" => {
            let (key, ttl) = (take(&mut args), take(&mut args));
            Command::Touch {
                key,
                ttl: parse_int(&lossy(&ttl), "TTL", "a whole number of seconds").map_err(err)?,
            }
        }
        "stats" => Command::Stats {
            section: args.next(),
        },
        "version" => Command::Version,
        "flush" => Command::Flush {
            delay: option("--delay")
                .map(|v| parse_int::<u32>(v, "--delay", "a whole number of seconds, 0 or more"))
                .transpose()
                .map_err(err)?
                .map_or(0, i64::from),
        },
        name => {
            let op = match name {
                "set" => StoreOp::Set,
                "add" => StoreOp::Add,
                "replace" => StoreOp::Replace,
                "append" => StoreOp::Append,
                _ => StoreOp::Prepend,
            };
            let (key, value) = (take(&mut args), take(&mut args));
            Command::Store {
                op,
                key,
                value,
                ttl,
                flags,
            }
        }
    };
    Ok(command)
}

/// The next positional argument (their number was checked).
fn take(args: &mut impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    args.next().expect("argument count checked")
}

/// `first` followed by the rest of `args`.
fn positional_rest(first: Vec<u8>, rest: impl Iterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    std::iter::once(first).chain(rest).collect()
}

/// Bytes as text for messages and number parsing.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses an integer argument, naming it in the error.
fn parse_int<T: std::str::FromStr>(text: &str, what: &str, expected: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("invalid {what} '{text}': expected {expected}"))
}

/// Parses the value of `option`, one of `choices` (exact, lower case).
fn parse_choice<T: Copy>(option: &str, text: &str, choices: &[(&str, T)]) -> Result<T, String> {
    if let Some(&(_, value)) = choices.iter().find(|(name, _)| *name == text) {
        return Ok(value);
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let expected = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(format!("invalid {option} '{text}': expected {expected}"))
}

/// Parses `--timeout`: positive seconds, possibly fractional.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            format!("invalid --timeout '{text}': expected a number of seconds greater than 0")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Parsed, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    fn command(args: &[&str]) -> Command {
        match parse_strs(args) {
            Ok(Parsed::Run(cli)) => cli.command,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn options_and_negative_numbers() {
        assert!(is_option(b"--ttl"));
        assert!(is_option(b"-k"));
        assert!(is_option(b"--"));
        assert!(is_option(b"--5"));
        assert!(!is_option(b"-"));
        assert!(!is_option(b"-5"));
        assert!(!is_option(b"-123"));
        assert!(!is_option(b"key"));
        assert!(!is_option(b""));
    }

    #[test]
    fn global_options() {
        let Ok(Parsed::Run(cli)) = parse_strs(&["--servers=a,b", "--timeout", "0.25", "version"])
        else {
            panic!()
        };
        assert_eq!(cli.servers.as_deref(), Some("a,b"));
        assert_eq!(cli.timeout, Duration::from_millis(250));
        assert_eq!(cli.command, Command::Version);
        let Ok(Parsed::Run(cli)) = parse_strs(&["version"]) else {
            panic!()
        };
        assert_eq!((cli.servers, cli.timeout), (None, DEFAULT_TIMEOUT));
        assert_eq!(parse_strs(&["--version", "bogus"]), Ok(Parsed::Version));
        assert_eq!(parse_strs(&["set", "-h"]), Ok(Parsed::Help));
    }

    #[test]
    fn commands() {
        assert_eq!(
            command(&["set", "k", "v", "--ttl", "-1", "--flags=3"]),
            Command::Store {
                op: StoreOp::Set,
                key: b"k".to_vec(),
                value: b"v".to_vec(),
                ttl: -1,
                flags: Some(3),
            }
        );
        // The last of a repeated option wins.
        assert_eq!(
            command(&["flush", "--delay", "1", "--delay", "2"]),
            Command::Flush { delay: 2 }
        );
        assert_eq!(
            command(&["get", "--", "-a", "--", "b"]),
            Command::Get {
                keys: vec![b"-a".to_vec(), b"--".to_vec(), b"b".to_vec()]
            }
        );
        assert_eq!(
            command(&["decr", "k", "7"]),
            Command::Arith {
                decr: true,
                key: b"k".to_vec(),
                delta: 7
            }
        );
        assert_eq!(
            command(&["stats", "slabs"]),
            Command::Stats {
                section: Some(b"slabs".to_vec())
            }
        );
        assert_eq!(command(&["stats"]), Command::Stats { section: None });
        assert_eq!(
            command(&["route", "a", "-5"]),
            Command::Route {
                keys: vec![b"a".to_vec(), b"-5".to_vec()]
            }
        );
    }

    #[test]
    fn hash_and_protocol() {
        let cli = |args: &[&str]| match parse_strs(args) {
            Ok(Parsed::Run(cli)) => (cli.hash, cli.protocol),
            other => panic!("{args:?}: {other:?}"),
        };
        assert_eq!(cli(&["version"]), (Hash::Rendezvous, Protocol::Text));
        assert_eq!(
            cli(&["--hash", "ketama-md5", "--protocol=meta", "version"]),
            (Hash::KetamaMd5, Protocol::Meta)
        );
        assert_eq!(
            cli(&["--hash=ketama-fnv1a64", "--hash", "rendezvous", "version"]),
            (Hash::Rendezvous, Protocol::Text)
        );
        assert_eq!(
            cli(&["--hash=ketama-fnv1a64", "--protocol", "text", "version"]),
            (Hash::KetamaFnv1a64, Protocol::Text)
        );
        assert!(matches!(
            Hash::KetamaFnv1a64.distribution(),
            Distribution::KetamaFnv1a64
        ));
        let err = parse_strs(&["--hash", "md5", "version"]).unwrap_err();
        assert_eq!(
            err.message,
            "invalid --hash 'md5': expected rendezvous, ketama-md5 or ketama-fnv1a64"
        );
        assert_eq!(err.usage, USAGE);
        let err = parse_strs(&["--protocol", "META", "version"]).unwrap_err();
        assert_eq!(
            err.message,
            "invalid --protocol 'META': expected text or meta"
        );
    }
}
