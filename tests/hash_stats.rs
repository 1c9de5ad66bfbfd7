//! `stats` on a `HashClient`, against three real memcached servers:
//! `Memcache::stats` answers for the first server only (as documented),
//! `stats_per_server` for every server, each apart.

mod support;

use std::time::Duration;

use memcrab::{HashClient, Memcache};
use support::MemcachedServer;

fn pid(stats: &memcrab::Stats) -> u64 {
    stats.get("pid").and_then(|v| v.as_u64()).expect("a pid")
}

#[test]
fn stats_is_the_first_servers_and_stats_per_server_is_every_servers() {
    let servers = MemcachedServer::start_many(3);
    let client = HashClient::builder(servers.iter().map(MemcachedServer::addr_string))
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
        .build()
        .unwrap();
    let per_server = client.stats_per_server(&[]);
    let ports: Vec<u16> = per_server
        .iter()
        .map(|(addr, _)| addr.port().unwrap())
        .collect();
    let want: Vec<u16> = servers.iter().map(MemcachedServer::port).collect();
    assert_eq!(ports, want, "in server order");
    let pids: Vec<u64> = per_server
        .iter()
        .map(|(_, stats)| pid(stats.as_ref().unwrap()))
        .collect();
    assert_eq!(pids.len(), 3);
    assert!(
        pids[0] != pids[1] && pids[1] != pids[2] && pids[0] != pids[2],
        "{pids:?}"
    );
    // One server's stats, the first's: not a merge.
    for _ in 0..3 {
        assert_eq!(pid(&client.stats(&[]).unwrap()), pids[0]);
    }
    // A section, per server too.
    let settings = client.stats_per_server(&["settings"]);
    for (addr, stats) in settings {
        let stats = stats.unwrap();
        let port = stats.get("tcpport").and_then(|v| v.as_u64()).unwrap();
        assert_eq!(Some(port), addr.port().map(u64::from));
    }
}
