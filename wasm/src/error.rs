//! Errors as JavaScript sees them: `Error` objects named `MemcrabError`.
//!
//! Every failure reaches JS as an `Error` whose `name` is `"MemcrabError"`,
//! whose `message` says what went wrong (with the key or the server's own
//! words), and which carries two more fields: `kind`, one of the
//! [`ErrorKind`] names as a string (`"IllegalInput"`, `"Server"`,
//! `"UnexpectedClose"`, …, plus `"Closed"` and `"Io"` for the WebSocket
//! client), and `fatal`, true when the connection it happened on is gone.

use js_sys::Reflect;
use memcrab_core::{Error, ErrorKind};
use wasm_bindgen::JsValue;

/// The kind of a connection the client closed itself, or never opened.
pub(crate) const CLOSED: &str = "Closed";
/// The kind of a WebSocket that could not be opened.
pub(crate) const IO: &str = "Io";

/// Returns a `MemcrabError` with `kind` and `message`.
pub(crate) fn js_error(kind: &str, message: &str, fatal: bool) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("MemcrabError");
    set(&error, "kind", &JsValue::from_str(kind));
    set(&error, "fatal", &JsValue::from_bool(fatal));
    error.into()
}

/// Returns the `MemcrabError` for a core error; `context` (for example the
/// WebSocket's address) is appended to the message when there is one.
pub(crate) fn core_error(e: &Error, context: Option<&str>) -> JsValue {
    let message = match context {
        Some(context) => format!("{e} ({context})"),
        None => e.to_string(),
    };
    js_error(kind_name(e.kind()), &message, e.is_fatal())
}

/// Returns a `TypeError` for an argument of the wrong type.
pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// Returns the JS name of a core error kind.
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::IllegalInput => "IllegalInput",
        ErrorKind::UnknownCommand => "UnknownCommand",
        ErrorKind::Client => "Client",
        ErrorKind::Server => "Server",
        ErrorKind::UnexpectedReply => "UnexpectedReply",
        ErrorKind::Protocol => "Protocol",
        ErrorKind::NoreplyFailed => "NoreplyFailed",
        ErrorKind::UnexpectedClose => "UnexpectedClose",
        ErrorKind::Timeout => "Timeout",
        ErrorKind::Serde => "Serde",
        ErrorKind::Io => IO,
        ErrorKind::Tls => "Tls",
        ErrorKind::NoServers => "NoServers",
        ErrorKind::PoolExhausted => "PoolExhausted",
        _ => "Other",
    }
}

/// Sets `object[name] = value`; setting a field of a fresh object cannot fail.
pub(crate) fn set(object: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(name), value);
}
