//! Sticky errors, end of stream, quit and shutdown.

use alloc::vec;
use alloc::vec::Vec;

use super::util::{conn_with, feed, poll_all, Pair};
use crate::{
    Connection, Error, GetCommand, KeyPolicy, Limits, Reply, Request, RequestId, StoreCommand,
};

const GET: Request<'static> = Request::Get {
    command: GetCommand::Get,
    keys: &[b"k"],
};

const SET: Request<'static> = Request::Store {
    command: StoreCommand::Set,
    key: b"k",
    value: b"v",
    flags: 0,
    exptime: 0,
    noreply: false,
};

fn open(requests: &[Request<'_>]) -> (Connection, Vec<RequestId>) {
    conn_with(&KeyPolicy::default(), Limits::default(), requests)
}

#[test]
fn a_protocol_error_reaches_every_pending_request_once() {
    let (mut conn, ids) = open(&[GET, SET, Request::Version]);
    conn.submit(
        &Request::Delete {
            key: b"x",
            noreply: true,
        },
        None,
    )
    .unwrap();
    // Queued, unsent bytes are dropped with the connection.
    assert!(conn.wants_write());
    conn.receive(b"BOGUS\r\nSTORED\r\n");
    let e = Error::UnexpectedReply("BOGUS".into());
    assert_eq!(
        poll_all(&mut conn),
        vec![
            (ids[0], Err(e.clone())),
            (ids[1], Err(e.clone())),
            (ids[2], Err(e.clone())),
        ]
    );
    assert_eq!(conn.poll(), None);
    assert_eq!(conn.poll(), None);
    assert_eq!(conn.in_flight(), 0);
    assert!(conn.is_closed());
    assert_eq!(conn.error(), Some(&e));
    assert!(!conn.wants_write());
    assert_eq!(conn.poll_timeout(), None);
    // Later submits return the same error and write nothing.
    assert_eq!(conn.submit(&GET, None), Err(e.clone()));
    assert_eq!(conn.submit(&Request::Quit, None), Err(e.clone()));
    assert_eq!(conn.transmit(), b"");
    // Later input is ignored.
    conn.receive(b"VALUE k 0 1\r\nx\r\nEND\r\n");
    conn.receive_eof();
    conn.handle_timeout(crate::Millis(u64::MAX));
    assert_eq!(conn.poll(), None);
    assert_eq!(conn.error(), Some(&e));
}

#[test]
fn replies_before_the_error_are_delivered() {
    let (mut conn, ids) = open(&[SET, GET, SET]);
    let got = feed(
        &mut conn,
        [
            &b"STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n"[..],
            b"NOT_A_REPLY\r\n",
        ],
    );
    assert_eq!(got[0], (ids[0], Ok(Reply::Stored)));
    assert!(matches!(&got[1], (id, Ok(Reply::Values(v))) if *id == ids[1] && v.len() == 1));
    assert_eq!(
        got[2],
        (ids[2], Err(Error::UnexpectedReply("NOT_A_REPLY".into())))
    );
    assert_eq!(got.len(), 3);
}

#[test]
fn eof_mid_reply_fails_every_pending_request() {
    // vector 27: VALUE key1 0 10 / abc / EOF.
    let (mut conn, ids) = open(&[GET, SET]);
    conn.receive(b"VALUE k 0 10\r\nabc");
    assert_eq!(conn.poll(), None);
    conn.receive_eof();
    assert_eq!(
        poll_all(&mut conn),
        vec![
            (ids[0], Err(Error::UnexpectedClose)),
            (ids[1], Err(Error::UnexpectedClose)),
        ]
    );
    assert!(conn.is_closed());
    assert_eq!(conn.error(), Some(&Error::UnexpectedClose));
    assert_eq!(conn.submit(&GET, None), Err(Error::UnexpectedClose));
}

#[test]
fn eof_in_every_place() {
    let bytes = b"VALUE k 0 1\r\nx\r\nEND\r\nSTORED\r\n";
    let (first, _) = bytes.split_at(21);
    for at in 0..=bytes.len() {
        let (mut conn, ids) = open(&[GET, SET]);
        conn.receive(&bytes[..at]);
        conn.receive_eof();
        let got = poll_all(&mut conn);
        let want = if at == bytes.len() {
            vec![
                (ids[0], Ok(Reply::Values(got_values(&got)))),
                (ids[1], Ok(Reply::Stored)),
            ]
        } else if at >= first.len() {
            vec![
                (ids[0], Ok(Reply::Values(got_values(&got)))),
                (ids[1], Err(Error::UnexpectedClose)),
            ]
        } else {
            vec![
                (ids[0], Err(Error::UnexpectedClose)),
                (ids[1], Err(Error::UnexpectedClose)),
            ]
        };
        assert_eq!(got, want, "eof after {at} bytes");
        assert!(conn.is_closed());
    }
}

fn got_values(got: &[(RequestId, Result<Reply, Error>)]) -> smallvec::SmallVec<[crate::Item; 1]> {
    match &got[0].1 {
        Ok(Reply::Values(v)) if v.len() == 1 && &v[0].value[..] == b"x" => v.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn eof_with_nothing_pending_just_closes() {
    let (mut conn, ids) = open(&[SET]);
    conn.receive(b"STORED\r\n");
    conn.receive_eof();
    assert_eq!(poll_all(&mut conn), vec![(ids[0], Ok(Reply::Stored))]);
    assert!(conn.is_closed());
    assert_eq!(conn.error(), None);
    assert_eq!(conn.submit(&SET, None), Err(Error::UnexpectedClose));
    assert_eq!(conn.transmit(), b"");
}

#[test]
fn shutdown_then_eof_is_a_reply() {
    for graceful in [false, true] {
        let (mut conn, ids) = open(&[SET, Request::Shutdown { graceful }, GET]);
        conn.receive(b"STORED\r\n");
        assert_eq!(conn.poll(), Some((ids[0], Ok(Reply::Stored))));
        assert_eq!(conn.poll(), None);
        conn.receive_eof();
        assert_eq!(
            poll_all(&mut conn),
            vec![
                (ids[1], Ok(Reply::Closed)),
                (ids[2], Err(Error::UnexpectedClose)),
            ]
        );
        assert!(conn.is_closed());
    }
    // Bytes that are not a reply, then EOF, are not a clean close.
    let (mut conn, ids) = open(&[Request::Shutdown { graceful: false }]);
    conn.receive(b"ERR");
    conn.receive_eof();
    assert_eq!(
        poll_all(&mut conn),
        vec![(ids[0], Err(Error::UnexpectedClose))]
    );
}

#[test]
fn shutdown_against_the_scripted_server() {
    let mut pair = Pair::new(3);
    let set = pair.submit(&SET);
    let shutdown = pair.submit(&Request::Shutdown { graceful: true });
    pair.drive();
    assert_eq!(
        pair.polled,
        vec![(set, Ok(Reply::Stored)), (shutdown, Ok(Reply::Closed))]
    );
    assert!(pair.conn.is_closed());
}

#[test]
fn quit_awaits_nothing_and_closes() {
    let mut conn = Connection::new();
    let id = conn.submit(&Request::Quit, None).unwrap();
    assert_eq!(id, RequestId(0));
    assert_eq!(conn.transmit(), b"quit\r\n");
    assert_eq!(conn.in_flight(), 0);
    assert!(conn.is_closed());
    assert_eq!(conn.poll(), None);
    assert_eq!(conn.submit(&GET, None), Err(Error::UnexpectedClose));
    // The quit is still sent.
    assert_eq!(conn.transmit(), b"quit\r\n");
    conn.receive_eof();
    assert_eq!(conn.poll(), None);
}

#[test]
fn requests_before_quit_still_get_replies() {
    let mut pair = Pair::new(11);
    let set = pair.submit(&SET);
    let get = pair.submit(&GET);
    pair.submit(&Request::Quit);
    assert!(pair.conn.is_closed());
    assert_eq!(pair.conn.in_flight(), 2);
    pair.drive();
    assert_eq!(pair.polled.len(), 2);
    assert_eq!(pair.polled[0], (set, Ok(Reply::Stored)));
    assert_eq!(pair.polled[1].0, get);
    assert!(matches!(&pair.polled[1].1, Ok(Reply::Values(v)) if v.len() == 1));
    assert_eq!(pair.conn.in_flight(), 0);
    assert_eq!(pair.conn.error(), None);
    assert!(pair.server.closed);
}
