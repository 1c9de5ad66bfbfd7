//! Every reply kind, fed whole, split at every offset, byte by byte, as
//! every strict prefix, padded with the next request's bytes, and twice.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;

use super::util::Case;
use crate::{Error, GetCommand, Item, KeyPolicy, Reply, Request, StoreCommand};

fn item(key: &'static [u8], flags: u32, value: &'static [u8], cas: Option<u64>) -> Item {
    Item {
        key: Bytes::from_static(key),
        flags,
        value: Bytes::from_static(value),
        cas,
    }
}

fn values(items: Vec<Item>) -> Result<Reply, Error> {
    Ok(Reply::Values(items.into_iter().collect()))
}

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

fn store(command: StoreCommand) -> Request<'static> {
    Request::Store {
        command,
        key: b"k",
        value: b"v",
        flags: 0,
        exptime: 0,
        noreply: false,
    }
}

fn get(command: GetCommand, keys: &'static [&'static [u8]]) -> Request<'static> {
    Request::Get { command, keys }
}

fn unknown(command: &str, line: &str) -> Result<Reply, Error> {
    Err(Error::UnknownCommand {
        command: command.into(),
        line: line.into(),
    })
}

const STATS: &[u8] = b"STAT pid 1234\r\n\
STAT version 1.6.18\r\n\
STAT x \r\n\
STAT libevent 2.0.19-stable\r\n\
ITEM bob [7 b; 0 s]\r\n\
STAT rusage_user 0.609165\r\n\
PREFIX p: get 1 hit 0 set 2 del 0\r\n\
STAT evictions on\r\n\
END\r\n";

const MULTI: &[u8] = b"VALUE a 0 10\r\nEND\r\n\r\nEND\r\n\
VALUE c 4294967295 6\r\n\x00\xff\r\n\n\r\r\n\
VALUE d 1 0\r\n\r\n\
END\r\n";

/// Every reply the parser completes without closing the connection.
fn cases() -> Vec<Case<'static>> {
    let delete = Request::Delete {
        key: b"k",
        noreply: false,
    };
    let touch = Request::Touch {
        key: b"k",
        exptime: 1,
        noreply: false,
    };
    let incr = Request::Incr {
        key: b"k",
        delta: 1,
        noreply: false,
    };
    let decr = Request::Decr {
        key: b"k",
        delta: 1,
        noreply: false,
    };
    let ok_requests = [
        Request::FlushAll {
            delay: 0,
            noreply: false,
        },
        Request::Verbosity {
            level: 1,
            noreply: false,
        },
        Request::CacheMemlimit {
            megabytes: 8,
            noreply: false,
        },
    ];
    let mut cases = vec![
        Case::new(set(), b"STORED\r\n", Ok(Reply::Stored)),
        Case::new(store(StoreCommand::Add), b"NOT_STORED\r\n", Ok(Reply::NotStored)),
        Case::new(store(StoreCommand::Append), b"NOT_STORED\r\n", Ok(Reply::NotStored)),
        Case::new(store(StoreCommand::Cas(7)), b"STORED\r\n", Ok(Reply::Stored)),
        Case::new(store(StoreCommand::Cas(7)), b"EXISTS\r\n", Ok(Reply::Exists)),
        Case::new(store(StoreCommand::Cas(7)), b"NOT_FOUND\r\n", Ok(Reply::NotFound)),
        Case::new(delete, b"DELETED\r\n", Ok(Reply::Deleted)),
        Case::new(delete, b"NOT_FOUND\r\n", Ok(Reply::NotFound)),
        Case::new(touch, b"TOUCHED\r\n", Ok(Reply::Touched)),
        Case::new(touch, b"NOT_FOUND\r\n", Ok(Reply::NotFound)),
        Case::new(incr, b"1\r\n", Ok(Reply::Number(1))),
        Case::new(
            incr,
            b"18446744073709551615\r\n",
            Ok(Reply::Number(u64::MAX)),
        ),
        Case::new(decr, b"0\r\n", Ok(Reply::Number(0))),
        // Older memcached pads decr results with spaces.
        Case::new(decr, b"9  \r\n", Ok(Reply::Number(9))),
        Case::new(incr, b"NOT_FOUND\r\n", Ok(Reply::NotFound)),
        Case::new(
            Request::Version,
            b"VERSION 1.6.18\r\n",
            Ok(Reply::Version(Bytes::from_static(b"1.6.18"))),
        ),
        Case::new(
            Request::Version,
            b"VERSION \r\n",
            Ok(Reply::Version(Bytes::new())),
        ),
        Case::new(get(GetCommand::Get, &[b"key"]), b"END\r\n", values(vec![])),
        Case::new(
            get(GetCommand::Get, &[b"key"]),
            b"VALUE key 0 5\r\nvalue\r\nEND\r\n",
            values(vec![item(b"key", 0, b"value", None)]),
        ),
        Case::new(
            get(GetCommand::Get, &[b"key"]),
            b"VALUE key 0 10\r\n0123456789\r\nEND\r\n",
            values(vec![item(b"key", 0, b"0123456789", None)]),
        ),
        Case::new(
            get(GetCommand::Get, &[b"a", b"b", b"c", b"d"]),
            MULTI,
            values(vec![
                item(b"a", 0, b"END\r\n\r\nEND", None),
                item(b"c", u32::MAX, b"\x00\xff\r\n\n\r", None),
                item(b"d", 1, b"", None),
            ]),
        ),
        // Duplicate keys are answered once per mention.
        Case::new(
            get(GetCommand::Get, &[b"a", b"a"]),
            b"VALUE a 0 1\r\n1\r\nVALUE a 0 1\r\n1\r\nEND\r\n",
            values(vec![item(b"a", 0, b"1", None), item(b"a", 0, b"1", None)]),
        ),
        Case::new(
            get(GetCommand::Gets, &[b"key"]),
            b"VALUE key 0 5 10\r\nvalue\r\nEND\r\n",
            values(vec![item(b"key", 0, b"value", Some(10))]),
        ),
        Case::new(
            get(GetCommand::Gets, &[b"key1", b"key2"]),
            b"VALUE key2 3 6 18446744073709551615\r\nvalue2\r\nEND\r\n",
            values(vec![item(b"key2", 3, b"value2", Some(u64::MAX))]),
        ),
        Case::new(
            get(GetCommand::Gat(50), &[b"k1"]),
            b"VALUE k1 0 0\r\n\r\nEND\r\n",
            values(vec![item(b"k1", 0, b"", None)]),
        ),
        Case::new(
            get(GetCommand::Gats(30), &[b"k", b"l"]),
            b"VALUE k 0 1 1\r\nx\r\nVALUE l 0 1 2\r\ny\r\nEND\r\n",
            values(vec![item(b"k", 0, b"x", Some(1)), item(b"l", 0, b"y", Some(2))]),
        ),
        Case::new(
            Request::Stats { args: &[] },
            STATS,
            Ok(Reply::Stats(
                [
                    (&b"pid"[..], &b"1234"[..]),
                    (b"version", b"1.6.18"),
                    (b"x", b""),
                    (b"libevent", b"2.0.19-stable"),
                    (b"bob", b"[7 b; 0 s]"),
                    (b"rusage_user", b"0.609165"),
                    (b"p:", b"get 1 hit 0 set 2 del 0"),
                    (b"evictions", b"on"),
                ]
                .iter()
                .map(|&(n, v)| (Bytes::from_static(n), Bytes::from_static(v)))
                .collect(),
            )),
        ),
        Case::new(
            Request::Stats { args: &[] },
            b"END\r\n",
            Ok(Reply::Stats(vec![])),
        ),
        Case::new(
            Request::Stats { args: &[b"reset"] },
            b"RESET\r\n",
            Ok(Reply::Ok),
        ),
        Case::new(
            Request::Raw {
                line: b"misc",
                terminator: b"\r\n",
            },
            b"REPLY\r\n",
            Ok(Reply::Raw(Bytes::from_static(b"REPLY"))),
        ),
        Case::new(
            Request::Raw {
                line: b"misc",
                terminator: b"END\r\n",
            },
            b"REPLY\r\nEND\r\n",
            Ok(Reply::Raw(Bytes::from_static(b"REPLY\r\n"))),
        ),
        Case::new(
            Request::Raw {
                line: b"misc",
                terminator: b"END\r\n",
            },
            b"REPLYEND\r\n",
            Ok(Reply::Raw(Bytes::from_static(b"REPLY"))),
        ),
        Case::new(
            Request::Raw {
                line: b"misc",
                terminator: b"\n",
            },
            b"REPLY\n",
            Ok(Reply::Raw(Bytes::from_static(b"REPLY"))),
        ),
        Case::new(
            Request::Raw {
                line: b"lru_crawler metadump all",
                terminator: b"\r\nEND\r\n",
            },
            b"key=a exp=-1\r\nkey=b exp=-1\r\nEND\r\n",
            Ok(Reply::Raw(Bytes::from_static(
                b"key=a exp=-1\r\nkey=b exp=-1",
            ))),
        ),
        // Error lines: the request fails, the connection stays open.
        Case::new(set(), b"ERROR\r\n", unknown("set", "ERROR")),
        Case::new(
            set(),
            b"CLIENT_ERROR bad command line format\r\n",
            Err(Error::Client("bad command line format".into())),
        ),
        Case::new(
            set(),
            b"SERVER_ERROR object too large for cache\r\n",
            Err(Error::Server("object too large for cache".into())),
        ),
        Case::new(
            set(),
            b"SERVER_ERROR\r\n",
            Err(Error::Server("SERVER_ERROR".into())),
        ),
        Case::new(
            get(GetCommand::Get, &[b"key"]),
            b"ERROR\r\n",
            unknown("get", "ERROR"),
        ),
        Case::new(
            get(GetCommand::Gets, &[b"a", b"b"]),
            b"SERVER_ERROR out of memory\r\n",
            Err(Error::Server("out of memory".into())),
        ),
        Case::new(
            incr,
            b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
            Err(Error::Client(
                "cannot increment or decrement non-numeric value".into(),
            )),
        ),
        Case::new(
            Request::Stats {
                args: &[b"bogus"],
            },
            b"ERROR\r\n",
            unknown("stats", "ERROR"),
        ),
        Case::new(
            Request::Version,
            b"ERROR Too many open connections\r\n",
            unknown("version", "ERROR Too many open connections"),
        ),
        Case::new(
            Request::Shutdown { graceful: false },
            b"ERROR: shutdown not enabled\r\n",
            unknown("shutdown", "ERROR: shutdown not enabled"),
        ),
        Case::new(
            Request::Raw {
                line: b"misc",
                terminator: b"END\r\n",
            },
            b"CLIENT_ERROR bad format\r\n",
            Err(Error::Client("bad format".into())),
        ),
        Case::new(
            delete,
            b"SERVER_ERROR a message that is much longer than sixty-four bytes, so it is kept whole\r\n",
            Err(Error::Server(
                "a message that is much longer than sixty-four bytes, so it is ke...".into(),
            )),
        ),
    ];
    // A terminator without a line end must not cut an error line short.
    for (bytes, e) in [
        (
            &b"CLIENT_ERROR bad END\r\n"[..],
            Error::Client("bad END".into()),
        ),
        (b"SERVER_ERROR ENDED\r\n", Error::Server("ENDED".into())),
        (
            b"ERROR END\r\n",
            Error::UnknownCommand {
                command: "raw".into(),
                line: "ERROR END".into(),
            },
        ),
    ] {
        cases.push(Case::new(
            Request::Raw {
                line: b"misc",
                terminator: b"END",
            },
            bytes,
            Err(e),
        ));
    }
    cases.push(Case::new(
        Request::Raw {
            line: b"misc",
            terminator: b"END",
        },
        b"ERRAND END",
        Ok(Reply::Raw(Bytes::from_static(b"ERRAND "))),
    ));
    cases.push(Case::new(
        Request::Raw {
            line: b"misc",
            terminator: b"END",
        },
        b"SERVER_END",
        Ok(Reply::Raw(Bytes::from_static(b"SERVER_"))),
    ));
    for request in ok_requests {
        cases.push(Case::new(request, b"OK\r\n", Ok(Reply::Ok)));
    }
    // With a key prefix, keys come back without it.
    for command in [GetCommand::Get, GetCommand::Gat(0)] {
        let mut case = Case::new(
            get(command, &[b"a", b"b"]),
            b"VALUE p:a 0 1\r\n1\r\nVALUE p:b 2 2\r\n22\r\nEND\r\n",
            values(vec![item(b"a", 0, b"1", None), item(b"b", 2, b"22", None)]),
        );
        case.policy = KeyPolicy::new().with_prefix("p:");
        cases.push(case);
    }
    cases
}

#[test]
fn every_reply_at_every_split() {
    for case in cases() {
        case.assert_every_split();
    }
}

#[test]
fn every_strict_prefix_waits() {
    for case in cases() {
        case.assert_every_prefix_waits();
    }
}

#[test]
fn the_parser_never_reads_past_its_reply() {
    for case in cases() {
        case.assert_padded();
    }
}

#[test]
fn two_pipelined_replies_at_every_split() {
    for case in cases() {
        case.assert_pipelined_twice();
    }
}

#[test]
fn an_error_line_leaves_the_connection_open() {
    for case in cases().into_iter().filter(|c| c.expect.is_err()) {
        let (mut conn, _) = super::util::conn_with(&case.policy, case.limits, &[case.request]);
        conn.receive(case.bytes);
        let (_, result) = conn.poll().unwrap();
        assert!(!result.unwrap_err().is_fatal());
        assert!(!conn.is_closed());
        assert_eq!(conn.error(), None);
        conn.submit(&Request::Version, None).unwrap();
        conn.receive(b"VERSION 1\r\n");
        assert!(matches!(conn.poll(), Some((_, Ok(Reply::Version(_))))));
    }
}

#[test]
fn values_share_the_receive_buffer() {
    // Zero-copy: the items of one reply are slices of one frame.
    let (mut conn, _) = super::util::conn_with(
        &KeyPolicy::default(),
        crate::Limits::default(),
        &[get(GetCommand::Get, &[b"a", b"b", b"c", b"d"])],
    );
    conn.receive(MULTI);
    let Some((_, Ok(Reply::Values(items)))) = conn.poll() else {
        panic!("no values");
    };
    let base = items[0].key.as_ptr() as usize;
    for it in items.iter().filter(|it| !it.value.is_empty()) {
        let at = it.value.as_ptr() as usize;
        assert!(at >= base && at + it.value.len() <= base + MULTI.len());
    }
    let texts: Vec<String> = items
        .iter()
        .map(|it| String::from_utf8_lossy(&it.key).into_owned())
        .collect();
    assert_eq!(texts, ["a", "c", "d"]);
}

#[test]
fn pipelined_batches_as_pymemcache_sends_them() {
    // Vectors 4 and 5: set_many is pipelined sets; one reply line each.
    let mut conn = crate::Connection::new();
    let a = conn
        .submit(
            &Request::Store {
                command: StoreCommand::Set,
                key: b"a",
                value: b"s",
                flags: 0,
                exptime: 0,
                noreply: false,
            },
            None,
        )
        .unwrap();
    let b = conn
        .submit(
            &Request::Store {
                command: StoreCommand::Set,
                key: b"b",
                value: b"0",
                flags: 1,
                exptime: 0,
                noreply: false,
            },
            None,
        )
        .unwrap();
    assert_eq!(conn.transmit(), b"set a 0 0 1\r\ns\r\nset b 1 0 1\r\n0\r\n");
    let got = super::util::feed(&mut conn, [&b"STORED\r\n"[..], b"NOT_STORED\r\n"]);
    assert_eq!(got, [(a, Ok(Reply::Stored)), (b, Ok(Reply::NotStored))]);
    // Vector 31: delete_many; a server error for the second key is that
    // key's own, and the connection stays usable.
    let mut conn = crate::Connection::new();
    let ids: Vec<_> = [&b"key"[..], b"key2"]
        .iter()
        .map(|key| {
            conn.submit(
                &Request::Delete {
                    key,
                    noreply: false,
                },
                None,
            )
            .unwrap()
        })
        .collect();
    assert_eq!(conn.transmit(), b"delete key\r\ndelete key2\r\n");
    conn.receive(b"DELETED\r\nSERVER_ERROR boom\r\n");
    assert_eq!(
        super::util::poll_all(&mut conn),
        [
            (ids[0], Ok(Reply::Deleted)),
            (ids[1], Err(Error::Server("boom".into()))),
        ]
    );
    assert!(!conn.is_closed());
}
