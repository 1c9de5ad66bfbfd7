//! The receive buffer a connection lends its transport, and `receive`.
//!
//! Socket bytes land where the parser reads them: `rx` holds what was
//! received and not yet parsed, `spare` the zeroed room right after it in
//! the same allocation. A read into `spare` joins `rx` without a copy
//! (`BytesMut::unsplit` of contiguous halves); replies are cut from the
//! front of `rx` as zero-copy `Bytes`.

use bytes::BytesMut;

use super::Connection;

/// The size of a new receive buffer (one allocation, zeroed once, which
/// replies then share until they are dropped).
const ARENA: usize = 32 * 1024;
/// The least room [`Connection::receive_buffer`] lends.
const MIN_READ: usize = 4 * 1024;

impl Connection {
    /// Appends bytes read from the socket. Parsing happens in
    /// [`poll`](Self::poll).
    ///
    /// This copies `data`; a transport that reads from a socket itself
    /// reads into [`receive_buffer`](Self::receive_buffer) instead.
    pub fn receive(&mut self, data: &[u8]) {
        if self.error.is_some() || data.is_empty() {
            return;
        }
        if self.spare.len() >= data.len() {
            self.spare[..data.len()].copy_from_slice(data);
            self.advance_receive(data.len());
            return;
        }
        // Copying anyway: appended (the buffer grows as a `Vec` does, never
        // toward a length a server announced), with no zeroed room made.
        // Room lent from now on is made afresh after `rx`.
        self.spare = BytesMut::new();
        self.rx.extend_from_slice(data);
    }

    /// Lends the transport room at the end of the receive buffer to read
    /// into, so socket bytes land where the parser reads them (as rustls's
    /// `read_tls`): read into it, then call
    /// [`advance_receive`](Self::advance_receive) with the bytes read.
    ///
    /// The room is at least 4 KiB; when the reply being read announced a
    /// value, 4 KiB more than the rest of it, so a large value arrives in
    /// as few reads as the socket allows. Its contents are
    /// unspecified (zeroed or stale bytes).
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::{Connection, Reply, Request};
    ///
    /// let mut conn = Connection::new();
    /// let id = conn.submit(&Request::Version, None).unwrap();
    /// let reply = b"VERSION 1.6.18\r\n";
    /// // As a socket's read would:
    /// let room = conn.receive_buffer();
    /// room[..reply.len()].copy_from_slice(reply);
    /// conn.advance_receive(reply.len());
    /// assert_eq!(conn.poll(), Some((id, Ok(Reply::Version("1.6.18".into())))));
    /// ```
    #[must_use]
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        let want = self.room_wanted();
        if self.spare.len() < want {
            self.renew(want);
        }
        &mut self.spare[..]
    }

    /// Takes the room [`receive_buffer`](Self::receive_buffer) would lend
    /// out of the connection, for a transport that reads without holding
    /// the connection (say, with a lock released during the read); give it
    /// back with [`return_receive_buffer`](Self::return_receive_buffer).
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::{Connection, Reply, Request};
    ///
    /// let mut conn = Connection::new();
    /// let id = conn.submit(&Request::Version, None).unwrap();
    /// let mut room = conn.take_receive_buffer();
    /// let reply = b"VERSION 1.6.18\r\n";
    /// room[..reply.len()].copy_from_slice(reply);
    /// conn.return_receive_buffer(room, reply.len());
    /// assert_eq!(conn.poll(), Some((id, Ok(Reply::Version("1.6.18".into())))));
    /// ```
    #[must_use]
    pub fn take_receive_buffer(&mut self) -> BytesMut {
        let want = self.room_wanted();
        if self.spare.len() < want {
            self.renew(want);
        }
        core::mem::take(&mut self.spare)
    }

    /// Gives back the room [`take_receive_buffer`](Self::take_receive_buffer)
    /// took, its first `n` bytes read into; they are appended as by
    /// [`advance_receive`](Self::advance_receive), without a copy.
    ///
    /// # Panics
    ///
    /// Panics if `n` is larger than `room.len()`.
    pub fn return_receive_buffer(&mut self, mut room: BytesMut, n: usize) {
        let filled = room.split_to(n);
        self.spare = room;
        if self.error.is_none() && n > 0 {
            self.rx.unsplit(filled);
        }
    }

    /// The room the next bytes want after `rx`: the rest of a value
    /// announced and a read's worth after it (for the lines that end the
    /// reply, which must follow it in place).
    fn room_wanted(&mut self) -> usize {
        if self.need == 0 && !self.rx.is_empty() {
            // Bytes came that `poll` has not seen yet (a transport reading
            // until the socket is drained): learn the value's length now.
            self.need = self.parser.announced(&self.rx, &self.limits);
        }
        self.need
            .saturating_sub(self.rx.len())
            .saturating_add(MIN_READ)
    }

    /// Appends the first `n` bytes of [`receive_buffer`](Self::receive_buffer),
    /// which the transport has read into. Parsing happens in
    /// [`poll`](Self::poll).
    ///
    /// # Panics
    ///
    /// Panics if `n` is larger than the buffer `receive_buffer` returned.
    pub fn advance_receive(&mut self, n: usize) {
        if self.error.is_some() || n == 0 {
            return;
        }
        let filled = self.spare.split_to(n);
        // Contiguous with `rx` (or `rx` is empty): no copy.
        self.rx.unsplit(filled);
    }

    /// Moves the unparsed bytes to a new zeroed buffer with room for `want`
    /// more after them: at least [`ARENA`] in all, and twice what is
    /// pending, so a long reply of unknown length is copied O(1) times per
    /// byte. The old buffer lives on as long as replies cut from it.
    fn renew(&mut self, want: usize) {
        let pending = self.rx.len();
        let size = pending
            .saturating_add(want)
            .max(ARENA)
            .max(pending.saturating_mul(2));
        let mut arena = BytesMut::zeroed(size);
        arena[..pending].copy_from_slice(&self.rx);
        self.rx = arena.split_to(pending);
        self.spare = arena;
    }
}
