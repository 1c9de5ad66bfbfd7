//! `Client` in headless Chromium, over websockify, against real memcached.
//!
//! wasm/ci.sh starts the servers on free loopback ports and passes their
//! addresses in at build time:
//!
//! - `MEMCRAB_WS_URL`: websockify in front of memcached;
//! - `MEMCRAB_WS_SHUTDOWN_URL`: websockify in front of a memcached run with
//!   `-A` (shutdown allowed), which one test shuts down;
//! - `MEMCRAB_WS_STALLED_URL`: websockify in front of a memcached stopped
//!   with SIGSTOP, which accepts connections and never answers;
//! - `MEMCRAB_WS_DEAD_URL`: websockify in front of a port nothing listens on;
//! - `MEMCRAB_WS_NONE_URL`: a port where nothing listens at all.
//!
//! Run: `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! CHROMEDRIVER=/usr/bin/chromedriver MEMCRAB_WS_URL=… cargo test -p
//! memcrab-wasm --target wasm32-unknown-unknown` (wasm/ci.sh does all this).
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Map, Object, Promise, Reflect, Uint8Array};
use memcrab_wasm::{Client, ClientOptions, Key, Keys, StoreOptions, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn env(name: &str, value: Option<&'static str>) -> &'static str {
    value.unwrap_or_else(|| {
        panic!("{name} was not set at build time: run wasm/ci.sh, which starts memcached and websockify and sets it")
    })
}

fn main_url() -> &'static str {
    env("MEMCRAB_WS_URL", option_env!("MEMCRAB_WS_URL"))
}

/// A JS object from `(name, value)` pairs.
fn object(fields: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (name, value) in fields {
        Reflect::set(&o, &JsValue::from_str(name), value).unwrap();
    }
    o
}

/// Connects to `url` with every key under `prefix`.
async fn connect(url: &str, prefix: &str) -> Client {
    let options: ClientOptions = object(&[("keyPrefix", prefix.into())]).unchecked_into();
    Client::connect(url.to_owned(), Some(options))
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e:?}"))
}

fn key(k: &str) -> Key {
    JsValue::from_str(k).unchecked_into()
}

fn value(v: &str) -> Value {
    JsValue::from_str(v).unchecked_into()
}

fn keys(ks: &[&str]) -> Keys {
    ks.iter()
        .map(|k| JsValue::from_str(k))
        .collect::<Array>()
        .unchecked_into()
}

async fn ok(p: Promise) -> JsValue {
    JsFuture::from(p)
        .await
        .unwrap_or_else(|e| panic!("command failed: {e:?}"))
}

async fn fails(p: Promise) -> JsValue {
    match JsFuture::from(p).await {
        Ok(v) => panic!("command should have failed, resolved to {v:?}"),
        Err(e) => e,
    }
}

fn field(o: &JsValue, name: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(name)).unwrap()
}

/// The `kind` of a `MemcrabError`, checking it is one.
fn kind(e: &JsValue) -> String {
    assert_eq!(field(e, "name"), "MemcrabError", "{e:?}");
    field(e, "kind").as_string().unwrap()
}

fn message(e: &JsValue) -> String {
    field(e, "message").as_string().unwrap()
}

/// Calls `item.text()`.
fn text(item: &JsValue) -> String {
    let f: Function = field(item, "text").unchecked_into();
    f.call0(item).unwrap().as_string().unwrap()
}

#[wasm_bindgen_test]
async fn set_get_and_the_text_helper() {
    let c = connect(main_url(), "sg:").await;
    let opts: StoreOptions = object(&[("flags", 42.into())]).unchecked_into();
    assert_eq!(
        ok(c.set(key("k"), value("hello browser"), Some(opts))).await,
        true
    );
    let item = ok(c.get(key("k"))).await;
    assert_eq!(text(&item), "hello browser");
    assert_eq!(field(&item, "key"), "k");
    assert_eq!(field(&item, "flags"), 42);
    assert!(field(&item, "value").is_instance_of::<Uint8Array>());
    assert_eq!(ok(c.get(key("missing"))).await, JsValue::NULL);

    let bytes: Vec<u8> = (0..=255).collect();
    let binary: Value = JsValue::from(Uint8Array::from(&bytes[..])).unchecked_into();
    assert_eq!(ok(c.set(key("bin"), binary, None)).await, true);
    let item = ok(c.get(key("bin"))).await;
    assert_eq!(Uint8Array::new(&field(&item, "value")).to_vec(), bytes);
}

#[wasm_bindgen_test]
async fn add_replace_append_prepend() {
    let c = connect(main_url(), "arap:").await;
    ok(c.delete(key("s"), None)).await;
    assert_eq!(ok(c.replace(key("s"), value("x"), None)).await, false);
    assert_eq!(ok(c.append(key("s"), value("x"), None)).await, false);
    assert_eq!(ok(c.prepend(key("s"), value("x"), None)).await, false);
    assert_eq!(ok(c.add(key("s"), value("mid"), None)).await, true);
    assert_eq!(ok(c.add(key("s"), value("other"), None)).await, false);
    assert_eq!(ok(c.append(key("s"), value("-end"), None)).await, true);
    assert_eq!(ok(c.prepend(key("s"), value("start-"), None)).await, true);
    assert_eq!(text(&ok(c.get(key("s"))).await), "start-mid-end");
    assert_eq!(ok(c.replace(key("s"), value("new"), None)).await, true);
    assert_eq!(text(&ok(c.get(key("s"))).await), "new");
}

#[wasm_bindgen_test]
async fn gets_and_cas() {
    let c = connect(main_url(), "cas:").await;
    ok(c.set(key("c"), value("v1"), None)).await;
    let item = ok(c.gets(key("c"))).await;
    let token = field(&item, "cas");
    assert!(token.is_bigint(), "{token:?}");
    let t = || token.clone().unchecked_into();
    assert_eq!(ok(c.cas(key("c"), value("v2"), t(), None)).await, true);
    assert_eq!(ok(c.cas(key("c"), value("v3"), t(), None)).await, false);
    assert_eq!(text(&ok(c.get(key("c"))).await), "v2");
    assert_eq!(ok(c.delete(key("c"), None)).await, true);
    assert_eq!(ok(c.delete(key("c"), None)).await, false);
    assert_eq!(
        ok(c.cas(key("c"), value("v4"), t(), None)).await,
        JsValue::NULL
    );
}

#[wasm_bindgen_test]
async fn incr_decr_touch() {
    let c = connect(main_url(), "num:").await;
    ok(c.set(key("n"), value("10"), None)).await;
    let five = || JsValue::from(5).unchecked_into();
    assert_eq!(
        ok(c.incr(key("n"), five(), None)).await,
        JsValue::from(15u64)
    );
    assert_eq!(
        ok(c.decr(key("n"), five(), None)).await,
        JsValue::from(10u64)
    );
    let big = JsValue::from(u64::MAX - 10).unchecked_into();
    assert_eq!(
        ok(c.incr(key("n"), big, None)).await,
        JsValue::from(u64::MAX)
    );
    assert_eq!(ok(c.incr(key("none"), five(), None)).await, JsValue::NULL);
    assert_eq!(ok(c.decr(key("none"), five(), None)).await, JsValue::NULL);
    assert_eq!(ok(c.touch(key("n"), 3600.0, None)).await, true);
    assert_eq!(ok(c.touch(key("none"), 3600.0, None)).await, false);
}

#[wasm_bindgen_test]
async fn get_many_gets_many_stats_version() {
    let c = connect(main_url(), "many:").await;
    ok(c.set(key("a"), value("1"), None)).await;
    ok(c.set(key("b"), value("2"), None)).await;
    let found: Map = ok(c.get_many(keys(&["a", "nope", "b"])))
        .await
        .unchecked_into();
    assert_eq!(found.size(), 2);
    assert_eq!(text(&found.get(&"a".into())), "1");
    assert_eq!(text(&found.get(&"b".into())), "2");
    let with_cas: Map = ok(c.gets_many(keys(&["a", "b"]))).await.unchecked_into();
    assert!(field(&with_cas.get(&"b".into()), "cas").is_bigint());

    let stats = ok(c.stats(None)).await;
    let version = field(&stats, "version").as_string().unwrap();
    assert!(version.starts_with("1."), "{version}");
    assert_eq!(ok(c.version()).await, version);
    let settings_args: Array = [JsValue::from_str("settings")].into_iter().collect();
    let settings = ok(c.stats(Some(settings_args.unchecked_into()))).await;
    assert!(field(&settings, "item_size_max").as_string().is_some());
}

#[wasm_bindgen_test]
async fn pipelined_requests_resolve_in_order() {
    let c = connect(main_url(), "pipe:").await;
    let mut promises = Vec::new();
    for i in 0..200 {
        let v = format!("value-{i}-").repeat(i % 9);
        promises.push(c.set(key(&format!("k{i}")), value(&v), None));
        promises.push(c.get(key(&format!("k{i}"))));
    }
    assert_eq!(c.in_flight(), 400, "every command is in flight at once");
    let all = ok(Promise::all(&promises.into_iter().collect::<Array>())).await;
    let all: Array = all.unchecked_into();
    for i in 0..200u32 {
        assert_eq!(all.get(2 * i), true);
        let v = format!("value-{i}-").repeat(i as usize % 9);
        assert_eq!(text(&all.get(2 * i + 1)), v, "reply {i}");
    }
    assert_eq!(c.in_flight(), 0);
}

#[wasm_bindgen_test]
async fn bad_key_rejects_before_sending_and_the_client_goes_on() {
    let c = connect(main_url(), "bad:").await;
    for bad in ["has space", "", "new\nline", &"x".repeat(300)] {
        let e = fails(c.get(key(bad))).await;
        assert_eq!(kind(&e), "IllegalInput", "{bad:?}");
        assert_eq!(field(&e, "fatal"), false);
    }
    let e = fails(c.set(key("k"), JsValue::from(7).unchecked_into(), None)).await;
    assert!(e.is_instance_of::<js_sys::TypeError>(), "{e:?}");
    assert_eq!(c.in_flight(), 0);
    assert_eq!(ok(c.set(key("k"), value("still fine"), None)).await, true);
}

#[wasm_bindgen_test]
async fn server_error_rejects_that_command_only() {
    let options: ClientOptions =
        object(&[("maxItemSize", (4 * 1024 * 1024).into())]).unchecked_into();
    let c = Client::connect(main_url().to_owned(), Some(options))
        .await
        .unwrap();
    let big = vec![b'x'; 2 * 1024 * 1024];
    let big: Value = JsValue::from(Uint8Array::from(&big[..])).unchecked_into();
    let e = fails(c.set(key("big:value"), big, None)).await;
    assert_eq!(kind(&e), "Server");
    assert!(message(&e).contains("too large"), "{}", message(&e));
    assert_eq!(ok(c.set(key("big:small"), value("ok"), None)).await, true);
}

#[wasm_bindgen_test]
async fn close_rejects_in_flight_and_later_commands() {
    let c = connect(main_url(), "close:").await;
    let pending = c.get(key("k"));
    ok(c.close()).await;
    let e = fails(pending).await;
    assert_eq!(kind(&e), "Closed");
    assert!(c.is_closed());
    let e = fails(c.get(key("k"))).await;
    assert_eq!(kind(&e), "Closed");
    assert!(message(&e).contains("Client.close()"), "{}", message(&e));
}

#[wasm_bindgen_test]
async fn quit_resolves_when_the_bridge_closes() {
    let c = connect(main_url(), "quit:").await;
    let set = c.set(key("k"), value("v"), None);
    ok(c.quit()).await;
    assert_eq!(ok(set).await, true, "replies before quit still arrive");
    assert!(c.is_closed());
    let e = fails(c.get(key("k"))).await;
    assert_eq!(kind(&e), "Closed");
    assert!(message(&e).contains("closed with code"), "{}", message(&e));
}

/// Tests run concurrently in one page, so the commands that affect the
/// whole server (`flush_all`, `shutdown`) run against a server of their own.
#[wasm_bindgen_test]
async fn flush_all_then_the_bridge_closing_rejects_commands_in_flight() {
    let url = env(
        "MEMCRAB_WS_SHUTDOWN_URL",
        option_env!("MEMCRAB_WS_SHUTDOWN_URL"),
    );
    let c = connect(url, "down:").await;
    assert_eq!(ok(c.set(key("k"), value("v"), None)).await, true);
    assert_eq!(ok(c.flush_all(None, None)).await, true);
    assert_eq!(ok(c.get(key("k"))).await, JsValue::NULL);
    assert_eq!(ok(c.set(key("k"), value("v"), None)).await, true);
    // The server shuts down; the get behind the shutdown is never answered.
    let shutdown = c.shutdown(None);
    let get = c.get(key("k"));
    ok(shutdown).await;
    let e = fails(get).await;
    assert_eq!(kind(&e), "UnexpectedClose");
    assert_eq!(field(&e, "fatal"), true);
    assert!(message(&e).contains(url), "{}", message(&e));
    let e = fails(c.get(key("k"))).await;
    assert_eq!(kind(&e), "Closed");
}

#[wasm_bindgen_test]
async fn a_stalled_server_times_out() {
    let url = env(
        "MEMCRAB_WS_STALLED_URL",
        option_env!("MEMCRAB_WS_STALLED_URL"),
    );
    let options: ClientOptions = object(&[("timeoutMs", 300.into())]).unchecked_into();
    let c = Client::connect(url.to_owned(), Some(options))
        .await
        .unwrap();
    let first = c.get(key("k"));
    let second = c.version();
    let e = fails(first).await;
    assert_eq!(kind(&e), "Timeout");
    assert_eq!(kind(&fails(second).await), "Timeout");
    assert_eq!(kind(&fails(c.get(key("k"))).await), "Closed");
}

#[wasm_bindgen_test]
async fn a_bridge_without_its_server_fails_clearly() {
    let url = env("MEMCRAB_WS_DEAD_URL", option_env!("MEMCRAB_WS_DEAD_URL"));
    // websockify may accept the WebSocket and then find memcached gone, or
    // refuse it at once: either way no command succeeds.
    match Client::connect(url.to_owned(), None).await {
        Err(e) => assert_eq!(kind(&e), "Io"),
        Ok(c) => {
            let e = fails(c.get(key("k"))).await;
            let k = kind(&e);
            assert!(
                k == "UnexpectedClose" || k == "Closed",
                "{k}: {}",
                message(&e)
            );
        }
    }
}

#[wasm_bindgen_test]
async fn no_bridge_rejects_connect() {
    let url = env("MEMCRAB_WS_NONE_URL", option_env!("MEMCRAB_WS_NONE_URL"));
    let e = match Client::connect(url.to_owned(), None).await {
        Ok(_) => panic!("connected to {url}, where nothing listens"),
        Err(e) => e,
    };
    assert_eq!(kind(&e), "Io");
    assert!(message(&e).contains(url), "{}", message(&e));
}

#[wasm_bindgen_test]
async fn meta_protocol_reports_noreply_failures_to_onerror() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;

    let options: ClientOptions = object(&[
        ("protocol", "meta".into()),
        ("keyPrefix", "metanr:".into()),
        ("maxItemSize", (4 * 1024 * 1024).into()),
    ])
    .unchecked_into();
    let c = Client::connect(main_url().to_owned(), Some(options))
        .await
        .unwrap();
    let seen = Rc::new(RefCell::new(Vec::<JsValue>::new()));
    let handler = {
        let seen = seen.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| seen.borrow_mut().push(e))
    };
    c.set_onerror(Some(handler.as_ref().clone().unchecked_into()));

    let big = vec![b'x'; 2 * 1024 * 1024];
    let big: Value = JsValue::from(Uint8Array::from(&big[..])).unchecked_into();
    let noreply: StoreOptions = object(&[("noreply", true.into())]).unchecked_into();
    assert_eq!(
        ok(c.set(key("big"), big, Some(noreply))).await,
        true,
        "noreply resolves at once"
    );
    assert_eq!(ok(c.set(key("after"), value("ok"), None)).await, true);
    let errors = seen.borrow().clone();
    assert_eq!(errors.len(), 1, "the quiet set's failure was reported");
    assert_eq!(kind(&errors[0]), "Server");
    assert!(!c.is_closed());
    // Classic results are unchanged in meta mode.
    assert_eq!(text(&ok(c.get(key("after"))).await), "ok");
    assert_eq!(ok(c.add(key("after"), value("x"), None)).await, false);
}

#[wasm_bindgen_test]
async fn meta_commands_stale_while_revalidate() {
    use memcrab_wasm::{MetaDeleteOptions, MetaGetOptions, MetaSetOptions};

    // A fresh key each run: the first reader of a miss is the one that wins.
    let c = connect(main_url(), &format!("swr{}:", js_sys::Date::now())).await;
    let vivify =
        || -> Option<MetaGetOptions> { Some(object(&[("vivify", 30.into())]).unchecked_into()) };
    let first = ok(c.meta_get(key("hot"), vivify())).await;
    assert_eq!(
        field(&first, "win"),
        true,
        "the first reader of a miss wins"
    );
    let second = ok(c.meta_get(key("hot"), vivify())).await;
    assert_eq!(field(&second, "alreadyWon"), true);

    let set_opts: MetaSetOptions = object(&[("ttl", 60.into())]).unchecked_into();
    let stored = ok(c.meta_set(key("hot"), value("fresh"), Some(set_opts))).await;
    assert_eq!(field(&stored, "status"), "ok");
    let invalidate: MetaDeleteOptions = object(&[("invalidate", true.into())]).unchecked_into();
    ok(c.meta_delete(key("hot"), Some(invalidate))).await;
    let stale = ok(c.meta_get(key("hot"), None)).await;
    assert_eq!(text(&stale), "fresh");
    assert_eq!(field(&stale, "stale"), true);
    assert_eq!(field(&stale, "win"), true);

    let counter = ok(c.meta_arithmetic(
        key("n"),
        Some(object(&[("vivify", 60.into()), ("initial", 7.into())]).unchecked_into()),
    ))
    .await;
    assert_eq!(text(&counter), "7");
    let debug = ok(c.meta_debug(key("n"))).await;
    assert!(text(&debug).contains("cas="), "{}", text(&debug));

    let quiet: MetaGetOptions = object(&[("quiet", true.into())]).unchecked_into();
    let e = fails(c.meta_get(key("hot"), Some(quiet))).await;
    assert!(e.is_instance_of::<js_sys::TypeError>(), "{e:?}");
}
