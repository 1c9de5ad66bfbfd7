//! The sockets of a core [`Cluster`] over mio, shared by the [`Engine`](super::Engine)
//! and the [`Driver`](super::Driver): opening and closing them as the
//! cluster asks, connecting, writing, reading.

use std::io;
use std::net::SocketAddr;

use memcrab_core::cluster::{Cluster, ConnId};
use memcrab_core::router::NodeId;
use memcrab_core::Millis;
use mio::{Registry, Token};

use super::socket::Sock;
use crate::address::ServerAddr;
use crate::error::Error;

/// A cluster and its sockets, one per connection index.
#[derive(Debug)]
pub(super) struct Net {
    pub(super) cluster: Cluster<Error>,
    /// Per server: its address (and its name in errors).
    pub(super) addrs: Vec<ServerAddr>,
    /// Per server: its address resolved once, if it was.
    pub(super) resolved: Vec<Option<SocketAddr>>,
    /// Per connection index: its socket.
    pub(super) socks: Vec<Option<Sock>>,
    pub(super) no_delay: bool,
}

impl Net {
    pub(super) fn new(cluster: Cluster<Error>, addrs: Vec<ServerAddr>, no_delay: bool) -> Net {
        Net {
            cluster,
            addrs,
            resolved: Vec::new(),
            socks: Vec::new(),
            no_delay,
        }
    }

    /// Opens the socket of `conn` to `server`, registered under `token`
    /// (an [`Event::Open`](memcrab_core::cluster::Event::Open)).
    pub(super) fn open(
        &mut self,
        registry: &Registry,
        now: Millis,
        (conn, server): (ConnId, NodeId),
        token: Token,
    ) {
        let addr = &self.addrs[server.0];
        let resolved = self.resolved.get(server.0).copied().flatten();
        match Sock::open(registry, token, addr, resolved, self.no_delay) {
            Ok(sock) => {
                if self.socks.len() <= conn.index() {
                    self.socks.resize_with(conn.index() + 1, || None);
                }
                self.socks[conn.index()] = Some(sock);
            }
            Err(e) => {
                let err = Error::io(addr, e);
                self.cluster.handle_failure(now, conn, err);
            }
        }
    }

    /// Closes the socket of `conn` (an [`Event::Close`](memcrab_core::cluster::Event::Close)).
    pub(super) fn close(&mut self, registry: &Registry, conn: ConnId) {
        if let Some(sock) = self.socks.get_mut(conn.index()).and_then(Option::take) {
            sock.close(registry);
        }
    }

    /// Returns true if socket `index` is live and has bytes to write.
    pub(super) fn has_unwritten(&self) -> bool {
        (0..self.socks.len()).any(|i| {
            self.socks[i].is_some()
                && self
                    .cluster
                    .conn_at(i)
                    .is_some_and(|c| !self.cluster.transmit(c).is_empty())
        })
    }

    /// Writes what every connected socket has to send.
    pub(super) fn write_all(&mut self, registry: &Registry, now: Millis) {
        for i in 0..self.socks.len() {
            if self.socks[i]
                .as_ref()
                .is_some_and(|s| s.connected && !s.write_blocked)
            {
                self.write(registry, now, i);
            }
        }
    }

    /// Connects, writes and reads socket `index` as far as it goes.
    pub(super) fn drive(&mut self, registry: &Registry, now: Millis, index: usize) {
        let Some(conn) = self.cluster.conn_at(index) else {
            return;
        };
        let Some(sock) = self.socks.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        match sock.check_connected() {
            Ok(true) if !self.cluster.is_connected(conn) => self.cluster.handle_connected(conn),
            Ok(_) => {}
            Err(e) => return self.fail(registry, now, index, e),
        }
        if !self.cluster.is_connected(conn) {
            return;
        }
        self.write(registry, now, index);
        while self
            .socks
            .get(index)
            .and_then(Option::as_ref)
            .is_some_and(|s| s.readable)
        {
            // Read into the connection's own buffer (no copy), sized toward
            // a value being received.
            let Some(mut room) = self.cluster.take_receive_buffer(conn) else {
                return;
            };
            let Some(sock) = self.socks.get_mut(index).and_then(Option::as_mut) else {
                return self.cluster.handle_read(now, conn, room, 0);
            };
            let read = sock.read(&mut room);
            // A short read drained the socket: the next bytes bring a new
            // edge.
            sock.readable = match &read {
                Ok(n) => *n != 0 && *n == room.len(),
                Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            };
            match read {
                Ok(0) => {
                    self.cluster.handle_read(now, conn, room, 0);
                    self.cluster.handle_eof(now, conn);
                }
                Ok(n) => self.cluster.handle_read(now, conn, room, n),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    self.cluster.handle_read(now, conn, room, 0);
                }
                Err(e) => {
                    self.cluster.handle_read(now, conn, room, 0);
                    return self.fail(registry, now, index, e);
                }
            }
        }
    }

    /// Writes what socket `index` has to send, until it would block.
    pub(super) fn write(&mut self, registry: &Registry, now: Millis, index: usize) {
        let Some(conn) = self.cluster.conn_at(index) else {
            return;
        };
        loop {
            let tx = self.cluster.transmit(conn);
            let Some(sock) = self.socks.get_mut(index).and_then(Option::as_mut) else {
                return;
            };
            if tx.is_empty() || sock.write_blocked || !sock.connected {
                return;
            }
            let len = tx.len();
            match sock.write(tx) {
                Ok(0) => return self.fail(registry, now, index, io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.cluster.advance_transmit(now, conn, n);
                    if n == len {
                        // All written: nothing to look up again.
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => sock.write_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(registry, now, index, e),
            }
        }
    }

    /// Closes socket `index` after an I/O error and tells the cluster.
    fn fail(&mut self, registry: &Registry, now: Millis, index: usize, e: io::Error) {
        let Some(conn) = self.cluster.conn_at(index) else {
            return;
        };
        let name = self
            .cluster
            .server_of(conn)
            .map_or_else(String::new, |s| self.addrs[s.0].to_string());
        if let Some(sock) = self.socks.get_mut(index).and_then(Option::take) {
            sock.close(registry);
        }
        self.cluster.handle_failure(now, conn, Error::io(&name, e));
    }

    /// The transport error for a core fault, naming its server.
    pub(super) fn error_of(&self, fault: memcrab_core::cluster::Fault<Error>) -> Error {
        error_with(&self.addrs, fault)
    }
}

/// The error of `fault`, naming its server by its address in `addrs`.
pub(super) fn error_with(
    addrs: &[ServerAddr],
    fault: memcrab_core::cluster::Fault<Error>,
) -> Error {
    crate::fault::error_of(fault, |s| {
        addrs.get(s.0).map_or_else(String::new, ToString::to_string)
    })
}
