//! The tasks of the tokio driver: one per connection (connect, then read),
//! a writer per connection, and the timer.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::Poll;

use memcrab_core::cluster::ConnId;
use tokio::io::AsyncReadExt;

use super::driver::{wake, Shared, Wakes};
use super::socket::{self, ReadHalf, WriteHalf};
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
        let task = tokio::spawn(write(Arc::clone(&shared), conn, writer, notify));
        if let Some(t) = st.conns.get_mut(conn.index()).and_then(Option::as_mut) {
            t.tasks.push(task.abort_handle());
            t.writer_idle = true;
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
/// queued by then, in as few writes as the socket takes (the lock is held
/// only while the socket accepts bytes without waiting).
async fn write(
    shared: Arc<Shared>,
    conn: ConnId,
    mut writer: WriteHalf,
    notify: Arc<tokio::sync::Notify>,
) {
    loop {
        notify.notified().await;
        let result = poll_fn(|cx| {
            let mut wakes = Wakes::new();
            let mut st = shared.lock();
            let now = shared.now();
            if st.cluster.has_merged_pending() {
                st.cluster.flush(now);
            }
            let poll = loop {
                let tx = st.cluster.transmit(conn);
                if tx.is_empty() {
                    break writer.as_mut().poll_flush(cx).map(|r| r.map(|()| true));
                }
                match writer.as_mut().poll_write(cx, tx) {
                    Poll::Ready(Ok(0)) => break Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => st.cluster.advance_transmit(now, conn, n),
                    Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                    Poll::Pending => break Poll::Pending,
                }
            };
            if let Poll::Ready(Ok(true)) = poll {
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
