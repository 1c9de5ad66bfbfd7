//! Inputs the fuzz targets (`fuzz/`) found, kept as plain tests.
//!
//! Each test names its target and what the input showed. Inputs that broke
//! an invariant of the core are fixed and pinned here; inputs that showed an
//! invariant stated too strongly pin the behaviour the target now accepts.

use alloc::vec::Vec;

use super::util::{conn_with, feed, Polled};
use crate::{Connection, Error, ErrorKind, KeyPolicy, Limits, Reply, Request, RequestId};

const SET: Request<'static> = Request::Store {
    command: crate::StoreCommand::Set,
    key: b"a",
    value: b"v",
    flags: 0,
    exptime: 0,
    noreply: false,
};

const SET_NOREPLY: Request<'static> = Request::Store {
    command: crate::StoreCommand::Set,
    key: b"a",
    value: b"v",
    flags: 0,
    exptime: 0,
    noreply: true,
};

/// Feeds `bytes` to a fresh connection with `requests` submitted, in one
/// read or one byte at a time, then EOF.
fn run(requests: &[Request<'_>], bytes: &[u8], bytewise: bool) -> (Vec<Polled>, Connection) {
    let (mut conn, _) = conn_with(&KeyPolicy::new(), Limits::default(), requests);
    let mut out = if bytewise {
        feed(&mut conn, bytes.chunks(1))
    } else {
        feed(&mut conn, [bytes])
    };
    conn.receive_eof();
    out.extend(feed(&mut conn, []));
    (out, conn)
}

/// `text_reply`: bytes after the last awaited reply (here a whole `VALUE`
/// block nobody asked for) close the connection as soon as the first of
/// them is polled, in one read or split; the replies before are delivered
/// the same. Only the error's text differs (it quotes what had arrived:
/// `VALUE a 0 1` in one read, `V` split), and no request receives it.
#[test]
fn unsolicited_bytes_close_at_once_whatever_the_split() {
    let bytes = b"STORED\r\nVALUE a 0 1\r\nv\r\nEND\r\n";
    let requests = [SET, Request::Quit];
    let (whole, whole_conn) = run(&requests, bytes, false);
    let (split, split_conn) = run(&requests, bytes, true);
    assert_eq!(whole, [(RequestId(0), Ok(Reply::Stored))]);
    assert_eq!(split, whole);
    assert_eq!(
        whole_conn.error(),
        Some(&Error::UnexpectedReply("VALUE a 0 1".into()))
    );
    assert_eq!(
        split_conn.error(),
        Some(&Error::UnexpectedReply("V".into()))
    );
    for conn in [&whole_conn, &split_conn] {
        assert!(conn.is_closed());
        assert_eq!(conn.in_flight(), 0);
    }
}

/// `meta_reply`: the same after a noreply request: the connection closes
/// with `NoreplyFailed` in one read and split alike.
#[test]
fn unsolicited_bytes_after_noreply_close_at_once_whatever_the_split() {
    let mut bytes = Vec::from(&[0x85u8; 100][..]);
    bytes.extend_from_slice(b"\r\n");
    let (whole, whole_conn) = run(&[SET_NOREPLY], &bytes, false);
    let (split, split_conn) = run(&[SET_NOREPLY], &bytes, true);
    assert!(whole.is_empty() && split.is_empty());
    let kind = |c: &Connection| c.error().map(Error::kind);
    assert_eq!(kind(&whole_conn), Some(ErrorKind::NoreplyFailed));
    assert_eq!(kind(&split_conn), Some(ErrorKind::NoreplyFailed));
    // A later request gets the closing error, never the stray bytes.
    let mut conn = split_conn;
    assert_eq!(
        conn.submit(&SET, None).map_err(|e| e.kind()),
        Err(ErrorKind::NoreplyFailed)
    );
}

/// `meta_reply`: a multi-key get over meta whose second `mg` reply names
/// another key was answered twice (the error for the part, then the same
/// error again for the group's last part when the closed connection
/// drained). Each request is answered once.
#[test]
fn a_wrong_key_in_a_translated_get_answers_the_get_once() {
    let keys: &[&[u8]] = &[b"a", b"b", b"n"];
    let get = Request::Get {
        command: crate::GetCommand::Get,
        keys,
    };
    for bytes in [
        &b"VA 1 f0 ka O0\r\nv\r\nEN kn O0\r\n"[..],
        b"EN ka O0\r\nVA 1 f0 kx O0\r\nv\r\n",
        b"EN ka O0\r\nEN kb O0\r\nEN ka O0\r\n",
    ] {
        for bytewise in [false, true] {
            let mut conn = Connection::new();
            conn.set_protocol(crate::Protocol::Meta);
            let id = conn.submit(&get, None).unwrap();
            let mut out = if bytewise {
                feed(&mut conn, bytes.chunks(1))
            } else {
                feed(&mut conn, [bytes])
            };
            conn.receive_eof();
            out.extend(feed(&mut conn, []));
            assert_eq!(out.len(), 1, "{out:?} for {bytes:?}");
            assert_eq!(out[0].0, id);
            assert!(
                matches!(&out[0].1, Err(Error::Protocol(m)) if m.contains("for a get of")),
                "{out:?}"
            );
            assert_eq!(conn.in_flight(), 0);
        }
    }
}
