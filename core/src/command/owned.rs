//! Requests that own their bytes, borrowed as [`Request`]s to encode.

use alloc::vec::Vec;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::meta::MetaRequest;
use crate::text::{GetCommand, Request, StoreCommand};

/// A request that owns its keys and value ([`Bytes`], so cloning is cheap),
/// for requests that wait in a queue, come from a fuzzer or cross the
/// WebAssembly boundary. [`with_request`](Self::with_request) borrows it as
/// the [`Request`] or [`MetaRequest`] an encoder takes.
///
/// # Example
///
/// ```
/// use memcrab_core::command::OwnedRequest;
/// use memcrab_core::{Connection, GetCommand};
///
/// let req = OwnedRequest::Get { command: GetCommand::Get, keys: vec!["a".into(), "b".into()] };
/// let mut conn = Connection::new();
/// req.submit_to(&mut conn, None).unwrap();
/// assert_eq!(conn.transmit(), b"get a b\r\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedRequest {
    /// See [`Request::Store`].
    Store {
        /// Which storage command.
        command: StoreCommand,
        /// The key.
        key: Bytes,
        /// The value.
        value: Bytes,
        /// Client flags.
        flags: u32,
        /// Expiration.
        exptime: i64,
        /// Ask for no reply.
        noreply: bool,
    },
    /// See [`Request::Get`].
    Get {
        /// Which retrieval command.
        command: GetCommand,
        /// The keys.
        keys: Vec<Bytes>,
    },
    /// See [`Request::Touch`].
    Touch {
        /// The key.
        key: Bytes,
        /// The new expiration.
        exptime: i64,
        /// Ask for no reply.
        noreply: bool,
    },
    /// See [`Request::Delete`].
    Delete {
        /// The key.
        key: Bytes,
        /// Ask for no reply.
        noreply: bool,
    },
    /// See [`Request::Incr`] (`decr: false`) and [`Request::Decr`].
    Arith {
        /// The key.
        key: Bytes,
        /// The amount.
        delta: u64,
        /// Subtract instead of add.
        decr: bool,
        /// Ask for no reply.
        noreply: bool,
    },
    /// See [`Request::Stats`].
    Stats {
        /// The arguments.
        args: Vec<Bytes>,
    },
    /// See [`Request::Version`].
    Version,
    /// See [`Request::FlushAll`].
    FlushAll {
        /// Seconds until the flush.
        delay: i64,
        /// Ask for no reply.
        noreply: bool,
    },
    /// See [`Request::Verbosity`].
    Verbosity {
        /// The level.
        level: u32,
        /// Ask for no reply.
        noreply: bool,
    },
    /// See [`Request::CacheMemlimit`].
    CacheMemlimit {
        /// Megabytes.
        megabytes: u64,
        /// Ask for no reply.
        noreply: bool,
    },
    /// See [`Request::Quit`].
    Quit,
    /// See [`Request::Shutdown`].
    Shutdown {
        /// `shutdown graceful`.
        graceful: bool,
    },
    /// See [`Request::Raw`].
    Raw {
        /// The line.
        line: Bytes,
        /// The terminator of the reply.
        terminator: Bytes,
    },
    /// A meta request: its flags, with the key and value held apart.
    Meta {
        /// The request; its key and value are replaced by `key` and
        /// `value` when borrowed.
        request: MetaRequest<'static>,
        /// The key.
        key: Bytes,
        /// The value (meta set only).
        value: Bytes,
    },
}

/// A borrowed view of an [`OwnedRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestRef<'a> {
    /// A classic request.
    Text(&'a Request<'a>),
    /// A meta request.
    Meta(&'a MetaRequest<'a>),
}

impl OwnedRequest {
    /// Copies a classic request.
    #[must_use]
    pub fn from_request(request: &Request<'_>) -> OwnedRequest {
        let b = Bytes::copy_from_slice;
        match *request {
            Request::Store {
                command,
                key,
                value,
                flags,
                exptime,
                noreply,
            } => OwnedRequest::Store {
                command,
                key: b(key),
                value: b(value),
                flags,
                exptime,
                noreply,
            },
            Request::Get { command, keys } => OwnedRequest::Get {
                command,
                keys: keys.iter().map(|k| b(k)).collect(),
            },
            Request::Touch {
                key,
                exptime,
                noreply,
            } => OwnedRequest::Touch {
                key: b(key),
                exptime,
                noreply,
            },
            Request::Delete { key, noreply } => OwnedRequest::Delete {
                key: b(key),
                noreply,
            },
            Request::Incr {
                key,
                delta,
                noreply,
            } => OwnedRequest::Arith {
                key: b(key),
                delta,
                decr: false,
                noreply,
            },
            Request::Decr {
                key,
                delta,
                noreply,
            } => OwnedRequest::Arith {
                key: b(key),
                delta,
                decr: true,
                noreply,
            },
            Request::Stats { args } => OwnedRequest::Stats {
                args: args.iter().map(|a| b(a)).collect(),
            },
            Request::Version => OwnedRequest::Version,
            Request::FlushAll { delay, noreply } => OwnedRequest::FlushAll { delay, noreply },
            Request::Verbosity { level, noreply } => OwnedRequest::Verbosity { level, noreply },
            Request::CacheMemlimit { megabytes, noreply } => {
                OwnedRequest::CacheMemlimit { megabytes, noreply }
            }
            Request::Quit => OwnedRequest::Quit,
            Request::Shutdown { graceful } => OwnedRequest::Shutdown { graceful },
            Request::Raw { line, terminator } => OwnedRequest::Raw {
                line: b(line),
                terminator: b(terminator),
            },
        }
    }

    /// Copies a meta request.
    #[must_use]
    pub fn from_meta(request: &MetaRequest<'_>) -> OwnedRequest {
        let key = Bytes::copy_from_slice(request.key().unwrap_or_default());
        let value = match request {
            MetaRequest::Set(s) => Bytes::copy_from_slice(s.value),
            _ => Bytes::new(),
        };
        OwnedRequest::Meta {
            request: with_bytes(request, &[], &[]),
            key,
            value,
        }
    }

    /// Calls `f` with this request borrowed as a [`Request`] or
    /// [`MetaRequest`].
    pub fn with_request<R>(&self, f: impl FnOnce(RequestRef<'_>) -> R) -> R {
        // A macro, not a closure: each arm moves `f` once.
        macro_rules! text {
            ($r:expr) => {
                f(RequestRef::Text(&$r))
            };
        }
        match self {
            OwnedRequest::Store {
                command,
                key,
                value,
                flags,
                exptime,
                noreply,
            } => text!(Request::Store {
                command: *command,
                key,
                value,
                flags: *flags,
                exptime: *exptime,
                noreply: *noreply,
            }),
            OwnedRequest::Get { command, keys } => {
                let keys: SmallVec<[&[u8]; 8]> = keys.iter().map(|k| &k[..]).collect();
                text!(Request::Get {
                    command: *command,
                    keys: &keys,
                })
            }
            OwnedRequest::Touch {
                key,
                exptime,
                noreply,
            } => text!(Request::Touch {
                key,
                exptime: *exptime,
                noreply: *noreply,
            }),
            OwnedRequest::Delete { key, noreply } => text!(Request::Delete {
                key,
                noreply: *noreply,
            }),
            OwnedRequest::Arith {
                key,
                delta,
                decr,
                noreply,
            } => text!(if *decr {
                Request::Decr {
                    key,
                    delta: *delta,
                    noreply: *noreply,
                }
            } else {
                Request::Incr {
                    key,
                    delta: *delta,
                    noreply: *noreply,
                }
            }),
            OwnedRequest::Stats { args } => {
                let args: SmallVec<[&[u8]; 4]> = args.iter().map(|a| &a[..]).collect();
                text!(Request::Stats { args: &args })
            }
            OwnedRequest::Version => text!(Request::Version),
            OwnedRequest::FlushAll { delay, noreply } => text!(Request::FlushAll {
                delay: *delay,
                noreply: *noreply,
            }),
            OwnedRequest::Verbosity { level, noreply } => text!(Request::Verbosity {
                level: *level,
                noreply: *noreply,
            }),
            OwnedRequest::CacheMemlimit { megabytes, noreply } => text!(Request::CacheMemlimit {
                megabytes: *megabytes,
                noreply: *noreply,
            }),
            OwnedRequest::Quit => text!(Request::Quit),
            OwnedRequest::Shutdown { graceful } => text!(Request::Shutdown {
                graceful: *graceful,
            }),
            OwnedRequest::Raw { line, terminator } => text!(Request::Raw { line, terminator }),
            OwnedRequest::Meta {
                request,
                key,
                value,
            } => f(RequestRef::Meta(&with_bytes(request, key, value))),
        }
    }

    /// Encodes this request into `conn` (see
    /// [`Connection::submit`](crate::Connection::submit) and
    /// [`Connection::submit_meta`](crate::Connection::submit_meta)).
    ///
    /// # Errors
    ///
    /// As `submit`.
    pub fn submit_to(
        &self,
        conn: &mut crate::Connection,
        deadline: Option<crate::Millis>,
    ) -> Result<crate::RequestId, crate::Error> {
        self.with_request(|r| match r {
            RequestRef::Text(r) => conn.submit(r, deadline),
            RequestRef::Meta(r) => conn.submit_meta(r, deadline),
        })
    }
}

impl From<&Request<'_>> for OwnedRequest {
    fn from(r: &Request<'_>) -> Self {
        OwnedRequest::from_request(r)
    }
}

impl From<&MetaRequest<'_>> for OwnedRequest {
    fn from(r: &MetaRequest<'_>) -> Self {
        OwnedRequest::from_meta(r)
    }
}

/// `request` with its key and value replaced.
fn with_bytes<'a>(request: &MetaRequest<'_>, key: &'a [u8], value: &'a [u8]) -> MetaRequest<'a> {
    match *request {
        MetaRequest::Get(g) => MetaRequest::Get(crate::meta::MetaGet { key, ..g }),
        MetaRequest::Set(s) => MetaRequest::Set(crate::meta::MetaSet { key, value, ..s }),
        MetaRequest::Delete(d) => MetaRequest::Delete(crate::meta::MetaDelete { key, ..d }),
        MetaRequest::Arithmetic(a) => {
            MetaRequest::Arithmetic(crate::meta::MetaArithmetic { key, ..a })
        }
        MetaRequest::Noop => MetaRequest::Noop,
        MetaRequest::Debug { .. } => MetaRequest::Debug { key },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::MetaSet;

    #[test]
    fn round_trips_through_the_borrowed_view() {
        let keys: [&[u8]; 2] = [b"a", b"b"];
        let reqs = [
            Request::Get {
                command: GetCommand::Gats(5),
                keys: &keys,
            },
            Request::Decr {
                key: b"n",
                delta: 3,
                noreply: true,
            },
            Request::Raw {
                line: b"stats",
                terminator: b"END\r\n",
            },
        ];
        for r in &reqs {
            let owned = OwnedRequest::from_request(r);
            owned.with_request(|v| assert_eq!(v, RequestRef::Text(r)));
        }
        let m = MetaRequest::Set(MetaSet::new(b"k", b"value").ttl(9).quiet());
        OwnedRequest::from_meta(&m).with_request(|v| assert_eq!(v, RequestRef::Meta(&m)));
    }
}
