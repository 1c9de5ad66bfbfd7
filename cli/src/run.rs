//! Running one command against any [`Memcache`] client.
//!
//! Everything here is generic over the client, so a routing client (a hash
//! client over several servers) can replace the single-server one without
//! touching the commands. Keys go to the library as given: it checks them
//! before anything is sent.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use memcrab::core::{GetCommand, Item, Reply, Request, StoreCommand};
use memcrab::{Error, Expiry, Memcache, StoreOptions, Value};

use crate::args::{Command, StoreOp};
use crate::output::{self, Output};
use crate::value;

/// How a command that ran ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Done (exit 0).
    Success,
    /// A key was missing or a value not stored (exit 1).
    Miss,
    /// A server failed, the others answered; its message is printed
    /// (exit 2).
    Error,
}

/// Why a command could not run.
#[derive(Debug)]
pub enum Failure {
    /// The library's error: bad input, the server's error, the connection.
    Client(Error),
    /// Writing the result failed.
    Output(io::Error),
    /// A value could not be read, or a file not written: the message.
    Input(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Client(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Output(e)
    }
}

/// Runs `command` with `client`, printing to `out`.
///
/// # Errors
///
/// The client's error, or an error writing the output.
pub fn run<C: Memcache, O: Write, E: Write>(
    client: &C,
    command: &Command,
    out: &mut Output<O, E>,
) -> Result<Status, Failure> {
    match command {
        Command::Get {
            keys,
            output: Some(path),
            show_flags,
        } => {
            let mut file = Output::new(LazyFile::new(path), io::sink());
            let status = get(client, keys, *show_flags, &mut file)?;
            let (mut file, _) = file.into_parts();
            if status == Status::Success {
                file.open()?;
            }
            file.flush()?;
            Ok(status)
        }
        Command::Get {
            keys, show_flags, ..
        } => get(client, keys, *show_flags, out),
        Command::Gets { key } => match client.gets(key)? {
            Some((value, token)) => {
                out.token_value(token, bytes_of(key, &value)?)?;
                Ok(Status::Success)
            }
            None => Ok(Status::Miss),
        },
        Command::Store {
            op,
            key,
            value,
            ttl,
            flags,
        } => {
            let value = value::load(value)?;
            let stored = client.store_with(
                store_command(*op),
                key,
                Value::from(value),
                store_options(*ttl, *flags),
            )?;
            if stored {
                Ok(Status::Success)
            } else {
                out.message(output::NOT_STORED)?;
                Ok(Status::Miss)
            }
        }
        Command::Cas {
            key,
            value,
            token,
            ttl,
            flags,
        } => {
            let opts = store_options(*ttl, *flags);
            let value = value::load(value)?;
            match client.cas(key, Value::from(value), *token, opts)? {
                Some(true) => Ok(Status::Success),
                Some(false) => {
                    out.message(output::CAS_EXISTS)?;
                    Ok(Status::Miss)
                }
                None => {
                    out.message(&output::cas_not_found(key))?;
                    Ok(Status::Miss)
                }
            }
        }
        Command::Delete { keys } => delete(client, keys, out),
        Command::Arith { decr, key, delta } => {
            let result = if *decr {
                client.decr(key, *delta)?
            } else {
                client.incr(key, *delta)?
            };
            match result {
                Some(n) => {
                    out.number(n)?;
                    Ok(Status::Success)
                }
                None => {
                    out.message(&output::not_found(key))?;
                    Ok(Status::Miss)
                }
            }
        }
        Command::Touch { key, ttl } => {
            if client.touch_with(key, expiry(*ttl), false)? {
                Ok(Status::Success)
            } else {
                out.message(&output::not_found(key))?;
                Ok(Status::Miss)
            }
        }
        Command::Stats { section } => {
            // One server: `NAME VALUE` lines (several: `each::run`).
            let args: Vec<&[u8]> = section.iter().map(Vec::as_slice).collect();
            // The raw pairs, so values print exactly as the server sent them.
            match one(client, Request::Stats { args: &args })? {
                Some(Reply::Stats(pairs)) => {
                    for (name, value) in &pairs {
                        out.stat(name, value)?;
                    }
                }
                // `stats reset` and the like answer OK.
                Some(Reply::Ok) => {}
                Some(other) => return Err(unexpected(&other).into()),
                None => return Err(unexpected(&Reply::Ok).into()),
            }
            Ok(Status::Success)
        }
        Command::Version => {
            out.text(&client.version()?)?;
            Ok(Status::Success)
        }
        Command::Flush { delay } => {
            client.flush_all_with(Duration::from_secs(delay.unsigned_abs()), false)?;
            Ok(Status::Success)
        }
        // Answered from the server list alone, or by every server in turn
        // (`Target::run`).
        Command::Route { .. } | Command::Dump | Command::Ping => Err(Error::Config(
            "route, dump and ping are answered by the server list".to_owned(),
        )
        .into()),
    }
}

/// Deletes every key with one batch (the library checks every key before
/// sending any), reporting each missing key.
fn delete<C: Memcache, O: Write, E: Write>(
    client: &C,
    keys: &[Vec<u8>],
    out: &mut Output<O, E>,
) -> Result<Status, Failure> {
    let requests: Vec<Request<'_>> = keys
        .iter()
        .map(|key| Request::Delete {
            key,
            noreply: false,
        })
        .collect();
    let outcomes = client.execute(&requests)?;
    let mut status = Status::Success;
    for (key, outcome) in keys.iter().zip(outcomes) {
        match outcome {
            Some(Ok(Reply::Deleted)) => {}
            Some(Ok(Reply::NotFound)) => {
                out.message(&output::not_found(key))?;
                status = Status::Miss;
            }
            Some(Ok(other)) => return Err(unexpected(&other).into()),
            Some(Err(e)) => return Err(e.into()),
            None => return Err(unexpected(&Reply::Ok).into()),
        }
    }
    Ok(status)
}

/// `get KEY...`: each key found, in the order given; with `show_flags`
/// its flags too.
fn get<C: Memcache, O: Write, E: Write>(
    client: &C,
    keys: &[Vec<u8>],
    show_flags: bool,
    out: &mut Output<O, E>,
) -> Result<Status, Failure> {
    if !show_flags {
        if let [key] = keys {
            return match client.get::<Value>(key)? {
                Some(value) => {
                    let value = bytes_of(key, &value)?;
                    out.value(value)?;
                    Ok(Status::Success)
                }
                None => Ok(Status::Miss),
            };
        }
        let found = client.get_many::<Value, _>(keys)?;
        let mut status = Status::Success;
        for key in keys {
            match found.get(key) {
                Some(value) => {
                    let value = bytes_of(key, value)?;
                    out.key_value(key, value)?;
                }
                None => status = Status::Miss,
            }
        }
        return Ok(status);
    }
    let items = fetch(client, keys)?;
    let mut status = Status::Success;
    for key in keys {
        match items.get(key.as_slice()) {
            Some(item) if keys.len() == 1 => {
                out.flags_value(item.flags, &item.value)?;
            }
            Some(item) => out.key_flags_value(key, item.flags, &item.value)?,
            None => status = Status::Miss,
        }
    }
    Ok(status)
}

/// The items of `keys` (with their flags), by key.
fn fetch<C: Memcache>(client: &C, keys: &[Vec<u8>]) -> Result<HashMap<Vec<u8>, Item>, Error> {
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let request = Request::Get {
        command: GetCommand::Get,
        keys: &refs,
    };
    match one(client, request)? {
        Some(Reply::Values(items)) => Ok(items
            .into_iter()
            .map(|item| (item.key.to_vec(), item))
            .collect()),
        Some(other) => Err(unexpected(&other)),
        None => Ok(HashMap::new()),
    }
}

/// `get --output PATH`: the file, created at the first write (or by
/// [`open`](LazyFile::open)), so a miss leaves no file behind.
struct LazyFile<'p> {
    path: &'p Path,
    file: Option<BufWriter<File>>,
}

impl<'p> LazyFile<'p> {
    fn new(path: &'p Path) -> Self {
        LazyFile { path, file: None }
    }

    /// The file, created (or truncated) if not yet.
    fn open(&mut self) -> io::Result<&mut BufWriter<File>> {
        if self.file.is_none() {
            let file = File::create(self.path).map_err(|e| self.named(&e))?;
            self.file = Some(BufWriter::new(file));
        }
        match self.file.as_mut() {
            Some(file) => Ok(file),
            None => Err(io::Error::other("unreachable: the file was just opened")),
        }
    }

    /// `e`, naming the file.
    fn named(&self, e: &io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
    }
}

impl Write for LazyFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.open()?.write(buf);
        result.map_err(|e| self.named(&e))
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = match self.file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        };
        result.map_err(|e| self.named(&e))
    }
}

/// Sends one request and returns its reply.
pub fn one<C: Memcache>(client: &C, request: Request<'_>) -> Result<Option<Reply>, Error> {
    let mut outcomes = client.execute(&[request])?;
    match outcomes.pop().flatten() {
        Some(reply) => reply.map(Some),
        None => Ok(None),
    }
}

fn store_command(op: StoreOp) -> StoreCommand {
    match op {
        StoreOp::Set => StoreCommand::Set,
        StoreOp::Add => StoreCommand::Add,
        StoreOp::Replace => StoreCommand::Replace,
        StoreOp::Append => StoreCommand::Append,
        StoreOp::Prepend => StoreCommand::Prepend,
    }
}

/// The `--ttl` seconds as memcached reads them: 0 never, up to 30 days
/// relative, more an absolute Unix time, negative already expired.
pub(crate) fn expiry(ttl: i64) -> Expiry {
    const MAX_RELATIVE: i64 = 60 * 60 * 24 * 30;
    match u64::try_from(ttl) {
        Ok(0) => Expiry::Never,
        Ok(secs) if ttl <= MAX_RELATIVE => Expiry::After(Duration::from_secs(secs)),
        Ok(secs) => Expiry::At(UNIX_EPOCH + Duration::from_secs(secs)),
        Err(_) => Expiry::At(UNIX_EPOCH),
    }
}

/// Always waits for the server's reply.
fn store_options(ttl: i64, flags: Option<u32>) -> StoreOptions {
    let opts = StoreOptions::new().expire(expiry(ttl)).noreply(false);
    match flags {
        Some(flags) => opts.flags(flags),
        None => opts,
    }
}

/// The bytes of a fetched value (the raw serde gives bytes only).
fn bytes_of<'v>(key: &[u8], value: &'v Value) -> Result<&'v [u8], Error> {
    value.as_bytes().ok_or_else(|| {
        Error::Config(format!(
            "the value of {} is not bytes",
            output::show_key(key)
        ))
    })
}

/// The error for a reply of the wrong kind.
pub fn unexpected(reply: &Reply) -> Error {
    Error::Protocol(memcrab::core::Error::UnexpectedReply(format!("{reply:?}")))
}
