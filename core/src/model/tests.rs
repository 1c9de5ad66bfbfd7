//! The model's answers, as a real memcached 1.6.18 gave them (captured with
//! a socket, byte for byte; cas tokens renumbered for a fresh server).

use alloc::vec::Vec;

use super::{Model, ModelConfig};
use crate::time::Millis;

fn model() -> Model {
    Model::new(ModelConfig::default())
}

/// Sends `input` at time `at` (ms) and returns the answer.
fn ask(m: &mut Model, input: &[u8], at: u64) -> Vec<u8> {
    m.receive(input, Millis(at));
    m.take_transmit()
}

fn check(m: &mut Model, input: &[u8], want: &[u8]) {
    let got = ask(m, input, 0);
    assert_eq!(
        alloc::string::String::from_utf8_lossy(&got),
        alloc::string::String::from_utf8_lossy(want),
        "for {:?}",
        alloc::string::String::from_utf8_lossy(input)
    );
}

#[test]
fn any_split_of_the_input_gives_the_same_answer() {
    let input: &[u8] = b"set a 3 0 2\r\nhi\r\nget a b\r\nms b 2 T0 F7 c\r\nyo\r\n\
        mg b v f c q\r\nmg zz v q\r\nmn\r\nincr a 1\r\nappend a 0 0 1 noreply\r\n!\r\ngets a\r\n";
    let whole = ask(&mut model(), input, 0);
    assert!(whole.ends_with(b"non-numeric value\r\nVALUE a 3 3 3\r\nhi!\r\nEND\r\n"));
    for cut in 0..input.len() {
        let mut m = model();
        m.receive(&input[..cut], Millis(0));
        m.receive(&input[cut..], Millis(0));
        assert_eq!(m.take_transmit(), whole, "cut at {cut}");
    }
    let mut m = model();
    for b in input {
        m.receive(core::slice::from_ref(b), Millis(0));
    }
    assert_eq!(m.take_transmit(), whole);
}

#[test]
fn storage_commands_answer_as_memcached() {
    let mut m = model();
    check(&mut m, b"add a 1 0 1\r\nx\r\n", b"STORED\r\n");
    check(&mut m, b"add a 1 0 1\r\ny\r\n", b"NOT_STORED\r\n");
    check(&mut m, b"replace zz 0 0 1\r\ny\r\n", b"NOT_STORED\r\n");
    check(&mut m, b"prepend zz 0 0 1\r\ny\r\n", b"NOT_STORED\r\n");
    check(&mut m, b"append a 9 0 2\r\nyz\r\n", b"STORED\r\n");
    check(&mut m, b"prepend a 9 0 1\r\nw\r\n", b"STORED\r\n");
    // append and prepend keep the flags.
    check(&mut m, b"gets a\r\n", b"VALUE a 1 4 3\r\nwxyz\r\nEND\r\n");
    check(&mut m, b"cas a 0 0 1 2\r\nq\r\n", b"EXISTS\r\n");
    check(&mut m, b"cas zz 0 0 1 2\r\nq\r\n", b"NOT_FOUND\r\n");
    check(
        &mut m,
        b"cas a 5 0 1 3\r\nq\r\ngets a\r\n",
        b"STORED\r\nVALUE a 5 1 4\r\nq\r\nEND\r\n",
    );
    check(&mut m, b"set a 0 0 1 2\r\nx\r\n", b"STORED\r\n");
    check(
        &mut m,
        b"set a 4294967297 0 1\r\n1\r\nget a\r\n",
        b"STORED\r\nVALUE a 1 1\r\n1\r\nEND\r\n",
    );
    check(
        &mut m,
        b"set a 0 0 1 noreply\r\nxyz\r\nget a\r\n",
        b"ERROR\r\nVALUE a 1 1\r\n1\r\nEND\r\n",
    );
    check(
        &mut m,
        b"set b 0 0 1\r\nxyz\r\n",
        b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
    );
    check(
        &mut m,
        b"set b 0 0 abc\r\nx\r\n",
        b"CLIENT_ERROR bad command line format\r\nERROR\r\n",
    );
    check(
        &mut m,
        b"set a -1 0 1\r\nx\r\n",
        b"CLIENT_ERROR bad command line format\r\nERROR\r\n",
    );
    check(
        &mut m,
        b"set a 0 0 1 noreply x\r\nx\r\n",
        b"ERROR\r\nERROR\r\n",
    );
    check(&mut m, b"cas a 0 0 1\r\nx\r\n", b"ERROR\r\nERROR\r\n");
    let long = [b'k'; 251];
    let mut line = Vec::from(&b"set "[..]);
    line.extend_from_slice(&long);
    line.extend_from_slice(b" 0 0 1\r\nx\r\n");
    check(
        &mut m,
        &line,
        b"CLIENT_ERROR bad command line format\r\nERROR\r\n",
    );
}

#[test]
fn an_item_over_the_limit_is_refused_and_its_data_swallowed() {
    let mut m = model();
    // memcached's limit: value + key + 59 bytes of header.
    let max = 1024 * 1024 - 59 - 1;
    for (len, want) in [
        (max, &b"STORED\r\n"[..]),
        (max + 1, b"SERVER_ERROR object too large for cache\r\n"),
    ] {
        let mut input = alloc::format!("set s 0 0 {len}\r\n").into_bytes();
        input.resize(input.len() + len, b'a');
        input.extend_from_slice(b"\r\n");
        check(&mut m, &input, want);
    }
    // The failed set removed the old value; noreply hides the error.
    check(&mut m, b"get s\r\n", b"END\r\n");
    let mut input = alloc::format!("set s 0 0 {} noreply\r\n", max + 1).into_bytes();
    input.resize(input.len() + max + 1, b'a');
    check(&mut m, &input, b"");
    check(&mut m, b"\r\nversion\r\n", b"VERSION 1.6.18\r\n");
    check(&mut m, b"set a 0 0 1\r\nx\r\n", b"STORED\r\n");
    let mut input = alloc::format!("append a 0 0 {max}\r\n").into_bytes();
    input.resize(input.len() + max, b'a');
    input.extend_from_slice(b"\r\nget a\r\n");
    check(&mut m, &input, b"NOT_STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
}

#[test]
fn incr_and_decr_wrap_floor_pad_and_refuse_non_numbers() {
    let mut m = model();
    check(&mut m, b"incr n 1\r\n", b"NOT_FOUND\r\n");
    check(
        &mut m,
        b"set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\n",
        b"STORED\r\n1\r\n",
    );
    // In place, padded with spaces to the old length.
    check(
        &mut m,
        b"get n\r\n",
        b"VALUE n 0 20\r\n1                   \r\nEND\r\n",
    );
    check(&mut m, b"decr n 5\r\n", b"0\r\n");
    check(
        &mut m,
        b"set n 3 0 2\r\n99\r\nincr n 1\r\ngets n\r\n",
        b"STORED\r\n100\r\nVALUE n 3 3 5\r\n100\r\nEND\r\n",
    );
    check(
        &mut m,
        b"set s 0 0 3\r\nabc\r\nincr s 1 noreply\r\nincr s 1\r\n",
        b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
    );
    check(&mut m, b"decr s x\r\nincr\r\nincr s\r\nincr s -1\r\n",
        b"CLIENT_ERROR invalid numeric delta argument\r\nERROR\r\nERROR\r\nCLIENT_ERROR invalid numeric delta argument\r\n");
    check(
        &mut m,
        b"set e 0 0 0\r\n\r\nincr e 1\r\n",
        b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
    );
    check(
        &mut m,
        b"set z 0 0 24\r\n000000000000000000000007\r\nincr z 1\r\n",
        b"STORED\r\n8\r\n",
    );
    check(
        &mut m,
        b"set m 0 0 2\r\n-3\r\nincr m 1\r\n",
        b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
    );
}

#[test]
fn other_text_commands_answer_as_memcached() {
    let mut m = model();
    check(
        &mut m,
        b"\r\nget\r\nget \r\nbogus\r\nGET a\r\n",
        b"ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n",
    );
    check(&mut m, b"delete s 0\r\ndelete s 1\r\ndelete s 0 noreply\r\ndelete s\r\n",
        b"NOT_FOUND\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nNOT_FOUND\r\n");
    check(
        &mut m,
        b"touch s 10\r\nset s 0 0 1\r\n1\r\ntouch s 10\r\ntouch s\r\ntouch s abc\r\n",
        b"NOT_FOUND\r\nSTORED\r\nTOUCHED\r\nERROR\r\nCLIENT_ERROR invalid exptime argument\r\n",
    );
    check(&mut m, b"gat\r\ngat 10\r\ngat 10 s\r\ngats 10 s zz\r\ngat abc s\r\n",
        b"ERROR\r\nEND\r\nVALUE s 0 1\r\n1\r\nEND\r\nVALUE s 0 1 1\r\n1\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\n");
    check(
        &mut m,
        b"flush_all noreply\r\nflush_all\r\nflush_all abc\r\nflush_all 0 noreply\r\n",
        b"OK\r\nCLIENT_ERROR invalid exptime argument\r\n",
    );
    check(&mut m, b"verbosity\r\nverbosity 1\r\nverbosity 1 noreply\r\nverbosity abc\r\nverbosity noreply\r\n",
        b"ERROR\r\nOK\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n");
    check(&mut m, b"cache_memlimit\r\ncache_memlimit abc\r\ncache_memlimit 100 noreply\r\ncache_memlimit 1\r\ncache_memlimit 100\r\n",
        b"ERROR\r\nERROR\r\nMEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\nOK\r\n");
    check(
        &mut m,
        b"stats bogus\r\nstats reset\r\nversion x\r\n",
        b"ERROR\r\nRESET\r\nVERSION 1.6.18\r\n",
    );
    let stats = ask(&mut m, b"stats\r\n", 0);
    assert!(stats.starts_with(b"STAT pid 1\r\n") && stats.ends_with(b"END\r\n"));
    assert!(stats.windows(21).any(|w| w == b"STAT version 1.6.18\r\n"));
    check(&mut m, b"quit\r\nversion\r\n", b"");
    assert!(m.is_closed());
    m.reconnect();
    check(&mut m, b"version\r\n", b"VERSION 1.6.18\r\n");
}

#[test]
fn ttls_are_relative_absolute_or_negative() {
    let mut m = model();
    m.set_unix_time(2_000_000_000, Millis(0));
    m.receive(
        b"set r 0 10 1\r\nr\r\nset a 0 2000000005 1\r\na\r\nset n 0 -1 1\r\nn\r\n",
        Millis(0),
    );
    m.receive(
        b"set old 0 1999999999 1\r\no\r\nset never 0 0 1\r\nv\r\n",
        Millis(0),
    );
    assert_eq!(m.take_transmit(), b"STORED\r\n".repeat(5));
    check(&mut m, b"get n old\r\n", b"END\r\n");
    assert_eq!(
        ask(&mut m, b"get a r\r\n", 4_999),
        b"VALUE a 0 1\r\na\r\nVALUE r 0 1\r\nr\r\nEND\r\n"
    );
    assert_eq!(
        ask(&mut m, b"get a r\r\n", 5_000),
        b"VALUE r 0 1\r\nr\r\nEND\r\n"
    );
    assert_eq!(
        ask(&mut m, b"mg r t\r\nmg never t\r\n", 6_000),
        b"HD t4\r\nHD t-1\r\n"
    );
    assert_eq!(ask(&mut m, b"get r\r\n", 10_000), b"END\r\n");
    // touch and gat move the expiry; a negative one expires at once.
    assert_eq!(
        ask(
            &mut m,
            b"touch never 1\r\ngat -1 never\r\nget never\r\n",
            10_000
        ),
        b"TOUCHED\r\nVALUE never 0 1\r\nv\r\nEND\r\nEND\r\n"
    );
}

#[test]
fn flush_all_with_a_delay_fires_later() {
    let mut m = model();
    assert_eq!(
        ask(&mut m, b"set a 0 0 1\r\na\r\nflush_all 10\r\n", 0),
        b"STORED\r\nOK\r\n"
    );
    assert_eq!(
        ask(&mut m, b"get a\r\n", 8_000),
        b"VALUE a 0 1\r\na\r\nEND\r\n"
    );
    assert_eq!(ask(&mut m, b"get a\r\n", 9_000), b"END\r\n");
    assert_eq!(
        ask(&mut m, b"set b 0 0 1\r\nb\r\nget b\r\n", 10_000),
        b"STORED\r\nVALUE b 0 1\r\nb\r\nEND\r\n"
    );
    assert_eq!(
        ask(&mut m, b"flush_all\r\nget b\r\n", 10_000),
        b"OK\r\nEND\r\n"
    );
}

#[test]
fn meta_get_and_set_answer_as_memcached() {
    let mut m = model();
    check(
        &mut m,
        b"mg zz v O5 k\r\nmg zz k O5\r\nmg zz v q O6\r\nmn\r\n",
        b"EN O5 kzz\r\nEN kzz O5\r\nMN\r\n",
    );
    check(
        &mut m,
        b"ms zz 2 T0 F7 c O1 k\r\nhi\r\n",
        b"HD c1 O1 kzz\r\n",
    );
    check(&mut m, b"mg zz v f c t s k O9 h l\r\nmg zz h\r\nmg zz q\r\nmg zz k b\r\n",
        b"VA 2 f7 c1 t-1 s2 kzz O9 h0 l0\r\nhi\r\nHD h1\r\nHD\r\nCLIENT_ERROR error decoding key\r\n");
    check(
        &mut m,
        b"mg eno= b k v O3\r\nms eno= 1 b k O4\r\nx\r\nmg eno= b k v O3\r\n",
        b"VA 2 kzz O3\r\nhi\r\nHD keno= b O4\r\nVA 1 keno= b O3\r\nx\r\n",
    );
    check(&mut m, b"mg eno== b\r\nmg zz zz\r\nmg zz v v\r\nmg zz O1234567890123456789012345678901234567890\r\nmg\r\nmg x Tabc\r\n",
        b"CLIENT_ERROR error decoding key\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\n\
CLIENT_ERROR opaque token too long\r\nERROR\r\nCLIENT_ERROR bad token in command line format\r\n");
    check(
        &mut m,
        b"ms zz 2 MX\r\nhi\r\nms zz 2 ME O1\r\nhi\r\nms zz 2 MA q\r\nab\r\nmg zz v\r\n",
        b"CLIENT_ERROR invalid mode for ms M token\r\nNS O1\r\nVA 3\r\nxab\r\n",
    );
    check(&mut m, b"ms zz abc\r\nhi\r\nms zz\r\nms zz 2 C1\r\nhi\r\nms nope 2 MR\r\nhi\r\nms nope 2 C5\r\nhi\r\n",
        b"CLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nEX\r\nNS\r\nNF\r\n");
    check(
        &mut m,
        b"ms x 1 c\r\n1\r\nms x 1 c ME\r\n1\r\nms x 1 Fabc\r\n1\r\nms x 1 C1 q\r\n1\r\nmn\r\n",
        b"HD c4\r\nNS c0\r\nCLIENT_ERROR bad command line format\r\nEX\r\nMN\r\n",
    );
    check(
        &mut m,
        b"ms zz 2 MS T-1\r\nhi\r\nmg zz v\r\n",
        b"HD\r\nEN\r\n",
    );
}

#[test]
fn meta_delete_arithmetic_and_debug_answer_as_memcached() {
    let mut m = model();
    check(
        &mut m,
        b"ms n 1\r\n5\r\nma n\r\nma n v\r\nma n MD D10 v t c\r\nma nope v\r\n",
        b"HD\r\nHD\r\nVA 1\r\n7\r\nVA 1 t-1 c4\r\n0\r\nNF\r\n",
    );
    check(
        &mut m,
        b"ma nope N0 J13 v\r\nma nope2 N0 v\r\nma n q\r\nma nope3 q\r\nmn\r\n",
        b"VA 2\r\n13\r\nVA 1\r\n0\r\nNF\r\nMN\r\n",
    );
    check(
        &mut m,
        b"ma n MX\r\nma n Dabc\r\nma n v v\r\nma a N0 MI D5 q v\r\nmn\r\n",
        b"CLIENT_ERROR invalid mode for ma M token\r\nCLIENT_ERROR invalid or duplicate flag\r\n\
CLIENT_ERROR invalid or duplicate flag\r\nVA 1\r\n0\r\nMN\r\n",
    );
    check(
        &mut m,
        b"md zz\r\nmd zz q\r\nmn\r\nms d 1\r\nx\r\nmd d C99\r\nmd d I T30\r\n",
        b"NF\r\nNF\r\nMN\r\nHD\r\nEX\r\nHD\r\n",
    );
    check(
        &mut m,
        b"mg d v c\r\nmg d v c\r\nmd d q O7 k\r\nme d\r\nmn\r\n",
        b"VA 1 c10 X W\r\nx\r\nVA 1 c10 Z X\r\nx\r\nEN\r\nMN\r\n",
    );
    check(
        &mut m,
        b"ms d 1 T100\r\nx\r\nme d\r\nmg d t\r\n",
        b"HD\r\nME d exp=-100 la=0 cas=11 fetch=no cls=1 size=61\r\nHD t100\r\n",
    );
}

#[test]
fn vivify_and_recache_elect_one_winner() {
    let mut m = model();
    check(
        &mut m,
        b"mg k v N30 t\r\nmg k v N30\r\n",
        b"VA 0 t30 W\r\n\r\nVA 0 Z\r\n\r\n",
    );
    check(
        &mut m,
        b"ms k 1 T10\r\nv\r\nmg k v R30\r\nmg k v R30\r\nmg k v R5\r\n",
        b"HD\r\nVA 1 W\r\nv\r\nVA 1 Z\r\nv\r\nVA 1 Z\r\nv\r\n",
    );
}

#[test]
fn an_endless_line_closes_the_connection() {
    let mut m = model();
    m.receive(&[b'x'; 3000], Millis(0));
    assert!(m.is_closed());
    let mut m = model();
    let mut get = Vec::from(&b"get"[..]);
    for _ in 0..500 {
        get.extend_from_slice(b" key");
    }
    m.receive(&get, Millis(0));
    assert!(!m.is_closed());
    m.receive(b"\r\n", Millis(0));
    assert_eq!(m.take_transmit(), b"END\r\n");
}

#[test]
fn an_mg_reply_not_yet_written_holds_its_item() {
    let mut m = model();
    // As memcached 1.6.18: a get's reply does not hold the item, an mg's does.
    check(
        &mut m,
        b"set x 0 0 4\r\n0010\r\nget x\r\ndecr x 1\r\nmg x s v\r\n",
        b"STORED\r\nVALUE x 0 4\r\n0010\r\nEND\r\n9\r\nVA 4 s4\r\n9   \r\n",
    );
    check(
        &mut m,
        b"set x 0 0 4\r\n0010\r\nmg x\r\ndecr x 1\r\nmg x s v\r\n",
        b"STORED\r\nHD\r\n9\r\nVA 1 s1\r\n9\r\n",
    );
    check(
        &mut m,
        b"set x 0 0 4\r\n0010\r\nmg x\r\n",
        b"STORED\r\nHD\r\n",
    );
    check(&mut m, b"decr x 1\r\nmg x s\r\n", b"9\r\nHD s4\r\n");
    // It holds the item, not the key: a replaced item is free.
    check(
        &mut m,
        b"ms a 2\r\n5 \r\nmg a\r\nappend a 0 0 0\r\n\r\ndecr a 1\r\nget a\r\n",
        b"HD\r\nHD\r\nSTORED\r\n4\r\nVALUE a 0 2\r\n4 \r\nEND\r\n",
    );
}

#[test]
fn connections_share_the_items_and_close_on_their_own() {
    let mut m = model();
    let other = m.connect();
    m.receive_on(other, b"set k 0 0 2\r\n10\r\nmg k\r\n", Millis(0));
    assert_eq!(m.take_transmit_on(other), b"STORED\r\nHD\r\n");
    // Another connection's mg reply, taken, holds nothing.
    check(
        &mut m,
        b"decr k 1\r\nget k\r\n",
        b"9\r\nVALUE k 0 2\r\n9 \r\nEND\r\n",
    );
    m.receive_on(other, b"mg k\r\n", Millis(0));
    check(
        &mut m,
        b"decr k 1\r\nget k\r\n",
        b"8\r\nVALUE k 0 1\r\n8\r\nEND\r\n",
    );
    let stats = ask(&mut m, b"stats\r\n", 0);
    assert!(stats.windows(22).any(|w| w == b"STAT curr_connections "));
    m.receive_on(other, b"quit\r\n", Millis(0));
    assert!(m.is_closed_on(other) && !m.is_closed());
    assert_eq!(m.take_transmit_on(other), b"HD\r\n");
    m.disconnect(FIRST_ID);
    assert!(m.is_closed());
    assert!(m.is_closed_on(super::ConnectionId(7)));
    m.receive_on(super::ConnectionId(7), b"version\r\n", Millis(0));
    assert_eq!(m.transmit_on(super::ConnectionId(7)), b"");
}

const FIRST_ID: super::ConnectionId = super::ConnectionId(0);
