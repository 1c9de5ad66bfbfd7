//! Pipelining: a thousand mixed requests submitted before any reply, the
//! replies fed in random-size chunks, each matched to its request.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use bytes::Bytes;

use super::util::{Pair, Polled, Rng};
use crate::{Error, GetCommand, Item, Reply, Request, RequestId, StoreCommand};

const KEYS: [&[u8]; 8] = [b"k0", b"k1", b"k2", b"k3", b"k4", b"k5", b"k6", b"k7"];

enum Op {
    Store {
        command: StoreCommand,
        key: &'static [u8],
        value: Vec<u8>,
        flags: u32,
        noreply: bool,
    },
    Get {
        command: GetCommand,
        keys: Vec<&'static [u8]>,
    },
    Delete(&'static [u8]),
    Touch(&'static [u8]),
    Incr(u64),
    Version,
}

impl Op {
    fn request(&self) -> Request<'_> {
        match self {
            Op::Store {
                command,
                key,
                value,
                flags,
                noreply,
            } => Request::Store {
                command: *command,
                key,
                value,
                flags: *flags,
                exptime: 0,
                noreply: *noreply,
            },
            Op::Get { command, keys } => Request::Get {
                command: *command,
                keys,
            },
            Op::Delete(key) => Request::Delete {
                key,
                noreply: false,
            },
            Op::Touch(key) => Request::Touch {
                key,
                exptime: 100,
                noreply: false,
            },
            Op::Incr(delta) => Request::Incr {
                key: b"n",
                delta: *delta,
                noreply: false,
            },
            Op::Version => Request::Version,
        }
    }
}

fn random_op(rng: &mut Rng) -> Op {
    let key = KEYS[rng.range(0, KEYS.len() - 1)];
    let len = rng.range(0, 40);
    let mut value = rng.bytes(len);
    if rng.range(0, 3) == 0 {
        value.extend_from_slice(b"\r\nEND\r\nVALUE k0 0 1\r\n");
    }
    let flags = rng.next_u64() as u32;
    let noreply = rng.range(0, 3) == 0;
    match rng.range(0, 9) {
        0 | 1 => Op::Store {
            command: StoreCommand::Set,
            key,
            value,
            flags,
            noreply,
        },
        2 => Op::Store {
            command: StoreCommand::Add,
            key,
            value,
            flags,
            noreply,
        },
        3 => Op::Store {
            command: StoreCommand::Append,
            key,
            value,
            flags,
            noreply,
        },
        4 | 5 => {
            let n = rng.range(1, 4);
            Op::Get {
                command: GetCommand::Get,
                keys: (0..n).map(|_| KEYS[rng.range(0, KEYS.len() - 1)]).collect(),
            }
        }
        6 => Op::Get {
            command: GetCommand::Gets,
            keys: alloc::vec![key],
        },
        7 => Op::Delete(key),
        8 => Op::Touch(key),
        _ => {
            if rng.range(0, 1) == 0 {
                Op::Incr(rng.next_u64())
            } else {
                Op::Version
            }
        }
    }
}

/// What the server should answer: the same rules as the scripted server,
/// written from the requests' side.
#[derive(Default)]
struct Model {
    items: BTreeMap<&'static [u8], (u32, Vec<u8>, u64)>,
    cas: u64,
    counter: u64,
}

impl Model {
    fn store(&mut self, key: &'static [u8], flags: u32, value: Vec<u8>) -> Reply {
        self.cas += 1;
        self.items.insert(key, (flags, value, self.cas));
        Reply::Stored
    }

    fn expect(&mut self, op: &Op) -> Option<Reply> {
        let reply = match op {
            Op::Store {
                command,
                key,
                value,
                flags,
                noreply,
            } => {
                let reply = match (command, self.items.get(key).cloned()) {
                    (StoreCommand::Add, Some(_)) | (StoreCommand::Append, None) => Reply::NotStored,
                    (StoreCommand::Append, Some((old_flags, old, _))) => {
                        self.store(key, old_flags, [old, value.clone()].concat())
                    }
                    _ => self.store(key, *flags, value.clone()),
                };
                if *noreply {
                    return None;
                }
                reply
            }
            Op::Get { command, keys } => Reply::Values(
                keys.iter()
                    .filter_map(|key| {
                        let (flags, value, cas) = self.items.get(key)?;
                        Some(Item {
                            key: Bytes::from_static(key),
                            flags: *flags,
                            value: Bytes::from(value.clone()),
                            cas: command.returns_cas().then_some(*cas),
                        })
                    })
                    .collect(),
            ),
            Op::Delete(key) => match self.items.remove(key) {
                Some(_) => Reply::Deleted,
                None => Reply::NotFound,
            },
            Op::Touch(key) => match self.items.contains_key(key) {
                true => Reply::Touched,
                false => Reply::NotFound,
            },
            Op::Incr(delta) => {
                self.counter = self.counter.wrapping_add(*delta);
                Reply::Number(self.counter)
            }
            Op::Version => Reply::Version(Bytes::from_static(b"1.6.99")),
        };
        Some(reply)
    }
}

fn run(seed: u64, count: usize, max_chunk: usize) {
    let mut rng = Rng::new(seed);
    let mut pair = Pair::new(seed);
    pair.max_chunk = max_chunk;
    let mut model = Model::default();
    let mut expected: Vec<Polled> = Vec::new();

    let init = pair.submit(&Request::Store {
        command: StoreCommand::Set,
        key: b"n",
        value: b"0",
        flags: 0,
        exptime: 0,
        noreply: false,
    });
    expected.push((init, Ok(model.store(b"n", 0, b"0".to_vec()))));
    let ops: Vec<Op> = (0..count).map(|_| random_op(&mut rng)).collect();
    for op in &ops {
        let id = pair.submit(&op.request());
        if let Some(reply) = model.expect(op) {
            expected.push((id, Ok(reply)));
        }
    }
    assert_eq!(pair.conn.in_flight(), expected.len());
    // Ids were handed out one per request, noreply included.
    assert_eq!(pair.submit(&Request::Version), RequestId(count as u64 + 1));
    expected.push((
        RequestId(count as u64 + 1),
        Ok(Reply::Version(Bytes::from_static(b"1.6.99"))),
    ));

    pair.drive();
    assert_eq!(pair.server.commands, count + 2);
    assert_eq!(pair.polled.len(), expected.len());
    for (got, want) in pair.polled.iter().zip(&expected) {
        assert_eq!(got, want);
    }
    assert_eq!(pair.conn.in_flight(), 0);
    assert_eq!(pair.conn.error(), None::<&Error>);
    assert!(!pair.conn.is_closed());
}

#[test]
fn a_thousand_requests_in_random_chunks() {
    run(1, 1000, 64);
    run(2, 1000, 7);
    run(3, 1000, 4096);
}

#[test]
fn a_thousand_requests_one_byte_at_a_time() {
    run(4, 1000, 1);
}

#[test]
fn many_seeds() {
    for seed in 10..40 {
        run(seed, 200, 1 + (seed as usize % 50));
    }
}

#[test]
fn a_corrupted_link_closes_the_connection() {
    // The link rewrites the length of every value in flight: the parser
    // finds no `\r\n` where the value should end.
    let mut pair = Pair::new(9);
    pair.filter = Some(alloc::boxed::Box::new(|bytes: &mut Vec<u8>| {
        if let Some(at) = bytes.windows(6).position(|w| w == b" 0 5\r\n") {
            bytes[at + 3] = b'4';
        }
    }));
    let set = pair.submit(&Request::Store {
        command: StoreCommand::Set,
        key: b"k0",
        value: b"hello",
        flags: 0,
        exptime: 0,
        noreply: false,
    });
    let get: &[&[u8]] = &[b"k0"];
    let a = pair.submit(&Request::Get {
        command: GetCommand::Get,
        keys: get,
    });
    let b = pair.submit(&Request::Version);
    pair.drive();
    assert_eq!(pair.polled.len(), 3);
    assert_eq!(pair.polled[0], (set, Ok(Reply::Stored)));
    let e = match &pair.polled[1] {
        (id, Err(e @ Error::Protocol(_))) if *id == a => e.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(pair.polled[2], (b, Err(e.clone())));
    assert_eq!(pair.conn.error(), Some(&e));
}
