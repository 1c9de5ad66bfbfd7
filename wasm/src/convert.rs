//! JavaScript arguments into Rust values: keys, values, numbers, options.

use js_sys::{ArrayBuffer, Reflect, Uint8Array};
use memcrab_core::Millis;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{bad_argument as type_error, unknown_option};

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Returns the bytes of a key or value: a string's UTF-8 bytes, or a copy of
/// a `Uint8Array`'s (or `ArrayBuffer`'s) bytes.
pub(crate) fn bytes(value: &JsValue, what: &str) -> Result<Vec<u8>, JsValue> {
    if let Some(s) = value.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        return Ok(array.to_vec());
    }
    if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        return Ok(Uint8Array::new(buffer).to_vec());
    }
    Err(type_error(&format!(
        "{what} must be a string or a Uint8Array, not {}",
        type_of(value)
    )))
}

/// Returns the bytes of every key of an array of keys.
pub(crate) fn keys(value: &JsValue) -> Result<Vec<Vec<u8>>, JsValue> {
    if !js_sys::Array::is_array(value) {
        return Err(type_error(&format!(
            "keys must be an array of strings or Uint8Arrays, not {}",
            type_of(value)
        )));
    }
    js_sys::Array::from(value)
        .iter()
        .map(|k| bytes(&k, "each key"))
        .collect()
}

/// Returns an unsigned 64-bit integer from a non-negative integer number, a
/// bigint, or a decimal string (how cas tokens come back).
pub(crate) fn u64_arg(value: &JsValue, what: &str) -> Result<u64, JsValue> {
    if value.is_bigint() {
        return u64::try_from(value.clone())
            .map_err(|_| type_error(&format!("{what} must fit in 64 bits unsigned")));
    }
    if let Some(s) = value.as_string() {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = s.parse::<u64>() {
                return Ok(n);
            }
        }
        return Err(type_error(&format!(
            "{what} must be a decimal string of an unsigned 64-bit integer, not {s:?}"
        )));
    }
    match value.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE_INTEGER => Ok(n as u64),
        Some(_) => Err(type_error(&format!(
            "{what} must be a non-negative integer (use a bigint or a string above 2^53)"
        ))),
        None => Err(type_error(&format!(
            "{what} must be a number, a bigint or a decimal string, not {}",
            type_of(value)
        ))),
    }
}

/// Returns a signed integer from an integer number, or `default` when the
/// value is `undefined` or `null`.
pub(crate) fn i64_or(value: &JsValue, what: &str, default: i64) -> Result<i64, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(default);
    }
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER => Ok(n as i64),
        _ => Err(type_error(&format!(
            "{what} must be an integer number, not {}",
            type_of(value)
        ))),
    }
}

/// Returns a time in milliseconds (a number, as `performance.now()` and
/// `Date.now()` give), or `None` for `undefined` or `null`.
pub(crate) fn millis(value: &JsValue, what: &str) -> Result<Option<Millis>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if n.is_finite() => Ok(Some(Millis(n.max(0.0).ceil() as u64))),
        _ => Err(type_error(&format!(
            "{what} must be a number of milliseconds, not {}",
            type_of(value)
        ))),
    }
}

/// Returns `options[name]`, or `undefined` when `options` is not an object.
pub(crate) fn field(options: &JsValue, name: &str) -> JsValue {
    if !options.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Returns `options[name]` as a boolean, or `default` when it is absent.
pub(crate) fn bool_field(options: &JsValue, name: &str, default: bool) -> Result<bool, JsValue> {
    let value = field(options, name);
    if value.is_undefined() || value.is_null() {
        return Ok(default);
    }
    value
        .as_bool()
        .ok_or_else(|| type_error(&format!("option {name} must be a boolean")))
}

/// Checks that `options` is an object, `undefined` or `null`, and that
/// every name in it is one of `known` (a misspelt option is an error, not
/// silently ignored); `what` names the call in the message.
pub(crate) fn check_options(options: &JsValue, known: &[&str], what: &str) -> Result<(), JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(());
    }
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(type_error(&format!(
            "options of {what} must be an object, not {}",
            type_of(options)
        )));
    }
    for name in js_sys::Object::keys(options.unchecked_ref()).iter() {
        let name = name.as_string().unwrap_or_default();
        if !known.contains(&name.as_str()) {
            return Err(unknown_option(&format!(
                "unknown option {name:?} for {what} (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Names a JS value's type for a message (`typeof`, with `null` and arrays
/// told apart).
fn type_of(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else if js_sys::Array::is_array(value) {
        "an array".into()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

/// Returns a finite non-negative number of milliseconds, or `None` for
/// `undefined` or `null`.
pub(crate) fn millis_f64(value: &JsValue, what: &str) -> Result<Option<f64>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
        _ => Err(type_error(&format!(
            "{what} must be a non-negative number of milliseconds, not {}",
            type_of(value)
        ))),
    }
}
