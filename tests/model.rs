//! Model-based property test: random sequences of commands go through
//! memcrab to a real memcached, through `MockClient` (the real client over
//! the in-memory memcached of `memcrab::core::model`), and through a small
//! model of memcached's semantics written here; every result must agree.
//! A disagreement shrinks to a minimal sequence.
//!
//! The mock must give memcached's result for every command, errors' kinds
//! included. Where memcached's own answer depends on its memory (the choice
//! points below), the mock takes memcached's usual branch; if memcached
//! took the other one, the difference must be one the model explains from
//! the same state, and from there on each side is checked against the
//! model only. Each test prints how many commands agreed and how many
//! cases diverged so (`--nocapture`; about 1 case in 250).
//!
//! The commands are the whole classic API (set, add, replace, append,
//! prepend, cas, get, get_many, gets, gets_many, gat, gats, touch, delete,
//! delete_many, incr, decr, set_many, flush_all), pipelined batches through
//! `execute` (stores, cas, multi-key gets, deletes, touches, incr/decr,
//! noreply mixed in), and the meta commands (`meta_get`, `meta_set`,
//! `meta_delete`, `meta_arithmetic`), `version` and `verbosity`, over five keys and small values
//! (numbers, text, empty, `\r\nEND\r\n`, random bytes). Each sequence ends
//! with a `gets` of every key, so what noreply writes did is checked too.
//!
//! Four clients run the same sequences: text protocol waiting for every
//! reply; text protocol with noreply writes (`default_noreply(true)`); meta
//! protocol (classic commands carried by meta commands) waiting; meta
//! protocol with noreply writes (quiet mode: errors only are reported).
//!
//! The model covers memcached's semantics (append/prepend keep the flags;
//! touch and gat keep the cas token; incr/decr parse as C's `strtoull`,
//! wrap or floor at 0, keep the flags) and the client's: a noreply write
//! reports success; an error reply after a noreply request on the text
//! protocol closes the connection with `NoreplyFailed` (the rest of the
//! batch gets it too; the next call reconnects).
//!
//! Where memcached's result depends on its memory rather than on the
//! commands, the model has choice points and keeps every state consistent
//! with what the server said: an incr/decr result shorter than the old
//! value is space-padded in place or stored as a new item; a number of
//! 2^63 or more may be refused as non-numeric (memcached 1.6.18 looks for a
//! minus sign with `strchr`, past the value). Values of only whitespace are
//! never generated: incr/decr reads past them.
//!
//! cas tokens are compared by behaviour, not by number: each side numbers the
//! tokens it sees in order of first appearance, and the numbers must match
//! (the same operations change an item's token on both sides); a `cas` uses
//! the token the last read of a key returned, on each side (for a batch,
//! the last read before the batch).
//!
//! Nothing depends on the clock: TTLs are 0, a day (`touch`/`gat`), or
//! negative (stored, touched or read, and expired at once). Cases:
//! `PROPTEST_CASES` (default 64).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use std::time::UNIX_EPOCH;

use memcrab::core::meta::{
    ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaReply, MetaSet, MetaStatus, SetMode,
};
use memcrab::core::{GetCommand, Reply, Request, StoreCommand};
use memcrab::{Client, ErrorKind, Memcache, MetaCommands, Protocol, StoreOptions, Value};
use memcrab_transport::mock::MockClient;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::MemcachedServer;

const KEYS: [&str; 5] = ["k0", "k1", "k2", "k3", "k4"];
/// The TTL of touch and gat: long enough never to expire during a test.
const TTL: Duration = Duration::from_secs(86_400);
/// A cas token neither side ever issues.
const BOGUS: u64 = u64::MAX - 7;

/// Values that exercise incr/decr's parsing and the protocol's framing.
const VALUES: &[&[u8]] = &[
    b"",
    b"0",
    b"7",
    b"42",
    b"100",
    b"18446744073709551615",
    b"18446744073709551616",
    b"abc",
    b"x y",
    b"\r\nEND\r\n",
    b" 5",
    b"-0",
    b"-3",
    b"+7",
    b"5\r\nxx",
];

// ---------------------------------------------------------------------------
// Commands.

/// A cas token: the one the last read of a key returned, or one that never
/// matches.
#[derive(Clone, Copy, Debug)]
enum Tok {
    Last(usize),
    Bogus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
}

impl Kind {
    fn command(self) -> StoreCommand {
        match self {
            Kind::Set => StoreCommand::Set,
            Kind::Add => StoreCommand::Add,
            Kind::Replace => StoreCommand::Replace,
            Kind::Append => StoreCommand::Append,
            Kind::Prepend => StoreCommand::Prepend,
        }
    }

    fn mode(self) -> SetMode {
        match self {
            Kind::Set => SetMode::Set,
            Kind::Add => SetMode::Add,
            Kind::Replace => SetMode::Replace,
            Kind::Append => SetMode::Append,
            Kind::Prepend => SetMode::Prepend,
        }
    }
}

#[derive(Clone, Debug)]
enum Cmd {
    Store {
        kind: Kind,
        key: usize,
        value: Vec<u8>,
        flags: u32,
    },
    Cas {
        key: usize,
        value: Vec<u8>,
        flags: u32,
        tok: Tok,
    },
    Get(usize),
    Gets(usize),
    Gat(usize),
    Gats(usize),
    GetMany(Vec<usize>),
    GetsMany(Vec<usize>),
    Touch(usize),
    Delete(usize),
    DeleteMany(Vec<usize>),
    Incr(usize, u64),
    Decr(usize, u64),
    SetMany(Vec<(usize, Vec<u8>)>),
    FlushAll,
    Batch(Vec<BReq>),
    MetaGet(usize),
    MetaSet {
        key: usize,
        value: Vec<u8>,
        flags: u32,
        kind: Kind,
        cas: Option<Tok>,
    },
    MetaDelete {
        key: usize,
        cas: Option<Tok>,
    },
    MetaArith {
        key: usize,
        decr: bool,
        delta: u64,
    },
    /// A store with a negative TTL: stored, and expired at once.
    StoreExpired {
        kind: Kind,
        key: usize,
        value: Vec<u8>,
    },
    /// `touch` with a negative TTL: the item expires.
    TouchExpire(usize),
    /// `gat` with a negative TTL: the value, then the item expires.
    GatExpire(usize),
    Version,
    Verbosity,
}

/// One request of a pipelined batch (`Memcache::execute`).
#[derive(Clone, Debug)]
enum BReq {
    Store {
        kind: Kind,
        key: usize,
        value: Vec<u8>,
        flags: u32,
        noreply: bool,
    },
    Cas {
        key: usize,
        value: Vec<u8>,
        tok: Tok,
        noreply: bool,
    },
    Get {
        cas: bool,
        keys: Vec<usize>,
    },
    Delete {
        key: usize,
        noreply: bool,
    },
    Touch {
        key: usize,
        noreply: bool,
    },
    Arith {
        decr: bool,
        key: usize,
        delta: u64,
    },
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn keys() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(key(), 1..5)
}

/// C's `isspace`.
fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A value, never one of only whitespace: incr/decr on such a value makes
/// memcached's `strtoull` skip it and the `\r\n` after it and read on into
/// whatever the item's memory held before (seen: `"\t"` incremented as 1),
/// which no model can know. Stores never make such a value from others.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(VALUES).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 0..6),
    ]
    .prop_map(|mut v| {
        if !v.is_empty() && v.iter().all(|&b| c_space(b)) {
            v.push(b'x');
        }
        v
    })
}

fn flags() -> impl Strategy<Value = u32> {
    prop::sample::select(&[0u32, 1, 2, 0x8000_0000, u32::MAX][..])
}

fn delta() -> impl Strategy<Value = u64> {
    prop::sample::select(&[0u64, 1, 5, 100, u64::MAX][..])
}

fn tok() -> impl Strategy<Value = Tok> {
    prop_oneof![4 => key().prop_map(Tok::Last), 1 => Just(Tok::Bogus)]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(
        &[
            Kind::Set,
            Kind::Add,
            Kind::Replace,
            Kind::Append,
            Kind::Prepend,
        ][..],
    )
}

fn batch_request() -> impl Strategy<Value = BReq> {
    prop_oneof![
        3 => (kind(), key(), value(), flags(), any::<bool>()).prop_map(
            |(kind, key, value, flags, noreply)| BReq::Store { kind, key, value, flags, noreply }
        ),
        1 => (key(), value(), tok(), any::<bool>())
            .prop_map(|(key, value, tok, noreply)| BReq::Cas { key, value, tok, noreply }),
        2 => (any::<bool>(), keys()).prop_map(|(cas, keys)| BReq::Get { cas, keys }),
        1 => (key(), any::<bool>()).prop_map(|(key, noreply)| BReq::Delete { key, noreply }),
        1 => (key(), any::<bool>()).prop_map(|(key, noreply)| BReq::Touch { key, noreply }),
        1 => (any::<bool>(), key(), delta())
            .prop_map(|(decr, key, delta)| BReq::Arith { decr, key, delta }),
    ]
}

fn command() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        6 => (kind(), key(), value(), flags())
            .prop_map(|(kind, key, value, flags)| Cmd::Store { kind, key, value, flags }),
        2 => (key(), value(), flags(), tok())
            .prop_map(|(key, value, flags, tok)| Cmd::Cas { key, value, flags, tok }),
        2 => key().prop_map(Cmd::Get),
        2 => key().prop_map(Cmd::Gets),
        1 => key().prop_map(Cmd::Gat),
        1 => key().prop_map(Cmd::Gats),
        2 => keys().prop_map(Cmd::GetMany),
        2 => keys().prop_map(Cmd::GetsMany),
        1 => key().prop_map(Cmd::Touch),
        2 => key().prop_map(Cmd::Delete),
        1 => keys().prop_map(Cmd::DeleteMany),
        2 => (key(), delta()).prop_map(|(k, d)| Cmd::Incr(k, d)),
        2 => (key(), delta()).prop_map(|(k, d)| Cmd::Decr(k, d)),
        1 => prop::collection::vec((key(), value()), 1..4).prop_map(Cmd::SetMany),
        1 => Just(Cmd::FlushAll),
        3 => prop::collection::vec(batch_request(), 1..8).prop_map(Cmd::Batch),
        2 => key().prop_map(Cmd::MetaGet),
        2 => (key(), value(), flags(), kind(), prop::option::of(tok())).prop_map(
            // A cas compare only with mode set, as `cas` does.
            |(key, value, flags, kind, cas)| Cmd::MetaSet {
                key,
                value,
                flags,
                kind,
                cas: cas.filter(|_| kind == Kind::Set),
            }
        ),
        1 => (key(), prop::option::of(tok()))
            .prop_map(|(key, cas)| Cmd::MetaDelete { key, cas }),
        1 => (key(), any::<bool>(), delta())
            .prop_map(|(key, decr, delta)| Cmd::MetaArith { key, decr, delta }),
        1 => (kind(), key(), value())
            .prop_map(|(kind, key, value)| Cmd::StoreExpired { kind, key, value }),
        1 => key().prop_map(Cmd::TouchExpire),
        1 => key().prop_map(Cmd::GatExpire),
        1 => Just(Cmd::Version),
        1 => Just(Cmd::Verbosity),
    ]
}

fn commands() -> impl Strategy<Value = Vec<Cmd>> {
    prop::collection::vec(command(), 1..40)
}

// ---------------------------------------------------------------------------
// Results, as both sides report them.

/// A batch reply, with keys as indexes and cas tokens numbered.
#[derive(Clone, Debug, PartialEq, Eq)]
enum R {
    Stored,
    NotStored,
    Exists,
    NotFound,
    Deleted,
    Touched,
    Number(u64),
    /// `(key, value, flags, token)`, in the server's order.
    Values(Vec<(usize, Vec<u8>, u32, Option<usize>)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Out {
    Bool(bool),
    Value(Option<Vec<u8>>),
    ValueCas(Option<(Vec<u8>, usize)>),
    Map(BTreeMap<usize, Vec<u8>>),
    MapCas(BTreeMap<usize, (Vec<u8>, usize)>),
    Number(Option<u64>),
    Cas(Option<bool>),
    NotStored(Vec<usize>),
    Batch(Vec<Option<Result<R, ErrorKind>>>),
    Meta {
        status: MetaStatus,
        value: Option<Vec<u8>>,
        flags: Option<u32>,
        cas: Option<usize>,
    },
    Text(String),
    Err(ErrorKind),
}

/// The cas tokens one side has seen: numbered in order of first
/// appearance, and the last one per key.
#[derive(Clone, Default, PartialEq)]
struct Tokens {
    numbers: HashMap<u64, usize>,
    last: [Option<u64>; KEYS.len()],
}

impl Tokens {
    fn seen(&mut self, key: usize, token: u64) -> usize {
        self.last[key] = Some(token);
        let next = self.numbers.len();
        *self.numbers.entry(token).or_insert(next)
    }

    fn pick(&self, tok: Tok) -> u64 {
        match tok {
            Tok::Last(k) => self.last[k].unwrap_or(BOGUS),
            Tok::Bogus => BOGUS,
        }
    }
}

// ---------------------------------------------------------------------------
// The real side: memcrab against memcached.

fn index(key: &[u8]) -> usize {
    KEYS.iter()
        .position(|k| k.as_bytes() == key)
        .unwrap_or_else(|| panic!("unknown key {key:?}"))
}

fn bytes(v: Value) -> Vec<u8> {
    match v {
        Value::Bytes(b) => b.to_vec(),
        other => panic!("RawSerde gave {other:?}"),
    }
}

fn names(keys: &[usize]) -> Vec<&'static str> {
    keys.iter().map(|&k| KEYS[k]).collect()
}

fn reply(r: Reply, t: &mut Tokens) -> R {
    match r {
        Reply::Stored => R::Stored,
        Reply::NotStored => R::NotStored,
        Reply::Exists => R::Exists,
        Reply::NotFound => R::NotFound,
        Reply::Deleted => R::Deleted,
        Reply::Touched => R::Touched,
        Reply::Number(n) => R::Number(n),
        Reply::Values(items) => R::Values(
            items
                .into_iter()
                .map(|it| {
                    let k = index(&it.key);
                    let cas = it.cas.map(|c| t.seen(k, c));
                    (k, it.value.to_vec(), it.flags, cas)
                })
                .collect(),
        ),
        other => panic!("unexpected reply {other:?}"),
    }
}

fn meta(m: MetaReply, key: usize, t: &mut Tokens) -> Out {
    Out::Meta {
        status: m.status(),
        value: m.value.map(|v| v.to_vec()),
        flags: m.client_flags,
        cas: m.cas.map(|c| t.seen(key, c)),
    }
}

fn real(c: &impl Memcache, cmd: &Cmd, t: &mut Tokens) -> Out {
    let r: memcrab::Result<Out> = (|| {
        Ok(match cmd {
            Cmd::Store {
                kind,
                key,
                value,
                flags,
            } => Out::Bool(c.store_with(
                kind.command(),
                KEYS[*key],
                &value[..],
                StoreOptions::new().flags(*flags),
            )?),
            Cmd::Cas {
                key,
                value,
                flags,
                tok,
            } => Out::Cas(c.cas(
                KEYS[*key],
                &value[..],
                t.pick(*tok),
                StoreOptions::new().flags(*flags),
            )?),
            Cmd::Get(k) => Out::Value(c.get(KEYS[*k])?.map(bytes)),
            Cmd::Gat(k) => Out::Value(c.gat(KEYS[*k], TTL)?.map(bytes)),
            Cmd::Gets(k) => Out::ValueCas(
                c.gets(KEYS[*k])?
                    .map(|(v, cas)| (bytes(v), t.seen(*k, cas))),
            ),
            Cmd::Gats(k) => Out::ValueCas(
                c.gats(KEYS[*k], TTL)?
                    .map(|(v, cas)| (bytes(v), t.seen(*k, cas))),
            ),
            Cmd::GetMany(keys) => Out::Map(
                c.get_many(&names(keys))?
                    .into_iter()
                    .map(|(k, v)| (index(k.as_bytes()), bytes(v)))
                    .collect(),
            ),
            Cmd::GetsMany(keys) => {
                // Tokens are numbered in key order, as the model does.
                let mut found: Vec<_> = c.gets_many(&names(keys))?.into_iter().collect();
                found.sort_by_key(|(k, _)| index(k.as_bytes()));
                Out::MapCas(
                    found
                        .into_iter()
                        .map(|(k, (v, cas))| {
                            let i = index(k.as_bytes());
                            (i, (bytes(v), t.seen(i, cas)))
                        })
                        .collect(),
                )
            }
            Cmd::Touch(k) => Out::Bool(c.touch(KEYS[*k], TTL)?),
            Cmd::Delete(k) => Out::Bool(c.delete(KEYS[*k])?),
            Cmd::DeleteMany(keys) => Out::Bool(c.delete_many(&names(keys))?),
            Cmd::Incr(k, d) => Out::Number(c.incr(KEYS[*k], *d)?),
            Cmd::Decr(k, d) => Out::Number(c.decr(KEYS[*k], *d)?),
            Cmd::SetMany(items) => {
                let items: Vec<(&str, &[u8])> =
                    items.iter().map(|(k, v)| (KEYS[*k], &v[..])).collect();
                let mut failed: Vec<usize> = c
                    .set_many(&items, StoreOptions::new())?
                    .into_iter()
                    .map(|k| index(k.as_bytes()))
                    .collect();
                failed.sort_unstable();
                Out::NotStored(failed)
            }
            Cmd::FlushAll => Out::Bool(c.flush_all(Duration::ZERO)?),
            Cmd::Batch(reqs) => real_batch(c, reqs, t)?,
            Cmd::MetaGet(k) => meta(
                c.meta_get(MetaGet::new(KEYS[*k].as_bytes()).value().flags().cas())?,
                *k,
                t,
            ),
            Cmd::MetaSet {
                key,
                value,
                flags,
                kind,
                cas,
            } => {
                let mut s = MetaSet::new(KEYS[*key].as_bytes(), value)
                    .mode(kind.mode())
                    .client_flags(*flags);
                s.compare_cas = cas.map(|tok| t.pick(tok));
                meta(c.meta_set(s)?, *key, t)
            }
            Cmd::MetaDelete { key, cas } => {
                let mut d = MetaDelete::new(KEYS[*key].as_bytes());
                d.compare_cas = cas.map(|tok| t.pick(tok));
                meta(c.meta_delete(d)?, *key, t)
            }
            Cmd::MetaArith { key, decr, delta } => {
                let mode = if *decr {
                    ArithMode::Decr
                } else {
                    ArithMode::Incr
                };
                let a = MetaArithmetic::new(KEYS[*key].as_bytes())
                    .mode(mode)
                    .delta(*delta);
                meta(c.meta_arithmetic(a)?, *key, t)
            }
            Cmd::StoreExpired { kind, key, value } => Out::Bool(c.store_with(
                kind.command(),
                KEYS[*key],
                &value[..],
                StoreOptions::new().expire(UNIX_EPOCH),
            )?),
            Cmd::TouchExpire(k) => Out::Bool(c.touch(KEYS[*k], UNIX_EPOCH)?),
            Cmd::GatExpire(k) => Out::Value(c.gat(KEYS[*k], UNIX_EPOCH)?.map(bytes)),
            Cmd::Version => Out::Text(c.version()?),
            Cmd::Verbosity => Out::Bool(c.verbosity(1)?),
        })
    })();
    r.unwrap_or_else(|e| Out::Err(e.kind()))
}

fn real_batch(c: &impl Memcache, reqs: &[BReq], t: &mut Tokens) -> memcrab::Result<Out> {
    let key_lists: Vec<Vec<&[u8]>> = reqs
        .iter()
        .map(|r| match r {
            BReq::Get { keys, .. } => keys.iter().map(|&k| KEYS[k].as_bytes()).collect(),
            _ => Vec::new(),
        })
        .collect();
    let requests: Vec<Request<'_>> = reqs
        .iter()
        .zip(&key_lists)
        .map(|(r, keys)| match r {
            BReq::Store {
                kind,
                key,
                value,
                flags,
                noreply,
            } => Request::Store {
                command: kind.command(),
                key: KEYS[*key].as_bytes(),
                value,
                flags: *flags,
                exptime: 0,
                noreply: *noreply,
            },
            BReq::Cas {
                key,
                value,
                tok,
                noreply,
            } => Request::Store {
                command: StoreCommand::Cas(t.pick(*tok)),
                key: KEYS[*key].as_bytes(),
                value,
                flags: 0,
                exptime: 0,
                noreply: *noreply,
            },
            BReq::Get { cas, .. } => Request::Get {
                command: if *cas {
                    GetCommand::Gets
                } else {
                    GetCommand::Get
                },
                keys,
            },
            BReq::Delete { key, noreply } => Request::Delete {
                key: KEYS[*key].as_bytes(),
                noreply: *noreply,
            },
            BReq::Touch { key, noreply } => Request::Touch {
                key: KEYS[*key].as_bytes(),
                exptime: TTL.as_secs() as i64,
                noreply: *noreply,
            },
            BReq::Arith { decr, key, delta } => {
                let key = KEYS[*key].as_bytes();
                if *decr {
                    Request::Decr {
                        key,
                        delta: *delta,
                        noreply: false,
                    }
                } else {
                    Request::Incr {
                        key,
                        delta: *delta,
                        noreply: false,
                    }
                }
            }
        })
        .collect();
    let outcomes = c.execute(&requests)?;
    Ok(Out::Batch(
        outcomes
            .into_iter()
            .map(|o| o.map(|r| r.map(|r| reply(r, t)).map_err(|e| e.kind())))
            .collect(),
    ))
}

// ---------------------------------------------------------------------------
// The model.

#[derive(Clone, Debug, PartialEq)]
struct Item {
    value: Vec<u8>,
    flags: u32,
    cas: u64,
}

/// What a storage command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StoreOutcome {
    Stored,
    NotStored,
    Exists,
    NotFound,
}

/// memcached's items, as far as these commands can tell.
#[derive(Clone, Default, PartialEq)]
struct Model {
    items: HashMap<usize, Item>,
    last_cas: u64,
}

impl Model {
    fn next_cas(&mut self) -> u64 {
        self.last_cas += 1;
        self.last_cas
    }

    /// set/add/replace/append/prepend, or cas with `token`.
    fn store(
        &mut self,
        kind: Kind,
        cas: Option<u64>,
        key: usize,
        value: &[u8],
        flags: u32,
    ) -> StoreOutcome {
        let exists = self.items.contains_key(&key);
        if let Some(token) = cas {
            match self.items.get(&key) {
                None => return StoreOutcome::NotFound,
                Some(it) if it.cas != token => return StoreOutcome::Exists,
                Some(_) => {}
            }
        }
        let new = match kind {
            Kind::Add if exists => return StoreOutcome::NotStored,
            Kind::Replace | Kind::Append | Kind::Prepend if !exists => {
                return StoreOutcome::NotStored
            }
            // append and prepend keep the item's flags.
            Kind::Append | Kind::Prepend => {
                let it = &self.items[&key];
                let value = if kind == Kind::Append {
                    [&it.value[..], value].concat()
                } else {
                    [value, &it.value[..]].concat()
                };
                (value, it.flags)
            }
            _ => (value.to_vec(), flags),
        };
        let cas = self.next_cas();
        self.items.insert(
            key,
            Item {
                value: new.0,
                flags: new.1,
                cas,
            },
        );
        StoreOutcome::Stored
    }

    fn delete(&mut self, key: usize) -> bool {
        self.items.remove(&key).is_some()
    }

    /// touch and gat change the TTL only: not the value, not the token.
    fn touch(&self, key: usize) -> bool {
        self.items.contains_key(&key)
    }

    /// incr/decr: `Ok(None)` on a miss, `Err` for a non-numeric value;
    /// the new number with a new token and the item's flags.
    ///
    /// Two outcomes depend on memcached's memory, not on the commands, so
    /// they are choice points of the model: a number of 2^63 or more may be
    /// refused (see below); and a new number no longer than the old value is
    /// written over it in place, space-padded, when nothing else holds the
    /// item, else stored as a new item of just the digits (whether something
    /// else holds it, a reply still being written or the LRU maintainer
    /// thread, is not for a client to know).
    fn arith(
        &mut self,
        key: usize,
        decr: bool,
        delta: u64,
        choices: &mut Choices,
    ) -> Result<Option<u64>, ErrorKind> {
        let Some(old) = self.items.get(&key) else {
            return Ok(None);
        };
        let n = strtoull(&old.value).ok_or(ErrorKind::Client)?;
        // memcached (1.6.18) checks a number of 2^63 or more for a minus
        // sign with `strchr`, which reads on past the value into whatever
        // the item's memory held before, up to a NUL: it may find one there
        // and refuse the number as non-numeric.
        if n > i64::MAX as u64 && choices.next() {
            return Err(ErrorKind::Client);
        }
        let n = if decr {
            n.saturating_sub(delta)
        } else {
            n.wrapping_add(delta)
        };
        let mut digits = n.to_string().into_bytes();
        if digits.len() < old.value.len() && !choices.next() {
            digits.resize(old.value.len(), b' ');
        }
        let flags = old.flags;
        let cas = self.next_cas();
        self.items.insert(
            key,
            Item {
                value: digits,
                flags,
                cas,
            },
        );
        Ok(Some(n))
    }
}

/// The choices a command's run takes at the model's choice points: the
/// first ones from a script, the rest `false`; counts the points met.
struct Choices {
    script: Vec<bool>,
    met: usize,
}

impl Choices {
    fn next(&mut self) -> bool {
        let choice = self.script.get(self.met).copied().unwrap_or(false);
        self.met += 1;
        choice
    }
}

/// memcached's `safe_strtoull` on a stored value (which `\r\n` follows):
/// leading C whitespace, an optional sign, decimal digits without overflow,
/// then whitespace, a NUL or the end; a `-` is refused when the result reads as a
/// negative `i64`. An empty value is never a number.
fn strtoull(value: &[u8]) -> Option<u64> {
    let space = c_space;
    let mut i = value.iter().take_while(|&&b| space(b)).count();
    let negative = value.get(i) == Some(&b'-');
    if matches!(value.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = value[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in &value[i..i + digits] {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    // C's `strtoull` stops at the first non-digit: a space or a NUL there
    // (or the end, where `\r\n` follows) ends the number.
    let end = i + digits;
    if end < value.len() && !space(value[end]) && value[end] != 0 {
        return None;
    }
    let n = if negative { n.wrapping_neg() } else { n };
    if negative && (n as i64) < 0 {
        return None;
    }
    Some(n)
}

/// How a client sends its writes.
#[derive(Clone, Copy, Debug)]
struct Variant {
    protocol: Protocol,
    noreply: bool,
}

impl Variant {
    /// True if a noreply request with a meta form goes without any reply
    /// awaited: over the text protocol. Over meta it goes quiet, with a
    /// barrier, and its errors are still reported; a noreply success has no
    /// outcome either way.
    fn silent(self, noreply: bool) -> bool {
        noreply && self.protocol == Protocol::Text
    }
}

/// The client's connection, as far as results can tell: whether a request
/// that awaits no reply went out since the last one that awaits one. An
/// error line then cannot be told apart from a failure of that request, so
/// the connection closes with `NoreplyFailed` (the next call reconnects).
#[derive(Clone, Default, PartialEq)]
struct Conn {
    noreply_since_reply: bool,
}

impl Conn {
    /// Records a request going out; returns true if an error reply to it
    /// would close the connection with `NoreplyFailed`.
    fn send(&mut self, silent: bool) -> bool {
        if silent {
            self.noreply_since_reply = true;
            false
        } else {
            std::mem::take(&mut self.noreply_since_reply)
        }
    }

    /// The outcome of an error reply: the server's error, or `NoreplyFailed`
    /// (and a new connection) after a silent request.
    fn error(&mut self, e: ErrorKind, after_noreply: bool) -> ErrorKind {
        if after_noreply {
            self.noreply_since_reply = false;
            ErrorKind::NoreplyFailed
        } else {
            e
        }
    }
}

fn stored(s: StoreOutcome) -> R {
    match s {
        StoreOutcome::Stored => R::Stored,
        StoreOutcome::NotStored => R::NotStored,
        StoreOutcome::Exists => R::Exists,
        StoreOutcome::NotFound => R::NotFound,
    }
}

fn model(s: &mut State, v: Variant, cmd: &Cmd, ch: &mut Choices) -> Out {
    let State {
        m,
        conn: c,
        tokens: t,
    } = s;
    let get = |m: &Model, k: usize| m.items.get(&k).cloned();
    // Commands of one request that always waits for its reply.
    let after_noreply = match cmd {
        Cmd::Store { .. }
        | Cmd::StoreExpired { .. }
        | Cmd::TouchExpire(_)
        | Cmd::Touch(_)
        | Cmd::Delete(_)
        | Cmd::DeleteMany(_)
        | Cmd::SetMany(_)
        | Cmd::FlushAll
        | Cmd::Batch(_) => false,
        _ => c.send(false),
    };
    match cmd {
        Cmd::Store {
            kind,
            key,
            value,
            flags,
        } => {
            c.send(v.silent(v.noreply));
            // A noreply write is reported as done (over meta too: quiet mode
            // reports errors only).
            let s = m.store(*kind, None, *key, value, *flags);
            Out::Bool(s == StoreOutcome::Stored || v.noreply)
        }
        Cmd::Cas {
            key,
            value,
            flags,
            tok,
        } => Out::Cas(
            match m.store(Kind::Set, Some(t.pick(*tok)), *key, value, *flags) {
                StoreOutcome::Stored => Some(true),
                StoreOutcome::Exists | StoreOutcome::NotStored => Some(false),
                StoreOutcome::NotFound => None,
            },
        ),
        Cmd::Get(k) | Cmd::Gat(k) => Out::Value(get(m, *k).map(|it| it.value)),
        Cmd::Gets(k) | Cmd::Gats(k) => {
            Out::ValueCas(get(m, *k).map(|it| (it.value, t.seen(*k, it.cas))))
        }
        Cmd::GetMany(keys) => Out::Map(
            keys.iter()
                .filter_map(|&k| get(m, k).map(|it| (k, it.value)))
                .collect(),
        ),
        Cmd::GetsMany(keys) => {
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            Out::MapCas(
                sorted
                    .into_iter()
                    .filter_map(|k| get(m, k).map(|it| (k, (it.value, t.seen(k, it.cas)))))
                    .collect(),
            )
        }
        Cmd::Touch(k) => {
            c.send(v.silent(v.noreply));
            Out::Bool(m.touch(*k) || v.noreply)
        }
        Cmd::Delete(k) => {
            c.send(v.silent(v.noreply));
            Out::Bool(m.delete(*k) || v.noreply)
        }
        Cmd::DeleteMany(keys) => {
            for &k in keys {
                c.send(v.silent(v.noreply));
                m.delete(k);
            }
            Out::Bool(true)
        }
        Cmd::Incr(k, d) | Cmd::Decr(k, d) => {
            let decr = matches!(cmd, Cmd::Decr(..));
            match m.arith(*k, decr, *d, ch) {
                Ok(n) => Out::Number(n),
                Err(e) => Out::Err(c.error(e, after_noreply)),
            }
        }
        Cmd::SetMany(items) => {
            for (k, value) in items {
                c.send(v.silent(v.noreply));
                m.store(Kind::Set, None, *k, value, 0);
            }
            Out::NotStored(Vec::new())
        }
        Cmd::FlushAll => {
            // flush_all has no meta form: noreply is noreply.
            c.send(v.noreply);
            m.items.clear();
            Out::Bool(true)
        }
        Cmd::Batch(reqs) => Out::Batch(model_batch(m, c, v, reqs, t, ch)),
        Cmd::MetaGet(k) => match get(m, *k) {
            Some(it) => Out::Meta {
                status: MetaStatus::Value,
                value: Some(it.value),
                flags: Some(it.flags),
                cas: Some(t.seen(*k, it.cas)),
            },
            None => meta_status(MetaStatus::Miss),
        },
        Cmd::MetaSet {
            key,
            value,
            flags,
            kind,
            cas,
        } => meta_status(
            match m.store(*kind, cas.map(|tok| t.pick(tok)), *key, value, *flags) {
                StoreOutcome::Stored => MetaStatus::Ok,
                StoreOutcome::NotStored => MetaStatus::NotStored,
                StoreOutcome::Exists => MetaStatus::Exists,
                StoreOutcome::NotFound => MetaStatus::NotFound,
            },
        ),
        Cmd::MetaDelete { key, cas } => meta_status(match (get(m, *key), cas) {
            (None, _) => MetaStatus::NotFound,
            (Some(it), Some(tok)) if it.cas != t.pick(*tok) => MetaStatus::Exists,
            (Some(_), _) => {
                m.delete(*key);
                MetaStatus::Ok
            }
        }),
        Cmd::MetaArith { key, decr, delta } => match m.arith(*key, *decr, *delta, ch) {
            Ok(Some(n)) => Out::Meta {
                status: MetaStatus::Value,
                value: Some(n.to_string().into_bytes()),
                flags: None,
                cas: None,
            },
            Ok(None) => meta_status(MetaStatus::NotFound),
            Err(e) => Out::Err(c.error(e, after_noreply)),
        },
        Cmd::StoreExpired { kind, key, value } => {
            c.send(v.silent(v.noreply));
            let s = m.store(*kind, None, *key, value, 0);
            // Stored, and gone at once; append and prepend keep the old TTL.
            if s == StoreOutcome::Stored && !matches!(kind, Kind::Append | Kind::Prepend) {
                m.delete(*key);
            }
            Out::Bool(s == StoreOutcome::Stored || v.noreply)
        }
        Cmd::TouchExpire(k) => {
            c.send(v.silent(v.noreply));
            Out::Bool(m.delete(*k) || v.noreply)
        }
        Cmd::GatExpire(k) => Out::Value(m.items.remove(k).map(|it| it.value)),
        Cmd::Version => Out::Text(VERSION.get().cloned().unwrap_or_default()),
        Cmd::Verbosity => Out::Bool(true),
    }
}

fn meta_status(status: MetaStatus) -> Out {
    Out::Meta {
        status,
        value: None,
        flags: None,
        cas: None,
    }
}

/// A pipelined batch: every request is written before any reply is read
/// (so its cas tokens are the ones known before it), and the server runs
/// them all; once one closes the connection, every later request that
/// awaits a reply gets that error, and so does one that awaits none with
/// no such request after it.
fn model_batch(
    m: &mut Model,
    c: &mut Conn,
    v: Variant,
    reqs: &[BReq],
    t: &mut Tokens,
    ch: &mut Choices,
) -> Vec<Option<Result<R, ErrorKind>>> {
    let tokens: Vec<u64> = reqs
        .iter()
        .map(|r| match r {
            BReq::Cas { tok, .. } => t.pick(*tok),
            _ => BOGUS,
        })
        .collect();
    let mut closed = false;
    let mut closed_at = reqs.len();
    let mut silents = Vec::new();
    let mut out = Vec::new();
    for (r, token) in reqs.iter().zip(tokens) {
        let noreply = match r {
            BReq::Store { noreply, .. }
            | BReq::Cas { noreply, .. }
            | BReq::Delete { noreply, .. }
            | BReq::Touch { noreply, .. } => *noreply,
            BReq::Get { .. } | BReq::Arith { .. } => false,
        };
        let silent = v.silent(noreply);
        let after_noreply = c.send(silent);
        let result = match r {
            BReq::Store {
                kind,
                key,
                value,
                flags,
                ..
            } => Ok(stored(m.store(*kind, None, *key, value, *flags))),
            BReq::Cas { key, value, .. } => {
                Ok(stored(m.store(Kind::Set, Some(token), *key, value, 0)))
            }
            // Raw tokens for now: numbered only if the reply is delivered.
            BReq::Get { cas, keys } => Ok(R::Values(
                keys.iter()
                    .filter_map(|&k| {
                        let it = m.items.get(&k)?.clone();
                        Some((k, it.value, it.flags, cas.then_some(it.cas as usize)))
                    })
                    .collect(),
            )),
            BReq::Delete { key, .. } => Ok(if m.delete(*key) {
                R::Deleted
            } else {
                R::NotFound
            }),
            BReq::Touch { key, .. } => Ok(if m.touch(*key) {
                R::Touched
            } else {
                R::NotFound
            }),
            BReq::Arith { decr, key, delta } => m
                .arith(*key, *decr, *delta, ch)
                .map(|n| n.map_or(R::NotFound, R::Number)),
        };
        silents.push(silent);
        out.push(if silent {
            None
        } else if closed {
            Some(Err(ErrorKind::NoreplyFailed))
        } else {
            match result {
                Err(e) => {
                    closed = after_noreply;
                    if closed {
                        closed_at = out.len();
                    }
                    Some(Err(c.error(e, after_noreply)))
                }
                // A noreply success has no outcome.
                Ok(_) if noreply => None,
                Ok(R::Values(items)) => Some(Ok(R::Values(
                    items
                        .into_iter()
                        .map(|(k, v, f, cas)| (k, v, f, cas.map(|c| t.seen(k, c as u64))))
                        .collect(),
                ))),
                Ok(r) => Some(Ok(r)),
            }
        });
    }
    if closed {
        *c = Conn::default();
        // A silent request after the close is done once a later request's
        // outcome (its error) comes; one with none after it cannot be told
        // to have gone, and gets the error.
        for i in closed_at + 1..out.len() {
            if silents[i] && !silents[i + 1..].iter().any(|s| !s) {
                out[i] = Some(Err(ErrorKind::NoreplyFailed));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The property.

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        // Shrinking talks to the server too; keep it bounded.
        max_shrink_iters: 2048,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Everything the model knows: memcached's items, the connection, the
/// tokens seen.
#[derive(Clone, Default, PartialEq)]
struct State {
    m: Model,
    conn: Conn,
    tokens: Tokens,
}

/// Every way the model can run `cmd` from `state`: one run per combination
/// of choices (found depth first), with its result.
fn explore(state: &State, v: Variant, cmd: &Cmd) -> Vec<(State, Out)> {
    let mut runs = Vec::new();
    let mut scripts = vec![Vec::new()];
    while let Some(script) = scripts.pop() {
        let mut s = state.clone();
        let mut ch = Choices {
            script: script.clone(),
            met: 0,
        };
        let out = model(&mut s, v, cmd, &mut ch);
        for i in script.len()..ch.met {
            let mut other = script.clone();
            other.resize(i, false);
            other.push(true);
            scripts.push(other);
        }
        runs.push((s, out));
    }
    runs
}

/// Every run of the model from a set of states, with its result.
type Runs = Vec<(State, Out)>;

/// Keeps the states of `states` in which the model, running `cmd`, says
/// what `got` says; fails if there is none.
fn follow(
    states: &[State],
    v: Variant,
    cmd: &Cmd,
    got: &Out,
    who: &str,
    step: usize,
) -> Result<(Vec<State>, Runs), TestCaseError> {
    let runs: Vec<(State, Out)> = states.iter().flat_map(|s| explore(s, v, cmd)).collect();
    let mut next: Vec<State> = Vec::new();
    for (s, out) in &runs {
        if out == got && !next.contains(s) {
            next.push(s.clone());
        }
    }
    if next.is_empty() {
        let mut wanted: Vec<&Out> = Vec::new();
        for (_, out) in &runs {
            if !wanted.contains(&out) {
                wanted.push(out);
            }
        }
        let want = if wanted.len() == 1 {
            format!("{:?}", wanted[0])
        } else {
            format!("one of {wanted:?}")
        };
        return Err(TestCaseError::fail(format!(
            "step {step} of {v:?}: {cmd:?}\n  {who}: {got:?}\n  model:   {want}"
        )));
    }
    Ok((next, runs))
}

/// What a case found about the mock.
#[derive(Default)]
struct MockReport {
    /// Commands whose result the mock and memcached both gave.
    agreed: usize,
    /// Cases where memcached took a branch that depends on its memory (a
    /// choice point of the model) that the mock does not: from there on
    /// each side is checked against the model only.
    diverged: usize,
}

/// Runs one sequence on memcached and on the mock, then reads every key
/// back. The model keeps every state consistent with what each side said
/// so far, and the mock must say what memcached said, command by command,
/// errors included, unless memcached's answer came from a choice point
/// the model has (its memory's state), which the mock's determinism
/// cannot follow.
fn run_case(
    c: &Client,
    mock: &MockClient,
    v: Variant,
    cmds: &[Cmd],
    report: &mut MockReport,
) -> Result<(), TestCaseError> {
    prop_assert!(c.flush_all_with(Duration::ZERO, false).unwrap());
    prop_assert!(mock.flush_all_with(Duration::ZERO, false).unwrap());
    let mut states = vec![State::default()];
    let mut mock_states = vec![State::default()];
    let mut real_tokens = Tokens::default();
    let mut mock_tokens = Tokens::default();
    let mut diverged = false;
    let all = Cmd::Batch(vec![BReq::Get {
        cas: true,
        keys: (0..KEYS.len()).collect(),
    }]);
    for (i, cmd) in cmds.iter().chain([&all]).enumerate() {
        let got = real(c, cmd, &mut real_tokens);
        let faked = real(mock, cmd, &mut mock_tokens);
        let (next, runs) = follow(&states, v, cmd, &got, "memcrab", i)?;
        let (mock_next, _) = follow(&mock_states, v, cmd, &faked, "mock   ", i)?;
        if !diverged {
            if faked == got {
                report.agreed += 1;
            } else {
                // Explained only if memcached's and the mock's answers are
                // both runs of the model from the same states.
                let explained = runs.iter().any(|(_, o)| *o == faked) && mock_states == states;
                prop_assert!(
                    explained,
                    "step {i} of {v:?}: {cmd:?}\n  memcached: {got:?}\n  mock:      {faked:?}"
                );
                diverged = true;
                report.diverged += 1;
                eprintln!(
                    "{v:?}: memcached's memory chose at {cmd:?}: memcached {got:?}, mock {faked:?}"
                );
            }
        }
        states = next;
        mock_states = mock_next;
    }
    Ok(())
}

fn check(v: Variant) {
    let server = MemcachedServer::start();
    let client = Client::builder(server.addr_string())
        .timeout(Duration::from_secs(5))
        .protocol(v.protocol)
        .default_noreply(v.noreply)
        .build()
        .unwrap();
    let version = client.version().unwrap();
    VERSION.get_or_init(|| version.clone());
    let mock = MockClient::builder()
        .protocol(v.protocol)
        .default_noreply(v.noreply)
        .server_version(version)
        .build()
        .unwrap();
    let report = std::cell::RefCell::new(MockReport::default());
    let mut runner = TestRunner::new(config());
    if let Err(e) = runner.run(&commands(), |cmds| {
        run_case(&client, &mock, v, &cmds, &mut report.borrow_mut())
    }) {
        panic!("{v:?}: {e}");
    }
    let report = report.into_inner();
    eprintln!(
        "{v:?}: the mock agreed with memcached on {} commands; {} cases diverged at a choice point of memcached's memory",
        report.agreed, report.diverged
    );
    assert!(report.agreed > 0);
}

/// The real server's version, which the model expects `version` to say.
static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

#[test]
fn text_protocol_waiting_for_replies_agrees_with_the_model() {
    check(Variant {
        protocol: Protocol::Text,
        noreply: false,
    });
}

#[test]
fn text_protocol_with_noreply_writes_agrees_with_the_model() {
    check(Variant {
        protocol: Protocol::Text,
        noreply: true,
    });
}

#[test]
fn meta_protocol_waiting_for_replies_agrees_with_the_model() {
    check(Variant {
        protocol: Protocol::Meta,
        noreply: false,
    });
}

#[test]
fn meta_protocol_with_quiet_writes_agrees_with_the_model() {
    check(Variant {
        protocol: Protocol::Meta,
        noreply: true,
    });
}

#[test]
fn the_model_parses_numbers_as_memcached_does() {
    assert_eq!(strtoull(b"42"), Some(42));
    assert_eq!(strtoull(b" 5"), Some(5));
    assert_eq!(strtoull(b"+7"), Some(7));
    assert_eq!(strtoull(b"-0"), Some(0));
    assert_eq!(strtoull(b"5\r\nxx"), Some(5));
    assert_eq!(strtoull(b"0\0"), Some(0));
    assert_eq!(strtoull(b"18446744073709551615"), Some(u64::MAX));
    for bad in [
        &b""[..],
        b"abc",
        b"-3",
        b"18446744073709551616",
        b"5x",
        b"x y",
    ] {
        assert_eq!(strtoull(bad), None, "{bad:?}");
    }
}
