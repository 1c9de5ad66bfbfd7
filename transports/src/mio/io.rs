//! The engine's sockets: opening and closing them as the cluster asks,
//! connecting, writing, reading.

use std::io;

use memcrab_core::cluster::{ConnId, Event};
use mio::Token;

use super::socket::Sock;
use super::Engine;
use crate::error::Error;

impl Engine {
    /// Opens and closes the sockets the cluster asks for.
    pub(super) fn handle_events(&mut self) {
        while let Some(ev) = self.cluster.poll_event() {
            match ev {
                Event::Open { conn, server } => {
                    let addr = &self.addrs[server.0];
                    let token = Token(conn.index());
                    match Sock::open(self.poll.registry(), token, addr, self.no_delay) {
                        Ok(sock) => {
                            if self.socks.len() <= conn.index() {
                                self.socks.resize_with(conn.index() + 1, || None);
                            }
                            self.socks[conn.index()] = Some(sock);
                        }
                        Err(e) => {
                            let now = self.now();
                            let err = Error::io(addr, e);
                            self.cluster.handle_failure(now, conn, err);
                        }
                    }
                }
                // Nobody awaited it; the connection's Close follows.
                Event::Unsolicited { .. } => {}
                Event::Close { conn } => {
                    if let Some(sock) = self.socks.get_mut(conn.index()).and_then(Option::take) {
                        sock.close(self.poll.registry());
                    }
                }
            }
        }
    }

    /// Writes what every connected socket has to send.
    pub(super) fn write_all(&mut self) {
        for i in 0..self.socks.len() {
            if self.socks[i]
                .as_ref()
                .is_some_and(|s| s.connected && !s.write_blocked)
            {
                self.write(i);
            }
        }
    }

    /// Connects, writes and reads socket `index` as far as it goes.
    pub(super) fn drive(&mut self, index: usize) {
        let Some(conn) = self.conn_at(index) else {
            return;
        };
        let now = self.now();
        let Some(sock) = self.socks.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        match sock.check_connected() {
            Ok(true) if !self.cluster.is_connected(conn) => self.cluster.handle_connected(conn),
            Ok(_) => {}
            Err(e) => return self.fail(index, conn, e),
        }
        if !self.cluster.is_connected(conn) {
            return;
        }
        self.write(index);
        loop {
            let Some(sock) = self.socks.get_mut(index).and_then(Option::as_mut) else {
                return;
            };
            if !sock.readable {
                return;
            }
            // Read into the connection's own buffer (no copy), sized toward
            // a value being received.
            let Some(mut room) = self.cluster.take_receive_buffer(conn) else {
                return;
            };
            let Some(sock) = self.socks.get_mut(index).and_then(Option::as_mut) else {
                self.cluster.handle_read(now, conn, room, 0);
                return;
            };
            match sock.read(&mut room) {
                Ok(0) => {
                    sock.readable = false;
                    self.cluster.handle_read(now, conn, room, 0);
                    self.cluster.handle_eof(now, conn);
                }
                Ok(n) => {
                    // A short read drained the socket: the next bytes bring
                    // a new edge.
                    sock.readable = n == room.len();
                    self.cluster.handle_read(now, conn, room, n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    sock.readable = false;
                    self.cluster.handle_read(now, conn, room, 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.cluster.handle_read(now, conn, room, 0);
                }
                Err(e) => {
                    self.cluster.handle_read(now, conn, room, 0);
                    return self.fail(index, conn, e);
                }
            }
        }
    }

    fn write(&mut self, index: usize) {
        let Some(conn) = self.conn_at(index) else {
            return;
        };
        let now = self.now();
        loop {
            let tx = self.cluster.transmit(conn);
            let Some(sock) = self.socks.get_mut(index).and_then(Option::as_mut) else {
                return;
            };
            if tx.is_empty() || sock.write_blocked || !sock.connected {
                return;
            }
            match sock.write(tx) {
                Ok(0) => return self.fail(index, conn, io::ErrorKind::WriteZero.into()),
                Ok(n) => self.cluster.advance_transmit(now, conn, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => sock.write_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(index, conn, e),
            }
        }
    }

    fn fail(&mut self, index: usize, conn: ConnId, e: io::Error) {
        let now = self.now();
        let name = self
            .cluster
            .server_of(conn)
            .map_or_else(String::new, |s| self.addrs[s.0].to_string());
        if let Some(sock) = self.socks.get_mut(index).and_then(Option::take) {
            sock.close(self.poll.registry());
        }
        self.cluster.handle_failure(now, conn, Error::io(&name, e));
    }
}
