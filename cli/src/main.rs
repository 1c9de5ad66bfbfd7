//! `memcrab`: a memcached command line client.
//!
//! `memcrab [--servers LIST] [--hash HASH] [--protocol PROTOCOL]
//! [--timeout SECONDS] COMMAND [ARGS]`; see
//! `memcrab --help` ([`args::HELP`]). Exit status: 0 success, 1 a missing
//! key or a value not stored, 2 any error.

mod args;
mod bench;
mod client;
mod output;
mod run;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use memcrab::address::parse_server_list;
use memcrab::Error;

use crate::args::{Cli, Parsed};
use crate::client::{Server, Target};
use crate::output::{write_message, Output};
use crate::run::{Failure, Status};

/// Exit status: success.
const EXIT_OK: u8 = 0;
/// Exit status: a missing key, a value not stored.
const EXIT_MISS: u8 = 1;
/// Exit status: any error.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    ExitCode::from(real_main())
}

fn real_main() -> u8 {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(status) = bench::dispatch(&argv) {
        return status;
    }
    let cli = match args::parse(argv) {
        Ok(Parsed::Run(cli)) => cli,
        Ok(Parsed::Help) => return print_stdout(args::HELP.as_bytes()),
        Ok(Parsed::Version) => {
            let line = format!("memcrab {}\n", env!("CARGO_PKG_VERSION"));
            return print_stdout(line.as_bytes());
        }
        Err(usage) => {
            let mut err = io::stderr().lock();
            // One line, as every error: the message, then the usage hint.
            let line = format!("{} ({})", usage.message, usage.usage);
            let _ = write_message(&mut err, &line);
            return EXIT_ERROR;
        }
    };
    let servers = match server_list(&cli) {
        Ok(servers) => servers,
        Err(message) => return fail(&message),
    };
    let client = match Target::new(servers, cli.hash, cli.protocol, cli.timeout) {
        Ok(client) => client,
        Err(e) => return fail(&message(&e)),
    };

    let stdout = io::stdout().lock();
    let mut out = Output::new(BufWriter::new(stdout), io::stderr().lock());
    let result = client.run(&cli.command, &mut out);
    let flushed = out.flush();
    drop(out);
    match (result, flushed) {
        (Ok(status), Ok(())) => match status {
            Status::Success => EXIT_OK,
            Status::Miss => EXIT_MISS,
        },
        (Err(Failure::Client(e)), _) => fail(&describe(&e, &client.describe_server(&cli.command))),
        (Err(Failure::Output(e)), _) | (Ok(_), Err(e)) => output_failed(&e),
    }
}

/// The servers of `--servers`, else `$MEMCACHED_SERVERS` (when set and not
/// empty), else the default; each with the text it was given as.
fn server_list(cli: &Cli) -> Result<Vec<Server>, String> {
    let from_env = std::env::var(args::SERVERS_ENV)
        .ok()
        .filter(|list| !list.trim().is_empty());
    let list = match (&cli.servers, &from_env) {
        (Some(list), _) => list.as_str(),
        (None, Some(list)) => list.as_str(),
        (None, None) => args::DEFAULT_SERVER,
    };
    let addrs = parse_server_list(list).map_err(|e| e.to_string())?;
    // The items as `parse_server_list` splits them: at commas, without
    // the blanks around each.
    let given = list.split(',').map(str::trim);
    Ok(given
        .zip(addrs)
        .map(|(given, addr)| Server {
            given: given.to_owned(),
            addr,
        })
        .collect())
}

/// An error on one line, as `memcrab` has always printed it: a server's
/// refusal, timeout or close as `<what happened> (server <server>)`, any other
/// error with its causes (`I/O error with <server>: <what the OS said>`).
pub(crate) fn message(e: &Error) -> String {
    match e {
        Error::Remote { server, error } => format!("{error} (server {server})"),
        e => e.report().to_string(),
    }
}

/// The error's message, naming the server when a connection error does not.
fn describe(e: &Error, server: &str) -> String {
    let message = message(e);
    if e.is_connection_error() && !message.contains(server) {
        format!("{message} (server {server})")
    } else {
        message
    }
}

fn fail(message: &str) -> u8 {
    let _ = write_message(&mut io::stderr().lock(), message);
    EXIT_ERROR
}

fn print_stdout(bytes: &[u8]) -> u8 {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(e) => output_failed(&e),
    }
}

/// A closed pipe (`memcrab stats | head`) ends quietly; other write errors
/// are reported.
fn output_failed(e: &io::Error) -> u8 {
    if e.kind() != io::ErrorKind::BrokenPipe {
        let _ = write_message(
            &mut io::stderr().lock(),
            &format!("cannot write output: {e}"),
        );
    }
    EXIT_ERROR
}
