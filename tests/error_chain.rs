//! Errors as `anyhow` (or `eyre`, or any report) prints them: each layer's
//! `Display`, then each `source()` in turn. Against real memcached servers,
//! every message of the chain appears exactly once, and the chain names the
//! server (and the key, where there is one).

mod support;

use std::error::Error as _;
use std::time::Duration;

use memcrab::{Client, Error, ErrorKind, Memcache};
use support::MemcachedServer;

/// The messages of `e`'s chain, outermost first, as `anyhow` walks it.
fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out
}

/// What `anyhow` prints for `{:#}`: the chain joined by `": "`.
fn report(e: &(dyn std::error::Error + 'static)) -> String {
    chain(e).join(": ")
}

/// No message of the chain repeats its cause, every message is in the
/// report exactly once, and the report has each of `words`.
fn assert_once(e: &Error, words: &[&str]) -> Vec<String> {
    let messages = chain(e);
    for pair in messages.windows(2) {
        assert!(
            !pair[0].contains(pair[1].as_str()),
            "{:?} repeats its cause {:?}",
            pair[0],
            pair[1]
        );
    }
    let text = report(e);
    for m in &messages {
        assert_eq!(text.matches(m.as_str()).count(), 1, "{m:?} in {text:?}");
    }
    for w in words {
        assert_eq!(text.matches(w).count(), 1, "{text:?} should say {w:?} once");
    }
    assert_eq!(e.report().to_string(), text, "Error::report is the chain");
    messages
}

fn client(server: &MemcachedServer) -> Client {
    Client::builder(server.addr_string())
        .default_noreply(false)
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[test]
fn a_server_refusal_names_the_server_and_keeps_its_words_once() {
    let server = MemcachedServer::builder().item_size_limit("1k").start();
    let c = client(&server);
    let err = c.set("big", vec![b'x'; 2000]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err:?}");
    let addr = server.addr_string();
    let messages = assert_once(&err, &[&addr, "object too large for cache"]);
    assert_eq!(
        messages,
        [
            format!("request to server {addr} failed"),
            "server error: object too large for cache".to_owned(),
        ]
    );
    // The cause is the core's error, for a caller to downcast.
    let cause = err.source().unwrap();
    assert!(cause.is::<memcrab::core::Error>(), "{cause:?}");
}

#[test]
fn a_refused_connection_names_the_server_and_the_os_error_once() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let err = match Client::builder(addr.as_str())
        .connect_timeout(Duration::from_secs(2))
        .build()
    {
        Err(e) => e,
        Ok(c) => c.get::<memcrab::Value>("k").unwrap_err(),
    };
    assert_eq!(err.kind(), ErrorKind::Io, "{err:?}");
    let messages = assert_once(&err, &[&addr]);
    assert_eq!(messages[0], format!("I/O error with {addr}"));
    let os = messages.get(1).expect("the OS error is the source");
    assert!(os.to_lowercase().contains("refused"), "{os:?}");
}

#[test]
fn a_timeout_names_the_server_once() {
    let mut server = MemcachedServer::start();
    let c = Client::builder(server.addr_string())
        .default_noreply(false)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(c.set("k", "v").unwrap());
    server.freeze();
    let result = c.get::<memcrab::Value>("k");
    server.thaw();
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert_once(&err, &[&server.addr_string(), "timed out"]);
}

#[test]
fn a_bad_key_is_one_message_naming_the_key() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let err = c.get::<memcrab::Value>("a b").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err:?}");
    let messages = assert_once(&err, &["\"a b\""]);
    assert_eq!(
        messages,
        [r#"illegal input: key contains whitespace: "a b""#]
    );
}

#[test]
fn boxed_and_as_io_error_the_chain_is_the_same() {
    let server = MemcachedServer::builder().item_size_limit("1k").start();
    let c = client(&server);
    let err = c.set("big", vec![b'x'; 2000]).unwrap_err();
    let want = chain(&err);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err.clone());
    assert_eq!(chain(&*boxed), want);
    let io: std::io::Error = err.into();
    assert_eq!(chain(&io), want);
}
