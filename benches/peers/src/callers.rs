//! The many-caller workload: N concurrent callers (tasks, or threads for
//! the blocking peers), each doing single-key gets of 100-byte values one
//! at a time against one memcached, for a fixed time. Every get's latency
//! goes into a histogram; the client's CPU time is `getrusage(RUSAGE_SELF)`
//! over the timed window (connections are opened and warmed before it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::workload::{Keys, Rng, KEYS};

/// The caller counts of the workload.
pub const CALLERS: [usize; 5] = [1, 16, 64, 256, 1024];

/// Most threads of the blocking peers (the bare socket, `PooledClient`).
pub const MAX_THREADS: usize = 64;

/// Worker threads of the tokio runtime every async peer runs on.
pub const TOKIO_WORKERS: usize = 2;

/// What one measurement gave.
pub struct Measured {
    pub gets: u64,
    pub elapsed: Duration,
    pub hist: Histogram<u64>,
    /// Client CPU seconds (user + system) over the timed window.
    pub cpu: f64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// User + system CPU seconds of this process so far.
pub fn rusage_self() -> f64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

fn seed(caller: usize) -> Rng {
    Rng(0xC0FF_EE00_D15E_A5E5 ^ ((caller as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

// ---------------------------------------------------------------------------
// Blocking callers: one thread each (at most MAX_THREADS).
// ---------------------------------------------------------------------------

/// Runs `threads` threads, each calling `get` on its own state from
/// `make(thread)` until `duration` is over.
fn threads<S: Send>(
    threads: usize,
    duration: Duration,
    keys: &Keys,
    make: impl Fn(usize) -> S,
    get: impl Fn(&mut S, &[u8]) + Sync,
) -> Measured {
    let mut states: Vec<S> = (0..threads).map(&make).collect();
    // Warm up: one get per caller, outside the window.
    for (t, s) in states.iter_mut().enumerate() {
        get(s, keys.get(t % KEYS));
    }
    let cpu0 = rusage_self();
    let start = Instant::now();
    let deadline = start + duration;
    let get = &get;
    let parts: Vec<(u64, Histogram<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = states
            .into_iter()
            .enumerate()
            .map(|(t, mut s)| {
                scope.spawn(move || {
                    let mut rng = seed(t);
                    let mut hist = histogram();
                    let mut n = 0u64;
                    loop {
                        let t0 = Instant::now();
                        if t0 >= deadline {
                            break;
                        }
                        get(&mut s, keys.random(&mut rng));
                        hist.saturating_record(t0.elapsed().as_micros().max(1) as u64);
                        n += 1;
                    }
                    (n, hist)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed();
    let cpu = rusage_self() - cpu0;
    merge(parts, elapsed, cpu)
}

fn merge(parts: Vec<(u64, Histogram<u64>)>, elapsed: Duration, cpu: f64) -> Measured {
    let mut hist = histogram();
    let mut gets = 0;
    for (n, h) in parts {
        gets += n;
        hist.add(h).unwrap();
    }
    Measured {
        gets,
        elapsed,
        hist,
        cpu,
    }
}

/// The bare socket: `min(callers, 64)` threads, one connection each,
/// writing `get KEY\r\n` and reading until `END\r\n`.
pub fn bare(addr: &str, callers: usize, keys: &Keys, duration: Duration) -> Measured {
    struct Conn {
        s: TcpStream,
        out: Vec<u8>,
        buf: Vec<u8>,
    }
    threads(
        callers.min(MAX_THREADS),
        duration,
        keys,
        |_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_nodelay(true).unwrap();
            Conn {
                s,
                out: Vec::with_capacity(64),
                buf: vec![0; 4096],
            }
        },
        |c, key| {
            c.out.clear();
            c.out.extend_from_slice(b"get ");
            c.out.extend_from_slice(key);
            c.out.extend_from_slice(b"\r\n");
            c.s.write_all(&c.out).unwrap();
            let mut have = 0;
            loop {
                let n = c.s.read(&mut c.buf[have..]).unwrap();
                assert!(n > 0, "server closed");
                have += n;
                if c.buf[..have].ends_with(b"END\r\n") {
                    return;
                }
            }
        },
    )
}

/// memcrab's blocking `PooledClient`: `min(callers, 64)` threads sharing
/// one pool of as many connections.
pub fn pooled(addr: &str, callers: usize, keys: &Keys, duration: Duration) -> Measured {
    use memcrab::Memcache as _;
    let n = callers.min(MAX_THREADS);
    let pool = Arc::new(
        memcrab::PooledClient::new(
            addr,
            memcrab::PoolOptions {
                max_pool_size: n,
                ..memcrab::PoolOptions::default()
            },
        )
        .unwrap(),
    );
    threads(
        n,
        duration,
        keys,
        |_| pool.clone(),
        |p, key| {
            p.get::<memcrab::Value>(key).unwrap();
        },
    )
}

// ---------------------------------------------------------------------------
// Async callers: `callers` tasks on a multi-thread runtime of TOKIO_WORKERS.
// ---------------------------------------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(TOKIO_WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

/// Spawns `callers` tasks, each calling `get(client, key)` in a loop until
/// `duration` is over, after one warm-up get each.
async fn tasks<C, F, Fut>(callers: usize, duration: Duration, client: C, get: F) -> Measured
where
    C: Clone + Send + Sync + 'static,
    F: Fn(C, &'static [u8]) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let keys = static_keys();
    let warm: Vec<_> = (0..callers)
        .map(|t| tokio::spawn(get(client.clone(), keys.get(t % KEYS))))
        .collect();
    for w in warm {
        w.await.unwrap();
    }
    let cpu0 = rusage_self();
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..callers)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut rng = seed(t);
                let mut hist = histogram();
                let mut n = 0u64;
                loop {
                    let t0 = Instant::now();
                    if t0 >= deadline {
                        break;
                    }
                    get(client.clone(), keys.random(&mut rng)).await;
                    hist.saturating_record(t0.elapsed().as_micros().max(1) as u64);
                    n += 1;
                }
                (n, hist)
            })
        })
        .collect();
    let mut parts = Vec::with_capacity(callers);
    for h in handles {
        parts.push(h.await.unwrap());
    }
    let elapsed = start.elapsed();
    let cpu = rusage_self() - cpu0;
    merge(parts, elapsed, cpu)
}

/// The key space, kept for the whole program so spawned tasks may hold it.
fn static_keys() -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(Keys::new)
}

/// A small pool of `async-memcached` clients (it has none of its own):
/// a caller takes a free client (waiting on a semaphore of `size`
/// permits), runs one get, and puts it back.
struct AsyncPool {
    free: Mutex<Vec<async_memcached::Client>>,
    permits: tokio::sync::Semaphore,
}

/// `async-memcached` 0.9 behind a pool of `size` connections.
pub fn async_memcached(addr: &str, callers: usize, size: usize, duration: Duration) -> Measured {
    use async_memcached::AsciiProtocol as _;
    let rt = runtime();
    rt.block_on(async {
        let mut free = Vec::with_capacity(size);
        for _ in 0..size {
            free.push(
                async_memcached::Client::new(format!("tcp://{addr}"))
                    .await
                    .unwrap(),
            );
        }
        let pool = Arc::new(AsyncPool {
            free: Mutex::new(free),
            permits: tokio::sync::Semaphore::new(size),
        });
        tasks(
            callers,
            duration,
            pool,
            |pool: Arc<AsyncPool>, key| async move {
                let _permit = pool.permits.acquire().await.unwrap();
                let mut client = pool.free.lock().unwrap().pop().unwrap();
                client.get(key).await.unwrap();
                pool.free.lock().unwrap().push(client);
            },
        )
        .await
    })
}

/// memcrab's tokio client, one connection, merging concurrent single-key
/// gets or not.
#[cfg(feature = "memcrab-tokio")]
pub fn memcrab_tokio(addr: &str, callers: usize, merge: bool, duration: Duration) -> Measured {
    use memcrab::AsyncMemcache as _;
    let rt = runtime();
    rt.block_on(async {
        let client = memcrab::tokio::Client::builder()
            .server(addr)
            .merge_gets(merge)
            .build()
            .unwrap();
        tasks(callers, duration, client, |client, key| async move {
            client.get::<memcrab::Value>(key).await.unwrap();
        })
        .await
    })
}
