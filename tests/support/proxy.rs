//! A small thread-based TCP proxy for tests: forwards client → server at
//! once, delays every server → client chunk by a fixed time, and can be
//! switched to reject connections (accept, then close at once).
//!
//! ```ignore
//! let server = MemcachedServer::start();
//! let proxy = Proxy::start(server.socket_addr(), Duration::from_millis(300));
//! let client = memcrab::Client::new(proxy.addr_string()).unwrap();
//! // every reply now arrives 300 ms after memcached sent it
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

struct Shared {
    upstream: SocketAddr,
    delay: Duration,
    reject: AtomicBool,
    stop: AtomicBool,
    accepted: AtomicUsize,
    /// Every socket opened, to shut down on drop.
    sockets: Mutex<Vec<TcpStream>>,
}

/// A forwarding proxy on `127.0.0.1:<free port>`; stops on drop.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` that delays every chunk the server
    /// sends by `delay` (each chunk is held `delay` after it was read, so
    /// the delay is added latency, not a throughput limit).
    pub fn start(upstream: SocketAddr, delay: Duration) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            delay,
            reject: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            sockets: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept_loop(&listener, &s));
        Proxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The proxy's address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's address as a client takes it: `"127.0.0.1:<port>"`.
    pub fn addr_string(&self) -> String {
        self.addr.to_string()
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// With `true`, new connections are accepted and closed at once (the
    /// client sees its connection closed or reset); existing ones are cut
    /// too. With `false`, connections are forwarded again.
    pub fn set_reject(&self, reject: bool) {
        self.shared.reject.store(reject, Ordering::SeqCst);
        if reject {
            self.cut_all();
        }
    }

    /// How many connections the proxy has accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Shuts down every connection open through the proxy.
    pub fn cut_all(&self) {
        for s in self.shared.sockets.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
        self.cut_all();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = stream else { continue };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        if shared.reject.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let Ok(server) = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5))
        else {
            drop(client);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
            let mut sockets = shared.sockets.lock().unwrap();
            sockets.push(c);
            sockets.push(s);
        }
        spawn_forward(&client, &server);
        spawn_delayed(&server, &client, shared.delay);
    }
}

/// Copies `from` → `to` at once; on EOF shuts `to` for writing.
fn spawn_forward(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Copies `from` → `to`, writing each chunk `delay` after it was read.
fn spawn_delayed(from: &TcpStream, to: &TcpStream, delay: Duration) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return, // dropping tx ends the writer
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    thread::spawn(move || {
        for (due, chunk) in rx {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
