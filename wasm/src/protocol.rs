//! `Protocol`: the sans-IO core for JavaScript, bytes in and bytes out.

use js_sys::{Array, Uint8Array};
use memcrab_core::{Connection, GetCommand, KeyPolicy, Limits, Millis, StoreCommand};
use wasm_bindgen::prelude::*;

use crate::command::{Command, Opts};
use crate::convert;
use crate::error::core_error;
use crate::meta::MetaCommand;
use crate::reply;
use crate::typescript::{
    Bytes, CallOptions, Integer, Key, Keys, MetaArithmeticOptions, MetaDeleteOptions,
    MetaGetOptions, MetaSetOptions, ProtocolOptions, StatsArgs, StoreOptions, Value,
};

/// memcached's text protocol over any socket: commands return the bytes to
/// write, `receive` takes the bytes read and returns the completed replies.
///
/// A `Protocol` owns no socket and reads no clock, so it runs wherever
/// JavaScript can move bytes: Node's `net.Socket`, Deno's and Bun's TCP,
/// Cloudflare Workers' `connect()`. Many commands may be written before any
/// reply is read (pipelining); replies come back in order, each with the
/// `id` of its command (see {@link Protocol.lastId}).
///
/// Errors split by fault. A bad argument or key throws a `MemcrabError`
/// (`kind: "IllegalInput"`) and encodes nothing. The server's refusal of one
/// command comes back as its reply with `type: "error"`. A broken stream
/// (malformed reply, timeout, the server closing) fails every command in
/// flight and closes the protocol for good (`isClosed`): make a new one on
/// a new socket.
#[wasm_bindgen]
pub struct Protocol {
    conn: Connection,
    last_id: Option<u64>,
}

#[wasm_bindgen]
impl Protocol {
    /// Creates a protocol. Options: `keyPrefix` (prepended to every key on
    /// the wire), `allowUnicodeKeys` (default false), `maxItemSize` (bytes,
    /// default 1 MiB + 512, memcached's default item size), `protocol`
    /// (`"text"`, the default, or `"meta"`: the classic commands go as meta
    /// commands, so a noreply command's failure is still reported).
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<ProtocolOptions>) -> Result<Protocol, JsValue> {
        Ok(Protocol {
            conn: connection(convert::given(&options).unwrap_or(&JsValue::UNDEFINED))?,
            last_id: None,
        })
    }

    /// The id of the command encoded last; the reply to it carries the
    /// same `id`. Ids count up from 0, one per command (noreply ones too).
    #[wasm_bindgen(getter, js_name = lastId)]
    pub fn last_id(&self) -> Option<f64> {
        self.last_id.map(|id| id as f64)
    }

    /// The number of commands whose reply has not come back yet.
    #[wasm_bindgen(getter, js_name = inFlight)]
    pub fn in_flight(&self) -> usize {
        self.conn.in_flight()
    }

    /// True once the stream broke, the server closed it, or `quit` was sent.
    #[wasm_bindgen(getter, js_name = isClosed)]
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// Encodes `set`: store `value` under `key`. Options: `flags`, `expire`
    /// (seconds), `noreply`, `deadline` (see {@link Protocol.handleTimeout}).
    pub fn set(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<Uint8Array, JsValue> {
        self.store(StoreCommand::Set, &key, &value, convert::given(&options))
    }

    /// Encodes `add`: store only if `key` is absent.
    pub fn add(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<Uint8Array, JsValue> {
        self.store(StoreCommand::Add, &key, &value, convert::given(&options))
    }

    /// Encodes `replace`: store only if `key` is present.
    pub fn replace(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<Uint8Array, JsValue> {
        self.store(
            StoreCommand::Replace,
            &key,
            &value,
            convert::given(&options),
        )
    }

    /// Encodes `append`: add `value` after the stored one.
    pub fn append(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<Uint8Array, JsValue> {
        self.store(StoreCommand::Append, &key, &value, convert::given(&options))
    }

    /// Encodes `prepend`: add `value` before the stored one.
    pub fn prepend(
        &mut self,
        key: Key,
        value: Value,
        options: Option<StoreOptions>,
    ) -> Result<Uint8Array, JsValue> {
        self.store(
            StoreCommand::Prepend,
            &key,
            &value,
            convert::given(&options),
        )
    }

    /// Encodes `cas`: store only if the item still has the token `cas` from
    /// `gets`. The reply is `stored`, `exists` (changed meanwhile) or
    /// `notFound`.
    pub fn cas(
        &mut self,
        key: Key,
        value: Value,
        cas: Integer,
        options: Option<StoreOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let cas = convert::u64_arg(&cas, "cas")?;
        self.store(
            StoreCommand::Cas(cas),
            &key,
            &value,
            convert::given(&options),
        )
    }

    /// Encodes `get` for one key; the reply is `values` with 0 or 1 item.
    pub fn get(&mut self, key: Key, options: Option<CallOptions>) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        self.submit(&Command::get_one(GetCommand::Get, &key)?, opts.deadline)
    }

    /// Encodes one `get` for many keys; the reply's items are the hits.
    #[wasm_bindgen(js_name = getMany)]
    pub fn get_many(
        &mut self,
        keys: Keys,
        options: Option<CallOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        self.submit(&Command::get_many(GetCommand::Get, &keys)?, opts.deadline)
    }

    /// Encodes `gets` for one key: its item carries `cas` for {@link Protocol.cas}.
    pub fn gets(&mut self, key: Key, options: Option<CallOptions>) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        self.submit(&Command::get_one(GetCommand::Gets, &key)?, opts.deadline)
    }

    /// Encodes one `gets` for many keys.
    #[wasm_bindgen(js_name = getsMany)]
    pub fn gets_many(
        &mut self,
        keys: Keys,
        options: Option<CallOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        self.submit(&Command::get_many(GetCommand::Gets, &keys)?, opts.deadline)
    }

    /// Encodes `delete`; the reply is `deleted` or `notFound`.
    pub fn delete(
        &mut self,
        key: Key,
        options: Option<CallOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        let key = convert::bytes(&key, "key")?;
        let noreply = opts.noreply;
        self.submit(&Command::Delete { key, noreply }, opts.deadline)
    }

    /// Encodes `incr`; the reply is `number` (a bigint) or `notFound`.
    pub fn incr(
        &mut self,
        key: Key,
        delta: Integer,
        options: Option<CallOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        let command = Command::Incr {
            key: convert::bytes(&key, "key")?,
            delta: convert::u64_arg(&delta, "delta")?,
            noreply: opts.noreply,
        };
        self.submit(&command, opts.deadline)
    }

    /// Encodes `decr` (memcached stops at 0); replies as `incr`.
    pub fn decr(
        &mut self,
        key: Key,
        delta: Integer,
        options: Option<CallOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        let command = Command::Decr {
            key: convert::bytes(&key, "key")?,
            delta: convert::u64_arg(&delta, "delta")?,
            noreply: opts.noreply,
        };
        self.submit(&command, opts.deadline)
    }

    /// Encodes `touch` with a new expiration in seconds; the reply is
    /// `touched` or `notFound`.
    pub fn touch(
        &mut self,
        key: Key,
        expire: f64,
        options: Option<CallOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        let command = Command::Touch {
            key: convert::bytes(&key, "key")?,
            exptime: convert::i64_or(&JsValue::from_f64(expire), "expire", 0)?,
            noreply: opts.noreply,
        };
        self.submit(&command, opts.deadline)
    }

    /// Encodes `stats`, with optional arguments such as `["settings"]`; the
    /// reply is `stats`, an object of strings.
    pub fn stats(
        &mut self,
        args: Option<StatsArgs>,
        options: Option<CallOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        self.submit(&Command::stats(convert::given(&args))?, opts.deadline)
    }

    /// Encodes `version`; the reply is `version`.
    pub fn version(&mut self, options: Option<CallOptions>) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        self.submit(&Command::Version, opts.deadline)
    }

    /// Encodes `flush_all`, taking effect after `delay` seconds (default 0);
    /// the reply is `ok`.
    #[wasm_bindgen(js_name = flushAll)]
    pub fn flush_all(
        &mut self,
        delay: Option<f64>,
        options: Option<CallOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(convert::given(&options))?;
        let delay = convert::i64_or(&delay.into(), "delay", 0)?;
        let noreply = opts.noreply;
        self.submit(&Command::FlushAll { delay, noreply }, opts.deadline)
    }

    /// Encodes `quit`: the server closes the connection; nothing replies.
    pub fn quit(&mut self) -> Result<Uint8Array, JsValue> {
        self.submit(&Command::Quit, None)
    }

    /// Encodes a meta get (`mg`); the reply is `meta`. Options pick what
    /// comes back (`returnValue` defaults to true; `returnCas`,
    /// `returnFlags`, `returnTtl`, …) and the stale-while-revalidate flags
    /// (`vivify`, `recache`: the reply's `win` says this client should
    /// recompute the value). A `quiet` get answers only on a hit.
    #[wasm_bindgen(js_name = metaGet)]
    pub fn meta_get(
        &mut self,
        key: Key,
        options: Option<MetaGetOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let (command, deadline) = meta_options(&options, |o| MetaCommand::get(&key, o))?;
        self.submit(&command, deadline)
    }

    /// Encodes a meta set (`ms`); the reply is `meta` with status `ok`,
    /// `notStored`, `exists` (compareCas lost) or `notFound`.
    #[wasm_bindgen(js_name = metaSet)]
    pub fn meta_set(
        &mut self,
        key: Key,
        value: Value,
        options: Option<MetaSetOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let (command, deadline) = meta_options(&options, |o| MetaCommand::set(&key, &value, o))?;
        self.submit(&command, deadline)
    }

    /// Encodes a meta delete (`md`); `invalidate` marks the item stale
    /// instead of removing it.
    #[wasm_bindgen(js_name = metaDelete)]
    pub fn meta_delete(
        &mut self,
        key: Key,
        options: Option<MetaDeleteOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let (command, deadline) = meta_options(&options, |o| MetaCommand::delete(&key, o))?;
        self.submit(&command, deadline)
    }

    /// Encodes a meta arithmetic (`ma`): incr or decr by `delta` (default
    /// 1), creating the counter at `initial` on a miss with `vivify`.
    #[wasm_bindgen(js_name = metaArithmetic)]
    pub fn meta_arithmetic(
        &mut self,
        key: Key,
        options: Option<MetaArithmeticOptions>,
    ) -> Result<Uint8Array, JsValue> {
        let (command, deadline) = meta_options(&options, |o| MetaCommand::arithmetic(&key, o))?;
        self.submit(&command, deadline)
    }

    /// Encodes a meta no-op (`mn`); its reply (`meta` with status `noop`)
    /// says every command before it was processed.
    #[wasm_bindgen(js_name = metaNoop)]
    pub fn meta_noop(&mut self) -> Result<Uint8Array, JsValue> {
        self.submit(&Command::Meta(MetaCommand::Noop), None)
    }

    /// Encodes a meta debug (`me`): the item's metadata as text (`meta`
    /// with status `debug`, its `text()` like `exp=-1 la=3 cas=7 …`).
    #[wasm_bindgen(js_name = metaDebug)]
    pub fn meta_debug(&mut self, key: Key) -> Result<Uint8Array, JsValue> {
        self.submit(&Command::Meta(MetaCommand::debug(&key)?), None)
    }

    /// Takes the bytes the socket read and returns the replies they
    /// completed, in order (often none, or several).
    pub fn receive(&mut self, bytes: Bytes) -> Result<Replies, JsValue> {
        let data = convert::bytes(&bytes, "bytes")?;
        self.conn.receive(&data);
        Ok(self.drain())
    }

    /// Tells the protocol the socket was closed by the other side; every
    /// command still in flight comes back as an error reply.
    #[wasm_bindgen(js_name = receiveEof)]
    pub fn receive_eof(&mut self) -> Replies {
        self.conn.receive_eof();
        self.drain()
    }

    /// Tells the protocol the time is `now` (milliseconds, the clock of the
    /// `deadline` options); if a deadline passed, the protocol closes and
    /// every command in flight comes back as a `Timeout` error reply.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) -> Replies {
        self.conn.handle_timeout(Millis(now.max(0.0) as u64));
        self.drain()
    }

    /// Returns the earliest deadline in flight: when to call
    /// {@link Protocol.handleTimeout} next, or `undefined`.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.conn.poll_timeout().map(|t| t.0 as f64)
    }

    fn store(
        &mut self,
        command: StoreCommand,
        key: &JsValue,
        value: &JsValue,
        options: Option<&JsValue>,
    ) -> Result<Uint8Array, JsValue> {
        let opts = Opts::from_js(options)?;
        let command = Command::store(command, key, value, &opts)?;
        self.submit(&command, opts.deadline)
    }

    /// Encodes `command` and hands its bytes out.
    fn submit(
        &mut self,
        command: &Command,
        deadline: Option<Millis>,
    ) -> Result<Uint8Array, JsValue> {
        let id = command
            .submit(&mut self.conn, deadline)
            .map_err(|e| core_error(&e, None))?;
        self.last_id = Some(id.0);
        let bytes = Uint8Array::from(self.conn.transmit());
        let n = self.conn.transmit().len();
        self.conn.advance_transmit(n);
        Ok(bytes)
    }

    fn drain(&mut self) -> Replies {
        let out = Array::new();
        while let Some((id, result)) = self.conn.poll() {
            out.push(&reply::reply(id, &result));
        }
        out.unchecked_into()
    }
}

/// Reads a meta command's options (and its `deadline`) and builds it.
fn meta_options<T: AsRef<JsValue>>(
    options: &Option<T>,
    build: impl FnOnce(&JsValue) -> Result<MetaCommand, JsValue>,
) -> Result<(Command, Option<Millis>), JsValue> {
    let undefined = JsValue::UNDEFINED;
    let o = convert::given(options).unwrap_or(&undefined);
    let command = build(o)?;
    let deadline = convert::millis(&convert::field(o, "deadline"), "option deadline")?;
    Ok((Command::Meta(command), deadline))
}

/// Builds a connection from `{ keyPrefix, allowUnicodeKeys, maxItemSize,
/// protocol }`.
pub(crate) fn connection(options: &JsValue) -> Result<Connection, JsValue> {
    convert::check_options(options)?;
    let mut policy = KeyPolicy::new().allow_unicode_keys(convert::bool_field(
        options,
        "allowUnicodeKeys",
        false,
    )?);
    let prefix = convert::field(options, "keyPrefix");
    if !prefix.is_undefined() && !prefix.is_null() {
        policy = policy.with_prefix(convert::bytes(&prefix, "option keyPrefix")?);
    }
    let mut limits = Limits::default();
    let max = convert::field(options, "maxItemSize");
    if !max.is_undefined() && !max.is_null() {
        limits.max_item_size = convert::u64_arg(&max, "option maxItemSize")? as usize;
    }
    let mut conn = Connection::with_config(policy, limits);
    match convert::field(options, "protocol").as_string().as_deref() {
        None | Some("text") => {}
        Some("meta") => conn.set_protocol(memcrab_core::Protocol::Meta),
        Some(other) => {
            return Err(crate::error::type_error(&format!(
                "unknown protocol {other:?}: use \"text\" or \"meta\""
            )))
        }
    }
    Ok(conn)
}

#[wasm_bindgen]
extern "C" {
    /// An array of reply objects.
    #[wasm_bindgen(typescript_type = "Reply[]")]
    pub type Replies;
}
