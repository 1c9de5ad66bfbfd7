//! One non-blocking socket of the engine, with its readiness.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::event::Event;
use mio::{Interest, Registry, Token};

use crate::address::{Resolve, ServerAddr};

/// A TCP or unix stream.
#[derive(Debug)]
enum Stream {
    Tcp(mio::net::TcpStream),
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
}

/// A socket, whether it has connected, and what its last events said.
///
/// mio's readiness is edge-triggered: `readable` stays set until a read
/// would block, `write_blocked` until the next writable event.
#[derive(Debug)]
pub(super) struct Sock {
    stream: Stream,
    pub(super) connected: bool,
    pub(super) readable: bool,
    pub(super) write_blocked: bool,
}

impl Sock {
    /// Starts a non-blocking connect to `addr` (at `resolved`, if it was
    /// resolved already), registered under `token`.
    pub(super) fn open(
        registry: &Registry,
        token: Token,
        addr: &ServerAddr,
        resolved: Option<SocketAddr>,
        no_delay: bool,
    ) -> io::Result<Sock> {
        let mut stream = match addr {
            #[cfg(unix)]
            ServerAddr::Unix(path) => Stream::Unix(mio::net::UnixStream::connect(path)?),
            _ => {
                let sa = match resolved {
                    Some(sa) => sa,
                    None => addr
                        .resolve()?
                        .into_iter()
                        .next()
                        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?,
                };
                let s = mio::net::TcpStream::connect(sa)?;
                if no_delay {
                    s.set_nodelay(true)?;
                }
                Stream::Tcp(s)
            }
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        match &mut stream {
            Stream::Tcp(s) => registry.register(s, token, interest)?,
            #[cfg(unix)]
            Stream::Unix(s) => registry.register(s, token, interest)?,
        }
        Ok(Sock {
            stream,
            connected: false,
            readable: false,
            write_blocked: false,
        })
    }

    /// Records an event's readiness; an error or a closed half wakes both
    /// ways, so the read or write that follows reports it.
    pub(super) fn handle(&mut self, event: &Event) {
        let broken = event.is_error() || event.is_read_closed() || event.is_write_closed();
        self.readable |= event.is_readable() || broken;
        if event.is_writable() || broken {
            self.write_blocked = false;
        }
    }

    /// Returns `Ok(true)` once a non-blocking connect completed.
    pub(super) fn check_connected(&mut self) -> io::Result<bool> {
        if self.connected {
            return Ok(true);
        }
        let (err, peer) = match &self.stream {
            Stream::Tcp(s) => (s.take_error()?, s.peer_addr().map(|_| ())),
            #[cfg(unix)]
            Stream::Unix(s) => (s.take_error()?, s.peer_addr().map(|_| ())),
        };
        if let Some(e) = err {
            return Err(e);
        }
        match peer {
            Ok(()) => {
                self.connected = true;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
        }
    }

    pub(super) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
        }
    }

    /// Deregisters the socket (it closes when dropped).
    pub(super) fn close(mut self, registry: &Registry) {
        let _ = match &mut self.stream {
            Stream::Tcp(s) => registry.deregister(s),
            #[cfg(unix)]
            Stream::Unix(s) => registry.deregister(s),
        };
    }
}
