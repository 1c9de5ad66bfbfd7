//! What the driver reports: connections opened or failed, bytes read and
//! written, the time.

use bytes::BytesMut;

use crate::time::Millis;

use super::fault::Fault;
use super::{Cluster, ConnId};

impl<E: Clone> Cluster<E> {
    /// Reports that the socket of `conn` is connected: its bytes may be
    /// written.
    pub fn handle_connected(&mut self, conn: ConnId) {
        if let Some(slot) = self.slot_mut(conn) {
            slot.open = true;
            slot.connect_deadline = None;
        }
    }

    /// Reports that `conn` could not connect, or its socket failed to read
    /// or write, with the transport's `error`: every request on it fails
    /// with [`Fault::Transport`], the server's health counts the failure,
    /// and the connection is forgotten (a [`Event::Close`](super::Event)
    /// follows).
    pub fn handle_failure(&mut self, now: Millis, conn: ConnId, error: E) {
        self.now = now;
        let Some(slot) = self.slot(conn) else {
            return;
        };
        let fault = Fault::Transport {
            server: slot.server,
            error,
            unsent: !slot.open,
        };
        self.fail(conn, fault, Some(now));
    }

    /// Hands `conn` the bytes its socket read, and delivers every reply
    /// they complete.
    pub fn handle_received(&mut self, now: Millis, conn: ConnId, data: &[u8]) {
        self.now = now;
        if let Some(slot) = self.slot_mut(conn) {
            if !data.is_empty() {
                slot.fresh = false;
            }
            slot.conn.receive(data);
        }
        self.dispatch(conn, now);
    }

    /// Takes the room the connection of `conn` lends for its socket's next
    /// read ([`Connection::take_receive_buffer`](crate::Connection::take_receive_buffer)),
    /// so bytes land where its parser reads them; `None` if `conn` is gone.
    /// Report the read with [`handle_read`](Self::handle_read).
    pub fn take_receive_buffer(&mut self, conn: ConnId) -> Option<BytesMut> {
        self.slot_mut(conn).map(|s| s.conn.take_receive_buffer())
    }

    /// Reports that the socket of `conn` read `n` bytes into `room`, taken
    /// by [`take_receive_buffer`](Self::take_receive_buffer), and delivers
    /// every reply they complete. A read that timed out gives the room back
    /// with `n` = 0; a read of 0 bytes at the end of the stream is
    /// [`handle_eof`](Self::handle_eof).
    pub fn handle_read(&mut self, now: Millis, conn: ConnId, room: BytesMut, n: usize) {
        self.now = now;
        if let Some(slot) = self.slot_mut(conn) {
            if n > 0 {
                slot.fresh = false;
            }
            slot.conn.return_receive_buffer(room, n);
        }
        self.dispatch(conn, now);
    }

    /// Reports that the server closed `conn` (a read returned 0).
    pub fn handle_eof(&mut self, now: Millis, conn: ConnId) {
        self.now = now;
        if let Some(slot) = self.slot_mut(conn) {
            slot.conn.receive_eof();
        }
        self.dispatch(conn, now);
    }

    /// Discards the first `n` bytes of [`transmit`](Self::transmit) of
    /// `conn`, which its socket wrote.
    ///
    /// # Panics
    ///
    /// Panics if `n` is larger than `transmit(conn).len()`.
    pub fn advance_transmit(&mut self, now: Millis, conn: ConnId, n: usize) {
        self.now = now;
        if let Some(slot) = self.slot_mut(conn) {
            slot.conn.advance_transmit(n);
        }
        self.settle(conn);
    }

    /// Tells the cluster the time: a connection past its connect deadline
    /// fails, a request past its reply deadline fails with
    /// [`Error::Timeout`](crate::Error::Timeout) (closing its connection). Calling it early is a
    /// no-op.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.now = now;
        let mut i = 0;
        while i < self.conns.len() {
            let slot = &self.conns[i];
            let id = ConnId {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                generation: slot.generation,
            };
            if !slot.live {
                i += 1;
                continue;
            }
            if !slot.open {
                if slot.connect_deadline.is_some_and(|d| d <= now) {
                    let fault = Fault::ConnectTimeout {
                        server: slot.server,
                    };
                    self.fail(id, fault, Some(now));
                }
            } else if slot.conn.poll_timeout().is_some_and(|d| d <= now) {
                if let Some(slot) = self.slot_mut(id) {
                    slot.conn.handle_timeout(now);
                }
                self.dispatch(id, now);
            }
            i += 1;
        }
    }
}
