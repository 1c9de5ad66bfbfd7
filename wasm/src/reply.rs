//! Replies as plain JavaScript objects.
//!
//! Values are copied out of wasm memory into fresh `Uint8Array`s, so a
//! result stays valid whatever the module does next. Items carry no methods
//! (decode a value with `new TextDecoder().decode(item.value)`), so they can
//! be cloned, posted to a worker and stored.

use bytes::Bytes;
use js_sys::{Array, Object};
use memcrab_core::Item;
use wasm_bindgen::JsValue;

use crate::helpers;

/// Returns `bytes` decoded as UTF-8, invalid sequences replaced.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Returns a JS item: `{ key, value, flags, cas? }`, the cas token as a
/// decimal string.
pub(crate) fn item(item: &Item) -> JsValue {
    helpers::item(&text(&item.key), &item.value, item.flags, item.cas)
}

/// Returns `{ [key]: item }` for `items` (own data properties: a key such
/// as `__proto__` is a key like any other).
pub(crate) fn items_by_key(items: &[Item]) -> JsValue {
    let entries: Array = items
        .iter()
        .map(|i| {
            let pair = Array::new();
            pair.push(&JsValue::from_str(&text(&i.key)));
            pair.push(&item(i));
            JsValue::from(pair)
        })
        .collect();
    Object::from_entries(&entries)
        .map(JsValue::from)
        .unwrap_or_else(|_| Object::new().into())
}

/// Returns a stats reply's pairs as an object of strings.
pub(crate) fn stats(pairs: &[(Bytes, Bytes)]) -> JsValue {
    let entries: Array = pairs
        .iter()
        .map(|(name, value)| {
            let pair = Array::new();
            pair.push(&JsValue::from_str(&text(name)));
            pair.push(&JsValue::from_str(&text(value)));
            JsValue::from(pair)
        })
        .collect();
    Object::from_entries(&entries)
        .map(JsValue::from)
        .unwrap_or_else(|_| Object::new().into())
}
