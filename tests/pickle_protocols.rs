//! Pickles memcrab writes at each protocol it can write (pymemcache's
//! `pickle_version`), read by REAL pymemcache 4.0.0 from the same memcached;
//! the protocols it cannot write (0 and 1) are refused when the serde is
//! built.
//!
//! Needs the `pickle` feature (`cargo test --features pickle --test
//! pickle_protocols`); Python as in `tests/support/python.rs`.

#![cfg(feature = "pickle")]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use memcrab::core::serde::PickleProtocol;
use memcrab::{Client, Memcache, PickleSerde, SerdeError, Value};
use support::{python, MemcachedServer};

/// Reads keys with pymemcache's `pickle_serde`: one `key type ascii(value)`
/// line per key (dicts as their sorted items).
const PY_READ: &str = r#"
import sys
from pymemcache.client.base import Client
from pymemcache import serde

client = Client(("127.0.0.1", int(sys.argv[1])), serde=serde.pickle_serde, connect_timeout=5, timeout=5)
for key in sys.argv[2:]:
    value = client.get(key)
    canon = sorted(value.items()) if isinstance(value, dict) else value
    print(key, type(value).__name__, ascii(canon))
"#;

#[test]
fn pymemcache_reads_every_protocol_memcrab_writes() {
    let Some(python) = python::python_or_skip("pymemcache_reads_every_protocol_memcrab_writes")
    else {
        return;
    };
    let server = MemcachedServer::start();
    let mut map: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    map.insert("a", vec![1, 2, 3]);
    map.insert("c", vec![-1, 1 << 40]);
    let values = [
        ("dict", Value::from_serialize(&map).unwrap()),
        ("float", Value::from_serialize(&1.25f64).unwrap()),
        (
            "list",
            Value::from_serialize(&("x", 2u8, vec![true, false])).unwrap(),
        ),
        ("none", Value::from_serialize(&()).unwrap()),
    ];
    let mut keys = Vec::new();
    let mut want = String::new();
    for version in [2, 3, 4, 5, -1] {
        let serde = PickleSerde::new().with_pickle_version(version).unwrap();
        let number = serde.protocol().number();
        let client = Client::builder(server.addr_string())
            .serde(serde)
            .default_noreply(false)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        for (name, value) in &values {
            let key = format!("p{version}:{name}");
            assert!(client.set(&key, value.clone()).unwrap(), "{key}");
            let item = server.raw_item(key.as_bytes()).unwrap();
            assert_eq!(item.flags, 1, "{key}");
            assert_eq!(
                &item.value[..2],
                &[0x80, number],
                "{key}: protocol {number}"
            );
            // memcrab reads its own, too.
            assert_eq!(client.get(&key).unwrap().as_ref(), Some(value), "{key}");
            let line = match *name {
                "dict" => "dict [('a', [1, 2, 3]), ('c', [-1, 1099511627776])]",
                "float" => "float 1.25",
                "list" => "tuple ('x', 2, [True, False])",
                _ => "NoneType None",
            };
            want.push_str(&format!("{key} {line}\n"));
            keys.push(key);
        }
    }
    let port = server.port().to_string();
    let mut args = vec![port.as_str()];
    args.extend(keys.iter().map(String::as_str));
    assert_eq!(python::run(&python, PY_READ, &args), want);
}

#[test]
fn unwritable_protocols_are_refused_at_construction() {
    for version in [0, 1, 6, -2] {
        let err = PickleSerde::new().with_pickle_version(version).unwrap_err();
        assert_eq!(err, SerdeError::UnsupportedProtocol { protocol: version });
        assert_eq!(
            err.to_string(),
            format!(
                "pickle protocol {version} cannot be written: memcrab writes protocols 2 to 5 \
                 (and reads 0 to 5)"
            )
        );
        assert!(PickleProtocol::try_from(version).is_err());
    }
}
