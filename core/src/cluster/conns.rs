//! The cluster's connections: choosing one for a request, delivering its
//! replies to their tickets, closing it.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::command::Awaits;
use crate::connection::{Connection, RequestId};
use crate::error::Error;
use crate::router::NodeId;
use crate::time::Millis;

use super::fault::Fault;
use super::ticket::Outcome;
use super::{Cluster, ConnId, Event};

/// Who awaits a request written on a connection.
#[derive(Clone, Copy, Debug)]
pub(super) struct Waiter {
    pub(super) id: RequestId,
    pub(super) ticket: u32,
    pub(super) generation: u32,
    pub(super) slot: u32,
    pub(super) awaits: Awaits,
    /// A merged get's group ([`NO_GROUP`] for a ticket's own request).
    pub(super) group: u32,
}

/// [`Waiter::group`] of a request that is not a merged get.
pub(super) const NO_GROUP: u32 = u32::MAX;

/// One connection and the requests written on it, in order.
#[derive(Debug)]
pub(super) struct ConnSlot {
    pub(super) generation: u32,
    pub(super) live: bool,
    pub(super) server: NodeId,
    pub(super) conn: Connection,
    /// The driver reported it connected.
    pub(super) open: bool,
    /// Nothing has come on it yet.
    pub(super) fresh: bool,
    pub(super) lane: VecDeque<Waiter>,
    /// Tickets holding it.
    pub(super) tickets: usize,
    pub(super) idle_since: Millis,
    pub(super) connect_deadline: Option<Millis>,
    /// Close it when the last ticket holding it is done.
    pub(super) close_when_free: bool,
}

impl ConnSlot {
    pub(super) fn deadline(&self) -> Option<Millis> {
        if self.open {
            self.conn.poll_timeout()
        } else {
            self.connect_deadline
        }
    }
}

impl<E: Clone> Cluster<E> {
    pub(super) fn slot(&self, id: ConnId) -> Option<&ConnSlot> {
        self.conns
            .get(id.index as usize)
            .filter(|c| c.live && c.generation == id.generation)
    }

    pub(super) fn slot_mut(&mut self, id: ConnId) -> Option<&mut ConnSlot> {
        self.conns
            .get_mut(id.index as usize)
            .filter(|c| c.live && c.generation == id.generation)
    }

    /// Chooses the connection of `server` a new ticket goes on: the least
    /// loaded one under the depth (the most recently used among idle
    /// ones), else a new one if fewer than `max_connections` are open.
    pub(super) fn acquire(&mut self, server: NodeId, now: Millis) -> Option<ConnId> {
        self.expire_idle(server, now);
        // An idle one is the least loaded: the most recently used, found
        // without walking every connection. With none idle at depth 1,
        // every connection is at the depth.
        let none_idle = match self.last_idle(server) {
            Ok(id) => return Some(id),
            Err(none) => none,
        };
        let depth = self.config.depth;
        let full = self.config.max_buffered.unwrap_or(usize::MAX);
        let mut best: Option<(ConnId, usize, Millis)> = None;
        let s = self.servers.get(server.0)?;
        let max = s.max_conns.unwrap_or(self.config.max_connections);
        if !(none_idle && depth == 1) {
            for &id in &s.conns {
                let Some(c) = self.slot(id) else { continue };
                if c.tickets >= depth || c.conn.is_closed() || c.conn.transmit().len() >= full {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((_, t, used)) => c.tickets < t || (c.tickets == t && c.idle_since > used),
                };
                if better {
                    best = Some((id, c.tickets, c.idle_since));
                }
            }
        }
        let room = s.conns.len() < max;
        match best {
            Some((_, tickets, _)) if tickets > 0 && room && self.config.spread => {}
            Some((id, _, _)) => return Some(id),
            None if !room => return None,
            None => {}
        }
        Some(self.open(server, now))
    }

    /// Opens another connection to `server` before any request needs it
    /// (an [`Event::Open`] follows), if the server has fewer than its limit
    /// of connections; `None` otherwise, or for an unknown server.
    pub fn open_connection(&mut self, now: Millis, server: NodeId) -> Option<ConnId> {
        let s = self.servers.get(server.0).filter(|s| !s.removed)?;
        let max = s.max_conns.unwrap_or(self.config.max_connections);
        (s.conns.len() < max).then(|| self.open(server, now))
    }

    fn open(&mut self, server: NodeId, now: Millis) -> ConnId {
        let mut conn = Connection::with_config(self.config.policy.clone(), self.config.limits);
        conn.set_protocol(self.config.protocol);
        let connect_deadline = self.config.connect_timeout.map(|t| now + t);
        let index = match self.free_conns.pop() {
            Some(i) => i,
            None => {
                self.conns.push(ConnSlot {
                    generation: 0,
                    live: false,
                    server,
                    conn: Connection::new(),
                    open: false,
                    fresh: true,
                    lane: VecDeque::new(),
                    tickets: 0,
                    idle_since: now,
                    connect_deadline: None,
                    close_when_free: false,
                });
                u32::try_from(self.conns.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let slot = &mut self.conns[index as usize];
        slot.live = true;
        slot.close_when_free = false;
        slot.server = server;
        slot.conn = conn;
        slot.open = false;
        slot.fresh = true;
        slot.lane.clear();
        slot.tickets = 0;
        slot.idle_since = now;
        slot.connect_deadline = connect_deadline;
        let id = ConnId {
            index,
            generation: slot.generation,
        };
        self.servers[server.0].conns.push(id);
        self.push_idle(server, id);
        self.events.push_back(Event::Open { conn: id, server });
        id
    }

    /// Closes `id`: every request on it gets `error` (on its server).
    pub(super) fn close(&mut self, id: ConnId, error: Error) {
        let Some(server) = self.slot(id).map(|c| c.server) else {
            return;
        };
        self.fail(id, Fault::Core { server, error }, None);
    }

    /// Fails `id` with `fault`: every request on it gets it, the
    /// connection is forgotten, the driver told to close its socket. A
    /// fault that says the server is unreachable counts against it.
    pub(super) fn fail(&mut self, id: ConnId, fault: Fault<E>, now: Option<Millis>) {
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        let server = slot.server;
        let lane = core::mem::take(&mut slot.lane);
        slot.live = false;
        slot.generation = slot.generation.wrapping_add(1);
        self.free_conns.push(id.index);
        if let Some(s) = self.servers.get_mut(server.0) {
            s.conns.retain(|c| *c != id);
        }
        self.events.push_back(Event::Close { conn: id });
        if let (Some(now), true) = (now, fault.is_unreachable()) {
            self.report_failure(server, now, &fault);
        }
        for w in &lane {
            self.deliver(w, Some(Err(fault.clone())));
        }
        // Keep the lane's allocation for the slot's next connection.
        if let Some(slot) = self.conns.get_mut(id.index as usize) {
            let mut lane = lane;
            lane.clear();
            slot.lane = lane;
        }
    }

    /// Counts `fault` against `server`'s health (kept for
    /// [`ClusterConfig::fail_resting`](super::ClusterConfig::fail_resting)).
    pub(super) fn report_failure(&mut self, server: NodeId, now: Millis, fault: &Fault<E>) {
        if self.config.health.is_some() {
            self.router.report_failure(server, now);
            if let Some(last) = self.last_fault.get_mut(server.0) {
                *last = Some(fault.clone());
            }
        }
    }

    /// Hands every reply `id` has completed to its waiter, then settles
    /// what is left: silent requests that are surely done, or the
    /// connection's end.
    pub(super) fn dispatch(&mut self, id: ConnId, now: Millis) {
        // A broken stream fails every request on it: the server is counted
        // once, not once per request.
        let mut unreachable = None;
        loop {
            let Some(slot) = self.slot_mut(id) else {
                return;
            };
            let Some((rid, result)) = slot.conn.poll() else {
                break;
            };
            let server = slot.server;
            let fresh = slot.fresh;
            // Requests before this one that await no reply are done.
            let mut silent = smallvec::SmallVec::<[Waiter; 2]>::new();
            let mut owner = None;
            while let Some(w) = slot.lane.front().copied() {
                if w.id < rid {
                    slot.lane.pop_front();
                    silent.push(w);
                } else {
                    if w.id == rid {
                        slot.lane.pop_front();
                        owner = Some(w);
                    }
                    break;
                }
            }
            if result.is_ok() {
                slot.fresh = false;
            }
            for w in &silent {
                let outcome = match w.awaits {
                    Awaits::Always => Some(Err(Fault::Core {
                        server,
                        error: Error::UnexpectedClose,
                    })),
                    _ => None,
                };
                self.deliver(w, outcome);
            }
            let outcome = match result {
                Ok(reply) => {
                    if self.config.health.is_some() {
                        self.router.report_success(server);
                    }
                    Ok(reply)
                }
                Err(Error::UnexpectedClose) if fresh => Err(Fault::Refused { server }),
                Err(error) => Err(Fault::Core { server, error }),
            };
            if let Err(f) = &outcome {
                if f.is_unreachable() {
                    unreachable = Some((server, f.clone()));
                }
            }
            if let Some(w) = owner {
                self.deliver(&w, Some(outcome));
            }
        }
        if let Some((server, fault)) = unreachable {
            self.report_failure(server, now, &fault);
        }
        self.settle(id);
    }

    /// With everything written and answered, the requests left on `id`
    /// awaited no reply: they succeeded. A connection that closed (its
    /// error, the server's EOF, a `quit`) is forgotten.
    pub(super) fn settle(&mut self, id: ConnId) {
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        let answered = slot.conn.in_flight() == 0 && !slot.conn.wants_write();
        if !slot.conn.is_closed() && (slot.lane.is_empty() || !answered) {
            // Nothing to settle: requests still await their replies, or
            // none is left.
            return;
        }
        let mut awaited = !slot.lane.is_empty();
        if slot.conn.in_flight() == 0 && !slot.conn.wants_write() {
            let lane = core::mem::take(&mut slot.lane);
            awaited = !lane.is_empty();
            let server = slot.server;
            let error = slot.conn.error().cloned();
            for w in &lane {
                let outcome = match (&error, w.awaits) {
                    (Some(e), _) => Some(Err(Fault::Core {
                        server,
                        error: e.clone(),
                    })),
                    (None, Awaits::Always) => Some(Err(Fault::Core {
                        server,
                        error: Error::UnexpectedClose,
                    })),
                    (None, _) => None,
                };
                self.deliver(w, outcome);
            }
            if let Some(slot) = self.slot_mut(id) {
                let mut lane = lane;
                lane.clear();
                slot.lane = lane;
            }
        }
        let closed = self.slot(id).is_some_and(|s| s.conn.is_closed());
        if closed {
            let error = self
                .slot(id)
                .and_then(|s| s.conn.error().cloned())
                .unwrap_or(Error::UnexpectedClose);
            let server = self.slot(id).map_or(NodeId(0), |s| s.server);
            if !awaited && error != Error::UnexpectedClose {
                self.events.push_back(Event::Unsolicited {
                    server,
                    error: error.clone(),
                });
            }
            // Counted against the server where its requests failed.
            self.fail(id, Fault::Core { server, error }, None);
        }
    }

    /// Gives the result of a request written on a connection to whoever
    /// awaits it: its ticket, or the callers of a merged get.
    pub(super) fn deliver(&mut self, w: &Waiter, outcome: Outcome<E>) {
        if w.group == NO_GROUP {
            self.complete(w, outcome);
        } else {
            self.complete_group(w.group, outcome);
        }
    }

    /// Gives one part's result to its request; completes the ticket when
    /// it was the last.
    pub(super) fn complete(&mut self, w: &Waiter, outcome: Outcome<E>) {
        let ignore = self.config.ignore_exc;
        let Some(t) = self.tickets.get_mut(w.ticket as usize) else {
            return;
        };
        if !t.live || t.generation != w.generation {
            return;
        }
        let Some(slot) = t.slots.get_mut(w.slot as usize) else {
            return;
        };
        if slot.waiting == 0 {
            return;
        }
        if slot.add(outcome, ignore) {
            t.waiting -= 1;
            if t.waiting == 0 {
                self.finish_ticket(w.ticket);
            }
        }
    }

    /// A ticket has every result: its connections are free again.
    pub(super) fn finish_ticket(&mut self, index: u32) {
        let Some(t) = self.tickets.get_mut(index as usize) else {
            return;
        };
        let conns = core::mem::take(&mut t.conns);
        let forgotten = t.forgotten;
        let ticket = super::Ticket {
            index,
            generation: t.generation,
        };
        for c in &conns {
            self.release(*c);
        }
        if let Some(t) = self.tickets.get_mut(index as usize) {
            let mut conns = conns;
            conns.clear();
            t.conns = conns;
        }
        if forgotten {
            self.free_ticket(index);
        } else {
            self.done.push_back(ticket);
        }
    }

    /// A ticket no longer holds `id`: it is free from `now`, or closed if
    /// [`close_all_connections`](Self::close_all_connections) asked for it.
    pub(super) fn release(&mut self, id: ConnId) {
        let now = self.now;
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        let was_held = slot.tickets > 0;
        slot.tickets = slot.tickets.saturating_sub(1);
        slot.idle_since = now;
        if slot.tickets == 0 && slot.close_when_free {
            self.close(id, Error::UnexpectedClose);
        } else if slot.tickets == 0 && was_held {
            let server = slot.server;
            self.push_idle(server, id);
        }
    }

    /// Closes every connection: the free ones now, the ones tickets hold
    /// as soon as their last ticket is done (a pool's `close`). Later
    /// requests open new connections.
    pub fn close_all_connections(&mut self) {
        let conns: Vec<ConnId> = self
            .servers
            .iter()
            .flat_map(|s| s.conns.iter().copied())
            .collect();
        for id in conns {
            match self.slot_mut(id) {
                Some(slot) if slot.tickets > 0 => slot.close_when_free = true,
                Some(_) => self.close(id, Error::UnexpectedClose),
                None => {}
            }
        }
    }
}
