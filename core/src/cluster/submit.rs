//! Submitting a batch: validate once, route, split, encode.

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
    answers: SmallVec<[(usize, Outcome<E>); 1]>,
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
        self.submit_valid(now, None, batch.requests)
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
        self.submit_valid(now, None, batch.requests)
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
    /// keys (for example an `mn` as a barrier on that server's connection).
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

    fn submit_batch<'a, W: Wire<'a>>(
        &mut self,
        now: Millis,
        target: Option<NodeId>,
        requests: &[W],
    ) -> Result<Ticket, Refusal> {
        self.check_all(requests)?;
        self.submit_valid(now, target, requests)
    }

    fn submit_valid<'a, W: Wire<'a>>(
        &mut self,
        now: Millis,
        target: Option<NodeId>,
        requests: &[W],
    ) -> Result<Ticket, Refusal> {
        self.now = now;
        if let (None, [one]) = (target, requests) {
            if let Some(ticket) = self.try_merge(now, one)? {
                return Ok(ticket);
            }
        }
        let plan = self.plan(now, target, requests);
        // Every server's connection first: all or nothing.
        let mut chosen: SmallVec<[(NodeId, ConnId); 2]> = SmallVec::new();
        for part in &plan.parts {
            if chosen.iter().any(|(n, _)| *n == part.node) {
                continue;
            }
            let conn = self.acquire(part.node, now).ok_or(Refusal::Busy)?;
            chosen.push((part.node, conn));
        }
        let ticket = self.new_ticket();
        let index = ticket.index as usize;
        {
            let t = &mut self.tickets[index];
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
            if let Some(slot) = self.slot_mut(conn) {
                slot.tickets += 1;
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

    /// Routes every request of a batch.
    fn plan<'a, W: Wire<'a>>(
        &mut self,
        now: Millis,
        target: Option<NodeId>,
        requests: &[W],
    ) -> Plan<'a, E> {
        let mut plan = Plan {
            parts: SmallVec::new(),
            answers: SmallVec::new(),
            keys: SmallVec::new(),
        };
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
                    Route::Wait(_) => plan.answers.push((i, skipped())),
                    Route::NoNodes => plan.answers.push((i, down())),
                },
                Keys::Many(_) if single => plan.parts.push(whole(NodeId(0))),
                Keys::Many(keys) => {
                    let mut routed: SmallVec<[(NodeId, &'a [u8]); 8]> = SmallVec::new();
                    let mut none_live = false;
                    for key in keys {
                        match self.route(key, now) {
                            Route::Node(node) => routed.push((node, key)),
                            Route::Wait(_) => {}
                            Route::NoNodes => none_live = true,
                        }
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
        plan
    }
}
