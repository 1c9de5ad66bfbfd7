//! Exact bytes: every meta builder, and classic commands translated to meta.

use super::*;

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
