//! Exact bytes of every request, and refusal of bad input without writing.

use alloc::vec;
use alloc::vec::Vec;

use crate::{
    Connection, Error, GetCommand, IllegalInput, KeyPolicy, Limits, Reply, Request, RequestId,
    StoreCommand,
};

fn encode_with(policy: KeyPolicy, request: &Request<'_>) -> Vec<u8> {
    let mut conn = Connection::with_config(policy, Limits::default());
    conn.submit(request, None).expect("valid request");
    conn.transmit().to_vec()
}

fn encode(request: &Request<'_>) -> Vec<u8> {
    encode_with(KeyPolicy::default(), request)
}

fn store<'a>(
    command: StoreCommand,
    key: &'a [u8],
    value: &'a [u8],
    flags: u32,
    exptime: i64,
    noreply: bool,
) -> Request<'a> {
    Request::Store {
        command,
        key,
        value,
        flags,
        exptime,
        noreply,
    }
}

#[test]
fn storage_commands() {
    use StoreCommand::*;
    let cases: &[(Request<'_>, &[u8])] = &[
        (
            store(Set, b"key", b"value", 0, 0, false),
            b"set key 0 0 5\r\nvalue\r\n",
        ),
        (
            store(Set, b"k1", b"v1", 0, 0, true),
            b"set k1 0 0 2 noreply\r\nv1\r\n",
        ),
        (
            store(Set, b"k2", b"xyz", 7, 100, false),
            b"set k2 7 100 3\r\nxyz\r\n",
        ),
        (
            store(Add, b"k", b"v", u32::MAX, -1, true),
            b"add k 4294967295 -1 1 noreply\r\nv\r\n",
        ),
        (
            store(Replace, b"k", b"v", 1, i64::MIN, false),
            b"replace k 1 -9223372036854775808 1\r\nv\r\n",
        ),
        (
            store(Append, b"k1", b"_a", 0, 0, false),
            b"append k1 0 0 2\r\n_a\r\n",
        ),
        (
            store(Prepend, b"k1", b"a_", 3, 2_592_000, true),
            b"prepend k1 3 2592000 2 noreply\r\na_\r\n",
        ),
        (
            store(Cas(123), b"key", b"value", 0, 0, false),
            b"cas key 0 0 5 123\r\nvalue\r\n",
        ),
        (
            store(Cas(1), b"k1", b"new", 0, 0, true),
            b"cas k1 0 0 3 1 noreply\r\nnew\r\n",
        ),
        (
            store(Cas(u64::MAX), b"k", b"", 0, 0, false),
            b"cas k 0 0 0 18446744073709551615\r\n\r\n",
        ),
        // A value is sent by length, whatever it contains.
        (
            store(Set, b"k", b"\r\nEND\r\n\0", 0, 0, false),
            b"set k 0 0 8\r\n\r\nEND\r\n\0\r\n",
        ),
        (store(Set, b"k", b"", 0, 0, false), b"set k 0 0 0\r\n\r\n"),
    ];
    for (request, want) in cases {
        assert_eq!(encode(request), *want, "{request:?}");
    }
}

#[test]
fn storage_with_prefix_and_unicode() {
    let policy = KeyPolicy::new()
        .with_prefix("pfx:")
        .allow_unicode_keys(true);
    let request = store(StoreCommand::Set, "my☃".as_bytes(), b"value", 0, 0, false);
    assert_eq!(
        encode_with(policy, &request),
        b"set pfx:my\xe2\x98\x83 0 0 5\r\nvalue\r\n"
    );
}

#[test]
fn retrieval_commands() {
    let get = |command, keys| Request::Get { command, keys };
    let cases: &[(Request<'_>, &[u8])] = &[
        (get(GetCommand::Get, &[b"key"]), b"get key\r\n"),
        (
            get(GetCommand::Get, &[b"key1", b"key2", b"k3"]),
            b"get key1 key2 k3\r\n",
        ),
        // Duplicates are kept, in order.
        (get(GetCommand::Get, &[b"a", b"a"]), b"get a a\r\n"),
        (get(GetCommand::Gets, &[b"key"]), b"gets key\r\n"),
        (get(GetCommand::Gets, &[b"a", b"b"]), b"gets a b\r\n"),
        (get(GetCommand::Gat(50), &[b"k1"]), b"gat 50 k1\r\n"),
        (get(GetCommand::Gat(-1), &[b"a", b"b"]), b"gat -1 a b\r\n"),
        (get(GetCommand::Gats(30), &[b"k"]), b"gats 30 k\r\n"),
        (get(GetCommand::Gats(0), &[b"x", b"y"]), b"gats 0 x y\r\n"),
    ];
    for (request, want) in cases {
        assert_eq!(encode(request), *want, "{request:?}");
    }
}

#[test]
fn retrieval_with_prefix() {
    let policy = KeyPolicy::new().with_prefix("p:");
    let keys: &[&[u8]] = &[b"a", b"b"];
    let cases = [
        (GetCommand::Get, &b"get p:a p:b\r\n"[..]),
        (GetCommand::Gets, b"gets p:a p:b\r\n"),
        (GetCommand::Gat(5), b"gat 5 p:a p:b\r\n"),
        (GetCommand::Gats(5), b"gats 5 p:a p:b\r\n"),
    ];
    for (command, want) in cases {
        let request = Request::Get { command, keys };
        assert_eq!(encode_with(policy.clone(), &request), want);
    }
}

#[test]
fn other_commands() {
    let cases: &[(Request<'_>, &[u8])] = &[
        (
            Request::Touch {
                key: b"key",
                exptime: 0,
                noreply: false,
            },
            b"touch key 0\r\n",
        ),
        (
            Request::Touch {
                key: b"k1",
                exptime: -10,
                noreply: true,
            },
            b"touch k1 -10 noreply\r\n",
        ),
        (
            Request::Delete {
                key: b"key",
                noreply: false,
            },
            b"delete key\r\n",
        ),
        (
            Request::Delete {
                key: b"key",
                noreply: true,
            },
            b"delete key noreply\r\n",
        ),
        (
            Request::Incr {
                key: b"key",
                delta: 1,
                noreply: false,
            },
            b"incr key 1\r\n",
        ),
        (
            Request::Incr {
                key: b"key",
                delta: u64::MAX,
                noreply: true,
            },
            b"incr key 18446744073709551615 noreply\r\n",
        ),
        (
            Request::Decr {
                key: b"n",
                delta: u64::MAX,
                noreply: false,
            },
            b"decr n 18446744073709551615\r\n",
        ),
        (
            Request::Decr {
                key: b"n",
                delta: 0,
                noreply: true,
            },
            b"decr n 0 noreply\r\n",
        ),
        (Request::Stats { args: &[] }, b"stats\r\n"),
        (
            Request::Stats {
                args: &[b"some_arg"],
            },
            b"stats some_arg\r\n",
        ),
        (
            Request::Stats {
                args: &[b"cachedump", b"1", b"1"],
            },
            b"stats cachedump 1 1\r\n",
        ),
        (Request::Version, b"version\r\n"),
        (
            Request::FlushAll {
                delay: 0,
                noreply: false,
            },
            b"flush_all 0\r\n",
        ),
        (
            Request::FlushAll {
                delay: 0,
                noreply: true,
            },
            b"flush_all 0 noreply\r\n",
        ),
        (
            Request::FlushAll {
                delay: 10,
                noreply: true,
            },
            b"flush_all 10 noreply\r\n",
        ),
        (
            Request::Verbosity {
                level: 1,
                noreply: false,
            },
            b"verbosity 1\r\n",
        ),
        (
            Request::Verbosity {
                level: u32::MAX,
                noreply: true,
            },
            b"verbosity 4294967295 noreply\r\n",
        ),
        (
            Request::CacheMemlimit {
                megabytes: 8,
                noreply: false,
            },
            b"cache_memlimit 8\r\n",
        ),
        (
            Request::CacheMemlimit {
                megabytes: u64::MAX,
                noreply: true,
            },
            b"cache_memlimit 18446744073709551615 noreply\r\n",
        ),
        (Request::Quit, b"quit\r\n"),
        (Request::Shutdown { graceful: false }, b"shutdown\r\n"),
        (
            Request::Shutdown { graceful: true },
            b"shutdown graceful\r\n",
        ),
        (
            Request::Raw {
                line: b"mn",
                terminator: b"\r\n",
            },
            b"mn\r\n",
        ),
        (
            Request::Raw {
                line: b"lru_crawler metadump all",
                terminator: b"END\r\n",
            },
            b"lru_crawler metadump all\r\n",
        ),
    ];
    for (request, want) in cases {
        assert_eq!(encode(request), *want, "{request:?}");
    }
}

#[test]
fn keyed_commands_use_the_prefix() {
    let policy = KeyPolicy::new().with_prefix("p:");
    let cases: &[(Request<'_>, &[u8])] = &[
        (
            Request::Touch {
                key: b"k",
                exptime: 1,
                noreply: false,
            },
            b"touch p:k 1\r\n",
        ),
        (
            Request::Delete {
                key: b"k",
                noreply: false,
            },
            b"delete p:k\r\n",
        ),
        (
            Request::Incr {
                key: b"k",
                delta: 2,
                noreply: false,
            },
            b"incr p:k 2\r\n",
        ),
        (
            Request::Decr {
                key: b"k",
                delta: 2,
                noreply: false,
            },
            b"decr p:k 2\r\n",
        ),
        (
            store(StoreCommand::Cas(9), b"k", b"v", 0, 0, false),
            b"cas p:k 0 0 1 9\r\nv\r\n",
        ),
        // Stats arguments are not keys: no prefix.
        (Request::Stats { args: &[b"items"] }, b"stats items\r\n"),
    ];
    for (request, want) in cases {
        assert_eq!(encode_with(policy.clone(), request), *want, "{request:?}");
    }
}

#[test]
fn pipelined_requests_append_in_order_and_number_ids() {
    let mut conn = Connection::new();
    let a = conn.submit(&Request::Version, None).unwrap();
    let b = conn
        .submit(&store(StoreCommand::Set, b"k", b"v", 0, 0, true), None)
        .unwrap();
    let c = conn
        .submit(
            &Request::Get {
                command: GetCommand::Get,
                keys: &[b"k"],
            },
            None,
        )
        .unwrap();
    assert_eq!((a, b, c), (RequestId(0), RequestId(1), RequestId(2)));
    // The noreply set awaits nothing.
    assert_eq!(conn.in_flight(), 2);
    assert_eq!(
        conn.transmit(),
        b"version\r\nset k 0 0 1 noreply\r\nv\r\nget k\r\n"
    );
    // Partial writes: advance_transmit drops exactly what the socket took.
    conn.advance_transmit(3);
    assert_eq!(
        conn.transmit(),
        b"sion\r\nset k 0 0 1 noreply\r\nv\r\nget k\r\n"
    );
    assert!(conn.wants_write());
    let rest = conn.transmit().len();
    conn.advance_transmit(rest);
    assert!(!conn.wants_write());
    assert_eq!(conn.transmit(), b"");
}

#[test]
fn longest_keys_are_accepted() {
    let key = [b'k'; 250];
    assert_eq!(
        encode(&Request::Delete {
            key: &key,
            noreply: false
        }),
        [b"delete ".as_slice(), &key, b"\r\n"].concat()
    );
    let policy = KeyPolicy::new().with_prefix("pfx:");
    let key = [b'k'; 246];
    assert_eq!(
        encode_with(
            policy,
            &Request::Delete {
                key: &key,
                noreply: false
            }
        ),
        [b"delete pfx:".as_slice(), &key, b"\r\n"].concat()
    );
}

mod refused;
