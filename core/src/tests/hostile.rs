//! Hostile and broken servers: every malformed reply closes the connection
//! with an error, at every split, without panicking, looping or buffering
//! what the server merely claims.

use alloc::vec;
use alloc::vec::Vec;

use super::util::{conn_with, feed, poll_all, Case};
use crate::{Error, ErrorKind, GetCommand, KeyPolicy, Limits, Reply, Request, StoreCommand};

fn set() -> Request<'static> {
    Request::Store {
        command: StoreCommand::Set,
        key: b"k",
        value: b"v",
        flags: 0,
        exptime: 0,
        noreply: false,
    }
}

fn get(keys: &'static [&'static [u8]]) -> Request<'static> {
    Request::Get {
        command: GetCommand::Get,
        keys,
    }
}

fn gets(keys: &'static [&'static [u8]]) -> Request<'static> {
    Request::Get {
        command: GetCommand::Gets,
        keys,
    }
}

/// Asserts that `bytes` answering `request` closes the connection with an
/// error of `kind`, the same error at every split; returns the error.
fn assert_fatal(
    policy: KeyPolicy,
    limits: Limits,
    request: Request<'_>,
    bytes: &[u8],
    kind: ErrorKind,
) -> Error {
    // A second request in flight must get the same error.
    let requests = [request, Request::Version];
    let (mut conn, ids) = conn_with(&policy, limits, &requests);
    let got = feed(&mut conn, [bytes]);
    let e = match &got[..] {
        [(a, Err(e)), (b, Err(e2))] if *a == ids[0] && *b == ids[1] && e == e2 => e.clone(),
        other => panic!("{request:?} <- {bytes:?}: {other:?}"),
    };
    assert_eq!(e.kind(), kind, "{request:?} <- {bytes:?}: {e}");
    assert!(conn.is_closed());
    assert_eq!(conn.error(), Some(&e));
    assert_eq!(conn.submit(&Request::Version, None), Err(e.clone()));
    let mut case = Case::new(request, bytes, Err(e.clone()));
    case.policy = policy;
    case.limits = limits;
    case.assert_every_split();
    e
}

fn fatal(request: Request<'_>, bytes: &[u8], kind: ErrorKind) -> Error {
    assert_fatal(
        KeyPolicy::default(),
        Limits::default(),
        request,
        bytes,
        kind,
    )
}

#[test]
fn a_huge_length_claim_fails_on_the_header_alone() {
    for header in [
        &b"VALUE k 0 4294967296\r\n"[..],
        b"VALUE k 0 1049089\r\n",
        b"VALUE k 0 18446744073709551615\r\n",
        b"VALUE k 0 18446744073709551616\r\n",
        b"VALUE k 0 99999999999999999999999999\r\n",
    ] {
        let e = fatal(get(&[b"k"]), header, ErrorKind::Protocol);
        let text = alloc::format!("{e}");
        assert!(text.contains("VALUE k 0"), "{text}");
    }
    // Exactly the limit is a legal claim: the parser waits for the data.
    let limit = Limits::default().max_item_size;
    let header = alloc::format!("VALUE k 0 {limit}\r\n");
    let (mut conn, _) = conn_with(&KeyPolicy::default(), Limits::default(), &[get(&[b"k"])]);
    conn.receive(header.as_bytes());
    assert_eq!(conn.poll(), None);
    assert_eq!(conn.error(), None);
}

#[test]
fn bad_lengths_flags_and_field_counts() {
    let cases: &[(Request<'static>, &[u8])] = &[
        (get(&[b"k"]), b"VALUE k 0 -1\r\n"),
        (get(&[b"k"]), b"VALUE k 0 abc\r\n"),
        (get(&[b"k"]), b"VALUE k 0 5x\r\n"),
        (get(&[b"k"]), b"VALUE k 0 +5\r\n"),
        (get(&[b"k"]), b"VALUE k 0 \r\n"),
        (get(&[b"k"]), b"VALUE k 0\r\n"),
        (get(&[b"k"]), b"VALUE k\r\n"),
        (get(&[b"k"]), b"VALUE \r\n"),
        (get(&[b"k"]), b"VALUE k  0 1\r\nx\r\nEND\r\n"),
        (get(&[b"k"]), b"VALUE k 4294967296 1\r\nx\r\nEND\r\n"),
        (get(&[b"k"]), b"VALUE k -1 1\r\nx\r\nEND\r\n"),
        // get with a cas token, gets without one.
        (get(&[b"k"]), b"VALUE k 0 1 5\r\nx\r\nEND\r\n"),
        (gets(&[b"k"]), b"VALUE k 0 1\r\nx\r\nEND\r\n"),
        (gets(&[b"k"]), b"VALUE k 0 1 x\r\nx\r\nEND\r\n"),
        (
            gets(&[b"k"]),
            b"VALUE k 0 1 18446744073709551616\r\nx\r\nEND\r\n",
        ),
        (gets(&[b"k"]), b"VALUE k 0 1 2 3\r\nx\r\nEND\r\n"),
        (gets(&[b"k"]), b"VALUE k 0 1 2 3 4 5 6 7 8\r\nx\r\nEND\r\n"),
    ];
    for (request, bytes) in cases {
        fatal(*request, bytes, ErrorKind::Protocol);
    }
}

#[test]
fn keys_not_asked_for() {
    let cases: &[(Request<'static>, &[u8])] = &[
        (get(&[b"k"]), b"VALUE other 0 1\r\nx\r\nEND\r\n"),
        (get(&[b"k"]), b"VALUE kk 0 1\r\nx\r\nEND\r\n"),
        (get(&[b"kk"]), b"VALUE k 0 1\r\nx\r\nEND\r\n"),
        // More values than keys.
        (
            get(&[b"k"]),
            b"VALUE k 0 1\r\nx\r\nVALUE k 0 1\r\nx\r\nEND\r\n",
        ),
        // Out of order: memcached answers in request order.
        (
            get(&[b"a", b"b"]),
            b"VALUE b 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n",
        ),
        // A space-joined pair of keys is not a key.
        (get(&[b"a", b"b"]), b"VALUE a b 0 1\r\nx\r\nEND\r\n"),
    ];
    for (request, bytes) in cases {
        fatal(*request, bytes, ErrorKind::Protocol);
    }
    // With a prefix, the server must send it back.
    let policy = KeyPolicy::new().with_prefix("p:");
    for bytes in [
        &b"VALUE k 0 1\r\nx\r\nEND\r\n"[..],
        b"VALUE p:kk 0 1\r\nx\r\nEND\r\n",
        b"VALUE p: 0 1\r\nx\r\nEND\r\n",
    ] {
        assert_fatal(
            policy.clone(),
            Limits::default(),
            get(&[b"k"]),
            bytes,
            ErrorKind::Protocol,
        );
    }
}

#[test]
fn a_value_must_be_followed_by_crlf() {
    // pymemcache accepts this (vector 29); memcrab does not.
    for bytes in [
        &b"VALUE key 0 5\r\nvalueXYEND\r\n"[..],
        b"VALUE key 0 5\r\nvalue\n\rEND\r\n",
        b"VALUE key 0 5\r\nvalue\rEND\r\n",
        b"VALUE key 0 4\r\nvalue\r\nEND\r\n",
        b"VALUE key 0 6\r\nvalue\r\nEND\r\n",
    ] {
        fatal(get(&[b"key"]), bytes, ErrorKind::Protocol);
    }
}

#[test]
fn a_bare_newline_is_not_a_line_end() {
    let cases: &[(Request<'static>, &[u8])] = &[
        (set(), b"STORED\n"),
        (get(&[b"k"]), b"END\n"),
        (get(&[b"k"]), b"VALUE k 0 1\nx\r\nEND\r\n"),
        (get(&[b"k"]), b"VALUE k 0 1\r\nx\r\nEND\n"),
        (Request::Stats { args: &[] }, b"STAT a 1\nEND\r\n"),
        (Request::Version, b"\n"),
    ];
    for (request, bytes) in cases {
        fatal(*request, bytes, ErrorKind::Protocol);
    }
}

#[test]
fn garbage_and_wrong_replies() {
    let incr = Request::Incr {
        key: b"k",
        delta: 1,
        noreply: false,
    };
    let cas = Request::Store {
        command: StoreCommand::Cas(1),
        key: b"k",
        value: b"v",
        flags: 0,
        exptime: 0,
        noreply: false,
    };
    let cases: &[(Request<'static>, &[u8])] = &[
        (set(), b"HTTP/1.1 400 Bad Request\r\n"),
        (set(), b"\r\n"),
        (set(), b"END\r\n"),
        (set(), b"EXISTS\r\n"),
        (set(), b"NOT_FOUND\r\n"),
        (set(), b"stored\r\n"),
        (set(), b"STORED \r\n"),
        (set(), b"UNKNOWN\r\n"),
        (cas, b"NOT_STORED\r\n"),
        (get(&[b"k"]), b"foobarbaz\r\n"),
        (get(&[b"k"]), b"VAXLUE k 0 1\r\nx\r\nEND\r\n"),
        (get(&[b"k"]), b"OK\r\n"),
        (get(&[b"k"]), b"VALUE k 0 1\r\nx\r\nSTORED\r\n"),
        (
            Request::Delete {
                key: b"k",
                noreply: false,
            },
            b"STORED\r\n",
        ),
        (
            Request::Touch {
                key: b"k",
                exptime: 0,
                noreply: false,
            },
            b"DELETED\r\n",
        ),
        (incr, b"18446744073709551616\r\n"),
        (incr, b"-1\r\n"),
        (incr, b"\r\n"),
        (incr, b"1 2\r\n"),
        (incr, b" 1\r\n"),
        (incr, b"0x10\r\n"),
        (Request::Version, b"VERSION\r\n"),
        (Request::Version, b"VERSIONX 1\r\n"),
        (Request::Version, b"INVALID DATA\r\n"),
        (Request::Stats { args: &[] }, b"STATS x 1\r\n"),
        (Request::Stats { args: &[] }, b"STAT a 1\r\nRESET\r\n"),
        (Request::Stats { args: &[] }, b"STAT\r\nEND\r\n"),
        (
            Request::FlushAll {
                delay: 0,
                noreply: false,
            },
            b"STORED\r\n",
        ),
        (Request::Shutdown { graceful: true }, b"OK\r\n"),
    ];
    for (request, bytes) in cases {
        fatal(*request, bytes, ErrorKind::UnexpectedReply);
    }
}

#[test]
fn an_error_line_after_some_values_closes_the_connection() {
    // The server may or may not send END after it: the stream is lost.
    let e = fatal(
        get(&[b"key1", b"key2"]),
        b"VALUE key1 0 6\r\nvalue1\r\nSERVER_ERROR out of memory\r\n",
        ErrorKind::Server,
    );
    assert_eq!(e, Error::Server("out of memory".into()));
    fatal(
        get(&[b"a", b"b"]),
        b"VALUE a 0 1\r\n1\r\nERROR\r\n",
        ErrorKind::UnknownCommand,
    );
    fatal(
        Request::Stats { args: &[] },
        b"STAT a 1\r\nSERVER_ERROR busy\r\n",
        ErrorKind::Server,
    );
}

#[test]
fn a_line_over_max_line_is_refused() {
    let limits = Limits {
        max_line: 32,
        ..Limits::default()
    };
    let policy = KeyPolicy::default;
    let long = [b'x'; 40];
    // Without any line end: refused once max_line + 2 bytes are buffered.
    for request in [
        set(),
        get(&[b"k"]),
        Request::Version,
        Request::Stats { args: &[] },
    ] {
        assert_fatal(policy(), limits, request, &long, ErrorKind::Protocol);
        let (mut conn, _) = conn_with(&policy(), limits, &[request]);
        conn.receive(&long[..33]);
        assert_eq!(conn.poll(), None, "33 bytes may still be a line");
        conn.receive(&long[33..34]);
        assert!(matches!(conn.poll(), Some((_, Err(Error::Protocol(_))))));
    }
    // A complete line one byte too long.
    let mut line = b"VERSION ".to_vec();
    line.extend_from_slice(&[b'1'; 25]);
    line.extend_from_slice(b"\r\n");
    assert_fatal(
        policy(),
        limits,
        Request::Version,
        &line,
        ErrorKind::Protocol,
    );
    // Exactly max_line is fine.
    let mut line = b"VERSION ".to_vec();
    line.extend_from_slice(&[b'1'; 24]);
    line.extend_from_slice(b"\r\n");
    let mut case = Case::new(
        Request::Version,
        &line,
        Ok(Reply::Version(bytes::Bytes::from(vec![b'1'; 24]))),
    );
    case.limits = limits;
    case.assert_every_split();
    // A VALUE line after values is bounded too.
    let mut bytes = b"VALUE k 0 1\r\nx\r\n".to_vec();
    bytes.extend_from_slice(&long);
    assert_fatal(policy(), limits, get(&[b"k"]), &bytes, ErrorKind::Protocol);
    // So is a stats line after many good ones.
    let mut bytes = b"STAT a 1\r\n".repeat(100);
    bytes.extend_from_slice(&long);
    assert_fatal(
        policy(),
        limits,
        Request::Stats { args: &[] },
        &bytes,
        ErrorKind::Protocol,
    );
}

#[test]
fn binary_garbage_waits_for_a_line_then_fails() {
    let limits = Limits {
        max_line: 64,
        ..Limits::default()
    };
    let garbage: Vec<u8> = (0..200u8)
        .map(|b| if b == b'\n' { 0 } else { b | 0x80 })
        .collect();
    let (mut conn, _) = conn_with(&KeyPolicy::default(), limits, &[set()]);
    conn.receive(&garbage[..65]);
    assert_eq!(conn.poll(), None);
    conn.receive(&garbage[65..]);
    assert!(matches!(conn.poll(), Some((_, Err(Error::Protocol(_))))));
    assert_eq!(conn.poll(), None);
    assert!(conn.is_closed());
}

#[test]
fn a_huge_number_of_stat_lines_is_refused() {
    let line = b"STAT curr_connections 10\r\n";
    let mut bytes = line.repeat(100_200);
    bytes.extend_from_slice(b"END\r\n");
    let (mut conn, _) = conn_with(
        &KeyPolicy::default(),
        Limits::default(),
        &[Request::Stats { args: &[] }],
    );
    // Fed in reads of 4 KiB: the parser scans each byte once, so this is
    // quick; the error comes as soon as the 100,001st line is read.
    let mut got = Vec::new();
    let mut fed = 0;
    for chunk in bytes.chunks(4096) {
        conn.receive(chunk);
        fed += chunk.len();
        got.extend(poll_all(&mut conn));
        if !got.is_empty() {
            break;
        }
    }
    assert!(
        matches!(&got[..], [(_, Err(Error::Protocol(_)))]),
        "{got:?}"
    );
    assert!(fed < bytes.len());
    assert!(fed >= 100_001 * line.len());
    // 100,000 lines are fine.
    let mut bytes = line.repeat(100_000);
    bytes.extend_from_slice(b"END\r\n");
    let (mut conn, _) = conn_with(
        &KeyPolicy::default(),
        Limits::default(),
        &[Request::Stats { args: &[] }],
    );
    let got = feed(&mut conn, bytes.chunks(4096));
    match &got[..] {
        [(_, Ok(Reply::Stats(pairs)))] => assert_eq!(pairs.len(), 100_000),
        other => panic!("{:?}", other.first()),
    }
}

#[test]
fn a_raw_reply_that_never_ends_is_refused_after_the_limit() {
    let limits = Limits {
        max_item_size: 100,
        max_line: 20,
    };
    let request = Request::Raw {
        line: b"lru_crawler metadump all",
        terminator: b"\r\nEND\r\n",
    };
    let (mut conn, _) = conn_with(&KeyPolicy::default(), limits, &[request]);
    let data = b"key=a exp=-1\r\n".repeat(20);
    let mut got = Vec::new();
    let mut fed = 0;
    for chunk in data.chunks(7) {
        conn.receive(chunk);
        fed += chunk.len();
        got.extend(poll_all(&mut conn));
        if !got.is_empty() {
            break;
        }
    }
    assert!(
        matches!(&got[..], [(_, Err(Error::Protocol(_)))]),
        "{got:?}"
    );
    // 120 bytes of reply are allowed, and the last 6 bytes buffered may be
    // the start of the 7-byte terminator: the first read past 126 fails.
    assert_eq!(fed, 133);
    assert!(conn.is_closed());
    // A terminator split across reads is still found.
    let (mut conn, _) = conn_with(&KeyPolicy::default(), limits, &[request]);
    let got = feed(&mut conn, [&b"a\r\nEN"[..], b"D", b"\r", b"\nrest"]);
    assert_eq!(got[0].1, Ok(Reply::Raw(bytes::Bytes::from_static(b"a"))));
    // A reply over the limit is refused even when it arrives whole, as it
    // would be if it came in small reads.
    let mut long = [b'x'; 121].to_vec();
    long.extend_from_slice(b"\r\nEND\r\n");
    assert_fatal(
        KeyPolicy::default(),
        limits,
        request,
        &long,
        ErrorKind::Protocol,
    );
    let mut case = Case::new(
        request,
        &long[1..],
        Ok(Reply::Raw(bytes::Bytes::from(vec![b'x'; 120]))),
    );
    case.limits = limits;
    case.assert_every_split();
}

#[test]
fn absurd_limits_do_not_overflow() {
    // Limits are public fields: "no limit" spelled as usize::MAX must not
    // overflow (a panic in debug builds, a wrong window in release).
    let limits = Limits {
        max_item_size: usize::MAX,
        max_line: usize::MAX,
    };
    let policy = KeyPolicy::default();
    let requests = [
        set(),
        get(&[b"k"]),
        Request::Stats { args: &[] },
        Request::Raw {
            line: b"x",
            terminator: b"<>",
        },
    ];
    for request in requests {
        let (mut conn, _) = conn_with(&policy, limits, &[request]);
        conn.receive(b"no line end yet");
        assert_eq!(conn.poll(), None);
        assert_eq!(conn.error(), None);
    }
    // A claim of 2^64 - 1 bytes is legal under this limit: wait for it.
    let (mut conn, _) = conn_with(&policy, limits, &[get(&[b"k"])]);
    conn.receive(b"VALUE k 0 18446744073709551615\r\nabc");
    assert_eq!(conn.poll(), None);
    let (mut conn, _) = conn_with(&policy, limits, &[set()]);
    conn.receive(b"STORED\r\n");
    assert_eq!(conn.poll(), Some((crate::RequestId(0), Ok(Reply::Stored))));
    // And the smallest limits still parse what fits.
    let tiny = Limits {
        max_item_size: 0,
        max_line: 0,
    };
    let (mut conn, _) = conn_with(&policy, tiny, &[get(&[b"k"])]);
    conn.receive(b"\r\n");
    assert!(matches!(
        conn.poll(),
        Some((_, Err(Error::UnexpectedReply(_))))
    ));
}

#[test]
fn unsolicited_bytes_close_an_idle_connection() {
    let mut conn = crate::Connection::new();
    conn.receive(b"STORED\r\n");
    assert_eq!(conn.poll(), None);
    assert_eq!(conn.error(), Some(&Error::UnexpectedReply("STORED".into())));
    assert!(conn.is_closed());
    // Bytes beyond the replies awaited, too.
    let (mut conn, ids) = conn_with(&KeyPolicy::default(), Limits::default(), &[set()]);
    conn.receive(b"STORED\r\nSTORED\r\n");
    assert_eq!(conn.poll(), Some((ids[0], Ok(Reply::Stored))));
    assert_eq!(conn.poll(), None);
    assert!(conn.is_closed());
    assert!(conn.error().unwrap().is_fatal());
}
