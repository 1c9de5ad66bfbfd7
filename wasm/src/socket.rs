//! The WebSocket driver behind `Client`: moves bytes between a browser
//! `WebSocket` and a core [`Connection`], settles promises, runs the timer.
//!
//! Nothing here knows the protocol: bytes come from
//! [`Connection::transmit`] and go to [`Connection::receive`]; replies come
//! from [`Connection::poll`] matched to promises by request id.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Function, Uint8Array};
use memcrab_core::{Connection, Error, Millis, Reply, Request};
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::command::Command;
use crate::error::{core_error, js_error, CLOSED};
use crate::shape::Shape;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_name = setTimeout)]
    pub(crate) fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub(crate) fn clear_timeout(id: &JsValue);
}

/// Returns the current time on the monotonic `performance.now()` clock.
fn now() -> Millis {
    Millis(performance_now().max(0.0) as u64)
}

/// A promise waiting for its reply.
struct Pending {
    shape: Shape,
    resolve: Function,
    reject: Function,
}

/// The event handlers installed on the WebSocket; they keep the driver
/// alive while the socket is open.
struct Handlers {
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
    timer: Closure<dyn FnMut()>,
}

/// One WebSocket and the connection state behind a `Client`.
pub(crate) struct Driver {
    url: String,
    ws: WebSocket,
    conn: Connection,
    pending: BTreeMap<u64, Pending>,
    /// Why the client is closed (the message of later rejections).
    closed: Option<String>,
    /// How the WebSocket closed, once it has.
    socket_closed: Option<String>,
    /// `close()` was called: the commands it rejected are not reported
    /// again when the socket's close fails them in the connection.
    closed_by_user: bool,
    timeout_ms: Option<f64>,
    /// The armed timer's id and when it fires.
    timer: Option<(JsValue, Millis)>,
    /// `close()` and `quit()` promises, resolved when the socket closes.
    close_waiters: Vec<Function>,
    handlers: Option<Handlers>,
    /// Called with errors no promise awaits.
    onerror: Option<Function>,
}

pub(crate) type Shared = Rc<RefCell<Driver>>;

/// Settles one promise, or reports an error no promise awaits.
enum Settle {
    Promise(Pending, Result<Reply, Error>),
    Orphan(Error),
}

/// Sets the handler of errors no promise awaits.
pub(crate) fn set_onerror(shared: &Shared, handler: Option<Function>) {
    shared.borrow_mut().onerror = handler;
}

/// Returns the handler of errors no promise awaits.
pub(crate) fn onerror(shared: &Shared) -> Option<Function> {
    shared.borrow().onerror.clone()
}

impl Driver {
    /// Takes over the open WebSocket `ws` and installs its handlers.
    pub(crate) fn start(
        url: String,
        ws: WebSocket,
        conn: Connection,
        timeout_ms: Option<f64>,
    ) -> Shared {
        let shared = Rc::new(RefCell::new(Driver {
            url,
            ws: ws.clone(),
            conn,
            pending: BTreeMap::new(),
            closed: None,
            socket_closed: None,
            closed_by_user: false,
            timeout_ms,
            timer: None,
            close_waiters: Vec::new(),
            handlers: None,
            onerror: None,
        }));
        let on_message = {
            let shared = shared.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                on_message(&shared, &event)
            })
        };
        let on_close = {
            let shared = shared.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                on_close(&shared, &event)
            })
        };
        let on_timer = {
            let shared = shared.clone();
            Closure::<dyn FnMut()>::new(move || on_timer(&shared))
        };
        ws.set_onopen(None);
        ws.set_onerror(None);
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        shared.borrow_mut().handlers = Some(Handlers {
            _message: on_message,
            _close: on_close,
            timer: on_timer,
        });
        shared
    }

    /// Returns the number of commands awaiting a reply.
    pub(crate) fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Returns the WebSocket's address.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Returns true once the client is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Why the client is closed, as the error a new command gets.
    fn closed_error(&self) -> Option<JsValue> {
        let why = self.closed.as_deref()?;
        Some(js_error(
            CLOSED,
            &format!("the connection is closed: {why}"),
            true,
        ))
    }
}

/// Encodes `command`, writes it, and settles `resolve`/`reject` when its
/// reply comes (at once for noreply commands and refused input).
pub(crate) fn call(
    shared: &Shared,
    command: &Command,
    shape: Shape,
    resolve: Function,
    reject: Function,
) {
    let mut driver = shared.borrow_mut();
    if let Some(e) = driver.closed_error() {
        let _ = reject.call1(&JsValue::NULL, &e);
        return;
    }
    let deadline = driver
        .timeout_ms
        .map(|ms| Millis(now().0 + ms.max(0.0) as u64));
    let driver = &mut *driver;
    match command.submit(&mut driver.conn, deadline) {
        Err(e) => {
            let context = e.is_fatal().then_some(driver.url.as_str());
            let _ = reject.call1(&JsValue::NULL, &core_error(&e, context));
        }
        Ok(id) => {
            let n = driver.conn.transmit().len();
            if let Err(e) = driver.ws.send_with_u8_array(driver.conn.transmit()) {
                let _ = reject.call1(&JsValue::NULL, &e);
                return;
            }
            driver.conn.advance_transmit(n);
            if command.is_noreply() {
                let _ = resolve.call1(&JsValue::NULL, &shape.noreply_value());
            } else {
                driver.pending.insert(
                    id.0,
                    Pending {
                        shape,
                        resolve,
                        reject,
                    },
                );
                arm_timer(driver);
            }
        }
    }
}

/// Closes the client: every command in flight is rejected with `Closed`,
/// later ones too; `waiter` is called once the socket has closed.
pub(crate) fn close(shared: &Shared, why: &str, waiter: Option<Function>) {
    let settled = {
        let mut driver = shared.borrow_mut();
        if let Some(waiter) = waiter {
            if driver.handlers.is_none() {
                let _ = waiter.call0(&JsValue::NULL);
            } else {
                driver.close_waiters.push(waiter);
            }
        }
        if driver.closed.is_none() {
            driver.closed = Some(why.to_owned());
        }
        driver.closed_by_user = true;
        let _ = driver.ws.close();
        let e = driver.closed_error();
        core::mem::take(&mut driver.pending)
            .into_values()
            .map(|p| (p, e.clone()))
            .collect::<Vec<_>>()
    };
    for (pending, e) in settled {
        let _ = pending.reject.call1(&JsValue::NULL, &e.unwrap_or_default());
    }
}

/// Sends `quit`; `resolve` is called once the server has closed the socket.
pub(crate) fn quit(shared: &Shared, resolve: Function, reject: Function) {
    let mut driver = shared.borrow_mut();
    if driver.handlers.is_none() {
        let _ = resolve.call0(&JsValue::NULL);
        return;
    }
    if let Some(e) = driver.closed_error() {
        let _ = reject.call1(&JsValue::NULL, &e);
        return;
    }
    let driver = &mut *driver;
    if let Err(e) = driver.conn.submit(&Request::Quit, None) {
        let _ = reject.call1(&JsValue::NULL, &core_error(&e, Some(&driver.url)));
        return;
    }
    let n = driver.conn.transmit().len();
    if let Err(e) = driver.ws.send_with_u8_array(driver.conn.transmit()) {
        let _ = reject.call1(&JsValue::NULL, &e);
        return;
    }
    driver.conn.advance_transmit(n);
    driver.close_waiters.push(resolve);
}

fn on_message(shared: &Shared, event: &MessageEvent) {
    let data = event.data();
    let settled = {
        let mut driver = shared.borrow_mut();
        if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
            driver.conn.receive(&Uint8Array::new(buffer).to_vec());
        } else if let Some(text) = data.as_string() {
            driver.conn.receive(text.as_bytes());
        }
        drain(&mut driver)
    };
    settle(shared, settled);
}

fn on_close(shared: &Shared, event: &CloseEvent) {
    let (settled, waiters, handlers) = {
        let mut driver = shared.borrow_mut();
        let reason = event.reason();
        let why = if reason.is_empty() {
            format!("WebSocket {} closed with code {}", driver.url, event.code())
        } else {
            format!(
                "WebSocket {} closed with code {}: {reason}",
                driver.url,
                event.code()
            )
        };
        if driver.closed.is_none() {
            driver.closed = Some(why.clone());
        }
        driver.socket_closed = Some(why);
        driver.conn.receive_eof();
        let settled = drain(&mut driver);
        if let Some((id, _)) = driver.timer.take() {
            clear_timeout(&id);
        }
        driver.ws.set_onmessage(None);
        driver.ws.set_onclose(None);
        (
            settled,
            core::mem::take(&mut driver.close_waiters),
            driver.handlers.take(),
        )
    };
    settle(shared, settled);
    for waiter in waiters {
        let _ = waiter.call0(&JsValue::NULL);
    }
    // The handlers hold the driver (and this very closure); drop them once
    // this event is over, which breaks the cycle.
    wasm_bindgen_futures::spawn_local(async move { drop(handlers) });
}

fn on_timer(shared: &Shared) {
    let settled = {
        let mut driver = shared.borrow_mut();
        driver.timer = None;
        driver.conn.handle_timeout(now());
        drain(&mut driver)
    };
    settle(shared, settled);
}

/// Takes every completed reply out of the connection, with its promise.
fn drain(driver: &mut Driver) -> Vec<Settle> {
    let mut settled = Vec::new();
    while let Some((id, result)) = driver.conn.poll() {
        match (driver.pending.remove(&id.0), result) {
            (Some(pending), result) => settled.push(Settle::Promise(pending, result)),
            (None, Err(e)) if !driver.closed_by_user => settled.push(Settle::Orphan(e)),
            (None, _) => {}
        }
    }
    if driver.closed.is_none() {
        if let Some(e) = driver.conn.error() {
            // A broken stream cannot be resynchronised: close the socket.
            driver.closed = Some(format!("{e} ({})", driver.url));
            let _ = driver.ws.close();
            if settled.is_empty() {
                settled.push(Settle::Orphan(e.clone()));
            }
        }
    }
    arm_timer(driver);
    settled
}

/// Resolves or rejects the promises of `settled`, outside any borrow.
fn settle(shared: &Shared, settled: Vec<Settle>) {
    if settled.is_empty() {
        return;
    }
    let (context, onerror) = {
        let driver = shared.borrow();
        let context = driver
            .socket_closed
            .clone()
            .unwrap_or_else(|| driver.url.clone());
        (context, driver.onerror.clone())
    };
    for settle in settled {
        let (pending, result) = match settle {
            Settle::Promise(pending, result) => (pending, result),
            Settle::Orphan(e) => {
                if let Some(handler) = &onerror {
                    let _ = handler.call1(&JsValue::NULL, &core_error(&e, Some(&context)));
                }
                continue;
            }
        };
        match result.and_then(|reply| pending.shape.value(reply)) {
            Ok(value) => {
                let _ = pending.resolve.call1(&JsValue::NULL, &value);
            }
            Err(e) => {
                let context = if e.is_fatal() {
                    Some(context.as_str())
                } else {
                    None
                };
                let _ = pending
                    .reject
                    .call1(&JsValue::NULL, &core_error(&e, context));
            }
        }
    }
}

/// Sets the timer for the earliest deadline in flight, if it changed.
fn arm_timer(driver: &mut Driver) {
    let next = driver.conn.poll_timeout();
    if driver.timer.as_ref().map(|(_, at)| *at) == next {
        return;
    }
    if let Some((id, _)) = driver.timer.take() {
        clear_timeout(&id);
    }
    let (Some(at), Some(handlers)) = (next, &driver.handlers) else {
        return;
    };
    let delay = at.0.saturating_sub(now().0) as f64;
    let id = set_timeout(handlers.timer.as_ref().unchecked_ref(), delay);
    driver.timer = Some((id, at));
}
