//! `ObjectPool`: pymemcache's generic, thread-safe pool of objects.

use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use memcrab_core::Millis;

use crate::clock::{Clock, SystemClock};

/// The longest real-time slice a waiter sleeps before it reads the clock
/// again, so that a [`ManualClock`](crate::ManualClock) moved by a test
/// also ends a wait.
const WAIT_SLICE: Duration = Duration::from_millis(20);

type Creator<T, E> = Box<dyn Fn() -> Result<T, E> + Send + Sync>;
type AfterRemove<T> = Box<dyn Fn(T) + Send + Sync>;

/// Why [`ObjectPool::get`] gave no object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError<E> {
    /// `max_size` objects were in use (for `waited_ms`, at most the
    /// pool's wait timeout) and none was given back: pymemcache's
    /// `RuntimeError("Too many objects")`.
    Exhausted {
        /// The pool's `max_size`.
        max_size: usize,
        /// How long the caller waited, in milliseconds of the pool's clock.
        waited_ms: u64,
    },
    /// The creator failed; no object was counted as in use.
    Create(E),
}

impl<E: fmt::Display> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Exhausted {
                max_size,
                waited_ms,
            } => write!(
                f,
                "too many objects: {max_size} in use (max_size) after waiting {waited_ms} ms"
            ),
            PoolError::Create(e) => write!(f, "creating a pooled object failed: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Create(e) => Some(e),
            PoolError::Exhausted { .. } => None,
        }
    }
}

struct State<T> {
    /// Free objects, oldest release first, with the time of that release.
    free: VecDeque<(T, Millis)>,
    /// Objects handed out (or being created) in this generation.
    used: usize,
    /// Bumped by `clear`: objects of an older generation are removed
    /// when given back.
    generation: u64,
}

/// A thread-safe pool of objects made on demand (pymemcache's
/// `pymemcache.pool.ObjectPool`).
///
/// [`get`](ObjectPool::get) hands out a free object, or makes one with the
/// creator when none is free and fewer than `max_size` are in use. The
/// [`Pooled`] guard gives the object back when dropped (pymemcache's
/// `release`), or removes it with [`Pooled::destroy`] (pymemcache's
/// `destroy`, and `get_and_release(destroy_on_fail=True)` when called on
/// an error). As in pymemcache:
///
/// - free objects are reused oldest first (FIFO: they rotate);
/// - only objects in use count towards `max_size` (0 means unlimited);
/// - an object given back more than `idle_timeout` ago is removed, not
///   handed out, when a `get` comes across it;
/// - every removed object (destroyed, idle, cleared) goes to the
///   `after_remove` hook, else it is dropped.
///
/// When `max_size` objects are in use, `get` fails at once with
/// [`PoolError::Exhausted`] by default, as pymemcache raises at once: a
/// caller that holds one object and asks for another would otherwise wait
/// for itself. [`with_wait_timeout`](ObjectPool::with_wait_timeout) makes
/// it wait up to that long for an object to come back instead. Times
/// (idle, wait) are read from the pool's [`Clock`], so tests can run on a
/// [`ManualClock`](crate::ManualClock).
///
/// The creator and the hook run outside the pool's lock.
/// `ObjectPool<T, E>` is `Send + Sync` when `T: Send`.
///
/// # Example
///
/// ```
/// use memcrab_transport::blocking::ObjectPool;
///
/// let pool = ObjectPool::new(|| Ok::<_, std::io::Error>(Vec::<u8>::new())).with_max_size(2);
/// {
///     let mut buf = pool.get()?;
///     buf.push(1);
///     assert_eq!((pool.used(), pool.free()), (1, 0));
/// } // given back
/// assert_eq!((pool.used(), pool.free()), (0, 1));
/// assert_eq!(*pool.get()?, vec![1]);
/// # Ok::<(), memcrab_transport::blocking::PoolError<std::io::Error>>(())
/// ```
pub struct ObjectPool<T, E = crate::Error> {
    state: Mutex<State<T>>,
    returned: Condvar,
    creator: Creator<T, E>,
    after_remove: Option<AfterRemove<T>>,
    max_size: usize,
    idle_timeout: Option<Duration>,
    wait_timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl<T, E> ObjectPool<T, E> {
    /// Creates an empty pool that makes objects with `creator`: no size
    /// limit, no idle timeout, no hook, no wait, the system clock.
    pub fn new(creator: impl Fn() -> Result<T, E> + Send + Sync + 'static) -> Self {
        ObjectPool {
            state: Mutex::new(State {
                free: VecDeque::new(),
                used: 0,
                generation: 0,
            }),
            returned: Condvar::new(),
            creator: Box::new(creator),
            after_remove: None,
            max_size: usize::MAX,
            idle_timeout: None,
            wait_timeout: Duration::ZERO,
            clock: Arc::new(SystemClock::new()),
        }
    }

    /// Allows at most `n` objects in use at once (0, as pymemcache's
    /// `None` or 0: unlimited).
    #[must_use]
    pub fn with_max_size(mut self, n: usize) -> Self {
        self.max_size = if n == 0 { usize::MAX } else { n };
        self
    }

    /// Removes free objects given back more than `t` ago (`None` or zero,
    /// the default: never).
    #[must_use]
    pub fn with_idle_timeout(mut self, t: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = t.into().filter(|t| !t.is_zero());
        self
    }

    /// Hands every removed object to `hook` (e.g. to close it).
    #[must_use]
    pub fn with_after_remove(mut self, hook: impl Fn(T) + Send + Sync + 'static) -> Self {
        self.after_remove = Some(Box::new(hook));
        self
    }

    /// Makes `get` wait up to `t` for an object to come back when
    /// `max_size` are in use (default zero: fail at once).
    #[must_use]
    pub fn with_wait_timeout(mut self, t: Duration) -> Self {
        self.wait_timeout = t;
        self
    }

    /// Reads idle and wait times from `clock` (default: the system clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Returns the most objects in use at once (`usize::MAX`: unlimited).
    #[must_use]
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Returns the number of objects in use (pymemcache's `len(used)`).
    #[must_use]
    pub fn used(&self) -> usize {
        self.lock().used
    }

    /// Returns the number of free objects (pymemcache's `len(free)`).
    #[must_use]
    pub fn free(&self) -> usize {
        self.lock().free.len()
    }

    /// Takes a free object or makes one (pymemcache's `get`).
    ///
    /// # Errors
    ///
    /// [`PoolError::Exhausted`] when `max_size` objects stay in use for the
    /// wait timeout; [`PoolError::Create`] when the creator fails.
    pub fn get(&self) -> Result<Pooled<'_, T, E>, PoolError<E>> {
        let started = self.clock.now();
        let mut removed = Vec::new();
        let mut st = self.lock();
        let taken = loop {
            let now = self.clock.now();
            if let Some(obj) = self.pop_fresh(&mut st, now, &mut removed) {
                break Some(obj);
            }
            if st.used < self.max_size {
                break None;
            }
            let waited = now.saturating_since(started);
            if waited >= self.wait_timeout {
                drop(st);
                self.remove_all(removed);
                return Err(PoolError::Exhausted {
                    max_size: self.max_size,
                    waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                });
            }
            let slice = (self.wait_timeout - waited).min(WAIT_SLICE);
            st = match self.returned.wait_timeout(st, slice) {
                Ok((st, _)) => st,
                Err(poisoned) => poisoned.into_inner().0,
            };
        };
        st.used += 1;
        let generation = st.generation;
        drop(st);
        self.remove_all(removed);
        let obj = match taken {
            Some(obj) => obj,
            None => match (self.creator)() {
                Ok(obj) => obj,
                Err(e) => {
                    let mut st = self.lock();
                    if st.generation == generation {
                        st.used -= 1;
                    }
                    drop(st);
                    self.returned.notify_one();
                    return Err(PoolError::Create(e));
                }
            },
        };
        Ok(Pooled {
            pool: self,
            obj: Some(obj),
            generation,
        })
    }

    /// Removes every free object now and every object in use when it
    /// comes back (pymemcache's `clear`); `used()` and `free()` are then
    /// zero and later `get`s make new objects.
    pub fn clear(&self) {
        let mut st = self.lock();
        st.generation += 1;
        st.used = 0;
        let removed: Vec<T> = st.free.drain(..).map(|(obj, _)| obj).collect();
        drop(st);
        self.returned.notify_all();
        self.remove_all(removed);
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pops free objects oldest first, keeping the idle ones aside, until
    /// one is fresh.
    fn pop_fresh(&self, st: &mut State<T>, now: Millis, removed: &mut Vec<T>) -> Option<T> {
        while let Some((obj, since)) = st.free.pop_front() {
            match self.idle_timeout {
                Some(t) if now.saturating_since(since) > t => removed.push(obj),
                _ => return Some(obj),
            }
        }
        None
    }

    fn remove_all(&self, objs: Vec<T>) {
        for obj in objs {
            self.remove(obj);
        }
    }

    fn remove(&self, obj: T) {
        if let Some(hook) = &self.after_remove {
            hook(obj);
        }
    }

    /// Takes back an object handed out in `generation`: to the free list,
    /// or removed when `destroy` or a `clear` since then says so.
    fn give_back(&self, obj: T, generation: u64, destroy: bool) {
        let mut st = self.lock();
        let current = st.generation == generation;
        if current {
            st.used -= 1;
        }
        let obj = if current && !destroy {
            st.free.push_back((obj, self.clock.now()));
            None
        } else {
            Some(obj)
        };
        drop(st);
        self.returned.notify_one();
        if let Some(obj) = obj {
            self.remove(obj);
        }
    }
}

impl<T, E> fmt::Debug for ObjectPool<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("ObjectPool")
            .field("used", &st.used)
            .field("free", &st.free.len())
            .field("max_size", &self.max_size)
            .field("idle_timeout", &self.idle_timeout)
            .field("wait_timeout", &self.wait_timeout)
            .finish_non_exhaustive()
    }
}

/// An object taken from an [`ObjectPool`]: derefs to it, and gives it back
/// when dropped.
#[must_use = "dropping the guard gives the object back at once"]
pub struct Pooled<'a, T, E = crate::Error> {
    pool: &'a ObjectPool<T, E>,
    obj: Option<T>,
    generation: u64,
}

impl<T, E> Pooled<'_, T, E> {
    /// Removes the object from the pool instead of giving it back
    /// (pymemcache's `destroy`; call it on an error for
    /// `get_and_release(destroy_on_fail=True)`).
    pub fn destroy(mut self) {
        if let Some(obj) = self.obj.take() {
            self.pool.give_back(obj, self.generation, true);
        }
    }
}

impl<T, E> Deref for Pooled<'_, T, E> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.obj {
            Some(obj) => obj,
            None => unreachable!("a Pooled guard holds its object until dropped"),
        }
    }
}

impl<T, E> DerefMut for Pooled<'_, T, E> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.obj {
            Some(obj) => obj,
            None => unreachable!("a Pooled guard holds its object until dropped"),
        }
    }
}

impl<T, E> Drop for Pooled<'_, T, E> {
    fn drop(&mut self) {
        if let Some(obj) = self.obj.take() {
            self.pool.give_back(obj, self.generation, false);
        }
    }
}

impl<T: fmt::Debug, E> fmt::Debug for Pooled<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&self.obj).finish()
    }
}
