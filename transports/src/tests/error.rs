//! Tests of `error.rs`: kinds, messages and source chains.

use super::*;
use std::error::Error as _;

/// Each message of `e`'s chain, outermost first, as `anyhow` walks it.
fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out
}

/// No message of the chain repeats the one below it, and the report
/// (`anyhow`'s `{:#}`) holds each exactly once.
fn assert_each_once(e: &Error, wanted: &[&str]) {
    let messages = chain(e);
    assert_eq!(messages, wanted, "{e:?}");
    for pair in messages.windows(2) {
        assert!(!pair[0].contains(&pair[1]), "{pair:?} says its cause twice");
    }
    let report = e.report().to_string();
    assert_eq!(report, wanted.join(": "));
    for m in wanted {
        assert_eq!(report.matches(m).count(), 1, "{m:?} in {report:?}");
    }
}

#[test]
fn remote_names_the_server_and_its_source_the_servers_words() {
    let e = Error::Remote {
        server: "127.0.0.1:11211".into(),
        error: memcrab_core::Error::Server("object too large for cache".into()),
    };
    assert_each_once(
        &e,
        &[
            "request to server 127.0.0.1:11211 failed",
            "server error: object too large for cache",
        ],
    );
    assert!(e.source().unwrap().is::<memcrab_core::Error>());
}

#[test]
fn io_names_the_server_and_its_source_the_os_error() {
    let e = Error::io(
        &"[::1]:11211",
        io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused"),
    );
    assert_each_once(&e, &["I/O error with [::1]:11211", "connection refused"]);
}

#[test]
fn a_timeout_is_remote_and_says_so_once() {
    let e = Error::io(&"h:1", io::Error::from(io::ErrorKind::TimedOut));
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_each_once(
        &e,
        &[
            "request to server h:1 failed",
            "timed out waiting for the server's reply",
        ],
    );
}

#[test]
fn protocol_is_transparent_and_names_the_key() {
    let e = Error::from(memcrab_core::IllegalInput::KeyWhitespace {
        key: "\"a b\"".into(),
    });
    assert_each_once(&e, &["illegal input: key contains whitespace: \"a b\""]);
}

#[test]
fn errors_without_a_cause_say_everything_once() {
    let cases = [
        (Error::NoServers, "all servers seem to be down right now"),
        (
            Error::Config("key_prefix: key is empty".into()),
            "invalid configuration: key_prefix: key is empty",
        ),
        (
            Error::Tls {
                server: "h:1".into(),
                message: "bad certificate".into(),
            },
            "TLS error with h:1: bad certificate",
        ),
        (
            Error::PoolExhausted {
                max_size: 2,
                waited_ms: 5,
            },
            "connection pool exhausted: all 2 connections busy after waiting 5 ms",
        ),
    ];
    for (e, message) in cases {
        assert_each_once(&e, &[message]);
    }
}

#[test]
fn as_io_error_the_chain_is_kept_once() {
    let e: io::Error = Error::Remote {
        server: "h:1".into(),
        error: memcrab_core::Error::UnexpectedClose,
    }
    .into();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(
        chain(&e),
        [
            "request to server h:1 failed",
            "the server closed the connection unexpectedly"
        ]
    );
}
