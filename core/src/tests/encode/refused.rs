//! Bad input is refused before anything is written.

use super::*;

/// Submits `bad` on a connection with bytes already queued and a request in
/// flight; checks the refusal, that nothing changed, and that the connection
/// still works.
fn assert_refused(policy: KeyPolicy, limits: Limits, bad: &Request<'_>) -> IllegalInput {
    let mut conn = Connection::with_config(policy, limits);
    let first = conn.submit(&Request::Version, None).unwrap();
    let before = conn.transmit().to_vec();
    let e = match conn.submit(bad, None) {
        Err(Error::IllegalInput(e)) => e,
        other => panic!("{bad:?} gave {other:?}"),
    };
    assert_eq!(conn.transmit(), before, "{bad:?} wrote bytes");
    assert_eq!(conn.in_flight(), 1);
    assert!(!conn.is_closed());
    assert_eq!(conn.error(), None);
    // The refused request used no id, and the connection goes on.
    let next = conn.submit(&Request::Version, None).unwrap();
    assert_eq!(next, RequestId(first.0 + 1));
    conn.receive(b"VERSION 1\r\nVERSION 2\r\n");
    assert_eq!(
        crate::tests::util::poll_all(&mut conn),
        vec![
            (first, Ok(Reply::Version("1".into()))),
            (next, Ok(Reply::Version("2".into()))),
        ]
    );
    e
}

/// Every request shape that carries `key`.
fn keyed_requests(key: &[u8]) -> Vec<Request<'_>> {
    let mut out = Vec::new();
    for noreply in [false, true] {
        for command in [
            StoreCommand::Set,
            StoreCommand::Add,
            StoreCommand::Replace,
            StoreCommand::Append,
            StoreCommand::Prepend,
            StoreCommand::Cas(1),
        ] {
            out.push(store(command, key, b"v", 0, 0, noreply));
        }
        out.push(Request::Touch {
            key,
            exptime: 0,
            noreply,
        });
        out.push(Request::Delete { key, noreply });
        out.push(Request::Incr {
            key,
            delta: 1,
            noreply,
        });
        out.push(Request::Decr {
            key,
            delta: 1,
            noreply,
        });
    }
    out
}

#[test]
fn bad_keys_are_refused_without_writing() {
    let long = [b'x'; 251];
    type Is = fn(&IllegalInput) -> bool;
    let cases: &[(&[u8], Is)] = &[
        (b"a b", |e| matches!(e, IllegalInput::KeyWhitespace { .. })),
        (b"a\r\nset x 0 0 1", |e| {
            matches!(e, IllegalInput::KeyWhitespace { .. })
        }),
        (b"k\n", |e| matches!(e, IllegalInput::KeyWhitespace { .. })),
        (b"k\r", |e| matches!(e, IllegalInput::KeyWhitespace { .. })),
        (b"k\t", |e| matches!(e, IllegalInput::KeyWhitespace { .. })),
        (b"k\0", |e| matches!(e, IllegalInput::KeyNull { .. })),
        (b"", |e| matches!(e, IllegalInput::EmptyKey)),
        (b"\x01k", |e| matches!(e, IllegalInput::KeyControl { .. })),
        (b"k\x7f", |e| matches!(e, IllegalInput::KeyControl { .. })),
        ("こんにちは".as_bytes(), |e| {
            matches!(e, IllegalInput::KeyNonAscii { .. })
        }),
        ("\u{0FFF}".as_bytes(), |e| {
            matches!(e, IllegalInput::KeyNonAscii { .. })
        }),
        (&long, |e| {
            matches!(e, IllegalInput::KeyTooLong { len: 251, .. })
        }),
    ];
    for (key, is) in cases {
        for request in keyed_requests(key) {
            let e = assert_refused(KeyPolicy::default(), Limits::default(), &request);
            assert!(is(&e), "{request:?} gave {e:?}");
        }
        for command in [
            GetCommand::Get,
            GetCommand::Gets,
            GetCommand::Gat(1),
            GetCommand::Gats(1),
        ] {
            let keys: &[&[u8]] = &[key];
            let e = assert_refused(
                KeyPolicy::default(),
                Limits::default(),
                &Request::Get { command, keys },
            );
            assert!(is(&e), "{command:?} {key:?} gave {e:?}");
        }
    }
}

#[test]
fn the_prefix_counts_towards_the_key_length() {
    let policy = KeyPolicy::new().with_prefix("pfx:");
    let key = [b'k'; 247];
    for request in keyed_requests(&key) {
        let e = assert_refused(policy.clone(), Limits::default(), &request);
        assert!(
            matches!(e, IllegalInput::KeyTooLong { len: 251, .. }),
            "{e:?}"
        );
    }
}

#[test]
fn a_bad_key_in_the_middle_of_a_multi_get_writes_nothing() {
    for bad in [&b"b c"[..], b"", b"b\r\nflush_all", b"b\0"] {
        let keys: &[&[u8]] = &[b"a", bad, b"c"];
        assert_refused(
            KeyPolicy::default(),
            Limits::default(),
            &Request::Get {
                command: GetCommand::Get,
                keys,
            },
        );
    }
    let e = assert_refused(
        KeyPolicy::default(),
        Limits::default(),
        &Request::Get {
            command: GetCommand::Gets,
            keys: &[],
        },
    );
    assert_eq!(e, IllegalInput::NoKeys);
}

#[test]
fn a_value_over_the_item_size_is_refused() {
    let limits = Limits {
        max_item_size: 10,
        ..Limits::default()
    };
    let big = [b'v'; 11];
    for noreply in [false, true] {
        let e = assert_refused(
            KeyPolicy::default(),
            limits,
            &store(StoreCommand::Set, b"k", &big, 0, 0, noreply),
        );
        assert_eq!(
            e,
            IllegalInput::ValueTooLarge {
                key: "\"k\"".into(),
                len: 11,
                max: 10
            }
        );
    }
    // Exactly the limit is fine.
    let mut conn = Connection::with_config(KeyPolicy::default(), limits);
    conn.submit(
        &store(StoreCommand::Set, b"k", &big[..10], 0, 0, false),
        None,
    )
    .unwrap();
    assert_eq!(conn.transmit(), b"set k 0 0 10\r\nvvvvvvvvvv\r\n");
    // With the default limit, 1 MiB + 512 is the largest value.
    let huge = vec![0u8; 1024 * 1024 + 513];
    let e = assert_refused(
        KeyPolicy::default(),
        Limits::default(),
        &store(StoreCommand::Append, b"k", &huge, 0, 0, false),
    );
    assert!(matches!(
        e,
        IllegalInput::ValueTooLarge { len: 1_049_089, .. }
    ));
}

#[test]
fn bad_arguments_are_refused() {
    let cases: &[Request<'_>] = &[
        Request::Stats {
            args: &[b"cachedump 1"],
        },
        Request::Stats { args: &[b""] },
        Request::Stats {
            args: &[b"items\r\nflush_all"],
        },
        Request::Raw {
            line: b"",
            terminator: b"\r\n",
        },
        Request::Raw {
            line: b"mn\r\nflush_all",
            terminator: b"\r\n",
        },
        Request::Raw {
            line: b"mn\n",
            terminator: b"\r\n",
        },
        Request::Raw {
            line: b"mn",
            terminator: b"",
        },
    ];
    for request in cases {
        assert_refused(KeyPolicy::default(), Limits::default(), request);
    }
}

#[test]
fn a_bad_prefix_refuses_every_key() {
    let policy = KeyPolicy::new().with_prefix("bad prefix");
    for request in keyed_requests(b"k") {
        let e = assert_refused(policy.clone(), Limits::default(), &request);
        assert!(matches!(e, IllegalInput::KeyWhitespace { .. }), "{e:?}");
    }
}
