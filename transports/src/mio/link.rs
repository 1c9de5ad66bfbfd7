//! One non-blocking socket and its protocol state: the drive function.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use memcrab_core::router::NodeId;
use memcrab_core::{Connection, Millis};
use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::driver::{Completion, Ticket};
use super::options::DriverOptions;
use crate::error::Error;

/// What a readiness event says, kept apart from the event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Readiness {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
}

impl Readiness {
    pub(crate) fn of(event: &Event) -> Readiness {
        // An error or a closed half wakes both ways: the read or write
        // that follows reports it.
        let broken = event.is_error() || event.is_read_closed() || event.is_write_closed();
        Readiness {
            readable: event.is_readable() || broken,
            writable: event.is_writable() || broken,
        }
    }
}

/// A connection of the driver: socket, [`Connection`], readiness.
///
/// mio's readiness is edge-triggered: `readable` stays set until a read
/// would block, `write_blocked` until the next writable event.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) token: Token,
    pub(crate) node: NodeId,
    pub(crate) addr: SocketAddr,
    /// The server's name in errors.
    pub(crate) server: Arc<str>,
    pub(crate) conn: Connection,
    stream: Option<TcpStream>,
    connecting: bool,
    /// An I/O error broke the socket (it is closed by the driver).
    failed: bool,
    readable: bool,
    write_blocked: bool,
    /// The I/O error that broke the socket, if one did.
    io_error: Option<Arc<io::Error>>,
    /// Listed in the driver's list of links to drive.
    pub(crate) queued: bool,
}

impl Link {
    /// Starts a non-blocking connect to `addr` and registers the socket
    /// under `token`.
    pub(crate) fn open(
        registry: &Registry,
        token: Token,
        node: NodeId,
        addr: SocketAddr,
        server: Arc<str>,
        opts: &DriverOptions,
    ) -> Link {
        let mut conn = Connection::with_config(opts.key_policy.clone(), opts.limits);
        conn.set_protocol(opts.protocol);
        let mut link = Link {
            token,
            node,
            addr,
            server,
            conn,
            stream: None,
            connecting: true,
            failed: false,
            readable: false,
            write_blocked: false,
            io_error: None,
            queued: false,
        };
        let opened = TcpStream::connect(addr).and_then(|mut s| {
            if opts.no_delay {
                s.set_nodelay(true)?;
            }
            registry.register(&mut s, token, Interest::READABLE | Interest::WRITABLE)?;
            Ok(s)
        });
        match opened {
            Ok(s) => link.stream = Some(s),
            Err(e) => link.break_with(e),
        }
        link
    }

    /// Returns true once the socket is gone (the connection is then closed).
    pub(crate) fn is_broken(&self) -> bool {
        self.failed || self.stream.is_none() || self.conn.is_closed()
    }

    /// Returns true if the socket is still registered.
    pub(crate) fn has_socket(&self) -> bool {
        self.stream.is_some()
    }

    /// Returns true while the non-blocking connect is under way.
    pub(crate) fn is_connecting(&self) -> bool {
        self.connecting && self.stream.is_some()
    }

    /// Records readiness taken from an event.
    pub(crate) fn handle_readiness(&mut self, r: Readiness) {
        self.readable |= r.readable;
        if r.writable {
            self.write_blocked = false;
        }
    }

    /// Moves bytes both ways, applies the deadline (when `now` is given:
    /// the driver knows when one may be due), and queues every completed
    /// reply on `out`: transmit, read, receive, handle_timeout, poll.
    /// Reads go into the connection's own buffer; `_buf` is unused.
    pub(crate) fn drive(
        &mut self,
        now: Option<Millis>,
        _buf: &mut [u8],
        out: &mut VecDeque<Completion>,
    ) {
        if let Err(e) = self.move_bytes() {
            self.break_with(e);
        }
        if let Some(now) = now {
            self.conn.handle_timeout(now);
        }
        while let Some((id, result)) = self.conn.poll() {
            let result = result.map_err(|e| self.error(e));
            let ticket = Ticket {
                token: self.token,
                id,
            };
            out.push_back(Completion { ticket, result });
        }
    }

    fn move_bytes(&mut self) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut().filter(|_| !self.failed) else {
            return Ok(());
        };
        if self.connecting {
            if let Some(e) = stream.take_error()? {
                return Err(e);
            }
            match stream.peer_addr() {
                Ok(_) => self.connecting = false,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        while self.conn.wants_write() && !self.write_blocked {
            match stream.write(self.conn.transmit()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.conn.advance_transmit(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.write_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        while self.readable {
            // Into the connection's own buffer (no copy), sized toward the
            // value being received.
            let room = self.conn.receive_buffer();
            let lent = room.len();
            match stream.read(room) {
                Ok(0) => {
                    self.readable = false;
                    self.conn.receive_eof();
                }
                Ok(n) => {
                    self.conn.advance_receive(n);
                    // A short read drained the socket: the next bytes bring
                    // a new edge (as tokio assumes on Linux), so the read
                    // that would only say WouldBlock is saved.
                    self.readable = n == lent;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Stops using the socket after an I/O error: every request in flight
    /// fails (replies already complete are still handed out).
    fn break_with(&mut self, e: io::Error) {
        self.io_error = Some(Arc::new(e));
        self.failed = true;
        self.conn.receive_eof();
    }

    /// Deregisters and drops the socket.
    pub(crate) fn close(&mut self, registry: &Registry) {
        if let Some(mut s) = self.stream.take() {
            let _ = registry.deregister(&mut s);
        }
    }

    /// The transport error for a core error on this link.
    pub(crate) fn error(&self, e: memcrab_core::Error) -> Error {
        match (&self.io_error, &e) {
            (Some(source), memcrab_core::Error::UnexpectedClose) => Error::Io {
                server: self.server.to_string(),
                source: source.clone(),
            },
            _ => Error::at(&self.server, e),
        }
    }

    /// Returns the error to give requests submitted after the link broke.
    pub(crate) fn closed_error(&self) -> Error {
        match (&self.io_error, self.conn.error()) {
            (_, Some(e)) => Error::at(&self.server, e.clone()),
            (Some(source), None) => Error::Io {
                server: self.server.to_string(),
                source: source.clone(),
            },
            (None, None) => Error::at(&self.server, memcrab_core::Error::UnexpectedClose),
        }
    }
}
