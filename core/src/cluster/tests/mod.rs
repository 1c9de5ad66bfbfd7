//! The cluster in memory (the cases by topic in the files beside this
//! one): model servers, a link that splits every byte
//! stream at random, virtual time that jumps to the next wake-up. No
//! sockets, no sleeps.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use crate::router::{HealthConfig, NodeId};
use crate::tests::util::{Rng, Server};
use crate::text::{Request, StoreCommand};
use crate::time::Millis;

use super::{Cluster, ClusterConfig, ConnId, Event, Outcomes, Ticket};

mod idle;
#[cfg(feature = "model")]
mod meta;
#[cfg(feature = "model")]
mod model_net;
mod options;
mod text;

/// One socket between the cluster and a model server.
struct Link {
    server: usize,
    /// The server's half: its unexecuted input and unsent output.
    input: Vec<u8>,
    output: Vec<u8>,
    eof_sent: bool,
}

/// The cluster, its model servers and the links between them.
struct Net {
    cluster: Cluster<&'static str>,
    stores: Vec<Server>,
    links: BTreeMap<ConnId, Link>,
    /// Servers that refuse connections.
    down: Vec<bool>,
    /// Servers that read nothing (they never answer).
    stalled: Vec<bool>,
    now: Millis,
    rng: Rng,
    max_chunk: usize,
    done: BTreeMap<Ticket, Outcomes<&'static str>>,
    opened: usize,
    unsolicited: Vec<(NodeId, crate::Error)>,
}

const NAMES: [&str; 5] = ["a:1", "b:2", "c:3", "d:4", "e:5"];

impl Net {
    fn new(servers: usize, config: ClusterConfig, seed: u64) -> Net {
        Net {
            cluster: Cluster::new(config, NAMES[..servers].iter().copied()),
            stores: (0..servers).map(|_| Server::new()).collect(),
            links: BTreeMap::new(),
            down: vec![false; servers],
            stalled: vec![false; servers],
            now: Millis(0),
            rng: Rng::new(seed),
            max_chunk: 17,
            done: BTreeMap::new(),
            opened: 0,
            unsolicited: Vec::new(),
        }
    }

    fn submit(&mut self, requests: &[Request<'_>]) -> Ticket {
        self.cluster
            .submit(self.now, requests)
            .expect("the batch is accepted")
    }

    /// Moves some bytes on every link; returns true if anything happened.
    fn step(&mut self) -> bool {
        let mut progress = false;
        while let Some(ev) = self.cluster.poll_event() {
            progress = true;
            match ev {
                Event::Open { conn, server } => {
                    self.opened += 1;
                    if self.down[server.0] {
                        self.cluster.handle_failure(self.now, conn, "refused");
                    } else {
                        self.cluster.handle_connected(conn);
                        self.links.insert(
                            conn,
                            Link {
                                server: server.0,
                                input: Vec::new(),
                                output: Vec::new(),
                                eof_sent: false,
                            },
                        );
                    }
                }
                Event::Close { conn } => {
                    self.links.remove(&conn);
                }
                Event::Unsolicited { server, error } => self.unsolicited.push((server, error)),
            }
        }
        let ids: Vec<ConnId> = self.links.keys().copied().collect();
        for id in ids {
            let Some(link) = self.links.get_mut(&id) else {
                continue;
            };
            let store = &mut self.stores[link.server];
            let tx = self.cluster.transmit(id);
            if !tx.is_empty() && !self.stalled[link.server] && !store.closed {
                let n = self.rng.range(1, self.max_chunk).min(tx.len());
                core::mem::swap(&mut store.input, &mut link.input);
                core::mem::swap(&mut store.output, &mut link.output);
                store.receive(&tx[..n]);
                core::mem::swap(&mut store.input, &mut link.input);
                core::mem::swap(&mut store.output, &mut link.output);
                self.cluster.advance_transmit(self.now, id, n);
                progress = true;
            }
            let Some(link) = self.links.get_mut(&id) else {
                continue;
            };
            if !link.output.is_empty() {
                let n = self.rng.range(1, self.max_chunk).min(link.output.len());
                let chunk: Vec<u8> = link.output.drain(..n).collect();
                self.cluster.handle_received(self.now, id, &chunk);
                progress = true;
            } else if self.stores[link.server].closed && !link.eof_sent {
                link.eof_sent = true;
                // The store closing (quit) closes this one link only.
                self.stores[link.server].closed = false;
                self.cluster.handle_eof(self.now, id);
                progress = true;
            }
        }
        while let Some(t) = self.cluster.poll_done() {
            let out = self.cluster.take(t).expect("a done ticket has results");
            self.done.insert(t, out);
            progress = true;
        }
        progress
    }

    /// Runs until nothing moves, jumping time to each wake-up; at most
    /// `max_steps` steps (a livelock fails fast).
    fn drive(&mut self) {
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

    fn run(&mut self, requests: &[Request<'_>]) -> Outcomes<&'static str> {
        let t = self.submit(requests);
        self.drive();
        self.done.remove(&t).expect("the ticket completed")
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.cluster.handle_timeout(self.now);
    }
}

fn set(key: &[u8], value: &[u8]) -> Request<'static> {
    // The tests' keys and values are 'static literals or leaked below.
    let key: &'static [u8] = alloc::boxed::Box::leak(key.to_vec().into_boxed_slice());
    let value: &'static [u8] = alloc::boxed::Box::leak(value.to_vec().into_boxed_slice());
    Request::Store {
        command: StoreCommand::Set,
        key,
        value,
        flags: 0,
        exptime: 0,
        noreply: false,
    }
}

fn hashed(health: HealthConfig) -> ClusterConfig {
    ClusterConfig {
        health: Some(health),
        ..ClusterConfig::default()
    }
}

fn keys(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| alloc::format!("key{i}").into_bytes())
        .collect()
}
