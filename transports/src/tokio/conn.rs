//! The tasks of the tokio driver: one per connection (connect, then read),
//! a writer per connection, and the timer.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use memcrab_core::cluster::{ConnId, Ticket};
use memcrab_core::Millis;
use smallvec::SmallVec;
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

use super::driver::{wake, Shared, State, Wakes};
use super::socket::{self, ReadHalf};
use crate::address::ServerAddr;
use crate::error::Error;

/// Opens the socket of `conn`, starts its writer, then reads it until it
/// fails or closes.
pub(crate) async fn run(shared: Arc<Shared>, conn: ConnId, addr: ServerAddr) {
    let (reader, writer) = match socket::connect(&addr, &shared.opts).await {
        Ok(halves) => halves,
        Err(e) => return fail(&shared, conn, Error::io(&addr, e)),
    };
    let mut wakes = Wakes::new();
    let room = {
        let mut st = shared.lock();
        let Some(notify) = st
            .conns
            .get(conn.index())
            .and_then(Option::as_ref)
            .filter(|t| t.id == conn)
            .map(|t| Arc::clone(&t.writer))
        else {
            return;
        };
        st.cluster.handle_connected(conn);
        let task = tokio::spawn(write(Arc::clone(&shared), conn, notify));
        if let Some(t) = st.conns.get_mut(conn.index()).and_then(Option::as_mut) {
            t.tasks.push(task.abort_handle());
            t.writer_idle = true;
            t.write = Some(writer);
        }
        let room = st.cluster.take_receive_buffer(conn);
        st.pump(&shared, &mut wakes);
        room
    };
    wake(wakes);
    if let Some(room) = room {
        read(&shared, conn, reader, room, &addr).await;
    }
}

/// Reads `conn` into the room its connection lends (no lock held while
/// reading), handing each read to the cluster.
async fn read(
    shared: &Arc<Shared>,
    conn: ConnId,
    mut reader: ReadHalf,
    mut room: bytes::BytesMut,
    addr: &ServerAddr,
) {
    loop {
        let read = reader.read(&mut room[..]).await;
        let mut wakes = Wakes::new();
        let next = {
            let mut st = shared.lock();
            let now = shared.now();
            let next_room = match read {
                Ok(0) => {
                    st.cluster.handle_read(now, conn, room, 0);
                    st.cluster.handle_eof(now, conn);
                    None
                }
                Ok(n) => {
                    st.cluster.handle_read(now, conn, room, n);
                    st.cluster.take_receive_buffer(conn)
                }
                Err(e) => {
                    st.cluster.handle_read(now, conn, room, 0);
                    st.cluster.handle_failure(now, conn, Error::io(addr, e));
                    None
                }
            }
            .filter(|_| st.cluster.server_of(conn).is_some());
            st.pump(shared, &mut wakes);
            next_room
        };
        wake(wakes);
        match next {
            Some(r) => room = r,
            None => return,
        }
    }
}

/// Writes what `conn` has to send whenever it is woken: every request
/// queued by then, in as few writes as the socket takes.
async fn write(shared: Arc<Shared>, conn: ConnId, notify: Arc<Notify>) {
    loop {
        notify.notified().await;
        let result = poll_fn(|cx| {
            let mut wakes = Wakes::new();
            let mut st = shared.lock();
            let now = shared.now();
            if st.cluster.has_merged_pending() {
                st.cluster.flush(now);
            }
            let poll = st.write_out(conn, now, cx);
            if let Poll::Ready(Ok(())) = poll {
                if let Some(t) = st.conns.get_mut(conn.index()).and_then(Option::as_mut) {
                    t.writer_idle = t.id == conn;
                }
            }
            st.pump(&shared, &mut wakes);
            drop(st);
            wake(wakes);
            poll
        })
        .await;
        if let Err(e) = result {
            let err = {
                let st = shared.lock();
                let server = st.cluster.server_of(conn).map_or(usize::MAX, |s| s.0);
                Error::io(&st.addr(server), e)
            };
            return fail(&shared, conn, err);
        }
    }
}

impl State {
    /// Writes `conn`'s transmit until it is empty and flushed (`Ready`),
    /// or the socket is full (`Pending`, `cx` woken when it has room).
    fn write_out(
        &mut self,
        conn: ConnId,
        now: Millis,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let Some(w) = self
            .conns
            .get_mut(conn.index())
            .and_then(Option::as_mut)
            .filter(|t| t.id == conn)
            .and_then(|t| t.write.as_mut())
        else {
            return Poll::Ready(Ok(()));
        };
        loop {
            let tx = self.cluster.transmit(conn);
            if tx.is_empty() {
                return w.as_mut().poll_flush(cx);
            }
            match w.as_mut().poll_write(cx, tx) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.cluster.advance_transmit(now, conn, n),
                other => return other.map(|r| r.map(|_| ())),
            }
        }
    }

    /// Writes a just-submitted ticket's bytes from the calling task while
    /// its connections' writers are idle (one task switch fewer per call);
    /// what the socket does not take at once is left to the writer.
    pub(crate) fn write_now(&mut self, shared: &Arc<Shared>, ticket: Ticket) {
        if self.cluster.has_merged_pending() {
            // The writer's turn sends the merged gets with it.
            return;
        }
        let now = shared.now();
        let conns: SmallVec<[ConnId; 2]> = self.cluster.conns_of(ticket).into();
        for conn in conns {
            let idle = self
                .conns
                .get(conn.index())
                .and_then(Option::as_ref)
                .is_some_and(|t| t.id == conn && t.writer_idle && t.write.is_some());
            if !idle {
                continue;
            }
            let mut cx = Context::from_waker(Waker::noop());
            match self.write_out(conn, now, &mut cx) {
                Poll::Ready(Ok(())) => {}
                // The writer takes over (and registers its own waker).
                Poll::Pending => {}
                Poll::Ready(Err(e)) => {
                    let server = self.cluster.server_of(conn).map_or(usize::MAX, |s| s.0);
                    let err = Error::io(&self.addr(server), e);
                    self.cluster.handle_failure(now, conn, err);
                }
            }
        }
    }
}

/// Reports that `conn` failed.
fn fail(shared: &Arc<Shared>, conn: ConnId, e: Error) {
    let mut wakes = Wakes::new();
    let mut st = shared.lock();
    let now = shared.now();
    st.cluster.handle_failure(now, conn, e);
    st.pump(shared, &mut wakes);
    drop(st);
    wake(wakes);
}

/// Tells the cluster the time whenever its earliest deadline is due.
pub(crate) async fn timer(shared: Arc<Shared>) {
    loop {
        let at = {
            let mut st = shared.lock();
            let at = st.cluster.poll_timeout();
            st.set_timer(at);
            at
        };
        let Some(at) = at else {
            shared.timer.notified().await;
            continue;
        };
        let due = shared.instant(at);
        if tokio::time::timeout_at(due, shared.timer.notified())
            .await
            .is_ok()
        {
            // Re-armed earlier.
            continue;
        }
        let mut wakes = Wakes::new();
        {
            let mut st = shared.lock();
            let now = shared.now();
            st.cluster.handle_timeout(now);
            st.pump(&shared, &mut wakes);
        }
        wake(wakes);
    }
}
