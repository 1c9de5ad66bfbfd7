//! `Protocol::Meta` over model servers: quiet mode and `mn` in random
//! splits, native meta requests, multi-key gets over 1-5 servers, a node's
//! death and revival, a reset mid-batch (nothing applied twice).

use alloc::format;
use alloc::vec::Vec;
use core::time::Duration;

use crate::connection::Protocol;
use crate::error::Error;
use crate::meta::{MetaGet, MetaRequest, MetaSet, MetaStatus};
use crate::model::{Model, ModelConfig};
use crate::router::{HealthConfig, NodeId};
use crate::text::{GetCommand, Reply, Request, StoreCommand};

use super::super::{ClusterConfig, Fault};
use super::keys;
use super::model_net::ModelNet;

fn meta(config: ClusterConfig) -> ClusterConfig {
    ClusterConfig {
        protocol: Protocol::Meta,
        ..config
    }
}

fn hashed_meta(health: HealthConfig) -> ClusterConfig {
    meta(ClusterConfig {
        health: Some(health),
        ..ClusterConfig::default()
    })
}

fn store<'a>(key: &'a [u8], value: &'a [u8], noreply: bool) -> Request<'a> {
    Request::Store {
        command: StoreCommand::Set,
        key,
        value,
        flags: 3,
        exptime: 0,
        noreply,
    }
}

fn get<'a>(keys: &'a [&'a [u8]]) -> Request<'a> {
    Request::Get {
        command: GetCommand::Get,
        keys,
    }
}

/// The values a get returned, by key.
fn values(out: &Option<Result<Reply, Fault<&'static str>>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Some(Ok(Reply::Values(items))) = out else {
        panic!("not a get's items: {out:?}")
    };
    let mut v: Vec<_> = items
        .iter()
        .map(|i| (i.key.to_vec(), i.value.to_vec()))
        .collect();
    v.sort();
    v
}

#[test]
fn quiet_writes_then_a_multi_key_get_over_1_to_5_servers_in_every_split() {
    for seed in 0..40u64 {
        let servers = 1 + seed as usize % 5;
        let config = hashed_meta(HealthConfig::default());
        let mut net = ModelNet::new(servers, config, seed);
        let all = keys(30);
        let sets: Vec<Request<'_>> = all.iter().map(|k| store(k, k, true)).collect();
        let out = net.run(&sets);
        // Quiet successes say nothing: each is done once the barrier came.
        assert!(out.iter().all(Option::is_none), "{out:?}");
        for k in &all {
            assert_eq!(net.value_of(k).as_deref(), Some(&k[..]), "seed {seed}");
        }
        let refs: Vec<&[u8]> = all.iter().map(|k| &k[..]).collect();
        let missing = [&b"nope"[..]];
        let out = net.run(&[get(&refs), get(&missing)]);
        let want: Vec<_> = {
            let mut w: Vec<_> = all.iter().map(|k| (k.clone(), k.clone())).collect();
            w.sort();
            w
        };
        assert_eq!(values(&out[0]), want, "seed {seed}, {servers} servers");
        assert!(values(&out[1]).is_empty());
    }
}

#[test]
fn a_quiet_failure_still_answers() {
    let big = [b'x'; 200];
    for seed in 0..20u64 {
        let mut net = ModelNet::new(2, hashed_meta(HealthConfig::default()), seed);
        for s in &mut net.servers {
            *s = Model::new(ModelConfig {
                max_item_size: 128,
                ..ModelConfig::default()
            });
        }
        // A value over the server's item size is refused with a server
        // error, which quiet mode reports. What is no error stays silent,
        // as with the text protocol's noreply: an add of a key that exists
        // (`NS`), a delete of a missing key (`NF`, which memcached hides).
        let add = Request::Store {
            command: StoreCommand::Add,
            key: b"k",
            value: b"again",
            flags: 0,
            exptime: 0,
            noreply: true,
        };
        let del = Request::Delete {
            key: b"never-set",
            noreply: true,
        };
        let batch = [store(b"k", b"v", true), store(b"k2", &big, true), add, del];
        let out = net.run(&batch);
        assert_eq!(out[0], None);
        assert!(
            matches!(
                &out[1],
                Some(Err(Fault::Core {
                    error: Error::Server(_),
                    ..
                }))
            ),
            "seed {seed}: {:?}",
            out[1]
        );
        assert_eq!(out[2], None);
        assert_eq!(out[3], None);
        assert_eq!(net.value_of(b"k").as_deref(), Some(&b"v"[..]));
        assert_eq!(net.value_of(b"k2"), None);
    }
}

#[test]
fn native_meta_requests_with_quiet_mode_and_mn() {
    for seed in 0..20u64 {
        let mut net = ModelNet::new(3, hashed_meta(HealthConfig::default()), seed);
        let batch = [
            MetaRequest::Set(MetaSet::new(b"m1", b"one").quiet()),
            MetaRequest::Set(MetaSet::new(b"m2", b"two").quiet()),
            MetaRequest::Get(MetaGet::new(b"m1").value()),
            MetaRequest::Get(MetaGet::new(b"absent").value().quiet()),
            MetaRequest::Get(MetaGet::new(b"m2").value().quiet()),
            MetaRequest::Noop,
        ];
        let out = net.run_meta(&batch);
        assert_eq!(out[0], None, "seed {seed}");
        assert_eq!(out[1], None);
        let hit = |o: &Option<Result<Reply, Fault<&str>>>| match o {
            Some(Ok(Reply::Meta(r))) if r.status == Some(MetaStatus::Value) => {
                r.value.as_ref().map(|v| v.to_vec())
            }
            other => panic!("seed {seed}: {other:?}"),
        };
        assert_eq!(hit(&out[2]).as_deref(), Some(&b"one"[..]));
        // A quiet miss says nothing; a quiet hit still comes.
        assert_eq!(out[3], None);
        assert_eq!(hit(&out[4]).as_deref(), Some(&b"two"[..]));
        assert!(matches!(&out[5], Some(Ok(Reply::Meta(r))) if r.status == Some(MetaStatus::Noop)));
    }
}

#[test]
fn a_node_dies_mid_batch_rests_is_dropped_and_comes_back_under_meta() {
    let health = HealthConfig {
        retry_attempts: 1,
        retry_timeout: Duration::from_secs(1),
        dead_timeout: Duration::from_secs(60),
    };
    let mut cut = 0;
    for seed in 0..10u64 {
        let mut net = ModelNet::new(3, hashed_meta(health), seed);
        let all = keys(30);
        let sets: Vec<Request<'_>> = all.iter().map(|k| store(k, b"v", false)).collect();
        assert!(net.run(&sets).iter().all(|o| *o == Some(Ok(Reply::Stored))));
        let on_b: Vec<&Vec<u8>> = all
            .iter()
            .filter(|k| net.cluster.server_for(k, net.now) == Some(NodeId(1)))
            .collect();
        assert!(!on_b.is_empty());
        // A batch of single gets; b dies after a few steps.
        let gets: Vec<Vec<&[u8]>> = all.iter().map(|k| alloc::vec![&k[..]]).collect();
        let batch: Vec<Request<'_>> = gets.iter().map(|k| get(k)).collect();
        let t = net.cluster.submit(net.now, &batch).unwrap();
        for _ in 0..(seed as usize % 4) {
            net.step();
        }
        net.kill(1);
        net.drive();
        let out = net.done.remove(&t).unwrap();
        for (k, o) in all.iter().zip(&out) {
            if on_b.contains(&k) {
                // Its own value if the reply came before the reset, else b's fault.
                match o {
                    Some(Ok(_)) => assert_eq!(values(o), [(k.clone(), b"v".to_vec())]),
                    Some(Err(f)) => {
                        assert_eq!(f.server(), Some(NodeId(1)), "{f:?}");
                        cut += 1;
                    }
                    None => panic!("a get answered nothing"),
                }
            } else {
                assert_eq!(values(o), [(k.clone(), b"v".to_vec())], "seed {seed}");
            }
        }
        // The next call to b finds it down; then it rests: misses, no I/O.
        let victim: &[u8] = on_b[0];
        let _ = net.run(&[get(&[victim])]);
        let opened = net.opened;
        assert!(values(&net.run(&[get(&[victim])])[0]).is_empty());
        assert_eq!(net.opened, opened, "no connection while it rests");
        // Its one retry fails too: it is dead, its keys move elsewhere.
        net.now = net.now + Duration::from_millis(1_001);
        let _ = net.run(&[get(&[victim])]);
        net.now = net.now + Duration::from_millis(1_001);
        let _ = net.run(&[get(&[victim])]);
        assert!(!net.cluster.router().is_live(NodeId(1)), "seed {seed}");
        assert_eq!(
            net.run(&[store(victim, b"moved", false)])[0],
            Some(Ok(Reply::Stored))
        );
        // After dead_timeout it is back, with the items it kept.
        net.revive(1);
        net.now = net.now + Duration::from_secs(61);
        assert_eq!(net.cluster.server_for(victim, net.now), Some(NodeId(1)));
        assert_eq!(
            values(&net.run(&[get(&[victim])])[0]),
            [(victim.to_vec(), b"v".to_vec())]
        );
    }
    assert!(cut > 0, "the kill never caught a get in flight");
}

#[test]
fn a_reset_mid_batch_applies_nothing_twice_under_meta() {
    let mut partial = 0;
    for seed in 0..30u64 {
        let mut net = ModelNet::new(1, meta(ClusterConfig::default()), seed);
        assert_eq!(
            net.run(&[store(b"n", b"0", false)])[0],
            Some(Ok(Reply::Stored))
        );
        // Quiet and plain increments, alternating.
        let batch: Vec<Request<'_>> = (0..10)
            .map(|i| Request::Incr {
                key: b"n",
                delta: 1,
                noreply: i % 2 == 0,
            })
            .collect();
        let t = net.cluster.submit(net.now, &batch).unwrap();
        net.handle_events();
        let conn = net.cluster.conns_of(t)[0];
        // Part of the batch reaches the server, in random pieces; no reply
        // is read; then the connection resets.
        let total = net.cluster.transmit(conn).len();
        let sent_max = total * (1 + seed as usize % 9) / 10;
        let mut sent = Vec::new();
        while sent.len() < sent_max {
            let before = net.cluster.transmit(conn).to_vec();
            if !net.write_some(conn, sent_max - sent.len()) {
                break;
            }
            let left = net.cluster.transmit(conn).len();
            sent.extend_from_slice(&before[..before.len() - left]);
        }
        net.kill(0);
        net.revive(0);
        net.drive();
        let out = net.done.remove(&t).unwrap();
        // Every increment fails (none had its reply read), none is lost
        // silently, and none is sent again.
        assert!(
            out.iter()
                .all(|o| matches!(o, Some(Err(Fault::Transport { error: "reset", .. })))),
            "seed {seed}: {out:?}"
        );
        let applied = sent
            .split(|b| *b == b'\n')
            .filter(|line| line.starts_with(b"ma "))
            .count()
            - usize::from(
                !sent.ends_with(b"\n")
                    && sent
                        .rsplit(|b| *b == b'\n')
                        .next()
                        .is_some_and(|l| l.starts_with(b"ma ")),
            );
        let value = net.value_of(b"n").unwrap();
        assert_eq!(value, format!("{applied}").into_bytes(), "seed {seed}");
        net.drive();
        assert_eq!(
            net.value_of(b"n").unwrap(),
            format!("{applied}").into_bytes()
        );
        partial += usize::from(applied > 0 && applied < batch.len());
    }
    assert!(
        partial > 10,
        "only {partial} resets cut the batch in its middle"
    );
}
