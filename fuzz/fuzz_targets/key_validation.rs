//! Key validation: `validate_key` never panics and accepts exactly the keys
//! memcached can read as one token (non-empty, no byte <= 0x20, no 0x7f,
//! bytes >= 0x80 only when allowed, at most 250 bytes with the prefix);
//! `KeyPolicy::check` agrees; a meta request carries any non-empty key whose
//! wire form (base64 when needed) fits in 250 bytes.
#![no_main]

use arbitrary::Arbitrary;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use memcrab_core::meta::{MetaGet, MetaRequest};
use memcrab_core::{validate_key, KeyPolicy, Limits, MAX_KEY_LENGTH};

#[derive(Arbitrary, Debug)]
struct Input {
    key: Vec<u8>,
    prefix: Vec<u8>,
    allow_unicode: bool,
}

fn token_ok(bytes: &[u8], allow_unicode: bool) -> bool {
    bytes
        .iter()
        .all(|&b| b > 0x20 && b != 0x7f && (b < 0x80 || allow_unicode))
}

fuzz_target!(|input: Input| {
    let Input {
        key,
        prefix,
        allow_unicode,
    } = input;
    let full = [prefix.as_slice(), &key].concat();
    let result = validate_key(&key, &prefix, allow_unicode);
    let expected =
        !key.is_empty() && full.len() <= MAX_KEY_LENGTH && token_ok(&full, allow_unicode);
    assert_eq!(result.is_ok(), expected, "{result:?} for {full:?}");
    if result.is_ok() {
        assert!(!full.iter().any(|&b| b <= 0x20 || b == 0x7f));
        assert!(full.len() <= MAX_KEY_LENGTH);
    }
    // The error names the rule and is printable.
    if let Err(e) = &result {
        let _ = e.to_string();
    }

    let policy = KeyPolicy::new()
        .with_prefix(prefix.clone())
        .allow_unicode_keys(allow_unicode);
    assert_eq!(policy.check(&key), result);

    let meta = MetaRequest::Get(MetaGet::new(&key)).validate(&policy, &Limits::default());
    let meta_expected = !key.is_empty()
        && full.len() <= MAX_KEY_LENGTH
        && (expected || STANDARD.encode(&full).len() <= MAX_KEY_LENGTH);
    assert_eq!(meta.is_ok(), meta_expected, "meta {meta:?} for {full:?}");
});
