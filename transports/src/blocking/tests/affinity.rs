//! Tests of `affinity.rs`.

use super::*;
use memcrab_core::cluster::{Cluster, ClusterConfig};
use memcrab_core::router::NodeId;
use memcrab_core::Millis;

/// A connection id (the cluster opens one without I/O).
fn conn() -> ConnId {
    let mut cluster: Cluster<crate::Error> = Cluster::new(ClusterConfig::default(), ["s"]);
    cluster
        .open_connection(Millis(0), NodeId(0))
        .expect("a connection")
}

#[test]
fn remembers_per_driver_and_forgets() {
    let (a, b) = (Affinity::new(), Affinity::new());
    assert_eq!(a.pending(), None);
    let conn = conn();
    a.set(Some(conn));
    assert_eq!(a.pending(), Some(conn));
    assert_eq!(b.pending(), None, "another driver's entry");
    let other = std::thread::spawn(move || a.pending().is_none());
    assert!(other.join().unwrap_or(false), "another thread's entry");
}

#[test]
fn forgets_on_none_and_bounds_its_memory() {
    let drivers: Vec<Affinity> = (0..REMEMBERED + 4).map(|_| Affinity::new()).collect();
    for d in &drivers {
        d.set(Some(conn()));
    }
    assert_eq!(drivers[0].pending(), None, "the oldest was forgotten");
    let last = &drivers[REMEMBERED + 3];
    assert!(last.pending().is_some());
    last.set(None);
    assert_eq!(last.pending(), None);
    PENDING.with(|p| assert!(p.borrow().len() <= REMEMBERED));
}
