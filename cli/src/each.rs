//! The commands that answer for every server, one after the other:
//! `stats` and `version` with several servers, `dump` and `ping` always.
//!
//! With several servers each line starts with the server as given and a
//! tab (`dump` follows `route`: the key, a tab, the server); a server that
//! fails gets a line on stderr, the others still answer, and the command
//! exits 2. With one server, `dump` prints bare keys and an error is the
//! command's error, as for every other command.

use std::io::Write;
use std::time::{Duration, Instant};

use memcrab::core::{Reply, Request};
use memcrab::{Client, Error, Memcache};

use crate::args::Command;
use crate::client::Server;
use crate::output::Output;
use crate::run::{one, unexpected, Failure, Status};

/// memcached's key dump: every item's metadata, a line each, then `END`.
const METADUMP: &[u8] = b"lru_crawler metadump all";

/// Runs `command` on every server of `servers`.
///
/// # Errors
///
/// With one server, its error; an error writing the output.
pub fn run<O: Write, E: Write>(
    servers: &[(&Server, Client)],
    command: &Command,
    out: &mut Output<O, E>,
) -> Result<Status, Failure> {
    let several = servers.len() > 1;
    let mut status = Status::Success;
    for (server, client) in servers {
        let column = several.then_some(server.given.as_str());
        match answer(client, command, &server.given, column, out) {
            Ok(()) => {}
            Err(Failure::Client(e)) if several => {
                out.message(&crate::describe(&e, &client.server().to_string()))?;
                status = Status::Error;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(status)
}

/// One server's answer (the server written `given`), its lines prefixed
/// with `column` if given.
fn answer<O: Write, E: Write>(
    client: &Client,
    command: &Command,
    given: &str,
    column: Option<&str>,
    out: &mut Output<O, E>,
) -> Result<(), Failure> {
    match command {
        Command::Stats { section } => {
            let args: Vec<&[u8]> = section.iter().map(Vec::as_slice).collect();
            match one(client, Request::Stats { args: &args })? {
                Some(Reply::Stats(pairs)) => {
                    for (name, value) in &pairs {
                        out.stat_of(column, name, value)?;
                    }
                }
                // `stats reset` and the like answer OK.
                Some(Reply::Ok) => {}
                Some(other) => return Err(unexpected(&other).into()),
                None => return Err(unexpected(&Reply::Ok).into()),
            }
        }
        Command::Version => out.text_of(column, &client.version()?)?,
        Command::Dump => {
            let dump = client.raw_command(METADUMP, b"END\r\n")?;
            for line in dump.split(|&b| b == b'\n') {
                if let Some(key) = metadump_key(line) {
                    out.key_of(&key, column)?;
                }
            }
        }
        Command::Ping => {
            // The first request opens the connection; the second is timed.
            client.version()?;
            let started = Instant::now();
            client.version()?;
            out.ping(given, started.elapsed())?;
        }
        _ => {
            return Err(
                Error::Config("this command does not answer for every server".to_owned()).into(),
            )
        }
    }
    Ok(())
}

/// The key of a metadump line (`key=a%20b exp=-1 …`), URI-decoded.
fn metadump_key(line: &[u8]) -> Option<Vec<u8>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let field = line.strip_prefix(b"key=")?;
    let encoded = field.split(|&b| b == b' ').next().unwrap_or(field);
    let mut key = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match encoded[i..] {
            [b'%', hi, lo, ..] if hex(hi).is_some() && hex(lo).is_some() => {
                let byte = hex(hi).unwrap_or(0) * 16 + hex(lo).unwrap_or(0);
                key.push(byte as u8);
                i += 3;
            }
            [b, ..] => {
                key.push(b);
                i += 1;
            }
            [] => break,
        }
    }
    Some(key)
}

/// `0.123 ms`.
pub fn milliseconds(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadump_keys_are_decoded() {
        let key = |line: &[u8]| metadump_key(line);
        assert_eq!(
            key(b"key=a%25b exp=-1 la=1 cas=1 fetch=no cls=1 size=63"),
            Some(b"a%b".to_vec())
        );
        assert_eq!(
            key(b"key=%C3%A9 exp=-1"),
            Some("\u{e9}".as_bytes().to_vec())
        );
        assert_eq!(key(b"key=plain"), Some(b"plain".to_vec()));
        // A stray percent sign stays as it is.
        assert_eq!(key(b"key=50%"), Some(b"50%".to_vec()));
        assert_eq!(key(b"END"), None);
        assert_eq!(key(b""), None);
    }

    #[test]
    fn milliseconds_have_three_decimals() {
        assert_eq!(milliseconds(Duration::from_micros(1234)), "1.234 ms");
    }
}
