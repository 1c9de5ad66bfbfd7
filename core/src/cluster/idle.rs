//! Each server's idle connections (no ticket holds them), in the order
//! they became idle, so choosing one or expiring them does not walk every
//! connection of the server.
//!
//! A connection is in its server's list from when it opens or its last
//! ticket is released until a ticket takes it ([`Cluster::take_idle`]).
//! Closed connections are dropped from the list lazily: their [`ConnId`]s
//! no longer name a live slot.

use alloc::vec::Vec;

use crate::error::Error;
use crate::router::NodeId;
use crate::time::Millis;

use super::{Cluster, ConnId};

impl<E: Clone> Cluster<E> {
    /// `id`, of `server`, has just become idle.
    pub(super) fn push_idle(&mut self, server: NodeId, id: ConnId) {
        if let Some(s) = self.servers.get_mut(server.0) {
            s.idle.push_back(id);
        }
    }

    /// A ticket takes `id`, idle until now: it leaves its server's list.
    pub(super) fn take_idle(&mut self, server: NodeId, id: ConnId) {
        let Some(s) = self.servers.get_mut(server.0) else {
            return;
        };
        // The connection chosen is the most recently idle one: the last.
        if s.idle.back() == Some(&id) {
            s.idle.pop_back();
        } else if let Some(i) = s.idle.iter().rposition(|c| *c == id) {
            s.idle.remove(i);
        }
    }

    /// The most recently used idle connection of `server` a request can
    /// go on (open or opening, not closed, its send buffer under
    /// `max_buffered`). `Err(true)` if the server has no idle connection at
    /// all, `Err(false)` if the most recent one cannot take a request.
    pub(super) fn last_idle(&mut self, server: NodeId) -> Result<ConnId, bool> {
        let full = self.config.max_buffered.unwrap_or(usize::MAX);
        loop {
            let s = self.servers.get(server.0).ok_or(true)?;
            let (Some(&last), Some(&first)) = (s.idle.back(), s.idle.front()) else {
                return Err(true);
            };
            if self.slot(first).is_none() {
                self.servers[server.0].idle.pop_front();
                continue;
            }
            match self.slot(last) {
                None => {
                    self.servers[server.0].idle.pop_back();
                }
                // Held by a ticket: not idle any more (kept out by
                // `take_idle`; dropped here should one remain).
                Some(c) if c.tickets > 0 => {
                    self.servers[server.0].idle.pop_back();
                }
                Some(c) if c.conn.is_closed() || c.conn.transmit().len() >= full => {
                    return Err(false);
                }
                Some(_) => return Ok(last),
            }
        }
    }

    /// Closes the connections of `server` idle longer than `idle_timeout`:
    /// the oldest idle ones, at the front of its list.
    pub(super) fn expire_idle(&mut self, server: NodeId, now: Millis) {
        let Some(limit) = self.config.idle_timeout else {
            return;
        };
        while let Some(&first) = self.servers.get(server.0).and_then(|s| s.idle.front()) {
            match self.slot(first) {
                None => {}
                Some(c) if c.tickets == 0 && now.saturating_since(c.idle_since) > limit => {
                    self.close(first, Error::UnexpectedClose);
                }
                Some(_) => return,
            }
            self.servers[server.0].idle.pop_front();
        }
    }

    /// Closes every connection no ticket holds (a pool's `close`).
    pub fn close_idle_connections(&mut self) {
        let idle: Vec<ConnId> = self
            .servers
            .iter()
            .flat_map(|s| s.conns.iter().copied())
            .filter(|id| self.slot(*id).is_some_and(|c| c.tickets == 0))
            .collect();
        for id in idle {
            self.close(id, Error::UnexpectedClose);
        }
    }

    /// Returns the number of connections of `server` no ticket holds.
    #[must_use]
    pub fn idle_count(&self, server: NodeId) -> usize {
        self.servers.get(server.0).map_or(0, |s| {
            s.conns
                .iter()
                .filter(|c| self.slot(**c).is_some_and(|c| c.tickets == 0))
                .count()
        })
    }
}
