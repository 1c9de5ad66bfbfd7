//! Checks the test harness itself: real memcached servers start, answer,
//! die and come back.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::MemcachedServer;

fn assert_version(server: &MemcachedServer) {
    let reply = server.raw(b"version\r\n");
    assert!(
        reply.starts_with(b"VERSION "),
        "{}: {:?}",
        server.addr_string(),
        String::from_utf8_lossy(&reply)
    );
}

#[test]
fn memcached_is_installed() {
    assert!(
        support::memcached_available(),
        "memcached was not found; install it: apt-get install -y memcached"
    );
}

#[test]
fn tcp_server_answers() {
    let server = MemcachedServer::start();
    assert!(server.addr_string().starts_with("127.0.0.1:"));
    assert_eq!(server.addr_string(), format!("127.0.0.1:{}", server.port()));
    assert_version(&server);
}

#[test]
fn ipv6_server_answers() {
    if !support::ipv6_available() {
        let lo = Command::new("ip")
            .args(["-6", "addr", "show", "lo"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_else(|err| format!("(could not run `ip`: {err})"));
        panic!(
            "IPv6 loopback ::1 is not available on this machine, so the IPv6 tests cannot run.\n\
             `ip -6 addr show lo` says:\n{lo}\n\
             Enable it with: sysctl -w net.ipv6.conf.lo.disable_ipv6=0"
        );
    }
    let server = MemcachedServer::start_ipv6();
    assert_eq!(server.addr_string(), format!("[::1]:{}", server.port()));
    assert_version(&server);
}

#[test]
fn unix_server_answers() {
    let server = MemcachedServer::start_unix();
    let path = server.socket_path().to_path_buf();
    assert!(path.exists(), "{} should exist", path.display());
    assert_eq!(server.addr_string(), path.display().to_string());
    assert!(server.addr_string().starts_with('/'));
    assert_version(&server);
    drop(server);
    assert!(!path.exists(), "the temporary directory is removed on drop");
}

#[test]
fn kill_then_restart_tcp() {
    let mut server = MemcachedServer::start();
    let port = server.port();
    server.raw_set(b"k", b"v", 0);
    assert_eq!(server.raw_get(b"k"), Some(b"v".to_vec()));

    server.kill();
    assert!(!server.is_running());
    assert!(
        server.try_raw(b"version\r\n").is_err(),
        "a killed server must not answer"
    );

    server.restart();
    assert_eq!(server.port(), port, "restart keeps the port");
    assert!(server.is_running());
    assert_version(&server);
    assert_eq!(server.raw_get(b"k"), None, "a restarted server is empty");
}

#[test]
fn kill_then_restart_unix() {
    let mut server = MemcachedServer::start_unix();
    let path = server.socket_path().to_path_buf();
    server.kill();
    assert!(server.try_raw(b"version\r\n").is_err());
    server.restart();
    assert_eq!(server.socket_path(), path);
    assert_version(&server);
}

#[test]
fn restart_a_running_server() {
    let mut server = MemcachedServer::start();
    let before = server.pid();
    server.restart();
    assert_ne!(server.pid(), before);
    assert_version(&server);
}

#[test]
fn stop_is_graceful_and_idempotent() {
    let mut server = MemcachedServer::start();
    server.stop();
    assert!(!server.is_running());
    server.stop();
    server.kill();
    assert!(server.try_raw(b"version\r\n").is_err());
}

#[test]
fn several_servers_at_once() {
    let servers = MemcachedServer::start_many(3);
    let mut ports: Vec<u16> = servers.iter().map(MemcachedServer::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    for (i, server) in servers.iter().enumerate() {
        server.raw_set(b"who", format!("{i}").as_bytes(), 0);
    }
    for (i, server) in servers.iter().enumerate() {
        assert_eq!(server.raw_get(b"who"), Some(format!("{i}").into_bytes()));
    }
}

#[test]
fn raw_helpers() {
    let server = MemcachedServer::start();
    assert_eq!(server.raw_get(b"missing"), None);
    // A value containing the reply terminator is still framed correctly.
    server.raw_set(b"tricky", b"a\r\nEND\r\n", 42);
    let item = server.raw_item(b"tricky").unwrap();
    assert_eq!(item.value, b"a\r\nEND\r\n");
    assert_eq!(item.flags, 42);
    assert!(item.cas > 0);
    assert_eq!(server.raw_stat("curr_items").as_deref(), Some("1"));
    assert_eq!(
        server.raw_stat("pid").unwrap(),
        server.pid().unwrap().to_string()
    );
    let reply = server.raw_until(b"get tricky\r\n", b"END\r\n");
    assert!(reply.starts_with(b"VALUE tricky 42 8\r\n"));
    server.raw_flush_all();
    assert_eq!(server.raw_get(b"tricky"), None);
}

#[test]
fn udp_is_off_and_listen_is_loopback() {
    let server = MemcachedServer::start();
    let settings = server.raw_until(b"stats settings\r\n", b"END\r\n");
    let settings = String::from_utf8_lossy(&settings);
    assert!(settings.contains("STAT udpport 0\r\n"), "{settings}");
    assert!(settings.contains("STAT inter 127.0.0.1\r\n"), "{settings}");
}

#[test]
fn builder_item_size_limit() {
    let server = MemcachedServer::builder()
        .item_size_limit("1k")
        .threads(1)
        .memory_mb(8)
        .start();
    let mut cmd = b"set big 0 0 2000\r\n".to_vec();
    cmd.extend_from_slice(&[b'x'; 2000]);
    cmd.extend_from_slice(b"\r\n");
    let reply = server.raw(&cmd);
    assert!(
        reply.starts_with(b"SERVER_ERROR"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    server.raw_set(b"small", &[b'y'; 900], 0);
    assert_eq!(server.raw_stat("threads").as_deref(), Some("1"));
    let settings = server.raw_until(b"stats settings\r\n", b"END\r\n");
    assert!(String::from_utf8_lossy(&settings).contains("STAT item_size_max 1024\r\n"));
}

#[test]
fn builder_enable_shutdown() {
    let mut server = MemcachedServer::builder().enable_shutdown().start();
    let mut conn = server.raw_conn();
    conn.send(b"shutdown\r\n").unwrap();
    assert!(
        server.wait_for_exit(Duration::from_secs(5)),
        "memcached -A exits on shutdown"
    );
    assert!(server.try_raw(b"version\r\n").is_err());
    server.restart();
    assert_version(&server);
}

#[test]
fn shutdown_is_refused_without_enable_shutdown() {
    let server = MemcachedServer::start();
    let reply = server.raw(b"shutdown\r\n");
    assert!(
        reply.starts_with(b"ERROR"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
}

#[test]
fn frozen_server_times_out_then_thaws() {
    let mut server = MemcachedServer::start();
    server.freeze();
    let started = Instant::now();
    let result = server.try_raw_within(b"version\r\n", b"\r\n", Duration::from_millis(300));
    assert!(result.is_err(), "a frozen server must not answer");
    assert!(started.elapsed() < Duration::from_secs(3));
    server.thaw();
    assert_version(&server);
}

#[test]
fn drop_kills_the_process() {
    let server = MemcachedServer::start();
    let pid = server.pid().unwrap();
    drop(server);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .map(|c| !c.contains("memcached"))
                .unwrap_or(true),
        "memcached {pid} still runs after drop"
    );
}
