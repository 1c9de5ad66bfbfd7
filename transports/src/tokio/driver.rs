//! The tokio driver's shared state: a [`Cluster`] behind a lock, the
//! tasks of its connections, and the wakers of the calls waiting on it.
//!
//! A call submits its batch under the lock and waits for its ticket. Each
//! connection has a reader task (which reads into the connection's lent
//! buffer without the lock) and a writer task (which writes what every
//! caller queued, as much as is ready, in one write). One timer task
//! tells the cluster the time when a deadline is due. After every input,
//! [`State::pump`] carries out what the cluster asked: open or close
//! connections, wake writers and callers.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use memcrab_core::cluster::slots::{ConnSlots, TicketSlots};
use memcrab_core::cluster::{Cluster, ConnId, Event, Fault, Refusal, Ticket};
use memcrab_core::Millis;
use smallvec::SmallVec;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::address::ServerAddr;
use crate::blocking::{ClientOptions, Outcomes};
use crate::error::{Error, Result};

/// Wakers to wake once the lock is released.
pub(crate) type Wakes = SmallVec<[Waker; 8]>;

/// What every task of a client shares.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    pub(crate) opts: ClientOptions,
    /// The origin of the cluster's time (tokio's clock, so a paused
    /// runtime's virtual time drives deadlines too).
    origin: Instant,
    /// A ticket completed: calls refused as busy try again.
    pub(crate) freed: Notify,
    /// The earliest deadline moved earlier: the timer re-arms.
    pub(crate) timer: Notify,
}

/// The tasks of one connection.
pub(crate) struct ConnTasks {
    /// Wakes the writer.
    pub(crate) writer: Arc<Notify>,
    /// The writer waits for work (only then is it notified).
    pub(crate) writer_idle: bool,
    pub(crate) tasks: SmallVec<[AbortHandle; 2]>,
    /// The socket's write half, once connected (the writer task writes
    /// it, and a call may too while the writer is idle).
    pub(crate) write: Option<super::socket::WriteHalf>,
}

impl std::fmt::Debug for ConnTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnTasks")
            .field("writer_idle", &self.writer_idle)
            .field("connected", &self.write.is_some())
            .finish_non_exhaustive()
    }
}

/// What the lock protects.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) cluster: Cluster<Error>,
    /// Per server id: its address (`None` once removed).
    pub(crate) addrs: Vec<Option<ServerAddr>>,
    /// Per connection index: its tasks.
    pub(crate) conns: ConnSlots<ConnTasks>,
    /// Per ticket index: the waker of the call waiting on it.
    wakers: TicketSlots<Waker>,
    /// The deadline the timer task sleeps until (`None`: none).
    timer_at: Option<Millis>,
    timer_task: Option<AbortHandle>,
    /// Calls waiting for a connection with room.
    busy_waiters: usize,
    /// Requests or connections have deadlines (a timer is needed).
    timed: bool,
    /// Merged gets wait for a connection with room: writers are not woken
    /// for them again until a ticket completes.
    pub(crate) merge_stalled: bool,
    /// Node health as last traced (`node dead` / `node revived` events).
    health: crate::trace::HealthWatch,
}

impl Shared {
    pub(crate) fn new(
        cluster: Cluster<Error>,
        addrs: Vec<Option<ServerAddr>>,
        opts: ClientOptions,
    ) -> Shared {
        let timed =
            cluster.config().timeout.is_some() || cluster.config().connect_timeout.is_some();
        Shared {
            state: Mutex::new(State {
                timed,
                merge_stalled: false,
                cluster,
                addrs,
                conns: ConnSlots::new(),
                wakers: TicketSlots::new(),
                timer_at: None,
                timer_task: None,
                busy_waiters: 0,
                health: crate::trace::HealthWatch::default(),
            }),
            opts,
            origin: Instant::now(),
            freed: Notify::new(),
            timer: Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cluster's time: milliseconds of tokio's clock since the client
    /// was made.
    pub(crate) fn now(&self) -> Millis {
        Millis::from_duration(self.origin.elapsed())
    }

    /// Runs `f` on the state with the time now, then pumps the core's
    /// events and wakes the callers they finished (outside the lock).
    pub(crate) fn step<R>(self: &Arc<Self>, f: impl FnOnce(&mut State, Millis) -> R) -> R {
        let mut wakes = Wakes::new();
        let mut st = self.lock();
        let now = self.now();
        let r = f(&mut st, now);
        st.pump(self, &mut wakes);
        let State {
            cluster, health, ..
        } = &mut *st;
        health.check(cluster);
        drop(st);
        wake(wakes);
        r
    }

    /// The tokio instant of a cluster time.
    pub(crate) fn instant(&self, at: Millis) -> Instant {
        self.origin + std::time::Duration::from_millis(at.0)
    }

    /// Submits a batch, waiting while every connection it needs is busy
    /// (up to the call timeout), and resolves with its outcomes. The call
    /// is one tracing span (feature `tracing`, see `crate::trace`).
    pub(crate) async fn run<F>(self: &Arc<Self>, count: usize, mut submit: F) -> Result<Outcomes>
    where
        F: FnMut(&mut Cluster<Error>, Millis) -> std::result::Result<Ticket, Refusal> + Unpin,
    {
        let span = crate::trace::CallSpan::new();
        let traced = |c: &mut Cluster<Error>, now: Millis| {
            let submitted = submit(c, now);
            if let Ok(t) = &submitted {
                span.submitted(c, *t);
            }
            submitted
        };
        let out = span
            .instrument(async move {
                let submit = traced;
                let started = self.now();
                let mut call = Call {
                    shared: self,
                    submit,
                    ticket: None,
                    one: count == 1,
                };
                if let Attempt::Done(out) = (&mut call).await {
                    return out;
                }
                // Busy: count this call as a waiter, then try again once it is
                // registered (a ticket completing in between is not missed).
                self.lock().busy_waiters += 1;
                let out = loop {
                    let notified = self.freed.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    let refused = match (&mut call).await {
                        Attempt::Done(out) => break out,
                        Attempt::Busy(max) => max,
                    };
                    let waited = self.now().saturating_since(started);
                    let timed_out = match self.opts.timeout {
                        None => {
                            notified.await;
                            false
                        }
                        Some(limit) if waited >= limit => true,
                        Some(limit) => tokio::time::timeout(limit - waited, notified)
                            .await
                            .is_err(),
                    };
                    if timed_out {
                        break Err(Error::PoolExhausted {
                            max_size: refused,
                            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                        });
                    }
                };
                self.lock().busy_waiters -= 1;
                out
            })
            .await;
        span.finish(&out);
        out
    }
}

/// What one attempt of a [`Call`] ended with.
enum Attempt {
    Done(Result<Outcomes>),
    /// Every connection was busy (the most connections per server).
    Busy(usize),
}

/// A call: submits its batch on first poll, then waits for its ticket
/// (one lock per poll). Dropped early, it tells the cluster to forget the
/// ticket: its replies are read and discarded, never handed to another
/// call.
struct Call<'a, F> {
    shared: &'a Arc<Shared>,
    submit: F,
    ticket: Option<Ticket>,
    /// The batch is one request (its result is taken without a list).
    one: bool,
}

impl<F> Future for &mut Call<'_, F>
where
    F: FnMut(&mut Cluster<Error>, Millis) -> std::result::Result<Ticket, Refusal> + Unpin,
{
    type Output = Attempt;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Attempt> {
        let this = &mut **self;
        let shared = this.shared;
        let mut wakes = Wakes::new();
        let mut st = shared.lock();
        let ticket = if let Some(t) = this.ticket {
            t
        } else {
            // Dead connections are reaped first: the batch may need them.
            st.reap(shared);
            match (this.submit)(&mut st.cluster, shared.now()) {
                Ok(t) => {
                    this.ticket = Some(t);
                    st.write_now(t);
                    st.pump(shared, &mut wakes);
                    t
                }
                Err(Refusal::Invalid(e)) => return Poll::Ready(Attempt::Done(Err(e.into()))),
                Err(Refusal::Busy) => {
                    return Poll::Ready(Attempt::Busy(st.cluster.config().max_connections));
                }
            }
        };
        if st.cluster.is_done(ticket) {
            let out = st.take(ticket, this.one);
            st.wakers.remove(ticket);
            drop(st);
            wake(wakes);
            this.ticket = None;
            return Poll::Ready(Attempt::Done(Ok(out)));
        }
        match st.wakers.get_mut(ticket) {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.wakers.insert(ticket, cx.waker().clone()),
        }
        drop(st);
        wake(wakes);
        Poll::Pending
    }
}

impl<F> Drop for Call<'_, F> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        self.shared.step(|st, _| {
            st.wakers.remove(ticket);
            st.cluster.forget(ticket);
        });
    }
}

impl State {
    /// The tasks of `conn`, if it is still the connection in its slot.
    pub(crate) fn tasks_mut(&mut self, conn: ConnId) -> Option<&mut ConnTasks> {
        self.conns.get_mut(conn)
    }

    /// Carries out what the cluster asked after an input: opens and closes
    /// connections, wakes idle writers with bytes to send, wakes the calls
    /// whose tickets completed (into `wakes`) and re-arms the timer.
    pub(crate) fn pump(&mut self, shared: &Arc<Shared>, wakes: &mut Wakes) {
        let mut opened = false;
        while let Some(ev) = self.cluster.poll_event() {
            match ev {
                Event::Open { conn, server } => {
                    opened = true;
                    self.open(shared, conn, server.0);
                }
                Event::Close { conn } => {
                    for task in self.conns.remove(conn).into_iter().flat_map(|t| t.tasks) {
                        task.abort();
                    }
                }
                // Nothing awaited it; its connection's Close follows.
                Event::Unsolicited { .. } => {}
            }
        }
        let mut freed = false;
        while let Some(t) = self.cluster.poll_done() {
            freed = true;
            wakes.extend(self.wakers.remove(t));
        }
        if freed && self.busy_waiters > 0 {
            shared.freed.notify_waiters();
        }
        if freed {
            self.merge_stalled = false;
        }
        let merging = !self.merge_stalled && self.cluster.has_merged_pending();
        for (conn, t) in self.conns.iter_mut() {
            if t.writer_idle && (merging || !self.cluster.transmit(conn).is_empty()) {
                t.writer_idle = false;
                t.writer.notify_one();
            }
        }
        if self.timed && (opened || self.timer_at.is_none()) {
            // Deadlines only grow (now plus one timeout) except a new
            // connection's: otherwise the armed one stays the earliest.
            self.arm_timer(shared);
        }
    }

    /// Fails the connections whose tasks ended while the cluster still
    /// counts on them (the runtime that ran them shut down, say: a client
    /// used again from another runtime reconnects instead of waiting
    /// forever), and forgets a timer task that ended.
    fn reap(&mut self, shared: &Arc<Shared>) {
        if self
            .timer_task
            .as_ref()
            .is_some_and(AbortHandle::is_finished)
        {
            self.timer_task = None;
            self.timer_at = None;
        }
        let dead: SmallVec<[ConnId; 2]> = self
            .conns
            .iter()
            .filter(|(_, t)| t.tasks.iter().any(AbortHandle::is_finished))
            .map(|(conn, _)| conn)
            .collect();
        for conn in dead {
            let e = std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the connection's task ended (its tokio runtime shut down?)",
            );
            let err = self.conn_error(conn, e);
            self.cluster.handle_failure(shared.now(), conn, err);
        }
    }

    /// Starts the connection task of `conn`.
    fn open(&mut self, shared: &Arc<Shared>, conn: ConnId, server: usize) {
        let addr = self.addrs.get(server).cloned().flatten();
        let Some(addr) = addr else {
            let now = shared.now();
            self.cluster.handle_failure(now, conn, Error::NoServers);
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            let e = Error::Config("memcrab::tokio::Client is used outside a tokio runtime".into());
            self.cluster.handle_failure(shared.now(), conn, e);
            return;
        };
        let writer = Arc::new(Notify::new());
        let task = rt.spawn(super::conn::run(Arc::clone(shared), conn, addr));
        let tasks = ConnTasks {
            writer,
            writer_idle: false,
            tasks: SmallVec::from_iter([task.abort_handle()]),
            write: None,
        };
        self.conns.insert(conn, tasks);
    }

    /// Wakes (or starts) the timer task when the earliest deadline is
    /// earlier than the one it sleeps until.
    fn arm_timer(&mut self, shared: &Arc<Shared>) {
        let Some(next) = self.cluster.poll_timeout() else {
            return;
        };
        if self.timer_task.is_none() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                self.timer_at = Some(next);
                let task = rt.spawn(super::conn::timer(Arc::clone(shared)));
                self.timer_task = Some(task.abort_handle());
            }
        } else if self.timer_at.is_none_or(|at| next < at) {
            self.timer_at = Some(next);
            shared.timer.notify_one();
        }
    }

    /// The timer task's view: what it sleeps until now.
    pub(crate) fn set_timer(&mut self, at: Option<Millis>) {
        self.timer_at = at;
    }

    /// Stops every task (the client is gone).
    pub(crate) fn abort_all(&mut self) {
        for (_, t) in self.conns.drain() {
            for task in t.tasks {
                task.abort();
            }
        }
        if let Some(t) = self.timer_task.take() {
            t.abort();
        }
        self.timer_at = None;
    }

    /// Takes a done ticket's results, naming each fault's server.
    fn take(&mut self, ticket: Ticket, one: bool) -> Outcomes {
        if one {
            let out = self.cluster.take_one(ticket).flatten();
            return smallvec::smallvec![out.map(|r| r.map_err(|f| self.fault(f)))];
        }
        let out = self.cluster.take(ticket).unwrap_or_default();
        out.into_iter()
            .map(|o| o.map(|r| r.map_err(|f| self.fault(f))))
            .collect()
    }

    pub(crate) fn fault(&self, f: Fault<Error>) -> Error {
        crate::fault::error_of(f, |server| self.addr(server.0))
    }

    /// The error for an I/O failure of `conn`, naming its server.
    pub(crate) fn conn_error(&self, conn: ConnId, e: std::io::Error) -> Error {
        let server = self.cluster.server_of(conn).map_or(usize::MAX, |s| s.0);
        Error::io(&self.addr(server), e)
    }

    pub(crate) fn addr(&self, server: usize) -> String {
        self.addrs
            .get(server)
            .cloned()
            .flatten()
            .map_or_else(|| "unknown server".into(), |a| a.to_string())
    }
}

/// Wakes every waker of `wakes`.
pub(crate) fn wake(wakes: Wakes) {
    for w in wakes {
        w.wake();
    }
}
