//! `Protocol`: memcached over a socket the caller drives, bytes in and
//! bytes out.

use core::time::Duration;

use js_sys::{Array, Object, Uint8Array};
use memcrab_core::cluster::{Cluster, ConnId, Event, Fault, Refusal, Ticket};
use memcrab_core::command::{Meaning, RequestRef};
use memcrab_core::router::NodeId;
use memcrab_core::{Error, Millis};
use wasm_bindgen::prelude::*;

use crate::command::{self, Call, Front};
use crate::config::{Config, CONNECTION_OPTIONS};
use crate::convert;
use crate::error::{core_error, SocketError};
use crate::helpers::set;
use crate::shape::Shape;
use crate::typescript::{
    Bytes, CallOptions, Completions, Integer, Key, Keys, MetaArithmeticOptions, MetaDeleteOptions,
    MetaGetOptions, MetaSetOptions, ProtocolOptions, StatsArgs, StoreOptions, Value,
};

/// memcached's protocol for a socket you drive yourself: commands return an
/// id, {@link Protocol.transmit} the bytes to write, and
/// {@link Protocol.receive} takes the bytes read and returns the completed
/// commands, each `{ id, value }` or `{ id, error }`.
///
/// Most programs want `connect()` instead, which drives sockets for you.
/// A `Protocol` owns no socket and reads no clock, so it runs wherever
/// JavaScript can move bytes. Many commands may be sent before any reply
/// is read (pipelining); they complete in order. Every command completes,
/// noreply and quiet ones too: once every command before it completed and
/// its bytes were taken by `transmit()` (a noreply `set` resolves to
/// `true`, a quiet `metaGet` miss to `{ status: "miss" }`), or with the
/// error that broke the connection.
///
/// `value` is what the same `Client` method resolves to (see the package
/// README). Errors split by fault: a bad argument or key throws a
/// `MemcrabError` (`kind: "IllegalInput"`) and encodes nothing; the
/// server's refusal of one command completes it with `error` (`fatal:
/// false`); a broken stream (malformed reply, timeout, EOF) completes every
/// command in flight with a fatal error and closes the protocol for good
/// (`isClosed`).
///
/// Call `free()` (or `using p = new Protocol()`, `Symbol.dispose`) when done:
/// wasm memory is not garbage-collected promptly.
#[wasm_bindgen]
pub struct Protocol {
    /// The core's client over this one byte stream.
    cluster: Cluster<SocketError>,
    /// The stream's connection; `None` once it closed for good.
    conn: Option<ConnId>,
    /// Why it closed.
    error: Option<Error>,
    config: Config,
    next_id: u64,
    last_id: Option<u64>,
    /// By ticket index: the ticket, its id and how its result is made.
    jobs: Vec<Option<(Ticket, u64, Meaning, Shape)>>,
    pending: usize,
    /// The latest time `handleTimeout` was told.
    now: Millis,
    /// The reply timeout the cluster has now.
    armed: Option<Duration>,
}

#[wasm_bindgen]
impl Protocol {
    /// Creates a protocol. Options: `keyPrefix` (prepended to every key on
    /// the wire), `allowUnicodeKeys` (default false), `maxItemSize` (bytes,
    /// default 1 MiB + 512), `protocol` (`"text"`, the default, or
    /// `"meta"`), `binaryKeys` (meta protocol: the meta commands'
    /// keys may hold any bytes, sent base64-encoded).
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<ProtocolOptions>) -> Result<Protocol, JsValue> {
        let options = JsValue::from(options);
        let config = Config::from_js(&options, &CONNECTION_OPTIONS, "new Protocol")?;
        let mut cluster = Cluster::new(config.cluster(), ["the caller's socket"]);
        // The caller's socket is open: the stream starts at once.
        let conn = cluster.ensure_connection(Millis(0), NodeId(0));
        if let Some(conn) = conn {
            cluster.handle_connected(conn);
        }
        while cluster.poll_event().is_some() {}
        Ok(Protocol {
            cluster,
            conn,
            error: None,
            config,
            next_id: 0,
            last_id: None,
            jobs: Vec::new(),
            pending: 0,
            now: Millis(0),
            armed: None,
        })
    }

    /// The id of the command submitted last.
    #[wasm_bindgen(getter, js_name = lastId)]
    pub fn last_id(&self) -> Option<f64> {
        self.last_id.map(|id| id as f64)
    }

    /// The number of commands not completed yet.
    #[wasm_bindgen(getter, js_name = inFlight)]
    pub fn in_flight(&self) -> usize {
        self.pending
    }

    /// True once the stream broke, the server closed it, or `quit` was sent.
    #[wasm_bindgen(getter, js_name = isClosed)]
    pub fn is_closed(&self) -> bool {
        self.conn.is_none()
    }

    /// `set`: store `value` under `key`. Options: `flags`, `expire`
    /// (seconds), `noreply`, `deadline`. Completes with true (stored).
    pub fn set(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<f64, JsValue> {
        self.op("set", &key, &value, &options.into())
    }

    /// `add`: store only if `key` is absent (true) or not (false).
    pub fn add(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<f64, JsValue> {
        self.op("add", &key, &value, &options.into())
    }

    /// `replace`: store only if `key` is present.
    pub fn replace(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<f64, JsValue> {
        self.op("replace", &key, &value, &options.into())
    }

    /// `append`: add `value` after the stored one.
    pub fn append(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<f64, JsValue> {
        self.op("append", &key, &value, &options.into())
    }

    /// `prepend`: add `value` before the stored one.
    pub fn prepend(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<f64, JsValue> {
        self.op("prepend", &key, &value, &options.into())
    }

    /// `cas`: store only if the item still has the token `cas` from `gets`:
    /// true stored, false changed meanwhile, null not found.
    pub fn cas(
        &mut self,
        key: Key,
        value: Value,
        cas: Integer,
        options: Option<StoreOptions>,
    ) -> Result<f64, JsValue> {
        let call = command::build_cas(Front::Protocol, &key, &value, &cas, &options.into())?;
        self.submit(call)
    }

    /// `get`: the item (`{ key, value, flags }`) or null.
    pub fn get(&mut self, key: Key, options: Option<CallOptions>) -> Result<f64, JsValue> {
        self.op("get", &key, &options.into(), &JsValue::UNDEFINED)
    }

    /// One `get` for many keys: an object from key to item, hits only.
    #[wasm_bindgen(js_name = getMany)]
    pub fn get_many(&mut self, keys: Keys, options: Option<CallOptions>) -> Result<f64, JsValue> {
        self.op("getMany", &keys, &options.into(), &JsValue::UNDEFINED)
    }

    /// `gets`: the item with its `cas` token, or null.
    pub fn gets(&mut self, key: Key, options: Option<CallOptions>) -> Result<f64, JsValue> {
        self.op("gets", &key, &options.into(), &JsValue::UNDEFINED)
    }

    /// One `gets` for many keys.
    #[wasm_bindgen(js_name = getsMany)]
    pub fn gets_many(&mut self, keys: Keys, options: Option<CallOptions>) -> Result<f64, JsValue> {
        self.op("getsMany", &keys, &options.into(), &JsValue::UNDEFINED)
    }

    /// `delete`: true deleted, false not found.
    pub fn delete(&mut self, key: Key, options: Option<CallOptions>) -> Result<f64, JsValue> {
        self.op("delete", &key, &options.into(), &JsValue::UNDEFINED)
    }

    /// `incr` by `delta` (default 1): the new value, or null when not found.
    pub fn incr(
        &mut self,
        key: Key,
        delta: Option<Integer>,
        options: Option<CallOptions>,
    ) -> Result<f64, JsValue> {
        self.op("incr", &key, &delta.into(), &options.into())
    }

    /// `decr` (memcached stops at 0); completes as `incr`.
    pub fn decr(
        &mut self,
        key: Key,
        delta: Option<Integer>,
        options: Option<CallOptions>,
    ) -> Result<f64, JsValue> {
        self.op("decr", &key, &delta.into(), &options.into())
    }

    /// `touch` with a new expiration in seconds: true touched, false not found.
    pub fn touch(
        &mut self,
        key: Key,
        expire: f64,
        options: Option<CallOptions>,
    ) -> Result<f64, JsValue> {
        self.op("touch", &key, &JsValue::from_f64(expire), &options.into())
    }

    /// `stats`, with optional arguments such as `["settings"]`: an object
    /// of strings.
    pub fn stats(
        &mut self,
        args: Option<StatsArgs>,
        options: Option<CallOptions>,
    ) -> Result<f64, JsValue> {
        self.op("stats", &args.into(), &options.into(), &JsValue::UNDEFINED)
    }

    /// `version`: a string.
    pub fn version(&mut self, options: Option<CallOptions>) -> Result<f64, JsValue> {
        self.op(
            "version",
            &options.into(),
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
        )
    }

    /// `flush_all` after `delay` seconds (default 0): true.
    #[wasm_bindgen(js_name = flushAll)]
    pub fn flush_all(
        &mut self,
        delay: Option<f64>,
        options: Option<CallOptions>,
    ) -> Result<f64, JsValue> {
        self.op(
            "flushAll",
            &delay.into(),
            &options.into(),
            &JsValue::UNDEFINED,
        )
    }

    /// `quit`: the server closes the connection; completes with undefined.
    pub fn quit(&mut self) -> Result<f64, JsValue> {
        self.op(
            "quit",
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
        )
    }

    /// A meta get (`mg`): a `MetaReply`. Options pick what comes back
    /// (`returnValue` defaults to true; `returnCas`, `returnFlags`,
    /// `returnTtl`, …) and the stale-while-revalidate flags (`vivify`,
    /// `recache`). A `quiet` get that misses completes with
    /// `{ status: "miss" }` once a later command completes.
    #[wasm_bindgen(js_name = metaGet)]
    pub fn meta_get(&mut self, key: Key, options: Option<MetaGetOptions>) -> Result<f64, JsValue> {
        self.op("metaGet", &key, &options.into(), &JsValue::UNDEFINED)
    }

    /// A meta set (`ms`): status `ok`, `notStored`, `exists` or `notFound`.
    #[wasm_bindgen(js_name = metaSet)]
    pub fn meta_set(
        &mut self,
        key: Key,
        value: Value,
        options: Option<MetaSetOptions>,
    ) -> Result<f64, JsValue> {
        self.op("metaSet", &key, &value, &options.into())
    }

    /// A meta delete (`md`); `invalidate` marks the item stale instead.
    #[wasm_bindgen(js_name = metaDelete)]
    pub fn meta_delete(
        &mut self,
        key: Key,
        options: Option<MetaDeleteOptions>,
    ) -> Result<f64, JsValue> {
        self.op("metaDelete", &key, &options.into(), &JsValue::UNDEFINED)
    }

    /// A meta arithmetic (`ma`): incr or decr by `delta` (default 1).
    #[wasm_bindgen(js_name = metaArithmetic)]
    pub fn meta_arithmetic(
        &mut self,
        key: Key,
        options: Option<MetaArithmeticOptions>,
    ) -> Result<f64, JsValue> {
        self.op("metaArithmetic", &key, &options.into(), &JsValue::UNDEFINED)
    }

    /// A meta no-op (`mn`): completes once every command before it did.
    #[wasm_bindgen(js_name = metaNoop)]
    pub fn meta_noop(&mut self) -> Result<f64, JsValue> {
        self.op(
            "metaNoop",
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
        )
    }

    /// A meta debug (`me`): the item's metadata as text in the reply's value.
    #[wasm_bindgen(js_name = metaDebug)]
    pub fn meta_debug(&mut self, key: Key) -> Result<f64, JsValue> {
        self.op("metaDebug", &key, &JsValue::UNDEFINED, &JsValue::UNDEFINED)
    }

    /// Returns the bytes to write to the socket (empty when there are
    /// none); they are then the caller's to write, in order.
    pub fn transmit(&mut self) -> Uint8Array {
        let Some(conn) = self.conn else {
            return Uint8Array::new_with_length(0);
        };
        let out = self.cluster.transmit(conn);
        let bytes = Uint8Array::from(out);
        let n = out.len();
        self.cluster.advance_transmit(self.now, conn, n);
        self.events();
        bytes
    }

    /// Takes the bytes the socket read and returns the commands they
    /// completed, in order (often none, or several).
    pub fn receive(&mut self, bytes: Bytes) -> Result<Completions, JsValue> {
        let data = convert::bytes(&bytes, "bytes")?;
        if let Some(conn) = self.conn {
            self.cluster.handle_received(self.now, conn, &data);
            self.events();
        }
        Ok(self.poll())
    }

    /// Tells the protocol the socket closed; every command in flight
    /// completes with an error.
    #[wasm_bindgen(js_name = receiveEof)]
    pub fn receive_eof(&mut self) -> Completions {
        if let Some(conn) = self.conn {
            self.cluster.handle_eof(self.now, conn);
            self.events();
        }
        self.poll()
    }

    /// Tells the protocol the time is `now` (milliseconds, the clock of the
    /// `deadline` options); if a deadline passed, the protocol closes and
    /// every command in flight completes with a `Timeout` error.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) -> Completions {
        self.now = Millis(now.max(0.0) as u64);
        self.cluster.handle_timeout(self.now);
        self.events();
        self.poll()
    }

    /// Returns the earliest deadline in flight: when to call
    /// {@link Protocol.handleTimeout} next, or `undefined`.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.cluster.poll_timeout().map(|t| t.0 as f64)
    }

    /// Returns the commands completed without new bytes: noreply ones once
    /// their bytes were taken by `transmit()`.
    pub fn poll(&mut self) -> Completions {
        let out = Array::new();
        while let Some(ticket) = self.cluster.poll_done() {
            let Some((_, id, meaning, shape)) = self
                .jobs
                .get_mut(ticket.index())
                .and_then(|j| j.take_if(|j| j.0 == ticket))
            else {
                continue;
            };
            self.pending = self.pending.saturating_sub(1);
            let outcome = self.cluster.take(ticket).and_then(|o| o.into_iter().next());
            let result = match outcome {
                Some(Some(Err(fault))) => Err(fault_error(fault)),
                Some(reply) => shape.result(meaning, reply.and_then(Result::ok)),
                None => Err(Error::UnexpectedReply(
                    "the request's result was lost".into(),
                )),
            };
            out.push(&completion(id, result));
        }
        out.unchecked_into()
    }

    fn op(&mut self, op: &str, a: &JsValue, b: &JsValue, c: &JsValue) -> Result<f64, JsValue> {
        let call = command::build(Front::Protocol, op, a, b, c)?;
        self.submit(call)
    }

    fn submit(&mut self, call: Call) -> Result<f64, JsValue> {
        let fail = |e: Error| core_error(&e, None);
        command::check_key(&call.request, &self.config.policy, self.config.binary_keys)
            .map_err(fail)?;
        if self.conn.is_none() {
            return Err(fail(self.error.clone().unwrap_or(Error::UnexpectedClose)));
        }
        // The deadline is on the caller's clock: a timeout from time 0.
        let timeout = call
            .time
            .map(|t| Duration::from_millis(t.max(0.0).ceil() as u64));
        if timeout != self.armed {
            self.cluster.set_timeout(timeout);
            self.armed = timeout;
        }
        let cluster = &mut self.cluster;
        // Everything goes on this one stream, whatever its keys (an `mn`
        // too: it completes once every command before it did).
        let submitted = call.request.with_request(|r| match r {
            RequestRef::Text(r) => {
                cluster.submit_to(Millis(0), NodeId(0), core::slice::from_ref(r))
            }
            RequestRef::Meta(r) => {
                cluster.submit_meta_to(Millis(0), NodeId(0), core::slice::from_ref(r))
            }
        });
        let ticket = match submitted {
            Ok(ticket) => ticket,
            Err(Refusal::Invalid(e)) => return Err(fail(e)),
            Err(Refusal::Busy) => return Err(fail(Error::UnexpectedClose)),
        };
        self.events();
        let id = self.next_id;
        let index = ticket.index();
        if self.jobs.len() <= index {
            self.jobs.resize(index + 1, None);
        }
        self.jobs[index] = Some((ticket, id, call.meaning, call.shape));
        self.pending += 1;
        self.next_id += 1;
        self.last_id = Some(id);
        Ok(id as f64)
    }

    /// Notes the end of the stream: the cluster closed its connection.
    fn events(&mut self) {
        while let Some(event) = self.cluster.poll_event() {
            match event {
                Event::Close { conn } if Some(conn) == self.conn => {
                    self.conn = None;
                }
                Event::Unsolicited { error, .. } => {
                    self.error.get_or_insert(error);
                }
                _ => {}
            }
        }
    }
}

/// Returns the core error behind a request's fault on the stream.
fn fault_error(fault: Fault<SocketError>) -> Error {
    match fault {
        Fault::Core { error, .. } => error,
        // The stream ended before its first reply.
        _ => Error::UnexpectedClose,
    }
}

/// Returns `{ id, value }` or `{ id, error }`.
fn completion(id: u64, result: Result<JsValue, Error>) -> JsValue {
    let object: JsValue = Object::new().into();
    set(&object, "id", &JsValue::from_f64(id as f64));
    match result {
        Ok(value) => set(&object, "value", &value),
        Err(e) => set(&object, "error", &core_error(&e, None)),
    }
    object
}
