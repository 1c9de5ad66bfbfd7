//! Each server's idle connections (`idle.rs`): a request takes a free one
//! before opening another, at depth 1 a server whose connections are all
//! busy refuses at once, and idle ones past the idle timeout are closed first.

use core::time::Duration;

use crate::router::NodeId;
use crate::text::{GetCommand, Request};
use crate::time::Millis;

use super::super::{ClusterConfig, Refusal};
use super::Net;

const GET: Request<'static> = Request::Get {
    command: GetCommand::Get,
    keys: &[b"k"],
};

#[test]
fn at_depth_one_every_connection_takes_one_request_then_the_server_is_busy() {
    let config = ClusterConfig::default().max_connections(3).depth(1);
    let mut net = Net::new(1, config, 31);
    let tickets: alloc::vec::Vec<_> = (0..3).map(|_| net.submit(&[GET])).collect();
    let conns: alloc::vec::Vec<_> = tickets
        .iter()
        .map(|t| net.cluster.conns_of(*t)[0])
        .collect();
    assert!(conns[0] != conns[1] && conns[1] != conns[2] && conns[0] != conns[2]);
    assert_eq!(net.cluster.idle_count(NodeId(0)), 0);
    assert!(matches!(
        net.cluster.submit(net.now, &[GET]),
        Err(Refusal::Busy)
    ));
    net.drive();
    assert_eq!(net.done.len(), 3);
    assert_eq!(net.cluster.idle_count(NodeId(0)), 3);
    // Free again: the next requests reuse them, none opens.
    let again: alloc::vec::Vec<_> = (0..3).map(|_| net.submit(&[GET])).collect();
    for t in &again {
        assert!(conns.contains(&net.cluster.conns_of(*t)[0]));
    }
    net.drive();
    assert_eq!(net.opened, 3);
    assert_eq!(net.done.len(), 6);
}

#[test]
fn a_closed_idle_connection_is_not_chosen() {
    let config = ClusterConfig::default().max_connections(2).depth(1);
    let mut net = Net::new(1, config, 32);
    let t = net.submit(&[GET]);
    let first = net.cluster.conns_of(t)[0];
    net.drive();
    net.cluster.close_idle_connections();
    assert_eq!(net.cluster.server_of(first), None);
    let t = net.submit(&[GET]);
    let second = net.cluster.conns_of(t)[0];
    assert_ne!(first, second);
    net.drive();
    assert!(net.done.contains_key(&t));
    assert_eq!(net.cluster.connection_count(NodeId(0)), 1);
}

#[test]
fn idle_connections_expire_before_a_request_chooses_one() {
    let config = ClusterConfig {
        idle_timeout: Some(Duration::from_millis(100)),
        ..ClusterConfig::default().max_connections(2).depth(1)
    };
    let mut net = Net::new(1, config, 33);
    let a = net.submit(&[GET]);
    let b = net.submit(&[GET]);
    let (ca, cb) = (net.cluster.conns_of(a)[0], net.cluster.conns_of(b)[0]);
    net.drive();
    assert_eq!(net.cluster.idle_count(NodeId(0)), 2);
    // Long after both went idle, the next request finds neither.
    net.now = Millis(net.now.0 + 1000);
    let c = net.submit(&[GET]);
    let cc = net.cluster.conns_of(c)[0];
    assert!(cc != ca && cc != cb);
    assert_eq!(net.cluster.server_of(ca), None);
    assert_eq!(net.cluster.server_of(cb), None);
    net.drive();
    assert!(net.done.contains_key(&c));
}
