//! The classic text protocol: splits, multi-key gets over 1-5 servers,
//! node health, a reset mid-batch, pools, timeouts, merging.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use crate::router::{HealthConfig, NodeId};
use crate::text::{GetCommand, Reply, Request, StoreCommand};
use crate::time::Millis;

use super::super::{ClusterConfig, Event, Fault, Refusal, Ticket};
use super::{hashed, keys, set, Link, Net};

#[test]
fn a_set_and_a_get_over_one_server_in_every_split() {
    for seed in 0..50 {
        let mut net = Net::new(1, ClusterConfig::default(), seed);
        net.max_chunk = 1 + seed as usize % 7;
        let out = net.run(&[set(b"k", b"hello")]);
        assert_eq!(out[0], Some(Ok(Reply::Stored)));
        let out = net.run(&[Request::Get {
            command: GetCommand::Get,
            keys: &[b"k"],
        }]);
        let Some(Ok(Reply::Values(items))) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(&items[0].value[..], b"hello");
    }
}

#[test]
fn a_multi_key_get_is_split_by_server_and_returns_every_key() {
    for servers in 1..=5 {
        let mut net = Net::new(servers, hashed(HealthConfig::default()), servers as u64);
        let all = keys(40);
        let sets: Vec<Request<'_>> = all.iter().map(|k| set(k, k)).collect();
        let out = net.run(&sets);
        assert!(out.iter().all(|o| *o == Some(Ok(Reply::Stored))));
        // Each server holds only its own keys.
        let held: usize = net.stores.iter().map(|s| s.commands).sum();
        assert_eq!(held, 40);
        let refs: Vec<&[u8]> = all.iter().map(|k| &k[..]).collect();
        let out = net.run(&[Request::Get {
            command: GetCommand::Get,
            keys: &refs,
        }]);
        let Some(Ok(Reply::Values(items))) = &out[0] else {
            panic!("{out:?}")
        };
        let found = crate::command::match_items(&refs, items.iter().cloned()).unwrap();
        assert_eq!(found.len(), 40, "{servers} servers");
        for (i, item) in &found {
            assert_eq!(item.value, all[*i][..]);
        }
        // One request per server that holds keys, none to the others.
        for (i, s) in net.stores.iter().enumerate() {
            let mine = all
                .iter()
                .filter(|k| {
                    net.cluster.router.clone().node_for(k, net.now)
                        == crate::router::Route::Node(NodeId(i))
                })
                .count();
            assert_eq!(s.commands, mine + usize::from(mine > 0), "server {i}");
        }
    }
}

#[test]
fn a_dead_node_is_skipped_then_dropped_then_revived() {
    let health = HealthConfig {
        retry_attempts: 2,
        retry_timeout: Duration::from_secs(1),
        dead_timeout: Duration::from_secs(60),
    };
    let mut net = Net::new(3, hashed(health), 7);
    let all = keys(30);
    let victim_key = all
        .iter()
        .find(|k| net.cluster.server_for(k, net.now) == Some(NodeId(1)))
        .expect("some key lives on b")
        .clone();
    net.down[1] = true;
    // The first call finds it unreachable: an I/O fault naming b.
    let out = net.run(&[set(&victim_key, b"v")]);
    assert!(
        matches!(
            &out[0],
            Some(Err(Fault::Transport {
                server: NodeId(1),
                unsent: true,
                ..
            }))
        ),
        "{out:?}"
    );
    // Within retry_timeout its keys answer as misses, without I/O.
    let opened = net.opened;
    let out = net.run(&[set(&victim_key, b"v")]);
    assert_eq!(out[0], Some(Ok(Reply::NotStored)));
    assert_eq!(net.opened, opened, "no connection attempt while waiting");
    // Retries fail until retry_attempts are used up; then it is dead and
    // its keys move.
    for _ in 0..3 {
        net.advance(Duration::from_millis(1_001));
        let _ = net.run(&[set(&victim_key, b"v")]);
    }
    assert!(!net.cluster.router().is_live(NodeId(1)));
    let moved = net.cluster.server_for(&victim_key, net.now);
    assert!(matches!(moved, Some(NodeId(0 | 2))), "{moved:?}");
    let out = net.run(&[set(&victim_key, b"moved")]);
    assert_eq!(out[0], Some(Ok(Reply::Stored)));
    // After dead_timeout it comes back, and its keys with it.
    net.down[1] = false;
    net.advance(Duration::from_secs(61));
    let out = net.run(&[set(&victim_key, b"back")]);
    assert_eq!(out[0], Some(Ok(Reply::Stored)));
    assert_eq!(
        net.cluster.server_for(&victim_key, net.now),
        Some(NodeId(1))
    );
}

#[test]
fn every_server_down_is_no_servers_or_a_miss_under_ignore_exc() {
    for ignore in [false, true] {
        let config = ClusterConfig {
            ignore_exc: ignore,
            ..hashed(HealthConfig {
                retry_attempts: 0,
                retry_timeout: Duration::ZERO,
                dead_timeout: Duration::from_secs(60),
            })
        };
        let mut net = Net::new(2, config, 3);
        net.down = vec![true, true];
        let get = Request::Get {
            command: GetCommand::Get,
            keys: &[b"x"],
        };
        let _ = net.run(&[get]);
        let _ = net.run(&[Request::Get {
            command: GetCommand::Get,
            keys: &[b"y", b"z", b"w"],
        }]);
        assert_eq!(net.cluster.router().live_count(), 0);
        let out = net.run(&[get]);
        if ignore {
            assert_eq!(out[0], Some(Ok(Reply::Values(Default::default()))));
        } else {
            assert_eq!(out[0], Some(Err(Fault::NoServers)));
        }
    }
}

#[test]
fn a_reset_mid_batch_applies_nothing_twice() {
    let mut net = Net::new(1, ClusterConfig::default(), 11);
    let _ = net.run(&[set(b"n", b"0")]);
    let incr = Request::Incr {
        key: b"n",
        delta: 1,
        noreply: false,
    };
    let t = net.submit(&[incr, incr, incr]);
    // The server executes the batch, then the link breaks before any
    // reply arrives.
    for _ in 0..50 {
        net.max_chunk = 1000;
        let _ = net.cluster.poll_event().map(|ev| {
            if let Event::Open { conn, server } = ev {
                net.cluster.handle_connected(conn);
                net.links.insert(
                    conn,
                    Link {
                        server: server.0,
                        input: Vec::new(),
                        output: Vec::new(),
                        eof_sent: false,
                    },
                );
            }
        });
    }
    let conn = net.cluster.conns_of(t)[0];
    let tx = net.cluster.transmit(conn).to_vec();
    let link = net.links.get_mut(&conn).unwrap();
    core::mem::swap(&mut net.stores[0].input, &mut link.input);
    net.stores[0].receive(&tx);
    net.stores[0].output.clear();
    core::mem::swap(&mut net.stores[0].input, &mut link.input);
    net.cluster.advance_transmit(net.now, conn, tx.len());
    net.cluster.handle_failure(net.now, conn, "reset");
    net.drive();
    let out = net.done.remove(&t).unwrap();
    assert!(out
        .iter()
        .all(|o| matches!(o, Some(Err(Fault::Transport { unsent: false, .. })))));
    // Nothing was sent again: the counter counted each incr once.
    let out = net.run(&[Request::Get {
        command: GetCommand::Get,
        keys: &[b"n"],
    }]);
    let Some(Ok(Reply::Values(items))) = &out[0] else {
        panic!()
    };
    assert_eq!(&items[0].value[..], b"3");
}

#[test]
fn a_full_pool_is_busy_until_a_ticket_completes() {
    let config = ClusterConfig::default().max_connections(2).depth(1);
    let mut net = Net::new(1, config, 5);
    let get = Request::Get {
        command: GetCommand::Get,
        keys: &[b"k"],
    };
    let a = net.submit(&[get]);
    let b = net.submit(&[get]);
    assert_eq!(net.cluster.submit(net.now, &[get]), Err(Refusal::Busy));
    assert_ne!(net.cluster.conns_of(a), net.cluster.conns_of(b));
    net.drive();
    assert!(net.done.contains_key(&a) && net.done.contains_key(&b));
    // Both connections are free again and reused.
    let _ = net.run(&[get]);
    assert_eq!(net.opened, 2);
}

#[test]
fn a_server_that_never_answers_times_out_and_counts_against_it() {
    let config = ClusterConfig {
        timeout: Some(Duration::from_millis(500)),
        ..hashed(HealthConfig::default())
    };
    let mut net = Net::new(2, config, 9);
    net.stalled = vec![true, true];
    let out = net.run(&[set(b"k", b"v")]);
    assert!(matches!(
        &out[0],
        Some(Err(Fault::Core {
            error: crate::Error::Timeout,
            ..
        }))
    ));
    assert_eq!(
        net.now,
        Millis(500),
        "time jumped to the deadline, no sleeping"
    );
    let node = net.cluster.server_for(b"k", net.now).unwrap();
    assert_ne!(
        net.cluster.router().node_state(node),
        crate::router::NodeState::Healthy
    );
}

#[test]
fn keyless_commands_go_to_every_live_server() {
    let mut net = Net::new(3, hashed(HealthConfig::default()), 2);
    let out = net.run(&[Request::FlushAll {
        delay: 0,
        noreply: false,
    }]);
    assert_eq!(out[0], Some(Ok(Reply::Ok)));
    assert!(net.stores.iter().all(|s| s.commands == 1));
    let out = net
        .cluster
        .submit_to(net.now, NodeId(2), &[Request::Version])
        .unwrap();
    net.drive();
    assert_eq!(
        net.done.remove(&out).unwrap()[0],
        Some(Ok(Reply::Version("1.6.99".into())))
    );
    assert_eq!(net.stores[2].commands, 2);
}

#[test]
fn noreply_writes_complete_once_written() {
    let mut net = Net::new(1, ClusterConfig::default(), 4);
    let w = Request::Delete {
        key: b"k",
        noreply: true,
    };
    let out = net.run(&[w, w, w]);
    assert_eq!(out.as_slice(), &[None, None, None]);
    assert_eq!(net.stores[0].commands, 3);
}

#[test]
fn a_bad_key_anywhere_sends_nothing() {
    let mut net = Net::new(2, hashed(HealthConfig::default()), 1);
    let bad = Request::Delete {
        key: b"has space",
        noreply: false,
    };
    let r = net.cluster.submit(net.now, &[set(b"ok", b"v"), bad]);
    assert!(matches!(
        r,
        Err(Refusal::Invalid(crate::Error::IllegalInput(_)))
    ));
    net.drive();
    assert_eq!(net.opened, 0);
}

#[test]
fn each_key_is_checked_exactly_once() {
    for protocol in [crate::Protocol::Text, crate::Protocol::Meta] {
        let config = ClusterConfig {
            protocol,
            ..hashed(HealthConfig::default())
        };
        let mut net = Net::new(3, config, 8);
        let all = keys(10);
        let refs: Vec<&[u8]> = all.iter().map(|k| &k[..]).collect();
        crate::key::checks::reset();
        let _ = net.cluster.submit(
            net.now,
            &[
                set(b"a", b"1"),
                Request::Get {
                    command: GetCommand::Gets,
                    keys: &refs,
                },
                Request::Delete {
                    key: b"b",
                    noreply: true,
                },
            ],
        );
        assert_eq!(crate::key::checks::count(), 12, "{protocol:?}");
    }
}

#[test]
fn concurrent_single_gets_are_merged_and_each_caller_gets_its_own() {
    let config = ClusterConfig {
        merge_gets: 8,
        ..ClusterConfig::default().max_connections(1).depth(4)
    };
    let mut net = Net::new(1, config, 12);
    let all = keys(20);
    for k in all.iter().step_by(2) {
        let _ = net.run(&[set(k, k)]);
    }
    let before = net.stores[0].commands;
    let refs: Vec<&'static [u8]> = all
        .iter()
        .map(|k| &*alloc::boxed::Box::leak(k.clone().into_boxed_slice()))
        .collect();
    let gets: Vec<Request<'static>> = refs
        .iter()
        .map(|k| Request::Get {
            command: GetCommand::Get,
            keys: alloc::vec![*k].leak(),
        })
        .collect();
    // The first goes at once (the connection is idle); the rest wait and
    // go merged, 8 keys at most per request.
    let tickets: Vec<Ticket> = gets.iter().map(|g| net.submit(&[*g])).collect();
    assert!(net.cluster.has_merged_pending());
    for _ in 0..3 {
        net.cluster.flush(net.now);
    }
    net.drive();
    while net.cluster.has_merged_pending() {
        net.cluster.flush(net.now);
        net.drive();
    }
    for (i, t) in tickets.iter().enumerate() {
        let out = net.done.remove(t).expect("every caller gets a result");
        let Some(Ok(Reply::Values(items))) = &out[0] else {
            panic!("{out:?}")
        };
        if i % 2 == 0 {
            assert_eq!(items.len(), 1, "key {i}");
            assert_eq!(items[0].key, all[i][..]);
        } else {
            assert!(items.is_empty(), "key {i} is a miss");
        }
    }
    let requests = net.stores[0].commands - before;
    assert!(requests <= 4, "20 gets went as {requests} requests");
}

#[test]
fn an_error_no_request_awaited_is_reported_as_an_event() {
    let mut net = Net::new(1, ClusterConfig::default(), 6);
    net.stores[0].max_item = 4;
    // memcached refuses a noreply set that is too large, after the set
    // already counted as done (it awaited nothing).
    let big = Request::Store {
        command: StoreCommand::Set,
        key: b"k",
        value: b"too large",
        flags: 0,
        exptime: 0,
        noreply: true,
    };
    let out = net.run(&[big]);
    assert_eq!(out[0], None);
    net.drive();
    assert_eq!(net.unsolicited.len(), 1, "{:?}", net.unsolicited);
    let (server, error) = &net.unsolicited[0];
    assert_eq!(*server, NodeId(0));
    assert_eq!(error.kind(), crate::ErrorKind::NoreplyFailed);
    // The next request opens a new connection and succeeds.
    assert_eq!(net.run(&[set(b"k", b"ok")])[0], Some(Ok(Reply::Stored)));
}
