//! Property tests of the meta protocol through the public API only.
//!
//! (a) Any meta request, encoded, is parsed by a memcached-style meta
//!     command parser into exactly the intended command, key (base64-decoded
//!     where the encoder chose `b`), flags and value, and nothing else; a
//!     request the encoder refuses writes nothing.
//! (b) Any meta reply a test-side encoder writes (any status, any flags in
//!     any order, quiet requests answered only by their barrier, error lines
//!     for quiet requests), split into any reads, comes back from the
//!     `Connection` as exactly the generated reply, for exactly its request.
//! (c) Any bytes at all, fed as meta replies, never panic or loop, and every
//!     request is answered at most once (exactly once unless quiet) once
//!     the stream ends.

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use memcrab_core::meta::{
    ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaReply, MetaRequest, MetaSet, MetaStatus,
    SetMode,
};
use memcrab_core::{Connection, Error, KeyPolicy, Limits, Reply, RequestId};
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------
// Requests as owned values.

#[derive(Clone, Debug)]
enum Req {
    Get {
        key: Vec<u8>,
        /// v c f h k l s t u q.
        bools: [bool; 10],
        vivify: Option<i64>,
        recache: Option<i64>,
        touch: Option<i64>,
    },
    Set {
        key: Vec<u8>,
        value: Vec<u8>,
        mode: SetMode,
        client_flags: u32,
        ttl: Option<i64>,
        compare_cas: Option<u64>,
        /// I c k q.
        bools: [bool; 4],
    },
    Delete {
        key: Vec<u8>,
        compare_cas: Option<u64>,
        ttl: Option<i64>,
        /// I k q.
        bools: [bool; 3],
    },
    Arith {
        key: Vec<u8>,
        mode: ArithMode,
        delta: u64,
        autovivify: Option<i64>,
        initial: Option<u64>,
        compare_cas: Option<u64>,
        ttl: Option<i64>,
        /// v t c q.
        bools: [bool; 4],
    },
    Noop,
    Debug {
        key: Vec<u8>,
    },
}

impl Req {
    fn with_request<R>(&self, f: impl FnOnce(&MetaRequest<'_>) -> R) -> R {
        let request: MetaRequest<'_> = match self {
            Req::Get {
                key,
                bools,
                vivify,
                recache,
                touch,
            } => {
                let [v, c, fl, h, k, l, s, t, u, q] = *bools;
                let mut g = MetaGet::new(key);
                g.return_value = v;
                g.return_cas = c;
                g.return_flags = fl;
                g.return_hit = h;
                g.return_key = k;
                g.return_last_access = l;
                g.return_size = s;
                g.return_ttl = t;
                g.no_bump = u;
                g.quiet = q;
                g.vivify = *vivify;
                g.recache = *recache;
                g.touch = *touch;
                g.into()
            }
            Req::Set {
                key,
                value,
                mode,
                client_flags,
                ttl,
                compare_cas,
                bools,
            } => {
                let [i, c, k, q] = *bools;
                let mut s = MetaSet::new(key, value)
                    .mode(*mode)
                    .client_flags(*client_flags);
                s.ttl = *ttl;
                s.compare_cas = *compare_cas;
                s.invalidate = i;
                s.return_cas = c;
                s.return_key = k;
                s.quiet = q;
                s.into()
            }
            Req::Delete {
                key,
                compare_cas,
                ttl,
                bools,
            } => {
                let [i, k, q] = *bools;
                let mut d = MetaDelete::new(key);
                d.compare_cas = *compare_cas;
                d.ttl = *ttl;
                d.invalidate = i;
                d.return_key = k;
                d.quiet = q;
                d.into()
            }
            Req::Arith {
                key,
                mode,
                delta,
                autovivify,
                initial,
                compare_cas,
                ttl,
                bools,
            } => {
                let [v, t, c, q] = *bools;
                let mut a = MetaArithmetic::new(key).mode(*mode).delta(*delta);
                a.autovivify = *autovivify;
                a.initial = *initial;
                a.compare_cas = *compare_cas;
                a.ttl = *ttl;
                a.return_value = v;
                a.return_ttl = t;
                a.return_cas = c;
                a.quiet = q;
                a.into()
            }
            Req::Noop => MetaRequest::Noop,
            Req::Debug { key } => MetaRequest::Debug { key },
        };
        f(&request)
    }

    fn key(&self) -> Option<&[u8]> {
        match self {
            Req::Get { key, .. }
            | Req::Set { key, .. }
            | Req::Delete { key, .. }
            | Req::Arith { key, .. }
            | Req::Debug { key } => Some(key),
            Req::Noop => None,
        }
    }

    fn quiet(&self) -> bool {
        match self {
            Req::Get { bools, .. } => bools[9],
            Req::Set { bools, .. } => bools[3],
            Req::Delete { bools, .. } => bools[2],
            Req::Arith { bools, .. } => bools[3],
            Req::Noop | Req::Debug { .. } => false,
        }
    }

    /// The commands memcached should see for this request sent with
    /// opaque `id`, or `None` if the encoder must refuse it.
    fn expected(&self, prefix: &[u8], unicode: bool, id: u64) -> Option<Vec<Cmd>> {
        let mut flags: Vec<(u8, Vec<u8>)> = Vec::new();
        let plain = |f: &mut Vec<(u8, Vec<u8>)>, c: u8, on: bool| {
            if on {
                f.push((c, Vec::new()));
            }
        };
        let num = |f: &mut Vec<(u8, Vec<u8>)>, c: u8, n: Option<String>| {
            if let Some(n) = n {
                f.push((c, n.into_bytes()));
            }
        };
        let mut data = None;
        let name: &[u8] = match self {
            Req::Get {
                bools,
                vivify,
                recache,
                touch,
                ..
            } => {
                for (c, on) in b"vcfhklstuq".iter().zip(bools) {
                    plain(&mut flags, *c, *on);
                }
                num(&mut flags, b'N', vivify.map(|n| n.to_string()));
                num(&mut flags, b'R', recache.map(|n| n.to_string()));
                num(&mut flags, b'T', touch.map(|n| n.to_string()));
                b"mg"
            }
            Req::Set {
                value,
                mode,
                client_flags,
                ttl,
                compare_cas,
                bools,
                ..
            } => {
                let m = match mode {
                    SetMode::Set => "S",
                    SetMode::Add => "E",
                    SetMode::Replace => "R",
                    SetMode::Append => "A",
                    SetMode::Prepend => "P",
                };
                num(&mut flags, b'M', Some(m.to_string()));
                num(
                    &mut flags,
                    b'F',
                    (*client_flags != 0).then(|| client_flags.to_string()),
                );
                num(&mut flags, b'T', ttl.map(|n| n.to_string()));
                num(&mut flags, b'C', compare_cas.map(|n| n.to_string()));
                for (c, on) in b"Ickq".iter().zip(bools) {
                    plain(&mut flags, *c, *on);
                }
                data = Some(value.clone());
                b"ms"
            }
            Req::Delete {
                compare_cas,
                ttl,
                bools,
                ..
            } => {
                num(&mut flags, b'C', compare_cas.map(|n| n.to_string()));
                num(&mut flags, b'T', ttl.map(|n| n.to_string()));
                for (c, on) in b"Ikq".iter().zip(bools) {
                    plain(&mut flags, *c, *on);
                }
                b"md"
            }
            Req::Arith {
                mode,
                delta,
                autovivify,
                initial,
                compare_cas,
                ttl,
                bools,
                ..
            } => {
                let m = if *mode == ArithMode::Incr { "I" } else { "D" };
                num(&mut flags, b'M', Some(m.to_string()));
                num(&mut flags, b'D', Some(delta.to_string()));
                num(&mut flags, b'N', autovivify.map(|n| n.to_string()));
                num(&mut flags, b'J', initial.map(|n| n.to_string()));
                num(&mut flags, b'C', compare_cas.map(|n| n.to_string()));
                num(&mut flags, b'T', ttl.map(|n| n.to_string()));
                for (c, on) in b"vtcq".iter().zip(bools) {
                    plain(&mut flags, *c, *on);
                }
                b"ma"
            }
            Req::Noop => b"mn",
            Req::Debug { .. } => b"me",
        };
        let key = match self.key() {
            None => None,
            Some(key) => {
                let full = [prefix, key].concat();
                match memcrab_core::validate_key(key, prefix, unicode) {
                    Ok(()) => {}
                    Err(_) if key.is_empty() || full.len() > 250 => return None,
                    Err(_) => {
                        if STANDARD.encode(&full).len() > 250 {
                            return None;
                        }
                        flags.push((b'b', Vec::new()));
                    }
                }
                Some(full)
            }
        };
        if !matches!(self, Req::Noop | Req::Debug { .. }) {
            flags.push((b'O', id.to_string().into_bytes()));
        }
        flags.sort();
        let mut out = vec![Cmd {
            name: name.to_vec(),
            key,
            flags,
            data,
        }];
        if self.quiet() {
            out.push(Cmd {
                name: b"mn".to_vec(),
                key: None,
                flags: Vec::new(),
                data: None,
            });
        }
        Some(out)
    }
}

/// One command as memcached parses it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cmd {
    name: Vec<u8>,
    /// The key, base64-decoded when the command carries `b`.
    key: Option<Vec<u8>>,
    /// Flags (letter, token), sorted.
    flags: Vec<(u8, Vec<u8>)>,
    data: Option<Vec<u8>>,
}

/// Parses a client's byte stream as memcached's meta parser does: lines end
/// in `\r\n`, tokens are separated by one space; `ms <key> <datalen>` is
/// followed by the data and `\r\n`; a `b` flag means the key is base64.
fn server_parse(mut bytes: &[u8]) -> Vec<Cmd> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let nl = bytes
            .iter()
            .position(|&b| b == b'\n')
            .expect("every command ends in \\n");
        let line = bytes[..nl]
            .strip_suffix(b"\r")
            .expect("lines end with \\r\\n");
        assert!(!line.contains(&b'\r'), "a \\r inside a line: {line:?}");
        bytes = &bytes[nl + 1..];
        let tokens: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        assert!(
            tokens.iter().all(|t| !t.is_empty()),
            "empty token in {line:?}"
        );
        assert!(
            line.iter().all(|&b| b >= b' ' && b != 0x7f),
            "a control byte in a command line: {line:?}"
        );
        let name = tokens[0].to_vec();
        let (key, rest) = match &name[..] {
            b"mn" => (None, &tokens[1..]),
            b"mg" | b"ms" | b"md" | b"ma" | b"me" => (Some(tokens[1].to_vec()), &tokens[2..]),
            other => panic!("unknown command {other:?}"),
        };
        let (datalen, rest) = if name == b"ms" {
            let len: usize = std::str::from_utf8(rest[0]).unwrap().parse().unwrap();
            (Some(len), &rest[1..])
        } else {
            (None, rest)
        };
        let mut flags: Vec<(u8, Vec<u8>)> = rest.iter().map(|t| (t[0], t[1..].to_vec())).collect();
        flags.sort();
        let base64 = flags.iter().any(|(f, _)| *f == b'b');
        let key = key.map(|k| {
            if base64 {
                STANDARD.decode(&k).expect("the b flag's key is base64")
            } else {
                k
            }
        });
        let data = datalen.map(|len| {
            let data = bytes[..len].to_vec();
            assert_eq!(&bytes[len..len + 2], b"\r\n", "data of {len} bytes ends");
            bytes = &bytes[len + 2..];
            data
        });
        out.push(Cmd {
            name,
            key,
            flags,
            data,
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Strategies.

fn policy() -> impl Strategy<Value = (Vec<u8>, bool)> {
    (
        prop_oneof![
            Just(Vec::new()),
            "[a-z0-9]{1,6}:".prop_map(String::into_bytes)
        ],
        any::<bool>(),
    )
}

fn make_policy(prefix: &[u8], unicode: bool) -> KeyPolicy {
    KeyPolicy::new()
        .with_prefix(Bytes::copy_from_slice(prefix))
        .allow_unicode_keys(unicode)
}

/// Any key: printable, binary, long enough that base64 overflows, empty.
fn key() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(0x21u8..=0x7e, 1..=12),
        6 => prop::collection::vec(any::<u8>(), 1..=24),
        2 => prop::collection::vec(prop_oneof![Just(b' '), Just(b'\r'), Just(b'\n'), Just(0u8), Just(0xffu8)], 1..=8),
        1 => prop::collection::vec(any::<u8>(), 170..=200),
        1 => prop::collection::vec(0x21u8..=0x7e, 240..=252),
        1 => Just(Vec::new()),
    ]
    .boxed()
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(b"\r\nmn\r\nms k 1 MS\r\nx\r\n".to_vec()),
    ]
}

fn ttl() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(any::<i64>())
}

fn set_mode() -> impl Strategy<Value = SetMode> {
    prop_oneof![
        Just(SetMode::Set),
        Just(SetMode::Add),
        Just(SetMode::Replace),
        Just(SetMode::Append),
        Just(SetMode::Prepend),
    ]
}

fn request() -> impl Strategy<Value = Req> {
    prop_oneof![
        4 => (key(), any::<[bool; 10]>(), ttl(), ttl(), ttl()).prop_map(
            |(key, bools, vivify, recache, touch)| Req::Get {
                key,
                bools,
                vivify,
                recache,
                touch
            }
        ),
        4 => (
            key(),
            value(),
            set_mode(),
            prop_oneof![Just(0u32), any::<u32>()],
            ttl(),
            prop::option::of(any::<u64>()),
            any::<[bool; 4]>()
        )
            .prop_map(
                |(key, value, mode, client_flags, ttl, compare_cas, bools)| Req::Set {
                    key,
                    value,
                    mode,
                    client_flags,
                    ttl,
                    compare_cas,
                    bools
                }
            ),
        2 => (key(), prop::option::of(any::<u64>()), ttl(), any::<[bool; 3]>()).prop_map(
            |(key, compare_cas, ttl, bools)| Req::Delete {
                key,
                compare_cas,
                ttl,
                bools
            }
        ),
        2 => (
            key(),
            prop_oneof![Just(ArithMode::Incr), Just(ArithMode::Decr)],
            any::<u64>(),
            ttl(),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>()),
            ttl(),
            any::<[bool; 4]>()
        )
            .prop_map(
                |(key, mode, delta, autovivify, initial, compare_cas, ttl, bools)| Req::Arith {
                    key,
                    mode,
                    delta,
                    autovivify,
                    initial,
                    compare_cas,
                    ttl,
                    bools
                }
            ),
        1 => Just(Req::Noop),
        1 => key().prop_map(|key| Req::Debug { key }),
    ]
}

// ---------------------------------------------------------------------------
// (a) Requests: encode, parse as memcached, compare.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn encoded_meta_requests_parse_back_as_intended(
        (prefix, unicode) in policy(),
        requests in prop::collection::vec(request(), 1..12),
    ) {
        let mut conn = Connection::with_config(make_policy(&prefix, unicode), Limits::default());
        let mut want = Vec::new();
        let mut next = 0u64;
        for req in &requests {
            let before = conn.transmit().to_vec();
            let in_flight = conn.in_flight();
            let result = req.with_request(|r| conn.submit_meta(r, None));
            match req.expected(&prefix, unicode, next) {
                Some(cmds) => {
                    prop_assert_eq!(result, Ok(RequestId(next)), "{:?}", req);
                    next += 1;
                    want.extend(cmds);
                }
                None => {
                    prop_assert!(
                        matches!(result, Err(Error::IllegalInput(_))),
                        "{:?} was not refused: {:?}", req, result
                    );
                    prop_assert_eq!(conn.transmit(), &before[..], "a refused request wrote");
                    prop_assert_eq!(conn.in_flight(), in_flight);
                }
            }
        }
        prop_assert_eq!(server_parse(conn.transmit()), want);
    }

    /// `validate` agrees with `submit_meta`.
    #[test]
    fn validate_agrees_with_submit(
        (prefix, unicode) in policy(),
        req in request(),
    ) {
        let policy = make_policy(&prefix, unicode);
        let checked = req.with_request(|r| r.validate(&policy, &Limits::default()));
        let mut conn = Connection::with_config(policy, Limits::default());
        let submitted = req.with_request(|r| conn.submit_meta(r, None));
        prop_assert_eq!(checked.is_ok(), submitted.is_ok());
        if let (Err(a), Err(b)) = (checked, submitted) {
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(req.expected(&prefix, unicode, 0).is_some(), conn.in_flight() > 0);
    }
}

// ---------------------------------------------------------------------------
// (b) Replies: a test-side encoder, arbitrary splits.

/// What the server says to one request.
#[derive(Clone, Debug)]
enum Answer {
    /// A reply line (and value) with the request's opaque.
    Reply(MetaReply, RenderOpts),
    /// Nothing but the barrier's `MN` (a quiet request that succeeded).
    Silent,
    /// An error line (no opaque), then the barrier's `MN` if quiet.
    ErrorLine(bool, String),
    /// `MN` to an `mn`.
    Noop,
    /// `ME <key> <text>` to an `me`.
    Debug(Vec<u8>, Vec<u8>),
    /// `EN` to an `me`.
    DebugMiss,
}

/// How the test encoder writes a reply: flag order, base64 for the key,
/// unknown flags.
#[derive(Clone, Debug)]
struct RenderOpts {
    order: Vec<usize>,
    base64: bool,
    unknown: Vec<String>,
    quiet: bool,
}

#[derive(Clone, Debug)]
struct Exchange {
    answer: Answer,
}

impl Exchange {
    fn request(&self) -> MetaRequest<'static> {
        match &self.answer {
            Answer::Reply(_, o) if o.quiet => MetaGet::new(b"k").quiet().into(),
            Answer::Silent => MetaSet::new(b"k", b"v").quiet().into(),
            Answer::ErrorLine(true, _) => MetaSet::new(b"k", b"v").quiet().into(),
            Answer::Reply(..) | Answer::ErrorLine(false, _) => MetaGet::new(b"k").into(),
            Answer::Noop => MetaRequest::Noop,
            Answer::Debug(..) | Answer::DebugMiss => MetaRequest::Debug { key: b"k" },
        }
    }

    fn bytes(&self, prefix: &[u8], id: u64) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.answer {
            Answer::Reply(r, o) => {
                out.extend_from_slice(render(r, o, prefix, id).as_slice());
                if o.quiet {
                    out.extend_from_slice(b"MN\r\n");
                }
            }
            Answer::Silent => out.extend_from_slice(b"MN\r\n"),
            Answer::ErrorLine(quiet, line) => {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(b"\r\n");
                if *quiet {
                    out.extend_from_slice(b"MN\r\n");
                }
            }
            Answer::Noop => out.extend_from_slice(b"MN\r\n"),
            Answer::Debug(key, text) => {
                out.extend_from_slice(b"ME ");
                out.extend_from_slice(key);
                out.push(b' ');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Answer::DebugMiss => out.extend_from_slice(b"EN\r\n"),
        }
        out
    }

    fn expect(&self) -> Option<Result<Reply, Error>> {
        match &self.answer {
            Answer::Reply(r, _) => Some(Ok(Reply::Meta(Box::new(r.clone())))),
            Answer::Silent => None,
            Answer::ErrorLine(_, line) => Some(Err(match line.split_once(' ') {
                Some(("SERVER_ERROR", m)) => Error::Server(m.into()),
                Some(("CLIENT_ERROR", m)) => Error::Client(m.into()),
                _ => unreachable!("{line}"),
            })),
            Answer::Noop => Some(Ok(Reply::Meta(Box::new(MetaReply::new(MetaStatus::Noop))))),
            Answer::Debug(_, text) => {
                let mut r = MetaReply::new(MetaStatus::Debug);
                r.value = Some(Bytes::copy_from_slice(text));
                Some(Ok(Reply::Meta(Box::new(r))))
            }
            Answer::DebugMiss => Some(Ok(Reply::Meta(Box::new(MetaReply::new(MetaStatus::Miss))))),
        }
    }
}

/// Writes `r` as memcached would, with opaque `id`.
fn render(r: &MetaReply, o: &RenderOpts, prefix: &[u8], id: u64) -> Vec<u8> {
    let code: &[u8] = match r.status() {
        MetaStatus::Value => b"VA",
        MetaStatus::Ok => b"HD",
        MetaStatus::Miss => b"EN",
        MetaStatus::NotFound => b"NF",
        MetaStatus::NotStored => b"NS",
        MetaStatus::Exists => b"EX",
        MetaStatus::Noop => b"MN",
        MetaStatus::Debug => b"ME",
    };
    let mut flags: Vec<Vec<u8>> = Vec::new();
    if let Some(c) = r.cas {
        flags.push(format!("c{c}").into_bytes());
    }
    if let Some(f) = r.client_flags {
        flags.push(format!("f{f}").into_bytes());
    }
    if let Some(t) = r.ttl {
        flags.push(format!("t{t}").into_bytes());
    }
    if let Some(s) = r.size {
        flags.push(format!("s{s}").into_bytes());
    }
    if let Some(l) = r.last_access {
        flags.push(format!("l{l}").into_bytes());
    }
    if let Some(h) = r.hit_before {
        flags.push(format!("h{}", u8::from(h)).into_bytes());
    }
    if let Some(k) = &r.key {
        let full = [prefix, k].concat();
        if o.base64 || !full.iter().all(|b| (0x21..0x7f).contains(b)) {
            flags.push([b"k".as_slice(), STANDARD.encode(&full).as_bytes()].concat());
            flags.push(b"b".to_vec());
        } else {
            flags.push([b"k".as_slice(), &full].concat());
        }
    }
    for (on, f) in [(r.win, "W"), (r.stale, "X"), (r.already_won, "Z")] {
        if on {
            flags.push(f.as_bytes().to_vec());
        }
    }
    flags.push(format!("O{id}").into_bytes());
    for u in &o.unknown {
        flags.push(u.clone().into_bytes());
    }
    // Any order the server likes.
    let mut ordered: Vec<(usize, Vec<u8>)> = flags
        .into_iter()
        .enumerate()
        .map(|(i, f)| (o.order.get(i).copied().unwrap_or(i), f))
        .collect();
    ordered.sort_by_key(|(k, _)| *k);
    let mut out = code.to_vec();
    if let Some(v) = &r.value {
        out.extend_from_slice(format!(" {}", v.len()).as_bytes());
    }
    for (_, f) in ordered {
        out.push(b' ');
        out.extend_from_slice(&f);
    }
    out.extend_from_slice(b"\r\n");
    if let Some(v) = &r.value {
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn meta_reply() -> impl Strategy<Value = MetaReply> {
    let status = prop_oneof![
        3 => Just(MetaStatus::Value),
        2 => Just(MetaStatus::Ok),
        1 => Just(MetaStatus::Miss),
        1 => Just(MetaStatus::NotFound),
        1 => Just(MetaStatus::NotStored),
        1 => Just(MetaStatus::Exists),
    ];
    (
        status,
        prop::collection::vec(any::<u8>(), 0..48),
        (
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u32>()),
            prop::option::of(prop_oneof![Just(-1i64), (i64::MIN + 1)..=i64::MAX]),
            prop::option::of(any::<u64>()),
        ),
        (
            prop::option::of(prop::collection::vec(any::<u8>(), 1..40)),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<bool>()),
            any::<[bool; 3]>(),
        ),
    )
        .prop_map(
            |(status, value, (cas, client_flags, ttl, size), (key, last, hit, wxz))| {
                let mut r = MetaReply::new(status);
                if status == MetaStatus::Value {
                    r.value = Some(Bytes::from(value));
                }
                r.cas = cas;
                r.client_flags = client_flags;
                r.ttl = ttl;
                r.size = size;
                r.key = key.map(Bytes::from);
                r.last_access = last;
                r.hit_before = hit;
                r.win = wxz[0];
                r.stale = wxz[1];
                r.already_won = wxz[2];
                r
            },
        )
}

fn render_opts() -> impl Strategy<Value = RenderOpts> {
    (
        Just((0..16).collect::<Vec<usize>>()).prop_shuffle(),
        any::<bool>(),
        prop::collection::vec(
            prop_oneof![
                Just("P".to_string()),
                Just("Lpath/".to_string()),
                Just("Y".to_string()),
                Just("g42".to_string()),
                Just("j".to_string()),
            ],
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(order, base64, unknown, quiet)| RenderOpts {
            order,
            base64,
            unknown,
            quiet,
        })
}

fn exchange() -> impl Strategy<Value = Exchange> {
    let error_line = prop_oneof![
        "[a-z ]{0,20}[a-z]".prop_map(|m| format!("SERVER_ERROR {m}")),
        "[a-z ]{0,20}[a-z]".prop_map(|m| format!("CLIENT_ERROR {m}")),
    ];
    prop_oneof![
        8 => (meta_reply(), render_opts()).prop_map(|(r, o)| Answer::Reply(r, o)),
        2 => Just(Answer::Silent),
        2 => (any::<bool>(), error_line).prop_map(|(q, l)| Answer::ErrorLine(q, l)),
        1 => Just(Answer::Noop),
        1 => ("[!-~]{1,20}", "[ -~]{0,60}")
            .prop_map(|(k, t)| Answer::Debug(k.into_bytes(), t.into_bytes())),
        1 => Just(Answer::DebugMiss),
    ]
    .prop_map(|answer| Exchange { answer })
}

/// Cuts `bytes` at the given points (sorted, deduplicated).
fn split<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut last = 0;
    for a in at {
        out.push(&bytes[last..a]);
        last = a;
    }
    out.push(&bytes[last..]);
    out
}

/// Polls until `None`; fails if `poll` returns more than is in flight.
fn poll_all(conn: &mut Connection) -> Vec<(RequestId, Result<Reply, Error>)> {
    let bound = conn.in_flight() + 1;
    let mut out = Vec::new();
    while let Some(r) = conn.poll() {
        out.push(r);
        assert!(out.len() <= bound, "poll returned more than was in flight");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn generated_meta_replies_come_back_at_any_split(
        prefix in prop_oneof![Just(Vec::new()), "[a-z0-9]{1,6}:".prop_map(String::into_bytes)],
        exchanges in prop::collection::vec(exchange(), 1..10),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let mut conn = Connection::with_config(make_policy(&prefix, false), Limits::default());
        let mut want = Vec::new();
        let mut bytes = Vec::new();
        for e in &exchanges {
            let id = conn.submit_meta(&e.request(), None).unwrap();
            if let Some(expect) = e.expect() {
                want.push((id, expect));
            }
            bytes.extend_from_slice(&e.bytes(&prefix, id.0));
        }
        let mut got = Vec::new();
        for chunk in split(&bytes, &cuts) {
            conn.receive(chunk);
            got.extend(poll_all(&mut conn));
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(conn.in_flight(), 0);
        prop_assert_eq!(conn.error(), None);
        prop_assert!(!conn.is_closed());
    }

    /// A strict prefix of the stream gives a prefix of the results and no
    /// error.
    #[test]
    fn a_strict_prefix_gives_a_prefix_of_the_meta_results(
        exchanges in prop::collection::vec(exchange(), 1..10),
        cut in any::<Index>(),
    ) {
        let mut conn = Connection::new();
        let mut want = Vec::new();
        let mut bytes = Vec::new();
        for e in &exchanges {
            let id = conn.submit_meta(&e.request(), None).unwrap();
            if let Some(expect) = e.expect() {
                want.push((id, expect));
            }
            bytes.extend_from_slice(&e.bytes(b"", id.0));
        }
        let at = cut.index(bytes.len());
        conn.receive(&bytes[..at]);
        let got = poll_all(&mut conn);
        prop_assert!(want.starts_with(&got), "{:?} is not a prefix of {:?}", got, want);
        prop_assert_eq!(conn.error(), None);
    }
}

// ---------------------------------------------------------------------------
// (c) Any bytes: no panic, no loop, every request answered at most once.

fn noise() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"VA ".to_vec()),
        Just(b"HD".to_vec()),
        Just(b"EN".to_vec()),
        Just(b"NF".to_vec()),
        Just(b"NS".to_vec()),
        Just(b"EX".to_vec()),
        Just(b"MN".to_vec()),
        Just(b"ME".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"O0".to_vec()),
        Just(b"O1".to_vec()),
        Just(b"O2".to_vec()),
        Just(b" b".to_vec()),
        Just(b" k".to_vec()),
        Just(b"=".to_vec()),
        Just(b"4294967296".to_vec()),
        Just(b"SERVER_ERROR x".to_vec()),
        Just(b"ERROR".to_vec()),
        "[0-9]{1,3}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_meta_replies_never_panic(
        requests in prop::collection::vec(request(), 1..6),
        bytes in noise(),
        cuts in prop::collection::vec(any::<Index>(), 0..6),
    ) {
        let mut conn = Connection::new();
        let mut ids = Vec::new();
        for r in &requests {
            if let Ok(id) = r.with_request(|m| conn.submit_meta(m, None)) {
                ids.push((id, r.quiet()));
            }
        }
        let mut got = Vec::new();
        for chunk in split(&bytes, &cuts) {
            conn.receive(chunk);
            got.extend(poll_all(&mut conn));
        }
        conn.receive_eof();
        got.extend(poll_all(&mut conn));
        prop_assert_eq!(conn.in_flight(), 0);
        let answered: Vec<RequestId> = got.iter().map(|(id, _)| *id).collect();
        let unique: BTreeSet<RequestId> = answered.iter().copied().collect();
        prop_assert_eq!(unique.len(), answered.len(), "a request answered twice: {:?}", got);
        for (id, quiet) in &ids {
            prop_assert!(
                *quiet || unique.contains(id),
                "request {:?} never answered: {:?}", id, got
            );
        }
        prop_assert!(answered.iter().all(|a| ids.iter().any(|(id, _)| id == a)));
    }
}
