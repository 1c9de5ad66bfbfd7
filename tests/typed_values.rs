//! Typed values against a real memcached: every kind `set` takes reads back
//! as the type `get::<T>` names, counters read as numbers, the codecs
//! (`Json<T>`, `Pickle<T>`) write and check their flags, a value of the
//! wrong type or flags is an error naming the key, and `Duration` expiries
//! expire.

mod support;

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use memcrab::{Client, ErrorKind, Memcache, PickleSerde, SerdeError, StoreOptions, Value};
use support::MemcachedServer;

fn client(server: &MemcachedServer) -> Client {
    Client::builder(server.addr_string())
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
        .build()
        .unwrap()
}

#[test]
fn every_plain_kind_round_trips() {
    let server = MemcachedServer::start();
    let c = client(&server);

    c.set("bytes", b"\x00raw\r\n").unwrap();
    assert_eq!(
        c.get::<Vec<u8>>("bytes").unwrap(),
        Some(b"\x00raw\r\n".to_vec())
    );
    c.set("slice", &b"sl"[..]).unwrap();
    assert_eq!(
        c.get::<Bytes>("slice").unwrap(),
        Some(Bytes::from_static(b"sl"))
    );
    c.set("vec", vec![1u8, 2, 3]).unwrap();
    assert_eq!(c.get::<Vec<u8>>("vec").unwrap(), Some(vec![1, 2, 3]));
    c.set("bytes_type", Bytes::from_static(b"shared")).unwrap();
    assert_eq!(
        c.get::<Bytes>("bytes_type").unwrap(),
        Some(Bytes::from_static(b"shared"))
    );
    c.set("string", String::from("héllo ☃")).unwrap();
    let s: Option<String> = c.get("string").unwrap();
    assert_eq!(s.as_deref(), Some("héllo ☃"));
    c.set("str", "plain").unwrap();
    assert_eq!(c.get::<String>("str").unwrap().as_deref(), Some("plain"));
    // The raw API is still there.
    assert_eq!(
        c.get::<Value>("str").unwrap().unwrap().as_bytes(),
        Some(&b"plain"[..])
    );
    assert_eq!(c.get::<String>("missing").unwrap(), None);

    macro_rules! integers {
        ($($ty:ty => [$($n:expr),*]),* $(,)?) => {$($(
            let key = format!("int:{}:{}", stringify!($ty), $n);
            let n: $ty = $n;
            c.set(&key, n).unwrap();
            assert_eq!(c.get::<$ty>(&key).unwrap(), Some(n), "{key}");
            assert_eq!(server.raw_get(key.as_bytes()), Some(n.to_string().into_bytes()));
        )*)*};
    }
    integers!(
        u8 => [0, u8::MAX], u16 => [u16::MAX], u32 => [u32::MAX], u64 => [0, u64::MAX],
        u128 => [u128::from(u64::MAX)], usize => [usize::MAX],
        i8 => [i8::MIN, i8::MAX], i16 => [i16::MIN], i32 => [-1, i32::MAX],
        i64 => [i64::MIN, i64::MAX], i128 => [i128::MIN], isize => [isize::MIN],
    );

    // Typed many-key reads.
    c.set_many(&[("m:a", 1u32), ("m:b", 2)], StoreOptions::new())
        .unwrap();
    let many: HashMap<&str, u32> = c.get_many(&["m:a", "m:b", "m:none"]).unwrap();
    assert_eq!(many, HashMap::from([("m:a", 1), ("m:b", 2)]));
    let (n, token) = c.gets::<u32>("m:a").unwrap().unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        c.cas("m:a", 5u32, token, StoreOptions::new()).unwrap(),
        Some(true)
    );
    let with_cas: HashMap<&str, (u32, u64)> = c.gets_many(&["m:a"]).unwrap();
    assert_eq!(with_cas["m:a"].0, 5);
}

#[test]
fn counters_read_back_as_numbers_also_after_a_shrinking_decr() {
    let server = MemcachedServer::start();
    let c = client(&server);
    c.set("hits", 15_999u64).unwrap();
    assert_eq!(c.incr("hits", 1).unwrap(), Some(16_000));
    assert_eq!(c.get::<u64>("hits").unwrap(), Some(16_000));
    assert_eq!(c.get::<String>("hits").unwrap().as_deref(), Some("16000"));

    c.set("down", 1000u64).unwrap();
    assert_eq!(c.decr("down", 991).unwrap(), Some(9));
    // memcached keeps the length: "9" padded with spaces.
    assert_eq!(server.raw_get(b"down"), Some(b"9   ".to_vec()));
    assert_eq!(c.get::<u64>("down").unwrap(), Some(9));
    assert_eq!(c.get::<u8>("down").unwrap(), Some(9));

    c.set("max", u64::MAX).unwrap();
    assert_eq!(c.get::<u64>("max").unwrap(), Some(u64::MAX));
    assert_eq!(
        c.incr("max", 1).unwrap(),
        Some(0),
        "memcached wraps at 2^64"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_an_error_naming_the_key() {
    let server = MemcachedServer::start();
    let c = client(&server);
    c.set("user:name", "ada").unwrap();
    let err = c.get::<u64>("user:name").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Serde);
    assert_eq!(
        err.serde_error(),
        Some(&SerdeError::WrongType {
            key: "user:name".into(),
            expected: "an integer of type u64",
            found: "bytes that are not a decimal integer".into(),
        })
    );
    assert_eq!(
        err.to_string(),
        "value of key \"user:name\" is bytes that are not a decimal integer, \
         not an integer of type u64"
    );

    c.set("big", 300u32).unwrap();
    let err = c.get::<u8>("big").unwrap_err();
    assert!(
        matches!(err.serde_error(), Some(SerdeError::WrongType { key, .. }) if key == "big"),
        "{err:?}"
    );
    assert!(err.to_string().contains("300, out of range"), "{err}");

    c.set("neg", -5i32).unwrap();
    assert!(c.get::<u32>("neg").is_err());
    c.set("binary", &b"\xff\xfe"[..]).unwrap();
    let err = c.get::<String>("binary").unwrap_err();
    assert!(err.to_string().contains("\"binary\""), "{err}");
    assert!(err.to_string().contains("not UTF-8"), "{err}");

    // Through a PickleSerde client, an integer is an Int, not text.
    let pickled = Client::builder(server.addr_string())
        .serde(PickleSerde::new())
        .default_noreply(false)
        .build()
        .unwrap();
    pickled.set("p:int", 42i64).unwrap();
    assert_eq!(
        server.raw_item(b"p:int").unwrap().flags,
        2,
        "pymemcache's int flag"
    );
    assert_eq!(pickled.get::<i64>("p:int").unwrap(), Some(42));
    let err = pickled.get::<String>("p:int").unwrap_err();
    assert!(
        matches!(err.serde_error(), Some(SerdeError::WrongType { found, .. }) if found == "an integer"),
        "{err:?}"
    );
    pickled.set("p:str", "é").unwrap();
    assert_eq!(
        server.raw_item(b"p:str").unwrap().flags,
        16,
        "pymemcache's str flag"
    );
    assert_eq!(
        pickled.get::<String>("p:str").unwrap().as_deref(),
        Some("é")
    );
}

/// The codecs (feature `json`; `Pickle` also needs `pickle`).
#[cfg(feature = "json")]
mod codecs {
    use super::{client, MemcachedServer};
    use memcrab::{Json, Memcache, SerdeError, StoreOptions, FLAG_JSON};

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct User {
        name: String,
        langs: Vec<String>,
    }

    fn ada() -> User {
        User {
            name: "Ada".into(),
            langs: vec!["en".into(), "fr".into()],
        }
    }

    #[test]
    fn json_writes_and_checks_its_flag() {
        let server = MemcachedServer::start();
        let c = client(&server);
        c.set("user:1", Json(ada())).unwrap();
        let item = server.raw_item(b"user:1").unwrap();
        assert_eq!(item.flags, FLAG_JSON);
        assert_eq!(FLAG_JSON, 64);
        assert_eq!(
            item.value,
            br#"{"name":"Ada","langs":["en","fr"]}"#.to_vec()
        );
        let Json(back) = c.get::<Json<User>>("user:1").unwrap().unwrap();
        assert_eq!(back, ada());
        // JsonCommands is the same codec.
        use memcrab::JsonCommands;
        assert_eq!(c.get_json::<User>("user:1").unwrap(), Some(ada()));
        c.set_json("user:2", &ada(), StoreOptions::new()).unwrap();
        assert_eq!(server.raw_item(b"user:2").unwrap().flags, FLAG_JSON);

        // The same JSON without the flag was not written by the codec.
        server.raw_set(b"user:3", br#"{"name":"Bob","langs":[]}"#, 0);
        let err = c.get::<Json<User>>("user:3").unwrap_err();
        assert_eq!(
            err.serde_error(),
            Some(&SerdeError::WrongFlags {
                key: "user:3".into(),
                codec: "JSON",
                expected: FLAG_JSON,
                found: 0,
            })
        );
        assert_eq!(
            err.to_string(),
            "value of key \"user:3\" has flags 0, not JSON's flags 64"
        );
        let err = c.get_json::<User>("user:3").unwrap_err();
        assert!(err.to_string().contains("\"user:3\""), "{err}");
        // Flagged JSON of another shape is the codec's error, naming the key.
        server.raw_set(b"user:4", b"[1,2]", FLAG_JSON);
        let err = c.get::<Json<User>>("user:4").unwrap_err();
        assert!(
            matches!(err.serde_error(), Some(SerdeError::Codec { key, codec: "JSON", .. }) if key == "user:4"),
            "{err:?}"
        );
    }

    #[cfg(feature = "pickle")]
    #[test]
    fn pickle_writes_and_checks_its_flag() {
        use memcrab::core::serde::FLAG_PICKLE;
        use memcrab::{Client, Pickle, PickleSerde, Value};

        let server = MemcachedServer::start();
        let c = client(&server);
        c.set("py:user", Pickle(ada())).unwrap();
        let item = server.raw_item(b"py:user").unwrap();
        assert_eq!(item.flags, FLAG_PICKLE);
        assert_eq!(item.value[0], 0x80, "a pickle starts with PROTO");
        let Pickle(back) = c.get::<Pickle<User>>("py:user").unwrap().unwrap();
        assert_eq!(back, ada());
        // A PickleSerde client reads the same item as a Python value.
        let pickled = Client::builder(server.addr_string())
            .serde(PickleSerde::new())
            .build()
            .unwrap();
        let value = pickled.get::<Value>("py:user").unwrap().unwrap();
        assert_eq!(value.deserialize_into::<User>().unwrap(), ada());

        c.set("py:json", Json(ada())).unwrap();
        let err = c.get::<Pickle<User>>("py:json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "value of key \"py:json\" has flags 64, not pickle's flags 1"
        );
    }
}

#[test]
fn duration_and_system_time_expiries() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let soon = StoreOptions::new().expire(Duration::from_secs(1));
    c.set_with("short", "v", soon).unwrap();
    c.set_with("never", "v", StoreOptions::new().expire(Duration::ZERO))
        .unwrap();
    let past = SystemTime::now() - Duration::from_secs(60);
    c.set_with("past", "v", StoreOptions::new().expire(past))
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    c.set_with("later", "v", StoreOptions::new().expire(later))
        .unwrap();
    assert_eq!(c.get::<String>("past").unwrap(), None, "already expired");
    let ten = StoreOptions::new().expire(Duration::from_secs(10));
    c.set_with("ten", "v", ten).unwrap();
    // touch and gat take Durations too.
    c.set("touched", "v").unwrap();
    assert!(c.touch("touched", Duration::from_millis(500)).unwrap());
    assert_eq!(
        c.gat::<String>("later", Duration::from_secs(3600))
            .unwrap()
            .as_deref(),
        Some("v")
    );

    // memcached's clock ticks in whole seconds: gone after ~2 s.
    thread::sleep(Duration::from_millis(2100));
    assert_eq!(c.get::<String>("short").unwrap(), None, "expired after 1 s");
    assert_eq!(c.get::<String>("touched").unwrap(), None, "500 ms is 1 s");
    assert_eq!(c.get::<String>("never").unwrap().as_deref(), Some("v"));
    assert_eq!(c.get::<String>("ten").unwrap().as_deref(), Some("v"));
    assert_eq!(c.get::<String>("later").unwrap().as_deref(), Some("v"));

    // flush_all with a Duration delay (0: now).
    assert!(c.flush_all(Duration::ZERO).unwrap());
    assert_eq!(c.get::<String>("never").unwrap(), None);
}
