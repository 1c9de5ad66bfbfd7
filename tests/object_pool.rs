//! `ObjectPool`, pymemcache's `pymemcache.pool.ObjectPool`: no server
//! needed, times on a `ManualClock`.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memcrab::{ManualClock, ObjectPool, PoolError};

/// A pool of numbered objects (1, 2, ...) whose removed objects are
/// recorded.
fn numbered(max_size: usize) -> (ObjectPool<usize, String>, Arc<Mutex<Vec<usize>>>) {
    let next = AtomicUsize::new(1);
    let removed = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&removed);
    let pool = ObjectPool::new(move || Ok(next.fetch_add(1, Ordering::SeqCst)))
        .with_max_size(max_size)
        .with_after_remove(move |n| seen.lock().unwrap().push(n));
    (pool, removed)
}

#[test]
fn send_and_sync_for_send_objects() {
    fn assert_send_sync<X: Send + Sync>() {}
    fn assert_send<X: Send>() {}
    // `Cell` is Send but not Sync: the pool is Sync all the same, and a
    // guard can move to another thread.
    assert_send_sync::<ObjectPool<Cell<u8>, std::io::Error>>();
    assert_send::<memcrab::Pooled<'static, Cell<u8>, memcrab::Error>>();
}

#[test]
fn objects_are_reused_oldest_first() {
    let (pool, removed) = numbered(0);
    let (a, b, c) = (
        pool.get().unwrap(),
        pool.get().unwrap(),
        pool.get().unwrap(),
    );
    assert_eq!((*a, *b, *c), (1, 2, 3));
    assert_eq!((pool.used(), pool.free()), (3, 0));
    drop(b);
    drop(c);
    drop(a);
    assert_eq!((pool.used(), pool.free()), (0, 3));
    // FIFO, as pymemcache's deque: the first given back comes out first.
    let order: Vec<usize> = (0..3)
        .map(|_| {
            let g = pool.get().unwrap();
            *g
        })
        .collect();
    assert_eq!(order, [2, 3, 1]);
    assert!(removed.lock().unwrap().is_empty());
}

#[test]
fn guard_gives_mutable_access_and_keeps_changes() {
    let pool = ObjectPool::new(|| Ok::<_, String>(String::new()));
    pool.get().unwrap().push_str("kept");
    assert_eq!(&*pool.get().unwrap(), "kept");
}

#[test]
fn beyond_max_size_fails_at_once_and_counts_only_objects_in_use() {
    let (pool, _) = numbered(2);
    assert_eq!(pool.max_size(), 2);
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    match pool.get() {
        Err(PoolError::Exhausted {
            max_size,
            waited_ms,
        }) => assert_eq!((max_size, waited_ms), (2, 0)),
        other => panic!("expected Exhausted, got {other:?}"),
    }
    assert_eq!(pool.used(), 2);
    drop(a);
    // One free, one in use: a get takes the free one, no new object.
    let c = pool.get().unwrap();
    assert_eq!(*c, 1);
    drop((b, c));
    assert_eq!((pool.used(), pool.free()), (0, 2));
}

#[test]
fn max_size_zero_is_unlimited() {
    let (pool, _) = numbered(0);
    assert_eq!(pool.max_size(), usize::MAX);
    let held: Vec<_> = (0..100).map(|_| pool.get().unwrap()).collect();
    assert_eq!(pool.used(), 100);
    drop(held);
    assert_eq!(pool.free(), 100);
}

#[test]
fn a_failing_creator_counts_nothing() {
    let fail = Arc::new(AtomicUsize::new(1));
    let f = Arc::clone(&fail);
    let pool = ObjectPool::new(move || {
        if f.load(Ordering::SeqCst) > 0 {
            f.fetch_sub(1, Ordering::SeqCst);
            Err("refused".to_string())
        } else {
            Ok(7u8)
        }
    })
    .with_max_size(1);
    let err = pool.get().unwrap_err();
    assert_eq!(err, PoolError::Create("refused".to_string()));
    assert_eq!(err.to_string(), "creating a pooled object failed: refused");
    assert_eq!((pool.used(), pool.free()), (0, 0));
    // The slot the failed creation reserved is free again.
    assert_eq!(*pool.get().unwrap(), 7);
}

#[test]
fn destroy_removes_through_the_hook() {
    let (pool, removed) = numbered(1);
    let a = pool.get().unwrap();
    a.destroy();
    assert_eq!(*removed.lock().unwrap(), [1]);
    assert_eq!((pool.used(), pool.free()), (0, 0));
    // get_and_release(destroy_on_fail=True): destroy on an error, else drop.
    for fails in [true, false] {
        let g = pool.get().unwrap();
        let result: Result<(), &str> = if fails { Err("boom") } else { Ok(()) };
        if result.is_err() {
            g.destroy();
        }
    }
    assert_eq!(*removed.lock().unwrap(), [1, 2]);
    assert_eq!(pool.free(), 1);
    assert_eq!(*pool.get().unwrap(), 3);
}

#[test]
fn idle_objects_are_removed_on_the_injected_clock() {
    let clock = ManualClock::new();
    let (pool, removed) = numbered(0);
    let pool = pool
        .with_clock(Arc::new(clock.clone()))
        .with_idle_timeout(Duration::from_secs(60));
    drop(pool.get().unwrap()); // 1, given back at 0 s
    clock.advance(Duration::from_secs(30));
    let held = pool.get().unwrap(); // 1 again
    let other = pool.get().unwrap(); // 2
    assert_eq!((*held, *other), (1, 2));
    drop(other); // 2 given back at 30 s
    drop(held); // 1 given back at 30 s
    clock.advance(Duration::from_secs(60));
    // Exactly the timeout: still fresh (pymemcache removes only older).
    assert_eq!(*pool.get().unwrap(), 2);
    assert!(removed.lock().unwrap().is_empty());
    // Now 1 (front, 30 s) is 61 s idle and 2 (just given back) is fresh.
    clock.advance(Duration::from_secs(1));
    assert_eq!(*pool.get().unwrap(), 2);
    assert_eq!(*removed.lock().unwrap(), [1]);
    clock.advance(Duration::from_secs(61));
    assert_eq!(*pool.get().unwrap(), 3);
    assert_eq!(*removed.lock().unwrap(), [1, 2]);
}

#[test]
fn zero_idle_timeout_never_expires() {
    let clock = ManualClock::new();
    let (pool, _) = numbered(0);
    let pool = pool
        .with_clock(Arc::new(clock.clone()))
        .with_idle_timeout(Duration::ZERO);
    drop(pool.get().unwrap());
    clock.advance(Duration::from_secs(1_000_000));
    assert_eq!(*pool.get().unwrap(), 1);
}

#[test]
fn clear_removes_free_now_and_busy_when_given_back() {
    let (pool, removed) = numbered(2);
    let a = pool.get().unwrap();
    drop(pool.get().unwrap()); // 2 free
    pool.clear();
    assert_eq!(*removed.lock().unwrap(), [2]);
    assert_eq!((pool.used(), pool.free()), (0, 0));
    // The cleared pool has room for max_size new objects.
    let (b, c) = (pool.get().unwrap(), pool.get().unwrap());
    assert_eq!((*b, *c), (3, 4));
    drop(a); // from before the clear: removed, not counted, not freed
    assert_eq!(*removed.lock().unwrap(), [2, 1]);
    assert_eq!((pool.used(), pool.free()), (2, 0));
    drop((b, c));
    assert_eq!((pool.used(), pool.free()), (0, 2));
}

#[test]
fn a_waiting_get_takes_the_object_given_back() {
    let (pool, _) = numbered(1);
    let pool = pool.with_wait_timeout(Duration::from_secs(30));
    let held = pool.get().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| *pool.get().unwrap());
        drop(held);
        assert_eq!(waiter.join().unwrap(), 1);
    });
    assert_eq!((pool.used(), pool.free()), (0, 1));
}

#[test]
fn a_waiting_get_gives_up_on_the_injected_clock() {
    let clock = ManualClock::new();
    let (pool, _) = numbered(1);
    let pool = pool
        .with_wait_timeout(Duration::from_secs(5))
        .with_clock(Arc::new(clock.clone()));
    let _held = pool.get().unwrap();
    let result = std::thread::scope(|s| {
        let waiter = s.spawn(|| pool.get().map(|g| *g));
        // Virtual time moves only here; bounded so a bug fails, not hangs.
        for _ in 0..1_000_000 {
            if waiter.is_finished() {
                break;
            }
            clock.advance(Duration::from_millis(100));
            std::thread::yield_now();
        }
        waiter.join().unwrap()
    });
    match result {
        Err(PoolError::Exhausted {
            max_size,
            waited_ms,
        }) => {
            assert_eq!(max_size, 1);
            assert!(waited_ms >= 5_000, "gave up after {waited_ms} ms");
        }
        other => panic!("expected Exhausted, got {other:?}"),
    }
    assert_eq!(pool.used(), 1);
}

#[test]
fn threads_never_hold_more_than_max_size() {
    let in_use = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicUsize::new(0));
    let made = Arc::clone(&created);
    let pool = ObjectPool::new(move || Ok::<_, String>(made.fetch_add(1, Ordering::SeqCst)))
        .with_max_size(3)
        .with_wait_timeout(Duration::from_secs(60));
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..200 {
                    let g = pool.get().unwrap();
                    let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::yield_now();
                    in_use.fetch_sub(1, Ordering::SeqCst);
                    drop(g);
                }
            });
        }
    });
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert!(created.load(Ordering::SeqCst) <= 3);
    assert_eq!(
        (pool.used(), pool.free()),
        (0, created.load(Ordering::SeqCst))
    );
}

#[test]
fn errors_read_well() {
    let e: PoolError<String> = PoolError::Exhausted {
        max_size: 4,
        waited_ms: 250,
    };
    assert_eq!(
        e.to_string(),
        "too many objects: 4 in use (max_size) after waiting 250 ms"
    );
    let io = PoolError::Create(std::io::Error::other("no route"));
    assert!(std::error::Error::source(&io).is_some());
}
