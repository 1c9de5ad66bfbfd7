//! Encoding requests into the outgoing buffer.

use bytes::{BufMut, BytesMut};

use super::expect::{Expect, KeyList};
use super::request::{GetCommand, Request, StoreCommand};
use crate::error::{escape, Error, IllegalInput};
use crate::key::KeyPolicy;
use crate::limits::Limits;

/// Checks `req` and, if it is valid, appends its bytes to `out`.
///
/// Nothing is written unless every key and the value pass. Returns the reply
/// the request awaits, or `None` for noreply requests and `quit`.
#[cfg(fuzzing)]
pub(crate) fn encode(
    req: &Request<'_>,
    policy: &KeyPolicy,
    limits: &Limits,
    out: &mut BytesMut,
) -> Result<Option<Expect>, Error> {
    check(req, policy, limits)?;
    Ok(encode_valid(req, policy, out))
}

/// Appends the bytes of `req`, which [`check`] has passed.
pub(crate) fn encode_valid(
    req: &Request<'_>,
    policy: &KeyPolicy,
    out: &mut BytesMut,
) -> Option<Expect> {
    let prefix = policy.prefix();
    let expect = match *req {
        Request::Store {
            command,
            key,
            value,
            flags,
            exptime,
            noreply,
        } => {
            out.reserve(command.name().len() + prefix.len() + key.len() + value.len() + 64);
            out.put_slice(command.name().as_bytes());
            put_key(out, prefix, key);
            put_num(out, flags);
            put_num(out, exptime);
            put_num(out, value.len());
            if let StoreCommand::Cas(token) = command {
                put_num(out, token);
            }
            finish(out, noreply);
            out.put_slice(value);
            out.put_slice(b"\r\n");
            let cas = matches!(command, StoreCommand::Cas(_));
            (!noreply).then_some(Expect::Store { cas })
        }
        Request::Get { command, keys } => {
            out.put_slice(command.name().as_bytes());
            if let GetCommand::Gat(exptime) | GetCommand::Gats(exptime) = command {
                put_num(out, exptime);
            }
            let room: usize = keys.iter().map(|k| 1 + prefix.len() + k.len()).sum();
            out.reserve(room + 2);
            let start = out.len();
            for key in keys {
                put_key(out, prefix, key);
            }
            // The key list awaited is what was just written, without its
            // first space: one copy, sized once.
            let list = KeyList::from_slice(out.get(start + 1..).unwrap_or_default());
            out.put_slice(b"\r\n");
            Some(Expect::Values {
                cas: command.returns_cas(),
                keys: list,
            })
        }
        Request::Touch {
            key,
            exptime,
            noreply,
        } => {
            out.put_slice(b"touch");
            put_key(out, prefix, key);
            put_num(out, exptime);
            finish(out, noreply);
            (!noreply).then_some(Expect::Touch)
        }
        Request::Delete { key, noreply } => {
            out.put_slice(b"delete");
            put_key(out, prefix, key);
            finish(out, noreply);
            (!noreply).then_some(Expect::Delete)
        }
        Request::Incr {
            key,
            delta,
            noreply,
        }
        | Request::Decr {
            key,
            delta,
            noreply,
        } => {
            let name: &[u8] = if matches!(req, Request::Incr { .. }) {
                b"incr"
            } else {
                b"decr"
            };
            out.put_slice(name);
            put_key(out, prefix, key);
            put_num(out, delta);
            finish(out, noreply);
            (!noreply).then_some(Expect::Arith)
        }
        Request::Stats { args } => {
            out.put_slice(b"stats");
            for arg in args {
                out.put_u8(b' ');
                out.put_slice(arg);
            }
            out.put_slice(b"\r\n");
            Some(Expect::Stats)
        }
        Request::Version => {
            out.put_slice(b"version\r\n");
            Some(Expect::Version)
        }
        Request::FlushAll { delay, noreply } => {
            out.put_slice(b"flush_all");
            put_num(out, delay);
            finish(out, noreply);
            (!noreply).then_some(Expect::Ok)
        }
        Request::Verbosity { level, noreply } => {
            out.put_slice(b"verbosity");
            put_num(out, level);
            finish(out, noreply);
            (!noreply).then_some(Expect::Ok)
        }
        Request::CacheMemlimit { megabytes, noreply } => {
            out.put_slice(b"cache_memlimit");
            put_num(out, megabytes);
            finish(out, noreply);
            (!noreply).then_some(Expect::Ok)
        }
        Request::Quit => {
            out.put_slice(b"quit\r\n");
            None
        }
        Request::Shutdown { graceful } => {
            out.put_slice(if graceful {
                b"shutdown graceful\r\n".as_slice()
            } else {
                b"shutdown\r\n".as_slice()
            });
            Some(Expect::Shutdown)
        }
        Request::Raw { line, terminator } => {
            out.put_slice(line);
            out.put_slice(b"\r\n");
            Some(Expect::Raw {
                terminator: terminator.into(),
            })
        }
    };
    expect
}

/// Validates every key, argument and value of `req` without writing.
pub(crate) fn check(req: &Request<'_>, policy: &KeyPolicy, limits: &Limits) -> Result<(), Error> {
    match *req {
        Request::Store { key, value, .. } => {
            policy.check(key)?;
            if value.len() > limits.max_item_size {
                return Err(IllegalInput::ValueTooLarge {
                    key: escape(key),
                    len: value.len(),
                    max: limits.max_item_size,
                }
                .into());
            }
        }
        Request::Get { keys, .. } => {
            if keys.is_empty() {
                return Err(IllegalInput::NoKeys.into());
            }
            for key in keys {
                policy.check(key)?;
            }
        }
        Request::Touch { key, .. }
        | Request::Delete { key, .. }
        | Request::Incr { key, .. }
        | Request::Decr { key, .. } => policy.check(key)?,
        Request::Stats { args } => {
            for arg in args {
                // Arguments are checked like keys, without the prefix.
                crate::key::validate_key(arg, b"", false)?;
            }
        }
        Request::Raw { line, terminator } => {
            if line.is_empty() || line.iter().any(|&b| b == b'\r' || b == b'\n') {
                return Err(IllegalInput::BadArgument(alloc::format!(
                    "raw command {} must be one non-empty line without \\r or \\n",
                    escape(line)
                ))
                .into());
            }
            if terminator.is_empty() {
                return Err(IllegalInput::BadArgument(
                    "raw command terminator must not be empty".into(),
                )
                .into());
            }
        }
        Request::Version
        | Request::FlushAll { .. }
        | Request::Verbosity { .. }
        | Request::CacheMemlimit { .. }
        | Request::Quit
        | Request::Shutdown { .. } => {}
    }
    Ok(())
}

fn put_key(out: &mut BytesMut, prefix: &[u8], key: &[u8]) {
    out.put_u8(b' ');
    out.put_slice(prefix);
    out.put_slice(key);
}

fn put_num(out: &mut BytesMut, n: impl itoa::Integer) {
    let mut buf = itoa::Buffer::new();
    out.put_u8(b' ');
    out.put_slice(buf.format(n).as_bytes());
}

fn finish(out: &mut BytesMut, noreply: bool) {
    out.put_slice(if noreply {
        b" noreply\r\n".as_slice()
    } else {
        b"\r\n".as_slice()
    });
}
