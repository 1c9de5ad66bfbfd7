//! `Session`: the sans-IO client behind the package's `Client`, over one
//! server or many.
//!
//! The JS driver only moves bytes and settles promises; every decision is
//! here: validation, routing (the core's router: pymemcache's rendezvous
//! hashing, or ketama), splitting a multi-key get per server and merging
//! the parts, timeouts, when to open or close a socket, and what each reply
//! resolves to. It is the seam a core cluster client will later sit behind.
//!
//! Driver manual, in the order of a turn:
//!
//! 1. `submit(op, a, b, c, d)` → ticket (throws a `MemcrabError` for bad
//!    input; nothing is queued then).
//! 2. `actions()` → `undefined` or a flat array `[op, server, gen, …]`:
//!    op 0 = open a socket to `servers[server]` (then report `connected` or
//!    `connectFailed` with `gen`), op 1 = close that socket.
//! 3. `transmit(server)` → bytes to write on that server's open socket, or
//!    `undefined`.
//! 4. Socket events: `receive(server, gen, bytes)`, `closed(server, gen)`.
//! 5. `poll()` (also returned by `receive`, `closed`, `handleTimeout`) →
//!    `undefined` or a flat array `[ticket, ok, value, …]`: ok true resolves
//!    the ticket with value, false rejects it with the `MemcrabError` value.
//! 6. `timeout()` → milliseconds until `handleTimeout()` is due, or
//!    `undefined`.
//!
//! Events carrying a stale `gen` (a socket replaced since) are ignored.

use std::collections::BTreeMap;

use js_sys::Uint8Array;
use memcrab_core::router::{self, NodeId, Route};
use memcrab_core::{Error, Item, Millis, Reply};
use wasm_bindgen::prelude::*;

use crate::command::{self, Call, Command, Front};
use crate::config::{Config, CONNECTION_OPTIONS};
use crate::convert::{self, field};
use crate::error::{bad_argument, core_error, js_error, CLOSED, IO};
use crate::node::{Done, Node, Outcome};
use crate::shape::Shape;
use crate::typescript::SessionOptions;

/// Option names the JS driver reads itself (sockets); accepted here.
const DRIVER_OPTIONS: [&str; 4] = ["connectTimeoutMs", "tls", "socket", "protocols"];

/// The state of one server's socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SocketState {
    /// No socket.
    None,
    /// Asked the driver to open one.
    Opening,
    /// Open.
    Open,
}

/// One server.
#[derive(Debug)]
struct Slot {
    name: String,
    node: Option<Node>,
    /// Counts sockets: events of an older one are stale.
    gen: u32,
    state: SocketState,
}

/// A `getMany` split over several servers, merged as its parts complete.
#[derive(Debug)]
struct Merge {
    shape: Shape,
    left: usize,
    items: Vec<Item>,
    error: Option<JsValue>,
}

/// The client state behind one `Client`: servers, their connections, the
/// tickets in flight. See the module documentation for the driver's calls.
#[wasm_bindgen]
pub struct Session {
    slots: Vec<Slot>,
    router: Option<router::Router>,
    config: Config,
    timeout_ms: Option<f64>,
    next_ticket: u64,
    merges: BTreeMap<u64, Merge>,
    done: Vec<Done>,
    /// Settled tickets, flat: ticket, ok, value.
    settled: Vec<JsValue>,
    actions: Vec<u32>,
    closed: bool,
}

#[wasm_bindgen]
impl Session {
    /// Creates a session over `servers` (names such as `"127.0.0.1:11211"`,
    /// hashed as pymemcache hashes them). Options: the connection options
    /// of `Protocol`, `timeoutMs` (per request, default none),
    /// `distribution`, `retryAttempts`, `retryTimeoutMs`, `deadTimeoutMs`
    /// (the router's, for several servers), and the driver's
    /// `connectTimeoutMs`, `tls`, `socket`.
    #[wasm_bindgen(constructor)]
    pub fn new(servers: Vec<String>, options: Option<SessionOptions>) -> Result<Session, JsValue> {
        let options = JsValue::from(options);
        let mut known: Vec<&str> = CONNECTION_OPTIONS.to_vec();
        known.extend(DRIVER_OPTIONS);
        known.extend([
            "timeoutMs",
            "distribution",
            "retryAttempts",
            "retryTimeoutMs",
            "deadTimeoutMs",
        ]);
        let config = Config::from_js(&options, &known, "connect")?;
        if servers.is_empty() {
            return Err(bad_argument("connect needs at least one server"));
        }
        for s in &servers {
            if s.is_empty() || s.contains(char::is_whitespace) {
                return Err(bad_argument(&format!("bad server address {s:?}")));
            }
        }
        let timeout_ms = convert::millis_f64(&field(&options, "timeoutMs"), "option timeoutMs")?;
        let router = if servers.len() > 1 {
            let distinct: std::collections::BTreeSet<&String> = servers.iter().collect();
            if distinct.len() != servers.len() {
                return Err(bad_argument("a server is listed twice"));
            }
            Some(
                crate::router::from_options(
                    &servers,
                    &options,
                    Millis(js_sys::Date::now() as u64),
                )?
                .0,
            )
        } else {
            None
        };
        Ok(Session {
            slots: servers
                .into_iter()
                .map(|name| Slot {
                    name,
                    node: None,
                    gen: 0,
                    state: SocketState::None,
                })
                .collect(),
            router,
            config,
            timeout_ms,
            next_ticket: 0,
            merges: BTreeMap::new(),
            done: Vec::new(),
            settled: Vec::new(),
            actions: Vec::new(),
            closed: false,
        })
    }

    /// The servers' names, in the order given.
    #[wasm_bindgen(getter)]
    pub fn servers(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.name.clone()).collect()
    }

    /// The number of tickets not settled yet.
    #[wasm_bindgen(getter, js_name = inFlight)]
    pub fn in_flight(&self) -> usize {
        self.slots
            .iter()
            .filter_map(|s| s.node.as_ref())
            .map(Node::outstanding)
            .sum::<usize>()
    }

    /// Submits the command `op` (a `Client` method's name) with its
    /// arguments; returns its ticket.
    pub fn submit(
        &mut self,
        op: &str,
        a: JsValue,
        b: JsValue,
        c: JsValue,
        d: JsValue,
    ) -> Result<f64, JsValue> {
        if self.closed {
            return Err(js_error(CLOSED, "CLOSED", "the client is closed", true));
        }
        let call = if op == "cas" {
            command::build_cas(Front::Session, &a, &b, &c, &d)?
        } else if op == "quit" {
            return Err(bad_argument("use close() to end a client"));
        } else {
            command::build(Front::Session, op, &a, &b, &c)?
        };
        call.command
            .check_keys(&self.config.policy, self.config.binary_keys)
            .map_err(|e| core_error(&e, None))?;
        let targets = self.targets(&call)?;
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let deadline = call
            .time
            .or(self.timeout_ms)
            .map(|ms| Millis((js_sys::Date::now() + ms).ceil() as u64));
        if targets.len() > 1 {
            self.merges.insert(
                ticket,
                Merge {
                    shape: call.shape,
                    left: targets.len(),
                    items: Vec::new(),
                    error: None,
                },
            );
        }
        for (index, command) in targets {
            let command = command.as_ref().unwrap_or(&call.command);
            self.submit_to(index, command, call.shape, deadline, ticket)?;
        }
        Ok(ticket as f64)
    }

    /// Asks for a socket to `server` now (`connect` opens every server's
    /// first socket eagerly, to report an unreachable server at once).
    pub fn prepare(&mut self, server: usize) {
        if let Some(slot) = self.slots.get_mut(server) {
            if slot.node.is_none() && !self.closed {
                slot.node = Some(Node::new(self.config.connection()));
                slot.gen = slot.gen.wrapping_add(1);
                slot.state = SocketState::Opening;
                self.actions.extend([0, server as u32, slot.gen]);
            }
        }
    }

    /// Returns what the driver must do with sockets, flat
    /// `[op, server, gen, …]` (op 0 open, 1 close), or `undefined`.
    pub fn actions(&mut self) -> Option<Vec<u32>> {
        if self.actions.is_empty() {
            None
        } else {
            Some(core::mem::take(&mut self.actions))
        }
    }

    /// Returns the bytes to write on `server`'s open socket, or `undefined`.
    ///
    /// The `Uint8Array` is a view of wasm memory, valid until the next call
    /// into the module: the driver copies it at once (one copy, into memory
    /// it can pool, instead of two).
    pub fn transmit(&mut self, server: usize) -> Option<Uint8Array> {
        let slot = self.slots.get_mut(server)?;
        if slot.state != SocketState::Open {
            return None;
        }
        let node = slot.node.as_mut()?;
        if !node.conn.wants_write() {
            return None;
        }
        let bytes = node.conn.transmit();
        let n = bytes.len();
        // SAFETY: the view covers bytes of the outgoing buffer, which stay in
        // place until the connection is next written to, reserved or
        // dropped, all of which need a call into this module; the driver
        // copies the view before making one (documented above), and wasm
        // memory cannot grow in between.
        #[allow(unsafe_code)]
        let view = unsafe { Uint8Array::view(bytes) };
        node.conn.advance_transmit(n);
        Some(view)
    }

    /// Reports that the socket `gen` to `server` opened.
    pub fn connected(&mut self, server: usize, gen: u32) {
        if let Some(slot) = self.slot(server, gen) {
            slot.state = SocketState::Open;
        }
        if let Some(router) = &mut self.router {
            router.report_success(NodeId(server));
        }
    }

    /// Reports that the socket `gen` to `server` could not be opened:
    /// its requests fail with `message` (`kind: "Io"`).
    #[wasm_bindgen(js_name = connectFailed)]
    pub fn connect_failed(
        &mut self,
        server: usize,
        gen: u32,
        message: &str,
    ) -> Option<Vec<JsValue>> {
        self.socket_failed(server, gen, "CONNECT_FAILED", message);
        self.poll()
    }

    /// Takes the bytes read from `server`'s socket `gen`; returns what
    /// completed, as `poll()`.
    pub fn receive(&mut self, server: usize, gen: u32, bytes: &[u8]) -> Option<Vec<JsValue>> {
        if let Some(slot) = self.slot(server, gen) {
            if let Some(node) = slot.node.as_mut() {
                node.conn.receive(bytes);
            }
            self.drain_slot(server);
        }
        self.take_settled()
    }

    /// Reports that `server`'s socket `gen` closed (or failed, with
    /// `message`): the requests in flight on it fail.
    pub fn closed(
        &mut self,
        server: usize,
        gen: u32,
        message: Option<String>,
    ) -> Option<Vec<JsValue>> {
        if let Some(slot) = self.slot(server, gen) {
            if let Some(node) = slot.node.as_mut() {
                node.conn.receive_eof();
            }
            self.drain_slot(server);
            let message = message.unwrap_or_else(|| "the server closed the connection".into());
            self.socket_failed(server, gen, "CONNECTION_LOST", &message);
        }
        self.poll()
    }

    /// Checks the deadlines against the clock; what timed out fails.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self) -> Option<Vec<JsValue>> {
        let now = Millis(js_sys::Date::now().max(0.0) as u64);
        for i in 0..self.slots.len() {
            if let Some(node) = self.slots[i].node.as_mut() {
                node.conn.handle_timeout(now);
                self.drain_slot(i);
            }
        }
        self.poll()
    }

    /// Returns the milliseconds until `handleTimeout()` is due, or
    /// `undefined` when no deadline is pending.
    pub fn timeout(&self) -> Option<f64> {
        let next = self
            .slots
            .iter()
            .filter_map(|s| s.node.as_ref()?.conn.poll_timeout())
            .min()?;
        Some((next.0 as f64 - js_sys::Date::now()).max(0.0))
    }

    /// Returns the settled tickets, flat `[ticket, ok, value, …]`, or
    /// `undefined` when none settled.
    pub fn poll(&mut self) -> Option<Vec<JsValue>> {
        for i in 0..self.slots.len() {
            self.drain_slot(i);
        }
        self.take_settled()
    }

    /// Closes the session: every ticket in flight fails with `Closed`, later
    /// submits too; `actions()` then lists the sockets to close.
    pub fn close(&mut self) -> Option<Vec<JsValue>> {
        self.closed = true;
        let e = Error::UnexpectedClose;
        for i in 0..self.slots.len() {
            let slot = &mut self.slots[i];
            if let Some(mut node) = slot.node.take() {
                node.fail_all(&e, &mut self.done);
            }
            if slot.state != SocketState::None {
                self.actions.extend([1, i as u32, slot.gen]);
            }
            slot.state = SocketState::None;
        }
        let done: Vec<Done> = self.done.drain(..).collect();
        for d in done {
            let error = js_error(CLOSED, "CLOSED", "closed by Client.close()", true);
            self.finish(d.ticket, Err(error));
        }
        self.poll()
    }
}

impl Session {
    /// Returns the slot if `gen` is its current socket.
    fn slot(&mut self, server: usize, gen: u32) -> Option<&mut Slot> {
        self.slots
            .get_mut(server)
            .filter(|s| s.gen == gen && s.state != SocketState::None)
    }

    /// Decides which server(s) a call goes to, with the command for each.
    /// `None` as a command means the call's own (not split).
    fn targets(&mut self, call: &Call) -> Result<Vec<(usize, Option<Command>)>, JsValue> {
        let keys = call.command.keys();
        if keys.is_empty() {
            if let Command::FlushAll { .. } = call.command {
                return Ok((0..self.slots.len()).map(|i| (i, None)).collect());
            }
            return Ok(vec![(self.server_option(&call.server)?, None)]);
        }
        if self.router.is_none() {
            return Ok(vec![(0, None)]);
        }
        let mut groups: Vec<(usize, Vec<Vec<u8>>)> = Vec::new();
        for key in &keys {
            let index = self.route(key)?;
            match groups.iter_mut().find(|(i, _)| *i == index) {
                Some((_, ks)) => ks.push(key.to_vec()),
                None => groups.push((index, vec![key.to_vec()])),
            }
        }
        if groups.len() == 1 {
            return Ok(vec![(groups[0].0, None)]);
        }
        Ok(groups
            .into_iter()
            .map(|(i, ks)| (i, Some(call.command.with_keys(ks))))
            .collect())
    }

    /// Returns the server of `key`.
    fn route(&mut self, key: &[u8]) -> Result<usize, JsValue> {
        let now = Millis(js_sys::Date::now().max(0.0) as u64);
        let Some(router) = &mut self.router else {
            return Ok(0);
        };
        match router.node_for(key, now) {
            Route::Node(id) => Ok(id.0),
            Route::Wait(id) => Err(js_error(
                IO,
                "SERVER_DOWN",
                &format!(
                    "server {} failed moments ago; it is retried after retryTimeoutMs",
                    router.node_name(id).unwrap_or("?")
                ),
                false,
            )),
            Route::NoNodes => Err(js_error(
                "NoServers",
                "NO_SERVERS",
                "every server is marked down",
                false,
            )),
        }
    }

    /// Reads the `server` option (an index or a name; default the first).
    fn server_option(&self, server: &JsValue) -> Result<usize, JsValue> {
        if server.is_undefined() || server.is_null() {
            return Ok(0);
        }
        if let Some(name) = server.as_string() {
            return self
                .slots
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| bad_argument(&format!("no server named {name:?}")));
        }
        match server.as_f64() {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && (n as usize) < self.slots.len() => {
                Ok(n as usize)
            }
            _ => Err(bad_argument(
                "option server must be a server's index or name",
            )),
        }
    }

    /// Submits one part of a ticket to `index`, opening a connection first
    /// when there is none.
    fn submit_to(
        &mut self,
        index: usize,
        command: &Command,
        shape: Shape,
        deadline: Option<Millis>,
        ticket: u64,
    ) -> Result<(), JsValue> {
        let slot = &mut self.slots[index];
        if slot.node.as_ref().is_none_or(|n| n.conn.is_closed()) {
            if slot.state != SocketState::None {
                self.actions.extend([1, index as u32, slot.gen]);
            }
            slot.node = Some(Node::new(self.config.connection()));
            slot.gen = slot.gen.wrapping_add(1);
            slot.state = SocketState::Opening;
            self.actions.extend([0, index as u32, slot.gen]);
        }
        let result = match slot.node.as_mut() {
            Some(node) => node.submit(command, shape, deadline, ticket),
            None => Err(Error::UnexpectedClose),
        };
        if let Err(e) = result {
            self.merges.remove(&ticket);
            return Err(self.error_of(index, &e));
        }
        Ok(())
    }

    /// Moves what completed on `index` to `done`; a broken connection is
    /// dropped and its socket closed.
    fn drain_slot(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        let flushed = slot.state == SocketState::Open;
        let Some(node) = slot.node.as_mut() else {
            return;
        };
        let flushed = flushed && !node.conn.wants_write();
        let before = self.done.len();
        node.drain(&mut self.done, flushed);
        if self.done.len() == before && !node.conn.is_closed() {
            return;
        }
        if let Some(e) = node.conn.error().cloned() {
            slot.node = None;
            if slot.state != SocketState::None {
                self.actions.extend([1, index as u32, slot.gen]);
            }
            slot.state = SocketState::None;
            if matches!(e, Error::Timeout | Error::UnexpectedClose) {
                if let Some(router) = &mut self.router {
                    router.report_failure(NodeId(index), Millis(js_sys::Date::now() as u64));
                }
            }
        } else if node.conn.is_closed() && node.outstanding() == 0 {
            slot.node = None;
            if slot.state != SocketState::None {
                self.actions.extend([1, index as u32, slot.gen]);
            }
            slot.state = SocketState::None;
        }
        let done: Vec<Done> = self.done.drain(before..).collect();
        for d in done {
            // (The common case, one reply, allocates nothing more.)
            let ticket = d.ticket;
            let result = match d.result {
                Ok(Outcome::Reply(Reply::Values(items))) if self.merges.contains_key(&ticket) => {
                    self.merge(ticket, Ok(items.into_vec()));
                    continue;
                }
                Err(e) if self.merges.contains_key(&ticket) => {
                    let error = self.error_of(index, &e);
                    self.merge(ticket, Err(error));
                    continue;
                }
                Ok(outcome) => Done {
                    ticket,
                    shape: d.shape,
                    result: Ok(outcome),
                }
                .value()
                .map_err(|e| core_error(&e, None)),
                Err(e) => Err(self.error_of(index, &e)),
            };
            self.finish(ticket, result);
        }
    }

    /// Returns the `MemcrabError` for `e` on server `index` (a fatal one
    /// names the server).
    fn error_of(&self, index: usize, e: &Error) -> JsValue {
        let context = e
            .is_fatal()
            .then(|| self.slots.get(index).map(|s| s.name.as_str()))
            .flatten();
        core_error(e, context)
    }

    /// Returns the settled tickets (flat), with a last `[-1, false,
    /// undefined]` when `actions()` has something: the driver then calls it.
    fn take_settled(&mut self) -> Option<Vec<JsValue>> {
        if !self.actions.is_empty() {
            self.settled
                .extend([JsValue::from_f64(-1.0), JsValue::FALSE, JsValue::UNDEFINED]);
        }
        if self.settled.is_empty() {
            None
        } else {
            Some(core::mem::take(&mut self.settled))
        }
    }

    /// Adds one part to a merged ticket; settles it with the last part.
    fn merge(&mut self, ticket: u64, part: Result<Vec<Item>, JsValue>) {
        let Some(m) = self.merges.get_mut(&ticket) else {
            return;
        };
        match part {
            Ok(items) => m.items.extend(items),
            Err(e) => {
                m.error.get_or_insert(e);
            }
        }
        m.left -= 1;
        if m.left > 0 {
            return;
        }
        let Some(m) = self.merges.remove(&ticket) else {
            return;
        };
        let result = match m.error {
            Some(e) => Err(e),
            None => m
                .shape
                .value(Reply::Values(m.items.into()))
                .map_err(|e| core_error(&e, None)),
        };
        self.finish(ticket, result);
    }

    /// Fails the socket `gen` of `server` with an I/O error.
    fn socket_failed(&mut self, server: usize, gen: u32, code: &str, message: &str) {
        let Some(slot) = self.slot(server, gen) else {
            return;
        };
        let name = slot.name.clone();
        let node = slot.node.take();
        slot.state = SocketState::None;
        if let Some(mut node) = node {
            let mut failed = Vec::new();
            node.fail_all(&Error::UnexpectedClose, &mut failed);
            for d in failed {
                let error = js_error(IO, code, &format!("{message} ({name})"), true);
                if self.merges.contains_key(&d.ticket) {
                    self.merge(d.ticket, Err(error));
                } else {
                    self.finish(d.ticket, Err(error));
                }
            }
        }
        if let Some(router) = &mut self.router {
            router.report_failure(NodeId(server), Millis(js_sys::Date::now() as u64));
        }
    }

    /// Records a settled ticket.
    fn finish(&mut self, ticket: u64, result: Result<JsValue, JsValue>) {
        let (ok, value) = match result {
            Ok(v) => (true, v),
            Err(e) => (false, e),
        };
        self.settled
            .extend([JsValue::from_f64(ticket as f64), ok.into(), value]);
    }
}
