//! The tasks of the tokio driver: one per connection (connect, then read),
//! a writer per connection, and the timer.

use std::io;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use memcrab_core::cluster::{ConnId, Ticket};
use memcrab_core::Millis;
use smallvec::SmallVec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use super::driver::{Shared, State};
use super::socket::{self, ReadHalf};
use crate::address::ServerAddr;
use crate::error::Error;

/// Opens the socket of `conn`, starts its writer, then reads it until it
/// fails or closes.
pub(crate) async fn run(shared: Arc<Shared>, conn: ConnId, addr: ServerAddr) {
    let (reader, writer) = match socket::connect(&addr, &shared.opts).await {
        Ok(halves) => halves,
        Err(e) => {
            let e = Error::io(&addr, e);
            crate::trace::connect_failed(&addr, &e);
            return fail(&shared, conn, e);
        }
    };
    crate::trace::connected(&addr);
    let room = shared.step(|st, _| {
        let notify = Arc::clone(&st.tasks_mut(conn)?.writer);
        st.cluster.handle_connected(conn);
        let task = tokio::spawn(write(Arc::clone(&shared), conn, notify));
        if let Some(t) = st.tasks_mut(conn) {
            t.tasks.push(task.abort_handle());
            t.writer_idle = true;
            t.write = Some(writer);
        }
        st.cluster.take_receive_buffer(conn)
    });
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
        let next = shared.step(|st, now| {
            match read {
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
            .filter(|_| st.cluster.server_of(conn).is_some())
        });
        match next {
            Some(r) => room = r,
            None => return,
        }
    }
}

/// Most bytes copied out for one write.
const WRITE_CHUNK: usize = 256 * 1024;

/// Writes what `conn` has to send whenever it is woken: every request
/// queued by then, in one write. The bytes are copied out under the lock
/// and written without it, so callers and the reader never wait for a
/// write syscall.
async fn write(shared: Arc<Shared>, conn: ConnId, notify: Arc<Notify>) {
    let mut buf = Vec::new();
    loop {
        notify.notified().await;
        loop {
            let half = shared.step(|st, now| {
                if st.cluster.has_merged_pending() {
                    st.cluster.flush(now);
                }
                let tx = st.cluster.transmit(conn);
                buf.clear();
                buf.extend_from_slice(&tx[..tx.len().min(WRITE_CHUNK)]);
                let slot = st.tasks_mut(conn)?;
                let half = if buf.is_empty() {
                    slot.writer_idle = true;
                    None
                } else {
                    slot.write.take()
                };
                if half.is_none() && st.cluster.has_merged_pending() {
                    // No connection has room for them: wait for a reply.
                    st.merge_stalled = true;
                }
                Some(half)
            });
            // `None`: the connection is gone.
            let Some(half) = half else { return };
            let Some(mut half) = half else { break };
            let written = match half.write_all(&buf).await {
                Ok(()) => half.flush().await,
                Err(e) => Err(e),
            };
            let failed = shared.step(|st, now| match written {
                Err(e) => {
                    let err = st.conn_error(conn, e);
                    st.cluster.handle_failure(now, conn, err);
                    true
                }
                Ok(()) => {
                    if let Some(t) = st.tasks_mut(conn) {
                        t.write = Some(half);
                    }
                    st.cluster.advance_transmit(now, conn, buf.len());
                    false
                }
            });
            if failed {
                return;
            }
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
        let Some(w) = self.conns.get_mut(conn).and_then(|t| t.write.as_mut()) else {
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

    /// Writes a just-submitted ticket's bytes from the calling task when it
    /// is alone on an idle connection (one task switch fewer per call);
    /// what the socket does not take at once is left to the writer.
    pub(crate) fn write_now(&mut self, ticket: Ticket) {
        if self.cluster.has_merged_pending() {
            // The writer's turn sends the merged gets with it.
            return;
        }
        // Writing moves no deadline: the submit's time serves.
        let now = self.cluster.now();
        let conns: SmallVec<[ConnId; 2]> = self.cluster.conns_of(ticket).into();
        for conn in conns {
            let idle = self
                .tasks_mut(conn)
                .is_some_and(|t| t.writer_idle && t.write.is_some());
            // Only a lone request goes at once: with others in flight, the
            // writer's turn sends everything queued by then in one write
            // (a send per request would cost more than the task switch).
            if !idle || self.cluster.in_flight_on(conn) > 1 {
                continue;
            }
            let mut cx = Context::from_waker(Waker::noop());
            match self.write_out(conn, now, &mut cx) {
                Poll::Ready(Ok(())) => {}
                // The writer takes over (and registers its own waker).
                Poll::Pending => {}
                Poll::Ready(Err(e)) => {
                    let err = self.conn_error(conn, e);
                    self.cluster.handle_failure(now, conn, err);
                }
            }
        }
    }
}

/// Reports that `conn` failed.
fn fail(shared: &Arc<Shared>, conn: ConnId, e: Error) {
    shared.step(|st, now| st.cluster.handle_failure(now, conn, e));
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
        shared.step(|st, now| st.cluster.handle_timeout(now));
    }
}
