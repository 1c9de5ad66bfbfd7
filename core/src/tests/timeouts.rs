//! Deadlines: `poll_timeout` names the earliest, `handle_timeout` is a
//! no-op before it and closes the connection at or after it.

use alloc::vec;

use super::util::{poll_all, Pair};
use crate::{Connection, Error, GetCommand, Millis, Reply, Request};

const GET: Request<'static> = Request::Get {
    command: GetCommand::Get,
    keys: &[b"k"],
};

#[test]
fn poll_timeout_is_the_earliest_deadline() {
    let mut conn = Connection::new();
    assert_eq!(conn.poll_timeout(), None);
    let a = conn.submit(&Request::Version, Some(Millis(300))).unwrap();
    assert_eq!(conn.poll_timeout(), Some(Millis(300)));
    let b = conn.submit(&Request::Version, Some(Millis(100))).unwrap();
    let c = conn.submit(&Request::Version, None).unwrap();
    let d = conn.submit(&Request::Version, Some(Millis(200))).unwrap();
    assert_eq!(conn.poll_timeout(), Some(Millis(100)));
    // Pure: asking twice changes nothing.
    assert_eq!(conn.poll_timeout(), Some(Millis(100)));
    conn.receive(b"VERSION 1\r\n");
    assert_eq!(conn.poll(), Some((a, Ok(Reply::Version("1".into())))));
    assert_eq!(conn.poll_timeout(), Some(Millis(100)));
    conn.receive(b"VERSION 2\r\n");
    assert_eq!(conn.poll(), Some((b, Ok(Reply::Version("2".into())))));
    assert_eq!(conn.poll_timeout(), Some(Millis(200)));
    conn.receive(b"VERSION 3\r\nVERSION 4\r\n");
    assert_eq!(
        poll_all(&mut conn),
        vec![
            (c, Ok(Reply::Version("3".into()))),
            (d, Ok(Reply::Version("4".into()))),
        ]
    );
    assert_eq!(conn.poll_timeout(), None);
    // With nothing pending, no time closes anything.
    conn.handle_timeout(Millis(u64::MAX));
    assert!(!conn.is_closed());
}

#[test]
fn handle_timeout_before_the_deadline_is_a_no_op() {
    let mut conn = Connection::new();
    let a = conn.submit(&GET, Some(Millis(100))).unwrap();
    let b = conn.submit(&GET, Some(Millis(50))).unwrap();
    for now in [0, 1, 49] {
        conn.handle_timeout(Millis(now));
        assert!(!conn.is_closed());
        assert_eq!(conn.error(), None);
        assert_eq!(conn.poll(), None);
    }
    // The reply can still arrive and complete normally.
    conn.receive(b"END\r\nEND\r\n");
    assert_eq!(
        poll_all(&mut conn),
        vec![
            (a, Ok(Reply::Values(Default::default()))),
            (b, Ok(Reply::Values(Default::default()))),
        ]
    );
}

#[test]
fn at_the_deadline_every_pending_request_times_out() {
    for now in [50, 51, u64::MAX] {
        let mut conn = Connection::new();
        let a = conn.submit(&GET, Some(Millis(100))).unwrap();
        let b = conn.submit(&GET, Some(Millis(50))).unwrap();
        let c = conn.submit(&GET, None).unwrap();
        conn.receive(b"VALUE k 0 5\r\nab");
        assert_eq!(conn.poll(), None);
        conn.handle_timeout(Millis(now));
        assert!(conn.is_closed());
        assert_eq!(conn.error(), Some(&Error::Timeout));
        assert_eq!(conn.poll_timeout(), None);
        assert_eq!(
            poll_all(&mut conn),
            vec![
                (a, Err(Error::Timeout)),
                (b, Err(Error::Timeout)),
                (c, Err(Error::Timeout)),
            ]
        );
        // The rest of the reply is ignored; later submits fail.
        conn.receive(b"cde\r\nEND\r\n");
        assert_eq!(conn.poll(), None);
        assert_eq!(conn.submit(&GET, None), Err(Error::Timeout));
        // A second timeout does not replace the first error.
        conn.handle_timeout(Millis(u64::MAX));
        assert_eq!(conn.error(), Some(&Error::Timeout));
    }
}

#[test]
fn an_earlier_error_is_not_replaced_by_a_timeout() {
    let mut conn = Connection::new();
    let a = conn.submit(&GET, Some(Millis(10))).unwrap();
    let b = conn.submit(&GET, Some(Millis(20))).unwrap();
    conn.receive_eof();
    assert_eq!(conn.poll(), Some((a, Err(Error::UnexpectedClose))));
    conn.handle_timeout(Millis(20));
    assert_eq!(conn.poll(), Some((b, Err(Error::UnexpectedClose))));
    assert_eq!(conn.error(), Some(&Error::UnexpectedClose));
}

#[test]
fn a_stalled_server_times_out_in_virtual_time() {
    let mut pair = Pair::new(5);
    pair.tick = 10;
    let a = pair.conn.submit(&GET, Some(Millis(95))).unwrap();
    let b = pair
        .conn
        .submit(&Request::Version, Some(Millis(500)))
        .unwrap();
    pair.stalled = true;
    let mut steps = 0;
    while !pair.conn.is_closed() {
        pair.step();
        steps += 1;
        assert!(steps < 100, "never timed out");
    }
    // Timed out at the first step at or past the deadline: t = 100.
    assert_eq!(pair.now, Millis(100));
    assert_eq!(
        pair.polled,
        vec![(a, Err(Error::Timeout)), (b, Err(Error::Timeout))]
    );
    // A server that answers in time beats the same deadline.
    let mut pair = Pair::new(6);
    pair.tick = 1;
    let a = pair.conn.submit(&GET, Some(Millis(1_000))).unwrap();
    pair.drive();
    assert_eq!(
        pair.polled,
        vec![(a, Ok(Reply::Values(Default::default())))]
    );
    assert!(pair.now < Millis(1_000));
    assert_eq!(pair.conn.poll_timeout(), None);
}
