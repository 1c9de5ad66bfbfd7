//! What a `Client` promise resolves to, per command (pymemcache's results).

use js_sys::Map;
use memcrab_core::{Error, Reply};
use wasm_bindgen::JsValue;

use crate::reply;

/// How a command's reply becomes the value its promise resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `set`, `add`, …: true stored, false not stored.
    Store,
    /// `cas`: true stored, false changed meanwhile, null not found.
    Cas,
    /// `get`/`gets` of one key: the item or null.
    One,
    /// `getMany`/`getsMany`: a `Map` from key to item, hits only.
    Many,
    /// `delete`: true deleted, false not found.
    Delete,
    /// `touch`: true touched, false not found.
    Touch,
    /// `incr`/`decr`: the new value as a bigint, or null when not found.
    Arith,
    /// `stats`: an object of strings.
    Stats,
    /// `version`: a string.
    Version,
    /// `flush_all`: true.
    Ok,
    /// `shutdown`: undefined once the server closed the connection.
    Shutdown,
    /// A meta command: the meta reply object.
    Meta,
}

impl Shape {
    /// Returns the value for `reply`.
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
            (Shape::Many, Reply::Values(items)) => {
                let map = Map::new();
                for item in &items {
                    map.set(
                        &JsValue::from_str(&reply::text(&item.key)),
                        &reply::item(item),
                    );
                }
                map.into()
            }
            (Shape::Delete, Reply::Deleted) | (Shape::Touch, Reply::Touched) => true.into(),
            (Shape::Delete | Shape::Touch, Reply::NotFound) => false.into(),
            (Shape::Arith, Reply::Number(n)) => n.into(),
            (Shape::Stats, Reply::Stats(pairs)) => reply::stats(&pairs),
            (Shape::Version, Reply::Version(v)) => JsValue::from_str(&reply::text(&v)),
            (Shape::Ok, Reply::Ok) => true.into(),
            (Shape::Shutdown, _) => JsValue::UNDEFINED,
            (Shape::Meta, Reply::Meta(m)) => crate::meta::reply(&m),
            (_, other) => return Err(Error::UnexpectedReply(format!("{other:?}"))),
        })
    }

    /// Returns the value a noreply command resolves to at once: true for
    /// commands that report success, null for `incr`/`decr`.
    pub(crate) fn noreply_value(self) -> JsValue {
        match self {
            Shape::Arith => JsValue::NULL,
            Shape::Shutdown => JsValue::UNDEFINED,
            _ => true.into(),
        }
    }
}
