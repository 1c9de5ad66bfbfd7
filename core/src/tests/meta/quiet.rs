//! Quiet requests and their barriers, error lines attributed exactly,
//! translated multi-key gets.

use super::*;

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
