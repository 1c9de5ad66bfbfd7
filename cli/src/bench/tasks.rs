//! `--transport tokio`: the workload of the mio engine, run by `--tasks`
//! concurrent tasks sharing one `memcrab::tokio::Client`, each with one
//! request in flight (the client pipelines them and, with `--merge-gets`,
//! merges their single-key gets).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use memcrab::{AsyncMemcache as _, StoreOptions, Value};

use super::verify::Verifier;
use super::{message, progress_end, progress_line, value_of, Config, Keys, Report, Rng, Stop};

/// Latencies a task keeps before adding them to the shared histogram, at
/// most this many or for this long.
const FLUSH_EVERY: u64 = 256;
const FLUSH_AFTER: Duration = Duration::from_millis(200);

/// What the tasks share: the counts the progress line reads.
struct Shared {
    sent: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
    hist: Mutex<Histogram<u64>>,
}

/// One task's own counts.
struct Counts {
    requests: u64,
    keys: u64,
    errors: u64,
    misses: u64,
    first_error: Option<String>,
    verify: Option<Verifier>,
}

fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())
}

pub(super) fn run(
    c: &Config,
    servers: String,
    list: &[memcrab::ServerAddr],
) -> Result<Report, String> {
    let fill = super::engine::fill(c, list)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    let mut builder = memcrab::tokio::Client::builder()
        .connect_timeout(c.timeout)
        .timeout(c.timeout)
        .protocol(c.protocol)
        .distribution(c.distribution)
        .max_item_size(
            c.value_size
                .max(memcrab::core::Limits::default().max_item_size),
        )
        .connections(c.connections)
        .merge_gets(c.merge_gets > 1);
    for s in list {
        builder = builder.server(s.clone());
    }
    // Built inside the runtime: the client spawns its connections' tasks.
    let _guard = runtime.enter();
    let client = builder.build().map_err(|e| message(&e))?;
    let c = Arc::new(c.clone());
    let shared = Arc::new(Shared {
        sent: AtomicU64::new(0),
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        hist: Mutex::new(histogram()?),
    });
    let begin = Instant::now();
    let parts = runtime.block_on(async {
        let handles: Vec<_> = (0..c.tasks)
            .map(|t| tokio::spawn(task(t, client.clone(), c.clone(), shared.clone(), begin)))
            .collect();
        let progress = tokio::spawn(progress(shared.clone(), begin));
        let mut parts = Vec::with_capacity(handles.len());
        for h in handles {
            parts.push(h.await.map_err(|e| format!("a bench task failed: {e}"))?);
        }
        progress.abort();
        Ok::<_, String>(parts)
    })?;
    let elapsed = match c.stop {
        Stop::Duration(d) => d.min(begin.elapsed()),
        Stop::Requests(_) => begin.elapsed(),
    };
    progress_end();
    let hist = shared
        .hist
        .lock()
        .map_err(|_| "a bench task failed".to_string())?
        .clone();
    let mut r = Report {
        servers,
        requests: 0,
        keys: 0,
        errors: 0,
        misses: 0,
        elapsed,
        fill,
        hist,
        first_error: None,
        verify: c.verify.then(|| Verifier::new(c.value_size)),
    };
    for part in parts {
        let part = part?;
        r.requests += part.requests;
        r.keys += part.keys;
        r.errors += part.errors;
        r.misses += part.misses;
        if r.first_error.is_none() {
            r.first_error = part.first_error;
        }
        if let (Some(total), Some(v)) = (r.verify.as_mut(), part.verify) {
            total.absorb(v);
        }
    }
    Ok(r)
}

/// Prints a progress line each second.
async fn progress(shared: Arc<Shared>, begin: Instant) {
    let mut last = (begin, 0u64);
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::from_std(begin + Duration::from_secs(1)),
        Duration::from_secs(1),
    );
    loop {
        tick.tick().await;
        let now = Instant::now();
        let done = shared.done.load(Ordering::Relaxed);
        let p99 = shared.hist.lock().map_or(0, |h| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(0.99)
            }
        });
        progress_line(&format!(
            "[{:>4.0}s] {:>10.0} ops/s  p99 {} us  errors {}",
            now.duration_since(begin).as_secs_f64(),
            (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64(),
            p99,
            shared.errors.load(Ordering::Relaxed)
        ));
        last = (now, done);
    }
}

/// One task: requests one at a time until the run stops.
async fn task(
    t: usize,
    client: memcrab::tokio::Client,
    c: Arc<Config>,
    shared: Arc<Shared>,
    begin: Instant,
) -> Result<Counts, String> {
    let keys = Keys::new(&c.key_prefix, c.keys);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut hist = histogram()?;
    let mut n = Counts {
        requests: 0,
        keys: 0,
        errors: 0,
        misses: 0,
        first_error: None,
        verify: c.verify.then(|| Verifier::new(c.value_size)),
    };
    let total = u64::from(c.get + c.set);
    let plain = {
        let mut v = Vec::new();
        value_of(&c, b"", &mut v);
        Value::from(v)
    };
    let mut value = Vec::new();
    let mut key = Vec::with_capacity(keys.width());
    let mut many: Vec<Vec<u8>> = Vec::with_capacity(c.multi_get);
    let mut flushed = begin;
    loop {
        let stopping = match c.stop {
            Stop::Duration(d) => Instant::now() >= begin + d,
            Stop::Requests(max) => shared.sent.fetch_add(1, Ordering::Relaxed) >= max,
        };
        if stopping {
            break;
        }
        let is_get = rng.next() % total < u64::from(c.get);
        let n_keys = if is_get { c.multi_get } else { 1 };
        key.clear();
        many.clear();
        if n_keys == 1 {
            keys.push(rng.below(c.keys), &mut key);
        } else {
            many.extend((0..n_keys).map(|_| keys.key(rng.below(c.keys))));
        }
        let at = Instant::now();
        let outcome: Result<u64, memcrab::Error> = if !is_get {
            let stored = if c.verify {
                value_of(&c, &key, &mut value);
                Value::from(value.clone())
            } else {
                plain.clone()
            };
            client
                .set_with(&key, stored, StoreOptions::new().noreply(false))
                .await
                .map(|_| 0)
        } else if n_keys == 1 {
            client.get::<Value>(&key).await.map(|found| match found {
                Some(v) => {
                    if let Some(verify) = n.verify.as_mut() {
                        verify.single(&key, v.as_bytes().unwrap_or_default());
                    }
                    0
                }
                None => 1,
            })
        } else {
            client.get_many::<Value, _>(&many).await.map(|found| {
                if let Some(verify) = n.verify.as_mut() {
                    for (k, v) in &found {
                        verify.item(&many, k, v.as_bytes().unwrap_or_default());
                    }
                }
                let mut distinct = many.clone();
                distinct.sort_unstable();
                distinct.dedup();
                (distinct.len() - found.len().min(distinct.len())) as u64
            })
        };
        let done_at = Instant::now();
        let counted = match c.stop {
            Stop::Duration(d) => done_at <= begin + d,
            Stop::Requests(_) => true,
        };
        if !counted {
            continue;
        }
        n.requests += 1;
        n.keys += n_keys as u64;
        hist.saturating_record((done_at.duration_since(at).as_micros() as u64).max(1));
        match outcome {
            Ok(misses) => n.misses += misses,
            Err(e) => {
                n.errors += 1;
                shared.errors.fetch_add(1, Ordering::Relaxed);
                n.first_error.get_or_insert_with(|| message(&e));
            }
        }
        shared.done.fetch_add(1, Ordering::Relaxed);
        if n.requests % FLUSH_EVERY == 0 || done_at >= flushed + FLUSH_AFTER {
            flush(&shared, &mut hist);
            flushed = done_at;
        }
    }
    flush(&shared, &mut hist);
    Ok(n)
}

/// Adds a task's latencies to the shared histogram and clears them.
fn flush(shared: &Shared, hist: &mut Histogram<u64>) {
    if let Ok(mut all) = shared.hist.lock() {
        let _ = all.add(&*hist);
    }
    hist.reset();
}
