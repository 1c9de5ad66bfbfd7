//! The settings a user-loop driver leans on: spreading over connections,
//! a cap on unwritten bytes, failing requests bound for a resting server,
//! a server's own connection limit.

use alloc::vec::Vec;
use core::time::Duration;

use crate::router::{HealthConfig, NodeId};
use crate::text::{GetCommand, Reply, Request};

use super::super::{ClusterConfig, ConnId, Fault, Refusal};
use super::{hashed, keys, set, Net};

const GET: Request<'static> = Request::Get {
    command: GetCommand::Get,
    keys: &[b"k"],
};

/// The connection of each of four tickets submitted at once.
fn four_tickets(config: ClusterConfig) -> (Net, Vec<ConnId>) {
    let mut net = Net::new(1, config, 21);
    let conns = (0..4)
        .map(|_| {
            let t = net.submit(&[GET]);
            net.cluster.conns_of(t)[0]
        })
        .collect();
    (net, conns)
}

#[test]
fn spread_opens_another_connection_before_pipelining_on_a_busy_one() {
    let config = ClusterConfig {
        spread: true,
        ..ClusterConfig::default()
            .max_connections(3)
            .depth(usize::MAX)
    };
    let (mut net, conns) = four_tickets(config);
    assert_ne!(conns[0], conns[1]);
    assert_ne!(conns[1], conns[2]);
    assert_ne!(conns[0], conns[2]);
    assert!(conns[..3].contains(&conns[3]), "a fourth only at the limit");
    net.drive();
    assert_eq!(net.opened, 3);
    assert_eq!(net.done.len(), 4);
    // Without it, one connection takes tickets up to the depth.
    let (mut net, conns) = four_tickets(ClusterConfig::default().max_connections(3).depth(4));
    assert!(conns.iter().all(|c| *c == conns[0]));
    net.drive();
    assert_eq!(net.opened, 1);
}

#[test]
fn a_server_limit_overrides_max_connections() {
    let config = ClusterConfig {
        spread: true,
        ..ClusterConfig::default()
            .max_connections(4)
            .depth(usize::MAX)
    };
    let mut net = Net::new(1, config, 22);
    assert!(net.cluster.set_max_connections(NodeId(0), 1));
    assert!(!net.cluster.set_max_connections(NodeId(7), 1));
    let a = net.submit(&[GET]);
    let b = net.submit(&[GET]);
    assert_eq!(net.cluster.conns_of(a), net.cluster.conns_of(b));
    net.drive();
    assert_eq!(net.opened, 1);
}

#[test]
fn a_connection_with_max_buffered_unwritten_bytes_takes_no_ticket() {
    let config = ClusterConfig {
        max_buffered: Some(16),
        ..ClusterConfig::default().depth(usize::MAX)
    };
    let mut net = Net::new(1, config, 23);
    let t = net.submit(&[set(b"k", b"a value of 24 bytes ....")]);
    let conn = net.cluster.conns_of(t)[0];
    assert!(net.cluster.transmit(conn).len() >= 16);
    assert_eq!(net.cluster.submit(net.now, &[GET]), Err(Refusal::Busy));
    // Once the socket took the bytes, it takes tickets again.
    net.drive();
    assert_eq!(net.done.remove(&t).unwrap()[0], Some(Ok(Reply::Stored)));
    let out = net.run(&[GET]);
    assert!(matches!(&out[0], Some(Ok(Reply::Values(v))) if v.len() == 1));
}

#[test]
fn fail_resting_fails_requests_for_a_resting_server_with_its_fault() {
    let health = HealthConfig {
        retry_attempts: 2,
        retry_timeout: Duration::from_secs(1),
        dead_timeout: Duration::from_secs(60),
    };
    let config = ClusterConfig {
        fail_resting: true,
        ..hashed(health)
    };
    let mut net = Net::new(2, config, 24);
    let all = keys(20);
    let victim = all
        .iter()
        .find(|k| net.cluster.server_for(k, net.now) == Some(NodeId(1)))
        .expect("some key lives on b")
        .clone();
    net.down[1] = true;
    let out = net.run(&[set(&victim, b"v")]);
    assert!(matches!(
        &out[0],
        Some(Err(Fault::Transport {
            server: NodeId(1),
            ..
        }))
    ));
    assert!(net.cluster.last_fault(NodeId(1)).is_some());
    // While it rests: the same fault at once, without I/O, for a single
    // key and for a multi-key get that holds one of its keys.
    let opened = net.opened;
    let out = net.run(&[set(&victim, b"v")]);
    assert_eq!(
        out[0],
        Some(Err(Fault::Transport {
            server: NodeId(1),
            error: "refused",
            unsent: true
        }))
    );
    let refs: Vec<&[u8]> = all.iter().map(|k| &k[..]).collect();
    let out = net.run(&[Request::Get {
        command: GetCommand::Get,
        keys: &refs,
    }]);
    assert!(matches!(
        &out[0],
        Some(Err(Fault::Transport {
            server: NodeId(1),
            ..
        }))
    ));
    assert_eq!(net.opened, opened, "no connection attempt while it rests");
    assert_eq!(
        net.cluster.route_of(&victim, net.now),
        crate::router::Route::Wait(NodeId(1))
    );
    // Its retry timeout passed, it answers again.
    net.down[1] = false;
    net.advance(Duration::from_millis(1_001));
    assert_eq!(net.run(&[set(&victim, b"v")])[0], Some(Ok(Reply::Stored)));
}

#[test]
fn submit_on_pins_a_batch_to_one_connection() {
    let config = ClusterConfig {
        spread: true,
        ..ClusterConfig::default()
            .max_connections(2)
            .depth(usize::MAX)
    };
    let mut net = Net::new(2, config, 25);
    let first = net.submit(&[GET]);
    let busy = net.cluster.conns_of(first)[0];
    // Another connection of the same server, opened before any request.
    let server = net.cluster.server_of(busy).unwrap();
    let other = net.cluster.open_connection(net.now, server).unwrap();
    assert_eq!(
        net.cluster.open_connection(net.now, server),
        None,
        "at its limit"
    );
    let t = net.cluster.submit_on(net.now, busy, &[GET]).unwrap();
    assert_eq!(net.cluster.conns_of(t), &[busy]);
    net.drive();
    assert!(net.done.contains_key(&first) && net.done.contains_key(&t));
    // A closed connection refuses, sending nothing.
    net.cluster.close_idle_connections();
    net.drive();
    assert!(!net.cluster.is_connected(other));
    assert_eq!(
        net.cluster.submit_on(net.now, other, &[GET]),
        Err(Refusal::Invalid(crate::Error::UnexpectedClose))
    );
}

#[test]
fn close_all_closes_free_connections_now_and_busy_ones_when_done() {
    let config = ClusterConfig {
        spread: true,
        ..ClusterConfig::default().max_connections(2).depth(1)
    };
    let mut net = Net::new(1, config, 26);
    let first = net.submit(&[GET]);
    net.drive();
    assert!(net.done.contains_key(&first));
    let busy_ticket = net.submit(&[GET]);
    let busy = net.cluster.conns_of(busy_ticket)[0];
    let server = net.cluster.server_of(busy).unwrap();
    let free = net.cluster.open_connection(net.now, server).unwrap();
    assert_eq!(net.cluster.connection_count(server), 2);
    net.cluster.close_all_connections();
    // The free one is gone at once; the busy one finishes its request.
    assert_eq!(net.cluster.connection_count(server), 1);
    assert_eq!(net.cluster.server_of(free), None);
    assert!(net.cluster.server_of(busy).is_some());
    net.drive();
    assert!(net.done.contains_key(&busy_ticket));
    assert!(matches!(
        net.done[&busy_ticket][0],
        Some(Ok(Reply::Values(_)))
    ));
    // Given back, it closed instead of staying free.
    assert_eq!(net.cluster.connection_count(server), 0);
    assert_eq!(net.cluster.server_of(busy), None);
    // Later requests open a new connection.
    let again = net.submit(&[GET]);
    net.drive();
    assert!(net.done.contains_key(&again));
    assert_eq!(net.cluster.connection_count(server), 1);
}

#[test]
fn describe_names_a_tickets_first_command_and_its_keys() {
    let mut net = Net::new(2, hashed(HealthConfig::default()), 5);
    let names = keys(6);
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let get_many = Request::Get {
        command: GetCommand::Get,
        keys: &refs,
    };
    let t = net.submit(&[get_many, GET]);
    assert_eq!(net.cluster.describe(t), Some(("get", 7)));
    net.drive();
    let t2 = net.submit(&[set(b"a", b"1"), GET]);
    assert_eq!(net.cluster.describe(t2), Some(("set", 2)));
    net.drive();
    let t3 = net.submit(&[Request::Version]);
    assert_eq!(net.cluster.describe(t3), Some(("version", 0)));
}
