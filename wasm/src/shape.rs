//! What a command's reply becomes, per command (pymemcache's results), the
//! same for `Protocol` completions and `Client` promises.
//!
//! Every result is plain data: booleans, `null`, numbers, strings,
//! `Uint8Array`s and plain objects of those, so it goes through
//! `structuredClone`, `postMessage` and (but for the bytes) `JSON.stringify`.

use memcrab_core::{Error, Reply};
use wasm_bindgen::JsValue;

use crate::reply;

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// How a command's reply becomes its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `set`, `add`, …: true stored, false not stored.
    Store,
    /// `cas`: true stored, false changed meanwhile, null not found.
    Cas,
    /// `get`/`gets` of one key: the item or null.
    One,
    /// `getMany`/`getsMany`: an object from key to item, hits only.
    Many,
    /// `delete`: true deleted, false not found.
    Delete,
    /// `touch`: true touched, false not found.
    Touch,
    /// `incr`/`decr`: the new value (a number; a bigint above 2^53-1), or
    /// null when not found.
    Arith,
    /// `stats`: an object of strings.
    Stats,
    /// `version`: a string.
    Version,
    /// `flushAll`: true.
    Ok,
    /// `quit`, `shutdown`: undefined once sent (or once the server closed).
    Nothing,
    /// A meta command: the meta reply object.
    Meta,
}

impl Shape {
    /// Returns the result for `reply`.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] for a reply that does not answer the
    /// command.
    pub(crate) fn value(self, reply: Reply) -> Result<JsValue, Error> {
        Ok(match (self, reply) {
            (Shape::Store | Shape::Cas, Reply::Stored) => true.into(),
            (Shape::Store, Reply::NotStored) | (Shape::Cas, Reply::Exists) => false.into(),
            (Shape::Cas | Shape::Arith, Reply::NotFound) => JsValue::NULL,
            (Shape::One, Reply::Values(items)) => {
                items.first().map(reply::item).unwrap_or(JsValue::NULL)
            }
            (Shape::Many, Reply::Values(items)) => reply::items_by_key(&items),
            (Shape::Delete, Reply::Deleted) | (Shape::Touch, Reply::Touched) => true.into(),
            (Shape::Delete | Shape::Touch, Reply::NotFound) => false.into(),
            (Shape::Arith, Reply::Number(n)) => number(n),
            (Shape::Stats, Reply::Stats(pairs)) => reply::stats(&pairs),
            (Shape::Version, Reply::Version(v)) => JsValue::from_str(&reply::text(&v)),
            (Shape::Ok, Reply::Ok) => true.into(),
            (Shape::Nothing, _) => JsValue::UNDEFINED,
            (Shape::Meta, Reply::Meta(m)) => crate::meta::reply(&m),
            (_, other) => return Err(Error::UnexpectedReply(format!("{other:?}"))),
        })
    }

    /// Returns the result of a command that awaited no reply (noreply):
    /// true for commands that report success, null for `incr`/`decr`
    /// (the new value is unknown), undefined for `quit`.
    pub(crate) fn noreply_value(self) -> JsValue {
        match self {
            Shape::Arith => JsValue::NULL,
            Shape::Nothing => JsValue::UNDEFINED,
            _ => true.into(),
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
