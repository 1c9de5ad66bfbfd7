//! Ketama tests, with reference tables taken from a real nutcracker.
//!
//! # How the tables were made, and how to check again
//!
//! nutcracker 0.5.0 (Debian bookworm's `nutcracker` package, x86-64) was
//! started in front of memcached 1.6.18 processes listening on
//! `127.0.0.1:21201`, `127.0.0.1:21202`, `127.0.0.2:11211` (port 11211 on
//! purpose: twemproxy leaves it out of the hashed name), a unix socket
//! `/tmp/memcrab-ketama-verify.sock`, and `127.0.0.1:21211..=21235`, with
//!
//! ```yaml
//! pool:
//!   listen: 127.0.0.1:<free port>
//!   hash: md5            # then fnv1a_64
//!   distribution: ketama
//!   auto_eject_hosts: false
//!   servers:
//!    - 127.0.0.1:21201:1  # host:port:weight [name]
//!    - 127.0.0.1:21202:1
//!    - 127.0.0.2:11211:1
//! ```
//!
//! Every key of [`keys`] was `set` through nutcracker, then each memcached
//! was asked directly (`get k1 k2 …`) which keys it held; every key was on
//! exactly one server. For every configuration below memcrab's [`Ketama`]
//! put all 1200 keys on the same server as nutcracker. Negative controls:
//! naming the port-11211 server `127.0.0.2:11211` gives 421 mismatches,
//! naming the unix server without its trailing `:` 382, reading key bytes as
//! unsigned in FNV 60, giving every server 160 points (ignoring the `f32`
//! rounding) 27 with 25 servers and 443 with weights 1/2/5.
//!
//! To check again by hand: start the memcached processes and nutcracker as
//! above, set the keys through nutcracker, ask each memcached for the keys,
//! and compare with `Ketama::get_index` for the servers' names (the script
//! used was `verify_nutcracker.py` in the router's scratch crate; an
//! integration test can do the same with memcrab's own client).

use super::*;
use alloc::string::ToString;
use alloc::vec;

/// The 1200 keys of the nutcracker run: `key0..key999`, `kéy0..kéy49`
/// (UTF-8), `raw\xff\x800..49` (not UTF-8), `user:0:profile..user:99:profile`.
fn keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = (0..1000).map(|i| format!("key{i}").into_bytes()).collect();
    keys.extend((0..50).map(|i| format!("k\u{e9}y{i}").into_bytes()));
    keys.extend((0..50).map(|i| {
        let mut k = b"raw\xff\x80".to_vec();
        k.extend_from_slice(i.to_string().as_bytes());
        k
    }));
    keys.extend((0..100).map(|i| format!("user:{i}:profile").into_bytes()));
    keys
}

struct Case {
    what: &'static str,
    hash: KeyHash,
    servers: &'static [(&'static str, u32)],
    /// Keys per server, over all of [`keys`].
    counts: &'static [usize],
    /// The server of `key0..key19`.
    first: [usize; 20],
    /// The server of `kéy0..kéy4` and of `raw\xff\x800..4`.
    high: [usize; 10],
}

const THREE: &[(&str, u32)] = &[
    ("127.0.0.1:21201", 1),
    ("127.0.0.1:21202", 1),
    ("127.0.0.2", 1),
];
const WEIGHTED: &[(&str, u32)] = &[
    ("127.0.0.1:21201", 1),
    ("127.0.0.1:21202", 2),
    ("127.0.0.2", 5),
];

const CASES: &[Case] = &[
    Case {
        what: "md5, weight 1",
        hash: KeyHash::Md5,
        servers: THREE,
        counts: &[438, 427, 335],
        first: [0, 0, 1, 1, 1, 2, 2, 0, 0, 0, 2, 1, 2, 2, 0, 2, 2, 0, 1, 2],
        high: [0, 0, 1, 2, 0, 2, 1, 1, 0, 0],
    },
    Case {
        what: "fnv1a_64, weight 1",
        hash: KeyHash::Fnv1a64,
        servers: THREE,
        counts: &[295, 382, 523],
        first: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        high: [2, 2, 2, 2, 2, 1, 1, 1, 1, 1],
    },
    Case {
        what: "md5, weights 1/2/5",
        hash: KeyHash::Md5,
        servers: WEIGHTED,
        counts: &[170, 297, 733],
        first: [2, 2, 1, 1, 2, 2, 2, 2, 0, 0, 2, 2, 2, 2, 2, 2, 2, 0, 2, 2],
        high: [0, 2, 1, 2, 2, 2, 2, 1, 2, 2],
    },
    Case {
        what: "fnv1a_64, weights 1/2/5",
        hash: KeyHash::Fnv1a64,
        servers: WEIGHTED,
        counts: &[178, 179, 843],
        first: [2; 20],
        high: [2, 2, 2, 2, 2, 1, 1, 1, 1, 1],
    },
    Case {
        what: "md5, servers named alpha/beta/gamma in the config",
        hash: KeyHash::Md5,
        servers: &[("alpha", 1), ("beta", 1), ("gamma", 1)],
        counts: &[346, 425, 429],
        first: [0, 2, 0, 2, 0, 1, 1, 2, 2, 1, 1, 2, 1, 2, 0, 2, 2, 2, 0, 2],
        high: [1, 2, 2, 1, 1, 0, 1, 2, 1, 0],
    },
    Case {
        what: "md5, unix socket `/tmp/memcrab-ketama-verify.sock:1` first",
        hash: KeyHash::Md5,
        servers: &[
            ("/tmp/memcrab-ketama-verify.sock:", 1),
            ("127.0.0.1:21201", 1),
            ("127.0.0.1:21202", 1),
        ],
        counts: &[381, 410, 409],
        first: [0, 1, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 0, 0, 1, 0, 2, 1, 0, 1],
        high: [1, 1, 2, 2, 1, 0, 2, 0, 1, 0],
    },
];

fn check(case: &Case, ring: &Ketama) {
    let keys = keys();
    let mut counts = vec![0usize; ring.len()];
    for key in &keys {
        counts[ring.get_index(key).expect("servers")] += 1;
    }
    assert_eq!(counts, case.counts, "{}: counts", case.what);
    let first: Vec<usize> = keys[..20]
        .iter()
        .map(|k| ring.get_index(k).unwrap_or(99))
        .collect();
    assert_eq!(first, case.first, "{}: key0..key19", case.what);
    let high: Vec<usize> = keys[1000..1005]
        .iter()
        .chain(&keys[1050..1055])
        .map(|k| ring.get_index(k).unwrap_or(99))
        .collect();
    assert_eq!(high, case.high, "{}: non-ASCII keys", case.what);
}

#[test]
fn matches_nutcracker_tables() {
    for case in CASES {
        check(case, &Ketama::new(case.servers, case.hash));
    }
}

#[test]
fn matches_nutcracker_with_25_servers_of_156_points() {
    let names: Vec<(String, u32)> = (0..25)
        .map(|i| (format!("127.0.0.1:{}", 21211 + i), 1))
        .collect();
    let ring = Ketama::new(&names, KeyHash::Md5);
    assert_eq!(ring.points(), 25 * 156);
    let keys = keys();
    let mut counts = vec![0usize; 25];
    for key in &keys {
        counts[ring.get_index(key).unwrap_or(99)] += 1;
    }
    assert_eq!(
        counts,
        [
            45, 41, 54, 53, 37, 50, 61, 49, 41, 47, 47, 59, 60, 44, 49, 32, 45, 50, 43, 50, 42, 46,
            57, 48, 50
        ]
    );
    let first: Vec<usize> = keys[..20]
        .iter()
        .map(|k| ring.get_index(k).unwrap_or(99))
        .collect();
    assert_eq!(
        first,
        [5, 24, 17, 6, 12, 19, 4, 6, 21, 19, 12, 0, 11, 5, 7, 10, 10, 14, 16, 16]
    );
    let high: Vec<usize> = keys[1000..1005]
        .iter()
        .chain(&keys[1050..1055])
        .map(|k| ring.get_index(k).unwrap_or(99))
        .collect();
    assert_eq!(high, [21, 0, 17, 2, 13, 20, 13, 13, 3, 1]);
}

#[test]
fn points_follow_the_c_float_expression() {
    assert_eq!(points_for(1.0, 1), 160);
    assert_eq!(points_for(1.0 / 3.0, 3), 160);
    let equal: Vec<usize> = (1..=64)
        .filter(|&n| points_for(1.0 / n as f32, n) != 160)
        .collect();
    assert_eq!(equal, [25, 47, 50, 55, 61]);
    assert_eq!(points_for(1.0 / 25.0, 25), 156);
    let weighted: Vec<u32> = [1.0f32, 2.0, 5.0]
        .iter()
        .map(|w| points_for(w / 8.0, 3))
        .collect();
    assert_eq!(weighted, [60, 120, 300]);
    assert_eq!(Ketama::new(WEIGHTED, KeyHash::Md5).points(), 480);
}

#[test]
fn key_hashes() {
    // Standard FNV-1a 64 of "foobar" is 0x85944171f73967e8.
    assert_eq!(KeyHash::Fnv1a64.hash(b"foobar"), 0xf739_67e8);
    assert_eq!(KeyHash::Fnv1a64.hash(b""), 0x8422_2325);
    // A byte >= 0x80 is sign-extended (x86-64 `char`): not the standard hash.
    let standard = (0xcbf2_9ce4_8422_2325u64 ^ 0xff).wrapping_mul(0x100_0000_01b3) as u32;
    assert_ne!(KeyHash::Fnv1a64.hash(b"\xff"), standard);
    assert_eq!(
        KeyHash::Fnv1a64.hash(b"\xff"),
        (0x8422_2325u32 ^ 0xffff_ffff).wrapping_mul(0x1b3)
    );
    // MD5("") = d41d8cd98f00b204e9800998ecf8427e.
    assert_eq!(KeyHash::Md5.hash(b""), 0xd98c_1dd4);
    assert_eq!(md5_word(b"", 3), 0x7e42_f8ec);
}

#[test]
fn empty_key_hashes_to_zero_and_one_server_takes_all() {
    let ring = Ketama::new(THREE, KeyHash::Md5);
    assert_eq!(ring.hash_key(b""), 0);
    assert_eq!(ring.get_index(b""), ring.index_for_hash(0));
    let one = Ketama::new(&[("solo", 1)], KeyHash::Fnv1a64);
    assert_eq!(one.get_server(b"anything"), Some("solo"));
    assert_eq!(one.get_server(b""), Some("solo"));
}

#[test]
fn lookup_takes_first_point_at_or_after_and_wraps() {
    let ring = Ketama::new(THREE, KeyHash::Md5);
    let first = ring.continuum[0];
    let last = ring.continuum[ring.points() - 1];
    assert_eq!(ring.index_for_hash(0), Some(first.server));
    assert_eq!(ring.index_for_hash(first.value), Some(first.server));
    assert_eq!(ring.index_for_hash(last.value), Some(last.server));
    if last.value < u32::MAX {
        assert_eq!(ring.index_for_hash(last.value + 1), Some(first.server));
    }
    let second = ring.continuum[1];
    if first.value < second.value {
        assert_eq!(ring.index_for_hash(first.value + 1), Some(second.server));
    }
    assert!(ring.continuum.windows(2).all(|w| w[0].value <= w[1].value));
}

#[test]
fn empty_ring_routes_nothing() {
    let mut ring = Ketama::new(&[] as &[(&str, u32)], KeyHash::Md5);
    assert!(ring.is_empty());
    assert_eq!(ring.get_index(b"k"), None);
    assert!(ring.add_server("a", 1));
    assert_eq!(ring.get_server(b"k"), Some("a"));
    assert!(ring.remove_server("a"));
    assert_eq!(ring.get_server(b"k"), None);
    assert!(!ring.remove_server("a"));
}

#[test]
fn add_and_remove_rebuild_like_new() {
    let mut ring = Ketama::new(&THREE[..2], KeyHash::Md5);
    assert!(ring.add_server("127.0.0.2", 1));
    assert!(!ring.add_server("127.0.0.2", 7));
    check(&CASES[0], &ring);
    assert!(ring.remove_server("127.0.0.1:21202"));
    let fresh = Ketama::new(&[("127.0.0.1:21201", 1), ("127.0.0.2", 1)], KeyHash::Md5);
    assert_eq!(ring.continuum, fresh.continuum);
    // Keys of the remaining servers stay put (consistent hashing).
    let full = Ketama::new(THREE, KeyHash::Md5);
    for key in keys() {
        let before = full.get_server(&key);
        if before != Some("127.0.0.1:21202") {
            assert_eq!(ring.get_server(&key), before);
        }
    }
}

#[test]
fn duplicate_names_and_zero_weights() {
    let ring = Ketama::new(&[("a", 0), ("b", 1), ("a", 5)], KeyHash::Md5);
    let servers: Vec<(&str, u32)> = ring.servers().collect();
    assert_eq!(servers, [("a", 1), ("b", 1)]);
    assert_eq!(ring.points(), 320);
}

#[test]
fn long_names_are_cut_as_twemproxy_cuts_them() {
    let long_a = "h".repeat(300);
    let mut long_b = long_a.clone();
    long_b.push('x');
    let a = Ketama::new(&[(long_a.as_str(), 1)], KeyHash::Md5);
    let b = Ketama::new(&[(long_b.as_str(), 1)], KeyHash::Md5);
    // Past 272 bytes nothing is hashed, so both names give the same points.
    assert_eq!(a.continuum, b.continuum);
    let mut text = long_a.into_bytes();
    text.truncate(MAX_HOSTLEN - 1);
    let values: Vec<u32> = a.continuum.iter().map(|p| p.value).collect();
    assert!(values.contains(&md5_word(&text, 0)));
}

#[test]
fn decimal_indices() {
    let mut out = Vec::new();
    for n in [0, 7, 39, 1234, u32::MAX] {
        out.clear();
        push_decimal(&mut out, n);
        assert_eq!(out, n.to_string().into_bytes());
    }
}

#[test]
fn server_names() {
    assert_eq!(twemproxy_server_name("127.0.0.1", 11211), "127.0.0.1");
    assert_eq!(twemproxy_server_name("127.0.0.1", 11212), "127.0.0.1:11212");
    assert_eq!(
        twemproxy_server_name("cache-1.example", 21201),
        "cache-1.example:21201"
    );
}
