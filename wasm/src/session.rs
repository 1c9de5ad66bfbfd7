//! `Session`: the engine of the package's promise `Client`, a thin driver
//! of the core's [`Cluster`].
//!
//! The cluster decides everything: validation, routing (pymemcache's
//! rendezvous hashing, or ketama), node health, splitting a multi-key get
//! per server and merging the parts, merging concurrent single-key gets
//! bound for one server into one multi-key get, `ignoreExc`, timeouts, when
//! to open or close a socket, and what each reply means. This file only
//! turns JS arguments into requests, the cluster's events into socket
//! actions for the JS driver, and results into JS values. The JS driver
//! moves bytes, tells the time and settles promises.
//!
//! Driver manual, in the order of a turn. `now` arguments are the driver's
//! monotonic clock in milliseconds (`performance.now()`; `Date.now()` when
//! left out):
//!
//! 1. `submit(op, a, b, c, d, now)` → ticket (throws a `MemcrabError` for
//!    bad input; nothing is queued then).
//! 2. `flush(now)` (sends the gets held back to be merged) or `actions()` →
//!    `undefined` or a flat array `[op, conn, gen, server, …]`: op 0 = open
//!    socket `conn` to `servers[server]` (then report `connected` or
//!    `connectFailed` with `conn` and `gen`), op 1 = close socket `conn`.
//! 3. `transmit(conn)` → bytes to write on that open socket, or
//!    `undefined`.
//! 4. Socket events: `receive(conn, gen, bytes, now)`,
//!    `closed(conn, gen, message, now)`.
//! 5. `poll(now)` (also returned by `receive`, `closed`, `connectFailed`,
//!    `handleTimeout`) → `undefined` or a flat array `[ticket, ok, value,
//!    …]`: ok true resolves the ticket with value, false rejects it with
//!    the `MemcrabError` value. A ticket of -1 says `actions()` has
//!    something.
//! 6. `timeout(now)` → milliseconds until `handleTimeout(now)` is due, or
//!    `undefined`.
//!
//! Events carrying a stale `gen` (a socket replaced since) are ignored.

use core::time::Duration;

use bytes::Bytes;
use js_sys::Uint8Array;
use memcrab_core::cluster::{Cluster, ConnId, Event, Fault, Refusal, Ticket};
use memcrab_core::command::{Meaning, Outcome, OwnedRequest, RequestRef};
use memcrab_core::router::NodeId;
use memcrab_core::{Error, GetCommand, KeyPolicy, Millis};
use wasm_bindgen::prelude::*;

use crate::command::{self, Call, Front};
use crate::config::{Config, CONNECTION_OPTIONS};
use crate::convert::{self, field};
use crate::driver::{Arg, SessionDriver};
use crate::error::{bad_argument, core_error, js_error, SocketError, CLOSED, IO};
use crate::shape::Shape;
use crate::typescript::SessionOptions;

/// Option names the JS driver reads itself (sockets); accepted here.
const DRIVER_OPTIONS: [&str; 4] = ["connectTimeoutMs", "tls", "socket", "protocols"];

/// The commands of `submitCode`, by index.
const OPS: [&str; 24] = [
    "set",
    "add",
    "replace",
    "append",
    "prepend",
    "cas",
    "get",
    "gets",
    "getMany",
    "getsMany",
    "delete",
    "incr",
    "decr",
    "touch",
    "stats",
    "version",
    "flushAll",
    "shutdown",
    "metaGet",
    "metaSet",
    "metaDelete",
    "metaArithmetic",
    "metaNoop",
    "metaDebug",
];

/// Gets merged into one multi-key get at most, by default (`mergeGets`).
const MERGE_GETS: usize = 64;

/// The socket of one connection of the cluster.
#[derive(Clone, Copy, Debug)]
struct Sock {
    conn: ConnId,
    /// Counts sockets: events of an older one are stale.
    gen: u32,
}

/// A ticket in flight and how its result becomes a JS value.
#[derive(Clone, Copy, Debug)]
struct Job {
    ticket: Ticket,
    id: f64,
    meaning: Meaning,
    shape: Shape,
}

/// The client state behind one `Client`: the core's cluster over the
/// servers, their sockets, the tickets in flight. See the module
/// documentation for the driver's calls.
#[wasm_bindgen]
pub struct Session {
    cluster: Cluster<SocketError>,
    names: Vec<String>,
    /// By connection index.
    socks: Vec<Option<Sock>>,
    gen: u32,
    /// By ticket index.
    jobs: Vec<Option<Job>>,
    pending: usize,
    next_id: f64,
    /// The session's `timeoutMs` (a call's own `timeoutMs` replaces it
    /// for that call's submit).
    timeout: Option<Duration>,
    policy: KeyPolicy,
    binary_keys: bool,
    /// The bytes of the last `transmit()`, written once the driver calls
    /// again (it copies them first).
    unsent: Option<(ConnId, usize)>,
    /// The latest time the driver told.
    last: f64,
    /// Settled tickets, flat: ticket, ok, value.
    settled: Vec<JsValue>,
    actions: Vec<u32>,
    closed: bool,
    /// The JS side, when it takes calls (else the flat arrays).
    driver: Option<SessionDriver>,
}

#[wasm_bindgen]
impl Session {
    /// Creates a session over `servers` (names such as `"127.0.0.1:11211"`,
    /// hashed as pymemcache hashes them). Options: the connection options
    /// of `Protocol`, `timeoutMs` (per request, default none),
    /// `distribution`, `retryAttempts`, `retryTimeoutMs`, `deadTimeoutMs`
    /// (node health, for several servers), `ignoreExc` (a failed request
    /// gives its command's default: a miss, false), `mergeGets` (most gets
    /// merged into one, default 64; 0 off), and the driver's
    /// `connectTimeoutMs`, `tls`, `socket`, `protocols`.
    #[wasm_bindgen(constructor)]
    ///
    /// With a `driver` the session calls it to open, write and close
    /// sockets and to settle tickets; `flush()` then writes, and the calls
    /// that return settled tickets return `undefined`.
    pub fn new(
        servers: Vec<String>,
        options: Option<SessionOptions>,
        driver: Option<SessionDriver>,
    ) -> Result<Session, JsValue> {
        let options = JsValue::from(options);
        let mut known: Vec<&str> = CONNECTION_OPTIONS.to_vec();
        known.extend(DRIVER_OPTIONS);
        known.extend([
            "timeoutMs",
            "distribution",
            "retryAttempts",
            "retryTimeoutMs",
            "deadTimeoutMs",
            "ignoreExc",
            "mergeGets",
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
        let timeout =
            convert::millis_f64(&field(&options, "timeoutMs"), "option timeoutMs")?.map(duration);
        let merge = field(&options, "mergeGets");
        let merge_gets = if merge.is_undefined() || merge.is_null() {
            MERGE_GETS
        } else {
            usize::try_from(convert::u64_arg(&merge, "option mergeGets")?)
                .map_err(|_| bad_argument("option mergeGets is too large"))?
        };
        let mut cluster_config = config.cluster();
        cluster_config.timeout = timeout;
        cluster_config.merge_gets = merge_gets;
        cluster_config.ignore_exc = convert::bool_field(&options, "ignoreExc", false)?;
        let ring_names = if servers.len() > 1 {
            let distinct: std::collections::BTreeSet<&String> = servers.iter().collect();
            if distinct.len() != servers.len() {
                return Err(bad_argument("a server is listed twice"));
            }
            let ring = crate::router::Ring::from_options(&servers, &options)?;
            cluster_config.distribution = ring.distribution;
            cluster_config.health = Some(ring.health);
            ring.names
        } else {
            servers.clone()
        };
        let cluster = Cluster::new(cluster_config, ring_names.iter().map(String::as_str));
        Ok(Session {
            cluster,
            names: servers,
            socks: Vec::new(),
            gen: 0,
            jobs: Vec::new(),
            pending: 0,
            next_id: 0.0,
            timeout,
            policy: config.policy,
            binary_keys: config.binary_keys,
            unsent: None,
            last: 0.0,
            settled: Vec::new(),
            actions: Vec::new(),
            closed: false,
            driver,
        })
    }

    /// The servers' names, in the order given.
    #[wasm_bindgen(getter)]
    pub fn servers(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The number of tickets not settled yet.
    #[wasm_bindgen(getter, js_name = inFlight)]
    pub fn in_flight(&self) -> usize {
        self.pending
    }

    /// Submits the command `op` (a `Client` method's name) with its
    /// arguments at `now`; returns its ticket.
    pub fn submit(
        &mut self,
        op: &str,
        a: Option<Arg>,
        b: Option<Arg>,
        c: Option<Arg>,
        d: Option<Arg>,
        now: Option<f64>,
    ) -> Result<f64, JsValue> {
        let arg = |v: Option<Arg>| v.map_or(JsValue::UNDEFINED, JsValue::from);
        self.submit_op(op, arg(a), arg(b), arg(c), arg(d), now)
    }

    /// `submit` with the command named by its index in `OPS` (the order of
    /// the `Client` methods: `set`, `add`, `replace`, `append`, `prepend`,
    /// `cas`, `get`, `gets`, `getMany`, `getsMany`, `delete`, `incr`,
    /// `decr`, `touch`, `stats`, `version`, `flushAll`, `shutdown`,
    /// `metaGet`, `metaSet`, `metaDelete`, `metaArithmetic`, `metaNoop`,
    /// `metaDebug`): no string crosses for the name. With `flush`,
    /// `flush(now)` follows in the same call.
    #[wasm_bindgen(js_name = submitCode)]
    // One JS call with the `Client` method's positional arguments.
    #[allow(clippy::too_many_arguments)]
    pub fn submit_code(
        &mut self,
        op: u32,
        a: Option<Arg>,
        b: Option<Arg>,
        c: Option<Arg>,
        d: Option<Arg>,
        now: Option<f64>,
        flush: Option<bool>,
    ) -> Result<f64, JsValue> {
        let op = OPS.get(op as usize).copied().unwrap_or("?");
        let arg = |v: Option<Arg>| v.map_or(JsValue::UNDEFINED, JsValue::from);
        let ticket = self.submit_op(op, arg(a), arg(b), arg(c), arg(d), now)?;
        if flush == Some(true) {
            self.flush(now);
        }
        Ok(ticket)
    }

    /// `get(key)` (`gets` with `gets`) of a string key without options:
    /// `submit` for the most common call, with nothing to convert. With
    /// `flush`, `flush(now)` follows in the same call (a driver that writes
    /// at once when nothing is in flight).
    #[wasm_bindgen(js_name = submitGet)]
    pub fn submit_get(
        &mut self,
        key: String,
        gets: bool,
        now: Option<f64>,
        flush: bool,
    ) -> Result<f64, JsValue> {
        if self.closed {
            return Err(js_error(CLOSED, "CLOSED", "the client is closed", true));
        }
        let command = if gets {
            GetCommand::Gets
        } else {
            GetCommand::Get
        };
        let call = Call {
            request: OwnedRequest::Get {
                command,
                keys: vec![Bytes::from(key.into_bytes())],
            },
            meaning: Meaning::Get,
            shape: Shape::One,
            time: None,
            server: None,
        };
        let ticket = self.dispatch(call, now)?;
        if flush {
            self.flush(now);
        }
        Ok(ticket)
    }

    /// Asks for a socket to `server` now (`connect` opens every server's
    /// first socket eagerly, to report an unreachable server at once).
    pub fn prepare(&mut self, server: usize, now: Option<f64>) {
        if self.closed {
            return;
        }
        let now = self.catch_up(now);
        let _ = self.cluster.ensure_connection(now, NodeId(server));
        self.pump();
    }

    /// Sends the gets held back to be merged (the driver calls it before
    /// writing, once per turn); returns `actions()`. With a driver it also
    /// writes every socket's bytes and settles what that completed
    /// (noreply requests).
    pub fn flush(&mut self, now: Option<f64>) -> Option<Vec<u32>> {
        let now = self.catch_up(now);
        self.cluster.flush(now);
        self.pump();
        if self.driver.is_some() {
            self.write_all(now);
            self.pump();
            self.collect();
        }
        self.actions()
    }

    /// Returns what the driver must do with sockets, flat
    /// `[op, conn, gen, server, …]` (op 0 open, 1 close), or `undefined`.
    pub fn actions(&mut self) -> Option<Vec<u32>> {
        if self.actions.is_empty() {
            None
        } else {
            Some(core::mem::take(&mut self.actions))
        }
    }

    /// Returns the bytes to write on socket `conn`, or `undefined`.
    ///
    /// The `Uint8Array` is a view of wasm memory, valid until the next call
    /// into the module: the driver copies it at once (one copy, into memory
    /// it can pool, instead of two). They count as written at that call.
    pub fn transmit(&mut self, conn: usize) -> Option<Uint8Array> {
        self.catch_up(Some(self.last));
        let sock = self.socks.get(conn).copied().flatten()?;
        if !self.cluster.is_connected(sock.conn) {
            return None;
        }
        let bytes = self.cluster.transmit(sock.conn);
        if bytes.is_empty() {
            return None;
        }
        self.unsent = Some((sock.conn, bytes.len()));
        // SAFETY: the view covers the connection's outgoing bytes, which
        // stay in place until the connection is next written to or
        // advanced, both of which need a call into this module; the driver
        // copies the view before making one (documented above), and wasm
        // memory cannot grow in between.
        #[allow(unsafe_code)]
        let view = unsafe { Uint8Array::view(bytes) };
        Some(view)
    }

    /// Reports that the socket `gen` of `conn` opened.
    pub fn connected(&mut self, conn: usize, gen: u32) {
        if let Some(sock) = self.sock(conn, gen) {
            self.cluster.handle_connected(sock.conn);
        }
    }

    /// Reports that the socket `gen` of `conn` could not be opened: its
    /// requests fail with `message` (`kind: "Io"`, `code:
    /// "CONNECT_FAILED"`).
    #[wasm_bindgen(js_name = connectFailed)]
    pub fn connect_failed(
        &mut self,
        conn: usize,
        gen: u32,
        message: &str,
        now: Option<f64>,
    ) -> Option<Vec<JsValue>> {
        let now = self.catch_up(now);
        if let Some(sock) = self.sock(conn, gen) {
            let error = SocketError {
                code: "CONNECT_FAILED",
                message: message.into(),
            };
            self.cluster.handle_failure(now, sock.conn, error);
        }
        self.poll(None)
    }

    /// Takes the bytes read from socket `gen` of `conn`; returns what
    /// completed, as `poll()`.
    pub fn receive(
        &mut self,
        conn: usize,
        gen: u32,
        bytes: &[u8],
        now: Option<f64>,
    ) -> Option<Vec<JsValue>> {
        let now = self.catch_up(now);
        if let Some(sock) = self.sock(conn, gen) {
            self.cluster.handle_received(now, sock.conn, bytes);
            self.pump();
            self.collect();
        }
        self.take_settled()
    }

    /// Reports that socket `gen` of `conn` closed (or failed, with
    /// `message`): the requests in flight on it fail.
    pub fn closed(
        &mut self,
        conn: usize,
        gen: u32,
        message: Option<String>,
        now: Option<f64>,
    ) -> Option<Vec<JsValue>> {
        let now = self.catch_up(now);
        if let Some(sock) = self.sock(conn, gen) {
            match message {
                Some(message) => {
                    let error = SocketError {
                        code: "CONNECTION_LOST",
                        message: format!("the connection was lost: {message}"),
                    };
                    self.cluster.handle_failure(now, sock.conn, error);
                }
                None => self.cluster.handle_eof(now, sock.conn),
            }
        }
        self.poll(None)
    }

    /// Tells the session the time; what timed out fails.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: Option<f64>) -> Option<Vec<JsValue>> {
        let now = self.catch_up(now);
        self.cluster.handle_timeout(now);
        self.poll(None)
    }

    /// Returns the milliseconds from `now` until `handleTimeout()` is due,
    /// or `undefined` when no deadline is pending.
    pub fn timeout(&self, now: Option<f64>) -> Option<f64> {
        let next = self.cluster.poll_timeout()?;
        Some((next.0 as f64 - clock(now)).max(0.0))
    }

    /// Returns the settled tickets, flat `[ticket, ok, value, …]`, or
    /// `undefined` when none settled.
    pub fn poll(&mut self, now: Option<f64>) -> Option<Vec<JsValue>> {
        self.catch_up(now);
        self.pump();
        self.collect();
        self.take_settled()
    }

    /// Closes the session: every ticket in flight fails with `Closed`, later
    /// submits too; `actions()` then lists the sockets to close.
    pub fn close(&mut self) -> Option<Vec<JsValue>> {
        self.closed = true;
        self.unsent = None;
        for job in core::mem::take(&mut self.jobs).into_iter().flatten() {
            self.cluster.forget(job.ticket);
            let error = js_error(CLOSED, "CLOSED", "closed by Client.close()", true);
            self.settle(job.id, Err(error));
        }
        self.pending = 0;
        for (i, sock) in self.socks.iter_mut().enumerate() {
            if let Some(sock) = sock.take() {
                match &self.driver {
                    Some(d) => d.close(i as u32, sock.gen),
                    None => self.actions.extend([1, i as u32, sock.gen, 0]),
                }
            }
        }
        self.take_settled()
    }
}

impl Session {
    /// Submits `op` with its JS arguments (see `submit`).
    fn submit_op(
        &mut self,
        op: &str,
        a: JsValue,
        b: JsValue,
        c: JsValue,
        d: JsValue,
        now: Option<f64>,
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
        command::check_key(&call.request, &self.policy, self.binary_keys)
            .map_err(|e| core_error(&e, None))?;
        self.dispatch(call, now)
    }

    /// Hands a built call to the cluster; returns its ticket.
    fn dispatch(&mut self, call: Call, now: Option<f64>) -> Result<f64, JsValue> {
        let target = match &call.server {
            Some(server) => Some(NodeId(self.server_option(server)?)),
            None => None,
        };
        let now = self.catch_up(now);
        // A call's own timeoutMs holds for its submit only: a get held back
        // to be merged is sent with the client's timeoutMs.
        let own = call.time.map(duration).filter(|t| Some(*t) != self.timeout);
        if own.is_some() {
            self.cluster.set_timeout(own);
        }
        let cluster = &mut self.cluster;
        let submitted = call.request.with_request(|r| match (r, target) {
            (RequestRef::Text(r), None) => cluster.submit(now, core::slice::from_ref(r)),
            (RequestRef::Text(r), Some(n)) => cluster.submit_to(now, n, core::slice::from_ref(r)),
            (RequestRef::Meta(r), None) => cluster.submit_meta(now, core::slice::from_ref(r)),
            (RequestRef::Meta(r), Some(n)) => {
                cluster.submit_meta_to(now, n, core::slice::from_ref(r))
            }
        });
        if own.is_some() {
            self.cluster.set_timeout(self.timeout);
        }
        let ticket = match submitted {
            Ok(ticket) => ticket,
            Err(Refusal::Invalid(e)) => return Err(core_error(&e, None)),
            Err(Refusal::Busy) => {
                return Err(js_error(
                    "PoolExhausted",
                    "BUSY",
                    "the server's connection is full",
                    false,
                ))
            }
        };
        let id = self.next_id;
        self.next_id += 1.0;
        let index = ticket.index();
        if self.jobs.len() <= index {
            self.jobs.resize(index + 1, None);
        }
        self.jobs[index] = Some(Job {
            ticket,
            id,
            meaning: call.meaning,
            shape: call.shape,
        });
        self.pending += 1;
        self.pump();
        Ok(id)
    }
}

impl Session {
    /// Counts the bytes of the last `transmit()` as written; returns the
    /// time.
    fn catch_up(&mut self, now: Option<f64>) -> Millis {
        self.last = clock(now);
        let now = Millis(self.last.max(0.0) as u64);
        if let Some((conn, n)) = self.unsent.take() {
            self.cluster.advance_transmit(now, conn, n);
        }
        now
    }

    /// Returns the socket of `conn` if `gen` is its current one.
    fn sock(&self, conn: usize, gen: u32) -> Option<Sock> {
        self.socks
            .get(conn)
            .copied()
            .flatten()
            .filter(|s| s.gen == gen)
    }

    /// Turns the cluster's events into socket actions.
    fn pump(&mut self) {
        while let Some(event) = self.cluster.poll_event() {
            match event {
                Event::Open { conn, server } => {
                    let index = conn.index();
                    if self.socks.len() <= index {
                        self.socks.resize(index + 1, None);
                    }
                    self.gen = self.gen.wrapping_add(1);
                    self.socks[index] = Some(Sock {
                        conn,
                        gen: self.gen,
                    });
                    match &self.driver {
                        Some(d) => d.open(index as u32, self.gen, server.0 as u32),
                        None => self
                            .actions
                            .extend([0, index as u32, self.gen, server.0 as u32]),
                    }
                }
                Event::Close { conn } => {
                    let index = conn.index();
                    if let Some(slot) = self.socks.get_mut(index) {
                        if let Some(sock) = slot.take_if(|s| s.conn == conn) {
                            match &self.driver {
                                Some(d) => d.close(index as u32, sock.gen),
                                None => self.actions.extend([1, index as u32, sock.gen, 0]),
                            }
                        }
                    }
                    if self.unsent.is_some_and(|(c, _)| c == conn) {
                        self.unsent = None;
                    }
                }
                // Logged by nobody: the connection closes (a `Close`
                // follows), nothing awaited it.
                Event::Unsolicited { .. } => {}
            }
        }
    }

    /// Settles every ticket the cluster completed.
    fn collect(&mut self) {
        while let Some(ticket) = self.cluster.poll_done() {
            let Some(job) = self
                .jobs
                .get_mut(ticket.index())
                .and_then(|j| j.take_if(|j| j.ticket == ticket))
            else {
                continue;
            };
            self.pending = self.pending.saturating_sub(1);
            let outcome = self.cluster.take(ticket).and_then(|o| o.into_iter().next());
            let result = match outcome {
                Some(Some(Err(fault))) => Err(self.fault_error(fault)),
                Some(reply) => match job.meaning.outcome(reply.and_then(Result::ok)) {
                    Ok(Outcome::Items(items)) if job.shape == Shape::One => {
                        match (&self.driver, items.first()) {
                            (Some(d), Some(item)) => {
                                // The item in one call: the driver knows the key.
                                let cas = item.cas.map(|c| c.to_string());
                                d.hit(job.id, &item.value, item.flags, cas);
                                continue;
                            }
                            (_, Some(item)) => Ok(crate::reply::item(item)),
                            (_, None) => Ok(JsValue::NULL),
                        }
                    }
                    Ok(outcome) => Ok(job.shape.value(outcome)),
                    Err(e) => Err(core_error(&e, None)),
                },
                None => Err(core_error(
                    &Error::UnexpectedReply("the request's result was lost".into()),
                    None,
                )),
            };
            self.settle(job.id, result);
        }
    }

    /// Resolves or rejects the ticket `id`: through the driver, or into
    /// the flat array `poll()` returns.
    fn settle(&mut self, id: f64, result: Result<JsValue, JsValue>) {
        let (ok, value) = match result {
            Ok(v) => (true, v),
            Err(e) => (false, e),
        };
        match &self.driver {
            Some(d) => d.settle(id, ok, value),
            None => self
                .settled
                .extend([JsValue::from_f64(id), ok.into(), value]),
        }
    }

    /// Writes every open socket's bytes through the driver.
    fn write_all(&mut self, now: Millis) {
        let Some(driver) = &self.driver else {
            return;
        };
        for (i, sock) in self.socks.iter().enumerate() {
            let Some(sock) = sock else { continue };
            if !self.cluster.is_connected(sock.conn) {
                continue;
            }
            let bytes = self.cluster.transmit(sock.conn);
            if bytes.is_empty() {
                continue;
            }
            let n = bytes.len();
            driver.write(i as u32, bytes);
            self.cluster.advance_transmit(now, sock.conn, n);
        }
    }

    /// Returns the `MemcrabError` for a request's fault (one that broke a
    /// connection names the server).
    fn fault_error(&self, fault: Fault<SocketError>) -> JsValue {
        let name = |server: NodeId| self.names.get(server.0).map_or("?", String::as_str);
        match fault {
            Fault::Core { server, error } => {
                core_error(&error, error.is_fatal().then(|| name(server)))
            }
            Fault::Transport { server, error, .. } => js_error(
                IO,
                error.code,
                &format!("{} ({})", error.message, name(server)),
                true,
            ),
            Fault::Refused { server } => js_error(
                IO,
                "CONNECTION_LOST",
                &format!(
                    "the server closed a new connection before its first reply ({})",
                    name(server)
                ),
                true,
            ),
            Fault::ConnectTimeout { server } => js_error(
                IO,
                "CONNECT_FAILED",
                &format!("timed out connecting ({})", name(server)),
                true,
            ),
            Fault::NoServers => js_error(
                "NoServers",
                "NO_SERVERS",
                "every server is marked down",
                false,
            ),
            other => js_error("Other", "OTHER", &other.to_string(), true),
        }
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

    /// Reads the `server` option (an index or a name; default the first).
    fn server_option(&self, server: &JsValue) -> Result<usize, JsValue> {
        if server.is_undefined() || server.is_null() {
            return Ok(0);
        }
        if let Some(name) = server.as_string() {
            return self
                .names
                .iter()
                .position(|s| *s == name)
                .ok_or_else(|| bad_argument(&format!("no server named {name:?}")));
        }
        match server.as_f64() {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && (n as usize) < self.names.len() => {
                Ok(n as usize)
            }
            _ => Err(bad_argument(
                "option server must be a server's index or name",
            )),
        }
    }
}

/// Returns `now`, or `Date.now()` when the driver passed no time.
fn clock(now: Option<f64>) -> f64 {
    now.filter(|n| n.is_finite())
        .unwrap_or_else(js_sys::Date::now)
}

/// Returns a JS number of milliseconds as a duration (rounded up).
fn duration(ms: f64) -> Duration {
    Duration::from_millis(ms.ceil() as u64)
}
