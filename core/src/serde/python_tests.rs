//! Cross-checks against real Python: pickles and zlib streams written by
//! Python 3 read in memcrab, and memcrab's read in Python.
//!
//! Each test prints a notice and passes when `python3` is not installed.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};
use bytes::Bytes;
use serde_pickle::{HashableValue as H, Value as P};
use std::process::Command;

use super::{CompressedSerde, PickleProtocol, PickleSerde, Serde, Value, FLAG_COMPRESSED};

/// Run `script` with python3 and return its standard output lines, or `None`
/// when python3 cannot be started.
fn python(script: &str, args: &[String]) -> Option<Vec<String>> {
    let output = match Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
    {
        Ok(output) => output,
        Err(err) => {
            std::eprintln!("python3 not available ({err}); skipping the Python cross-check");
            return None;
        }
    };
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("python3 prints UTF-8");
    Some(stdout.lines().map(ToString::to_string).collect())
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex from python"))
        .collect()
}

/// The values Python pickles, by name, as memcrab reads them.
fn expected(name: &str) -> Value {
    match name {
        "dict_of_lists" => Value::Pickled(P::Dict(
            [
                (H::String("a".into()), P::List(vec![P::I64(1), P::I64(2)])),
                (H::String("b".into()), P::List(vec![P::String("x".into())])),
            ]
            .into_iter()
            .collect(),
        )),
        "str" => Value::Text("héllo".into()),
        "int" => Value::Int(42),
        "big_int" => Value::Int(i128::from(u64::MAX)),
        "huge_int" => Value::Int(i128::MIN),
        "bytes" => Value::Bytes(Bytes::from_static(b"\x00\xff")),
        "list" => Value::Pickled(P::List(vec![
            P::I64(1),
            P::String("two".into()),
            P::F64(3.5),
        ])),
        "float" => Value::Pickled(P::F64(1.25)),
        "none" => Value::Pickled(P::None),
        "bool" => Value::Pickled(P::Bool(true)),
        "tuple" => Value::Pickled(P::Tuple(vec![P::I64(1), P::None])),
        "set" => Value::Pickled(P::Set([H::I64(1), H::I64(2)].into_iter().collect())),
        other => panic!("unknown value {other}"),
    }
}

const PY_VALUES: &str = r#"{
    "dict_of_lists": {"a": [1, 2], "b": ["x"]},
    "str": "héllo", "int": 42, "big_int": 2**64 - 1, "huge_int": -2**127,
    "bytes": b"\x00\xff",
    "list": [1, "two", 3.5], "float": 1.25, "none": None, "bool": True,
    "tuple": (1, None), "set": {1, 2},
}"#;

#[test]
fn reads_pickles_python_wrote() {
    let script = format!(
        "import pickle\nfor proto in range(0, pickle.HIGHEST_PROTOCOL + 1):\n    \
         for name, value in {PY_VALUES}.items():\n        \
         print(proto, name, pickle.dumps(value, protocol=proto).hex())"
    );
    let Some(lines) = python(&script, &[]) else {
        return;
    };
    let serde = PickleSerde::new();
    let mut seen = 0;
    for line in &lines {
        let mut parts = line.split(' ');
        let (proto, name, data) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let value = serde.deserialize(b"k", Bytes::from(unhex(data)), 1);
        let value = value.unwrap_or_else(|err| panic!("protocol {proto} {name}: {err}"));
        assert_eq!(value, expected(name), "protocol {proto} {name}");
        seen += 1;
    }
    assert!(seen >= 6 * 12, "only {seen} pickles");
}

#[test]
fn python_reads_pickles_memcrab_wrote() {
    let values = [
        ("dict_of_lists", expected("dict_of_lists")),
        ("str", Value::Pickled(P::String("héllo".into()))),
        ("int", Value::Pickled(P::I64(42))),
        (
            "big_int",
            Value::Pickled(serde_pickle::to_value(&u64::MAX).unwrap()),
        ),
        (
            "huge_int",
            Value::Pickled(Value::Int(i128::MIN).into_pickle_value().unwrap()),
        ),
        ("bytes", Value::Pickled(P::Bytes(vec![0, 255]))),
        ("list", expected("list")),
        ("float", expected("float")),
        ("none", expected("none")),
        ("bool", expected("bool")),
        ("tuple", expected("tuple")),
        ("set", expected("set")),
    ];
    let mut args = Vec::new();
    for protocol in [PickleProtocol::V2, PickleProtocol::V3] {
        let serde = PickleSerde::new().with_protocol(protocol);
        for (name, value) in &values {
            let (data, flags) = serde.serialize(b"k", value).unwrap();
            assert_eq!(flags, 1);
            args.push(format!("{name}:{}", hex(&data)));
        }
    }
    let script = format!(
        "import pickle, sys\nvalues = {PY_VALUES}\nfor arg in sys.argv[1:]:\n    \
         name, data = arg.split(':')\n    data = bytes.fromhex(data)\n    \
         value = pickle.loads(data)\n    \
         print(name, data[1], value == values[name] and type(value) is type(values[name]))"
    );
    let Some(lines) = python(&script, &args) else {
        return;
    };
    assert_eq!(lines.len(), 2 * values.len());
    for (i, line) in lines.iter().enumerate() {
        let protocol = if i < values.len() { 2 } else { 3 };
        let name = values[i % values.len()].0;
        assert_eq!(line, &format!("{name} {protocol} True"));
    }
}

#[test]
fn zlib_streams_cross_over() {
    let serde = CompressedSerde::new(PickleSerde::new());
    let (data, flags) = serde
        .serialize(b"k", &Value::from("ab".repeat(500)))
        .unwrap();
    assert_eq!(flags, FLAG_COMPRESSED | 16);
    let script = "import sys, zlib\n\
                  print(zlib.decompress(bytes.fromhex(sys.argv[1])).decode())\n\
                  print(zlib.compress(('é' * 300).encode()).hex())";
    let Some(lines) = python(script, &[hex(&data)]) else {
        return;
    };
    assert_eq!(lines[0], "ab".repeat(500));
    let back = serde.deserialize(b"k", Bytes::from(unhex(&lines[1])), 8 | 16);
    assert_eq!(back, Ok(Value::Text("é".repeat(300))));
}
