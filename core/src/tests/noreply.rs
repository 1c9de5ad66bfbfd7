//! noreply: nothing is awaited, and a server error that a noreply request
//! may have caused is never handed to the next request.

use alloc::vec;

use super::util::{conn_with, feed, poll_all, Pair};
use crate::{
    Connection, Error, GetCommand, KeyPolicy, Limits, Reply, Request, RequestId, StoreCommand,
};

fn set_noreply(value: &[u8]) -> Request<'_> {
    Request::Store {
        command: StoreCommand::Set,
        key: b"big",
        value,
        flags: 0,
        exptime: 0,
        noreply: true,
    }
}

const GET: Request<'static> = Request::Get {
    command: GetCommand::Get,
    keys: &[b"big"],
};

const TOO_LARGE: &str = "SERVER_ERROR object too large for cache";

#[test]
fn a_noreply_request_produces_nothing() {
    let mut conn = Connection::new();
    let id = conn.submit(&set_noreply(b"v"), None).unwrap();
    assert_eq!(id, RequestId(0));
    assert_eq!(conn.in_flight(), 0);
    assert_eq!(conn.poll(), None);
    assert_eq!(conn.poll_timeout(), None);
    assert!(!conn.is_closed());
    // Every noreply shape.
    let noreplies = [
        Request::Touch {
            key: b"k",
            exptime: 0,
            noreply: true,
        },
        Request::Delete {
            key: b"k",
            noreply: true,
        },
        Request::Incr {
            key: b"k",
            delta: 1,
            noreply: true,
        },
        Request::Decr {
            key: b"k",
            delta: 1,
            noreply: true,
        },
        Request::FlushAll {
            delay: 0,
            noreply: true,
        },
        Request::Verbosity {
            level: 0,
            noreply: true,
        },
        Request::CacheMemlimit {
            megabytes: 64,
            noreply: true,
        },
    ];
    for request in noreplies {
        assert!(request.is_noreply());
        conn.submit(&request, Some(crate::Millis(1))).unwrap();
        assert_eq!(conn.in_flight(), 0);
        // A deadline on a request that awaits nothing never fires.
        assert_eq!(conn.poll_timeout(), None);
        conn.handle_timeout(crate::Millis(100));
        assert_eq!(conn.error(), None);
    }
    // The next awaited request gets its own reply.
    let get = conn.submit(&GET, None).unwrap();
    assert_eq!(get, RequestId(8));
    conn.receive(b"END\r\n");
    assert_eq!(
        poll_all(&mut conn),
        vec![(get, Ok(Reply::Values(Default::default())))]
    );
    assert!(!conn.is_closed());
}

#[test]
fn an_error_after_noreply_is_not_given_to_the_next_request() {
    let bytes = b"SERVER_ERROR object too large for cache\r\nEND\r\n";
    for at in 0..=bytes.len() {
        let (mut conn, ids) = conn_with(
            &KeyPolicy::default(),
            Limits::default(),
            &[set_noreply(b"v"), GET, GET],
        );
        let (a, b) = bytes.split_at(at);
        let got = feed(&mut conn, [a, b]);
        let e = Error::NoreplyFailed(TOO_LARGE.into());
        assert_eq!(
            got,
            vec![(ids[1], Err(e.clone())), (ids[2], Err(e.clone()))],
            "split at {at}"
        );
        assert!(conn.is_closed());
        assert_eq!(conn.error(), Some(&e));
        assert_eq!(conn.submit(&GET, None), Err(e));
    }
}

#[test]
fn an_error_after_noreply_closes_every_kind_of_request() {
    let awaited = [
        Request::Store {
            command: StoreCommand::Add,
            key: b"k",
            value: b"v",
            flags: 0,
            exptime: 0,
            noreply: false,
        },
        Request::Delete {
            key: b"k",
            noreply: false,
        },
        Request::Incr {
            key: b"k",
            delta: 1,
            noreply: false,
        },
        Request::Version,
        Request::Stats { args: &[] },
        Request::Raw {
            line: b"mn",
            terminator: b"\r\n",
        },
        Request::Shutdown { graceful: false },
        GET,
    ];
    for request in awaited {
        for line in [TOO_LARGE, "CLIENT_ERROR bad data chunk", "ERROR"] {
            let (mut conn, ids) = conn_with(
                &KeyPolicy::default(),
                Limits::default(),
                &[set_noreply(b"v"), request],
            );
            conn.receive(line.as_bytes());
            conn.receive(b"\r\n");
            let e = Error::NoreplyFailed(line.into());
            assert_eq!(
                poll_all(&mut conn),
                vec![(ids[1], Err(e.clone()))],
                "{request:?}"
            );
            assert_eq!(conn.error(), Some(&e));
        }
    }
}

#[test]
fn with_nothing_in_flight_an_error_line_closes_the_connection() {
    let mut conn = Connection::new();
    conn.submit(&set_noreply(b"v"), None).unwrap();
    conn.receive(TOO_LARGE.as_bytes());
    conn.receive(b"\r\n");
    assert_eq!(conn.poll(), None);
    let e = Error::NoreplyFailed(TOO_LARGE.into());
    assert_eq!(conn.error(), Some(&e));
    assert!(conn.is_closed());
    assert_eq!(conn.submit(&GET, None), Err(e.clone()));
    assert_eq!(conn.poll(), None);
    // Also after earlier replies completed normally.
    let (mut conn, ids) = conn_with(
        &KeyPolicy::default(),
        Limits::default(),
        &[GET, set_noreply(b"v")],
    );
    conn.receive(b"END\r\nSERVER_ERROR out of memory storing object\r\n");
    assert_eq!(
        poll_all(&mut conn),
        vec![(ids[0], Ok(Reply::Values(Default::default())))]
    );
    assert_eq!(
        conn.error(),
        Some(&Error::NoreplyFailed(
            "SERVER_ERROR out of memory storing object".into()
        ))
    );
}

#[test]
fn requests_after_the_next_awaited_one_are_not_suspects() {
    // set noreply, get, get: the second get's reply comes after the first
    // get's, so an error there is the second get's own.
    let (mut conn, ids) = conn_with(
        &KeyPolicy::default(),
        Limits::default(),
        &[set_noreply(b"v"), GET, GET],
    );
    conn.receive(b"END\r\nSERVER_ERROR out of memory\r\n");
    assert_eq!(
        poll_all(&mut conn),
        vec![
            (ids[1], Ok(Reply::Values(Default::default()))),
            (ids[2], Err(Error::Server("out of memory".into()))),
        ]
    );
    assert!(!conn.is_closed());
}

#[test]
fn noreply_against_the_scripted_server() {
    let mut pair = Pair::new(7);
    pair.server.max_item = 16;
    pair.submit(&set_noreply(&[b'x'; 17]));
    let get = pair.submit(&GET);
    pair.drive();
    let e = Error::NoreplyFailed(TOO_LARGE.into());
    assert_eq!(pair.polled, vec![(get, Err(e.clone()))]);
    assert_eq!(pair.conn.error(), Some(&e));
    assert!(pair.conn.is_closed());

    // Values that fit: noreply stores, and the get sees them.
    let mut pair = Pair::new(8);
    pair.server.max_item = 16;
    pair.submit(&set_noreply(&[b'x'; 16]));
    let get = pair.submit(&GET);
    pair.drive();
    match &pair.polled[..] {
        [(id, Ok(Reply::Values(items)))] if *id == get => {
            assert_eq!(&items[0].value[..], &[b'x'; 16]);
        }
        other => panic!("{other:?}"),
    }
    assert!(!pair.conn.is_closed());
}
