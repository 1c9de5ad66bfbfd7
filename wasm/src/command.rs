//! Commands built from JavaScript arguments, owned until they are encoded.
//!
//! [`build`] is the one place where a command's name and JS arguments
//! become the core's [`OwnedRequest`], with its [`Meaning`] and the
//! [`Shape`] of its JS result: `Protocol` and
//! `Session` both call it, so a command takes the same arguments and
//! options, and gives the same result, whichever drives it.

use bytes::Bytes;
use memcrab_core::command::{Meaning, OwnedRequest, RequestRef};
use memcrab_core::{Error, GetCommand, KeyPolicy, StoreCommand};
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
    pub(crate) request: OwnedRequest,
    pub(crate) meaning: Meaning,
    pub(crate) shape: Shape,
    /// `deadline` (Protocol) or `timeoutMs` (Session), when given.
    pub(crate) time: Option<f64>,
    /// For the commands that go to one server whatever their keys
    /// (`stats`, `version`, `shutdown`, `metaNoop`): the `server` option,
    /// the server's index or name (`undefined`: the first).
    pub(crate) server: Option<JsValue>,
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
    let (request, shape, o, known): (OwnedRequest, Shape, &JsValue, &[&str]) = match op {
        "set" | "add" | "replace" | "append" | "prepend" => {
            let command = match op {
                "set" => StoreCommand::Set,
                "add" => StoreCommand::Add,
                "replace" => StoreCommand::Replace,
                "append" => StoreCommand::Append,
                _ => StoreCommand::Prepend,
            };
            check(c, store_opts, op)?;
            (store(command, a, b, c)?, Shape::Plain, c, store_opts)
        }
        "get" | "gets" => {
            let command = if op == "get" {
                GetCommand::Get
            } else {
                GetCommand::Gets
            };
            let key = convert::bytes(a, "key")?;
            (get(command, vec![key]), Shape::One, b, plain)
        }
        "getMany" | "getsMany" => {
            let command = if op == "getMany" {
                GetCommand::Get
            } else {
                GetCommand::Gets
            };
            (get(command, convert::keys(a)?), Shape::Many, b, plain)
        }
        "delete" => {
            check(b, write_opts, op)?;
            let request = OwnedRequest::Delete {
                key: bytes(a, "key")?,
                noreply: noreply(b)?,
            };
            (request, Shape::Plain, b, write_opts)
        }
        "incr" | "decr" => {
            check(c, write_opts, op)?;
            let key = bytes(a, "key")?;
            let delta = if b.is_undefined() {
                1
            } else {
                convert::u64_arg(b, "delta")?
            };
            let request = OwnedRequest::Arith {
                key,
                delta,
                decr: op == "decr",
                noreply: noreply(c)?,
            };
            (request, Shape::Plain, c, write_opts)
        }
        "touch" => {
            check(c, write_opts, op)?;
            if b.is_undefined() || b.is_null() {
                return Err(type_error("touch needs an expiration in seconds"));
            }
            let request = OwnedRequest::Touch {
                key: bytes(a, "key")?,
                exptime: convert::i64_or(b, "expire", 0)?,
                noreply: noreply(c)?,
            };
            (request, Shape::Plain, c, write_opts)
        }
        "stats" => (stats(a)?, Shape::Plain, b, server_opts),
        "version" => (OwnedRequest::Version, Shape::Plain, a, server_opts),
        "flushAll" => {
            check(b, write_opts, op)?;
            let request = OwnedRequest::FlushAll {
                delay: convert::i64_or(a, "delay", 0)?,
                noreply: noreply(b)?,
            };
            (request, Shape::Plain, b, write_opts)
        }
        "quit" => (OwnedRequest::Quit, Shape::Plain, &JsValue::UNDEFINED, &[]),
        "shutdown" => {
            let known: &[&str] = &["graceful", "server"];
            check(a, known, op)?;
            let graceful = convert::bool_field(a, "graceful", false)?;
            (OwnedRequest::Shutdown { graceful }, Shape::Plain, a, known)
        }
        "metaGet" => {
            let (request, _, o, known) = meta(b, op, time, |o| MetaCommand::get(a, o))?;
            (request, Shape::MetaGet, o, known)
        }
        "metaSet" => meta(c, op, time, |o| MetaCommand::set(a, b, o))?,
        "metaDelete" => meta(b, op, time, |o| MetaCommand::delete(a, o))?,
        "metaArithmetic" => meta(b, op, time, |o| MetaCommand::arithmetic(a, o))?,
        "metaNoop" => {
            check(a, server_opts, op)?;
            (MetaCommand::noop(), Shape::Plain, a, server_opts)
        }
        "metaDebug" => {
            check(b, plain, op)?;
            (MetaCommand::debug(a)?, Shape::Plain, b, plain)
        }
        other => return Err(type_error(&format!("unknown command {other:?}"))),
    };
    check(o, known, op)?;
    let time = convert::millis_f64(&field(o, time), &format!("option {time}"))?;
    let server = known.contains(&"server").then(|| field(o, "server"));
    Ok(Call {
        meaning: meaning(&request),
        request,
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
        request: store(StoreCommand::Cas(cas), key, value, o)?,
        meaning: Meaning::Cas,
        shape: Shape::Plain,
        time: convert::millis_f64(&field(o, time), &format!("option {time}"))?,
        server: None,
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
    build: impl FnOnce(&JsValue) -> Result<OwnedRequest, JsValue>,
) -> Result<(OwnedRequest, Shape, &'a JsValue, &'static [&'static str]), JsValue> {
    let known = crate::meta::options(op, time);
    convert::check_options(o, known, op)?;
    Ok((build(o)?, Shape::Plain, o, known))
}

/// Returns how the core maps the reply of `request` to its result.
fn meaning(request: &OwnedRequest) -> Meaning {
    match request {
        OwnedRequest::Meta { .. } => Meaning::Meta,
        OwnedRequest::Get { .. } => Meaning::Get,
        other => other.with_request(|r| match r {
            RequestRef::Text(r) => Meaning::of(r),
            RequestRef::Meta(_) => Meaning::Meta,
        }),
    }
}

/// A storage request from `(key, value, options)`.
fn store(
    command: StoreCommand,
    key: &JsValue,
    value: &JsValue,
    options: &JsValue,
) -> Result<OwnedRequest, JsValue> {
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
    Ok(OwnedRequest::Store {
        command,
        key: bytes(key, "key")?,
        value: bytes(value, "value")?,
        flags,
        exptime: convert::i64_or(&field(options, "expire"), "option expire", 0)?,
        noreply: convert::bool_field(options, "noreply", false)?,
    })
}

/// The bytes of a key or value, owned.
fn bytes(value: &JsValue, what: &str) -> Result<Bytes, JsValue> {
    convert::bytes(value, what).map(Bytes::from)
}

/// `stats` with an optional array of arguments (`["items"]`, `["slabs"]`,
/// `["settings"]`, …).
fn stats(args: &JsValue) -> Result<OwnedRequest, JsValue> {
    let args = if args.is_undefined() || args.is_null() {
        Vec::new()
    } else {
        convert::keys(args).map_err(|_| type_error("stats arguments must be an array"))?
    };
    Ok(OwnedRequest::Stats {
        args: args.into_iter().map(Bytes::from).collect(),
    })
}

/// A retrieval of `keys`.
fn get(command: GetCommand, keys: Vec<Vec<u8>>) -> OwnedRequest {
    OwnedRequest::Get {
        command,
        keys: keys.into_iter().map(Bytes::from).collect(),
    }
}

/// Checks the key of a meta request against `policy` unless `binary_keys`
/// (meta protocol only) lets it hold any bytes, sent base64-encoded: one
/// key policy whatever the protocol. Classic requests are checked by the
/// core when they are submitted, under the same policy.
///
/// # Errors
///
/// The key's [`Error::IllegalInput`]: nothing is sent.
pub(crate) fn check_key(
    request: &OwnedRequest,
    policy: &KeyPolicy,
    binary_keys: bool,
) -> Result<(), Error> {
    match request {
        OwnedRequest::Meta { request, key, .. } if !binary_keys && request.key().is_some() => {
            policy.check(key).map_err(Error::from)
        }
        _ => Ok(()),
    }
}
