//! `Client`: promises over a browser `WebSocket` to a WebSocket-to-TCP
//! bridge (websockify) in front of memcached.

use js_sys::Promise;
use memcrab_core::{GetCommand, StoreCommand};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BinaryType, WebSocket};

use crate::command::{Command, Opts};
use crate::convert::{self, field};
use crate::error::{js_error, type_error, IO};
use crate::meta::MetaCommand;
use crate::protocol;
use crate::shape::Shape;
use crate::socket::{self, clear_timeout, set_timeout, Driver, Shared};
use crate::typescript::{
    CallOptions, ClientOptions, ErrorHandler, Integer, Key, Keys, MetaArithmeticOptions,
    MetaDeleteOptions, MetaGetOptions, MetaSetOptions, StatsArgs, StoreOptions, Value,
};

/// The default time `connect` waits for the WebSocket to open.
const CONNECT_TIMEOUT_MS: f64 = 10_000.0;

/// A memcached client for browsers: every command returns a promise, and
/// many may be in flight at once on one WebSocket (pipelining); replies are
/// matched to promises in order.
///
/// A browser cannot open a TCP socket, so the client speaks memcached's
/// text protocol in binary WebSocket frames to a bridge that forwards the
/// bytes to memcached over TCP, such as websockify:
/// `websockify 127.0.0.1:8080 127.0.0.1:11211`.
///
/// Failures reject the promise with a `MemcrabError`: a bad key or value
/// with `kind: "IllegalInput"` before anything is sent; the server's refusal
/// with `"Server"`, `"Client"` or `"UnknownCommand"` (the client stays
/// usable); a closed socket with `"UnexpectedClose"` for the commands in
/// flight and `"Closed"` for later ones; a timeout with `"Timeout"`.
#[wasm_bindgen]
pub struct Client {
    shared: Shared,
}

#[wasm_bindgen]
impl Client {
    /// Opens a WebSocket to `url` (`ws://…` or `wss://…`) and resolves once
    /// it is open.
    pub async fn connect(url: String, options: Option<ClientOptions>) -> Result<Client, JsValue> {
        let options = JsValue::from(options);
        let conn = protocol::connection(&options)?;
        let timeout_ms = optional_ms(&options, "timeoutMs")?;
        let connect_ms = optional_ms(&options, "connectTimeoutMs")?.unwrap_or(CONNECT_TIMEOUT_MS);
        let protocols = field(&options, "protocols");
        let ws = if protocols.is_undefined() || protocols.is_null() {
            WebSocket::new(&url)
        } else {
            WebSocket::new_with_str_sequence(&url, &protocols)
        }
        .map_err(|e| {
            js_error(
                IO,
                &format!("could not open a WebSocket to {url}: {}", describe(&e)),
                true,
            )
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);

        let mut timer = JsValue::UNDEFINED;
        let opened = Promise::new(&mut |resolve, reject| {
            ws.set_onopen(Some(&resolve));
            ws.set_onerror(Some(&reject));
            ws.set_onclose(Some(&reject));
            timer = set_timeout(&reject, connect_ms);
        });
        let result = JsFuture::from(opened).await;
        clear_timeout(&timer);
        if let Err(reason) = result {
            ws.set_onopen(None);
            ws.set_onerror(None);
            ws.set_onclose(None);
            let _ = ws.close();
            let message = if reason.is_undefined() {
                format!("could not open a WebSocket to {url} within {connect_ms} ms")
            } else {
                format!("could not open a WebSocket to {url} (is the bridge running?)")
            };
            return Err(js_error(IO, &message, true));
        }
        Ok(Client {
            shared: Driver::start(url, ws, conn, timeout_ms),
        })
    }

    /// The WebSocket's address.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.shared.borrow().url().to_owned()
    }

    /// The number of commands awaiting their reply.
    #[wasm_bindgen(getter, js_name = inFlight)]
    pub fn in_flight(&self) -> usize {
        self.shared.borrow().in_flight()
    }

    /// True once the client or its socket is closed.
    #[wasm_bindgen(getter, js_name = isClosed)]
    pub fn is_closed(&self) -> bool {
        self.shared.borrow().is_closed()
    }

    /// Stores `value` under `key`: true when stored. Options: `flags`,
    /// `expire` (seconds), `noreply`.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn set(&self, key: Key, value: Value, options: Option<StoreOptions>) -> Promise {
        self.store(StoreCommand::Set, &key, &value, convert::given(&options))
    }

    /// Stores only if `key` is absent: false when it was there.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn add(&self, key: Key, value: Value, options: Option<StoreOptions>) -> Promise {
        self.store(StoreCommand::Add, &key, &value, convert::given(&options))
    }

    /// Stores only if `key` is present: false when it was not.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn replace(&self, key: Key, value: Value, options: Option<StoreOptions>) -> Promise {
        self.store(
            StoreCommand::Replace,
            &key,
            &value,
            convert::given(&options),
        )
    }

    /// Adds `value` after the stored value: false when there is none.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn append(&self, key: Key, value: Value, options: Option<StoreOptions>) -> Promise {
        self.store(StoreCommand::Append, &key, &value, convert::given(&options))
    }

    /// Adds `value` before the stored value: false when there is none.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn prepend(&self, key: Key, value: Value, options: Option<StoreOptions>) -> Promise {
        self.store(
            StoreCommand::Prepend,
            &key,
            &value,
            convert::given(&options),
        )
    }

    /// Stores only if the item still has the token `cas` from `gets`: true
    /// stored, false changed by someone else meanwhile, null gone.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean | null>")]
    pub fn cas(
        &self,
        key: Key,
        value: Value,
        cas: Integer,
        options: Option<StoreOptions>,
    ) -> Promise {
        self.run(Shape::Cas, || {
            let opts = Opts::from_js(convert::given(&options))?;
            let cas = convert::u64_arg(&cas, "cas")?;
            Command::store(StoreCommand::Cas(cas), &key, &value, &opts)
        })
    }

    /// Returns the item stored under `key`, or null on a miss.
    #[wasm_bindgen(unchecked_return_type = "Promise<Item | null>")]
    pub fn get(&self, key: Key) -> Promise {
        self.run(Shape::One, || Command::get_one(GetCommand::Get, &key))
    }

    /// Returns the items found for `keys`, in one request: a `Map` from key
    /// to item, misses absent.
    #[wasm_bindgen(js_name = getMany, unchecked_return_type = "Promise<Map<string, Item>>")]
    pub fn get_many(&self, keys: Keys) -> Promise {
        self.run(Shape::Many, || Command::get_many(GetCommand::Get, &keys))
    }

    /// Returns the item under `key` with its `cas` token, or null.
    #[wasm_bindgen(unchecked_return_type = "Promise<Item | null>")]
    pub fn gets(&self, key: Key) -> Promise {
        self.run(Shape::One, || Command::get_one(GetCommand::Gets, &key))
    }

    /// Returns the items found for `keys` with their `cas` tokens.
    #[wasm_bindgen(js_name = getsMany, unchecked_return_type = "Promise<Map<string, Item>>")]
    pub fn gets_many(&self, keys: Keys) -> Promise {
        self.run(Shape::Many, || Command::get_many(GetCommand::Gets, &keys))
    }

    /// Deletes `key`: true deleted, false not found.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn delete(&self, key: Key, options: Option<CallOptions>) -> Promise {
        self.run(Shape::Delete, || {
            let opts = Opts::from_js(convert::given(&options))?;
            let key = convert::bytes(&key, "key")?;
            Ok(Command::Delete {
                key,
                noreply: opts.noreply,
            })
        })
    }

    /// Adds `delta` to the number stored under `key`: the new value, or
    /// null when there is none.
    #[wasm_bindgen(unchecked_return_type = "Promise<bigint | null>")]
    pub fn incr(&self, key: Key, delta: Integer, options: Option<CallOptions>) -> Promise {
        self.run(Shape::Arith, || {
            let opts = Opts::from_js(convert::given(&options))?;
            Ok(Command::Incr {
                key: convert::bytes(&key, "key")?,
                delta: convert::u64_arg(&delta, "delta")?,
                noreply: opts.noreply,
            })
        })
    }

    /// Subtracts `delta` (memcached stops at 0): the new value, or null.
    #[wasm_bindgen(unchecked_return_type = "Promise<bigint | null>")]
    pub fn decr(&self, key: Key, delta: Integer, options: Option<CallOptions>) -> Promise {
        self.run(Shape::Arith, || {
            let opts = Opts::from_js(convert::given(&options))?;
            Ok(Command::Decr {
                key: convert::bytes(&key, "key")?,
                delta: convert::u64_arg(&delta, "delta")?,
                noreply: opts.noreply,
            })
        })
    }

    /// Sets a new expiration (seconds) on `key`: true touched, false not
    /// found.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn touch(&self, key: Key, expire: f64, options: Option<CallOptions>) -> Promise {
        self.run(Shape::Touch, || {
            let opts = Opts::from_js(convert::given(&options))?;
            Ok(Command::Touch {
                key: convert::bytes(&key, "key")?,
                exptime: convert::i64_or(&JsValue::from_f64(expire), "expire", 0)?,
                noreply: opts.noreply,
            })
        })
    }

    /// Returns the server's statistics as an object of strings; `args`
    /// picks a section (`["settings"]`, `["items"]`, `["slabs"]`, …).
    #[wasm_bindgen(unchecked_return_type = "Promise<Record<string, string>>")]
    pub fn stats(&self, args: Option<StatsArgs>) -> Promise {
        self.run(Shape::Stats, || Command::stats(convert::given(&args)))
    }

    /// Returns the server's version string.
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn version(&self) -> Promise {
        self.run(Shape::Version, || Ok(Command::Version))
    }

    /// Invalidates every item, after `delay` seconds (default 0).
    #[wasm_bindgen(js_name = flushAll, unchecked_return_type = "Promise<boolean>")]
    pub fn flush_all(&self, delay: Option<f64>, options: Option<CallOptions>) -> Promise {
        self.run(Shape::Ok, || {
            let opts = Opts::from_js(convert::given(&options))?;
            Ok(Command::FlushAll {
                delay: convert::i64_or(&delay.into(), "delay", 0)?,
                noreply: opts.noreply,
            })
        })
    }

    /// Sends a meta get (`mg`) and resolves to its meta reply. Options pick
    /// what comes back (`returnValue` defaults to true; `returnCas`,
    /// `returnFlags`, `returnTtl`, …) and the stale-while-revalidate flags
    /// (`vivify`, `recache`: `win` in the reply tells this client to
    /// recompute the value while others keep serving the stale one).
    #[wasm_bindgen(js_name = metaGet, unchecked_return_type = "Promise<MetaReply>")]
    pub fn meta_get(&self, key: Key, options: Option<MetaGetOptions>) -> Promise {
        self.run(Shape::Meta, || {
            meta_command(&options, |o| MetaCommand::get(&key, o))
        })
    }

    /// Sends a meta set (`ms`): status `ok`, `notStored`, `exists`
    /// (compareCas lost) or `notFound`.
    #[wasm_bindgen(js_name = metaSet, unchecked_return_type = "Promise<MetaReply>")]
    pub fn meta_set(&self, key: Key, value: Value, options: Option<MetaSetOptions>) -> Promise {
        self.run(Shape::Meta, || {
            meta_command(&options, |o| MetaCommand::set(&key, &value, o))
        })
    }

    /// Sends a meta delete (`md`); `invalidate` marks the item stale
    /// instead of removing it.
    #[wasm_bindgen(js_name = metaDelete, unchecked_return_type = "Promise<MetaReply>")]
    pub fn meta_delete(&self, key: Key, options: Option<MetaDeleteOptions>) -> Promise {
        self.run(Shape::Meta, || {
            meta_command(&options, |o| MetaCommand::delete(&key, o))
        })
    }

    /// Sends a meta arithmetic (`ma`): incr or decr by `delta` (default 1),
    /// creating the counter at `initial` on a miss with `vivify`.
    #[wasm_bindgen(js_name = metaArithmetic, unchecked_return_type = "Promise<MetaReply>")]
    pub fn meta_arithmetic(&self, key: Key, options: Option<MetaArithmeticOptions>) -> Promise {
        self.run(Shape::Meta, || {
            meta_command(&options, |o| MetaCommand::arithmetic(&key, o))
        })
    }

    /// Sends a meta debug (`me`): the item's metadata, in the reply's
    /// `text()` (`exp=-1 la=3 cas=7 fetch=no cls=1 size=63`).
    #[wasm_bindgen(js_name = metaDebug, unchecked_return_type = "Promise<MetaReply>")]
    pub fn meta_debug(&self, key: Key) -> Promise {
        self.run(Shape::Meta, || Ok(Command::Meta(MetaCommand::debug(&key)?)))
    }

    /// Called with the errors no promise is waiting for: the failure of a
    /// `noreply` command (reported with `protocol: "meta"`; with the text
    /// protocol it closes the connection with `NoreplyFailed`), or the error
    /// that broke the connection while nothing was in flight.
    #[wasm_bindgen(setter)]
    pub fn set_onerror(&self, handler: Option<ErrorHandler>) {
        socket::set_onerror(&self.shared, handler.map(JsCast::unchecked_into));
    }

    /// The error handler, if one is set.
    #[wasm_bindgen(getter)]
    pub fn onerror(&self) -> Option<ErrorHandler> {
        socket::onerror(&self.shared).map(JsCast::unchecked_into)
    }

    /// Asks the server to shut down (memcached must run with `-A`);
    /// resolves once it closed the connection.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self, graceful: Option<bool>) -> Promise {
        let graceful = graceful.unwrap_or(false);
        self.run(Shape::Shutdown, || Ok(Command::Shutdown { graceful }))
    }

    /// Sends `quit`: the server closes the connection. Resolves once the
    /// socket is closed; commands still in flight get their replies first.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn quit(&self) -> Promise {
        let shared = self.shared.clone();
        Promise::new(&mut |resolve, reject| socket::quit(&shared, resolve, reject))
    }

    /// Closes the WebSocket. Commands in flight reject with `Closed`, as do
    /// later ones. Resolves once the socket is closed.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let shared = self.shared.clone();
        Promise::new(&mut |resolve, _reject| {
            socket::close(&shared, "closed by Client.close()", Some(resolve));
        })
    }

    fn store(
        &self,
        command: StoreCommand,
        key: &JsValue,
        value: &JsValue,
        options: Option<&JsValue>,
    ) -> Promise {
        self.run(Shape::Store, || {
            let opts = Opts::from_js(options)?;
            Command::store(command, key, value, &opts)
        })
    }

    /// Builds the command (rejecting bad arguments) and sends it.
    fn run(&self, shape: Shape, build: impl FnOnce() -> Result<Command, JsValue>) -> Promise {
        let command = match build() {
            Ok(command) => command,
            Err(e) => return Promise::reject(&e),
        };
        let shared = self.shared.clone();
        Promise::new(&mut |resolve, reject| {
            socket::call(&shared, &command, shape, resolve, reject);
        })
    }
}

/// Builds a meta command for the client, which needs no quiet mode: it
/// pipelines every command anyway, and a quiet command's promise could not
/// tell a silent success from a reply still on its way.
fn meta_command<T: AsRef<JsValue>>(
    options: &Option<T>,
    build: impl FnOnce(&JsValue) -> Result<MetaCommand, JsValue>,
) -> Result<Command, JsValue> {
    let undefined = JsValue::UNDEFINED;
    let o = convert::given(options).unwrap_or(&undefined);
    let command = build(o)?;
    if command.is_quiet() {
        return Err(type_error(
            "Client meta commands cannot be quiet (the Client pipelines anyway); \
             use noreply commands, or Protocol for quiet mode",
        ));
    }
    Ok(Command::Meta(command))
}

/// Reads an optional number of milliseconds from `options[name]`.
fn optional_ms(options: &JsValue, name: &str) -> Result<Option<f64>, JsValue> {
    let value = field(options, name);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(ms) if ms >= 0.0 && ms.is_finite() => Ok(Some(ms)),
        _ => Err(type_error(&format!(
            "option {name} must be a non-negative number of milliseconds"
        ))),
    }
}

/// Describes a thrown JS value for a message.
fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
