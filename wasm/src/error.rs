//! Errors as JavaScript sees them: instances of the package's `MemcrabError`.
//!
//! Every failure reaches JS as a `MemcrabError` (the class the package
//! registers through [`set_helpers`](crate::helpers::set_helpers); a plain
//! `Error` with the same fields when none is registered) with:
//!
//! - `kind`: what went wrong, one of the core's [`ErrorKind`] names
//!   (`"IllegalInput"`, `"Server"`, `"Timeout"`, …) plus `"Closed"` and
//!   `"Io"`;
//! - `code`: a stable, more precise name for programs (`"KEY_WHITESPACE"`,
//!   `"UNKNOWN_OPTION"`, `"SERVER_ERROR"`, …);
//! - `fatal`: true when the connection it happened on is gone.

use memcrab_core::{Error, ErrorKind, IllegalInput};
use wasm_bindgen::JsValue;

use crate::helpers;

/// The kind of a connection the client closed itself, or never opened.
pub(crate) const CLOSED: &str = "Closed";
/// The kind of a socket that could not be opened or failed.
pub(crate) const IO: &str = "Io";

/// Returns a `MemcrabError`.
pub(crate) fn js_error(kind: &str, code: &str, message: &str, fatal: bool) -> JsValue {
    helpers::error(kind, code, message, fatal)
}

/// Returns the `MemcrabError` for a core error; `context` (for example the
/// server's address) is appended to the message when there is one.
pub(crate) fn core_error(e: &Error, context: Option<&str>) -> JsValue {
    let message = match context {
        Some(context) => format!("{e} ({context})"),
        None => e.to_string(),
    };
    js_error(kind_name(e.kind()), code(e), &message, e.is_fatal())
}

/// Returns the `MemcrabError` for a bad argument (`kind: "IllegalInput"`,
/// `code: "BAD_ARGUMENT"`): nothing was sent.
pub(crate) fn bad_argument(message: &str) -> JsValue {
    js_error("IllegalInput", "BAD_ARGUMENT", message, false)
}

/// Returns the `MemcrabError` for an option name the call does not know.
pub(crate) fn unknown_option(message: &str) -> JsValue {
    js_error("IllegalInput", "UNKNOWN_OPTION", message, false)
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

/// Returns the `code` of a core error.
fn code(e: &Error) -> &'static str {
    match e {
        Error::IllegalInput(i) => match i {
            IllegalInput::EmptyKey => "EMPTY_KEY",
            IllegalInput::KeyTooLong { .. } => "KEY_TOO_LONG",
            IllegalInput::KeyWhitespace { .. } => "KEY_WHITESPACE",
            IllegalInput::KeyNull { .. } => "KEY_NULL",
            IllegalInput::KeyControl { .. } => "KEY_CONTROL",
            IllegalInput::KeyNonAscii { .. } => "KEY_NON_ASCII",
            IllegalInput::ValueTooLarge { .. } => "VALUE_TOO_LARGE",
            IllegalInput::NoKeys => "NO_KEYS",
            _ => "BAD_ARGUMENT",
        },
        Error::UnknownCommand { .. } => "UNKNOWN_COMMAND",
        Error::Client(_) => "CLIENT_ERROR",
        Error::Server(_) => "SERVER_ERROR",
        Error::UnexpectedReply(_) => "UNEXPECTED_REPLY",
        Error::Protocol(_) => "PROTOCOL_ERROR",
        Error::NoreplyFailed(_) => "NOREPLY_FAILED",
        Error::UnexpectedClose => "UNEXPECTED_CLOSE",
        Error::Timeout => "TIMEOUT",
        Error::Serde(_) => "SERDE",
        _ => "OTHER",
    }
}

/// A socket's failure, as the JS driver reports it: the transport error a
/// core [`Fault::Transport`](memcrab_core::cluster::Fault::Transport)
/// carries (one type for every front end: the core client is built once).
#[derive(Clone, Debug)]
pub(crate) struct SocketError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl core::fmt::Display for SocketError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}
