//! The command line as clap sees it: the global options, every command
//! with its arguments and options, and their help.
//!
//! Everything is taken as text or raw bytes here; [`super::build`] checks
//! argument counts and numbers afterwards, so its messages stay the ones
//! scripts have always seen. Positional arguments that clap should not
//! refuse by itself (too many of them) land in a hidden `extra` list.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand};
use memcrab::Protocol;

use super::help::{COMMAND_TEMPLATE, HELP};
use super::{parse_choice, parse_timeout, spec, Hash};
use crate::bench::BenchArgs;

/// `memcrab [OPTIONS] COMMAND [ARGS]`.
#[derive(Parser, Debug)]
#[command(name = "memcrab", version, override_help = HELP)]
#[command(subcommand_required = true, arg_required_else_help = false)]
#[command(args_override_self = true)]
pub struct Top {
    /// Comma-separated server addresses.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub servers: Option<String>,
    /// How keys are spread over several servers.
    #[arg(long, value_name = "HASH", allow_hyphen_values = true,
          value_parser = Choice::new("--hash", Hash::NAMES))]
    pub hash: Option<Hash>,
    /// text or meta.
    #[arg(long, value_name = "PROTOCOL", allow_hyphen_values = true,
          value_parser = Choice::new("--protocol", PROTOCOLS))]
    pub protocol: Option<Protocol>,
    /// Connect and reply timeout in seconds.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true,
          value_parser = seconds("--timeout"))]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(subcommand)]
    pub command: Sub,
}

/// `--tls` and its files.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsArgs {
    /// Speak TLS to every server.
    #[arg(long)]
    pub tls: bool,
    /// PEM certificates to verify the servers with (implies --tls).
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate, for mutual TLS (with --tls-key).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Verify certificates for NAME instead of each server's host.
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
}

impl TlsArgs {
    /// True if any TLS option was given.
    pub fn any(&self) -> bool {
        *self != TlsArgs::default()
    }
}

/// Every value of `--protocol`, as written on the command line.
pub const PROTOCOLS: &[(&str, Protocol)] = &[("text", Protocol::Text), ("meta", Protocol::Meta)];

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Sub {
    /// Print the value of KEY, or a 'KEY VALUE' line per key found.
    Get(GetArgs),
    /// Print 'TOKEN VALUE': the cas token and the value of KEY.
    Gets(OneKey),
    /// Store VALUE under KEY.
    Set(StoreArgs),
    /// Store VALUE under KEY unless the key exists.
    Add(StoreArgs),
    /// Store VALUE under KEY if the key exists.
    Replace(StoreArgs),
    /// Add VALUE after the value of KEY.
    Append(StoreArgs),
    /// Add VALUE before the value of KEY.
    Prepend(StoreArgs),
    /// Store VALUE if the item still has TOKEN (from gets).
    Cas(CasArgs),
    /// Delete the keys; exit 1 if any was missing.
    Delete(Keys),
    /// Add N to the number at KEY and print the new value.
    Incr(Arith),
    /// Subtract N from the number at KEY (stopping at 0) and print it.
    Decr(Arith),
    /// Set the expiration of KEY to TTL seconds.
    Touch(TouchArgs),
    /// Print a 'NAME VALUE' line per statistic ('SERVER<TAB>NAME VALUE'
    /// with several servers).
    Stats(StatsArgs),
    /// Print the server's version ('SERVER<TAB>VERSION' with several
    /// servers).
    Version(NoArgs),
    /// Invalidate every item on every server (flush_all).
    Flush(FlushArgs),
    /// Print a 'KEY<TAB>SERVER' line per key: where --hash puts it; no I/O.
    Route(Keys),
    /// Print every key the servers hold (lru_crawler metadump all), one a
    /// line ('KEY<TAB>SERVER' with several servers).
    Dump(NoArgs),
    /// Print a 'SERVER<TAB>MILLISECONDS ms' line per server: the round
    /// trip of one version request on an open connection.
    Ping(NoArgs),
    /// A load generator on the pipelined engine: fills a key space, then
    /// reports throughput and latency percentiles.
    Bench(BenchArgs),
    /// Print a completion script for SHELL.
    Completions(CompletionsArgs),
}

/// `get KEY... [--output PATH] [--show-flags]`.
#[derive(Args, Debug)]
pub struct GetArgs {
    /// The keys.
    #[arg(value_name = "KEY", required = true)]
    pub keys: Vec<OsString>,
    /// Write what get prints to PATH instead of stdout (created only when
    /// something is found).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Print the flags too: 'FLAGS VALUE' and a newline for one key, 'KEY
    /// FLAGS VALUE' lines for several.
    #[arg(long)]
    pub show_flags: bool,
}

/// `KEY`.
#[derive(Args, Debug)]
pub struct OneKey {
    /// The key.
    #[arg(value_name = "KEY")]
    pub key: OsString,
    #[arg(hide = true)]
    pub extra: Vec<OsString>,
}

/// `KEY...`.
#[derive(Args, Debug)]
pub struct Keys {
    /// The keys.
    #[arg(value_name = "KEY", required = true)]
    pub keys: Vec<OsString>,
}

/// `--ttl` and `--flags` of the storage commands.
#[derive(Args, Debug)]
pub struct StoreOptions {
    /// Expiration: seconds from now (0 never; over 30 days, a Unix time;
    /// negative, already expired).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub ttl: Option<String>,
    /// Flags stored with the value (0 to 4294967295).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub flags: Option<String>,
    /// Read the value from PATH (VALUE left out).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// `KEY VALUE [--ttl SECONDS] [--flags N]`.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The key.
    #[arg(value_name = "KEY")]
    pub key: OsString,
    /// The value, as bytes; '-' reads it from stdin.
    #[arg(value_name = "VALUE", required_unless_present = "file")]
    pub value: Option<OsString>,
    #[arg(hide = true)]
    pub extra: Vec<OsString>,
    #[command(flatten)]
    pub options: StoreOptions,
}

/// `KEY VALUE TOKEN [--ttl SECONDS] [--flags N]`.
#[derive(Args, Debug)]
pub struct CasArgs {
    /// The key.
    #[arg(value_name = "KEY")]
    pub key: OsString,
    /// The value ('-': from stdin); left out with --file.
    #[arg(value_name = "VALUE", required = true)]
    pub value: Option<OsString>,
    /// The cas token, from gets.
    #[arg(value_name = "TOKEN", required_unless_present = "file")]
    pub token: Option<OsString>,
    #[arg(hide = true)]
    pub extra: Vec<OsString>,
    #[command(flatten)]
    pub options: StoreOptions,
}

/// `KEY N`.
#[derive(Args, Debug)]
pub struct Arith {
    /// The key.
    #[arg(value_name = "KEY")]
    pub key: OsString,
    /// The amount (0 to 18446744073709551615).
    #[arg(value_name = "N")]
    pub delta: OsString,
    #[arg(hide = true)]
    pub extra: Vec<OsString>,
}

/// `KEY TTL`.
#[derive(Args, Debug)]
pub struct TouchArgs {
    /// The key.
    #[arg(value_name = "KEY")]
    pub key: OsString,
    /// The new expiration, in seconds (as --ttl).
    #[arg(value_name = "TTL")]
    pub ttl: OsString,
    #[arg(hide = true)]
    pub extra: Vec<OsString>,
}

/// `[SECTION]`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// settings, items, slabs, sizes, conns...
    #[arg(value_name = "SECTION")]
    pub section: Option<OsString>,
    #[arg(hide = true)]
    pub extra: Vec<OsString>,
}

/// No arguments.
#[derive(Args, Debug)]
pub struct NoArgs {
    #[arg(hide = true)]
    pub extra: Vec<OsString>,
}

/// `[--delay SECONDS]`.
#[derive(Args, Debug)]
pub struct FlushArgs {
    /// Seconds until the flush takes effect (0 or more).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub delay: Option<String>,
    #[arg(hide = true)]
    pub extra: Vec<OsString>,
}

/// `SHELL`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// The clap command of the whole command line: every command takes
/// negative numbers as arguments, lets a repeated option's last value win,
/// and prints its help under the program's first line.
pub fn command() -> clap::Command {
    let mut cmd = Top::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        let usage = spec(&name).map(|spec| spec.help_usage());
        cmd = cmd.mut_subcommand(name, |sub| {
            let sub = sub
                .term_width(80)
                .allow_negative_numbers(true)
                .args_override_self(true)
                .help_template(COMMAND_TEMPLATE);
            match usage {
                Some(usage) => sub.override_usage(usage),
                None => sub,
            }
        });
    }
    cmd
}

/// A value of a fixed list (`--hash`, `--protocol`), with the command
/// line's own message for anything else; the list feeds completions.
#[derive(Clone)]
pub struct Choice<T: 'static> {
    option: &'static str,
    choices: &'static [(&'static str, T)],
}

impl<T> Choice<T> {
    /// The values `choices` of `option`.
    pub const fn new(option: &'static str, choices: &'static [(&'static str, T)]) -> Self {
        Choice { option, choices }
    }
}

impl<T: Copy + Send + Sync + 'static> TypedValueParser for Choice<T> {
    type Value = T;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        parse_choice(self.option, &value.to_string_lossy(), self.choices).map_err(|message| {
            let mut e = clap::Error::raw(ErrorKind::ValueValidation, message);
            e.insert(
                ContextKind::InvalidArg,
                ContextValue::String(self.option.to_owned()),
            );
            e
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            self.choices
                .iter()
                .map(|(name, _)| PossibleValue::new(*name)),
        ))
    }
}

/// A parser of `option`'s seconds: positive, at most a day.
pub fn seconds(option: &'static str) -> impl TypedValueParser<Value = Duration> {
    clap::builder::StringValueParser::new().try_map(move |text| parse_timeout(option, &text))
}
