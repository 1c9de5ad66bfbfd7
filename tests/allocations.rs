//! Heap allocations per call on the hot paths, counted by a global
//! allocator (only the calling thread's, only inside the measured loop).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use memcrab::core::meta::MetaGet;
use memcrab::{Client, ClientOptions, HashClient, HashOptions, Memcache, MetaCommands};
use support::MemcachedServer;

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// thread-local counters are const-initialised, so touching them never
// allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if ON.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const CALLS: u64 = 2_000;

/// Allocations per call of `f`, after a warm-up.
fn per_call(mut f: impl FnMut()) -> f64 {
    for _ in 0..200 {
        f();
    }
    COUNT.with(|c| c.set(0));
    ON.with(|o| o.set(true));
    for _ in 0..CALLS {
        f();
    }
    ON.with(|o| o.set(false));
    COUNT.with(Cell::get) as f64 / CALLS as f64
}

fn opts() -> ClientOptions {
    ClientOptions {
        timeout: Some(Duration::from_secs(5)),
        default_noreply: false,
        ..ClientOptions::default()
    }
}

#[test]
fn allocations_per_get_hit() {
    let server = MemcachedServer::start();
    let value = vec![b'v'; 100];
    server.raw_set(b"hot", &value, 0);

    let client = Client::with_options(server.addr_string().parse().unwrap(), opts());
    let client_get = per_call(|| {
        assert!(client.get::<memcrab::Value>("hot").unwrap().is_some());
    });

    let hash =
        HashClient::with_options([server.addr_string()], opts(), HashOptions::default()).unwrap();
    let hash_get = per_call(|| {
        assert!(hash.get::<memcrab::Value>("hot").unwrap().is_some());
    });

    // A key the text protocol cannot carry goes base64-encoded.
    assert!(client
        .meta_set(memcrab::core::meta::MetaSet::new(b"bin key\x01", &value))
        .unwrap()
        .is_success());
    let meta_get = per_call(|| {
        let r = client
            .meta_get(MetaGet::new(b"bin key\x01").value())
            .unwrap();
        assert!(r.value.is_some());
    });
    eprintln!(
        "allocations per call: Client::get {client_get:.2}, HashClient::get {hash_get:.2}, \
         meta_get (binary key) {meta_get:.2}"
    );
    // The bounds: 0 beyond the reply buffer's growth (now and then, as
    // the buffer is handed out and replaced), at most 1, at most 2.
    assert!(client_get < 0.1, "Client::get: {client_get}");
    assert!(hash_get <= 1.0, "HashClient::get: {hash_get}");
    assert!(meta_get <= 2.0, "meta_get: {meta_get}");
}
