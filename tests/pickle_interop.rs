//! Values shared with Python: REAL pymemcache 4.0.0 (from PyPI) and memcrab
//! against the same memcached, each reading what the other wrote through
//! `pickle_serde` / `PickleSerde` and `compressed_serde` / `CompressedSerde`.
//!
//! Python is found through `MEMCRAB_PYTHON` or `target/pyvenv` (see
//! `tests/support/python.rs`); without it these tests print a skip notice,
//! unless `MEMCRAB_REQUIRE_PYTHON=1`.
//!
//! The dict-of-lists cases need the `pickle` feature
//! (`cargo test --features pickle --test pickle_interop`).

mod support;

use std::path::Path;
use std::time::Duration;

use memcrab::{Client, CompressedSerde, Memcache, PickleSerde, Value};
use support::{python, MemcachedServer};

/// Writes values with pymemcache. argv: port, then which set of values
/// (`scalars` or `dict`); the values are fixed here and in the Rust
/// expectations below.
const PY_WRITE: &str = r#"
import sys
from pymemcache.client.base import Client
from pymemcache import serde

port = int(sys.argv[1])
what = sys.argv[2]
plain = Client(("127.0.0.1", port), serde=serde.pickle_serde, connect_timeout=5, timeout=5)
zipped = Client(("127.0.0.1", port), serde=serde.compressed_serde, connect_timeout=5, timeout=5)
if what == "scalars":
    values = {
        "py:bytes": b"\x00\x01raw\r\nEND\r\n\xff",
        "py:str": "h\u00e9llo w\u00f6rld \u2603",
        "py:int": 12345678901234,
        "py:neg": -42,
        "py:u64max": 2**64 - 1,
    }
    for k, v in values.items():
        assert plain.set(k, v, noreply=False), k
    assert zipped.set("py:zstr", "memcrab \u2603 " * 200, noreply=False)
elif what == "dict":
    value = {"a": [1, 2, 3], "b": [], "c": [-1, 2**40]}
    assert plain.set("py:dict", value, noreply=False)
else:
    raise SystemExit("unknown " + what)
print("written")
"#;

/// Reads keys with pymemcache and prints one canonical line per key:
/// `key type ascii(value)` (dicts as their sorted items; misses as None).
/// Keys starting with `z` are read with `compressed_serde`.
const PY_READ: &str = r#"
import sys
from pymemcache.client.base import Client
from pymemcache import serde

port = int(sys.argv[1])
plain = Client(("127.0.0.1", port), serde=serde.pickle_serde, connect_timeout=5, timeout=5)
zipped = Client(("127.0.0.1", port), serde=serde.compressed_serde, connect_timeout=5, timeout=5)
for key in sys.argv[2:]:
    client = zipped if key.split(":", 1)[1].startswith("z") else plain
    value = client.get(key)
    canon = sorted(value.items()) if isinstance(value, dict) else value
    print(key, type(value).__name__, ascii(canon))
"#;

fn pickle_client(server: &MemcachedServer) -> Client {
    Client::builder(server.addr_string())
        .serde(PickleSerde::new())
        .default_noreply(false)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn compressed_client(server: &MemcachedServer) -> Client {
    Client::builder(server.addr_string())
        .serde(CompressedSerde::new(PickleSerde::new()))
        .default_noreply(false)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn py_write(python: &Path, server: &MemcachedServer, what: &str) {
    let out = python::run(python, PY_WRITE, &[&server.port().to_string(), what]);
    assert_eq!(out, "written\n");
}

fn py_read(python: &Path, server: &MemcachedServer, keys: &[&str]) -> String {
    let port = server.port().to_string();
    let mut args = vec![port.as_str()];
    args.extend_from_slice(keys);
    python::run(python, PY_READ, &args)
}

const PY_STR: &str = "héllo wörld ☃";
const PY_BYTES: &[u8] = b"\x00\x01raw\r\nEND\r\n\xff";

fn long_text() -> String {
    "memcrab ☃ ".repeat(200)
}

fn flags_of(server: &MemcachedServer, key: &str) -> u32 {
    server
        .raw_item(key.as_bytes())
        .unwrap_or_else(|| panic!("{key} is not on the server"))
        .flags
}

// ---------------------------------------------------------------------------
// Python writes, memcrab reads
// ---------------------------------------------------------------------------

#[test]
fn pymemcache_scalars_read_by_memcrab() {
    let Some(python) = python::python_or_skip("pymemcache_scalars_read_by_memcrab") else {
        return;
    };
    let server = MemcachedServer::start();
    py_write(&python, &server, "scalars");

    // The flags pymemcache chose, as the server holds them.
    assert_eq!(flags_of(&server, "py:bytes"), 0);
    assert_eq!(flags_of(&server, "py:str"), 16);
    assert_eq!(flags_of(&server, "py:int"), 2);
    assert_eq!(flags_of(&server, "py:u64max"), 2);
    assert_eq!(flags_of(&server, "py:zstr"), 16 | 8);

    let c = pickle_client(&server);
    assert_eq!(c.get("py:bytes").unwrap(), Some(Value::from(PY_BYTES)));
    assert_eq!(c.get("py:str").unwrap(), Some(Value::Text(PY_STR.into())));
    assert_eq!(c.get("py:int").unwrap(), Some(Value::Int(12345678901234)));
    assert_eq!(c.get("py:neg").unwrap(), Some(Value::Int(-42)));
    assert_eq!(
        c.get("py:u64max").unwrap(),
        Some(Value::Int(i128::from(u64::MAX)))
    );
    let many = c
        .get_many::<Value, _>(&["py:bytes", "py:str", "py:int", "py:missing"])
        .unwrap();
    assert_eq!(many.len(), 3);
    assert_eq!(many["py:str"], Value::Text(PY_STR.into()));

    // compressed_serde: zlib over the pickle serde.
    let z = compressed_client(&server);
    let stored = server.raw_get(b"py:zstr").unwrap();
    assert!(stored.starts_with(b"x\x9c"), "a zlib stream: {stored:?}");
    assert!(stored.len() < 200, "compressed to {} bytes", stored.len());
    assert_eq!(z.get("py:zstr").unwrap(), Some(Value::Text(long_text())));
    // The compressing serde reads uncompressed values too.
    assert_eq!(z.get("py:str").unwrap(), Some(Value::Text(PY_STR.into())));

    // An integer pymemcache stored is a memcached counter for memcrab, and
    // Python reads the result back as an int.
    assert_eq!(c.incr("py:int", 1).unwrap(), Some(12345678901235));
    assert_eq!(
        py_read(&python, &server, &["py:int"]),
        "py:int int 12345678901235\n"
    );
}

#[cfg(feature = "pickle")]
#[test]
fn pymemcache_dict_of_lists_read_by_memcrab() {
    use std::collections::BTreeMap;

    let Some(python) = python::python_or_skip("pymemcache_dict_of_lists_read_by_memcrab") else {
        return;
    };
    let server = MemcachedServer::start();
    py_write(&python, &server, "dict");
    assert_eq!(flags_of(&server, "py:dict"), 1);
    let stored = server.raw_get(b"py:dict").unwrap();
    assert!(
        stored.starts_with(b"\x80\x05"),
        "pymemcache pickles with Python's highest protocol (5): {stored:?}"
    );

    let c = pickle_client(&server);
    let value = c.get("py:dict").unwrap().unwrap();
    assert!(matches!(value, Value::Pickled(_)), "{value:?}");
    let map: BTreeMap<String, Vec<i64>> = value.deserialize_into().unwrap();
    let want: BTreeMap<String, Vec<i64>> = [
        ("a".to_owned(), vec![1, 2, 3]),
        ("b".to_owned(), vec![]),
        ("c".to_owned(), vec![-1, 1 << 40]),
    ]
    .into();
    assert_eq!(map, want);
}

#[cfg(not(feature = "pickle"))]
#[test]
fn pymemcache_pickle_is_kept_raw_without_the_pickle_feature() {
    let Some(python) = python::python_or_skip("pymemcache_pickle_is_kept_raw") else {
        return;
    };
    let server = MemcachedServer::start();
    py_write(&python, &server, "dict");
    let stored = server.raw_get(b"py:dict").unwrap();
    let c = pickle_client(&server);
    assert_eq!(
        c.get("py:dict").unwrap(),
        Some(Value::Pickle(stored.into()))
    );
}

// ---------------------------------------------------------------------------
// memcrab writes, Python reads
// ---------------------------------------------------------------------------

#[test]
fn memcrab_scalars_read_by_pymemcache() {
    let Some(python) = python::python_or_skip("memcrab_scalars_read_by_pymemcache") else {
        return;
    };
    let server = MemcachedServer::start();
    let c = pickle_client(&server);
    assert!(c.set("rs:bytes", PY_BYTES).unwrap());
    assert!(c.set("rs:str", PY_STR).unwrap());
    assert!(c.set("rs:int", 12345678901234i64).unwrap());
    assert!(c.set("rs:neg", -42).unwrap());
    assert!(c.set("rs:u64max", u64::MAX).unwrap());
    let z = compressed_client(&server);
    assert!(z.set("rs:zstr", long_text()).unwrap());
    // Small values are not compressed (pymemcache's 400-byte threshold).
    assert!(z.set("rs:zshort", "short").unwrap());

    assert_eq!(flags_of(&server, "rs:bytes"), 0);
    assert_eq!(flags_of(&server, "rs:str"), 16);
    assert_eq!(flags_of(&server, "rs:int"), 2);
    assert_eq!(flags_of(&server, "rs:zstr"), 16 | 8);
    assert_eq!(flags_of(&server, "rs:zshort"), 16);
    assert_eq!(server.raw_get(b"rs:int"), Some(b"12345678901234".to_vec()));

    let out = py_read(
        &python,
        &server,
        &[
            "rs:bytes",
            "rs:str",
            "rs:int",
            "rs:neg",
            "rs:u64max",
            "rs:zstr",
            "rs:zshort",
            "rs:missing",
        ],
    );
    let want = format!(
        "rs:bytes bytes b'\\x00\\x01raw\\r\\nEND\\r\\n\\xff'\n\
         rs:str str 'h\\xe9llo w\\xf6rld \\u2603'\n\
         rs:int int 12345678901234\n\
         rs:neg int -42\n\
         rs:u64max int 18446744073709551615\n\
         rs:zstr str '{}'\n\
         rs:zshort str 'short'\n\
         rs:missing NoneType None\n",
        "memcrab \\u2603 ".repeat(200)
    );
    assert_eq!(out, want);
}

#[cfg(feature = "pickle")]
#[test]
fn memcrab_dict_of_lists_read_by_pymemcache() {
    use memcrab::core::serde::PickleProtocol;
    use std::collections::BTreeMap;

    let Some(python) = python::python_or_skip("memcrab_dict_of_lists_read_by_pymemcache") else {
        return;
    };
    let server = MemcachedServer::start();
    let mut map: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    map.insert("a", vec![1, 2, 3]);
    map.insert("b", vec![]);
    map.insert("c", vec![-1, 1 << 40]);
    let value = Value::from_serialize(&map).unwrap();

    let c = pickle_client(&server);
    assert!(c.set("rs:dict", value.clone()).unwrap());
    assert_eq!(flags_of(&server, "rs:dict"), 1);
    // Protocol 2 as well (what Python 2 reads).
    let v2 = Client::builder(server.addr_string())
        .serde(PickleSerde::new().with_protocol(PickleProtocol::V2))
        .default_noreply(false)
        .build()
        .unwrap();
    assert!(v2.set("rs:dict2", value.clone()).unwrap());
    assert!(server
        .raw_get(b"rs:dict2")
        .unwrap()
        .starts_with(b"\x80\x02"));
    // And compressed (a dict big enough to pass the threshold).
    let big: BTreeMap<String, Vec<i64>> = (0..50)
        .map(|i| (format!("key{i:02}"), (0..i).collect()))
        .collect();
    let z = compressed_client(&server);
    assert!(z
        .set("rs:zdict", Value::from_serialize(&big).unwrap())
        .unwrap());
    assert_eq!(flags_of(&server, "rs:zdict"), 1 | 8);

    let out = py_read(&python, &server, &["rs:dict", "rs:dict2"]);
    let line = "dict [('a', [1, 2, 3]), ('b', []), ('c', [-1, 1099511627776])]";
    assert_eq!(out, format!("rs:dict {line}\nrs:dict2 {line}\n"));

    let out = py_read(&python, &server, &["rs:zdict"]);
    let items: Vec<String> = big
        .iter()
        .map(|(k, v)| {
            let list: Vec<String> = v.iter().map(i64::to_string).collect();
            format!("('{k}', [{}])", list.join(", "))
        })
        .collect();
    assert_eq!(out, format!("rs:zdict dict [{}]\n", items.join(", ")));
}

#[cfg(not(feature = "pickle"))]
#[test]
fn memcrab_raw_pickle_read_by_pymemcache() {
    let Some(python) = python::python_or_skip("memcrab_raw_pickle_read_by_pymemcache") else {
        return;
    };
    let server = MemcachedServer::start();
    let c = pickle_client(&server);
    // pickle.dumps([1, 2], protocol=2)
    let pickle = &b"\x80\x02]q\x00(K\x01K\x02e."[..];
    assert!(c.set("rs:list", Value::Pickle(pickle.into())).unwrap());
    assert_eq!(flags_of(&server, "rs:list"), 1);
    assert_eq!(
        py_read(&python, &server, &["rs:list"]),
        "rs:list list [1, 2]\n"
    );
}
