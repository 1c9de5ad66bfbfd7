//! The request encoder: arbitrary requests (classic and meta; any keys,
//! values, flags, numbers, noreply/quiet; any key prefix; over the text or
//! the meta protocol) are submitted one by one.
//!
//! Invariants: a request is accepted exactly when it can be put on the wire
//! (an independent oracle, and `validate` agrees); an accepted request's
//! bytes, read as memcached reads a client's stream, are exactly the
//! intended command(s) (meta flags in any order) and nothing else, no
//! injected second command; a refused request writes nothing and changes
//! nothing in flight; ids increase by one per accepted request.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use memcrab_core::command::{Awaits, OwnedRequest, RequestRef};
use memcrab_core::meta::{
    ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaRequest, MetaSet, SetMode,
};
use memcrab_core::{
    Connection, GetCommand, KeyPolicy, Limits, Protocol, Request, StoreCommand, MAX_KEY_LENGTH,
};
use memcrab_fuzz::server::{self, ServerCmd};

#[derive(Arbitrary, Debug)]
struct Input {
    prefix: Prefix,
    unicode: bool,
    small_items: bool,
    meta_protocol: bool,
    requests: Vec<Req>,
}

#[derive(Arbitrary, Debug)]
enum Prefix {
    None,
    Short,
    Any(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Store {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas(u64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Retrieval {
    Get,
    Gets,
    Gat(i64),
    Gats(i64),
}

/// A request the fuzzer makes: the core's owned request, read from the
/// input as a derived `Arbitrary` enum of the same variants would read it
/// (a `u32` picks the variant, then its fields in order), so the corpus
/// keeps its meaning.
#[derive(Debug)]
struct Req(OwnedRequest);

/// The variants, in the order the input picks them.
const VARIANTS: u64 = 20;

impl<'a> Arbitrary<'a> for Req {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let variant = (u64::from(u.arbitrary::<u32>()?) * VARIANTS) >> 32;
        let bytes = |u: &mut Unstructured<'a>| u.arbitrary::<Vec<u8>>().map(Bytes::from);
        let list = |u: &mut Unstructured<'a>| {
            u.arbitrary::<Vec<Vec<u8>>>()
                .map(|v| v.into_iter().map(Bytes::from).collect())
        };
        let meta = |request, key, value| OwnedRequest::Meta {
            request,
            key,
            value,
        };
        Ok(Req(match variant {
            0 => OwnedRequest::Store {
                command: store_command(u.arbitrary()?),
                key: bytes(u)?,
                value: bytes(u)?,
                flags: u.arbitrary()?,
                exptime: u.arbitrary()?,
                noreply: u.arbitrary()?,
            },
            1 => OwnedRequest::Get {
                command: get_command(u.arbitrary()?),
                keys: list(u)?,
            },
            2 => OwnedRequest::Touch {
                key: bytes(u)?,
                exptime: u.arbitrary()?,
                noreply: u.arbitrary()?,
            },
            3 => OwnedRequest::Delete {
                key: bytes(u)?,
                noreply: u.arbitrary()?,
            },
            4 => {
                let incr: bool = u.arbitrary()?;
                OwnedRequest::Arith {
                    decr: !incr,
                    key: bytes(u)?,
                    delta: u.arbitrary()?,
                    noreply: u.arbitrary()?,
                }
            }
            5 => OwnedRequest::Stats { args: list(u)? },
            6 => OwnedRequest::Version,
            7 => OwnedRequest::FlushAll {
                delay: u.arbitrary()?,
                noreply: u.arbitrary()?,
            },
            8 => OwnedRequest::Verbosity {
                level: u.arbitrary()?,
                noreply: u.arbitrary()?,
            },
            9 => OwnedRequest::CacheMemlimit {
                megabytes: u.arbitrary()?,
                noreply: u.arbitrary()?,
            },
            10 => OwnedRequest::Shutdown {
                graceful: u.arbitrary()?,
            },
            11 => OwnedRequest::Raw {
                line: bytes(u)?,
                terminator: bytes(u)?,
            },
            12 => OwnedRequest::Quit,
            13 => {
                let key = bytes(u)?;
                let on = {
                    let bits: u16 = u.arbitrary()?;
                    move |i: u16| bits & (1 << i) != 0
                };
                let get = MetaGet {
                    key: b"",
                    return_value: on(0),
                    return_cas: on(1),
                    return_flags: on(2),
                    return_hit: on(3),
                    return_key: on(4),
                    return_last_access: on(5),
                    return_size: on(6),
                    return_ttl: on(7),
                    no_bump: on(8),
                    quiet: on(9),
                    vivify: u.arbitrary()?,
                    recache: u.arbitrary()?,
                    touch: u.arbitrary()?,
                };
                meta(MetaRequest::Get(get), key, Bytes::new())
            }
            14 => {
                let (key, value) = (bytes(u)?, bytes(u)?);
                let mut s = MetaSet::new(b"", b"").mode(set_mode(u.arbitrary()?));
                s.client_flags = u.arbitrary()?;
                s.ttl = u.arbitrary()?;
                s.compare_cas = u.arbitrary()?;
                let bits: u8 = u.arbitrary()?;
                s.invalidate = bits & 1 != 0;
                s.return_cas = bits & 2 != 0;
                s.return_key = bits & 4 != 0;
                s.quiet = bits & 8 != 0;
                meta(MetaRequest::Set(s), key, value)
            }
            15 => {
                let key = bytes(u)?;
                let mut d = MetaDelete::new(b"");
                d.compare_cas = u.arbitrary()?;
                d.ttl = u.arbitrary()?;
                let bits: u8 = u.arbitrary()?;
                d.invalidate = bits & 1 != 0;
                d.return_key = bits & 2 != 0;
                d.quiet = bits & 4 != 0;
                meta(MetaRequest::Delete(d), key, Bytes::new())
            }
            16 => {
                let key = bytes(u)?;
                let decr: bool = u.arbitrary()?;
                let mut a = MetaArithmetic::new(b"").delta(u.arbitrary()?);
                if decr {
                    a = a.mode(ArithMode::Decr);
                }
                a.autovivify = u.arbitrary()?;
                a.initial = u.arbitrary()?;
                a.compare_cas = u.arbitrary()?;
                a.ttl = u.arbitrary()?;
                let bits: u8 = u.arbitrary()?;
                a.return_value = bits & 1 != 0;
                a.return_ttl = bits & 2 != 0;
                a.return_cas = bits & 4 != 0;
                a.quiet = bits & 8 != 0;
                meta(MetaRequest::Arithmetic(a), key, Bytes::new())
            }
            17 => meta(MetaRequest::Noop, Bytes::new(), Bytes::new()),
            _ => meta(MetaRequest::Debug { key: b"" }, bytes(u)?, Bytes::new()),
        }))
    }
}

/// The pieces of a command line.
fn t(s: impl AsRef<[u8]>) -> Vec<u8> {
    s.as_ref().to_vec()
}

fn n(x: impl ToString) -> Vec<u8> {
    x.to_string().into_bytes()
}

fn flag(f: char, x: impl ToString) -> Vec<u8> {
    format!("{f}{}", x.to_string()).into_bytes()
}

struct Env {
    prefix: Vec<u8>,
    unicode: bool,
    limits: Limits,
}

impl Env {
    fn full(&self, key: &[u8]) -> Vec<u8> {
        [self.prefix.as_slice(), key].concat()
    }

    /// A classic key: the wire key if the text protocol can carry it.
    fn text_key(&self, key: &[u8]) -> Option<Vec<u8>> {
        let full = self.full(key);
        let ok = !key.is_empty()
            && full.len() <= MAX_KEY_LENGTH
            && full
                .iter()
                .all(|&b| b > 0x20 && b != 0x7f && (b < 0x80 || self.unicode));
        ok.then_some(full)
    }

    /// The meta key of a classic request carried by meta commands: the
    /// classic key rules apply whatever the protocol, so never base64.
    fn classic_meta_key(&self, key: &[u8]) -> Option<(Vec<u8>, bool)> {
        self.text_key(key).map(|k| (k, false))
    }

    /// A meta key: the wire key and whether it is base64-encoded.
    fn meta_key(&self, key: &[u8]) -> Option<(Vec<u8>, bool)> {
        if let Some(k) = self.text_key(key) {
            return Some((k, false));
        }
        let full = self.full(key);
        let encoded = STANDARD.encode(&full);
        (!key.is_empty() && full.len() <= MAX_KEY_LENGTH && encoded.len() <= MAX_KEY_LENGTH)
            .then(|| (encoded.into_bytes(), true))
    }

    fn value_ok(&self, value: &[u8]) -> bool {
        value.len() <= self.limits.max_item_size
    }
}

/// What one request should put on the wire: `None` if it must be refused.
enum Expected {
    /// Commands, in order (normalized).
    Commands(Vec<ServerCmd>),
    /// A raw line, byte for byte.
    Raw(Vec<u8>),
}

/// One meta command: name, key (+ `b` when base64), the value's length
/// and data for `ms`, flags, the opaque, and a barrier after it when quiet.
fn meta_cmd(
    out: &mut Vec<ServerCmd>,
    name: &str,
    key: Option<(Vec<u8>, bool)>,
    value: Option<&[u8]>,
    mut flags: Vec<Vec<u8>>,
    opaque: Option<u64>,
    quiet: bool,
) {
    let mut tokens = vec![t(name)];
    if let Some((k, b64)) = key {
        tokens.push(k);
        if b64 {
            flags.push(t("b"));
        }
    }
    tokens.extend(value.map(|v| n(v.len())));
    let data = value.map(<[u8]>::to_vec);
    if quiet {
        flags.push(t("q"));
    }
    if let Some(o) = opaque {
        flags.push(flag('O', o));
    }
    tokens.extend(flags);
    out.push(ServerCmd::new(tokens, data).normalized());
    if quiet {
        out.push(ServerCmd::new(vec![t("mn")], None));
    }
}

fn bits<const N: usize>(b: u16, letters: [char; N]) -> Vec<Vec<u8>> {
    letters
        .iter()
        .enumerate()
        .filter(|(i, _)| b & (1 << i) != 0)
        .map(|(_, c)| t(c.to_string()))
        .collect()
}

fn store_command(c: Store) -> StoreCommand {
    match c {
        Store::Set => StoreCommand::Set,
        Store::Add => StoreCommand::Add,
        Store::Replace => StoreCommand::Replace,
        Store::Append => StoreCommand::Append,
        Store::Prepend => StoreCommand::Prepend,
        Store::Cas(c) => StoreCommand::Cas(c),
    }
}

fn get_command(c: Retrieval) -> GetCommand {
    match c {
        Retrieval::Get => GetCommand::Get,
        Retrieval::Gets => GetCommand::Gets,
        Retrieval::Gat(e) => GetCommand::Gat(e),
        Retrieval::Gats(e) => GetCommand::Gats(e),
    }
}

fn set_mode(m: u8) -> SetMode {
    [
        SetMode::Set,
        SetMode::Add,
        SetMode::Replace,
        SetMode::Append,
        SetMode::Prepend,
    ][usize::from(m % 5)]
}

/// What memcached should read for a meta request with opaque `id`.
fn expect_meta(env: &Env, req: &MetaRequest<'_>, id: u64) -> Option<Vec<ServerCmd>> {
    let mut out = Vec::new();
    let o = Some(id);
    match req {
        MetaRequest::Get(g) => {
            let key = env.meta_key(g.key)?;
            let mut flags = bits(
                u16::from(g.return_value)
                    | u16::from(g.return_cas) << 1
                    | u16::from(g.return_flags) << 2
                    | u16::from(g.return_hit) << 3
                    | u16::from(g.return_key) << 4
                    | u16::from(g.return_last_access) << 5
                    | u16::from(g.return_size) << 6
                    | u16::from(g.return_ttl) << 7
                    | u16::from(g.no_bump) << 8,
                ['v', 'c', 'f', 'h', 'k', 'l', 's', 't', 'u'],
            );
            flags.extend(g.vivify.map(|v| flag('N', v)));
            flags.extend(g.recache.map(|v| flag('R', v)));
            flags.extend(g.touch.map(|v| flag('T', v)));
            meta_cmd(&mut out, "mg", Some(key), None, flags, o, g.quiet);
        }
        MetaRequest::Set(s) => {
            let key = env.meta_key(s.key)?;
            if !env.value_ok(s.value) {
                return None;
            }
            let mode = match s.mode {
                SetMode::Set => 'S',
                SetMode::Add => 'E',
                SetMode::Replace => 'R',
                SetMode::Append => 'A',
                SetMode::Prepend => 'P',
            };
            let mut flags = vec![flag('M', mode)];
            if s.client_flags != 0 {
                flags.push(flag('F', s.client_flags));
            }
            flags.extend(s.ttl.map(|v| flag('T', v)));
            flags.extend(s.compare_cas.map(|v| flag('C', v)));
            flags.extend(bits(
                u16::from(s.invalidate)
                    | u16::from(s.return_cas) << 1
                    | u16::from(s.return_key) << 2,
                ['I', 'c', 'k'],
            ));
            meta_cmd(&mut out, "ms", Some(key), Some(s.value), flags, o, s.quiet);
        }
        MetaRequest::Delete(d) => {
            let key = env.meta_key(d.key)?;
            let mut flags = Vec::new();
            flags.extend(d.compare_cas.map(|v| flag('C', v)));
            flags.extend(d.ttl.map(|v| flag('T', v)));
            flags.extend(bits(
                u16::from(d.invalidate) | u16::from(d.return_key) << 1,
                ['I', 'k'],
            ));
            meta_cmd(&mut out, "md", Some(key), None, flags, o, d.quiet);
        }
        MetaRequest::Arithmetic(a) => {
            let key = env.meta_key(a.key)?;
            let mode = match a.mode {
                ArithMode::Incr => 'I',
                ArithMode::Decr => 'D',
            };
            let mut flags = vec![flag('M', mode), flag('D', a.delta)];
            flags.extend(a.autovivify.map(|v| flag('N', v)));
            flags.extend(a.initial.map(|v| flag('J', v)));
            flags.extend(a.compare_cas.map(|v| flag('C', v)));
            flags.extend(a.ttl.map(|v| flag('T', v)));
            flags.extend(bits(
                u16::from(a.return_value)
                    | u16::from(a.return_ttl) << 1
                    | u16::from(a.return_cas) << 2,
                ['v', 't', 'c'],
            ));
            meta_cmd(&mut out, "ma", Some(key), None, flags, o, a.quiet);
        }
        MetaRequest::Noop => out.push(ServerCmd::new(vec![t("mn")], None)),
        MetaRequest::Debug { key } => {
            let key = env.meta_key(key)?;
            meta_cmd(&mut out, "me", Some(key), None, Vec::new(), None, false);
        }
    }
    Some(out)
}

/// What memcached should read for a classic request with id `id`.
fn expect_classic(env: &Env, req: &Request<'_>, id: u64, meta: bool) -> Option<Expected> {
    let nr = |tokens: &mut Vec<Vec<u8>>, noreply: bool| {
        if noreply {
            tokens.push(t("noreply"));
        }
    };
    if meta {
        // Keyed requests go as meta commands.
        let mut out = Vec::new();
        let o = Some(id);
        match *req {
            Request::Store {
                command,
                key,
                value,
                flags,
                exptime,
                noreply,
            } => {
                let key = env.classic_meta_key(key)?;
                if !env.value_ok(value) {
                    return None;
                }
                let (mode, cas) = match command {
                    StoreCommand::Set => ('S', None),
                    StoreCommand::Add => ('E', None),
                    StoreCommand::Replace => ('R', None),
                    StoreCommand::Append => ('A', None),
                    StoreCommand::Prepend => ('P', None),
                    StoreCommand::Cas(c) => ('S', Some(c)),
                };
                let mut f = vec![flag('M', mode)];
                if flags != 0 {
                    f.push(flag('F', flags));
                }
                if exptime != 0 {
                    f.push(flag('T', exptime));
                }
                f.extend(cas.map(|c| flag('C', c)));
                meta_cmd(&mut out, "ms", Some(key), Some(value), f, o, noreply);
                return Some(Expected::Commands(out));
            }
            Request::Get { command, keys } => {
                if keys.is_empty() {
                    return None;
                }
                for key in keys {
                    let key = env.classic_meta_key(key)?;
                    let mut f = vec![t("v"), t("f"), t("k")];
                    if command.returns_cas() {
                        f.push(t("c"));
                    }
                    if let GetCommand::Gat(e) | GetCommand::Gats(e) = command {
                        f.push(flag('T', e));
                    }
                    meta_cmd(&mut out, "mg", Some(key), None, f, o, false);
                }
                return Some(Expected::Commands(out));
            }
            Request::Touch {
                key,
                exptime,
                noreply,
            } => {
                let key = env.classic_meta_key(key)?;
                let f = vec![flag('T', exptime)];
                meta_cmd(&mut out, "mg", Some(key), None, f, o, noreply);
                return Some(Expected::Commands(out));
            }
            Request::Delete { key, noreply } => {
                let key = env.classic_meta_key(key)?;
                meta_cmd(&mut out, "md", Some(key), None, Vec::new(), o, noreply);
                return Some(Expected::Commands(out));
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
                let key = env.classic_meta_key(key)?;
                let mode = if matches!(req, Request::Incr { .. }) {
                    'I'
                } else {
                    'D'
                };
                let f = vec![flag('M', mode), flag('D', delta), t("v")];
                meta_cmd(&mut out, "ma", Some(key), None, f, o, noreply);
                return Some(Expected::Commands(out));
            }
            _ => {}
        }
    }
    let mut tokens = Vec::new();
    let mut data = None;
    match *req {
        Request::Store {
            command,
            key,
            value,
            flags,
            exptime,
            noreply,
        } => {
            if !env.value_ok(value) {
                return None;
            }
            tokens.extend([
                t(command.name()),
                env.text_key(key)?,
                n(flags),
                n(exptime),
                n(value.len()),
            ]);
            if let StoreCommand::Cas(c) = command {
                tokens.push(n(c));
            }
            nr(&mut tokens, noreply);
            data = Some(value.to_vec());
        }
        Request::Get { command, keys } => {
            if keys.is_empty() {
                return None;
            }
            tokens.push(t(command.name()));
            if let GetCommand::Gat(e) | GetCommand::Gats(e) = command {
                tokens.push(n(e));
            }
            for key in keys {
                tokens.push(env.text_key(key)?);
            }
        }
        Request::Touch {
            key,
            exptime,
            noreply,
        } => {
            tokens.extend([t("touch"), env.text_key(key)?, n(exptime)]);
            nr(&mut tokens, noreply);
        }
        Request::Delete { key, noreply } => {
            tokens.extend([t("delete"), env.text_key(key)?]);
            nr(&mut tokens, noreply);
        }
        Request::Incr {
            key,
            delta,
            noreply,
        } => {
            tokens.extend([t("incr"), env.text_key(key)?, n(delta)]);
            nr(&mut tokens, noreply);
        }
        Request::Decr {
            key,
            delta,
            noreply,
        } => {
            tokens.extend([t("decr"), env.text_key(key)?, n(delta)]);
            nr(&mut tokens, noreply);
        }
        Request::Stats { args } => {
            tokens.push(t("stats"));
            for arg in args {
                // Arguments are checked as unprefixed ASCII keys.
                let ok = !arg.is_empty()
                    && arg.len() <= MAX_KEY_LENGTH
                    && arg.iter().all(|&b| (0x21..0x7f).contains(&b));
                if !ok {
                    return None;
                }
                tokens.push(arg.to_vec());
            }
        }
        Request::Version => tokens.push(t("version")),
        Request::FlushAll { delay, noreply } => {
            tokens.extend([t("flush_all"), n(delay)]);
            nr(&mut tokens, noreply);
        }
        Request::Verbosity { level, noreply } => {
            tokens.extend([t("verbosity"), n(level)]);
            nr(&mut tokens, noreply);
        }
        Request::CacheMemlimit { megabytes, noreply } => {
            tokens.extend([t("cache_memlimit"), n(megabytes)]);
            nr(&mut tokens, noreply);
        }
        Request::Shutdown { graceful } => {
            tokens.push(t("shutdown"));
            if graceful {
                tokens.push(t("graceful"));
            }
        }
        Request::Quit => tokens.push(t("quit")),
        Request::Raw { line, terminator } => {
            let ok = !line.is_empty()
                && !line.iter().any(|&b| b == b'\r' || b == b'\n')
                && !terminator.is_empty();
            return ok.then(|| Expected::Raw([line, b"\r\n"].concat()));
        }
    }
    Some(Expected::Commands(vec![ServerCmd::new(tokens, data)]))
}

/// Checks the bytes one accepted request wrote.
fn check_written(written: &[u8], expected: Expected) {
    match expected {
        Expected::Raw(line) => assert_eq!(written, &line[..], "raw line"),
        Expected::Commands(want) => {
            let got: Vec<ServerCmd> = server::parse(written)
                .unwrap_or_else(|e| panic!("memcached cannot read {written:?}: {e}"))
                .into_iter()
                .map(ServerCmd::normalized)
                .collect();
            assert_eq!(got, want, "wrote {:?}", String::from_utf8_lossy(written));
        }
    }
}

fuzz_target!(|input: Input| {
    let prefix = match input.prefix {
        Prefix::None => Vec::new(),
        Prefix::Short => b"app:".to_vec(),
        Prefix::Any(p) => p,
    };
    let limits = Limits {
        max_item_size: if input.small_items {
            16
        } else {
            Limits::default().max_item_size
        },
        ..Limits::default()
    };
    let policy = KeyPolicy::new()
        .with_prefix(prefix.clone())
        .allow_unicode_keys(input.unicode);
    let env = Env {
        prefix,
        unicode: input.unicode,
        limits,
    };
    let mut conn = Connection::with_config(policy.clone(), limits);
    let protocol = match input.meta_protocol {
        true => Protocol::Meta,
        false => Protocol::Text,
    };
    conn.set_protocol(protocol);
    let mut next_id = 0u64;
    let mut quit = false;
    for req in input.requests.iter().take(64) {
        let before = conn.transmit().len();
        let in_flight = conn.in_flight();
        // `silent`: a classic request that awaits no reply at all.
        let (result, expected, valid, silent) = req.0.with_request(|r| match r {
            RequestRef::Meta(m) => {
                let result = conn.submit_meta(m, None);
                let expected = expect_meta(&env, m, next_id).map(Expected::Commands);
                (result, expected, m.validate(&policy, &limits).is_ok(), false)
            }
            RequestRef::Text(r) => {
                let result = conn.submit(r, None);
                let expected = expect_classic(&env, r, next_id, input.meta_protocol);
                // `validate` checks the text form; over meta, keys it refuses
                // may still go base64-encoded.
                let valid = r.validate(&policy, &limits).is_ok();
                if valid && !quit {
                    assert!(result.is_ok(), "validate accepted {r:?}, submit refused: {result:?}");
                }
                let silent = r.is_noreply() && matches!(expected, Some(Expected::Commands(ref c)) if !c[0].tokens[0].starts_with(b"m"));
                if result.is_ok() {
                    // The core's word on what it awaits agrees with the oracle.
                    let never = Awaits::of(r, protocol) == Awaits::Never;
                    assert_eq!(silent, never, "awaits of {r:?}");
                }
                (result, expected, valid || input.meta_protocol, silent)
            }
        });
        let written = &conn.transmit()[before..];
        match result {
            Ok(id) => {
                assert!(!quit, "accepted a request after quit");
                assert!(valid, "validate refuses what submit accepted: {req:?}");
                assert_eq!(id.0, next_id, "ids increase by one");
                next_id += 1;
                let expected = expected.unwrap_or_else(|| {
                    panic!("accepted {req:?}, which cannot be put on the wire: {written:?}")
                });
                // Every command written awaits its reply, barriers too;
                // a classic noreply request (or quit) awaits none.
                let awaited = match &expected {
                    _ if silent => 0,
                    Expected::Raw(_) => 1,
                    Expected::Commands(c) => c.len(),
                };
                assert_eq!(
                    conn.in_flight() - in_flight,
                    awaited,
                    "in flight after {req:?}"
                );
                check_written(written, expected);
                if matches!(req.0, OwnedRequest::Quit) {
                    quit = true;
                }
            }
            Err(e) => {
                assert!(written.is_empty(), "a refused request wrote {written:?}");
                assert_eq!(
                    conn.in_flight(),
                    in_flight,
                    "a refused request is in flight"
                );
                if quit {
                    assert_eq!(e, memcrab_core::Error::UnexpectedClose);
                } else {
                    assert!(
                        matches!(e, memcrab_core::Error::IllegalInput(_)),
                        "refused with {e:?}"
                    );
                    assert!(expected.is_none(), "refused {req:?}, which is valid: {e}");
                }
            }
        }
    }
});
