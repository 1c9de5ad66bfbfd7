//! The meta protocol against a real memcached 1.6: every meta command and
//! flag through `MetaCommands`, binary keys, key prefixes, a quiet-mode
//! pipeline whose failures are each reported for their own request, and the
//! whole classic command API run over both protocols with identical results.
//!
//! What the server really holds is checked through the harness's
//! plain-socket client, independent of memcrab.

// Results are compared with `assert_eq!(…, true)` to show the exact value.
#![allow(clippy::bool_assert_comparison)]

mod support;

use std::collections::HashMap;
use std::thread::sleep;
use std::time::Duration;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use memcrab::core::meta::{
    ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaReply, MetaRequest, MetaSet, MetaStatus,
    SetMode,
};
use memcrab::core::Reply;
use memcrab::{
    Client, ClientBuilder, ErrorKind, Memcache, MetaCommands, Protocol, StatValue, StoreOptions,
    Value,
};
use support::MemcachedServer;

fn builder(server: &MemcachedServer) -> ClientBuilder {
    Client::builder(server.addr_string())
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
}

fn client(server: &MemcachedServer) -> Client {
    builder(server).build().unwrap()
}

fn meta_client(server: &MemcachedServer) -> Client {
    builder(server).protocol(Protocol::Meta).build().unwrap()
}

fn b(v: &[u8]) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(v))
}

/// Standard base64, written here so the test does not trust the library's.
fn b64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let c = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// Sends one raw meta command line (followed by `mn`) on a plain connection
/// and returns the reply before `MN`, e.g. `"VA 2 t-1\r\nhi\r\n"`.
fn raw_meta(server: &MemcachedServer, line: &str) -> String {
    let reply = server.raw_until(format!("{line}\r\nmn\r\n").as_bytes(), b"MN\r\n");
    let reply = String::from_utf8_lossy(&reply).into_owned();
    reply.strip_suffix("MN\r\n").unwrap().to_owned()
}

/// The TTL memcached reports for `key`, or `None` on a miss.
fn server_ttl(server: &MemcachedServer, key: &str) -> Option<i64> {
    let line = raw_meta(server, &format!("mg {key} t"));
    let line = line.trim_end();
    if line == "EN" {
        return None;
    }
    assert!(line.starts_with("HD "), "unexpected mg reply {line:?}");
    let ttl = line
        .split(' ')
        .find_map(|t| t.strip_prefix('t'))
        .unwrap_or_else(|| panic!("no TTL in mg reply {line:?}"));
    Some(ttl.parse().unwrap())
}

fn status(r: &MetaReply) -> MetaStatus {
    r.status()
}

/// The meta reply of one outcome of a batch; panics on anything else.
fn meta_ok(outcome: &Option<memcrab::Result<Reply>>) -> &MetaReply {
    match outcome {
        Some(Ok(Reply::Meta(m))) => m,
        other => panic!("not a meta reply: {other:?}"),
    }
}

fn total_connections(c: &impl Memcache) -> StatValue {
    c.stats(&[])
        .unwrap()
        .get("total_connections")
        .cloned()
        .unwrap()
}

// ---------------------------------------------------------------------------
// mg

#[test]
fn mg_returns_each_flag_asked_for() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let set = c
        .meta_set(
            MetaSet::new(b"k", b"hello")
                .client_flags(7)
                .ttl(100)
                .return_cas(),
        )
        .unwrap();
    assert_eq!(status(&set), MetaStatus::Ok);
    let cas = set.cas.unwrap();

    let r = c
        .meta_get(
            MetaGet::new(b"k")
                .value()
                .cas()
                .flags()
                .hit()
                .key()
                .last_access()
                .size()
                .ttl(),
        )
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Value);
    assert_eq!(r.value, b(b"hello"));
    assert_eq!(r.cas, Some(cas));
    assert_eq!(r.client_flags, Some(7));
    assert_eq!(r.hit_before, Some(false), "the first fetch");
    assert_eq!(r.key, b(b"k"));
    assert!(matches!(r.last_access, Some(0..=1)), "{:?}", r.last_access);
    assert_eq!(r.size, Some(5));
    assert!(matches!(r.ttl, Some(98..=100)), "{:?}", r.ttl);
    assert!(!r.win && !r.stale && !r.already_won);
    assert_eq!(
        server.raw_item(b"k").unwrap().cas,
        cas,
        "the server's token"
    );

    // Hit before, now.
    let r = c.meta_get(MetaGet::new(b"k").hit()).unwrap();
    assert_eq!(r.hit_before, Some(true));
    // No flags: HD on a hit, nothing returned.
    let r = c.meta_get(MetaGet::new(b"k")).unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Ok));
    // A miss: EN (with the key when asked).
    let r = c.meta_get(MetaGet::new(b"missing").value()).unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Miss));
    let r = c.meta_get(MetaGet::new(b"missing").key()).unwrap();
    assert_eq!((status(&r), r.key), (MetaStatus::Miss, b(b"missing")));
    // No expiry: t-1.
    c.meta_set(MetaSet::new(b"forever", b"x")).unwrap();
    let r = c.meta_get(MetaGet::new(b"forever").ttl()).unwrap();
    assert_eq!(r.ttl, Some(-1));

    // q: a miss says nothing (the client reports a miss), a hit answers.
    let r = c
        .meta_get(MetaGet::new(b"missing").value().quiet())
        .unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Miss));
    let r = c.meta_get(MetaGet::new(b"k").value().quiet()).unwrap();
    assert_eq!((status(&r), r.value), (MetaStatus::Value, b(b"hello")));
    assert!(c.is_connected());

    // l counts seconds since the last access.
    sleep(Duration::from_millis(2100));
    let r = c.meta_get(MetaGet::new(b"k").last_access()).unwrap();
    assert!(matches!(r.last_access, Some(2..=3)), "{:?}", r.last_access);
}

#[test]
fn mg_u_does_not_bump_or_mark_the_item() {
    let server = MemcachedServer::start();
    let c = client(&server);
    c.meta_set(MetaSet::new(b"k", b"v")).unwrap();
    let r = c.meta_get(MetaGet::new(b"k").hit().no_bump()).unwrap();
    assert_eq!(r.hit_before, Some(false));
    // The u fetch did not mark it fetched.
    let r = c.meta_get(MetaGet::new(b"k").hit()).unwrap();
    assert_eq!(r.hit_before, Some(false));
    let r = c.meta_get(MetaGet::new(b"k").hit()).unwrap();
    assert_eq!(r.hit_before, Some(true));
}

#[test]
fn mg_vivify_on_miss_wins_once() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let r = c.meta_get(MetaGet::new(b"hot").value().vivify(30)).unwrap();
    assert_eq!(status(&r), MetaStatus::Value);
    assert_eq!(r.value, b(b""), "the vivified item is empty");
    assert!(r.win && !r.already_won && !r.stale, "{r:?}");
    // Everyone after is told someone else won.
    for _ in 0..3 {
        let r = c.meta_get(MetaGet::new(b"hot").value().vivify(30)).unwrap();
        assert!(!r.win && r.already_won, "{r:?}");
        assert_eq!(r.value, b(b""));
    }
    // Without v: HD W, then HD Z.
    let r = c.meta_get(MetaGet::new(b"hot2").vivify(30)).unwrap();
    assert_eq!((status(&r), r.win), (MetaStatus::Ok, true));
    let r = c.meta_get(MetaGet::new(b"hot2").vivify(30)).unwrap();
    assert_eq!((r.win, r.already_won), (false, true));
    // The placeholder lives with the vivify TTL.
    assert!(matches!(server_ttl(&server, "hot"), Some(28..=30)));
    // A set replaces the placeholder; the win is over.
    c.meta_set(MetaSet::new(b"hot", b"fresh").ttl(300)).unwrap();
    let r = c.meta_get(MetaGet::new(b"hot").value().vivify(30)).unwrap();
    assert_eq!(r.value, b(b"fresh"));
    assert!(!r.win && !r.already_won);
}

#[test]
fn mg_recache_wins_when_the_ttl_is_below() {
    let server = MemcachedServer::start();
    let c = client(&server);
    c.meta_set(MetaSet::new(b"k", b"old").ttl(10)).unwrap();
    // 10 s left is not below 5: no win.
    let r = c.meta_get(MetaGet::new(b"k").value().recache(5)).unwrap();
    assert!(!r.win && !r.already_won, "{r:?}");
    // 10 s left is below 30: one win, then Z.
    let r = c
        .meta_get(MetaGet::new(b"k").value().ttl().recache(30))
        .unwrap();
    assert_eq!(r.value, b(b"old"));
    assert!(r.win && !r.already_won, "{r:?}");
    assert!(matches!(r.ttl, Some(9..=10)), "{:?}", r.ttl);
    let r = c.meta_get(MetaGet::new(b"k").value().recache(30)).unwrap();
    assert_eq!(r.value, b(b"old"), "the others still get the value");
    assert!(!r.win && r.already_won, "{r:?}");
}

#[test]
fn mg_touch_sets_the_ttl() {
    let server = MemcachedServer::start();
    let c = client(&server);
    c.meta_set(MetaSet::new(b"k", b"v")).unwrap();
    assert_eq!(server_ttl(&server, "k"), Some(-1));
    let r = c
        .meta_get(MetaGet::new(b"k").value().ttl().touch(100))
        .unwrap();
    assert_eq!(r.value, b(b"v"));
    assert_eq!(r.ttl, Some(100), "t shows the TTL after the touch");
    assert!(matches!(server_ttl(&server, "k"), Some(98..=100)));
    // A touch to 0: no expiry again.
    c.meta_get(MetaGet::new(b"k").touch(0)).unwrap();
    assert_eq!(server_ttl(&server, "k"), Some(-1));
    // A touch of a missing key is a miss and creates nothing.
    let r = c.meta_get(MetaGet::new(b"missing").touch(100)).unwrap();
    assert_eq!(status(&r), MetaStatus::Miss);
    assert_eq!(server.raw_get(b"missing"), None);
}

// ---------------------------------------------------------------------------
// ms

#[test]
fn ms_in_every_mode() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let set = |key: &[u8], value: &[u8], mode| {
        status(&c.meta_set(MetaSet::new(key, value).mode(mode)).unwrap())
    };
    assert_eq!(set(b"k", b"v1", SetMode::Set), MetaStatus::Ok);
    assert_eq!(server.raw_get(b"k"), Some(b"v1".to_vec()));
    assert_eq!(set(b"k", b"v2", SetMode::Set), MetaStatus::Ok);
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));

    assert_eq!(set(b"k", b"added", SetMode::Add), MetaStatus::NotStored);
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));
    assert_eq!(set(b"new", b"added", SetMode::Add), MetaStatus::Ok);
    assert_eq!(server.raw_get(b"new"), Some(b"added".to_vec()));

    assert_eq!(set(b"none", b"r", SetMode::Replace), MetaStatus::NotStored);
    assert_eq!(server.raw_get(b"none"), None);
    assert_eq!(set(b"k", b"mid", SetMode::Replace), MetaStatus::Ok);

    assert_eq!(set(b"none", b"a", SetMode::Append), MetaStatus::NotStored);
    assert_eq!(set(b"none", b"p", SetMode::Prepend), MetaStatus::NotStored);
    assert_eq!(server.raw_get(b"none"), None, "append/prepend never create");
    server.raw_set(b"ap", b"mid", 5);
    assert_eq!(set(b"ap", b"_a", SetMode::Append), MetaStatus::Ok);
    assert_eq!(set(b"ap", b"p_", SetMode::Prepend), MetaStatus::Ok);
    let item = server.raw_item(b"ap").unwrap();
    assert_eq!(item.value, b"p_mid_a");
    assert_eq!(item.flags, 5, "append/prepend keep the flags");
}

#[test]
fn ms_flags_ttl_return_cas_and_key() {
    let server = MemcachedServer::start();
    let c = client(&server);
    // F, T, c, k.
    let r = c
        .meta_set(
            MetaSet::new(b"k", b"xyz")
                .client_flags(u32::MAX)
                .ttl(100)
                .return_cas()
                .return_key(),
        )
        .unwrap();
    let item = server.raw_item(b"k").unwrap();
    assert_eq!(status(&r), MetaStatus::Ok);
    assert_eq!(r.cas, Some(item.cas));
    assert_eq!(r.key, b(b"k"));
    assert_eq!((item.flags, item.value.as_slice()), (u32::MAX, &b"xyz"[..]));
    assert!(matches!(server_ttl(&server, "k"), Some(98..=100)));
    // No T: no expiry. An empty value is a value.
    c.meta_set(MetaSet::new(b"e", b"")).unwrap();
    assert_eq!(server.raw_get(b"e"), Some(Vec::new()));
    assert_eq!(server_ttl(&server, "e"), Some(-1));
    // A negative TTL stores an item already expired.
    let r = c.meta_set(MetaSet::new(b"gone", b"v").ttl(-1)).unwrap();
    assert_eq!(status(&r), MetaStatus::Ok);
    assert_eq!(server.raw_get(b"gone"), None);
    // A value holding protocol text is only data.
    let tricky = b"HD O0\r\nMN\r\nVA 1\r\n";
    c.meta_set(MetaSet::new(b"t", tricky)).unwrap();
    assert_eq!(server.raw_get(b"t").as_deref(), Some(&tricky[..]));
    let r = c.meta_get(MetaGet::new(b"t").value()).unwrap();
    assert_eq!(r.value, b(tricky));
}

#[test]
fn ms_compare_cas() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let first = c
        .meta_set(MetaSet::new(b"k", b"v1").return_cas())
        .unwrap()
        .cas
        .unwrap();
    // A matching token stores.
    let r = c
        .meta_set(MetaSet::new(b"k", b"v2").compare_cas(first).return_cas())
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Ok);
    let second = r.cas.unwrap();
    assert_ne!(second, first);
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));
    // A stale token: EX, nothing stored.
    let r = c
        .meta_set(MetaSet::new(b"k", b"v3").compare_cas(first))
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Exists);
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));
    // A missing item: NF.
    let r = c
        .meta_set(MetaSet::new(b"none", b"v").compare_cas(first))
        .unwrap();
    assert_eq!(status(&r), MetaStatus::NotFound);
    assert_eq!(server.raw_get(b"none"), None);
    // Append respects the token too.
    let r = c
        .meta_set(
            MetaSet::new(b"k", b"!")
                .mode(SetMode::Append)
                .compare_cas(first),
        )
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Exists);
    let r = c
        .meta_set(
            MetaSet::new(b"k", b"!")
                .mode(SetMode::Append)
                .compare_cas(second),
        )
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Ok);
    assert_eq!(server.raw_get(b"k"), Some(b"v2!".to_vec()));
}

#[test]
fn ms_invalidate_with_an_older_cas_marks_stale() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let old = c
        .meta_set(MetaSet::new(b"k", b"v1").return_cas())
        .unwrap()
        .cas
        .unwrap();
    c.meta_set(MetaSet::new(b"k", b"v2")).unwrap();
    // An older token with I: stored, but stale.
    let r = c
        .meta_set(MetaSet::new(b"k", b"v3").compare_cas(old).invalidate())
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Ok);
    let r = c.meta_get(MetaGet::new(b"k").value()).unwrap();
    assert_eq!(r.value, b(b"v3"));
    assert!(r.stale, "{r:?}");
    assert!(r.win, "the first to see a stale item wins the recache");
    let r = c.meta_get(MetaGet::new(b"k").value()).unwrap();
    assert!(r.stale && r.already_won && !r.win, "{r:?}");
    // A newer token than the item's is refused even with I.
    let current = server.raw_item(b"k").unwrap().cas;
    let r = c
        .meta_set(
            MetaSet::new(b"k", b"v4")
                .compare_cas(current + 100)
                .invalidate(),
        )
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Exists);
    // Without I the older token is simply refused.
    c.meta_set(MetaSet::new(b"j", b"v1")).unwrap();
    let j = server.raw_item(b"j").unwrap().cas;
    c.meta_set(MetaSet::new(b"j", b"v2")).unwrap();
    let r = c
        .meta_set(MetaSet::new(b"j", b"v3").compare_cas(j))
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Exists);
    assert!(!c.meta_get(MetaGet::new(b"j")).unwrap().stale);
}

#[test]
fn ms_quiet_says_only_failures() {
    let server = MemcachedServer::start();
    let c = client(&server);
    // Stored: the server says nothing; the client reports HD.
    let r = c.meta_set(MetaSet::new(b"k", b"v").quiet()).unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Ok));
    assert_eq!(server.raw_get(b"k"), Some(b"v".to_vec()));
    // Not stored: NS is reported.
    let r = c
        .meta_set(MetaSet::new(b"k", b"w").mode(SetMode::Add).quiet())
        .unwrap();
    assert_eq!(status(&r), MetaStatus::NotStored);
    // EX and NF too.
    let cas = server.raw_item(b"k").unwrap().cas;
    let r = c
        .meta_set(MetaSet::new(b"k", b"w").compare_cas(cas + 1).quiet())
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Exists);
    let r = c
        .meta_set(MetaSet::new(b"none", b"w").compare_cas(1).quiet())
        .unwrap();
    assert_eq!(status(&r), MetaStatus::NotFound);
    assert_eq!(server.raw_get(b"k"), Some(b"v".to_vec()));
    assert!(c.is_connected());
}

// ---------------------------------------------------------------------------
// md

#[test]
fn md_deletes_compares_and_invalidates() {
    let server = MemcachedServer::start();
    let c = client(&server);
    server.raw_set(b"k", b"v", 0);
    let r = c.meta_delete(MetaDelete::new(b"k")).unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Ok));
    assert_eq!(server.raw_get(b"k"), None);
    let r = c.meta_delete(MetaDelete::new(b"k")).unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::NotFound));

    // C: only with the current token.
    server.raw_set(b"k", b"v", 0);
    let cas = server.raw_item(b"k").unwrap().cas;
    let r = c
        .meta_delete(MetaDelete::new(b"k").compare_cas(cas + 1))
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Exists);
    assert_eq!(server.raw_get(b"k"), Some(b"v".to_vec()));
    let r = c
        .meta_delete(MetaDelete::new(b"k").compare_cas(cas))
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Ok);
    assert_eq!(server.raw_get(b"k"), None);

    // k returns the key; q answers only failures.
    server.raw_set(b"k", b"v", 0);
    let r = c.meta_delete(MetaDelete::new(b"k").return_key()).unwrap();
    assert_eq!((status(&r), r.key), (MetaStatus::Ok, b(b"k")));
    server.raw_set(b"k", b"v", 0);
    let r = c.meta_delete(MetaDelete::new(b"k").quiet()).unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Ok));
    assert_eq!(server.raw_get(b"k"), None);
    let r = c.meta_delete(MetaDelete::new(b"k").quiet()).unwrap();
    assert_eq!(status(&r), MetaStatus::NotFound);
}

#[test]
fn md_invalidate_marks_stale_with_a_ttl() {
    let server = MemcachedServer::start();
    let c = client(&server);
    c.meta_set(MetaSet::new(b"k", b"old")).unwrap();
    let before = server.raw_item(b"k").unwrap().cas;
    let r = c
        .meta_delete(MetaDelete::new(b"k").invalidate(Some(30)))
        .unwrap();
    assert_eq!(status(&r), MetaStatus::Ok);
    // Still there, with a new cas and the stale TTL.
    let r = c.meta_get(MetaGet::new(b"k").value().cas().ttl()).unwrap();
    assert_eq!(r.value, b(b"old"));
    assert!(r.stale && r.win && !r.already_won, "{r:?}");
    assert!(r.cas.unwrap() > before, "I bumps the cas");
    assert!(matches!(r.ttl, Some(29..=30)), "{:?}", r.ttl);
    let r = c.meta_get(MetaGet::new(b"k").value()).unwrap();
    assert!(r.stale && r.already_won && !r.win, "{r:?}");
    // Without T the TTL is kept.
    c.meta_set(MetaSet::new(b"j", b"v")).unwrap();
    c.meta_delete(MetaDelete::new(b"j").invalidate(None))
        .unwrap();
    let r = c.meta_get(MetaGet::new(b"j").ttl()).unwrap();
    assert_eq!((r.stale, r.ttl), (true, Some(-1)));
    // Invalidating a missing key: NF.
    let r = c
        .meta_delete(MetaDelete::new(b"none").invalidate(Some(30)))
        .unwrap();
    assert_eq!(status(&r), MetaStatus::NotFound);
    // A fresh set clears the stale mark.
    c.meta_set(MetaSet::new(b"k", b"new")).unwrap();
    let r = c.meta_get(MetaGet::new(b"k").value()).unwrap();
    assert_eq!(r.value, b(b"new"));
    assert!(!r.stale && !r.win && !r.already_won);
}

// ---------------------------------------------------------------------------
// ma

#[test]
fn ma_incr_decr_and_autovivify() {
    let server = MemcachedServer::start();
    let c = client(&server);
    // A miss without N: NF, nothing created.
    let r = c.meta_arithmetic(MetaArithmetic::new(b"n")).unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::NotFound));
    assert_eq!(server.raw_get(b"n"), None);
    // N + J: created at J (the delta is not applied on creation).
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"n").autovivify(0, 10))
        .unwrap();
    assert_eq!((status(&r), r.value), (MetaStatus::Value, b(b"10")));
    assert_eq!(server.raw_get(b"n"), Some(b"10".to_vec()));
    // D.
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"n").delta(5))
        .unwrap();
    assert_eq!(r.value, b(b"15"));
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"n").mode(ArithMode::Decr).delta(3))
        .unwrap();
    assert_eq!(r.value, b(b"12"));
    // Decrement floors at 0; increment wraps at 2^64.
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"n").mode(ArithMode::Decr).delta(100))
        .unwrap();
    assert_eq!(r.value, b(b"0"));
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"big").autovivify(0, u64::MAX))
        .unwrap();
    assert_eq!(r.value, b(u64::MAX.to_string().as_bytes()));
    let r = c.meta_arithmetic(MetaArithmetic::new(b"big")).unwrap();
    assert_eq!(r.value, b(b"0"));
    // Autovivify on an existing counter just applies the delta.
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"n").autovivify(0, 99).delta(2))
        .unwrap();
    assert_eq!(r.value, b(b"2"));
    // Autovivify with a TTL.
    c.meta_arithmetic(MetaArithmetic::new(b"ttl").autovivify(100, 1))
        .unwrap();
    assert!(matches!(server_ttl(&server, "ttl"), Some(98..=100)));
    // Not a number: the server's CLIENT_ERROR; the connection goes on.
    server.raw_set(b"text", b"abc", 0);
    let err = c.meta_arithmetic(MetaArithmetic::new(b"text")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Client, "{err}");
    assert!(
        err.report()
            .to_string()
            .contains("cannot increment or decrement non-numeric value"),
        "{err}"
    );
    assert!(c.is_connected());
    assert_eq!(
        c.meta_arithmetic(MetaArithmetic::new(b"n")).unwrap().value,
        b(b"3")
    );
}

#[test]
fn ma_compare_ttl_and_returned_flags() {
    let server = MemcachedServer::start();
    let c = client(&server);
    server.raw_set(b"n", b"5", 0);
    let cas = server.raw_item(b"n").unwrap().cas;
    // C: a stale token is refused.
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"n").compare_cas(cas + 1))
        .unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Exists));
    assert_eq!(server.raw_get(b"n"), Some(b"5".to_vec()));
    // The right token applies; c returns the new token, t the TTL.
    let r = c
        .meta_arithmetic(
            MetaArithmetic::new(b"n")
                .compare_cas(cas)
                .return_cas()
                .return_ttl(),
        )
        .unwrap();
    assert_eq!(r.value, b(b"6"));
    let now = server.raw_item(b"n").unwrap().cas;
    assert_eq!(r.cas, Some(now));
    assert_ne!(now, cas);
    assert_eq!(r.ttl, Some(-1));
    // T sets the TTL on success.
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"n").ttl(100).return_ttl())
        .unwrap();
    assert_eq!(r.value, b(b"7"));
    // T goes before t on the wire: t is the new TTL. (Whether the stored
    // item keeps it is memcached's business: 1.6.18 loses it when it
    // replaces the item instead of writing the number in place.)
    assert_eq!(r.ttl, Some(100));
    // Without v: HD, no value.
    let mut no_value = MetaArithmetic::new(b"n");
    no_value.return_value = false;
    let r = c.meta_arithmetic(no_value).unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Ok));
    assert_eq!(server.raw_get(b"n"), Some(b"8".to_vec()));
    // q: success is silent (VA suppressed too), and applied.
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"n").quiet())
        .unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::Ok));
    assert_eq!(server.raw_get(b"n"), Some(b"9".to_vec()));
    // q on a miss: NF is still said.
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"none").quiet())
        .unwrap();
    assert_eq!(r, MetaReply::new(MetaStatus::NotFound));
}

// ---------------------------------------------------------------------------
// mn, me

#[test]
fn mn_and_me() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let out = c.execute_meta(&[MetaRequest::Noop]).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(meta_ok(&out[0]), &MetaReply::new(MetaStatus::Noop));

    let cas = c
        .meta_set(MetaSet::new(b"k", b"hello").return_cas())
        .unwrap()
        .cas
        .unwrap();
    let r = c.meta_debug("k").unwrap();
    assert_eq!(status(&r), MetaStatus::Debug);
    let text = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
    let fields: HashMap<&str, &str> = text
        .split(' ')
        .map(|kv| kv.split_once('=').unwrap())
        .collect();
    assert_eq!(fields["exp"], "-1", "{text}");
    assert_eq!(fields["cas"], cas.to_string(), "{text}");
    assert_eq!(fields["fetch"], "no", "{text}");
    assert!(fields.contains_key("la") && fields.contains_key("cls") && fields.contains_key("size"));
    assert_eq!(
        c.meta_debug("missing").unwrap(),
        MetaReply::new(MetaStatus::Miss)
    );
    // A binary key.
    c.meta_set(MetaSet::new(b"a b", b"v")).unwrap();
    let r = c.meta_debug(b"a b").unwrap();
    assert_eq!(status(&r), MetaStatus::Debug);
    assert!(r.value.unwrap().starts_with(b"exp=-1 "));
}

// ---------------------------------------------------------------------------
// Binary keys and key prefixes

#[test]
fn binary_keys_round_trip() {
    let server = MemcachedServer::start();
    let c = client(&server);
    let keys: [&[u8]; 7] = [
        b"a b",
        b"\r\n",
        b"\0",
        b"\xff",
        b"mixed \0\r\n\xff key",
        "clé ☃".as_bytes(),
        b"mg x v\r\nms y 1",
    ];
    for (i, key) in keys.iter().enumerate() {
        let value = format!("value {i}");
        let r = c
            .meta_set(MetaSet::new(key, value.as_bytes()).return_key())
            .unwrap();
        assert_eq!((status(&r), r.key.as_deref()), (MetaStatus::Ok, Some(*key)));
        // The server holds it under the decoded bytes.
        assert_eq!(
            raw_meta(&server, &format!("mg {} b v", b64(key))),
            format!("VA {}\r\n{value}\r\n", value.len()),
            "{key:?}"
        );
        let r = c.meta_get(MetaGet::new(key).value().key()).unwrap();
        assert_eq!(r.value, b(value.as_bytes()), "{key:?}");
        assert_eq!(r.key.as_deref(), Some(*key), "returned decoded");
    }
    // Distinct keys stay distinct.
    assert_eq!(
        c.meta_get(MetaGet::new(b"\0").value()).unwrap().value,
        b(b"value 2")
    );
    // Every command takes them.
    let r = c
        .meta_arithmetic(MetaArithmetic::new(b"c n t").autovivify(0, 41))
        .unwrap();
    assert_eq!(r.value, b(b"41"));
    let r = c.meta_arithmetic(MetaArithmetic::new(b"c n t")).unwrap();
    assert_eq!(r.value, b(b"42"));
    let r = c.meta_delete(MetaDelete::new(b"a b").return_key()).unwrap();
    assert_eq!((status(&r), r.key), (MetaStatus::Ok, b(b"a b")));
    assert_eq!(
        raw_meta(&server, &format!("mg {} b v", b64(b"a b"))),
        "EN\r\n"
    );
    // A printable key goes as it is: the classic commands see it.
    c.meta_set(MetaSet::new(b"plain", b"p")).unwrap();
    assert_eq!(server.raw_get(b"plain"), Some(b"p".to_vec()));
}

#[test]
fn a_binary_key_too_long_in_base64_is_refused_before_sending() {
    let server = MemcachedServer::start();
    let c = client(&server);
    // 186 bytes are 248 in base64: fine. 187 are 252: refused.
    let fits = vec![b' '; 186];
    let r = c.meta_set(MetaSet::new(&fits, b"v")).unwrap();
    assert_eq!(status(&r), MetaStatus::Ok);
    let sets = server.raw_stat("cmd_set");

    let fresh = client(&server);
    let long = vec![b' '; 187];
    for err in [
        fresh.meta_set(MetaSet::new(&long, b"v")).unwrap_err(),
        fresh.meta_get(MetaGet::new(&long)).unwrap_err(),
        fresh.meta_delete(MetaDelete::new(&long)).unwrap_err(),
        fresh
            .meta_arithmetic(MetaArithmetic::new(&long))
            .unwrap_err(),
        fresh.meta_debug(&long).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
        assert!(err.to_string().contains("252 bytes"), "{err}");
    }
    // In a batch, nothing of it is sent.
    let err = fresh
        .execute_meta(&[
            MetaSet::new(b"ok", b"v").into(),
            MetaSet::new(&long, b"v").into(),
        ])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    assert!(
        !fresh.is_connected(),
        "nothing was sent, not even a connect"
    );
    assert_eq!(server.raw_stat("cmd_set"), sets);
    assert_eq!(server.raw_get(b"ok"), None);
    // An empty key is refused too.
    let err = fresh.meta_get(MetaGet::new(b"")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
}

#[test]
fn key_prefix_applies_under_meta() {
    let server = MemcachedServer::start();
    let c = builder(&server).key_prefix("p:").build().unwrap();
    let r = c.meta_set(MetaSet::new(b"k", b"v").return_key()).unwrap();
    assert_eq!(r.key, b(b"k"), "the prefix is removed from returned keys");
    assert_eq!(server.raw_get(b"p:k"), Some(b"v".to_vec()));
    assert_eq!(server.raw_get(b"k"), None);
    let r = c.meta_get(MetaGet::new(b"k").value().key()).unwrap();
    assert_eq!((r.value, r.key), (b(b"v"), b(b"k")));
    // Inside base64 too: the server's key is "p:a b".
    c.meta_set(MetaSet::new(b"a b", b"w")).unwrap();
    assert_eq!(
        raw_meta(&server, &format!("mg {} b v", b64(b"p:a b"))),
        "VA 1\r\nw\r\n"
    );
    let r = c.meta_get(MetaGet::new(b"a b").key()).unwrap();
    assert_eq!(r.key, b(b"a b"));
    // md, ma and me too.
    server.raw_set(b"p:n", b"1", 0);
    let r = c.meta_arithmetic(MetaArithmetic::new(b"n")).unwrap();
    assert_eq!(r.value, b(b"2"));
    assert_eq!(status(&c.meta_debug("n").unwrap()), MetaStatus::Debug);
    c.meta_delete(MetaDelete::new(b"k")).unwrap();
    assert_eq!(server.raw_get(b"p:k"), None);
    // The prefix counts towards the base64 length: "p:" + 185 is 187.
    let err = c.meta_get(MetaGet::new(&[b' '; 185])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    // The classic commands under Protocol::Meta use the prefix as well.
    let m = builder(&server)
        .key_prefix("p:")
        .protocol(Protocol::Meta)
        .build()
        .unwrap();
    assert!(m.set("classic", "c").unwrap());
    assert_eq!(server.raw_get(b"p:classic"), Some(b"c".to_vec()));
    assert_eq!(m.get("classic").unwrap(), Some(Value::from(&b"c"[..])));
}

// ---------------------------------------------------------------------------
// A quiet-mode pipeline with failures

#[test]
fn a_quiet_pipeline_reports_each_failure_for_its_own_request() {
    let server = MemcachedServer::builder().item_size_limit("1k").start();
    server.raw_set(b"exists", b"old", 0);
    let c = client(&server);
    let before = total_connections(&c);

    let big = vec![b'x'; 2000];
    let small: Vec<String> = (0..40).map(|i| format!("value {i}")).collect();
    let keys: Vec<String> = (0..40).map(|i| format!("key{i}")).collect();
    // Index → what must happen.
    let too_large = [3usize, 17, 18, 39];
    let add_existing = [0usize, 25];
    let mut requests: Vec<MetaRequest<'_>> = Vec::new();
    for i in 0..40 {
        let r = if too_large.contains(&i) {
            MetaSet::new(keys[i].as_bytes(), &big).quiet()
        } else if add_existing.contains(&i) {
            MetaSet::new(b"exists", small[i].as_bytes())
                .mode(SetMode::Add)
                .quiet()
        } else {
            MetaSet::new(keys[i].as_bytes(), small[i].as_bytes()).quiet()
        };
        requests.push(r.into());
    }
    let out = c.execute_meta(&requests).unwrap();
    assert_eq!(out.len(), 40);
    for (i, outcome) in out.iter().enumerate() {
        if too_large.contains(&i) {
            match outcome {
                Some(Err(e)) => {
                    assert_eq!(e.kind(), ErrorKind::Server, "{i}: {e}");
                    assert!(
                        e.report()
                            .to_string()
                            .contains("object too large for cache"),
                        "{i}: {e}"
                    );
                }
                other => panic!("request {i}: {other:?}"),
            }
        } else if add_existing.contains(&i) {
            assert_eq!(
                meta_ok(outcome),
                &MetaReply::new(MetaStatus::NotStored),
                "request {i}"
            );
        } else {
            assert!(outcome.is_none(), "request {i} succeeded: {outcome:?}");
        }
    }
    // The connection is still in step, and it is the same one.
    assert!(c.is_connected());
    let r = c.meta_get(MetaGet::new(b"key1").value()).unwrap();
    assert_eq!(r.value, b(b"value 1"));
    assert_eq!(total_connections(&c), before, "no reconnection");
    // What the server holds.
    for i in 0..40 {
        let held = server.raw_get(keys[i].as_bytes());
        if too_large.contains(&i) || add_existing.contains(&i) {
            assert_eq!(held, None, "{i}");
        } else {
            assert_eq!(held, Some(small[i].clone().into_bytes()), "{i}");
        }
    }
    assert_eq!(server.raw_get(b"exists"), Some(b"old".to_vec()));

    // Mixed with requests that answer, and a second batch on the same
    // connection (the raw checks above opened connections of their own).
    let before = total_connections(&c);
    let out = c
        .execute_meta(&[
            MetaSet::new(b"m1", &big).quiet().into(),
            MetaGet::new(b"key2").value().into(),
            MetaSet::new(b"m2", b"fine").quiet().into(),
            MetaDelete::new(b"nothing").quiet().into(),
            MetaRequest::Noop,
            MetaGet::new(b"nothing").value().quiet().into(),
        ])
        .unwrap();
    assert!(matches!(&out[0], Some(Err(e)) if e.kind() == ErrorKind::Server));
    let mut want = MetaReply::new(MetaStatus::Value);
    want.value = b(b"value 2");
    assert_eq!(meta_ok(&out[1]), &want);
    assert!(out[2].is_none());
    assert_eq!(meta_ok(&out[3]), &MetaReply::new(MetaStatus::NotFound));
    assert_eq!(meta_ok(&out[4]), &MetaReply::new(MetaStatus::Noop));
    assert!(out[5].is_none(), "a quiet miss says nothing");
    assert_eq!(total_connections(&c), before);
    assert_eq!(server.raw_get(b"m2"), Some(b"fine".to_vec()));
}

// ---------------------------------------------------------------------------
// The classic command API over both protocols

/// Runs the classic command API against a fresh server with `protocol`,
/// asserting every exact result, and returns the transcript of results
/// (which must not depend on the protocol).
fn classic_suite(protocol: Protocol) -> Vec<String> {
    let server = MemcachedServer::start();
    let c = builder(&server).protocol(protocol).build().unwrap();
    let v = |s: &str| Value::from(s.as_bytes());
    let mut log: Vec<String> = Vec::new();
    let mut rec = |label: &str, result: String| log.push(format!("{label}: {result}"));

    // set / get
    assert_eq!(c.set("k", "v1").unwrap(), true);
    assert_eq!(server.raw_get(b"k"), Some(b"v1".to_vec()));
    let got = c.get("k").unwrap();
    assert_eq!(got, Some(v("v1")));
    rec("get", format!("{got:?}"));
    assert_eq!(c.get::<Value>("missing").unwrap(), None);
    assert!(c
        .set_with(
            "f",
            "xyz",
            StoreOptions::new()
                .expire(Duration::from_secs(100))
                .flags(7)
        )
        .unwrap());
    let item = server.raw_item(b"f").unwrap();
    assert_eq!((item.flags, item.value.as_slice()), (7, &b"xyz"[..]));
    assert!(matches!(server_ttl(&server, "f"), Some(98..=100)));
    assert!(c
        .set_with("max", "m", StoreOptions::new().flags(u32::MAX))
        .unwrap());
    assert_eq!(server.raw_item(b"max").unwrap().flags, u32::MAX);
    assert!(c.set("forever", "x").unwrap());
    assert_eq!(server_ttl(&server, "forever"), Some(-1));
    assert!(c
        .set_with("gone", "v", StoreOptions::new().expire(UNIX_EPOCH))
        .unwrap());
    assert_eq!(c.get::<Value>("gone").unwrap(), None);
    assert!(c.set("empty", &b""[..]).unwrap());
    assert_eq!(c.get("empty").unwrap(), Some(v("")));
    let tricky: &[u8] = b"VALUE other 0 3\r\nabc\r\nEND\r\nVA 1\r\nHD\r\n";
    assert!(c.set("tricky", tricky).unwrap());
    assert_eq!(c.get("tricky").unwrap(), Some(Value::from(tricky)));

    // add / replace / append / prepend
    let add = (c.add("k", "x").unwrap(), c.add("new", "n").unwrap());
    assert_eq!(add, (false, true));
    rec("add", format!("{add:?}"));
    let replace = (
        c.replace("none", "r").unwrap(),
        c.replace("k", "v2").unwrap(),
    );
    assert_eq!(replace, (false, true));
    rec("replace", format!("{replace:?}"));
    assert_eq!(server.raw_get(b"k"), Some(b"v2".to_vec()));
    let missing = (
        c.append("none", "a").unwrap(),
        c.prepend("none", "p").unwrap(),
    );
    assert_eq!(missing, (false, false));
    server.raw_set(b"ap", b"mid", 5);
    let present = (
        c.append("ap", "_a").unwrap(),
        c.prepend("ap", "p_").unwrap(),
    );
    assert_eq!(present, (true, true));
    rec("append/prepend", format!("{missing:?} {present:?}"));
    let item = server.raw_item(b"ap").unwrap();
    assert_eq!((item.value.as_slice(), item.flags), (&b"p_mid_a"[..], 5));

    // gets / cas
    let (value, token) = c.gets::<Value>("k").unwrap().unwrap();
    assert_eq!(value, v("v2"));
    assert_eq!(token, server.raw_item(b"k").unwrap().cas);
    assert_eq!(c.gets::<Value>("missing").unwrap(), None);
    let cas = (
        c.cas("k", "v3", token, StoreOptions::new()).unwrap(),
        c.cas("k", "v4", token, StoreOptions::new()).unwrap(),
        c.cas("none", "v", token, StoreOptions::new()).unwrap(),
    );
    assert_eq!(cas, (Some(true), Some(false), None));
    rec("cas", format!("{cas:?}"));
    assert_eq!(server.raw_get(b"k"), Some(b"v3".to_vec()));

    // get_many / gets_many
    server.raw_set(b"a", b"1", 0);
    server.raw_set(b"b", b"2", 3);
    let many = c.get_many(&["a", "missing", "b", "a"]).unwrap();
    let want: HashMap<&str, Value> = [("a", v("1")), ("b", v("2"))].into();
    assert_eq!(many, want);
    let mut sorted: Vec<_> = many.into_iter().collect();
    sorted.sort_by(|x, y| x.0.cmp(y.0));
    rec("get_many", format!("{sorted:?}"));
    assert!(c.get_many::<Value, _>(&["x", "y"]).unwrap().is_empty());
    let none: &[&str] = &[];
    assert!(c.get_many::<Value, _>(none).unwrap().is_empty());
    let gm = c
        .gets_many(&[b"a".to_vec(), b"zz".to_vec(), b"b".to_vec()])
        .unwrap();
    assert_eq!(gm.len(), 2);
    assert_eq!(
        gm[&b"a".to_vec()],
        (v("1"), server.raw_item(b"a").unwrap().cas)
    );
    assert_eq!(
        gm[&b"b".to_vec()],
        (v("2"), server.raw_item(b"b").unwrap().cas)
    );

    // gat / gats / touch
    assert!(c.set("t", "tv").unwrap());
    assert_eq!(c.gat("t", Duration::from_secs(100)).unwrap(), Some(v("tv")));
    assert!(matches!(server_ttl(&server, "t"), Some(98..=100)));
    let (gv, gt) = c.gats("t", Duration::from_secs(200)).unwrap().unwrap();
    assert_eq!((gv, gt), (v("tv"), server.raw_item(b"t").unwrap().cas));
    assert!(matches!(server_ttl(&server, "t"), Some(198..=200)));
    assert_eq!(
        c.gat::<Value>("missing", Duration::from_secs(10)).unwrap(),
        None
    );
    assert_eq!(
        c.gats::<Value>("missing", Duration::from_secs(10)).unwrap(),
        None
    );
    let touch = (
        c.touch("t", Duration::ZERO).unwrap(),
        c.touch("missing", Duration::from_secs(10)).unwrap(),
    );
    assert_eq!(touch, (true, false));
    rec("touch", format!("{touch:?}"));
    assert_eq!(server_ttl(&server, "t"), Some(-1));

    // delete / delete_many
    let del = (c.delete("t").unwrap(), c.delete("t").unwrap());
    assert_eq!(del, (true, false));
    rec("delete", format!("{del:?}"));
    assert_eq!(server.raw_get(b"t"), None);
    assert_eq!(c.delete_many(&["a", "missing", "b"]).unwrap(), true);
    assert_eq!((server.raw_get(b"a"), server.raw_get(b"b")), (None, None));

    // incr / decr
    let arith = (c.incr("n", 1).unwrap(), c.decr("n", 1).unwrap());
    assert_eq!(arith, (None, None));
    assert!(c.set("n", "10").unwrap());
    let arith = (
        c.incr("n", 5).unwrap(),
        c.decr("n", 3).unwrap(),
        c.decr("n", 100).unwrap(),
        c.incr("n", 7).unwrap(),
    );
    assert_eq!(arith, (Some(15), Some(12), Some(0), Some(7)));
    rec("incr/decr", format!("{arith:?}"));
    assert!(c.set("n", u64::MAX).unwrap());
    assert_eq!(c.incr("n", 1).unwrap(), Some(0));
    assert!(c.set("text", "abc").unwrap());
    let err = c.incr("text", 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Client, "{err}");
    rec(
        "incr text",
        format!("{:?} {}", err.kind(), err.core_error().unwrap()),
    );
    assert!(c.is_connected());

    // set_many
    let failed = c
        .set_many(&[("s1", "1"), ("s2", "2")], StoreOptions::new().flags(4))
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(server.raw_item(b"s2").unwrap().flags, 4);
    let failed = c
        .set_many(&[("s3", "3")], StoreOptions::new().noreply(true))
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(c.get("s3").unwrap(), Some(v("3")));

    // noreply: true without asking, whatever happened, in order.
    let q = (
        c.set_with("k", "q", StoreOptions::new().noreply(true))
            .unwrap(),
        c.store_with(
            memcrab::core::StoreCommand::Add,
            "k",
            "x",
            StoreOptions::new().noreply(true),
        )
        .unwrap(),
        c.store_with(
            memcrab::core::StoreCommand::Replace,
            "none",
            "x",
            StoreOptions::new().noreply(true),
        )
        .unwrap(),
        c.store_with(
            memcrab::core::StoreCommand::Append,
            "none",
            "x",
            StoreOptions::new().noreply(true),
        )
        .unwrap(),
        c.delete_with("none", true).unwrap(),
        c.touch_with("none", Duration::from_secs(10), true).unwrap(),
        c.cas("k", "c", 1, StoreOptions::new().noreply(true))
            .unwrap(),
        c.delete_many_with(&["none", "none2"], true).unwrap(),
    );
    assert_eq!(q, (true, true, true, true, true, true, Some(true), true));
    rec("noreply", format!("{q:?}"));
    assert_eq!(c.get("k").unwrap(), Some(v("q")));
    assert_eq!(server.raw_get(b"none"), None);

    // Bad keys are the caller's, under either protocol.
    for key in ["a b", "tab\tkey", "clé"] {
        let err = c.set(key, "v").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
        let err = c.get::<Value>(key).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
        rec("bad key", err.to_string());
    }

    // flush_all / stats / version
    assert_eq!(c.flush_all_with(Duration::ZERO, false).unwrap(), true);
    assert_eq!(c.get::<Value>("k").unwrap(), None);
    let stats = c.stats(&[]).unwrap();
    assert_eq!(
        stats.get("pid"),
        Some(&StatValue::Int(i128::from(server.pid().unwrap())))
    );
    let raw = String::from_utf8(server.raw(b"version\r\n")).unwrap();
    let want = raw.trim_end().strip_prefix("VERSION ").unwrap().to_owned();
    assert_eq!(c.version().unwrap(), want);
    let err = c.stats(&["bogus"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownCommand, "{err}");
    rec("stats bogus", format!("{:?}", err.kind()));

    // key_prefix
    let p = builder(&server)
        .protocol(protocol)
        .key_prefix("p:")
        .build()
        .unwrap();
    assert!(p.set("a", "1").unwrap());
    assert!(p.set("b", "2").unwrap());
    assert_eq!(server.raw_get(b"p:a"), Some(b"1".to_vec()));
    server.raw_set(b"c", b"unprefixed", 0);
    assert_eq!(p.get::<Value>("c").unwrap(), None);
    let got = p.get_many(&["a", "b", "c"]).unwrap();
    let want: HashMap<&str, Value> = [("a", v("1")), ("b", v("2"))].into();
    assert_eq!(got, want);
    let (_, token) = p.gets::<Value>("a").unwrap().unwrap();
    assert_eq!(token, server.raw_item(b"p:a").unwrap().cas);
    assert!(p.set("n", "5").unwrap());
    assert_eq!(p.incr("n", 1).unwrap(), Some(6));
    assert!(p.touch("a", Duration::from_secs(100)).unwrap());
    assert!(p.delete("a").unwrap());
    assert_eq!(server.raw_get(b"p:a"), None);
    let err = p.set("k".repeat(249), "v").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalInput, "{err}");
    assert!(err.to_string().contains("251 bytes"), "{err}");
    rec(
        "prefix",
        format!("{:?}", p.get_many::<Value, _>(&["b", "n"]).unwrap().len()),
    );

    // Unicode keys when allowed.
    let u = builder(&server)
        .protocol(protocol)
        .allow_unicode_keys(true)
        .build()
        .unwrap();
    assert!(u.set("my☃", "snow").unwrap());
    assert_eq!(server.raw_get("my☃".as_bytes()), Some(b"snow".to_vec()));
    assert_eq!(u.get("my☃").unwrap(), Some(v("snow")));
    assert_eq!(u.get_many::<Value, _>(&["my☃"]).unwrap()["my☃"], v("snow"));

    // The server saw every command on one connection per client.
    assert!(c.is_connected() && p.is_connected() && u.is_connected());
    log
}

#[test]
fn the_classic_api_gives_the_same_results_over_both_protocols() {
    let text = classic_suite(Protocol::Text);
    let meta = classic_suite(Protocol::Meta);
    assert_eq!(text, meta);
    assert!(text.len() > 15, "{text:?}");
}

#[test]
fn noreply_set_over_the_limit_is_reported_only_under_meta() {
    let server = MemcachedServer::builder().item_size_limit("1k").start();
    let big = vec![b'x'; 2000];
    let noreply = StoreOptions::new().noreply(true);

    // Text: memcached 1.6 sends nothing for the refused noreply set, so the
    // client cannot know; the value is silently dropped.
    let text = client(&server);
    assert_eq!(text.set_with("big", &big[..], noreply).unwrap(), true);
    assert_eq!(text.get::<Value>("big").unwrap(), None);
    assert!(text.is_connected());

    // Meta: the noreply set runs in quiet mode, and its failure is reported.
    let meta = meta_client(&server);
    let err = meta.set_with("big", &big[..], noreply).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert!(
        err.report().to_string().contains("object too large"),
        "{err}"
    );
    assert!(!err.is_fatal());
    assert!(meta.is_connected(), "the connection stays in step");
    assert_eq!(meta.get::<Value>("big").unwrap(), None);
    assert_eq!(server.raw_get(b"big"), None);
    // A noreply set that fits is silent, and stored.
    assert_eq!(meta.set_with("small", "s", noreply).unwrap(), true);
    assert_eq!(meta.get("small").unwrap(), Some(Value::from(&b"s"[..])));
    // In a batch, the failure is the big one's, with the others stored.
    let err = meta
        .set_many(
            &[("a", &b"1"[..]), ("big", &big[..]), ("c", &b"3"[..])],
            noreply,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert_eq!(server.raw_get(b"a"), Some(b"1".to_vec()));
    assert_eq!(server.raw_get(b"c"), Some(b"3".to_vec()));
    assert!(meta.is_connected());
}
