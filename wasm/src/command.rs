//! Commands built from JavaScript arguments, owned until they are encoded.

use memcrab_core::{Connection, Error, GetCommand, Millis, Request, RequestId, StoreCommand};
use wasm_bindgen::JsValue;

use crate::convert::{self, field};
use crate::error::type_error;
use crate::meta::MetaCommand;

/// The per-call options every command takes (`flags`, `expire`, `noreply`,
/// `deadline`); each command reads the ones it has.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Opts {
    /// Client flags stored with a value.
    pub(crate) flags: u32,
    /// Expiration in seconds (0 never).
    pub(crate) expire: i64,
    /// Ask the server not to reply.
    pub(crate) noreply: bool,
    /// When the reply must be complete, on the caller's clock.
    pub(crate) deadline: Option<Millis>,
}

impl Opts {
    /// Reads `{ flags, expire, noreply, deadline }` from a JS object (or
    /// `undefined`).
    pub(crate) fn from_js(options: Option<&JsValue>) -> Result<Self, JsValue> {
        let undefined = JsValue::UNDEFINED;
        let options = options.unwrap_or(&undefined);
        convert::check_options(options)?;
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
        Ok(Opts {
            flags,
            expire: convert::i64_or(&field(options, "expire"), "option expire", 0)?,
            noreply: convert::bool_field(options, "noreply", false)?,
            deadline: convert::millis(&field(options, "deadline"), "option deadline")?,
        })
    }
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
        options: &Opts,
    ) -> Result<Self, JsValue> {
        Ok(Command::Store {
            command,
            key: convert::bytes(key, "key")?,
            value: convert::bytes(value, "value")?,
            flags: options.flags,
            exptime: options.expire,
            noreply: options.noreply,
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
    pub(crate) fn stats(args: Option<&JsValue>) -> Result<Self, JsValue> {
        let args = match args {
            None => Vec::new(),
            Some(args) if args.is_undefined() || args.is_null() => Vec::new(),
            Some(args) => {
                convert::keys(args).map_err(|_| type_error("stats arguments must be an array"))?
            }
        };
        Ok(Command::Stats { args })
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
