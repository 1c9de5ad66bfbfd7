//! A fault-injecting TCP proxy for tests: sits between a client and a real
//! memcached on `127.0.0.1:<free port>` and, while a [`Fault`] is set,
//! breaks the traffic the way networks and servers break.
//!
//! ```ignore
//! let server = MemcachedServer::start();
//! let proxy = FaultProxy::start(server.socket_addr());
//! let client = memcrab::Client::new(proxy.addr_string()).unwrap();
//! proxy.set(Fault::CutAfter(5));     // the next reply is cut after 5 bytes
//! assert!(client.get("k").is_err());
//! proxy.clear();                     // forward faithfully again
//! assert_eq!(proxy.accepted(), 1);
//! ```
//!
//! Every connection runs on two threads (one per direction) that poll a
//! stop flag every few milliseconds, so dropping the proxy ends them all.
//! The fault is read for every chunk, so setting one affects connections
//! that are already open; byte counts ([`Fault::CutAfter`], …) start from
//! the moment the fault is set, per connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

/// How often blocked proxy threads look at their stop flags.
const POLL: Duration = Duration::from_millis(10);

/// What the proxy does to the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways at once.
    None,
    /// Hold every reply chunk this long before forwarding it.
    Delay(Duration),
    /// Forward replies one byte per write (`TCP_NODELAY` on, so one byte
    /// per segment).
    Split,
    /// Forward replies one byte at a time, this long apart.
    Slow(Duration),
    /// Forward this many more reply bytes, then close the connection (FIN
    /// both ways).
    CutAfter(usize),
    /// Forward this many more reply bytes, then reset the connection
    /// (`SO_LINGER` 0, then close: the client gets an RST).
    ResetAfter(usize),
    /// Answer nothing: replies on open connections are dropped, and new
    /// connections are accepted, read and never answered (no upstream).
    Blackhole,
    /// Forward this many more request bytes to the server, then close the
    /// connection both ways (a request cut on its way in).
    CutRequestAfter(usize),
    /// The server is down: open connections are closed, new ones accepted
    /// and closed at once.
    Down,
}

struct Shared {
    upstream: SocketAddr,
    fault: Mutex<(u64, Fault)>,
    stop: AtomicBool,
    accepted: AtomicUsize,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    conns: Mutex<Vec<Weak<Conn>>>,
}

impl Shared {
    fn fault(&self) -> (u64, Fault) {
        *self.fault.lock().unwrap()
    }
}

/// One proxied connection.
struct Conn {
    client: TcpStream,
    /// `None` for a black-holed connection.
    server: Option<TcpStream>,
    dead: AtomicBool,
}

impl Conn {
    /// Ends the connection: with `reset`, an RST to the client once the
    /// last thread lets go of the socket; else a FIN both ways now.
    fn kill(&self, reset: bool) {
        if reset {
            let _ = socket2::SockRef::from(&self.client).set_linger(Some(Duration::ZERO));
        } else {
            let _ = self.client.shutdown(Shutdown::Both);
        }
        if let Some(s) = &self.server {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.dead.store(true, Ordering::SeqCst);
    }

    fn is_dead(&self, shared: &Shared) -> bool {
        self.dead.load(Ordering::SeqCst) || shared.stop.load(Ordering::SeqCst)
    }
}

/// A fault-injecting proxy in front of one server; stops on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a faithful proxy to `upstream` on `127.0.0.1:<free port>`.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let addr = listener.local_addr().expect("fault proxy address");
        let shared = Arc::new(Shared {
            upstream,
            fault: Mutex::new((0, Fault::None)),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            conns: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept_loop(&listener, &s));
        FaultProxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Sets the fault, for open connections and new ones alike.
    pub fn set(&self, fault: Fault) {
        let mut f = self.shared.fault.lock().unwrap();
        *f = (f.0 + 1, fault);
        drop(f);
        if fault == Fault::Down {
            for c in self.live() {
                c.kill(false);
            }
        }
    }

    /// Forwards faithfully again ([`Fault::None`]).
    pub fn clear(&self) {
        self.set(Fault::None);
    }

    /// The proxy's address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's address as a client takes it: `"127.0.0.1:<port>"`.
    pub fn addr_string(&self) -> String {
        self.addr.to_string()
    }

    /// Connections accepted so far (one per connection a client opened).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Request bytes forwarded to the server so far.
    pub fn bytes_up(&self) -> u64 {
        self.shared.bytes_up.load(Ordering::SeqCst)
    }

    /// Reply bytes forwarded to clients so far.
    pub fn bytes_down(&self) -> u64 {
        self.shared.bytes_down.load(Ordering::SeqCst)
    }

    /// Connections open right now (neither side has closed).
    pub fn open_connections(&self) -> usize {
        self.live().len()
    }

    /// Waits up to `within` for the open connections to drop to `n`.
    pub fn wait_open_connections(&self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.open_connections() == n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(POLL);
        }
    }

    fn live(&self) -> Vec<Arc<Conn>> {
        let mut conns = self.shared.conns.lock().unwrap();
        conns.retain(|w| w.strong_count() > 0);
        conns
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|c| !c.dead.load(Ordering::SeqCst))
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
        for c in self.live() {
            c.kill(false);
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = stream else { continue };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let (_, fault) = shared.fault();
        if fault == Fault::Down {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let server = if fault == Fault::Blackhole {
            None
        } else {
            match TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5)) {
                Ok(s) => Some(s),
                Err(_) => {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
            }
        };
        let _ = client.set_nodelay(true);
        let _ = client.set_read_timeout(Some(POLL));
        if let Some(s) = &server {
            let _ = s.set_nodelay(true);
            let _ = s.set_read_timeout(Some(POLL));
        }
        let conn = Arc::new(Conn {
            client,
            server,
            dead: AtomicBool::new(false),
        });
        shared.conns.lock().unwrap().push(Arc::downgrade(&conn));
        let (c, s) = (Arc::clone(&conn), Arc::clone(shared));
        thread::spawn(move || upstream_loop(&c, &s));
        if conn.server.is_some() {
            let s = Arc::clone(shared);
            thread::spawn(move || downstream_loop(&conn, &s));
        }
    }
}

/// Reads one chunk, or `None` at EOF or error; `Some(empty)` on a poll
/// timeout.
fn read_chunk(mut from: &TcpStream, buf: &mut [u8]) -> Option<usize> {
    match from.read(buf) {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Some(0)
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Some(0),
        Err(_) => None,
    }
}

/// Sleeps `d`, waking early if the connection dies; false if it did.
fn nap(d: Duration, conn: &Conn, shared: &Shared) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if conn.is_dead(shared) {
            return false;
        }
        thread::sleep(POLL.min(until - Instant::now()));
    }
    !conn.is_dead(shared)
}

/// Client → server.
fn upstream_loop(conn: &Conn, shared: &Shared) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut epoch = u64::MAX;
    let mut sent = 0usize;
    while !conn.is_dead(shared) {
        let n = match read_chunk(&conn.client, &mut buf) {
            None => {
                // The client closed: pass the FIN on (the server closes in
                // turn, which ends the other direction).
                match &conn.server {
                    Some(s) => {
                        let _ = s.shutdown(Shutdown::Write);
                    }
                    None => conn.kill(false),
                }
                break;
            }
            Some(0) => continue,
            Some(n) => n,
        };
        let (e, fault) = shared.fault();
        if e != epoch {
            (epoch, sent) = (e, 0);
        }
        let Some(mut server) = conn.server.as_ref() else {
            continue; // black hole: read and forget
        };
        let chunk = match fault {
            Fault::Down => {
                conn.kill(false);
                break;
            }
            Fault::CutRequestAfter(limit) => {
                let k = (limit - sent.min(limit)).min(n);
                sent += k;
                &buf[..k]
            }
            _ => &buf[..n],
        };
        if server.write_all(chunk).is_err() {
            conn.kill(false);
            break;
        }
        shared
            .bytes_up
            .fetch_add(chunk.len() as u64, Ordering::SeqCst);
        if let Fault::CutRequestAfter(limit) = fault {
            if sent >= limit {
                // Let the server read what it got before the close.
                let _ = server.shutdown(Shutdown::Write);
                thread::sleep(Duration::from_millis(50));
                conn.kill(false);
                break;
            }
        }
    }
}

/// Server → client, with the fault applied.
fn downstream_loop(conn: &Conn, shared: &Shared) {
    let Some(server) = conn.server.as_ref() else {
        return;
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut epoch = u64::MAX;
    let mut sent = 0usize;
    let forward = |bytes: &[u8]| -> bool {
        let mut c = &conn.client;
        if c.write_all(bytes).is_err() {
            conn.kill(false);
            return false;
        }
        shared
            .bytes_down
            .fetch_add(bytes.len() as u64, Ordering::SeqCst);
        true
    };
    while !conn.is_dead(shared) {
        let n = match read_chunk(server, &mut buf) {
            None => {
                // The server closed: so does the client's side.
                conn.kill(false);
                break;
            }
            Some(0) => continue,
            Some(n) => n,
        };
        let (e, fault) = shared.fault();
        if e != epoch {
            (epoch, sent) = (e, 0);
        }
        let chunk = &buf[..n];
        let ok = match fault {
            Fault::None | Fault::CutRequestAfter(_) => forward(chunk),
            Fault::Delay(d) => nap(d, conn, shared) && forward(chunk),
            Fault::Split => chunk.iter().all(|b| forward(std::slice::from_ref(b))),
            Fault::Slow(d) => chunk
                .iter()
                .all(|b| nap(d, conn, shared) && forward(std::slice::from_ref(b))),
            Fault::CutAfter(limit) | Fault::ResetAfter(limit) => {
                let k = (limit - sent.min(limit)).min(n);
                sent += k;
                let ok = forward(&chunk[..k]);
                if ok && sent >= limit {
                    // Give the client a moment to read the bytes first: an
                    // RST would discard them from its receive queue.
                    thread::sleep(Duration::from_millis(20));
                    conn.kill(matches!(fault, Fault::ResetAfter(_)));
                    false
                } else {
                    ok
                }
            }
            Fault::Blackhole => true,
            Fault::Down => {
                conn.kill(false);
                false
            }
        };
        if !ok {
            break;
        }
    }
}
