//! Server addresses: any string parses without panicking, and a parsed
//! address displays as a string that parses back to the same address (and
//! displays the same again). The same for server lists and `(host, port)`
//! tuples. The parser is the core's (`memcrab_core::address`), which every
//! transport and the wasm `Router` share.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcrab_core::address::{parse_server_list, ServerAddr, ToServerAddr};
use memcrab_core::router::Distribution;

fn round_trip(addr: &ServerAddr) {
    let shown = addr.to_string();
    let again: ServerAddr = shown
        .parse()
        .unwrap_or_else(|e| panic!("{addr:?} displays as {shown:?}, which does not parse: {e}"));
    assert_eq!(&again, addr, "{addr:?} displays as {shown:?}");
    assert_eq!(again.to_string(), shown);
    // The getters never panic (nothing here resolves names).
    let _ = (addr.host(), addr.port(), addr.unix_socket(), addr.unix_path());
    let _ = addr.is_loopback();
    // Node names are built from the parts, never re-parsed.
    let pymemcache = addr.pymemcache_name();
    assert_eq!(addr.node_name(Distribution::Rendezvous), pymemcache);
    let twemproxy = addr.node_name(Distribution::KetamaMd5);
    assert_eq!(twemproxy, addr.twemproxy_name());
    match addr {
        ServerAddr::Tcp { host, port } => {
            assert_eq!(pymemcache, format!("{host}:{port}"));
            assert!(twemproxy == *host || twemproxy == pymemcache);
        }
        ServerAddr::Unix(path) => assert!(pymemcache == *path && twemproxy == *path),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match s.parse::<ServerAddr>() {
        Ok(addr) => round_trip(&addr),
        Err(e) => {
            let _ = (e.to_string(), e.kind(), e.input());
        }
    }
    if let Ok(list) = parse_server_list(s) {
        assert!(!list.is_empty());
        list.iter().for_each(round_trip);
    }
    // The tuple form: the text before the last ':' as host, a port from the
    // last two bytes.
    let port = data
        .len()
        .checked_sub(2)
        .map_or(11211, |i| u16::from_le_bytes([data[i], data[i + 1]]));
    let host = s.rsplit_once(':').map_or(s, |(h, _)| h);
    if let Ok(addr) = (host, port).to_server_addr() {
        round_trip(&addr);
    }
    // The same text as a unix socket path.
    if let Ok(addr) = std::path::Path::new(s).to_server_addr() {
        assert_eq!(addr.unix_socket(), Some(s));
        round_trip(&addr);
    }
});
