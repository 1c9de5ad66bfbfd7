//! The meta protocol in memory: exact bytes of every builder and of the
//! classic commands translated to meta, replies of every status and flag at
//! every split, hostile replies, quiet requests and their barriers, error
//! lines attributed exactly, translated multi-key gets.

use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;

use super::util::{feed, poll_all, Polled};
use crate::meta::{
    ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaReply, MetaRequest, MetaSet, MetaStatus,
    SetMode,
};
use crate::{
    Connection, Error, ErrorKind, GetCommand, IllegalInput, Item, KeyPolicy, Limits, Protocol,
    Reply, Request, RequestId, StoreCommand,
};

// ---------------------------------------------------------------------------
// Helpers.

fn conn(policy: &KeyPolicy) -> Connection {
    Connection::with_config(policy.clone(), Limits::default())
}

/// The bytes `requests` put on the wire, submitted in order on a fresh
/// connection with `policy`.
fn wire_with(policy: &KeyPolicy, requests: &[MetaRequest<'_>]) -> Vec<u8> {
    let mut c = conn(policy);
    for r in requests {
        c.submit_meta(r, None).expect("valid meta request");
    }
    c.transmit().to_vec()
}

fn wire(request: impl Into<MetaRequest<'static>>) -> Vec<u8> {
    wire_with(&KeyPolicy::default(), &[request.into()])
}

/// The bytes classic `requests` put on the wire under `Protocol::Meta`.
fn translated(policy: &KeyPolicy, requests: &[Request<'_>]) -> Vec<u8> {
    let mut c = conn(policy);
    c.set_protocol(Protocol::Meta);
    for r in requests {
        c.submit(r, None).expect("valid request");
    }
    c.transmit().to_vec()
}

/// A fresh connection with `requests` submitted and their bytes discarded.
fn meta_conn(policy: &KeyPolicy, requests: &[MetaRequest<'_>]) -> (Connection, Vec<RequestId>) {
    let mut c = conn(policy);
    let ids = requests
        .iter()
        .map(|r| c.submit_meta(r, None).expect("valid meta request"))
        .collect();
    let n = c.transmit().len();
    c.advance_transmit(n);
    (c, ids)
}

fn reply(status: MetaStatus) -> MetaReply {
    MetaReply::new(status)
}

fn ok_meta(r: MetaReply) -> Result<Reply, Error> {
    Ok(Reply::Meta(r))
}

/// Asserts that `requests` answered with `bytes` give exactly `want`, for
/// the whole buffer, every split in two and byte by byte; that every strict
/// prefix gives a prefix of `want` and no error; and that the connection is
/// left open with nothing in flight.
fn assert_every_split(
    policy: &KeyPolicy,
    requests: &[MetaRequest<'_>],
    bytes: &[u8],
    want: &[Polled],
) {
    let check = |chunks: Vec<&[u8]>, what: &str| {
        let (mut c, _) = meta_conn(policy, requests);
        let got = feed(&mut c, chunks);
        assert_eq!(got, want, "{what}: {requests:?} <- {:?}", escape(bytes));
        assert_eq!(c.in_flight(), 0, "{what}");
        assert_eq!(c.error(), None, "{what}");
        assert!(!c.is_closed(), "{what}");
    };
    check(vec![bytes], "whole");
    for at in 0..=bytes.len() {
        let (a, b) = bytes.split_at(at);
        check(vec![a, b], &alloc::format!("split at {at}"));
    }
    check(bytes.chunks(1).collect(), "byte by byte");
    for at in 0..bytes.len() {
        let (mut c, _) = meta_conn(policy, requests);
        c.receive(&bytes[..at]);
        let got = poll_all(&mut c);
        assert!(
            want.starts_with(&got),
            "prefix of {at}: {got:?} is not a prefix of {want:?}"
        );
        assert_eq!(c.error(), None, "prefix of {at}");
    }
}

/// One request, one reply: `bytes` answering `request` gives `want`.
fn assert_reply(request: impl Into<MetaRequest<'static>>, bytes: &[u8], want: MetaReply) {
    assert_reply_with(&KeyPolicy::default(), request.into(), bytes, want);
}

fn assert_reply_with(policy: &KeyPolicy, request: MetaRequest<'_>, bytes: &[u8], want: MetaReply) {
    assert_every_split(policy, &[request], bytes, &[(RequestId(0), ok_meta(want))]);
}

/// Asserts that `bytes` answering `requests` closes the connection with an
/// error of `kind` given to every request, at every split, without waiting
/// for more bytes; returns the error.
fn assert_fatal(requests: &[MetaRequest<'_>], bytes: &[u8], kind: ErrorKind) -> Error {
    let policy = KeyPolicy::default();
    let (mut c, ids) = meta_conn(&policy, requests);
    let got = feed(&mut c, [bytes]);
    let e = match got.first() {
        Some((_, Err(e))) => e.clone(),
        other => panic!("{:?}: {other:?}", escape(bytes)),
    };
    assert_eq!(e.kind(), kind, "{:?}: {e}", escape(bytes));
    let want: Vec<Polled> = ids.iter().map(|&id| (id, Err(e.clone()))).collect();
    assert_eq!(got, want, "{:?}", escape(bytes));
    assert!(c.is_closed());
    assert_eq!(c.error(), Some(&e));
    assert_eq!(c.in_flight(), 0);
    assert_eq!(
        c.submit_meta(&MetaRequest::Noop, None),
        Err(e.clone()),
        "a closed connection refuses new requests"
    );
    // Every split gives the same error, and never a panic.
    for at in 0..=bytes.len() {
        let (mut c, _) = meta_conn(&policy, requests);
        let (a, b) = bytes.split_at(at);
        assert_eq!(feed(&mut c, [a, b]), want, "split at {at}");
    }
    let (mut c, _) = meta_conn(&policy, requests);
    assert_eq!(feed(&mut c, bytes.chunks(1)), want, "byte by byte");
    e
}

fn escape(bytes: &[u8]) -> alloc::string::String {
    crate::error::escape(bytes)
}

// ---------------------------------------------------------------------------
// Exact bytes of every builder.

#[test]
fn meta_get_bytes() {
    assert_eq!(wire(MetaGet::new(b"k")), b"mg k O0\r\n");
    assert_eq!(wire(MetaGet::new(b"k").value()), b"mg k v O0\r\n");
    let each: [(MetaGet<'static>, &[u8]); 14] = [
        (MetaGet::new(b"k").value(), b"mg k v O0\r\n"),
        (MetaGet::new(b"k").cas(), b"mg k c O0\r\n"),
        (MetaGet::new(b"k").flags(), b"mg k f O0\r\n"),
        (MetaGet::new(b"k").hit(), b"mg k h O0\r\n"),
        (MetaGet::new(b"k").key(), b"mg k k O0\r\n"),
        (MetaGet::new(b"k").last_access(), b"mg k l O0\r\n"),
        (MetaGet::new(b"k").size(), b"mg k s O0\r\n"),
        (MetaGet::new(b"k").ttl(), b"mg k t O0\r\n"),
        (MetaGet::new(b"k").no_bump(), b"mg k u O0\r\n"),
        (MetaGet::new(b"k").quiet(), b"mg k q O0\r\nmn\r\n"),
        (MetaGet::new(b"k").vivify(30), b"mg k N30 O0\r\n"),
        (MetaGet::new(b"k").recache(10), b"mg k R10 O0\r\n"),
        (MetaGet::new(b"k").touch(0), b"mg k T0 O0\r\n"),
        (MetaGet::new(b"k").touch(-1), b"mg k T-1 O0\r\n"),
    ];
    for (req, bytes) in each {
        assert_eq!(wire(req), bytes, "{req:?}");
    }
    let all = MetaGet::new(b"user:1")
        .value()
        .cas()
        .flags()
        .hit()
        .key()
        .last_access()
        .size()
        .ttl()
        .no_bump()
        .quiet()
        .vivify(30)
        .recache(10)
        .touch(i64::MAX);
    assert_eq!(
        wire(all),
        &b"mg user:1 N30 R10 T9223372036854775807 v c f h k l s t u q O0\r\nmn\r\n"[..]
    );
}

#[test]
fn meta_set_bytes() {
    assert_eq!(wire(MetaSet::new(b"k", b"val")), b"ms k 3 MS O0\r\nval\r\n");
    assert_eq!(wire(MetaSet::new(b"k", b"")), b"ms k 0 MS O0\r\n\r\n");
    for (mode, token) in [
        (SetMode::Set, b'S'),
        (SetMode::Add, b'E'),
        (SetMode::Replace, b'R'),
        (SetMode::Append, b'A'),
        (SetMode::Prepend, b'P'),
    ] {
        let want = [b"ms k 1 M".as_slice(), &[token], b" O0\r\nv\r\n"].concat();
        assert_eq!(wire(MetaSet::new(b"k", b"v").mode(mode)), want, "{mode:?}");
    }
    assert_eq!(
        wire(MetaSet::new(b"k", b"v").client_flags(u32::MAX)),
        b"ms k 1 MS F4294967295 O0\r\nv\r\n"
    );
    assert_eq!(
        wire(MetaSet::new(b"k", b"v").ttl(-1)),
        b"ms k 1 MS T-1 O0\r\nv\r\n"
    );
    assert_eq!(
        wire(MetaSet::new(b"k", b"v").compare_cas(u64::MAX)),
        b"ms k 1 MS C18446744073709551615 O0\r\nv\r\n"
    );
    // A value with every delimiter in it goes as it is, counted.
    assert_eq!(
        wire(MetaSet::new(b"k", b"a\r\nmn\r\n b")),
        b"ms k 9 MS O0\r\na\r\nmn\r\n b\r\n"
    );
    let all = MetaSet::new(b"k", b"val")
        .mode(SetMode::Add)
        .client_flags(7)
        .ttl(60)
        .compare_cas(99)
        .invalidate()
        .return_cas()
        .return_key()
        .quiet();
    assert_eq!(
        wire(all),
        b"ms k 3 ME F7 T60 C99 I c k q O0\r\nval\r\nmn\r\n"
    );
}

#[test]
fn meta_delete_bytes() {
    assert_eq!(wire(MetaDelete::new(b"k")), b"md k O0\r\n");
    assert_eq!(
        wire(MetaDelete::new(b"k").compare_cas(5)),
        b"md k C5 O0\r\n"
    );
    assert_eq!(
        wire(MetaDelete::new(b"k").invalidate(None)),
        b"md k I O0\r\n"
    );
    assert_eq!(
        wire(MetaDelete::new(b"k").invalidate(Some(30))),
        b"md k T30 I O0\r\n"
    );
    assert_eq!(wire(MetaDelete::new(b"k").return_key()), b"md k k O0\r\n");
    assert_eq!(wire(MetaDelete::new(b"k").quiet()), b"md k q O0\r\nmn\r\n");
    let all = MetaDelete::new(b"k")
        .compare_cas(5)
        .invalidate(Some(30))
        .return_key()
        .quiet();
    assert_eq!(wire(all), b"md k C5 T30 I k q O0\r\nmn\r\n");
}

#[test]
fn meta_arithmetic_bytes() {
    assert_eq!(wire(MetaArithmetic::new(b"n")), b"ma n MI D1 v O0\r\n");
    assert_eq!(
        wire(
            MetaArithmetic::new(b"n")
                .mode(ArithMode::Decr)
                .delta(u64::MAX)
        ),
        b"ma n MD D18446744073709551615 v O0\r\n"
    );
    let mut no_value = MetaArithmetic::new(b"n");
    no_value.return_value = false;
    assert_eq!(wire(no_value), b"ma n MI D1 O0\r\n");
    assert_eq!(
        wire(MetaArithmetic::new(b"n").autovivify(0, 10)),
        b"ma n MI D1 N0 J10 v O0\r\n"
    );
    let all = MetaArithmetic::new(b"n")
        .mode(ArithMode::Decr)
        .delta(5)
        .autovivify(60, 10)
        .compare_cas(3)
        .ttl(90)
        .return_ttl()
        .return_cas()
        .quiet();
    assert_eq!(wire(all), b"ma n MD D5 N60 J10 C3 T90 v t c q O0\r\nmn\r\n");
}

#[test]
fn noop_and_debug_bytes() {
    assert_eq!(wire(MetaRequest::Noop), b"mn\r\n");
    assert_eq!(wire(MetaRequest::Debug { key: b"k" }), b"me k\r\n");
    assert_eq!(wire(MetaRequest::Debug { key: b"a b" }), b"me YSBi b\r\n");
}

#[test]
fn opaque_is_the_request_id() {
    let policy = KeyPolicy::default();
    let bytes = wire_with(
        &policy,
        &[
            MetaGet::new(b"a").into(),
            MetaRequest::Noop,
            MetaSet::new(b"b", b"x").quiet().into(),
            MetaDelete::new(b"c").into(),
        ],
    );
    assert_eq!(
        bytes,
        b"mg a O0\r\nmn\r\nms b 1 MS q O2\r\nx\r\nmn\r\nmd c O3\r\n"
    );
}

#[test]
fn binary_keys_go_base64_with_b() {
    let cases: [(&[u8], &[u8]); 7] = [
        (b"a b", b"mg YSBi v b O0\r\n"),
        (b"\r\n", b"mg DQo= v b O0\r\n"),
        (b"\0", b"mg AA== v b O0\r\n"),
        (b"\xff", b"mg /w== v b O0\r\n"),
        (b"\x01\x7f", b"mg AX8= v b O0\r\n"),
        (b"tab\there", b"mg dGFiCWhlcmU= v b O0\r\n"),
        // A printable key goes as it is.
        (b"plain", b"mg plain v O0\r\n"),
    ];
    for (key, bytes) in cases {
        assert_eq!(
            wire_with(&KeyPolicy::default(), &[MetaGet::new(key).value().into()]),
            bytes,
            "{key:?}"
        );
    }
    // Non-ASCII: base64 unless unicode keys are allowed.
    let snow = "☃".as_bytes();
    assert_eq!(
        wire_with(&KeyPolicy::default(), &[MetaGet::new(snow).into()]),
        b"mg 4piD b O0\r\n"
    );
    assert_eq!(
        wire_with(
            &KeyPolicy::new().allow_unicode_keys(true),
            &[MetaGet::new(snow).into()]
        ),
        [b"mg ".as_slice(), snow, b" O0\r\n"].concat()
    );
    // Every command carries the key the same way.
    let policy = KeyPolicy::default();
    assert_eq!(
        wire_with(&policy, &[MetaSet::new(b"a b", b"v").into()]),
        b"ms YSBi 1 MS b O0\r\nv\r\n"
    );
    assert_eq!(
        wire_with(&policy, &[MetaDelete::new(b"a b").into()]),
        b"md YSBi b O0\r\n"
    );
    assert_eq!(
        wire_with(&policy, &[MetaArithmetic::new(b"a b").into()]),
        b"ma YSBi MI D1 v b O0\r\n"
    );
}

#[test]
fn key_prefix_goes_on_the_wire_and_into_base64() {
    let policy = KeyPolicy::new().with_prefix("p:");
    assert_eq!(
        wire_with(&policy, &[MetaGet::new(b"k").value().into()]),
        b"mg p:k v O0\r\n"
    );
    // base64 of "p:a b".
    assert_eq!(
        wire_with(&policy, &[MetaGet::new(b"a b").into()]),
        b"mg cDphIGI= b O0\r\n"
    );
}

#[test]
fn bad_meta_input_is_refused_and_writes_nothing() {
    let policy = KeyPolicy::default();
    let mut c = conn(&policy);
    c.submit_meta(&MetaGet::new(b"ok").into(), None).unwrap();
    let queued = c.transmit().to_vec();
    // 186 bytes base64-encode to 248; 187 to 252, over the limit.
    let fits = [b' '; 186];
    let long = [b' '; 187];
    let long_text = [b'x'; 251];
    let big = vec![0u8; Limits::default().max_item_size + 1];
    let bad: [(MetaRequest<'_>, Error); 6] = [
        (MetaGet::new(b"").into(), IllegalInput::EmptyKey.into()),
        (
            MetaRequest::Debug { key: b"" },
            IllegalInput::EmptyKey.into(),
        ),
        (
            MetaGet::new(&long).into(),
            IllegalInput::KeyTooLong {
                key: escape(&long),
                len: 252,
            }
            .into(),
        ),
        (
            MetaSet::new(&long, b"v").quiet().into(),
            IllegalInput::KeyTooLong {
                key: escape(&long),
                len: 252,
            }
            .into(),
        ),
        (
            MetaDelete::new(&long_text).into(),
            IllegalInput::KeyTooLong {
                key: escape(&long_text),
                len: 251,
            }
            .into(),
        ),
        (
            MetaSet::new(b"k", &big).into(),
            IllegalInput::ValueTooLarge {
                key: escape(b"k"),
                len: big.len(),
                max: Limits::default().max_item_size,
            }
            .into(),
        ),
    ];
    for (req, e) in bad {
        assert_eq!(req.validate(&policy, &Limits::default()), Err(e.clone()));
        assert_eq!(c.submit_meta(&req, None), Err(e), "{req:?}");
        assert_eq!(c.transmit(), &queued[..], "nothing written for {req:?}");
        assert_eq!(c.in_flight(), 1);
        assert!(!c.is_closed());
    }
    // The ids of refused requests are not used up.
    assert_eq!(
        c.submit_meta(&MetaGet::new(&fits).into(), None),
        Ok(RequestId(1))
    );
    // The prefix counts, inside the base64 too: "p:" + 185 bytes is 187.
    let prefixed = KeyPolicy::new().with_prefix("p:");
    assert!(matches!(
        MetaRequest::from(MetaGet::new(&fits[..185])).validate(&prefixed, &Limits::default()),
        Err(Error::IllegalInput(IllegalInput::KeyTooLong {
            len: 252,
            ..
        }))
    ));
    assert_eq!(
        MetaRequest::from(MetaGet::new(&fits[..184])).validate(&prefixed, &Limits::default()),
        Ok(())
    );
}

// ---------------------------------------------------------------------------
// Classic commands under Protocol::Meta.

fn store(command: StoreCommand, noreply: bool) -> Request<'static> {
    Request::Store {
        command,
        key: b"k",
        value: b"v",
        flags: 5,
        exptime: 10,
        noreply,
    }
}

#[test]
fn classic_commands_translate_to_meta_bytes() {
    let p = KeyPolicy::default();
    let cases: [(Request<'static>, &[u8]); 17] = [
        (
            store(StoreCommand::Set, false),
            b"ms k 1 MS F5 T10 O0\r\nv\r\n",
        ),
        (
            store(StoreCommand::Set, true),
            b"ms k 1 MS F5 T10 q O0\r\nv\r\nmn\r\n",
        ),
        (
            store(StoreCommand::Add, false),
            b"ms k 1 ME F5 T10 O0\r\nv\r\n",
        ),
        (
            store(StoreCommand::Replace, false),
            b"ms k 1 MR F5 T10 O0\r\nv\r\n",
        ),
        (
            store(StoreCommand::Append, false),
            b"ms k 1 MA F5 T10 O0\r\nv\r\n",
        ),
        (
            store(StoreCommand::Prepend, false),
            b"ms k 1 MP F5 T10 O0\r\nv\r\n",
        ),
        (
            store(StoreCommand::Cas(9), false),
            b"ms k 1 MS F5 T10 C9 O0\r\nv\r\n",
        ),
        (
            Request::Store {
                command: StoreCommand::Set,
                key: b"k",
                value: b"",
                flags: 0,
                exptime: 0,
                noreply: false,
            },
            b"ms k 0 MS O0\r\n\r\n",
        ),
        (
            Request::Get {
                command: GetCommand::Get,
                keys: &[b"a", b"b"],
            },
            b"mg a v f k O0\r\nmg b v f k O0\r\n",
        ),
        (
            Request::Get {
                command: GetCommand::Gets,
                keys: &[b"a"],
            },
            b"mg a v c f k O0\r\n",
        ),
        (
            Request::Get {
                command: GetCommand::Gat(100),
                keys: &[b"a"],
            },
            b"mg a T100 v f k O0\r\n",
        ),
        (
            Request::Get {
                command: GetCommand::Gats(0),
                keys: &[b"a"],
            },
            b"mg a T0 v c f k O0\r\n",
        ),
        (
            Request::Touch {
                key: b"a",
                exptime: 7,
                noreply: false,
            },
            b"mg a T7 O0\r\n",
        ),
        (
            Request::Delete {
                key: b"a",
                noreply: true,
            },
            b"md a q O0\r\nmn\r\n",
        ),
        (
            Request::Incr {
                key: b"n",
                delta: 5,
                noreply: false,
            },
            b"ma n MI D5 v O0\r\n",
        ),
        (
            Request::Decr {
                key: b"n",
                delta: 2,
                noreply: false,
            },
            b"ma n MD D2 v O0\r\n",
        ),
        // Commands without a meta form stay classic.
        (Request::Version, b"version\r\n"),
    ];
    for (req, bytes) in cases {
        assert_eq!(translated(&p, &[req]), bytes, "{req:?}");
    }
    // The prefix applies; a quiet run is closed before a classic command.
    let prefixed = KeyPolicy::new().with_prefix("p:");
    assert_eq!(
        translated(
            &prefixed,
            &[
                store(StoreCommand::Set, true),
                Request::Stats { args: &[] },
                store(StoreCommand::Set, false)
            ]
        ),
        b"ms p:k 1 MS F5 T10 q O0\r\nv\r\nmn\r\nstats\r\nms p:k 1 MS F5 T10 O2\r\nv\r\n"
    );
    // An empty key list is refused, as in text.
    let mut c = conn(&p);
    c.set_protocol(Protocol::Meta);
    assert_eq!(
        c.submit(
            &Request::Get {
                command: GetCommand::Get,
                keys: &[]
            },
            None
        ),
        Err(IllegalInput::NoKeys.into())
    );
    assert!(c.transmit().is_empty());
}

// ---------------------------------------------------------------------------
// Replies of every status, at every split.

#[test]
fn every_status_parses() {
    let mut va = reply(MetaStatus::Value);
    va.value = Some(Bytes::from_static(b"hi"));
    assert_reply(MetaGet::new(b"k").value(), b"VA 2 O0\r\nhi\r\n", va);
    // A value holding reply syntax is only data.
    let mut tricky = reply(MetaStatus::Value);
    tricky.value = Some(Bytes::from_static(b"HD O0\r\nMN\r\n"));
    assert_reply(
        MetaGet::new(b"k").value(),
        b"VA 11 O0\r\nHD O0\r\nMN\r\n\r\n",
        tricky,
    );
    let mut empty = reply(MetaStatus::Value);
    empty.value = Some(Bytes::new());
    assert_reply(MetaGet::new(b"k").value(), b"VA 0 O0\r\n\r\n", empty);
    assert_reply(MetaGet::new(b"k"), b"HD O0\r\n", reply(MetaStatus::Ok));
    assert_reply(MetaGet::new(b"k"), b"EN O0\r\n", reply(MetaStatus::Miss));
    assert_reply(
        MetaDelete::new(b"k"),
        b"NF O0\r\n",
        reply(MetaStatus::NotFound),
    );
    assert_reply(
        MetaSet::new(b"k", b"v"),
        b"NS O0\r\n",
        reply(MetaStatus::NotStored),
    );
    assert_reply(
        MetaSet::new(b"k", b"v").compare_cas(1),
        b"EX O0\r\n",
        reply(MetaStatus::Exists),
    );
    assert_reply(MetaRequest::Noop, b"MN\r\n", reply(MetaStatus::Noop));
    let mut me = reply(MetaStatus::Debug);
    me.value = Some(Bytes::from_static(
        b"exp=-1 la=2 cas=3 fetch=no cls=1 size=63",
    ));
    assert_reply(
        MetaRequest::Debug { key: b"k" },
        b"ME k exp=-1 la=2 cas=3 fetch=no cls=1 size=63\r\n",
        me,
    );
    // A debug miss has no opaque.
    assert_reply(
        MetaRequest::Debug { key: b"k" },
        b"EN\r\n",
        reply(MetaStatus::Miss),
    );
    // Replies without the opaque (memcached 1.6 always echoes it, but the
    // order alone is enough for a request that is not quiet).
    assert_reply(MetaGet::new(b"k"), b"HD\r\n", reply(MetaStatus::Ok));
    // The status helpers.
    assert!(reply(MetaStatus::Miss).is_miss() && reply(MetaStatus::NotFound).is_miss());
    for s in [
        MetaStatus::Value,
        MetaStatus::Ok,
        MetaStatus::Noop,
        MetaStatus::Debug,
    ] {
        assert!(reply(s).is_success() && !reply(s).is_miss(), "{s:?}");
    }
    for s in [
        MetaStatus::Miss,
        MetaStatus::NotFound,
        MetaStatus::NotStored,
        MetaStatus::Exists,
    ] {
        assert!(!reply(s).is_success(), "{s:?}");
    }
}

#[test]
fn every_flag_parses() {
    let mut want = reply(MetaStatus::Value);
    want.value = Some(Bytes::from_static(b"abc"));
    want.cas = Some(123);
    want.client_flags = Some(u32::MAX);
    want.ttl = Some(-1);
    want.size = Some(3);
    want.key = Some(Bytes::from_static(b"foo"));
    want.last_access = Some(5);
    want.hit_before = Some(true);
    want.win = true;
    want.stale = true;
    want.already_won = true;
    assert_reply(
        MetaGet::new(b"foo")
            .value()
            .cas()
            .flags()
            .ttl()
            .size()
            .key()
            .last_access()
            .hit(),
        b"VA 3 c123 f4294967295 t-1 s3 kfoo l5 h1 O0 W X Z\r\nabc\r\n",
        want,
    );
    // Each win/stale flag on its own, on HD.
    for (flag, set) in [(&b"W"[..], 0usize), (&b"X"[..], 1), (&b"Z"[..], 2)] {
        let mut want = reply(MetaStatus::Ok);
        want.win = set == 0;
        want.stale = set == 1;
        want.already_won = set == 2;
        let bytes = [b"HD O0 ".as_slice(), flag, b"\r\n"].concat();
        assert_reply(MetaGet::new(b"k").vivify(30), &bytes, want);
    }
    // t with a number, h0.
    let mut want = reply(MetaStatus::Ok);
    want.ttl = Some(100);
    want.hit_before = Some(false);
    assert_reply(MetaGet::new(b"k").ttl().hit(), b"HD t100 h0 O0\r\n", want);
    // Unknown flags (later memcached versions) are ignored, with or
    // without arguments, anywhere in the line.
    let mut want = reply(MetaStatus::Ok);
    want.cas = Some(7);
    assert_reply(
        MetaGet::new(b"k").cas(),
        b"HD Pproxy c7 Y L/path/ O0 y99\r\n",
        want,
    );
    // Several spaces between flags are tolerated.
    let mut want = reply(MetaStatus::Ok);
    want.cas = Some(8);
    assert_reply(MetaGet::new(b"k").cas(), b"HD  c8  O0\r\n", want);
    // A returned key on a miss.
    let mut want = reply(MetaStatus::Miss);
    want.key = Some(Bytes::from_static(b"k"));
    assert_reply(MetaGet::new(b"k").key(), b"EN kk O0\r\n", want);
}

#[test]
fn returned_keys_are_decoded_and_unprefixed() {
    // k with b: base64, decoded.
    let mut want = reply(MetaStatus::Ok);
    want.key = Some(Bytes::from_static(b"a b"));
    assert_reply(
        MetaGet::new(b"a b").key(),
        b"HD kYSBi b O0\r\n",
        want.clone(),
    );
    // b before k.
    assert_reply(MetaGet::new(b"a b").key(), b"HD b kYSBi O0\r\n", want);
    for key in [&b"\r\n"[..], b"\0", b"\xff\xfe", b"x y\r\nz\0"] {
        let mut want = reply(MetaStatus::Ok);
        want.key = Some(Bytes::copy_from_slice(key));
        let b64 = base64_encode(key);
        let bytes = [b"HD k".as_slice(), b64.as_bytes(), b" b O0\r\n"].concat();
        assert_reply_with(
            &KeyPolicy::default(),
            MetaGet::new(key).key().into(),
            &bytes,
            want,
        );
    }
    // The prefix is removed, from a plain and from a base64 key.
    let policy = KeyPolicy::new().with_prefix("p:");
    let mut want = reply(MetaStatus::Ok);
    want.key = Some(Bytes::from_static(b"foo"));
    assert_reply_with(
        &policy,
        MetaGet::new(b"foo").key().into(),
        b"HD kp:foo O0\r\n",
        want,
    );
    let mut want = reply(MetaStatus::Ok);
    want.key = Some(Bytes::from_static(b"a b"));
    assert_reply_with(
        &policy,
        MetaGet::new(b"a b").key().into(),
        b"HD kcDphIGI= b O0\r\n",
        want,
    );
}

/// A tiny standard base64 encoder, independent of the library's.
fn base64_encode(bytes: &[u8]) -> alloc::string::String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = alloc::string::String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn pipelined_replies_at_every_split() {
    // Five requests of different kinds answered in one stream.
    let requests: [MetaRequest<'static>; 5] = [
        MetaGet::new(b"a").value().key().into(),
        MetaSet::new(b"b", b"xyz").return_cas().into(),
        MetaDelete::new(b"c").into(),
        MetaArithmetic::new(b"n").into(),
        MetaRequest::Noop,
    ];
    let bytes = b"VA 3 ka O0\r\nv\r\n\r\nHD c9 O1\r\nNF O2\r\nVA 2 O3\r\n42\r\nMN\r\n";
    let mut a = reply(MetaStatus::Value);
    a.value = Some(Bytes::from_static(b"v\r\n"));
    a.key = Some(Bytes::from_static(b"a"));
    let mut b = reply(MetaStatus::Ok);
    b.cas = Some(9);
    let mut n = reply(MetaStatus::Value);
    n.value = Some(Bytes::from_static(b"42"));
    let want = [
        (RequestId(0), ok_meta(a)),
        (RequestId(1), ok_meta(b)),
        (RequestId(2), ok_meta(reply(MetaStatus::NotFound))),
        (RequestId(3), ok_meta(n)),
        (RequestId(4), ok_meta(reply(MetaStatus::Noop))),
    ];
    assert_every_split(&KeyPolicy::default(), &requests, bytes, &want);
}

// ---------------------------------------------------------------------------
// Hostile replies.

#[test]
fn a_huge_claimed_length_is_refused_at_once() {
    let req: MetaRequest<'_> = MetaGet::new(b"k").value().into();
    // Only the header line: the error comes before any of the value.
    let e = assert_fatal(
        &[req, MetaRequest::Noop],
        b"VA 4294967296 O0\r\n",
        ErrorKind::Protocol,
    );
    assert!(alloc::format!("{e}").contains("4294967296"), "{e}");
    assert_fatal(
        &[req],
        b"VA 18446744073709551615 O0\r\n",
        ErrorKind::Protocol,
    );
    // A length just over the limit is refused too; one at it waits.
    let limit = Limits::default().max_item_size;
    let over = alloc::format!("VA {} O0\r\n", limit + 1);
    assert_fatal(&[req], over.as_bytes(), ErrorKind::Protocol);
    let (mut c, _) = meta_conn(&KeyPolicy::default(), &[req]);
    c.receive(alloc::format!("VA {limit} O0\r\n").as_bytes());
    assert_eq!(c.poll(), None);
    assert_eq!(c.error(), None);
}

#[test]
fn malformed_replies_close_the_connection() {
    let get: MetaRequest<'_> = MetaGet::new(b"k").value().key().cas().into();
    let two = [get, MetaRequest::Noop];
    let cases: [(&[u8], ErrorKind); 18] = [
        // Garbage.
        (b"HELLO\r\n", ErrorKind::UnexpectedReply),
        (b"\r\n", ErrorKind::UnexpectedReply),
        (b"H\r\n", ErrorKind::UnexpectedReply),
        (b"\0\xff\r\n", ErrorKind::UnexpectedReply),
        (b"HDX O0\r\n", ErrorKind::UnexpectedReply),
        (b"VALUE k 0 1\r\nx\r\nEND\r\n", ErrorKind::UnexpectedReply),
        (b"STORED\r\n", ErrorKind::UnexpectedReply),
        // VA without a length, with a bad one, or with a value not ended by
        // \r\n.
        (b"VA\r\n", ErrorKind::Protocol),
        (b"VA O0\r\n", ErrorKind::Protocol),
        (b"VA -1 O0\r\n", ErrorKind::Protocol),
        (b"VA 2 O0\r\nhiXX", ErrorKind::Protocol),
        // A bad base64 key.
        (b"HD k!!!! b O0\r\n", ErrorKind::Protocol),
        (b"HD kYSB b O0\r\n", ErrorKind::Protocol),
        // Malformed numeric flags.
        (b"HD c12x O0\r\n", ErrorKind::Protocol),
        (b"HD O-1\r\n", ErrorKind::Protocol),
        (b"HD f4294967296 O0\r\n", ErrorKind::Protocol),
        (b"HD h2 O0\r\n", ErrorKind::Protocol),
        // A reply whose opaque matches no pending request.
        (b"HD O7\r\n", ErrorKind::Protocol),
    ];
    for (bytes, kind) in cases {
        assert_fatal(&two, bytes, kind);
    }
    // A line that never ends, past the line limit.
    let long = vec![b'H'; Limits::default().max_line + 10];
    assert_fatal(&two, &long, ErrorKind::Protocol);
}

#[test]
fn a_bare_me_line_does_not_panic() {
    // `ME` with no key and no text, and its neighbours.
    let debug = [MetaRequest::Debug { key: b"k" }];
    for bytes in [&b"ME\r\n"[..], b"ME \r\n", b"ME k\r\n", b"ME k \r\n"] {
        let (mut c, _) = meta_conn(&KeyPolicy::default(), &debug);
        let got = feed(&mut c, [bytes]);
        assert_eq!(got.len(), 1, "{:?}: {got:?}", escape(bytes));
        if let (_, Ok(Reply::Meta(m))) = &got[0] {
            assert_eq!(m.status(), MetaStatus::Debug);
            assert_eq!(m.value.as_deref(), Some(&b""[..]), "{:?}", escape(bytes));
        }
    }
}

#[test]
fn an_opaque_reply_for_a_later_request_is_refused() {
    // Replies are in order: an answer for request 1 while request 0 (not
    // quiet) still awaits its own is a broken stream.
    let two: [MetaRequest<'_>; 2] = [MetaGet::new(b"a").into(), MetaGet::new(b"b").into()];
    assert_fatal(&two, b"HD O1\r\nHD O0\r\n", ErrorKind::Protocol);
    // A quiet request is resolved by its barrier's MN, never skipped by a
    // reply for the next request (memcached answers `mn` first).
    let quiet_then: [MetaRequest<'_>; 2] = [
        MetaSet::new(b"a", b"1").quiet().into(),
        MetaGet::new(b"b").into(),
    ];
    assert_fatal(&quiet_then, b"HD O1\r\n", ErrorKind::Protocol);
    // A reply without an opaque is not the barrier's (only MN is).
    assert_fatal(&quiet_then[..1], b"HD\r\nMN\r\n", ErrorKind::Protocol);
    assert_fatal(&quiet_then[..1], b"EN\r\n", ErrorKind::Protocol);
    // A barrier's MN in place of a reply.
    assert_fatal(&two, b"MN\r\n", ErrorKind::Protocol);
    // Unsolicited bytes with nothing in flight.
    let (mut c, _) = meta_conn(&KeyPolicy::default(), &[MetaRequest::Noop]);
    assert_eq!(
        feed(&mut c, [&b"MN\r\nMN\r\n"[..]]),
        [(RequestId(0), ok_meta(reply(MetaStatus::Noop)))]
    );
    assert!(c.is_closed(), "a second MN that nobody asked for");
}

// ---------------------------------------------------------------------------
// Quiet requests and barriers.

#[test]
fn quiet_successes_produce_nothing() {
    let p = KeyPolicy::default();
    let quiet: [MetaRequest<'static>; 4] = [
        MetaSet::new(b"a", b"1").quiet().into(),
        MetaDelete::new(b"b").quiet().into(),
        MetaGet::new(b"c").value().quiet().into(),
        {
            let mut a = MetaArithmetic::new(b"n").quiet();
            a.return_value = false;
            a.into()
        },
    ];
    // Each alone: its barrier's MN resolves it with no poll result.
    for q in quiet {
        assert!(q.is_quiet());
        let (c, ids) = meta_conn(&p, &[q]);
        assert_eq!(ids, [RequestId(0)]);
        assert_eq!(c.in_flight(), 2, "the request and its barrier");
        assert_every_split(&p, &[q], b"MN\r\n", &[]);
    }
    // All four, then a request that answers: only its reply comes out.
    let mut all = quiet.to_vec();
    all.push(MetaGet::new(b"z").into());
    let bytes = b"MN\r\nMN\r\nMN\r\nMN\r\nHD O4\r\n";
    assert_every_split(
        &p,
        &all,
        bytes,
        &[(RequestId(4), ok_meta(reply(MetaStatus::Ok)))],
    );
}

#[test]
fn quiet_requests_that_have_something_to_say_say_it() {
    let p = KeyPolicy::default();
    let requests: [MetaRequest<'static>; 4] = [
        MetaGet::new(b"hit").value().quiet().into(),
        MetaGet::new(b"miss").value().quiet().into(),
        MetaSet::new(b"k", b"v").mode(SetMode::Add).quiet().into(),
        MetaDelete::new(b"gone").quiet().into(),
    ];
    let bytes = b"VA 1 O0\r\nx\r\nMN\r\nMN\r\nNS O2\r\nMN\r\nNF O3\r\nMN\r\n";
    let mut hit = reply(MetaStatus::Value);
    hit.value = Some(Bytes::from_static(b"x"));
    assert_every_split(
        &p,
        &requests,
        bytes,
        &[
            (RequestId(0), ok_meta(hit)),
            (RequestId(2), ok_meta(reply(MetaStatus::NotStored))),
            (RequestId(3), ok_meta(reply(MetaStatus::NotFound))),
        ],
    );
}

#[test]
fn an_error_line_goes_to_the_quiet_request_that_caused_it() {
    let p = KeyPolicy::default();
    let big = [b'x'; 2000];
    let requests: [MetaRequest<'_>; 5] = [
        MetaSet::new(b"a", b"1").quiet().into(),
        MetaSet::new(b"big", &big).quiet().into(),
        MetaSet::new(b"c", b"3").quiet().into(),
        MetaSet::new(b"bad", b"x").quiet().into(),
        MetaGet::new(b"c").value().into(),
    ];
    // As memcached answers: error lines carry no opaque.
    let bytes = b"MN\r\nSERVER_ERROR object too large for cache\r\nMN\r\nMN\r\n\
CLIENT_ERROR bad data chunk\r\nMN\r\nVA 1 O4\r\n3\r\n";
    let mut c3 = reply(MetaStatus::Value);
    c3.value = Some(Bytes::from_static(b"3"));
    assert_every_split(
        &p,
        &requests,
        bytes,
        &[
            (
                RequestId(1),
                Err(Error::Server("object too large for cache".into())),
            ),
            (RequestId(3), Err(Error::Client("bad data chunk".into()))),
            (RequestId(4), ok_meta(c3)),
        ],
    );
    // An error line for a request that is not quiet is its own.
    assert_every_split(
        &p,
        &[MetaGet::new(b"a").into(), MetaRequest::Noop],
        b"CLIENT_ERROR bad command line format\r\nMN\r\n",
        &[
            (
                RequestId(0),
                Err(Error::Client("bad command line format".into())),
            ),
            (RequestId(1), ok_meta(reply(MetaStatus::Noop))),
        ],
    );
    // ERROR names the command.
    assert_every_split(
        &p,
        &[MetaArithmetic::new(b"n").quiet().into()],
        b"ERROR\r\nMN\r\n",
        &[(
            RequestId(0),
            Err(Error::UnknownCommand {
                command: "ma".into(),
                line: "ERROR".into(),
            }),
        )],
    );
}

#[test]
fn a_text_noreply_error_is_not_handed_to_a_meta_request() {
    // A classic noreply set, then a meta get: an error line could be the
    // set's (memcached before 1.6.18 sent one), so it is never the get's.
    let mut c = Connection::new();
    c.submit(
        &Request::Store {
            command: StoreCommand::Set,
            key: b"big",
            value: b"v",
            flags: 0,
            exptime: 0,
            noreply: true,
        },
        None,
    )
    .unwrap();
    let id = c.submit_meta(&MetaGet::new(b"k").into(), None).unwrap();
    let got = feed(
        &mut c,
        [&b"SERVER_ERROR object too large for cache\r\nHD O1\r\n"[..]],
    );
    match &got[..] {
        [(got_id, Err(Error::NoreplyFailed(_)))] if *got_id == id => {}
        other => panic!("{other:?}"),
    }
    assert!(c.is_closed());
}

// ---------------------------------------------------------------------------
// Translated classic replies.

fn meta_text_conn(policy: &KeyPolicy, requests: &[Request<'_>]) -> Connection {
    let mut c = conn(policy);
    c.set_protocol(Protocol::Meta);
    for r in requests {
        c.submit(r, None).expect("valid request");
    }
    let n = c.transmit().len();
    c.advance_transmit(n);
    c
}

fn assert_translated(policy: &KeyPolicy, requests: &[Request<'_>], bytes: &[u8], want: &[Polled]) {
    let check = |chunks: Vec<&[u8]>, what: &str| {
        let mut c = meta_text_conn(policy, requests);
        assert_eq!(feed(&mut c, chunks), want, "{what}: {requests:?}");
        assert_eq!(c.in_flight(), 0, "{what}");
        assert!(!c.is_closed(), "{what}");
    };
    check(vec![bytes], "whole");
    for at in 0..=bytes.len() {
        let (a, b) = bytes.split_at(at);
        check(vec![a, b], &alloc::format!("split at {at}"));
    }
    check(bytes.chunks(1).collect(), "byte by byte");
}

fn item(key: &'static [u8], flags: u32, value: &'static [u8], cas: Option<u64>) -> Item {
    Item {
        key: Bytes::from_static(key),
        flags,
        value: Bytes::from_static(value),
        cas,
    }
}

#[test]
fn a_translated_multi_key_get_aggregates_its_items() {
    let p = KeyPolicy::default();
    let get = Request::Get {
        command: GetCommand::Gets,
        keys: &[b"a", b"b", b"c"],
    };
    let bytes = b"VA 1 c11 f3 ka O0\r\nx\r\nEN O0\r\nVA 2 c12 f0 kc O0\r\nyz\r\n";
    assert_translated(
        &p,
        &[get, Request::Version],
        &[bytes.as_slice(), b"VERSION 1.6.18\r\n"].concat(),
        &[
            (
                RequestId(0),
                Ok(Reply::Values(
                    [
                        item(b"a", 3, b"x", Some(11)),
                        item(b"c", 0, b"yz", Some(12)),
                    ]
                    .into_iter()
                    .collect(),
                )),
            ),
            (
                RequestId(1),
                Ok(Reply::Version(Bytes::from_static(b"1.6.18"))),
            ),
        ],
    );
    // All misses: an empty list, once.
    assert_translated(
        &p,
        &[get],
        b"EN O0\r\nEN O0\r\nEN O0\r\n",
        &[(RequestId(0), Ok(Reply::Values(Default::default())))],
    );
    // With a prefix, the item keys are the caller's.
    let prefixed = KeyPolicy::new().with_prefix("p:");
    assert_translated(
        &prefixed,
        &[Request::Get {
            command: GetCommand::Get,
            keys: &[b"a", b"b"],
        }],
        b"VA 1 f0 kp:a O0\r\n1\r\nVA 1 f9 kp:b O0\r\n2\r\n",
        &[(
            RequestId(0),
            Ok(Reply::Values(
                [item(b"a", 0, b"1", None), item(b"b", 9, b"2", None)]
                    .into_iter()
                    .collect(),
            )),
        )],
    );
    // An error for one key is the request's error, once, and the stream
    // stays in step.
    assert_translated(
        &p,
        &[get, Request::Version],
        b"VA 1 c1 f0 ka O0\r\nx\r\nSERVER_ERROR out of memory\r\nEN O0\r\nVERSION 1\r\n",
        &[
            (RequestId(0), Err(Error::Server("out of memory".into()))),
            (RequestId(1), Ok(Reply::Version(Bytes::from_static(b"1")))),
        ],
    );
}

#[test]
fn translated_replies_map_back_to_classic_ones() {
    let p = KeyPolicy::default();
    let n = |key: &'static [u8]| Request::Incr {
        key,
        delta: 1,
        noreply: false,
    };
    let cases: [(Request<'static>, &[u8], Result<Reply, Error>); 14] = [
        (
            store(StoreCommand::Set, false),
            b"HD O0\r\n",
            Ok(Reply::Stored),
        ),
        (
            store(StoreCommand::Add, false),
            b"NS O0\r\n",
            Ok(Reply::NotStored),
        ),
        (
            store(StoreCommand::Cas(1), false),
            b"HD O0\r\n",
            Ok(Reply::Stored),
        ),
        (
            store(StoreCommand::Cas(1), false),
            b"EX O0\r\n",
            Ok(Reply::Exists),
        ),
        (
            store(StoreCommand::Cas(1), false),
            b"NF O0\r\n",
            Ok(Reply::NotFound),
        ),
        (
            Request::Touch {
                key: b"k",
                exptime: 1,
                noreply: false,
            },
            b"HD O0\r\n",
            Ok(Reply::Touched),
        ),
        (
            Request::Touch {
                key: b"k",
                exptime: 1,
                noreply: false,
            },
            b"EN O0\r\n",
            Ok(Reply::NotFound),
        ),
        (
            Request::Delete {
                key: b"k",
                noreply: false,
            },
            b"HD O0\r\n",
            Ok(Reply::Deleted),
        ),
        (
            Request::Delete {
                key: b"k",
                noreply: false,
            },
            b"NF O0\r\n",
            Ok(Reply::NotFound),
        ),
        (n(b"k"), b"VA 2 O0\r\n15\r\n", Ok(Reply::Number(15))),
        (
            n(b"k"),
            b"VA 20 O0\r\n18446744073709551615\r\n",
            Ok(Reply::Number(u64::MAX)),
        ),
        (n(b"k"), b"NF O0\r\n", Ok(Reply::NotFound)),
        (
            n(b"k"),
            b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
            Err(Error::Client(
                "cannot increment or decrement non-numeric value".into(),
            )),
        ),
        (
            n(b"k"),
            b"VA 2 O0\r\nxy\r\n",
            Err(Error::Protocol("ma returned a non-number xy".into())),
        ),
    ];
    for (req, bytes, want) in cases {
        assert_translated(&p, &[req], bytes, &[(RequestId(0), want)]);
    }
}

#[test]
fn translated_noreply_reports_errors_and_nothing_else() {
    let p = KeyPolicy::default();
    // A noreply write refused by the server: its error, for its id.
    assert_translated(
        &p,
        &[
            store(StoreCommand::Set, true),
            store(StoreCommand::Set, true),
            Request::Version,
        ],
        b"SERVER_ERROR object too large for cache\r\nMN\r\nMN\r\nVERSION 1\r\n",
        &[
            (
                RequestId(0),
                Err(Error::Server("object too large for cache".into())),
            ),
            (RequestId(2), Ok(Reply::Version(Bytes::from_static(b"1")))),
        ],
    );
    // A noreply request that was not stored / not found answers nothing, as
    // in the text protocol (its caller asked for no reply).
    let quiet_failures: [(Request<'static>, &[u8]); 4] = [
        (store(StoreCommand::Add, true), b"NS O0\r\nMN\r\n"),
        (store(StoreCommand::Cas(3), true), b"EX O0\r\nMN\r\n"),
        (
            Request::Delete {
                key: b"k",
                noreply: true,
            },
            b"NF O0\r\nMN\r\n",
        ),
        (
            Request::Touch {
                key: b"k",
                exptime: 0,
                noreply: true,
            },
            b"HD O0\r\nMN\r\n",
        ),
    ];
    for (req, bytes) in quiet_failures {
        assert_translated(&p, &[req], bytes, &[]);
    }
}
