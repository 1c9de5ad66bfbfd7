//! `config get cluster` replies: any bytes parse or fail without panicking,
//! and a parsed configuration has only valid nodes (a port, a host or an IP)
//! whose addresses are never empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcrab_core::discovery::ClusterConfig;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = ClusterConfig::parse(data) {
        for node in &config.nodes {
            assert_ne!(node.port, 0);
            assert!(!node.host.is_empty() || !node.ip.is_empty());
            assert!(node.address(true).len() > 2 && node.address(false).len() > 2);
        }
    }
});
