//! What clap parsed, checked into a [`Parsed`]: argument counts, numbers
//! and the TLS options, in the words scripts have always seen.

use std::ffi::OsString;
use std::time::Duration;

use super::spec::{Arith, StoreArgs, StoreOptions, Sub, Top};
use super::{
    spec, Cli, Command, Parsed, Payload, Spec, StoreOp, UsageError, COMMANDS, DEFAULT_TIMEOUT,
    MAX_SECONDS,
};

/// Turns what clap parsed into a [`Parsed`], checking argument counts and
/// numbers.
pub fn build(top: Top) -> Result<Parsed, UsageError> {
    let Top {
        servers,
        hash,
        protocol,
        timeout,
        tls,
        command,
    } = top;
    crate::tls::check(&tls).map_err(UsageError::general)?;
    let mut cli = Cli {
        servers,
        hash: hash.unwrap_or_default(),
        protocol: protocol.unwrap_or_default(),
        timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        tls,
        command: Command::Version,
    };
    cli.command = match command {
        Sub::Get(a) => {
            check("get", a.keys.len(), false)?;
            Command::Get {
                keys: bytes_all(a.keys),
                output: a.output,
                show_flags: a.show_flags,
            }
        }
        Sub::Gets(a) => {
            check("gets", 1 + a.extra.len(), false)?;
            Command::Gets { key: bytes(a.key) }
        }
        Sub::Set(a) => store("set", StoreOp::Set, a)?,
        Sub::Add(a) => store("add", StoreOp::Add, a)?,
        Sub::Replace(a) => store("replace", StoreOp::Replace, a)?,
        Sub::Append(a) => store("append", StoreOp::Append, a)?,
        Sub::Prepend(a) => store("prepend", StoreOp::Prepend, a)?,
        Sub::Cas(a) => {
            let file = a.options.file.is_some();
            let given = [a.value.is_some(), a.token.is_some()];
            let got = 1 + given.iter().filter(|&&g| g).count() + a.extra.len();
            check("cas", got, file)?;
            let err = |m: String| UsageError::of("cas", m);
            let (ttl, flags) = store_options(&a.options).map_err(err)?;
            // With --file the second argument is the token.
            let (value, token) = match (a.options.file, a.value, a.token) {
                (Some(path), Some(token), None) => (Payload::File(path), token),
                (None, Some(value), Some(token)) => (payload(value), token),
                _ => return Err(spec_of("cas").count_error(got, file)),
            };
            let token = lossy(&bytes(token));
            Command::Cas {
                key: bytes(a.key),
                value,
                token: parse_int(&token, "TOKEN", "a cas token from gets").map_err(err)?,
                ttl,
                flags,
            }
        }
        Sub::Delete(a) => {
            check("delete", a.keys.len(), false)?;
            Command::Delete {
                keys: bytes_all(a.keys),
            }
        }
        Sub::Incr(a) => arith(false, a)?,
        Sub::Decr(a) => arith(true, a)?,
        Sub::Touch(a) => {
            check("touch", 2 + a.extra.len(), false)?;
            let ttl = lossy(&bytes(a.ttl));
            Command::Touch {
                key: bytes(a.key),
                ttl: parse_int(&ttl, "TTL", "a whole number of seconds")
                    .map_err(|m| UsageError::of("touch", m))?,
            }
        }
        Sub::Stats(a) => {
            check(
                "stats",
                usize::from(a.section.is_some()) + a.extra.len(),
                false,
            )?;
            Command::Stats {
                section: a.section.map(bytes),
            }
        }
        Sub::Version(a) => {
            check("version", a.extra.len(), false)?;
            Command::Version
        }
        Sub::Flush(a) => {
            check("flush", a.extra.len(), false)?;
            let delay = a
                .delay
                .map(|v| parse_int::<u32>(&v, "--delay", "a whole number of seconds, 0 or more"))
                .transpose()
                .map_err(|m| UsageError::of("flush", m))?;
            Command::Flush {
                delay: delay.map_or(0, i64::from),
            }
        }
        Sub::Route(a) => {
            check("route", a.keys.len(), false)?;
            Command::Route {
                keys: bytes_all(a.keys),
            }
        }
        Sub::Dump(a) => {
            check("dump", a.extra.len(), false)?;
            Command::Dump
        }
        Sub::Ping(a) => {
            check("ping", a.extra.len(), false)?;
            Command::Ping
        }
        Sub::Completions(a) => return Ok(Parsed::Completions(a.shell)),
        Sub::Bench(a) => {
            let config = crate::bench::config(a, &cli).map_err(|m| UsageError::of("bench", m))?;
            return Ok(Parsed::Bench(Box::new(config)));
        }
    };
    Ok(Parsed::Run(cli))
}

fn spec_of(name: &str) -> &'static Spec {
    spec(name).unwrap_or(&COMMANDS[0])
}

/// Checks the number of positional arguments of `name`.
fn check(name: &str, got: usize, with_file: bool) -> Result<(), UsageError> {
    let spec = spec_of(name);
    let (min, max) = spec.counts(with_file);
    if got < min || got > max {
        return Err(spec.count_error(got, with_file));
    }
    Ok(())
}

/// `set|add|replace|append|prepend`.
fn store(name: &str, op: StoreOp, a: StoreArgs) -> Result<Command, UsageError> {
    let file = a.options.file.is_some();
    let got = 1 + usize::from(a.value.is_some()) + a.extra.len();
    check(name, got, file)?;
    let (ttl, flags) = store_options(&a.options).map_err(|m| UsageError::of(name, m))?;
    let value = match (a.options.file, a.value) {
        (Some(path), None) => Payload::File(path),
        (None, Some(value)) => payload(value),
        _ => return Err(spec_of(name).count_error(got, file)),
    };
    Ok(Command::Store {
        op,
        key: bytes(a.key),
        value,
        ttl,
        flags,
    })
}

/// `incr|decr KEY N`.
fn arith(decr: bool, a: Arith) -> Result<Command, UsageError> {
    let name = if decr { "decr" } else { "incr" };
    check(name, 2 + a.extra.len(), false)?;
    let delta = lossy(&bytes(a.delta));
    Ok(Command::Arith {
        decr,
        key: bytes(a.key),
        delta: parse_int(&delta, "N", "a number from 0 to 18446744073709551615")
            .map_err(|m| UsageError::of(name, m))?,
    })
}

/// `--ttl` (default 0) and `--flags`.
fn store_options(o: &StoreOptions) -> Result<(i64, Option<u32>), String> {
    let ttl = o
        .ttl
        .as_deref()
        .map(|v| parse_int::<i64>(v, "--ttl", "a whole number of seconds"))
        .transpose()?
        .unwrap_or(0);
    let flags = o
        .flags
        .as_deref()
        .map(|v| parse_int::<u32>(v, "--flags", "a number from 0 to 4294967295"))
        .transpose()?;
    Ok((ttl, flags))
}

/// A VALUE argument: `-` is standard input.
fn payload(value: OsString) -> Payload {
    if value == "-" {
        Payload::Stdin
    } else {
        Payload::Bytes(bytes(value))
    }
}

fn bytes(arg: OsString) -> Vec<u8> {
    arg.into_encoded_bytes()
}

fn bytes_all(args: Vec<OsString>) -> Vec<Vec<u8>> {
    args.into_iter().map(bytes).collect()
}

/// Bytes as text for messages and number parsing.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses an integer argument, naming it in the error.
pub fn parse_int<T: std::str::FromStr>(
    text: &str,
    what: &str,
    expected: &str,
) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("invalid {what} '{text}': expected {expected}"))
}

/// Parses the value of `option`, one of `choices` (exact, lower case).
pub fn parse_choice<T: Copy>(option: &str, text: &str, choices: &[(&str, T)]) -> Result<T, String> {
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

/// Parses seconds for `option`: positive, possibly fractional, at most
/// [`MAX_SECONDS`].
pub fn parse_timeout(option: &str, text: &str) -> Result<Duration, String> {
    let seconds = text
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| {
            format!("invalid {option} '{text}': expected a number of seconds greater than 0")
        })?;
    if seconds > MAX_SECONDS {
        return Err(format!(
            "invalid {option} '{text}': at most {MAX_SECONDS} seconds (a day)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}
