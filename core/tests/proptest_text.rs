//! Property tests of the text protocol through the public API only.
//!
//! (a) Any valid request, encoded, is parsed by a memcached-style command
//!     parser into exactly the intended command and nothing else.
//! (b) Any reply a test-side encoder writes, split into any reads, comes back
//!     from the `Connection` as exactly the generated reply.
//! (c) Any bytes at all, fed as replies, never panic or loop, and every
//!     request is answered once the stream ends.
//!
//! Plus one allocation check: a `VALUE` line that claims a large length makes
//! the parser allocate nothing near that size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use memcrab_core::command::{Awaits, OwnedRequest as Req, RequestRef};
use memcrab_core::{
    Connection, Error, GetCommand, Item, KeyPolicy, Limits, Protocol, Reply, Request, RequestId,
    StoreCommand,
};
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------
// Requests as owned values: the core's `OwnedRequest`.

/// Submits the request; panics if it is refused.
fn submit(req: &Req, conn: &mut Connection) -> Result<RequestId, Error> {
    let id = req.submit_to(conn, None);
    assert!(id.is_ok(), "{req:?}: {id:?}");
    id
}

/// What the request awaits over the text protocol: the core decides.
fn awaits(req: &Req) -> Awaits {
    req.with_request(|r| match r {
        RequestRef::Text(r) => Awaits::of(r, Protocol::Text),
        RequestRef::Meta(m) => Awaits::of_meta(m),
    })
}

/// The command name `ERROR` replies are reported for.
fn name(req: &Req) -> &'static str {
    match req {
        Req::Store { command, .. } => command.name(),
        Req::Get { command, .. } => command.name(),
        Req::Touch { .. } => "touch",
        Req::Delete { .. } => "delete",
        Req::Arith { decr: false, .. } => "incr",
        Req::Arith { decr: true, .. } => "decr",
        Req::Stats { .. } => "stats",
        Req::Version => "version",
        Req::FlushAll { .. } => "flush_all",
        Req::Verbosity { .. } => "verbosity",
        Req::CacheMemlimit { .. } => "cache_memlimit",
        Req::Shutdown { .. } => "shutdown",
        Req::Raw { .. } => "raw",
        Req::Quit => "quit",
        other => panic!("not generated here: {other:?}"),
    }
}

/// What memcached should understand: the command's tokens and data.
fn as_command(req: &Req, prefix: &[u8]) -> Cmd {
    let p = |key: &[u8]| [prefix, key].concat();
    let n = |x: &dyn ToString| x.to_string().into_bytes();
    let nr = |tokens: &mut Vec<Vec<u8>>, noreply: bool| {
        if noreply {
            tokens.push(b"noreply".to_vec());
        }
    };
    let mut data = None;
    let mut t: Vec<Vec<u8>> = Vec::new();
    match req {
        Req::Store {
            command,
            key,
            value,
            flags,
            exptime,
            noreply,
        } => {
            t.extend([
                command.name().into(),
                p(key),
                n(flags),
                n(exptime),
                n(&value.len()),
            ]);
            if let StoreCommand::Cas(cas) = command {
                t.push(n(cas));
            }
            nr(&mut t, *noreply);
            data = Some(value.to_vec());
        }
        Req::Get { command, keys } => {
            t.push(command.name().into());
            if let GetCommand::Gat(e) | GetCommand::Gats(e) = command {
                t.push(n(e));
            }
            t.extend(keys.iter().map(|k| p(k)));
        }
        Req::Touch {
            key,
            exptime,
            noreply,
        } => {
            t.extend([b"touch".to_vec(), p(key), n(exptime)]);
            nr(&mut t, *noreply);
        }
        Req::Delete { key, noreply } => {
            t.extend([b"delete".to_vec(), p(key)]);
            nr(&mut t, *noreply);
        }
        Req::Arith {
            key,
            delta,
            noreply,
            ..
        } => {
            t.extend([name(req).into(), p(key), n(delta)]);
            nr(&mut t, *noreply);
        }
        Req::Stats { args } => {
            t.push(b"stats".to_vec());
            t.extend(args.iter().map(|a| a.to_vec()));
        }
        Req::Version => t.push(b"version".to_vec()),
        Req::FlushAll { delay, noreply } => {
            t.extend([b"flush_all".to_vec(), n(delay)]);
            nr(&mut t, *noreply);
        }
        Req::Verbosity { level, noreply } => {
            t.extend([b"verbosity".to_vec(), n(level)]);
            nr(&mut t, *noreply);
        }
        Req::CacheMemlimit { megabytes, noreply } => {
            t.extend([b"cache_memlimit".to_vec(), n(megabytes)]);
            nr(&mut t, *noreply);
        }
        Req::Shutdown { graceful } => {
            t.push(b"shutdown".to_vec());
            if *graceful {
                t.push(b"graceful".to_vec());
            }
        }
        Req::Raw { line, .. } => t.extend(tokens(line)),
        Req::Quit => t.push(b"quit".to_vec()),
        other => panic!("not generated here: {other:?}"),
    }
    Cmd { tokens: t, data }
}

/// One command as memcached parses it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cmd {
    tokens: Vec<Vec<u8>>,
    data: Option<Vec<u8>>,
}

/// memcached's tokenizer: split on spaces, empty tokens skipped.
fn tokens(line: &[u8]) -> Vec<Vec<u8>> {
    line.split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Parses a client's byte stream as memcached does: a command line ends at
/// the first `\n` (a `\r` before it is dropped); storage commands are
/// followed by `<bytes>` bytes of data and `\r\n`.
fn server_parse(mut bytes: &[u8]) -> Vec<Cmd> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let nl = bytes
            .iter()
            .position(|&b| b == b'\n')
            .expect("every command ends in \\n");
        let line = &bytes[..nl];
        let line = line
            .strip_suffix(b"\r")
            .expect("the encoder ends lines with \\r\\n");
        assert!(!line.contains(&b'\r'), "a \\r inside a line: {line:?}");
        bytes = &bytes[nl + 1..];
        let t = tokens(line);
        let storage: &[&[u8]] = &[b"set", b"add", b"replace", b"append", b"prepend", b"cas"];
        let data = if storage.contains(&t[0].as_slice()) {
            let len: usize = std::str::from_utf8(&t[4]).unwrap().parse().unwrap();
            let data = bytes[..len].to_vec();
            assert_eq!(&bytes[len..len + 2], b"\r\n");
            bytes = &bytes[len + 2..];
            Some(data)
        } else {
            None
        };
        out.push(Cmd { tokens: t, data });
    }
    out
}

// ---------------------------------------------------------------------------
// Strategies.

/// A key policy: an optional prefix and whether non-ASCII keys are allowed.
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

/// A valid key for the policy: printable ASCII (and bytes >= 0x80 when
/// allowed), at most 250 bytes with the prefix.
fn key(prefix_len: usize, unicode: bool) -> BoxedStrategy<Vec<u8>> {
    let max = 250 - prefix_len;
    let byte = if unicode {
        prop_oneof![3 => 0x21u8..=0x7e, 1 => 0x80u8..=0xff].boxed()
    } else {
        (0x21u8..=0x7e).boxed()
    };
    prop_oneof![
        8 => prop::collection::vec(byte.clone(), 1..=12),
        1 => prop::collection::vec(byte, max - 5..=max),
    ]
    .boxed()
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(b"\r\nEND\r\nVALUE k 0 1\r\nx\r\n".to_vec()),
        1 => prop::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' ')], 0..8),
    ]
}

fn store_command() -> impl Strategy<Value = StoreCommand> {
    prop_oneof![
        Just(StoreCommand::Set),
        Just(StoreCommand::Add),
        Just(StoreCommand::Replace),
        Just(StoreCommand::Append),
        Just(StoreCommand::Prepend),
        any::<u64>().prop_map(StoreCommand::Cas),
    ]
}

fn get_command() -> impl Strategy<Value = GetCommand> {
    prop_oneof![
        Just(GetCommand::Get),
        Just(GetCommand::Gets),
        any::<i64>().prop_map(GetCommand::Gat),
        any::<i64>().prop_map(GetCommand::Gats),
    ]
}

/// A raw command line: printable tokens joined by single spaces.
fn raw_line() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec("[!-~]{1,10}", 1..5).prop_map(|t| t.join(" ").into_bytes())
}

/// Byte strings as the owned request holds them.
fn owned(v: Vec<Vec<u8>>) -> Vec<Bytes> {
    v.into_iter().map(Bytes::from).collect()
}

fn request(prefix_len: usize, unicode: bool) -> impl Strategy<Value = Req> {
    let k = move || key(prefix_len, unicode);
    let arg = || "[!-~]{1,12}".prop_map(String::into_bytes);
    prop_oneof![
        (
            store_command(),
            k(),
            value(),
            any::<u32>(),
            any::<i64>(),
            any::<bool>()
        )
            .prop_map(
                |(command, key, value, flags, exptime, noreply)| Req::Store {
                    command,
                    key: key.into(),
                    value: value.into(),
                    flags,
                    exptime,
                    noreply,
                }
            ),
        (get_command(), prop::collection::vec(k(), 1..6)).prop_map(|(command, keys)| Req::Get {
            command,
            keys: owned(keys)
        }),
        (k(), any::<i64>(), any::<bool>()).prop_map(|(key, exptime, noreply)| Req::Touch {
            key: key.into(),
            exptime,
            noreply
        }),
        (k(), any::<bool>()).prop_map(|(key, noreply)| Req::Delete {
            key: key.into(),
            noreply
        }),
        (any::<bool>(), k(), any::<u64>(), any::<bool>()).prop_map(
            |(decr, key, delta, noreply)| Req::Arith {
                decr,
                key: key.into(),
                delta,
                noreply
            }
        ),
        prop::collection::vec(arg(), 0..4).prop_map(|args| Req::Stats { args: owned(args) }),
        Just(Req::Version),
        (any::<i64>(), any::<bool>()).prop_map(|(delay, noreply)| Req::FlushAll { delay, noreply }),
        (any::<u32>(), any::<bool>())
            .prop_map(|(level, noreply)| Req::Verbosity { level, noreply }),
        (any::<u64>(), any::<bool>())
            .prop_map(|(megabytes, noreply)| Req::CacheMemlimit { megabytes, noreply }),
        any::<bool>().prop_map(|graceful| Req::Shutdown { graceful }),
        raw_line().prop_map(|line| Req::Raw {
            line: line.into(),
            terminator: Bytes::from_static(b"\r\n")
        }),
    ]
}

// ---------------------------------------------------------------------------
// (a) Encoding round trip.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encoded_requests_parse_back_as_intended(
        (prefix, unicode, requests, quit) in policy().prop_flat_map(|(prefix, unicode)| {
            let n = prefix.len();
            (
                Just(prefix),
                Just(unicode),
                prop::collection::vec(request(n, unicode), 1..12),
                any::<bool>(),
            )
        })
    ) {
        let mut conn = Connection::with_config(make_policy(&prefix, unicode), Limits::default());
        let mut requests = requests;
        if quit {
            requests.push(Req::Quit);
        }
        let mut awaited = 0;
        for (i, req) in requests.iter().enumerate() {
            let id = submit(req, &mut conn).unwrap();
            prop_assert_eq!(id, RequestId(i as u64));
            if awaits(req) == Awaits::Always {
                awaited += 1;
            }
        }
        prop_assert_eq!(conn.in_flight(), awaited);
        let want: Vec<Cmd> = requests.iter().map(|r| as_command(r, &prefix)).collect();
        prop_assert_eq!(server_parse(conn.transmit()), want);
    }

    /// Bad input is refused and writes nothing, whatever else is queued.
    #[test]
    fn a_refused_request_writes_nothing(
        before in prop::collection::vec(request(0, false), 0..4),
        bad_key in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut conn = Connection::new();
        for req in &before {
            submit(req, &mut conn).unwrap();
        }
        let queued = conn.transmit().to_vec();
        let valid = memcrab_core::validate_key(&bad_key, b"", false).is_ok();
        let keys: &[&[u8]] = &[b"ok", &bad_key];
        let result = conn.submit(&Request::Get { command: GetCommand::Get, keys }, None);
        prop_assert_eq!(result.is_ok(), valid);
        if !valid {
            prop_assert!(matches!(result, Err(Error::IllegalInput(_))));
            prop_assert_eq!(conn.transmit(), &queued[..]);
        }
    }
}

// ---------------------------------------------------------------------------
// (b) Replies: a test-side encoder, arbitrary splits.

/// One request and the reply the server sends for it.
#[derive(Clone, Debug)]
struct Exchange {
    req: Req,
    bytes: Vec<u8>,
    expect: Result<Reply, Error>,
}

fn ex(req: Req, bytes: Vec<u8>, expect: Result<Reply, Error>) -> Exchange {
    Exchange { req, bytes, expect }
}

fn line(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = parts.concat();
    out.extend_from_slice(b"\r\n");
    out
}

/// Text without `\r` or `\n` (may contain spaces), as in stats values.
fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0x20u8..=0x7e, 0..max)
}

/// A successful reply to a request, encoded as memcached would.
fn good_exchange(prefix: Vec<u8>, unicode: bool) -> BoxedStrategy<Exchange> {
    let n = prefix.len();
    let k = move || key(n, unicode);
    let p1 = prefix.clone();
    let store =
        (store_command(), k(), any::<prop::sample::Index>()).prop_map(|(command, key, pick)| {
            let req = Req::Store {
                command,
                key: key.into(),
                value: Bytes::from_static(b"v"),
                flags: 0,
                exptime: 0,
                noreply: false,
            };
            let options: &[(&[u8], Reply)] = if matches!(command, StoreCommand::Cas(_)) {
                &[
                    (b"STORED", Reply::Stored),
                    (b"EXISTS", Reply::Exists),
                    (b"NOT_FOUND", Reply::NotFound),
                ]
            } else {
                &[
                    (b"STORED", Reply::Stored),
                    (b"NOT_STORED", Reply::NotStored),
                ]
            };
            let (l, r) = pick.get(options).clone();
            ex(req, line(&[l]), Ok(r))
        });
    let get = (
        get_command(),
        prop::collection::vec(
            (k(), any::<bool>(), any::<u32>(), value(), any::<u64>()),
            1..6,
        ),
    )
        .prop_map(move |(command, entries)| {
            let cas = matches!(command, GetCommand::Gets | GetCommand::Gats(_));
            let mut bytes = Vec::new();
            let mut items = Vec::new();
            for (key, hit, flags, value, token) in &entries {
                if !hit {
                    continue;
                }
                let head = if cas {
                    format!(" {flags} {} {token}", value.len())
                } else {
                    format!(" {flags} {}", value.len())
                };
                bytes.extend(line(&[b"VALUE ", &p1, key, head.as_bytes()]));
                bytes.extend(line(&[value]));
                items.push(Item {
                    key: Bytes::copy_from_slice(key),
                    flags: *flags,
                    value: Bytes::copy_from_slice(value),
                    cas: cas.then_some(*token),
                });
            }
            bytes.extend(line(&[b"END"]));
            let keys = owned(entries.into_iter().map(|e| e.0).collect());
            ex(
                Req::Get { command, keys },
                bytes,
                Ok(Reply::Values(items.into_iter().collect())),
            )
        });
    let keyed = (k(), 0..5u8, any::<u64>()).prop_map(|(key, which, n)| {
        let (req, bytes, reply) = match which {
            0 => (
                Req::Delete {
                    key: key.into(),
                    noreply: false,
                },
                line(&[b"DELETED"]),
                Reply::Deleted,
            ),
            1 => (
                Req::Touch {
                    key: key.into(),
                    exptime: 0,
                    noreply: false,
                },
                line(&[b"TOUCHED"]),
                Reply::Touched,
            ),
            2 => (
                Req::Arith {
                    decr: n % 2 != 0,
                    key: key.into(),
                    delta: 1,
                    noreply: false,
                },
                line(&[n.to_string().as_bytes()]),
                Reply::Number(n),
            ),
            3 => (
                Req::Arith {
                    decr: false,
                    key: key.into(),
                    delta: 1,
                    noreply: false,
                },
                line(&[b"NOT_FOUND"]),
                Reply::NotFound,
            ),
            _ => (
                Req::Delete {
                    key: key.into(),
                    noreply: false,
                },
                line(&[b"NOT_FOUND"]),
                Reply::NotFound,
            ),
        };
        ex(req, bytes, Ok(reply))
    });
    let stats = prop::collection::vec((prop::bool::ANY, "[!-~]{1,20}", text(40)), 0..30).prop_map(
        |pairs| {
            let mut bytes = Vec::new();
            let mut want = Vec::new();
            for (item, name, value) in pairs {
                let kind: &[u8] = if item { b"ITEM " } else { b"STAT " };
                bytes.extend(line(&[kind, name.as_bytes(), b" ", &value]));
                want.push((Bytes::from(name.into_bytes()), Bytes::from(value)));
            }
            bytes.extend(line(&[b"END"]));
            ex(Req::Stats { args: vec![] }, bytes, Ok(Reply::Stats(want)))
        },
    );
    let version = text(30).prop_map(|v| {
        ex(
            Req::Version,
            line(&[b"VERSION ", &v]),
            Ok(Reply::Version(Bytes::from(v))),
        )
    });
    let ok = (0..3u8).prop_map(|which| {
        let req = match which {
            0 => Req::FlushAll {
                delay: 0,
                noreply: false,
            },
            1 => Req::Verbosity {
                level: 1,
                noreply: false,
            },
            _ => Req::CacheMemlimit {
                megabytes: 1,
                noreply: false,
            },
        };
        ex(req, line(&[b"OK"]), Ok(Reply::Ok))
    });
    // The body's alphabet shares no byte with any terminator, so the first
    // match is the real one.
    let raw = (
        raw_line(),
        prop_oneof![
            Just(b"\r\n".to_vec()),
            Just(b"END\r\n".to_vec()),
            Just(b"<<>>".to_vec()),
        ],
        prop::collection::vec(prop_oneof![0x61u8..=0x7a, Just(b' '), 0x30u8..=0x39], 0..80),
    )
        .prop_map(|(line, terminator, body)| {
            let bytes = [body.as_slice(), &terminator].concat();
            ex(
                Req::Raw {
                    line: line.into(),
                    terminator: terminator.into(),
                },
                bytes,
                Ok(Reply::Raw(Bytes::from(body))),
            )
        });
    prop_oneof![store, get, keyed, stats, version, ok, raw].boxed()
}

/// A server error line for any request kind.
fn error_exchange(prefix: Vec<u8>, unicode: bool) -> BoxedStrategy<Exchange> {
    (good_exchange(prefix, unicode), 0..3u8, "[!-~][ -~]{0,40}")
        .prop_map(|(good, which, message)| {
            let (bytes, e) = match which {
                0 => (
                    line(&[b"ERROR"]),
                    Error::UnknownCommand {
                        command: name(&good.req).into(),
                        line: "ERROR".into(),
                    },
                ),
                1 => (
                    line(&[b"CLIENT_ERROR ", message.as_bytes()]),
                    Error::Client(message),
                ),
                _ => (
                    line(&[b"SERVER_ERROR ", message.as_bytes()]),
                    Error::Server(message),
                ),
            };
            ex(good.req, bytes, Err(e))
        })
        .boxed()
}

fn exchanges() -> impl Strategy<Value = (Vec<u8>, bool, Vec<Exchange>)> {
    policy().prop_flat_map(|(prefix, unicode)| {
        let one = prop_oneof![
            4 => good_exchange(prefix.clone(), unicode),
            1 => error_exchange(prefix.clone(), unicode),
        ];
        (
            Just(prefix),
            Just(unicode),
            prop::collection::vec(one, 1..10),
        )
    })
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
    let bound = conn.in_flight();
    let mut out = Vec::new();
    while let Some(r) = conn.poll() {
        out.push(r);
        assert!(out.len() <= bound, "poll returned more than was in flight");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_replies_come_back_at_any_split(
        (prefix, unicode, exchanges) in exchanges(),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let mut conn = Connection::with_config(make_policy(&prefix, unicode), Limits::default());
        let mut want = Vec::new();
        let mut bytes = Vec::new();
        for e in &exchanges {
            let id = submit(&e.req, &mut conn).unwrap();
            want.push((id, e.expect.clone()));
            bytes.extend_from_slice(&e.bytes);
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

    /// A strict prefix of the replies gives a prefix of the results and no
    /// error.
    #[test]
    fn a_strict_prefix_gives_a_prefix_of_the_results(
        (prefix, unicode, exchanges) in exchanges(),
        cut in any::<Index>(),
    ) {
        let mut conn = Connection::with_config(make_policy(&prefix, unicode), Limits::default());
        let mut want = Vec::new();
        let mut bytes = Vec::new();
        for e in &exchanges {
            let id = submit(&e.req, &mut conn).unwrap();
            want.push((id, e.expect.clone()));
            bytes.extend_from_slice(&e.bytes);
        }
        let cut = cut.index(bytes.len());
        conn.receive(&bytes[..cut]);
        let got = poll_all(&mut conn);
        prop_assert!(got.len() < want.len());
        prop_assert_eq!(&got[..], &want[..got.len()]);
        prop_assert_eq!(conn.error(), None);
        // The rest completes the stream.
        conn.receive(&bytes[cut..]);
        let rest = poll_all(&mut conn);
        prop_assert_eq!(&rest[..], &want[got.len()..]);
    }
}

// ---------------------------------------------------------------------------
// (c) Arbitrary bytes.

/// Bytes that look like replies often enough to reach deep parser states.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..8),
        Just(b"VALUE ".to_vec()),
        Just(b"k ".to_vec()),
        Just(b"0 ".to_vec()),
        Just(b"1".to_vec()),
        Just(b"5 ".to_vec()),
        Just(b"4294967296".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"END".to_vec()),
        Just(b"END\r\n".to_vec()),
        Just(b"STAT a b\r\n".to_vec()),
        Just(b"ITEM ".to_vec()),
        Just(b"STORED\r\n".to_vec()),
        Just(b"ERROR".to_vec()),
        Just(b"SERVER_ERROR x\r\n".to_vec()),
        Just(b"VERSION 1\r\n".to_vec()),
        Just(b"VALUE k 0 1\r\nx\r\n".to_vec()),
        Just(b"VALUE k 0 1 2\r\nx\r\n".to_vec()),
        Just(b"12345\r\n".to_vec()),
        Just(b"<<>>".to_vec()),
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|f| f.concat())
}

fn any_request() -> impl Strategy<Value = Req> {
    let k = || prop_oneof![Just(b"k".to_vec()), Just(b"a".to_vec())];
    prop_oneof![
        request(0, false),
        (get_command(), prop::collection::vec(k(), 1..3)).prop_map(|(command, keys)| Req::Get {
            command,
            keys: owned(keys)
        }),
        Just(Req::Raw {
            line: Bytes::from_static(b"x"),
            terminator: Bytes::from_static(b"<<>>")
        }),
        Just(Req::Raw {
            line: Bytes::from_static(b"x"),
            terminator: Bytes::from_static(b"END")
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_bytes_never_panic(
        requests in prop::collection::vec(any_request(), 1..6),
        bytes in noise(),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
        max_line in prop_oneof![Just(8usize), Just(64), Just(8192)],
        max_item_size in prop_oneof![Just(0usize), Just(4), Just(1024)],
    ) {
        let limits = Limits { max_item_size, max_line };
        let mut conn = Connection::with_config(KeyPolicy::default(), limits);
        let mut ids = Vec::new();
        for req in &requests {
            // Values over a tiny max_item_size are refused: skip those.
            if let Ok(id) = req.submit_to(&mut conn, None) {
                ids.push(id);
            }
        }
        let awaited = conn.in_flight();
        let mut whole = Connection::with_config(KeyPolicy::default(), limits);
        for req in &requests {
            let _ = req.submit_to(&mut whole, None);
        }
        let mut got = Vec::new();
        for chunk in split(&bytes, &cuts) {
            conn.receive(chunk);
            got.extend(poll_all(&mut conn));
        }
        conn.receive_eof();
        got.extend(poll_all(&mut conn));
        // The same bytes in one read give the same results.
        whole.receive(&bytes);
        let mut at_once = poll_all(&mut whole);
        whole.receive_eof();
        at_once.extend(poll_all(&mut whole));
        prop_assert_eq!(&got, &at_once);
        // Every awaited request was answered exactly once, in order.
        prop_assert_eq!(got.len(), awaited);
        prop_assert_eq!(conn.in_flight(), 0);
        prop_assert!(conn.poll().is_none());
        prop_assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
        prop_assert!(got.iter().all(|(id, _)| ids.contains(id)));
        prop_assert!(conn.is_closed());
        // After the first fatal error, everything gets that error.
        if let Some(i) = got.iter().position(|(_, r)| r.as_ref().is_err_and(Error::is_fatal)) {
            let e = got[i].1.clone();
            prop_assert!(got[i..].iter().all(|(_, r)| *r == e));
            prop_assert_eq!(conn.error(), e.as_ref().err());
        }
    }
}

// ---------------------------------------------------------------------------
// Allocation: a claimed length is not a reason to allocate.

/// Passes every allocation to the system allocator and records, per thread,
/// the largest single allocation since the last reset.
struct Largest;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every method forwards to `System` with the caller's arguments.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// Runs `f` and returns the largest single allocation it made.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    f();
    LARGEST.with(Cell::get)
}

#[test]
fn a_claimed_length_allocates_nothing_near_it() {
    let get = Request::Get {
        command: GetCommand::Get,
        keys: &[b"k"],
    };
    // A claim just under the 1 MiB + 512 limit: the parser waits for the
    // data without reserving room for it.
    let mut conn = Connection::new();
    conn.submit(&get, None).unwrap();
    let largest = largest_allocation(|| {
        conn.receive(b"VALUE k 0 1049088\r\n");
        conn.receive(&[b'x'; 100]);
        assert!(conn.poll().is_none());
    });
    assert!(largest < 64 * 1024, "allocated {largest} bytes");
    assert_eq!(conn.error(), None);
    // A claim of 4 GiB: refused on the header, before any data.
    let mut conn = Connection::new();
    conn.submit(&get, None).unwrap();
    let largest = largest_allocation(|| {
        conn.receive(b"VALUE k 0 4294967296\r\n");
        let (_, result) = conn.poll().unwrap();
        assert!(matches!(result, Err(Error::Protocol(_))));
    });
    assert!(largest < 64 * 1024, "allocated {largest} bytes");
    // The counter works: a real 1 MiB value is allocated for.
    let largest = largest_allocation(|| drop(vec![0u8; 1 << 20]));
    assert!(largest >= 1 << 20);
}
