//! Feature `tracing`: a subscriber sees one `memcrab.command` span per
//! command, with its command, server, key count, outcome and latency, and
//! events for connects, connect failures and a node's death.
#![cfg(feature = "tracing")]

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memcrab::{Client, HashClient, Memcache};
use support::MemcachedServer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A closed span's name and fields, or an event's message and fields.
type Fields = BTreeMap<String, String>;

#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<Vec<(String, Fields)>>>,
    events: Arc<Mutex<Vec<Fields>>>,
}

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Collect(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                values.record(&mut Collect(fields));
            }
        }
    }
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span.extensions_mut().remove::<Fields>().unwrap_or_default();
            self.spans
                .lock()
                .unwrap()
                .push((span.name().to_string(), fields));
        }
    }
}

/// Runs `f` with a recording subscriber on this thread.
fn recorded(f: impl FnOnce()) -> Recorder {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    tracing::subscriber::with_default(subscriber, f);
    recorder
}

fn commands(r: &Recorder) -> Vec<Fields> {
    r.spans
        .lock()
        .unwrap()
        .iter()
        .filter(|(name, _)| name == "memcrab.command")
        .map(|(_, f)| f.clone())
        .collect()
}

/// The recorded events whose message is `message`.
fn named<'a>(events: &'a [Fields], message: &str) -> Vec<&'a Fields> {
    events
        .iter()
        .filter(|e| field(e, "message") == message)
        .collect()
}

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map_or("", String::as_str)
}

#[test]
fn one_span_per_command_with_its_server() {
    let server = MemcachedServer::start();
    let addr = server.addr_string();
    let r = recorded(|| {
        let client = Client::builder(&*addr)
            .default_noreply(false)
            .build()
            .unwrap();
        assert!(client.set("k", "v").unwrap());
        assert!(client.get::<memcrab::Value>("k").unwrap().is_some());
        assert!(client.get::<memcrab::Value>("missing").unwrap().is_none());
        let _ = client
            .get_many::<memcrab::Value, _>(&["a", "b", "k"])
            .unwrap();
        assert!(client.delete("k").unwrap());
    });
    let spans = commands(&r);
    let names: Vec<&str> = spans.iter().map(|f| field(f, "command")).collect();
    assert_eq!(names, ["set", "get", "get", "get", "delete"], "{spans:?}");
    for f in &spans {
        assert_eq!(field(f, "server"), addr, "{f:?}");
        assert_eq!(field(f, "outcome"), "ok", "{f:?}");
        let us: u64 = field(f, "latency_us").parse().expect("a latency");
        assert!(us < 5_000_000, "{f:?}");
    }
    let keys: Vec<&str> = spans.iter().map(|f| field(f, "keys")).collect();
    assert_eq!(keys, ["1", "1", "1", "3", "1"]);
    let events = r.events.lock().unwrap();
    let connects: Vec<_> = named(&events, "connected");
    assert_eq!(connects.len(), 1, "{events:?}");
    assert_eq!(field(connects[0], "server"), addr);
}

#[test]
fn a_multi_server_span_names_every_server_and_a_dead_node_is_an_event() {
    let servers = MemcachedServer::start_many(2);
    // A port nobody listens on: connecting is refused.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut addrs: Vec<String> = servers.iter().map(MemcachedServer::addr_string).collect();
    let r = recorded(|| {
        let client = HashClient::builder(addrs.iter().map(String::as_str))
            .default_noreply(false)
            .build()
            .unwrap();
        let keys: Vec<String> = (0..32).map(|i| format!("k{i}")).collect();
        let _ = client.get_many::<memcrab::Value, _>(&keys).unwrap();
        let dead = HashClient::builder([closed.as_str()])
            .retry_attempts(0)
            .retry_timeout(Duration::from_millis(1))
            .dead_timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        for _ in 0..3 {
            let _ = dead.get::<memcrab::Value>("k");
        }
    });
    let spans = commands(&r);
    let first = &spans[0];
    assert_eq!(field(first, "command"), "get");
    assert_eq!(field(first, "keys"), "32");
    let mut seen: Vec<&str> = field(first, "server").split(',').collect();
    seen.sort_unstable();
    addrs.sort_unstable();
    assert_eq!(seen, addrs, "{first:?}");
    let events = r.events.lock().unwrap();
    let failed = named(&events, "connect failed").len();
    assert!(failed >= 1, "{events:?}");
    let dead: Vec<_> = named(&events, "node dead");
    assert_eq!(dead.len(), 1, "{events:?}");
    assert_eq!(field(dead[0], "server"), closed);
    assert!(spans[1..]
        .iter()
        .any(|f| field(f, "outcome") == "error" || field(f, "outcome") == "partial"));
}

/// Runs `f` to completion on a current-thread tokio runtime (this thread,
/// so the recording subscriber sees the client's tasks too).
#[cfg(feature = "tokio")]
fn on_tokio(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f);
}

#[cfg(feature = "tokio")]
#[test]
fn the_tokio_client_has_one_span_per_command_too() {
    let server = MemcachedServer::start();
    let addr = server.addr_string();
    let r = recorded(|| {
        on_tokio(async {
            use memcrab::AsyncMemcache;
            let client = memcrab::tokio::Client::builder()
                .server(&*addr)
                .default_noreply(false)
                .build()
                .unwrap();
            assert!(client.set("k", "v").await.unwrap());
            assert!(client.get::<memcrab::Value>("k").await.unwrap().is_some());
        });
    });
    let spans = commands(&r);
    let names: Vec<&str> = spans.iter().map(|f| field(f, "command")).collect();
    assert_eq!(names, ["set", "get"], "{spans:?}");
    for f in &spans {
        assert_eq!(field(f, "server"), addr, "{f:?}");
        assert_eq!(field(f, "outcome"), "ok", "{f:?}");
    }
    let events = r.events.lock().unwrap();
    let connects: Vec<_> = named(&events, "connected");
    assert_eq!(connects.len(), 1, "{events:?}");
    assert_eq!(field(connects[0], "server"), addr);
}

#[cfg(feature = "tokio")]
#[test]
fn the_tokio_client_reports_connect_failures_and_a_dead_node() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let r = recorded(|| {
        on_tokio(async {
            use memcrab::AsyncMemcache;
            let client = memcrab::tokio::Client::builder()
                .server(&*closed)
                .retry_attempts(0)
                .retry_timeout(Duration::from_millis(1))
                .dead_timeout(Duration::from_secs(60))
                .build()
                .unwrap();
            for _ in 0..3 {
                assert!(client.get::<memcrab::Value>("k").await.is_err());
            }
        });
    });
    let events = r.events.lock().unwrap();
    let failed: Vec<_> = named(&events, "connect failed");
    assert!(!failed.is_empty(), "{events:?}");
    assert_eq!(field(failed[0], "server"), closed);
    let dead: Vec<_> = named(&events, "node dead");
    assert_eq!(dead.len(), 1, "{events:?}");
    assert_eq!(field(dead[0], "server"), closed);
}
