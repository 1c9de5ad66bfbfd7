//! Rendezvous tests: pymemcache-spec §16 and pymemcache's own test suite.

use super::*;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::ToString;

const N11211: &str = "127.0.0.1:11211";
const N11212: &str = "127.0.0.1:11212";
const N11213: &str = "127.0.0.1:11213";

fn three() -> Rendezvous {
    let mut ring = Rendezvous::new();
    for n in [N11211, N11212, N11213] {
        assert!(ring.add_node(n));
    }
    ring
}

fn ring_of(names: &[&str]) -> Rendezvous {
    let mut ring = Rendezvous::new();
    for n in names {
        ring.add_node(n);
    }
    ring
}

/// pymemcache-spec §16.2: key, winning port, scores for 11211/11212/11213.
const TABLE: &[(&str, u16, [u32; 3])] = &[
    ("key0", 11213, [1_288_114_868, 1_641_315_483, 2_399_388_422]),
    ("key1", 11212, [961_295_336, 3_760_904_346, 2_305_890_265]),
    ("key2", 11213, [1_568_830_493, 32_273_718, 1_683_127_683]),
    ("key3", 11213, [1_087_463_695, 554_452_196, 2_743_449_603]),
    ("key4", 11213, [1_898_415_608, 1_453_258_097, 3_028_457_777]),
    ("key5", 11211, [4_029_230_081, 2_980_243_833, 1_917_656_927]),
    ("key6", 11213, [442_328_038, 630_401_382, 3_146_507_424]),
    ("key7", 11212, [3_148_354_874, 3_669_709_130, 2_643_627_587]),
    ("key8", 11212, [379_375_505, 3_417_860_649, 2_132_060_344]),
    ("key9", 11213, [2_407_825_101, 2_144_332_958, 3_636_185_449]),
    ("key10", 11212, [1_395_684_012, 1_999_337_639, 568_697_087]),
    ("key11", 11212, [189_716_094, 3_616_686_668, 1_076_108_853]),
    ("key12", 11212, [286_027_496, 2_042_686_012, 1_279_184_074]),
    ("key13", 11213, [536_462_070, 448_118_278, 1_662_288_978]),
    (
        "key14",
        11211,
        [3_709_738_994, 3_512_623_662, 1_266_436_082],
    ),
    (
        "key15",
        11212,
        [1_590_690_993, 3_836_697_068, 3_369_973_661],
    ),
    (
        "key16",
        11213,
        [1_476_268_639, 1_409_514_000, 3_048_231_920],
    ),
    ("key17", 11211, [3_569_646_729, 3_468_003_979, 327_498_072]),
    ("key18", 11211, [3_419_257_390, 537_266_843, 3_128_507_733]),
    (
        "key19",
        11213,
        [1_244_745_630, 3_271_271_296, 3_794_083_857],
    ),
];

#[test]
fn spec_16_2_winners_and_scores() {
    let ring = three();
    for &(key, port, scores) in TABLE {
        let winner = format!("127.0.0.1:{port}");
        assert_eq!(
            ring.get_node(key.as_bytes()),
            Some(winner.as_str()),
            "{key}"
        );
        for (node, want) in [N11211, N11212, N11213].iter().zip(scores) {
            assert_eq!(ring.score(node, key.as_bytes()), want, "{node} {key}");
        }
    }
}

#[test]
fn spec_16_2_other_keys() {
    let ring = three();
    for (key, want) in [
        ("foo", N11213),
        ("bar", N11211),
        ("baz", N11212),
        ("user:1", N11213),
        ("", N11213),
        ("my☃", N11213),
        ("user42", N11212),
    ] {
        assert_eq!(ring.get_node(key.as_bytes()), Some(want), "{key:?}");
    }
}

#[test]
fn spec_16_3_bytes_keys_hash_their_repr() {
    let ring = three().with_key_form(KeyForm::BytesRepr);
    let want = [
        11212, 11213, 11212, 11211, 11213, 11213, 11213, 11213, 11212, 11212, 11213, 11211, 11212,
        11213, 11213, 11212, 11213, 11212, 11212, 11213,
    ];
    for (i, port) in want.iter().enumerate() {
        let key = format!("key{i}");
        let winner = format!("127.0.0.1:{port}");
        assert_eq!(
            ring.get_node(key.as_bytes()),
            Some(winner.as_str()),
            "b{key:?}"
        );
    }
    assert_eq!(ring.score(N11211, b"it's"), 385_399_683);
    assert_eq!(ring.get_node(b"it's"), Some(N11212));
    assert_eq!(ring.score(N11211, b"a\x01b"), 1_887_699_085);
    assert_eq!(ring.get_node(b"a\x01b"), Some(N11211));
    assert_eq!(ring.score(N11211, b"key\"q"), 470_263_457);
    assert_eq!(ring.get_node(b"key\"q"), Some(N11213));
}

#[test]
fn python_bytes_repr_rules() {
    let repr = |k: &[u8]| {
        let mut out = KeyBuf::new();
        python_bytes_repr(k, &mut out);
        out.to_vec()
    };
    assert_eq!(repr(b"key0"), b"b'key0'");
    assert_eq!(repr(b"it's"), b"b\"it's\"");
    assert_eq!(repr(b"a'\""), b"b'a\\'\"'");
    assert_eq!(
        repr(b"\t\n\r\\\x00\x7f\xff"),
        b"b'\\t\\n\\r\\\\\\x00\\x7f\\xff'"
    );
    assert_eq!(repr(b""), b"b''");
}

#[test]
fn non_utf8_key_hashes_raw_bytes() {
    let ring = three();
    let key = b"k\xff\xfe";
    for node in [N11211, N11212, N11213] {
        let mut text = format!("{node}-").into_bytes();
        text.extend_from_slice(key);
        assert_eq!(ring.score(node, key), super::super::murmur3_32(&text, 0));
    }
}

#[test]
fn test_suite_get_node_add_remove() {
    let ring = ring_of(&["0", "1", "2"]);
    assert_eq!(ring.get_node(b"ok"), Some("0"));
    assert_eq!(ring.get_node(b"mykey"), Some("1"));
    assert_eq!(ring.get_node(b"wat"), Some("2"));
    assert_eq!(ring.get_node(b"lol"), Some("2"));

    let mut grown = ring.clone();
    assert!(grown.add_node("3"));
    assert_eq!(grown.get_node(b"ok"), Some("0"));
    assert_eq!(grown.get_node(b"mykey"), Some("1"));
    assert_eq!(grown.get_node(b"wat"), Some("2"));
    assert_eq!(grown.get_node(b"lol"), Some("3"));

    let mut shrunk = ring.clone();
    assert!(shrunk.remove_node("1"));
    assert_eq!(shrunk.get_node(b"ok"), Some("0"));
    assert_eq!(shrunk.get_node(b"mykey"), Some("0"));
    assert_eq!(shrunk.get_node(b"wat"), Some("2"));
}

#[test]
fn add_is_idempotent_and_remove_reports_absence() {
    let mut ring = Rendezvous::new();
    assert!(ring.is_empty());
    assert!(ring.add_node("1"));
    assert!(!ring.add_node("1"));
    assert!(ring.add_node("2"));
    assert!(!ring.add_node("1"));
    assert_eq!(ring.len(), 2);
    assert!(ring.remove_node("2"));
    assert!(!ring.remove_node("2"));
    assert!(ring.remove_node("1"));
    assert!(ring.is_empty());
    assert_eq!(ring.get_node(b"any"), None);
    assert_eq!(ring.get_index(b"any"), None);
}

fn placements(ring: &Rendezvous) -> BTreeMap<String, Vec<u32>> {
    let mut map: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for i in 0..1000u32 {
        let key = i.to_string();
        let node = ring.get_node(key.as_bytes()).map(str::to_string);
        map.entry(node.unwrap_or_default()).or_default().push(i);
    }
    map
}

fn moved(
    before: &BTreeMap<String, Vec<u32>>,
    after: &BTreeMap<String, Vec<u32>>,
) -> (usize, usize) {
    let (mut added, mut removed) = (0, 0);
    let names: alloc::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        let b = before.get(name).cloned().unwrap_or_default();
        let a = after.get(name).cloned().unwrap_or_default();
        removed += b.iter().filter(|k| !a.contains(k)).count();
        added += a.iter().filter(|k| !b.contains(k)).count();
    }
    (added, removed)
}

#[test]
fn test_suite_grow_10_to_20_moves_1062() {
    let mut ring = Rendezvous::new();
    for i in 0..10 {
        ring.add_node(&i.to_string());
    }
    let before = placements(&ring);
    for i in 0..20 {
        ring.add_node(&i.to_string());
    }
    let (added, removed) = moved(&before, &placements(&ring));
    assert_eq!(added, removed);
    assert_eq!(added + removed, 1062);
}

#[test]
fn test_suite_shrink_removing_9_moves_202() {
    let mut ring = Rendezvous::new();
    for i in 0..10 {
        ring.add_node(&i.to_string());
    }
    let before = placements(&ring);
    ring.remove_node("9");
    let (added, removed) = moved(&before, &placements(&ring));
    assert_eq!(added, removed);
    assert_eq!(added + removed, 202);
}

fn collide(_: &[u8]) -> u32 {
    1337
}

#[test]
fn test_suite_ties_go_to_the_greatest_name() {
    let mut ring = Rendezvous::with_hash_fn(collide);
    for n in ["c", "b", "a"] {
        ring.add_node(n);
    }
    for i in 0..1000 {
        assert_eq!(ring.get_node(i.to_string().as_bytes()), Some("c"));
    }
    let mut ring = Rendezvous::with_hash_fn(collide);
    for n in ["1", "2", "3", "a", "b", "lol.wat.com"] {
        ring.add_node(n);
    }
    assert_eq!(ring.get_node(b"7"), Some("lol.wat.com"));
    let mut ring = Rendezvous::with_hash_fn(collide);
    for n in ["1", "a", "0"] {
        ring.add_node(n);
    }
    assert_eq!(ring.get_node(b"7"), Some("a"));
}

#[test]
fn test_suite_mixed_node_names() {
    let ring = ring_of(&["::1:11211", "/var/run/memcached.sock", "localhost:11211"]);
    let want = [
        "localhost:11211",
        "::1:11211",
        "localhost:11211",
        "/var/run/memcached.sock",
        "/var/run/memcached.sock",
        "localhost:11211",
    ];
    for (i, want) in want.iter().enumerate() {
        assert_eq!(
            ring.get_node(format!("key{i}").as_bytes()),
            Some(*want),
            "key{i}"
        );
    }
}

#[test]
fn seed_and_custom_hash_see_node_dash_key() {
    let seeded = Rendezvous::with_seed(10);
    assert_eq!(
        seeded.score("66", b"6"),
        super::super::murmur3_32(b"66-6", 10)
    );
    fn len_hash(text: &[u8]) -> u32 {
        text.len() as u32
    }
    let custom = Rendezvous::with_hash_fn(len_hash);
    assert_eq!(custom.score("node", b"k\xc3\xa9"), 7); // "node-" + 'k' + low byte of 'é'
    assert_eq!(custom.score("node", b"k\xff"), 7); // not UTF-8: raw bytes
}

#[test]
fn result_does_not_depend_on_node_order() {
    let names = ["a:1", "b:2", "c:3", "d:4", "e:5"];
    let forward = ring_of(&names);
    let mut reversed = names;
    reversed.reverse();
    let backward = ring_of(&reversed);
    for i in 0..200 {
        let key = format!("k{i}");
        assert_eq!(
            forward.get_node(key.as_bytes()),
            backward.get_node(key.as_bytes())
        );
    }
}
