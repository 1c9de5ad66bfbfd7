//! What a command's result becomes in JavaScript, the same for `Protocol`
//! completions and `Client` promises.
//!
//! The core decides what a reply means ([`Meaning::outcome`], pymemcache's
//! results); this module only writes that [`Outcome`] as a JS value. Every
//! result is plain data: booleans, `null`, numbers, strings, `Uint8Array`s
//! and plain objects of those, so it goes through `structuredClone`,
//! `postMessage` and (but for the bytes) `JSON.stringify`.

use memcrab_core::command::{Meaning, Outcome};
use memcrab_core::{Error, Reply};
use wasm_bindgen::JsValue;

use crate::reply;

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// How the JS method presents its command's [`Outcome`], where one outcome
/// has several JS forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// As the outcome says (booleans, numbers, stats, …).
    Plain,
    /// `get`/`gets` of one key: the item or null.
    One,
    /// `getMany`/`getsMany`: an object from key to item, hits only.
    Many,
    /// `metaGet`: a quiet miss is `{ status: "miss" }`.
    MetaGet,
}

impl Shape {
    /// Returns the JS result of a request with `meaning` whose reply is
    /// `reply` (`None`: it awaited none and is past).
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] for a reply that does not answer the
    /// command.
    pub(crate) fn result(self, meaning: Meaning, reply: Option<Reply>) -> Result<JsValue, Error> {
        Ok(self.value(meaning.outcome(reply)?))
    }

    /// Returns `outcome` as a JS value.
    pub(crate) fn value(self, outcome: Outcome) -> JsValue {
        match outcome {
            Outcome::Bool(b) | Outcome::Cas(Some(b)) => b.into(),
            Outcome::Cas(None) | Outcome::Number(None) => JsValue::NULL,
            Outcome::Items(items) => match self {
                Shape::One => items.first().map(reply::item).unwrap_or(JsValue::NULL),
                _ => reply::items_by_key(&items),
            },
            Outcome::Number(Some(n)) => number(n),
            Outcome::Stats(pairs) => reply::stats(&pairs),
            Outcome::Version(v) => JsValue::from_str(&reply::text(&v)),
            Outcome::Raw(b) => js_sys::Uint8Array::from(&b[..]).into(),
            Outcome::Meta(Some(m)) => crate::meta::reply(&m),
            Outcome::Meta(None) => crate::meta::silent_reply(self == Shape::MetaGet),
            _ => JsValue::UNDEFINED,
        }
    }
}

/// Returns `n` as a number when it is exact, else as a bigint.
fn number(n: u64) -> JsValue {
    if n <= MAX_SAFE_INTEGER {
        JsValue::from_f64(n as f64)
    } else {
        JsValue::from(n)
    }
}
