//! Replies: every status and flag at every split, hostile replies, quiet
//! requests and their barriers, translated multi-key gets.

use super::*;

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
