//! Hostile and broken servers: a scripted TCP server in the test answers
//! the real `Client` with canned bytes — a 4 GiB value claim, a key that was
//! not asked for, more values than keys, bad lengths, a missing `END`,
//! garbage, an endless line, an endless stats reply, an unsolicited extra
//! reply. Each is an error of the right kind with a clear message, never a
//! wrong value, and never a large allocation: a counting global allocator
//! measures the peak bytes the calling thread holds during the call.
//!
//! Also here: Shopify async-memcached's wire cases
//! (`tests/wire_integration_tests.rs` there), for memcrab.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use memcrab::core::meta::MetaGet;
use memcrab::{Client, Error, ErrorKind, Memcache, MetaCommands, Protocol, StoreOptions};

// ---------------------------------------------------------------------------
// A global allocator that counts, per thread, the bytes held and their peak.
// ---------------------------------------------------------------------------

struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = HELD.try_with(|held| {
        let now = held.get() + delta;
        held.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every call is passed on to `System` unchanged; the counting only
// touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the most bytes this thread held at
/// once during it, above what it held before.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = HELD.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, usize::try_from(peak - base).unwrap_or(0))
}

const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// A scripted server.
// ---------------------------------------------------------------------------

/// One connection to the scripted server.
struct Conn {
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Conn {
    /// Reads one request: bytes up to a `\r\n` after which the client sent
    /// nothing for 30 ms. `None` when the client closed.
    fn request(&mut self) -> Option<Vec<u8>> {
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        self.stream
            .set_read_timeout(Some(Duration::from_millis(30)))
            .ok()?;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return None;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => req.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if req.ends_with(b"\r\n") {
                        self.requests.lock().unwrap().push(req.clone());
                        return Some(req);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Sends one byte per write, 1 ms apart.
    fn send_bytewise(&mut self, bytes: &[u8]) {
        for b in bytes {
            if self.stream.write_all(std::slice::from_ref(b)).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Sends `chunk` again and again until the client goes away.
    fn endless(&mut self, chunk: &[u8]) {
        let block: Vec<u8> = chunk
            .iter()
            .copied()
            .cycle()
            .take(chunk.len() * 1024)
            .collect();
        while !self.stop.load(Ordering::SeqCst) && self.stream.write_all(&block).is_ok() {}
    }

    /// Waits up to `within` for the client to close; true if it did.
    fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 4096];
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(10)));
        while Instant::now() < deadline {
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return true,
            }
        }
        false
    }

    /// Keeps the connection open, reading and dropping, until the client
    /// closes or the server stops.
    fn hold(&mut self) {
        while !self.stop.load(Ordering::SeqCst) && !self.closed_within(Duration::from_millis(50)) {}
    }

    fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// A scripted server on `127.0.0.1:<free port>`: each accepted connection
/// runs the script (with its index) on its own thread. Stops on drop.
struct Hostile {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    /// The result of the scripts' own checks, if they make any.
    verdicts: Arc<Mutex<Vec<bool>>>,
}

impl Hostile {
    fn start<F>(script: F) -> Hostile
    where
        F: Fn(usize, &mut Conn, &Mutex<Vec<bool>>) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let verdicts = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let (a, s, r, v) = (
            Arc::clone(&accepted),
            Arc::clone(&stop),
            Arc::clone(&requests),
            Arc::clone(&verdicts),
        );
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let index = a.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_nodelay(true);
                let mut conn = Conn {
                    stream,
                    stop: Arc::clone(&s),
                    requests: Arc::clone(&r),
                };
                let (script, v) = (Arc::clone(&script), Arc::clone(&v));
                thread::spawn(move || script(index, &mut conn, &v));
            }
        });
        Hostile {
            addr,
            accepted,
            stop,
            requests,
            verdicts,
        }
    }

    /// A server that answers the first request of every connection with
    /// `reply`, then does `then`.
    fn canned(reply: &'static [u8], then: Then) -> Hostile {
        Hostile::start(move |_, conn, _| {
            if conn.request().is_none() {
                return;
            }
            conn.send(reply);
            match then {
                Then::Close => conn.close(),
                Then::Hold => conn.hold(),
                Then::Endless(chunk) => conn.endless(chunk),
            }
        })
    }

    fn addr(&self) -> String {
        self.addr.to_string()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().unwrap().clone()
    }

    fn verdicts(&self) -> Vec<bool> {
        self.verdicts.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// What the canned server does after its reply.
#[derive(Clone, Copy)]
enum Then {
    /// Closes the connection.
    Close,
    /// Keeps it open, answering nothing more.
    Hold,
    /// Sends these bytes forever.
    Endless(&'static [u8]),
}

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

const TIMEOUT: Duration = Duration::from_secs(2);

fn client(server: &Hostile, protocol: Protocol) -> Client {
    Client::builder(server.addr())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(2))
        .default_noreply(false)
        .protocol(protocol)
        .build()
        .unwrap()
}

fn get(c: &Client, key: &str) -> Result<Option<Vec<u8>>, Error> {
    c.get::<Vec<u8>>(key)
}

/// Asserts that `r` failed with `kind`, with a message containing each of
/// `words` and naming the server, within the timeout.
fn assert_error<T: std::fmt::Debug>(
    r: Result<T, Error>,
    kind: ErrorKind,
    words: &[&str],
    server: &Hostile,
    elapsed: Duration,
) -> Error {
    let e = match r {
        Ok(v) => panic!("expected a {kind:?} error, got a value: {v:?}"),
        Err(e) => e,
    };
    assert_eq!(e.kind(), kind, "{e}");
    let text = e.report().to_string();
    for w in words {
        assert!(text.contains(w), "{text:?} should say {w:?}");
    }
    assert!(
        text.contains(&server.addr()),
        "{text:?} should name the server"
    );
    assert!(
        elapsed < TIMEOUT + Duration::from_secs(1),
        "took {elapsed:?}"
    );
    e
}

/// Runs one `get k` against `server` and checks the error, the allocation
/// bound, and that the client dropped the connection.
fn get_fails(
    server: &Hostile,
    protocol: Protocol,
    kind: ErrorKind,
    words: &[&str],
    max_alloc: usize,
) -> Error {
    let c = client(server, protocol);
    let started = Instant::now();
    let (r, peak) = peak_during(|| get(&c, "k"));
    let e = assert_error(r, kind, words, server, started.elapsed());
    assert!(
        peak < max_alloc,
        "the call held {peak} bytes at its peak (bound {max_alloc}): {e}"
    );
    assert!(!c.is_connected(), "the client kept a broken connection");
    eprintln!("{protocol:?}: {e} (peak {peak} bytes)");
    e
}

/// A `VALUE` reply for `k`.
fn text_value(key: &str, v: &[u8]) -> Vec<u8> {
    let mut r = format!("VALUE {key} 0 {}\r\n", v.len()).into_bytes();
    r.extend_from_slice(v);
    r.extend_from_slice(b"\r\nEND\r\n");
    r
}

/// An `mg` hit for `k` with the flags memcrab asks for.
fn meta_value(key: &str, v: &[u8]) -> Vec<u8> {
    let mut r = format!("VA {} f0 k{key}\r\n", v.len()).into_bytes();
    r.extend_from_slice(v);
    r.extend_from_slice(b"\r\n");
    r
}

// ---------------------------------------------------------------------------
// Size claims.
// ---------------------------------------------------------------------------

#[test]
fn a_4gib_value_claim_is_refused_without_allocating() {
    // The server claims 4 GiB and then really streams bytes.
    let server = Hostile::canned(b"VALUE k 0 4294967296\r\n", Then::Endless(b"xxxxxxxx"));
    get_fails(
        &server,
        Protocol::Text,
        ErrorKind::Protocol,
        &["4294967296", "item size limit"],
        MIB,
    );
    let server = Hostile::canned(b"VA 4294967296 f0 kk\r\n", Then::Endless(b"xxxxxxxx"));
    get_fails(
        &server,
        Protocol::Meta,
        ErrorKind::Protocol,
        &["4294967296"],
        MIB,
    );
}

#[test]
fn lengths_past_u64_are_refused() {
    for reply in [
        &b"VALUE k 0 18446744073709551615\r\n"[..],
        b"VALUE k 0 18446744073709551616\r\n",
        b"VALUE k 0 99999999999999999999999999999\r\n",
    ] {
        let server = Hostile::canned(reply, Then::Hold);
        get_fails(
            &server,
            Protocol::Text,
            ErrorKind::Protocol,
            &["VALUE k 0"],
            MIB,
        );
    }
}

/// The bound is the configured max item size: a claim just over it is
/// refused on the header; one just under it is read (then cut here), and
/// the memory it takes is bounded by the claim.
#[test]
fn the_bound_is_the_configured_max_item_size() {
    let server = Hostile::canned(b"VALUE k 0 4097\r\n", Then::Endless(b"x"));
    let c = Client::builder(server.addr())
        .timeout(TIMEOUT)
        .max_item_size(4096)
        .build()
        .unwrap();
    let started = Instant::now();
    let (r, peak) = peak_during(|| get(&c, "k"));
    assert_error(
        r,
        ErrorKind::Protocol,
        &["4097", "4096-byte item size limit"],
        &server,
        started.elapsed(),
    );
    assert!(peak < MIB, "{peak}");

    // 1 MiB claimed (the default limit is 1 MiB + 512), sent in part, then
    // the server closes: an unexpected close; memory bounded by the claim.
    static HALF: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let half = HALF.get_or_init(|| {
        let mut r = format!("VALUE k 0 {MIB}\r\n").into_bytes();
        r.resize(r.len() + MIB / 2, b'x');
        r
    });
    let server = Hostile::canned(half, Then::Close);
    get_fails(
        &server,
        Protocol::Text,
        ErrorKind::UnexpectedClose,
        &["closed the connection"],
        3 * MIB,
    );
}

// ---------------------------------------------------------------------------
// Replies that do not answer the request.
// ---------------------------------------------------------------------------

#[test]
fn a_key_that_was_not_asked_for() {
    let server = Hostile::canned(b"VALUE other 0 5\r\nwrong\r\nEND\r\n", Then::Hold);
    get_fails(
        &server,
        Protocol::Text,
        ErrorKind::Protocol,
        &["other"],
        MIB,
    );
    // A multi-key meta get checks the key each `mg` reply names, in the
    // core: the connection closes and the message names the server.
    let server = Hostile::canned(b"VA 5 f0 kother\r\nwrong\r\nEN\r\n", Then::Hold);
    let c = client(&server, Protocol::Meta);
    let e = c.get_many::<memcrab::Value, _>(&["k", "k2"]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    let text = e.report().to_string();
    assert!(
        text.contains("server returned key \"other\" for a get of \"k\""),
        "{text}"
    );
    assert!(text.contains(&server.addr()), "{text}");
}

/// A translated `get` checks the key its `mg` reply names: `get("k")`
/// answered with `kother` is a protocol error, never the other key's value.
#[test]
fn a_key_that_was_not_asked_for_meta_single_get() {
    let server = Hostile::canned(b"VA 5 f0 kother\r\nwrong\r\n", Then::Hold);
    get_fails(
        &server,
        Protocol::Meta,
        ErrorKind::Protocol,
        &["other"],
        MIB,
    );
}

#[test]
fn more_values_than_keys() {
    let server = Hostile::canned(
        b"VALUE k 0 5\r\nfirst\r\nVALUE k 0 5\r\nwrong\r\nEND\r\n",
        Then::Hold,
    );
    get_fails(
        &server,
        Protocol::Text,
        ErrorKind::Protocol,
        &["more values than keys"],
        MIB,
    );
    // The same claim streamed forever: refused at the second value.
    let server = Hostile::canned(b"", Then::Endless(b"VALUE k 0 1\r\nx\r\n"));
    get_fails(&server, Protocol::Text, ErrorKind::Protocol, &[], MIB);
    // get_many: a value for a key twice.
    let server = Hostile::canned(
        b"VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nVALUE b 0 1\r\n3\r\nEND\r\n",
        Then::Hold,
    );
    let c = client(&server, Protocol::Text);
    let started = Instant::now();
    let r = c.get_many::<memcrab::Value, _>(&["a", "b"]);
    assert_error(r, ErrorKind::Protocol, &[], &server, started.elapsed());
}

#[test]
fn negative_or_non_numeric_lengths() {
    for reply in [
        &b"VALUE k 0 -1\r\n"[..],
        b"VALUE k 0 abc\r\n",
        b"VALUE k 0 5x\r\n",
        b"VALUE k 0 +5\r\n",
        b"VALUE k 0 \r\n",
        b"VALUE k 0\r\n",
        b"VALUE k -1 5\r\nvalue\r\nEND\r\n",
    ] {
        let server = Hostile::canned(reply, Then::Hold);
        get_fails(&server, Protocol::Text, ErrorKind::Protocol, &[], MIB);
    }
    for reply in [&b"VA -1 f0 kk\r\n"[..], b"VA nope\r\n", b"VA 5x f0 kk\r\n"] {
        let server = Hostile::canned(reply, Then::Hold);
        get_fails(&server, Protocol::Meta, ErrorKind::Protocol, &[], MIB);
    }
}

#[test]
fn a_missing_end_then_close() {
    let server = Hostile::canned(b"VALUE k 0 5\r\nvalue\r\n", Then::Close);
    get_fails(
        &server,
        Protocol::Text,
        ErrorKind::UnexpectedClose,
        &["closed the connection"],
        MIB,
    );
    // get_many: the first value arrived, END did not: no partial batch.
    let server = Hostile::canned(b"VALUE a 0 1\r\n1\r\n", Then::Close);
    let c = client(&server, Protocol::Text);
    let started = Instant::now();
    let r = c.get_many::<memcrab::Value, _>(&["a", "b"]);
    assert_error(
        r,
        ErrorKind::UnexpectedClose,
        &[],
        &server,
        started.elapsed(),
    );
    // A missing END on an open connection: a timeout, never the value.
    let server = Hostile::canned(b"VALUE k 0 5\r\nvalue\r\n", Then::Hold);
    let c = Client::builder(server.addr())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let r = get(&c, "k");
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1300));
}

#[test]
fn garbage() {
    for (reply, kind) in [
        (&b"\x00\xff\xfe garbage\r\n"[..], ErrorKind::UnexpectedReply),
        (
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
            ErrorKind::UnexpectedReply,
        ),
        (b"STORED\r\n", ErrorKind::UnexpectedReply),
        (b"END\n", ErrorKind::Protocol),
        (b"VALUE k 0 5\r\nvalueXYEND\r\n", ErrorKind::Protocol),
    ] {
        let server = Hostile::canned(reply, Then::Hold);
        let c = client(&server, Protocol::Text);
        let started = Instant::now();
        let (r, peak) = peak_during(|| get(&c, "k"));
        let e = match r {
            Ok(v) => panic!("{reply:?} gave a value: {v:?}"),
            Err(e) => e,
        };
        assert_eq!(e.kind(), kind, "{reply:?}: {e}");
        assert!(e.to_string().contains(&server.addr()), "{e}");
        assert!(started.elapsed() < TIMEOUT, "{reply:?}");
        assert!(peak < MIB);
        assert!(!c.is_connected());
        eprintln!("{:?}: {e}", String::from_utf8_lossy(reply));
    }
    // Binary garbage that never ends a line: refused at the line limit.
    let server = Hostile::canned(b"", Then::Endless(b"\x00\x01\xfe\xff"));
    get_fails(&server, Protocol::Text, ErrorKind::Protocol, &[], MIB);
}

#[test]
fn a_reply_line_longer_than_the_line_limit() {
    // 8 KiB is the line limit; the server never ends its line.
    let server = Hostile::canned(b"VALUE ", Then::Endless(b"kkkkkkkk"));
    get_fails(&server, Protocol::Text, ErrorKind::Protocol, &["line"], MIB);
    let server = Hostile::canned(b"SERVER_ERROR ", Then::Endless(b"oops "));
    get_fails(&server, Protocol::Text, ErrorKind::Protocol, &["line"], MIB);
    let server = Hostile::canned(b"VA 1 ", Then::Endless(b"f0 "));
    get_fails(&server, Protocol::Meta, ErrorKind::Protocol, &["line"], MIB);
}

#[test]
fn an_endless_stats_reply() {
    let server = Hostile::canned(b"", Then::Endless(b"STAT name value\r\n"));
    let c = client(&server, Protocol::Text);
    let started = Instant::now();
    let (r, peak) = peak_during(|| c.stats(&[]));
    let e = assert_error(
        r,
        ErrorKind::Protocol,
        &["stats reply"],
        &server,
        started.elapsed(),
    );
    eprintln!("endless stats: {e} (peak {peak} bytes)");
    // Bounded by the core's stats limits (100 000 lines or 16 MiB).
    assert!(peak < 32 * MIB, "{peak}");
    assert!(!c.is_connected());
}

/// A reply followed by bytes nobody asked for: the extra bytes never
/// answer the next request.
#[test]
fn an_unsolicited_extra_reply_never_answers_the_next_request() {
    let server = Hostile::start(|index, conn, _| {
        while let Some(_req) = conn.request() {
            if index == 0 {
                conn.send(b"VALUE k 0 5\r\nfirst\r\nEND\r\nVALUE k 0 5\r\nstale\r\nEND\r\n");
            } else {
                conn.send(&text_value("k", b"fresh"));
            }
        }
    });
    let c = client(&server, Protocol::Text);
    // The first call may see its value or the poisoned stream's error.
    match get(&c, "k") {
        Ok(v) => assert_eq!(v, Some(b"first".to_vec())),
        Err(e) => assert!(e.is_fatal(), "{e}"),
    }
    for _ in 0..3 {
        match get(&c, "k") {
            Ok(v) => assert_eq!(v, Some(b"fresh".to_vec()), "a stale reply was returned"),
            Err(e) => panic!("the next call failed: {e}"),
        }
    }
    assert_eq!(server.accepted(), 2, "the poisoned connection was dropped");
}

// ---------------------------------------------------------------------------
// Shopify async-memcached's wire cases.
// ---------------------------------------------------------------------------

/// How one read is done, as in async-memcached's `ReadOperation`.
#[derive(Clone, Copy, Debug)]
enum Read_ {
    AsciiGet,
    AsciiMulti,
    MetaGet,
    MetaMulti,
}

const READS: [Read_; 4] = [
    Read_::AsciiGet,
    Read_::AsciiMulti,
    Read_::MetaGet,
    Read_::MetaMulti,
];

impl Read_ {
    fn protocol(self) -> Protocol {
        match self {
            Read_::AsciiGet | Read_::AsciiMulti => Protocol::Text,
            Read_::MetaGet | Read_::MetaMulti => Protocol::Meta,
        }
    }

    /// The reply to this read: `key` found with `value`, `missing` not.
    fn response(self, value: &[u8]) -> Vec<u8> {
        match self {
            Read_::AsciiGet | Read_::AsciiMulti => text_value("key", value),
            Read_::MetaGet => meta_value("key", value),
            Read_::MetaMulti => [meta_value("key", value), b"EN\r\n".to_vec()].concat(),
        }
    }

    fn read(self, c: &Client) -> Result<Vec<u8>, Error> {
        match self {
            Read_::AsciiGet | Read_::MetaGet => Ok(get(c, "key")?.expect("a hit")),
            Read_::AsciiMulti | Read_::MetaMulti => {
                let values = c.get_many::<memcrab::Value, _>(&["key", "missing"])?;
                assert_eq!(values.len(), 1);
                Ok(values["key"].as_bytes().unwrap().to_vec())
            }
        }
    }
}

fn reply_once(op: Read_, response: Vec<u8>, fragmented: bool) -> Hostile {
    let response = Arc::new(response);
    Hostile::start(move |_, conn, _| {
        if conn.request().is_none() {
            return;
        }
        if fragmented {
            conn.send_bytewise(&response);
        } else {
            conn.send(&response);
            conn.close();
        }
        let _ = op;
        conn.hold();
    })
}

/// `byte_fragmented_headers_bodies_and_terminators_parse_correctly`.
#[test]
fn byte_fragmented_headers_bodies_and_terminators_parse_correctly() {
    let payload = b"\0\xff\r\nEND\r\nMN\r\n \t";
    for op in READS {
        let server = reply_once(op, op.response(payload), true);
        let c = client(&server, op.protocol());
        assert_eq!(op.read(&c).unwrap(), payload, "{op:?}");
        let sent = server.requests();
        let first = String::from_utf8_lossy(&sent[0]).into_owned();
        match op.protocol() {
            Protocol::Text => assert!(first.starts_with("get key"), "{first:?}"),
            _ => assert!(first.starts_with("mg key"), "{first:?}"),
        }
    }
}

fn eof_case(op: Read_, response: Vec<u8>) {
    let server = reply_once(op, response, false);
    let c = client(&server, op.protocol());
    let started = Instant::now();
    let r = op.read(&c);
    assert_error(
        r,
        ErrorKind::UnexpectedClose,
        &["closed the connection"],
        &server,
        started.elapsed(),
    );
    assert!(!c.is_connected());
}

/// `eof_in_a_header_is_an_io_error`: here an unexpected close.
#[test]
fn eof_in_a_header_is_an_unexpected_close() {
    for op in READS {
        eof_case(op, op.response(b"payload")[..3].to_vec());
    }
}

/// `eof_in_a_value_is_not_a_successful_short_read`.
#[test]
fn eof_in_a_value_is_not_a_successful_short_read() {
    for op in READS {
        let mut response = op.response(b"payload");
        let body = response.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
        response.truncate(body + 3);
        eof_case(op, response);
    }
}

/// `eof_in_a_terminator_does_not_return_a_partial_batch`.
#[test]
fn eof_in_a_terminator_does_not_return_a_partial_batch() {
    for op in READS {
        let mut response = op.response(b"payload");
        response.pop();
        eof_case(op, response);
    }
}

/// `malformed_length_fields_return_protocol_errors`.
#[test]
fn malformed_length_fields_return_protocol_errors() {
    for op in READS {
        let response: &[u8] = match op.protocol() {
            Protocol::Text => b"VALUE key 0 nope\r\n",
            _ => b"VA nope\r\n",
        };
        let server = reply_once(op, response.to_vec(), false);
        let c = client(&server, op.protocol());
        let started = Instant::now();
        let r = op.read(&c);
        assert_error(
            r,
            ErrorKind::Protocol,
            &["nope"],
            &server,
            started.elapsed(),
        );
    }
}

/// `complete_error_lines_preserve_single_request_alignment`: the server's
/// own error lines are errors of their kinds with the server's words, and
/// the connection stays in step for the next request.
#[test]
fn complete_error_lines_preserve_single_request_alignment() {
    let cases: [(&[u8], ErrorKind, &str); 3] = [
        (b"ERROR\r\n", ErrorKind::UnknownCommand, "ERROR"),
        (
            b"CLIENT_ERROR invalid argument\r\n",
            ErrorKind::Client,
            "invalid argument",
        ),
        (
            b"SERVER_ERROR unavailable\r\n",
            ErrorKind::Server,
            "unavailable",
        ),
    ];
    for op in [Read_::AsciiGet, Read_::MetaGet] {
        for (line, kind, words) in cases {
            let good = op.response(b"good");
            let server = Hostile::start(move |_, conn, _| {
                if conn.request().is_none() {
                    return;
                }
                conn.send(line);
                if conn.request().is_none() {
                    return;
                }
                conn.send(&good);
                conn.hold();
            });
            let c = client(&server, op.protocol());
            let started = Instant::now();
            let r = op.read(&c);
            let e = assert_error(r, kind, &[words], &server, started.elapsed());
            assert!(!e.is_fatal(), "{e}");
            assert!(c.is_connected(), "an error line keeps the connection");
            assert_eq!(op.read(&c).unwrap(), b"good", "{op:?} {kind:?}");
            assert_eq!(server.accepted(), 1);
        }
    }
}

/// `meta_pipeline_errors_require_discard_of_the_failed_connection`: an
/// error in the middle of a pipelined meta batch, with more bytes after
/// it. The same client's next call gets a fresh connection and the fresh
/// value, never the stale bytes.
#[test]
fn meta_pipeline_errors_require_discard_of_the_failed_connection() {
    let server = Hostile::start(|index, conn, _| {
        if conn.request().is_none() {
            return;
        }
        if index == 0 {
            conn.send(b"VA 3 f0 kkey\r\nold\r\nSERVER_ERROR failed\r\nVA 5 f0 kmissing\r\nstale\r\nEN\r\n");
            conn.hold();
        } else {
            conn.send(&meta_value("key", b"new"));
            while conn.request().is_some() {
                conn.send(&meta_value("key", b"new"));
            }
        }
    });
    let c = client(&server, Protocol::Meta);
    let started = Instant::now();
    let r = Read_::MetaMulti.read(&c);
    let e = assert_error(
        r,
        ErrorKind::Server,
        &["failed"],
        &server,
        started.elapsed(),
    );
    eprintln!("meta pipeline: {e}");
    for _ in 0..2 {
        match get(&c, "key") {
            Ok(v) => assert_eq!(v, Some(b"new".to_vec()), "a stale reply was returned"),
            Err(e) => panic!("the next call failed: {e}"),
        }
    }
    assert_eq!(server.accepted(), 2, "the failed connection was discarded");
}

/// `abort_of_a_task_that_owns_the_client_closes_its_socket`: a blocking
/// call cannot be aborted, but it can time out; then its socket is closed
/// at once (the server sees EOF), and the next call uses a new one.
#[test]
fn a_timed_out_call_closes_its_socket() {
    let server = Hostile::start(|index, conn, verdicts| {
        if conn.request().is_none() {
            return;
        }
        if index == 0 {
            // Never answer; the client must close.
            let closed = conn.closed_within(Duration::from_secs(5));
            verdicts.lock().unwrap().push(closed);
        } else {
            conn.send(&meta_value("key", b"fresh"));
            conn.hold();
        }
    });
    let c = Client::builder(server.addr())
        .timeout(Duration::from_millis(300))
        .protocol(Protocol::Meta)
        .build()
        .unwrap();
    let r = c.meta_get(MetaGet::new(b"key").value());
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
    let deadline = Instant::now() + Duration::from_secs(6);
    while server.verdicts().is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        server.verdicts(),
        vec![true],
        "the server saw the socket closed"
    );
    assert_eq!(get(&c, "key").unwrap(), Some(b"fresh".to_vec()));
    assert_eq!(server.accepted(), 2);
}

/// Dropping a client closes its socket.
#[test]
fn dropping_a_client_closes_its_socket() {
    let server = Hostile::start(|_, conn, verdicts| {
        if conn.request().is_none() {
            return;
        }
        conn.send(b"STORED\r\n");
        let closed = conn.closed_within(Duration::from_secs(5));
        verdicts.lock().unwrap().push(closed);
    });
    let c = client(&server, Protocol::Text);
    assert!(c.set_with("k", "v", StoreOptions::new()).unwrap());
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(6);
    while server.verdicts().is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.verdicts(), vec![true]);
}
