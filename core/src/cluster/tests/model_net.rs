//! The cluster over in-memory memcached models ([`Model`]: the text and the
//! meta protocol, quiet mode, `mn`), a link that splits every byte stream
//! at random, virtual time that jumps to the next wake-up.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::model::{ConnectionId, Model, ModelConfig};
use crate::router::NodeId;
use crate::tests::util::Rng;
use crate::time::Millis;

use super::super::{Cluster, ClusterConfig, ConnId, Event, Outcomes, Ticket};
use super::NAMES;

/// One socket: its server and the model's end of it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Wire {
    pub(super) server: usize,
    pub(super) end: ConnectionId,
    eof_sent: bool,
}

/// The cluster, its model servers and the sockets between them.
pub(super) struct ModelNet {
    pub(super) cluster: Cluster<&'static str>,
    pub(super) servers: Vec<Model>,
    pub(super) wires: BTreeMap<ConnId, Wire>,
    /// Servers that refuse connections.
    pub(super) down: Vec<bool>,
    pub(super) now: Millis,
    rng: Rng,
    pub(super) max_chunk: usize,
    pub(super) done: BTreeMap<Ticket, Outcomes<&'static str>>,
    pub(super) opened: usize,
}

impl ModelNet {
    pub(super) fn new(servers: usize, config: ClusterConfig, seed: u64) -> ModelNet {
        ModelNet {
            cluster: Cluster::new(config, NAMES[..servers].iter().copied()),
            servers: (0..servers)
                .map(|_| Model::new(ModelConfig::default()))
                .collect(),
            wires: BTreeMap::new(),
            down: vec![false; servers],
            now: Millis(0),
            rng: Rng::new(seed),
            max_chunk: 1 + (seed as usize % 23),
            done: BTreeMap::new(),
            opened: 0,
        }
    }

    /// A random chunk size, at most `len`.
    fn chunk(&mut self, len: usize) -> usize {
        self.rng.range(1, self.max_chunk).min(len)
    }

    /// Opens and closes the sockets the cluster asks for.
    pub(super) fn handle_events(&mut self) -> bool {
        let mut progress = false;
        while let Some(ev) = self.cluster.poll_event() {
            progress = true;
            match ev {
                Event::Open { conn, server } => {
                    self.opened += 1;
                    if self.down[server.0] {
                        self.cluster.handle_failure(self.now, conn, "refused");
                        continue;
                    }
                    self.cluster.handle_connected(conn);
                    let end = self.servers[server.0].connect();
                    let wire = Wire {
                        server: server.0,
                        end,
                        eof_sent: false,
                    };
                    self.wires.insert(conn, wire);
                }
                Event::Close { conn } => {
                    if let Some(w) = self.wires.remove(&conn) {
                        self.servers[w.server].disconnect(w.end);
                    }
                }
                Event::Unsolicited { .. } => {}
            }
        }
        progress
    }

    /// Moves a random chunk each way on every socket; returns true if
    /// anything happened.
    pub(super) fn step(&mut self) -> bool {
        let mut progress = self.handle_events();
        let ids: Vec<ConnId> = self.wires.keys().copied().collect();
        for id in ids {
            progress |= self.write_some(id, usize::MAX);
            let Some(w) = self.wires.get(&id).copied() else {
                continue;
            };
            let out = self.servers[w.server].transmit_on(w.end).len();
            if out > 0 {
                let n = self.chunk(out);
                let chunk = self.servers[w.server].transmit_on(w.end)[..n].to_vec();
                self.servers[w.server].advance_transmit_on(w.end, n);
                self.cluster.handle_received(self.now, id, &chunk);
                progress = true;
            } else if self.servers[w.server].is_closed_on(w.end) && !w.eof_sent {
                if let Some(w) = self.wires.get_mut(&id) {
                    w.eof_sent = true;
                }
                self.cluster.handle_eof(self.now, id);
                progress = true;
            }
        }
        progress |= self.handle_events();
        while let Some(t) = self.cluster.poll_done() {
            let out = self.cluster.take(t).expect("a done ticket has results");
            self.done.insert(t, out);
            progress = true;
        }
        progress
    }

    /// Writes a random chunk, at most `max` bytes, of `conn`'s bytes to its
    /// server; returns true if it wrote any.
    pub(super) fn write_some(&mut self, conn: ConnId, max: usize) -> bool {
        let Some(w) = self.wires.get(&conn).copied() else {
            return false;
        };
        let len = self.cluster.transmit(conn).len().min(max);
        if len == 0 {
            return false;
        }
        let n = self.chunk(len);
        let now = self.now;
        let bytes = &self.cluster.transmit(conn)[..n];
        self.servers[w.server].receive_on(w.end, bytes, now);
        self.cluster.advance_transmit(now, conn, n);
        true
    }

    /// Runs until nothing moves, jumping time to each wake-up; at most
    /// 100,000 steps (a livelock fails fast).
    pub(super) fn drive(&mut self) {
        for _ in 0..100_000 {
            if self.step() {
                continue;
            }
            match self.cluster.poll_timeout() {
                Some(t) => {
                    self.now = self.now.max(t);
                    self.cluster.handle_timeout(self.now);
                }
                None => return,
            }
        }
        panic!("the net is still busy after 100,000 steps");
    }

    /// Kills server `i`: every socket to it resets, and it refuses new
    /// ones until [`revive`](Self::revive).
    pub(super) fn kill(&mut self, i: usize) {
        self.down[i] = true;
        let dead: Vec<(ConnId, Wire)> = self
            .wires
            .iter()
            .filter(|(_, w)| w.server == i)
            .map(|(c, w)| (*c, *w))
            .collect();
        for (conn, w) in dead {
            self.servers[i].disconnect(w.end);
            self.wires.remove(&conn);
            self.cluster.handle_failure(self.now, conn, "reset");
        }
    }

    /// Server `i` takes connections again (its items kept).
    pub(super) fn revive(&mut self, i: usize) {
        self.down[i] = false;
    }

    /// Submits a batch, drives it to the end, returns its results.
    pub(super) fn run(&mut self, requests: &[crate::Request<'_>]) -> Outcomes<&'static str> {
        let t = self.cluster.submit(self.now, requests).expect("accepted");
        self.drive();
        self.done.remove(&t).expect("the ticket completed")
    }

    /// [`run`](Self::run) for meta requests.
    pub(super) fn run_meta(
        &mut self,
        requests: &[crate::meta::MetaRequest<'_>],
    ) -> Outcomes<&'static str> {
        let t = self
            .cluster
            .submit_meta(self.now, requests)
            .expect("accepted");
        self.drive();
        self.done.remove(&t).expect("the ticket completed")
    }

    /// The value of `key` on the server the cluster routes it to.
    pub(super) fn value_of(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        let server: NodeId = self.cluster.server_for(key, self.now)?;
        let now = self.now;
        self.servers[server.0]
            .peek(key, now)
            .map(|(v, _)| v.to_vec())
    }
}
