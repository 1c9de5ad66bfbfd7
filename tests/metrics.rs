//! Feature `metrics`: a recorder sees requests, hits, misses, errors and
//! latencies per server.
#![cfg(feature = "metrics")]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memcrab::core::meta::MetaGet;
use memcrab::{Client, Memcache, MetaCommands, Protocol};
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use support::MemcachedServer;

/// Counters and histogram sample counts by name and sorted labels.
#[derive(Default)]
struct Counting {
    values: Mutex<BTreeMap<String, Arc<Cell>>>,
}

#[derive(Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counting {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        Arc::clone(self.values.lock().unwrap().entry(name).or_default())
    }

    fn get(&self, name: &str) -> u64 {
        self.values
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.0.load(Ordering::Relaxed))
    }
}

impl Recorder for Counting {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

#[test]
fn a_recorder_counts_hits_misses_and_errors_per_server() {
    let server = MemcachedServer::start();
    let addr = server.addr_string();
    let recorder = Counting::default();
    metrics::with_local_recorder(&recorder, || {
        let client = Client::builder(&*addr)
            .default_noreply(false)
            .build()
            .unwrap();
        assert!(client.set("a", "1").unwrap());
        assert!(client.set("b", "2").unwrap());
        assert!(client.get::<memcrab::Value>("a").unwrap().is_some());
        assert!(client.get::<memcrab::Value>("nope").unwrap().is_none());
        // One batch: 2 hits, 2 misses.
        assert_eq!(
            client
                .get_many::<memcrab::Value, _>(&["a", "b", "x", "y"])
                .unwrap()
                .len(),
            2
        );
        // An error: incr of a non-number.
        assert!(client.incr("a", 1).is_ok());
        client.set("t", "text").unwrap();
        assert!(client.incr("t", 1).is_err());
        // Over the meta protocol the commands keep their names (and
        // counts).
        let meta = Client::builder(&*addr)
            .protocol(Protocol::Meta)
            .build()
            .unwrap();
        assert!(meta.get::<memcrab::Value>("a").unwrap().is_some());
        assert!(meta.get::<memcrab::Value>("nope").unwrap().is_none());
        // Meta commands proper: mg's hits and misses.
        let hit = client.meta_get(MetaGet::new(b"a").value()).unwrap();
        assert!(hit.value.is_some());
        assert!(client.meta_get(MetaGet::new(b"nope")).unwrap().is_miss());
    });
    let s = format!("server={addr}");
    // get: a, then a and b of four, then a over meta; mg: a.
    assert_eq!(recorder.get(&format!("memcrab_hits_total{{{s}}}")), 4 + 1);
    assert_eq!(recorder.get(&format!("memcrab_misses_total{{{s}}}")), 4 + 1);
    assert_eq!(
        recorder.get(&format!("memcrab_requests_total{{command=mg,{s}}}")),
        2
    );
    assert_eq!(
        recorder.get(&format!("memcrab_requests_total{{command=set,{s}}}")),
        3
    );
    let get = |name: &str| recorder.get(&format!("{name}{{command=get,{s}}}"));
    assert_eq!(get("memcrab_requests_total"), 5);
    assert_eq!(get("memcrab_request_duration_seconds"), 5);
    assert_eq!(
        recorder.get(&format!("memcrab_requests_total{{command=incr,{s}}}")),
        2
    );
    let errors: u64 = recorder
        .values
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("memcrab_errors_total{command=incr,"))
        .map(|(_, c)| c.0.load(Ordering::Relaxed))
        .sum();
    assert_eq!(errors, 1, "{:?}", recorder.values.lock().unwrap().keys());
}
