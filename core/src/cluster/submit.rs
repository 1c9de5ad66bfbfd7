//! Submitting a batch: validate once, route, split, encode.

use alloc::vec::Vec;
use core::ops::Range;

use smallvec::SmallVec;

use crate::meta::MetaRequest;
use crate::router::{NodeId, Route};
use crate::text::Request;
use crate::time::Millis;

use super::conns::{Waiter, NO_GROUP};
use super::fault::Fault;
use super::ticket::{noop_reply, Outcome, Slot};
use super::wire::{Keys, Wire};
use super::{Cluster, ConnId, Refusal, Ticket};

/// One request, or one server's share of a split get, bound for a server.
#[derive(Clone, Debug)]
struct Part {
    node: NodeId,
    request: usize,
    /// For a split get: its keys, in the batch's key list.
    keys: Option<Range<usize>>,
}

/// Where each request of a batch goes.
struct Plan<'a, E> {
    parts: SmallVec<[Part; 4]>,
    /// Requests answered without I/O.
    /// Requests answered without I/O (rare: a Vec costs nothing empty).
    answers: Vec<(usize, Outcome<E>)>,
    /// The keys of split gets, grouped by server.
    keys: SmallVec<[&'a [u8]; 8]>,
}

/// A batch that passed [`Cluster::validate`] (or
/// [`validate_meta`](Cluster::validate_meta)): it can be submitted in
/// pieces, each unchecked, knowing the whole is good. A driver splits a
/// huge batch this way to read replies between pieces, so neither side's
/// buffers fill up while the other waits.
#[derive(Debug)]
pub struct Checked<'r, R> {
    requests: &'r [R],
}

impl<R> Clone for Checked<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Checked<'_, R> {}

impl<'r, R> Checked<'r, R> {
    /// Returns the requests.
    #[must_use]
    pub fn requests(&self) -> &'r [R] {
        self.requests
    }

    /// Splits the batch at `mid` (clamped to its length).
    #[must_use]
    pub fn split_at(self, mid: usize) -> (Self, Self) {
        let (a, b) = self.requests.split_at(mid.min(self.requests.len()));
        (Checked { requests: a }, Checked { requests: b })
    }
}

impl<E: Clone> Cluster<E> {
    /// Validates every request of a batch under this cluster's key policy
    /// and limits, once.
    ///
    /// # Errors
    ///
    /// The first bad key, argument or value.
    pub fn validate<'r, 'a>(
        &self,
        requests: &'r [Request<'a>],
    ) -> Result<Checked<'r, Request<'a>>, crate::Error> {
        self.check_all(requests)?;
        Ok(Checked { requests })
    }

    /// Validates a batch of meta requests (see [`validate`](Self::validate)).
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate).
    pub fn validate_meta<'r, 'a>(
        &self,
        requests: &'r [MetaRequest<'a>],
    ) -> Result<Checked<'r, MetaRequest<'a>>, crate::Error> {
        self.check_all(requests)?;
        Ok(Checked { requests })
    }

    fn check_all<'a, W: Wire<'a>>(&self, requests: &[W]) -> Result<(), crate::Error> {
        for r in requests {
            r.validate(&self.config.policy, &self.config.limits)?;
        }
        Ok(())
    }

    /// Submits a checked batch (see [`submit`](Self::submit)); nothing is
    /// validated again.
    ///
    /// # Errors
    ///
    /// [`Refusal::Busy`].
    pub fn submit_checked(
        &mut self,
        now: Millis,
        batch: Checked<'_, Request<'_>>,
    ) -> Result<Ticket, Refusal> {
        self.submit_valid(now, None, None, batch.requests)
    }

    /// Submits a checked batch of meta requests.
    ///
    /// # Errors
    ///
    /// [`Refusal::Busy`].
    pub fn submit_meta_checked(
        &mut self,
        now: Millis,
        batch: Checked<'_, MetaRequest<'_>>,
    ) -> Result<Ticket, Refusal> {
        self.submit_valid(now, None, None, batch.requests)
    }

    /// Submits a batch of classic requests and returns its ticket.
    ///
    /// Every request is validated first, once: if one is bad, nothing is
    /// sent. Keyed requests go to their key's server, a multi-key get is
    /// split by server (its items merged back), keyless requests (`stats`,
    /// `flush_all`, …) go to every live server (the first server's reply
    /// is kept). Each server's requests are written on one connection, in
    /// order.
    ///
    /// # Errors
    ///
    /// [`Refusal::Invalid`] for a bad request, [`Refusal::Busy`] when a
    /// server has no connection with room.
    pub fn submit(&mut self, now: Millis, requests: &[Request<'_>]) -> Result<Ticket, Refusal> {
        self.submit_batch(now, None, requests)
    }

    /// Submits a batch of meta requests (see [`submit`](Self::submit)).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_meta(
        &mut self,
        now: Millis,
        requests: &[MetaRequest<'_>],
    ) -> Result<Ticket, Refusal> {
        self.submit_batch(now, None, requests)
    }

    /// Submits a batch of classic requests to one server, whatever their
    /// keys (for example each server's `stats`).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_to(
        &mut self,
        now: Millis,
        server: NodeId,
        requests: &[Request<'_>],
    ) -> Result<Ticket, Refusal> {
        self.submit_batch(now, Some(server), requests)
    }

    /// Submits a batch of meta requests to one server, whatever their
    /// keys (for example an `mn` as a barrier on that server's connection;
    /// see [`submit_to`](Self::submit_to)).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_meta_to(
        &mut self,
        now: Millis,
        server: NodeId,
        requests: &[MetaRequest<'_>],
    ) -> Result<Ticket, Refusal> {
        self.submit_batch(now, Some(server), requests)
    }

    /// Returns a live ticket's first command name (`get`, `set`, `mg`, …)
    /// and how many keys its batch names, for tracing and metrics.
    #[must_use]
    pub fn describe(&self, ticket: Ticket) -> Option<(&'static str, usize)> {
        self.ticket(ticket).map(|t| (t.command, t.keys))
    }

    fn submit_batch<'a, W: Wire<'a>>(
        &mut self,
        now: Millis,
        target: Option<NodeId>,
        requests: &[W],
    ) -> Result<Ticket, Refusal> {
        self.check_all(requests)?;
        self.submit_valid(now, target, None, requests)
    }

    /// Submits a batch of classic requests on connection `conn`, whatever
    /// their keys: requests that must stay in order on one socket. Nothing
    /// is routed or merged, and node health is not asked.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit); [`Refusal::Invalid`] with
    /// [`Error::UnexpectedClose`](crate::Error::UnexpectedClose) if `conn`
    /// is closed or unknown.
    pub fn submit_on(
        &mut self,
        now: Millis,
        conn: ConnId,
        requests: &[Request<'_>],
    ) -> Result<Ticket, Refusal> {
        self.submit_pinned(now, conn, requests)
    }

    /// Submits a batch of meta requests on connection `conn` (see
    /// [`submit_on`](Self::submit_on)).
    ///
    /// # Errors
    ///
    /// As [`submit_on`](Self::submit_on).
    pub fn submit_meta_on(
        &mut self,
        now: Millis,
        conn: ConnId,
        requests: &[MetaRequest<'_>],
    ) -> Result<Ticket, Refusal> {
        self.submit_pinned(now, conn, requests)
    }

    fn submit_pinned<'a, W: Wire<'a>>(
        &mut self,
        now: Millis,
        conn: ConnId,
        requests: &[W],
    ) -> Result<Ticket, Refusal> {
        self.check_all(requests)?;
        let Some(slot) = self.slot(conn).filter(|c| !c.conn.is_closed()) else {
            return Err(Refusal::Invalid(crate::Error::UnexpectedClose));
        };
        let full = self.config.max_buffered.unwrap_or(usize::MAX);
        if slot.tickets >= self.config.depth || slot.conn.transmit().len() >= full {
            return Err(Refusal::Busy);
        }
        let server = slot.server;
        self.submit_valid(now, Some(server), Some(conn), requests)
    }

    /// Submits a valid batch: to `target`'s server if given (on `pin` if
    /// given), else where each key goes.
    fn submit_valid<'a, W: Wire<'a>>(
        &mut self,
        now: Millis,
        target: Option<NodeId>,
        pin: Option<ConnId>,
        requests: &[W],
    ) -> Result<Ticket, Refusal> {
        self.now = now;
        if let (None, [one]) = (target, requests) {
            if let Some(ticket) = self.try_merge(now, one)? {
                return Ok(ticket);
            }
        }
        let mut plan = Plan {
            parts: SmallVec::new(),
            answers: Vec::new(),
            keys: SmallVec::new(),
        };
        // Filled in place: a plan is large to move.
        self.plan(now, target, requests, &mut plan);
        // Every server's connection first: all or nothing.
        let mut chosen: SmallVec<[(NodeId, ConnId); 2]> = SmallVec::new();
        for part in &plan.parts {
            if chosen.iter().any(|(n, _)| *n == part.node) {
                continue;
            }
            let conn = match pin {
                Some(conn) => conn,
                None => self.acquire(part.node, now).ok_or(Refusal::Busy)?,
            };
            chosen.push((part.node, conn));
        }
        let ticket = self.new_ticket();
        let index = ticket.index as usize;
        {
            let t = &mut self.tickets[index];
            t.command = requests.first().map_or("", Wire::name);
            t.keys = requests.iter().map(|r| r.keys().count()).sum();
            for r in requests {
                t.slots.push(Slot::new(r.meaning()));
            }
            for p in &plan.parts {
                t.slots[p.request].waiting += 1;
            }
            for (i, outcome) in plan.answers {
                t.slots[i].answer(outcome);
            }
            t.waiting = t.slots.iter().filter(|s| s.waiting > 0).count();
        }
        if plan.parts.is_empty() {
            // Every request was answered without I/O.
            self.finish_ticket(ticket.index);
            return Ok(ticket);
        }
        let deadline = self.config.timeout.map(|t| now + t);
        let protocol = self.config.protocol;
        for &(node, conn) in &chosen {
            let was_idle = self.slot_mut(conn).is_some_and(|slot| {
                slot.tickets += 1;
                slot.tickets == 1
            });
            if was_idle {
                self.take_idle(node, conn);
            }
            self.tickets[index].conns.push(conn);
            for p in plan.parts.iter().filter(|p| p.node == node) {
                let request = &requests[p.request];
                let keys = p.keys.clone().map(|r| &plan.keys[r]);
                let Some(slot) = self.slot_mut(conn) else {
                    continue;
                };
                let mut waiter = Waiter {
                    id: crate::RequestId(0),
                    ticket: ticket.index,
                    generation: ticket.generation,
                    slot: u32::try_from(p.request).unwrap_or(u32::MAX),
                    awaits: request.awaits(protocol),
                    group: NO_GROUP,
                };
                match request.encode(&mut slot.conn, keys, deadline) {
                    Ok(id) => {
                        waiter.id = id;
                        slot.lane.push_back(waiter);
                    }
                    Err(error) => {
                        let fault = Fault::Core {
                            server: node,
                            error,
                        };
                        self.complete(&waiter, Some(Err(fault)));
                    }
                }
            }
        }
        Ok(ticket)
    }

    /// With [`fail_resting`](super::ClusterConfig::fail_resting), the
    /// result of a request bound for resting `server`: the fault that put
    /// it to rest.
    fn resting(&self, server: NodeId) -> Option<Outcome<E>> {
        if !self.config.fail_resting {
            return None;
        }
        let fault = self
            .last_fault
            .get(server.0)
            .cloned()
            .flatten()
            .unwrap_or(Fault::Core {
                server,
                error: crate::Error::UnexpectedClose,
            });
        Some(Some(Err(fault)))
    }

    /// Routes every request of a batch.
    fn plan<'a, W: Wire<'a>>(
        &mut self,
        now: Millis,
        target: Option<NodeId>,
        requests: &[W],
        plan: &mut Plan<'a, E>,
    ) {
        let ignore = self.config.ignore_exc;
        let single = self.servers.len() == 1 && self.config.health.is_none();
        for (i, r) in requests.iter().enumerate() {
            let skipped = || Some(Ok(r.meaning().skipped()));
            let down = || {
                if ignore {
                    skipped()
                } else {
                    Some(Err(Fault::NoServers))
                }
            };
            let whole = |node| Part {
                node,
                request: i,
                keys: None,
            };
            if let Some(node) = target {
                plan.parts.push(whole(node));
                continue;
            }
            match r.keys() {
                Keys::Local => plan.answers.push((i, Some(Ok(noop_reply())))),
                Keys::One(key) => match self.route(key, now) {
                    Route::Node(node) => plan.parts.push(whole(node)),
                    Route::Wait(node) => {
                        let answer = self.resting(node).unwrap_or_else(skipped);
                        plan.answers.push((i, answer));
                    }
                    Route::NoNodes => plan.answers.push((i, down())),
                },
                Keys::Many(_) if single => plan.parts.push(whole(NodeId(0))),
                Keys::Many(keys) => {
                    let mut routed: SmallVec<[(NodeId, &'a [u8]); 8]> = SmallVec::new();
                    let mut none_live = false;
                    let mut resting = None;
                    for key in keys {
                        match self.route(key, now) {
                            Route::Node(node) => routed.push((node, key)),
                            Route::Wait(node) => resting = resting.or(self.resting(node)),
                            Route::NoNodes => none_live = true,
                        }
                    }
                    if let Some(answer) = resting {
                        plan.answers.push((i, answer));
                        continue;
                    }
                    if routed.is_empty() {
                        let answer = if none_live { down() } else { skipped() };
                        plan.answers.push((i, answer));
                        continue;
                    }
                    routed.sort_by_key(|(node, _)| *node);
                    let mut at = 0;
                    while at < routed.len() {
                        let node = routed[at].0;
                        let start = plan.keys.len();
                        while at < routed.len() && routed[at].0 == node {
                            plan.keys.push(routed[at].1);
                            at += 1;
                        }
                        plan.parts.push(Part {
                            node,
                            request: i,
                            keys: Some(start..plan.keys.len()),
                        });
                    }
                }
                Keys::All if single => plan.parts.push(whole(NodeId(0))),
                Keys::All => {
                    let live: SmallVec<[NodeId; 4]> = self
                        .servers()
                        .filter(|id| self.router.is_live(*id))
                        .collect();
                    if live.is_empty() {
                        plan.answers.push((i, down()));
                    }
                    for node in live {
                        plan.parts.push(whole(node));
                    }
                }
            }
        }
    }
}
