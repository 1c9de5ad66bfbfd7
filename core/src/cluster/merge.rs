//! Merging concurrent single-key gets bound for one server into one
//! multi-key get, each caller getting its own result.
//!
//! memcached does far less work per key in one multi-key get than in many
//! single ones. While a server's connections are busy, plain `get`s of one
//! key wait here; [`Cluster::flush`] (or the batch filling up) sends them
//! as one `get k1 k2 …`, and the reply is split back by key: each caller
//! gets its item, or a miss.

use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::connection::Protocol;
use crate::router::{NodeId, Route};
use crate::text::{GetCommand, Reply, Request};
use crate::time::Millis;

use super::conns::Waiter;
use super::fault::Fault;
use super::ticket::{Outcome, Slot};
use super::wire::Wire;
use super::{Cluster, ConnId, Refusal, Ticket};

/// Keys waiting to be sent, or sent together, and who asked for each.
#[derive(Debug, Default)]
pub(super) struct Merged {
    /// The keys, end to end.
    keys: Vec<u8>,
    /// Each caller's key (a range of `keys`) and ticket.
    who: Vec<(usize, usize, u32, u32)>,
    /// The connection a sent group went on.
    conn: Option<ConnId>,
}

impl Merged {
    fn len(&self) -> usize {
        self.who.len()
    }

    fn key(&self, i: usize) -> &[u8] {
        let (start, end, _, _) = self.who[i];
        &self.keys[start..end]
    }
}

impl<E: Clone> Cluster<E> {
    /// Holds a plain single-key `get` back to merge it, if merging is on
    /// and its server is busy; returns its ticket then.
    pub(super) fn try_merge<'a, W: Wire<'a>>(
        &mut self,
        now: Millis,
        request: &W,
    ) -> Result<Option<Ticket>, Refusal> {
        let max = self.config.merge_gets;
        if max < 2 || self.config.protocol != Protocol::Text {
            return Ok(None);
        }
        let Some(key) = request.mergeable_key() else {
            return Ok(None);
        };
        let node = match self.route(key, now) {
            Route::Node(node) => node,
            _ => return Ok(None),
        };
        let waiting = self.pending_merge(node).map_or(0, Merged::len);
        if waiting == 0 && (self.idle_count(node) > 0 || self.connection_count(node) == 0) {
            // Nothing to wait for (a connection is idle, or none is open
            // yet and this get opens one): send it now.
            return Ok(None);
        }
        if waiting >= max && !self.flush_server(now, node) {
            return Err(Refusal::Busy);
        }
        let ticket = self.new_ticket();
        let t = &mut self.tickets[ticket.index as usize];
        let mut slot = Slot::new(request.meaning());
        slot.waiting = 1;
        t.slots.push(slot);
        t.waiting = 1;
        t.command = "get";
        t.keys = 1;
        if self.merging.len() <= node.0 {
            self.merging.resize_with(node.0 + 1, Merged::default);
        }
        let m = &mut self.merging[node.0];
        let start = m.keys.len();
        m.keys.extend_from_slice(key);
        m.who
            .push((start, m.keys.len(), ticket.index, ticket.generation));
        if m.len() >= max {
            self.flush_server(now, node);
        }
        Ok(Some(ticket))
    }

    fn pending_merge(&self, node: NodeId) -> Option<&Merged> {
        self.merging.get(node.0).filter(|m| m.len() > 0)
    }

    /// Sends every server's merged gets that have a connection with room.
    /// A driver calls it before writing, once per turn of its loop.
    pub fn flush(&mut self, now: Millis) {
        self.now = now;
        for node in 0..self.merging.len() {
            if self.merging[node].len() > 0 {
                self.flush_server(now, NodeId(node));
            }
        }
    }

    /// Returns true if gets wait to be merged.
    #[must_use]
    pub fn has_merged_pending(&self) -> bool {
        self.merging.iter().any(|m| m.len() > 0)
    }

    /// Sends `node`'s merged gets as one request; false if no connection
    /// has room.
    fn flush_server(&mut self, now: Millis, node: NodeId) -> bool {
        let Some(conn) = self.acquire(node, now) else {
            return false;
        };
        let mut group = core::mem::take(&mut self.merging[node.0]);
        group.conn = Some(conn);
        let deadline = self.config.timeout.map(|t| now + t);
        let index = match self.free_groups.pop() {
            Some(i) => i,
            None => {
                self.groups.push(None);
                u32::try_from(self.groups.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let keys: SmallVec<[&[u8]; 16]> = (0..group.len()).map(|i| group.key(i)).collect();
        let request = Request::Get {
            command: GetCommand::Get,
            keys: &keys,
        };
        let Some(slot) = self.slot_mut(conn) else {
            return false;
        };
        let sent = slot.conn.submit_valid(&request, deadline);
        drop(keys);
        match sent {
            Ok(id) => {
                slot.tickets += 1;
                let was_idle = slot.tickets == 1;
                slot.lane.push_back(Waiter {
                    id,
                    ticket: u32::MAX,
                    generation: 0,
                    slot: 0,
                    awaits: crate::command::Awaits::Always,
                    group: index,
                });
                self.groups[index as usize] = Some(group);
                if was_idle {
                    self.take_idle(node, conn);
                }
            }
            Err(error) => {
                self.groups[index as usize] = Some(group);
                self.complete_group(
                    index,
                    Some(Err(Fault::Core {
                        server: node,
                        error,
                    })),
                );
            }
        }
        true
    }

    /// Splits a merged get's reply among its callers.
    pub(super) fn complete_group(&mut self, index: u32, outcome: Outcome<E>) {
        let Some(group) = self.groups.get_mut(index as usize).and_then(Option::take) else {
            return;
        };
        self.free_groups.push(index);
        if let Some(conn) = group.conn {
            self.release(conn);
        }
        for i in 0..group.len() {
            let (_, _, ticket, generation) = group.who[i];
            let mine = match &outcome {
                Some(Ok(Reply::Values(items))) => {
                    let key = group.key(i);
                    let hit = items.iter().find(|it| &it.key[..] == key).cloned();
                    Some(Ok(Reply::Values(hit.into_iter().collect())))
                }
                other => other.clone(),
            };
            let w = Waiter {
                id: crate::RequestId(0),
                ticket,
                generation,
                slot: 0,
                awaits: crate::command::Awaits::Always,
                group: super::conns::NO_GROUP,
            };
            self.complete(&w, mine);
        }
    }
}
