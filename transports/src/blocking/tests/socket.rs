//! Tests of `socket.rs`: the TCP tuning both transports apply.

use super::*;

fn socket() -> Socket {
    Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap()
}

#[test]
fn tune_sets_no_delay_and_keepalive() {
    let s = socket();
    let opts = ClientOptions {
        no_delay: true,
        keepalive: Some(Keepalive {
            idle: Duration::from_secs(7),
            interval: Duration::from_secs(3),
            count: 4,
        }),
        ..ClientOptions::default()
    };
    tune(SockRef::from(&s), &opts).unwrap();
    assert!(s.nodelay().unwrap());
    assert!(s.keepalive().unwrap());
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    {
        assert_eq!(s.keepalive_time().unwrap(), Duration::from_secs(7));
        assert_eq!(s.keepalive_interval().unwrap(), Duration::from_secs(3));
        assert_eq!(s.keepalive_retries().unwrap(), 4);
    }
}

#[test]
fn tune_leaves_a_socket_alone_when_asked_nothing() {
    let s = socket();
    let opts = ClientOptions {
        no_delay: false,
        keepalive: None,
        ..ClientOptions::default()
    };
    tune(SockRef::from(&s), &opts).unwrap();
    assert!(!s.nodelay().unwrap());
    assert!(!s.keepalive().unwrap());
}
