//! The JS side of a `Session`: what the session calls to open, write and
//! close sockets and to settle tickets, one call across the boundary each.
//!
//! Without a driver a session answers with flat arrays instead (`actions()`,
//! `poll()`, `transmit()`), which cost more calls per request.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// An argument of a `Client` method, passed on as it is (`undefined`
    /// crosses as nothing).
    #[wasm_bindgen(typescript_type = "any")]
    pub type Arg;

    /// The package's `Client`, as its session sees it.
    #[wasm_bindgen(typescript_type = "SessionDriver")]
    pub type SessionDriver;

    /// Open socket `conn` (generation `gen`) to `servers[server]`; report
    /// `connected` or `connectFailed` later, never from inside this call.
    #[wasm_bindgen(method, structural)]
    pub(crate) fn open(this: &SessionDriver, conn: u32, gen: u32, server: u32);

    /// Close socket `conn` if it is still generation `gen`.
    #[wasm_bindgen(method, structural)]
    pub(crate) fn close(this: &SessionDriver, conn: u32, gen: u32);

    /// Write `bytes` (a view of wasm memory: copy it at once) on socket
    /// `conn`, in order after what was written before.
    #[wasm_bindgen(method, structural)]
    pub(crate) fn write(this: &SessionDriver, conn: u32, bytes: &[u8]);

    /// Resolve (`ok`) or reject ticket `ticket` with `value`.
    #[wasm_bindgen(method, structural)]
    pub(crate) fn settle(this: &SessionDriver, ticket: f64, ok: bool, value: JsValue);

    /// Resolve the `get`/`gets` ticket `ticket` with its item: the key it
    /// was called with, a copy of `value` (a view of wasm memory), `flags`
    /// and the cas token (a decimal string, `gets` only).
    #[wasm_bindgen(method, structural)]
    pub(crate) fn hit(
        this: &SessionDriver,
        ticket: f64,
        value: &[u8],
        flags: u32,
        cas: Option<String>,
    );
}

#[wasm_bindgen(typescript_custom_section)]
const SESSION_DRIVER: &'static str = r#"
/** What the package's `Client` gives its `Session` (internal). Calls into
 * the session from inside these are not allowed. */
export interface SessionDriver {
  open(conn: number, gen: number, server: number): void;
  close(conn: number, gen: number): void;
  /** `bytes` is a view of wasm memory: copy it at once. */
  write(conn: number, bytes: Uint8Array): void;
  settle(ticket: number, ok: boolean, value: unknown): void;
  /** `value` is a view of wasm memory: copy it at once. */
  hit(ticket: number, value: Uint8Array, flags: number, cas: string | undefined): void;
}
"#;
