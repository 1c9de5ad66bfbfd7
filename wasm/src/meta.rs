//! memcached's meta commands (`mg`, `ms`, `md`, `ma`, `mn`, `me`) from
//! JavaScript options, and their replies as plain objects.

use bytes::Bytes;
use js_sys::{Object, Uint8Array};
use memcrab_core::command::OwnedRequest;
use memcrab_core::meta::{
    ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaReply, MetaRequest, MetaSet, MetaStatus,
    SetMode,
};
use wasm_bindgen::JsValue;

use crate::convert::{self, bool_field, field};
use crate::error::bad_argument as type_error;
use crate::helpers::set;

/// The meta commands as the core's [`OwnedRequest::Meta`]: the request's
/// flags with an empty key, the key and value held beside it.
pub(crate) struct MetaCommand;

/// Returns the owned form of a meta request with `key` and `value`.
fn owned(request: MetaRequest<'static>, key: Vec<u8>, value: Vec<u8>) -> OwnedRequest {
    OwnedRequest::Meta {
        request,
        key: Bytes::from(key),
        value: Bytes::from(value),
    }
}

impl MetaCommand {
    /// `mg` from `{ returnValue (default true), returnCas, returnFlags,
    /// returnHit, returnKey, returnLastAccess, returnSize, returnTtl, noBump,
    /// quiet, vivify, recache, touch }`.
    pub(crate) fn get(key: &JsValue, o: &JsValue) -> Result<OwnedRequest, JsValue> {
        let mut g = MetaGet::new(b"");
        g.return_value = bool_field(o, "returnValue", true)?;
        g.return_cas = bool_field(o, "returnCas", false)?;
        g.return_flags = bool_field(o, "returnFlags", false)?;
        g.return_hit = bool_field(o, "returnHit", false)?;
        g.return_key = bool_field(o, "returnKey", false)?;
        g.return_last_access = bool_field(o, "returnLastAccess", false)?;
        g.return_size = bool_field(o, "returnSize", false)?;
        g.return_ttl = bool_field(o, "returnTtl", false)?;
        g.no_bump = bool_field(o, "noBump", false)?;
        g.quiet = bool_field(o, "quiet", false)?;
        g.vivify = seconds(o, "vivify")?;
        g.recache = seconds(o, "recache")?;
        g.touch = seconds(o, "touch")?;
        Ok(owned(
            MetaRequest::Get(g),
            convert::bytes(key, "key")?,
            Vec::new(),
        ))
    }

    /// `ms` from `{ mode, flags, ttl, compareCas, invalidate, returnCas,
    /// returnKey, quiet }`.
    pub(crate) fn set(
        key: &JsValue,
        value: &JsValue,
        o: &JsValue,
    ) -> Result<OwnedRequest, JsValue> {
        let mut s = MetaSet::new(b"", b"");
        s.mode = match field(o, "mode").as_string().as_deref() {
            None | Some("set") => SetMode::Set,
            Some("add") => SetMode::Add,
            Some("replace") => SetMode::Replace,
            Some("append") => SetMode::Append,
            Some("prepend") => SetMode::Prepend,
            Some(other) => {
                return Err(type_error(&format!(
                    "unknown mode {other:?}: use \"set\", \"add\", \"replace\", \"append\" or \"prepend\""
                )))
            }
        };
        let flags = field(o, "flags");
        if !flags.is_undefined() && !flags.is_null() {
            s.client_flags = u32::try_from(convert::u64_arg(&flags, "option flags")?)
                .map_err(|_| type_error("option flags must be below 2^32"))?;
        }
        s.ttl = seconds(o, "ttl")?;
        s.compare_cas = unsigned(o, "compareCas")?;
        s.invalidate = bool_field(o, "invalidate", false)?;
        s.return_cas = bool_field(o, "returnCas", false)?;
        s.return_key = bool_field(o, "returnKey", false)?;
        s.quiet = bool_field(o, "quiet", false)?;
        let key = convert::bytes(key, "key")?;
        Ok(owned(
            MetaRequest::Set(s),
            key,
            convert::bytes(value, "value")?,
        ))
    }

    /// `md` from `{ compareCas, invalidate, ttl, returnKey, quiet }`.
    pub(crate) fn delete(key: &JsValue, o: &JsValue) -> Result<OwnedRequest, JsValue> {
        let mut d = MetaDelete::new(b"");
        d.compare_cas = unsigned(o, "compareCas")?;
        d.invalidate = bool_field(o, "invalidate", false)?;
        d.ttl = seconds(o, "ttl")?;
        d.return_key = bool_field(o, "returnKey", false)?;
        d.quiet = bool_field(o, "quiet", false)?;
        Ok(owned(
            MetaRequest::Delete(d),
            convert::bytes(key, "key")?,
            Vec::new(),
        ))
    }

    /// `ma` from `{ mode, delta, vivify, initial, compareCas, ttl,
    /// returnValue, returnTtl, returnCas, quiet }`.
    pub(crate) fn arithmetic(key: &JsValue, o: &JsValue) -> Result<OwnedRequest, JsValue> {
        let mut a = MetaArithmetic::new(b"");
        a.mode = match field(o, "mode").as_string().as_deref() {
            None | Some("incr") => ArithMode::Incr,
            Some("decr") => ArithMode::Decr,
            Some(other) => {
                return Err(type_error(&format!(
                    "unknown mode {other:?}: use \"incr\" or \"decr\""
                )))
            }
        };
        a.delta = unsigned(o, "delta")?.unwrap_or(1);
        a.autovivify = seconds(o, "vivify")?;
        a.initial = unsigned(o, "initial")?;
        if a.initial.is_some() && a.autovivify.is_none() {
            return Err(type_error(
                "option initial needs vivify (the new counter's TTL)",
            ));
        }
        a.compare_cas = unsigned(o, "compareCas")?;
        a.ttl = seconds(o, "ttl")?;
        a.return_value = bool_field(o, "returnValue", true)?;
        a.return_ttl = bool_field(o, "returnTtl", false)?;
        a.return_cas = bool_field(o, "returnCas", false)?;
        a.quiet = bool_field(o, "quiet", false)?;
        Ok(owned(
            MetaRequest::Arithmetic(a),
            convert::bytes(key, "key")?,
            Vec::new(),
        ))
    }

    /// `me`: the item's metadata, as text.
    pub(crate) fn debug(key: &JsValue) -> Result<OwnedRequest, JsValue> {
        Ok(owned(
            MetaRequest::Debug { key: b"" },
            convert::bytes(key, "key")?,
            Vec::new(),
        ))
    }

    /// `mn`.
    pub(crate) fn noop() -> OwnedRequest {
        owned(MetaRequest::Noop, Vec::new(), Vec::new())
    }
}

/// Returns the result of a quiet command the server answered with
/// silence: a miss for `mg` (`get`), success for the others.
pub(crate) fn silent_reply(get: bool) -> JsValue {
    let o: JsValue = Object::new().into();
    set(
        &o,
        "status",
        &JsValue::from_str(if get { "miss" } else { "ok" }),
    );
    set(&o, "win", &JsValue::FALSE);
    set(&o, "stale", &JsValue::FALSE);
    set(&o, "alreadyWon", &JsValue::FALSE);
    o
}

/// Returns the option names a meta command `op` takes (plus the front
/// end's time option `time`).
pub(crate) fn options(op: &str, time: &'static str) -> &'static [&'static str] {
    macro_rules! with_time {
        ($($name:literal),*) => {
            if time == "deadline" {
                &[$($name,)* "deadline"]
            } else {
                &[$($name,)* "timeoutMs"]
            }
        };
    }
    match op {
        "metaGet" => with_time!(
            "returnValue",
            "returnCas",
            "returnFlags",
            "returnHit",
            "returnKey",
            "returnLastAccess",
            "returnSize",
            "returnTtl",
            "noBump",
            "quiet",
            "vivify",
            "recache",
            "touch"
        ),
        "metaSet" => with_time!(
            "mode",
            "flags",
            "ttl",
            "compareCas",
            "invalidate",
            "returnCas",
            "returnKey",
            "quiet"
        ),
        "metaDelete" => with_time!("compareCas", "invalidate", "ttl", "returnKey", "quiet"),
        _ => with_time!(
            "mode",
            "delta",
            "vivify",
            "initial",
            "compareCas",
            "ttl",
            "returnValue",
            "returnTtl",
            "returnCas",
            "quiet"
        ),
    }
}

/// Reads an optional number of seconds (a TTL) from `o[name]`.
fn seconds(o: &JsValue, name: &str) -> Result<Option<i64>, JsValue> {
    let value = field(o, name);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    convert::i64_or(&value, &format!("option {name}"), 0).map(Some)
}

/// Reads an optional unsigned integer (number or bigint) from `o[name]`.
fn unsigned(o: &JsValue, name: &str) -> Result<Option<u64>, JsValue> {
    let value = field(o, name);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    convert::u64_arg(&value, &format!("option {name}")).map(Some)
}

/// Returns the JS name of a meta status.
fn status_name(status: MetaStatus) -> &'static str {
    match status {
        MetaStatus::Value => "value",
        MetaStatus::Ok => "ok",
        MetaStatus::Miss => "miss",
        MetaStatus::NotFound => "notFound",
        MetaStatus::NotStored => "notStored",
        MetaStatus::Exists => "exists",
        MetaStatus::Noop => "noop",
        MetaStatus::Debug => "debug",
    }
}

/// Returns a meta reply as `{ status, value?, cas?, flags?, ttl?,
/// size?, key?, lastAccess?, hitBefore?, win, stale, alreadyWon }`.
pub(crate) fn reply(m: &MetaReply) -> JsValue {
    let o: JsValue = Object::new().into();
    set(&o, "status", &JsValue::from_str(status_name(m.status())));
    if let Some(value) = &m.value {
        set(&o, "value", &Uint8Array::from(&value[..]));
    }
    if let Some(cas) = m.cas {
        set(&o, "cas", &JsValue::from_str(&cas.to_string()));
    }
    if let Some(flags) = m.client_flags {
        set(&o, "flags", &JsValue::from(flags));
    }
    if let Some(ttl) = m.ttl {
        set(&o, "ttl", &JsValue::from_f64(ttl as f64));
    }
    if let Some(size) = m.size {
        set(&o, "size", &JsValue::from_f64(size as f64));
    }
    if let Some(key) = &m.key {
        set(&o, "key", &JsValue::from_str(&String::from_utf8_lossy(key)));
    }
    if let Some(la) = m.last_access {
        set(&o, "lastAccess", &JsValue::from_f64(la as f64));
    }
    if let Some(hit) = m.hit_before {
        set(&o, "hitBefore", &JsValue::from_bool(hit));
    }
    set(&o, "win", &JsValue::from_bool(m.win));
    set(&o, "stale", &JsValue::from_bool(m.stale));
    set(&o, "alreadyWon", &JsValue::from_bool(m.already_won));
    o
}
