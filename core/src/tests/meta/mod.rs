//! The meta protocol in memory: exact bytes of every builder and of the
//! classic commands translated to meta, replies of every status and flag at
//! every split, hostile replies, quiet requests and their barriers, error
//! lines attributed exactly, translated multi-key gets.

use alloc::vec;
use alloc::vec::Vec;

use ::bytes::Bytes;

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
    Ok(Reply::Meta(alloc::boxed::Box::new(r)))
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

mod quiet;
mod replies;
mod wire_bytes;
