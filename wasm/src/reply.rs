//! Replies as plain JavaScript objects.
//!
//! Values are copied out of wasm memory into fresh `Uint8Array`s, so a reply
//! stays valid whatever the module does next. Every item carries a `text()`
//! method that decodes its value as UTF-8 (invalid bytes become U+FFFD): it
//! is `TextDecoder.prototype.decode` bound to one shared decoder and the
//! item's value, so no JS source is evaluated (edge runtimes forbid `eval`)
//! and no closure is kept per item.

use bytes::Bytes;
use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use memcrab_core::{Error, Item, Reply, RequestId};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{core_error, set};

thread_local! {
    /// `TextDecoder.prototype.decode` and the decoder it is bound to.
    static DECODE: Option<(web_sys::TextDecoder, Function)> = web_sys::TextDecoder::new()
        .ok()
        .and_then(|decoder| {
            let decode = Reflect::get(&decoder, &JsValue::from_str("decode")).ok()?;
            Some((decoder, decode.dyn_into().ok()?))
        });
}

/// Returns `bytes` decoded as UTF-8, invalid sequences replaced.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Returns a JS item: `{ key, flags, value, cas?, text() }`.
pub(crate) fn item(item: &Item) -> JsValue {
    let object: JsValue = Object::new().into();
    let value = Uint8Array::from(&item.value[..]);
    set(&object, "key", &JsValue::from_str(&text(&item.key)));
    set(&object, "flags", &JsValue::from(item.flags));
    set(&object, "value", &value);
    if let Some(cas) = item.cas {
        set(&object, "cas", &JsValue::from(cas));
    }
    text_method(&object, &value);
    object
}

/// Sets `object.text()` to decode `value` as UTF-8.
pub(crate) fn text_method(object: &JsValue, value: &Uint8Array) {
    DECODE.with(|decode| {
        if let Some((decoder, decode)) = decode {
            set(object, "text", &decode.bind1(decoder, value));
        }
    });
}

/// Returns the JS array of `items`.
pub(crate) fn items(items: &[Item]) -> Array {
    items.iter().map(item).collect()
}

/// Returns a stats reply's pairs as an object of strings.
pub(crate) fn stats(pairs: &[(Bytes, Bytes)]) -> JsValue {
    let object: JsValue = Object::new().into();
    for (name, value) in pairs {
        set(&object, &text(name), &JsValue::from_str(&text(value)));
    }
    object
}

/// Returns the reply object `{ id, type, … }` the `Protocol` hands out.
pub(crate) fn reply(id: RequestId, result: &Result<Reply, Error>) -> JsValue {
    let object: JsValue = Object::new().into();
    set(&object, "id", &JsValue::from_f64(id.0 as f64));
    let kind = |name: &str| set(&object, "type", &JsValue::from_str(name));
    match result {
        Ok(Reply::Stored) => kind("stored"),
        Ok(Reply::NotStored) => kind("notStored"),
        Ok(Reply::Exists) => kind("exists"),
        Ok(Reply::NotFound) => kind("notFound"),
        Ok(Reply::Deleted) => kind("deleted"),
        Ok(Reply::Touched) => kind("touched"),
        Ok(Reply::Ok) => kind("ok"),
        Ok(Reply::Number(n)) => {
            kind("number");
            set(&object, "value", &JsValue::from(*n));
        }
        Ok(Reply::Values(found)) => {
            kind("values");
            set(&object, "items", &items(found));
        }
        Ok(Reply::Stats(pairs)) => {
            kind("stats");
            set(&object, "stats", &stats(pairs));
        }
        Ok(Reply::Version(v)) => {
            kind("version");
            set(&object, "version", &JsValue::from_str(&text(v)));
        }
        Ok(Reply::Raw(bytes)) => {
            kind("raw");
            set(&object, "value", &Uint8Array::from(&bytes[..]));
        }
        Ok(Reply::Closed) => kind("closed"),
        Ok(Reply::Meta(m)) => {
            kind("meta");
            set(&object, "meta", &crate::meta::reply(m));
        }
        Ok(other) => {
            kind("error");
            let e = Error::UnexpectedReply(format!("{other:?}"));
            set(&object, "error", &core_error(&e, None));
        }
        Err(e) => {
            kind("error");
            set(&object, "error", &core_error(e, None));
        }
    }
    object
}
