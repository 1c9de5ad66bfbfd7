//! Commands built from JavaScript arguments, owned until they are encoded.
//!
//! [`build`] is the one place where a command's name and JS arguments
//! become a [`Command`] and the [`Shape`] of its result: `Protocol` and
//! `Session` both call it, so a command takes the same arguments and
//! options, and gives the same result, whichever drives it.

use memcrab_core::{
    Connection, Error, GetCommand, KeyPolicy, Millis, Request, RequestId, StoreCommand,
};
use wasm_bindgen::JsValue;

use crate::convert::{self, field};
use crate::error::bad_argument as type_error;
use crate::meta::MetaCommand;
use crate::shape::Shape;

/// Which front end builds a command: the names of its time option differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Front {
    /// `Protocol`: `deadline`, milliseconds on the caller's clock.
    Protocol,
    /// `Session`/`Client`: `timeoutMs`, and `server` for `stats`/`version`.
    Session,
}

impl Front {
    fn time_option(self) -> &'static str {
        match self {
            Front::Protocol => "deadline",
            Front::Session => "timeoutMs",
        }
    }
}

/// A command ready to submit, with how its reply becomes its result.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) command: Command,
    pub(crate) shape: Shape,
    /// `deadline` (Protocol) or `timeoutMs` (Session), when given.
    pub(crate) time: Option<f64>,
    /// `server` (Session's `stats`, `version`, `shutdown`, `metaNoop`): the
    /// server's index or name.
    pub(crate) server: JsValue,
}

/// Builds the command `op` from its JS arguments `a`, `b`, `c` (positional,
/// as the JS method takes them; the options object is the last one).
pub(crate) fn build(
    front: Front,
    op: &str,
    a: &JsValue,
    b: &JsValue,
    c: &JsValue,
) -> Result<Call, JsValue> {
    let time = front.time_option();
    let store_opts: &[&str] = &["flags", "expire", "noreply", time];
    let plain: &[&str] = &[time];
    let write_opts: &[&str] = &["noreply", time];
    let server_opts: &[&str] = &[time, "server"];
    let (command, shape, o, known): (Command, Shape, &JsValue, &[&str]) = match op {
        "set" | "add" | "replace" | "append" | "prepend" => {
            let command = match op {
                "set" => StoreCommand::Set,
                "add" => StoreCommand::Add,
                "replace" => StoreCommand::Replace,
                "append" => StoreCommand::Append,
                _ => StoreCommand::Prepend,
            };
            check(c, store_opts, op)?;
            let command = Command::store(command, a, b, c)?;
            (command, Shape::Store, c, store_opts)
        }
        "get" | "gets" => {
            let command = if op == "get" {
                GetCommand::Get
            } else {
                GetCommand::Gets
            };
            (Command::get_one(command, a)?, Shape::One, b, plain)
        }
        "getMany" | "getsMany" => {
            let command = if op == "getMany" {
                GetCommand::Get
            } else {
                GetCommand::Gets
            };
            (Command::get_many(command, a)?, Shape::Many, b, plain)
        }
        "delete" => {
            check(b, write_opts, op)?;
            let command = Command::Delete {
                key: convert::bytes(a, "key")?,
                noreply: noreply(b)?,
            };
            (command, Shape::Delete, b, write_opts)
        }
        "incr" | "decr" => {
            check(c, write_opts, op)?;
            let key = convert::bytes(a, "key")?;
            let delta = if b.is_undefined() {
                1
            } else {
                convert::u64_arg(b, "delta")?
            };
            let noreply = noreply(c)?;
            let command = if op == "incr" {
                Command::Incr {
                    key,
                    delta,
                    noreply,
                }
            } else {
                Command::Decr {
                    key,
                    delta,
                    noreply,
                }
            };
            (command, Shape::Arith, c, write_opts)
        }
        "touch" => {
            check(c, write_opts, op)?;
            if b.is_undefined() || b.is_null() {
                return Err(type_error("touch needs an expiration in seconds"));
            }
            let command = Command::Touch {
                key: convert::bytes(a, "key")?,
                exptime: convert::i64_or(b, "expire", 0)?,
                noreply: noreply(c)?,
            };
            (command, Shape::Touch, c, write_opts)
        }
        "stats" => (Command::stats(a)?, Shape::Stats, b, server_opts),
        "version" => (Command::Version, Shape::Version, a, server_opts),
        "flushAll" => {
            check(b, write_opts, op)?;
            let command = Command::FlushAll {
                delay: convert::i64_or(a, "delay", 0)?,
                noreply: noreply(b)?,
            };
            (command, Shape::Ok, b, write_opts)
        }
        "quit" => (Command::Quit, Shape::Nothing, &JsValue::UNDEFINED, &[]),
        "shutdown" => {
            let known: &[&str] = &["graceful", "server"];
            check(a, known, op)?;
            let graceful = convert::bool_field(a, "graceful", false)?;
            (Command::Shutdown { graceful }, Shape::Nothing, a, known)
        }
        "metaGet" => meta(b, op, time, |o| MetaCommand::get(a, o))?,
        "metaSet" => meta(c, op, time, |o| MetaCommand::set(a, b, o))?,
        "metaDelete" => meta(b, op, time, |o| MetaCommand::delete(a, o))?,
        "metaArithmetic" => meta(b, op, time, |o| MetaCommand::arithmetic(a, o))?,
        "metaNoop" => {
            check(a, server_opts, op)?;
            (
                Command::Meta(MetaCommand::Noop),
                Shape::Meta,
                a,
                server_opts,
            )
        }
        "metaDebug" => {
            check(b, plain, op)?;
            (Command::Meta(MetaCommand::debug(a)?), Shape::Meta, b, plain)
        }
        other => return Err(type_error(&format!("unknown command {other:?}"))),
    };
    check(o, known, op)?;
    let time = convert::millis_f64(&field(o, time), &format!("option {time}"))?;
    let server = if known.contains(&"server") {
        field(o, "server")
    } else {
        JsValue::UNDEFINED
    };
    Ok(Call {
        command,
        shape,
        time,
        server,
    })
}

/// Builds `cas(key, value, token, options)`, the one command with four
/// arguments.
pub(crate) fn build_cas(
    front: Front,
    key: &JsValue,
    value: &JsValue,
    token: &JsValue,
    o: &JsValue,
) -> Result<Call, JsValue> {
    let time = front.time_option();
    let known: &[&str] = &["flags", "expire", "noreply", time];
    check(o, known, "cas")?;
    let cas = convert::u64_arg(token, "cas token")?;
    Ok(Call {
        command: Command::store(StoreCommand::Cas(cas), key, value, o)?,
        shape: Shape::Cas,
        time: convert::millis_f64(&field(o, time), &format!("option {time}"))?,
        server: JsValue::UNDEFINED,
    })
}

fn check(o: &JsValue, known: &[&str], op: &str) -> Result<(), JsValue> {
    convert::check_options(o, known, op)
}

fn noreply(o: &JsValue) -> Result<bool, JsValue> {
    convert::bool_field(o, "noreply", false)
}

/// Builds a meta command from its options object `o`.
fn meta<'a>(
    o: &'a JsValue,
    op: &str,
    time: &'static str,
    build: impl FnOnce(&JsValue) -> Result<MetaCommand, JsValue>,
) -> Result<(Command, Shape, &'a JsValue, &'static [&'static str]), JsValue> {
    let known = crate::meta::options(op, time);
    convert::check_options(o, known, op)?;
    Ok((Command::Meta(build(o)?), Shape::Meta, o, known))
}

/// One command with owned keys and value, ready to be borrowed as a
/// [`Request`].
#[derive(Clone, Debug)]
pub(crate) enum Command {
    Store {
        command: StoreCommand,
        key: Vec<u8>,
        value: Vec<u8>,
        flags: u32,
        exptime: i64,
        noreply: bool,
    },
    Get {
        command: GetCommand,
        keys: Vec<Vec<u8>>,
    },
    Touch {
        key: Vec<u8>,
        exptime: i64,
        noreply: bool,
    },
    Delete {
        key: Vec<u8>,
        noreply: bool,
    },
    Incr {
        key: Vec<u8>,
        delta: u64,
        noreply: bool,
    },
    Decr {
        key: Vec<u8>,
        delta: u64,
        noreply: bool,
    },
    Stats {
        args: Vec<Vec<u8>>,
    },
    Version,
    FlushAll {
        delay: i64,
        noreply: bool,
    },
    Quit,
    Shutdown {
        graceful: bool,
    },
    Meta(MetaCommand),
}

impl Command {
    /// A storage command from `(key, value, options)`.
    pub(crate) fn store(
        command: StoreCommand,
        key: &JsValue,
        value: &JsValue,
        options: &JsValue,
    ) -> Result<Self, JsValue> {
        let flags = field(options, "flags");
        let flags = if flags.is_undefined() || flags.is_null() {
            0
        } else {
            match flags.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => n as u32,
                _ => {
                    return Err(type_error(
                        "option flags must be an integer from 0 to 2^32-1",
                    ))
                }
            }
        };
        Ok(Command::Store {
            command,
            key: convert::bytes(key, "key")?,
            value: convert::bytes(value, "value")?,
            flags,
            exptime: convert::i64_or(&field(options, "expire"), "option expire", 0)?,
            noreply: convert::bool_field(options, "noreply", false)?,
        })
    }

    /// A retrieval command for one key.
    pub(crate) fn get_one(command: GetCommand, key: &JsValue) -> Result<Self, JsValue> {
        Ok(Command::Get {
            command,
            keys: vec![convert::bytes(key, "key")?],
        })
    }

    /// A retrieval command for an array of keys.
    pub(crate) fn get_many(command: GetCommand, keys: &JsValue) -> Result<Self, JsValue> {
        Ok(Command::Get {
            command,
            keys: convert::keys(keys)?,
        })
    }

    /// `stats` with an optional array of arguments (`["items"]`,
    /// `["slabs"]`, `["settings"]`, …).
    pub(crate) fn stats(args: &JsValue) -> Result<Self, JsValue> {
        let args = if args.is_undefined() || args.is_null() {
            Vec::new()
        } else {
            convert::keys(args).map_err(|_| type_error("stats arguments must be an array"))?
        };
        Ok(Command::Stats { args })
    }

    /// Returns the keys the command names (none for `stats`, `version`, …).
    pub(crate) fn keys(&self) -> Vec<&[u8]> {
        match self {
            Command::Store { key, .. }
            | Command::Touch { key, .. }
            | Command::Delete { key, .. }
            | Command::Incr { key, .. }
            | Command::Decr { key, .. } => vec![key],
            Command::Get { keys, .. } => keys.iter().map(Vec::as_slice).collect(),
            Command::Meta(meta) => meta.key().into_iter().collect(),
            Command::Stats { .. }
            | Command::Version
            | Command::FlushAll { .. }
            | Command::Quit
            | Command::Shutdown { .. } => Vec::new(),
        }
    }

    /// Checks every key against `policy`, whatever protocol carries the
    /// command: one key policy. With `binary_keys` (meta protocol only) a
    /// meta command's key the text protocol cannot carry goes
    /// base64-encoded instead.
    ///
    /// # Errors
    ///
    /// The first key's [`Error::IllegalInput`]: nothing is sent.
    pub(crate) fn check_keys(&self, policy: &KeyPolicy, binary_keys: bool) -> Result<(), Error> {
        if let Command::Get { keys, .. } = self {
            if keys.is_empty() {
                return Err(memcrab_core::IllegalInput::NoKeys.into());
            }
        }
        // Binary keys go base64-encoded in meta commands only; the classic
        // commands keep the classic key rules whatever the protocol.
        if binary_keys && matches!(self, Command::Meta(_)) {
            return Ok(());
        }
        for key in self.keys() {
            policy.check(key)?;
        }
        Ok(())
    }

    /// The same retrieval for `keys` only.
    pub(crate) fn with_keys(&self, keys: Vec<Vec<u8>>) -> Command {
        match self {
            Command::Get { command, .. } => Command::Get {
                command: *command,
                keys,
            },
            other => other.clone(),
        }
    }

    /// Submits this command to `conn`.
    pub(crate) fn submit(
        &self,
        conn: &mut Connection,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        match self {
            Command::Meta(meta) => meta.submit(conn, deadline),
            text => text.with_request(|request| conn.submit(request, deadline)),
        }
    }

    /// Returns true if the command awaits no reply: noreply, quit, or a
    /// quiet meta command.
    pub(crate) fn is_noreply(&self) -> bool {
        match self {
            Command::Meta(meta) => meta.is_quiet(),
            text => text.with_request(|request| request.is_noreply()),
        }
    }

    /// Calls `f` with this (classic) command as a core [`Request`].
    fn with_request<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        match self {
            Command::Store {
                command,
                key,
                value,
                flags,
                exptime,
                noreply,
            } => f(&Request::Store {
                command: *command,
                key,
                value,
                flags: *flags,
                exptime: *exptime,
                noreply: *noreply,
            }),
            Command::Get { command, keys } => {
                let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                f(&Request::Get {
                    command: *command,
                    keys: &keys,
                })
            }
            Command::Touch {
                key,
                exptime,
                noreply,
            } => f(&Request::Touch {
                key,
                exptime: *exptime,
                noreply: *noreply,
            }),
            Command::Delete { key, noreply } => f(&Request::Delete {
                key,
                noreply: *noreply,
            }),
            Command::Incr {
                key,
                delta,
                noreply,
            } => f(&Request::Incr {
                key,
                delta: *delta,
                noreply: *noreply,
            }),
            Command::Decr {
                key,
                delta,
                noreply,
            } => f(&Request::Decr {
                key,
                delta: *delta,
                noreply: *noreply,
            }),
            Command::Stats { args } => {
                let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                f(&Request::Stats { args: &args })
            }
            Command::Version => f(&Request::Version),
            Command::FlushAll { delay, noreply } => f(&Request::FlushAll {
                delay: *delay,
                noreply: *noreply,
            }),
            Command::Quit => f(&Request::Quit),
            Command::Shutdown { graceful } => f(&Request::Shutdown {
                graceful: *graceful,
            }),
            Command::Meta(_) => unreachable!("meta commands are submitted with submit_meta"),
        }
    }
}
