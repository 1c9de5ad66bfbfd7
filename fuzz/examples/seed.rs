//! Writes the seed corpus of the fuzz targets from a real memcached.
//!
//! ```text
//! cd fuzz && cargo run --example seed            # or: fuzz/seed.sh
//! ```
//!
//! Starts `memcached` (`$MEMCACHED_BIN` or on `PATH`) on 127.0.0.1 at a free
//! port, runs each scripted plan (`memcrab_fuzz::plan`) through a memcrab
//! `Connection` over a real socket, and stores the plan with the bytes the
//! server really sent in `corpus/text_reply/` and `corpus/meta_reply/`
//! (each once in one read and once with cuts). `corpus/address_parser/`
//! gets address strings. The other targets start from libFuzzer's own
//! inputs. Existing seed files are replaced; nothing else is touched.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memcrab_fuzz::drive::{meta_setup, text_setup, Setup};
use memcrab_fuzz::plan::Plan;

/// Classic op kinds (`plan::text_op`).
mod k {
    pub const GET: u8 = 0;
    pub const GETS: u8 = 1;
    pub const GAT: u8 = 2;
    pub const GATS: u8 = 3;
    pub const STORE: u8 = 4;
    pub const CAS: u8 = 5;
    pub const DELETE: u8 = 6;
    pub const TOUCH: u8 = 7;
    pub const INCR: u8 = 8;
    pub const DECR: u8 = 9;
    pub const STATS: u8 = 10;
    pub const VERSION: u8 = 11;
    pub const FLUSH: u8 = 12;
    pub const VERBOSITY: u8 = 13;
    pub const RAW: u8 = 14;
    pub const SHUTDOWN: u8 = 15;
    pub const MEMLIMIT: u8 = 16;
    pub const QUIT: u8 = 17;
    /// Meta op kinds (`plan::meta_op`); classic ones are `CLASSIC + kind`.
    pub const MG: u8 = 0;
    pub const MS: u8 = 1;
    pub const MD: u8 = 2;
    pub const MA: u8 = 3;
    pub const MN: u8 = 4;
    pub const ME: u8 = 5;
    pub const CLASSIC: u8 = 128;
}

/// Store op `a`: key index (bits 0-1), command (bits 2-4: set, add,
/// replace, append, prepend).
fn store(key: u8, command: u8) -> u8 {
    key | (command << 2)
}

/// Store op `b`: noreply (bit 0), value index (bits 1-2).
fn sb(noreply: bool, value: u8) -> u8 {
    u8::from(noreply) | (value << 1)
}

/// Scripted plans: name, config byte, ops.
type Plans = Vec<(&'static str, u8, Vec<[u8; 3]>)>;

/// How a target's connection is set up.
type SetupFn = fn(&Plan) -> Setup;

const A: u8 = 0;
const B: u8 = 1;
const C: u8 = 2;
const N: u8 = 3;
const SPACE: u8 = 4;
const HELLO: u8 = 3;
const TEN: u8 = 2;

fn text_plans() -> Plans {
    use k::*;
    vec![
        (
            "set_get",
            0,
            vec![[STORE, store(A, 0), sb(false, 0)], [GET, 1, 0]],
        ),
        (
            "get_many",
            0,
            vec![
                [STORE, store(A, 0), sb(false, 0)],
                [STORE, store(B, 0), sb(false, HELLO)],
                [GET, 0b0111, 0],
                [GETS, 0b0011, 0],
                [GET, 0b1000_0111, 0],
                [GET, 0b0100_0001, 0],
            ],
        ),
        (
            "arith",
            0,
            vec![
                [STORE, store(N, 0), sb(false, TEN)],
                [INCR, N, 10],
                [DECR, N, 6],
                [DECR, N, 200],
                [INCR, C, 2],
                [STORE, store(A, 0), sb(false, 0)],
                [INCR, A, 2],
            ],
        ),
        (
            "store_modes",
            0,
            vec![
                [STORE, store(A, 0), sb(false, 0)],
                [STORE, store(A, 1), sb(false, 0)],
                [STORE, store(C, 2), sb(false, 0)],
                [STORE, store(A, 3), sb(false, HELLO)],
                [STORE, store(A, 4), sb(false, TEN)],
                [STORE, store(B, 1), sb(false, 1)],
                [GETS, 0b0011, 0],
                [CAS, A | (1 << 2), 0],
                [CAS, C | (5 << 2), 0],
            ],
        ),
        (
            "delete_touch",
            0,
            vec![
                [STORE, store(A, 0), sb(false, 0)],
                [STORE, store(B, 0), sb(false, TEN)],
                [DELETE, A, 0],
                [DELETE, A, 0],
                [TOUCH, B, 0],
                [TOUCH, A, 0],
                [GAT, 0b0011, 0],
                [GATS, 0b0010, 0],
            ],
        ),
        (
            "stats",
            0,
            vec![
                [STORE, store(A, 0), sb(false, 0)],
                [STATS, 0, 0],
                [STATS, 1, 0],
                [STATS, 2, 0],
                [STATS, 4, 0],
                [STATS, 5, 0],
            ],
        ),
        ("stats_settings", 0, vec![[STATS, 3, 0]]),
        (
            "admin",
            0,
            vec![
                [VERSION, 0, 0],
                [VERBOSITY, 0, 0],
                [FLUSH, 0, 0],
                [MEMLIMIT, 0, 0],
                [SHUTDOWN, 0, 0],
                [VERSION, 0, 0],
            ],
        ),
        (
            "raw",
            0,
            vec![
                [STORE, store(A, 0), sb(false, 0)],
                [RAW, 0, 0],
                [RAW, 1, 0],
                [RAW, 2, 0],
                [RAW, 3, 0],
            ],
        ),
        (
            "noreply",
            0,
            vec![
                [STORE, store(A, 0), sb(true, 0)],
                [STORE, store(B, 0), sb(true, HELLO)],
                [DELETE, C, 1],
                [GET, 0b0111, 0],
                [FLUSH, 0, 1],
                [GET, 0b0001, 0],
            ],
        ),
        (
            "prefix",
            4,
            vec![
                [STORE, store(A, 0), sb(false, 0)],
                [GETS, 0b0011, 0],
                [DELETE, A, 0],
            ],
        ),
        (
            "small_limits",
            3,
            vec![
                [STORE, store(A, 0), sb(false, 0)],
                [GET, 0b0001, 0],
                [STATS, 0, 0],
            ],
        ),
        (
            "quit",
            0,
            vec![
                [STORE, store(A, 0), sb(false, 0)],
                [GET, 1, 0],
                [QUIT, 0, 0],
            ],
        ),
    ]
}

fn meta_plans() -> Plans {
    use k::*;
    let ms = |key: u8, mode: u8| key | (mode << 3);
    // ms b: quiet(0) return_cas(1) return_key(2) value(3-4) cas(5) I(6) F(7)
    let msb = |quiet: bool, value: u8| u8::from(quiet) | (value << 3);
    vec![
        (
            "mg_flags",
            0,
            vec![
                [MS, ms(A, 0), msb(false, HELLO) | 0x80],
                [MG, A, 0x7f],
                [MG, A | 0x80, 0],
                [MG, C, 0x01],
                [MG, A | 0x40 | 0x20, 0x09],
            ],
        ),
        (
            "quiet",
            0,
            vec![
                [MS, ms(A, 0), msb(true, 0)],
                [MG, C, 0x81],
                [MG, A, 0x81],
                [MD, B | 0x40, 0],
                [MN, 0, 0],
            ],
        ),
        (
            "delete",
            0,
            vec![
                [MS, ms(A, 0), msb(false, 0)],
                [MD, A | 0x20, 0],
                [MD, A, 0],
                [MS, ms(B, 0), msb(false, 0)],
                [MD, B | 0x10, 0],
                [MG, B, 0x03],
            ],
        ),
        (
            "arith",
            0,
            vec![
                [MS, ms(N, 0), msb(false, TEN)],
                [MA, N, 5],
                [MA, N | 0x08 | 0x80, 3],
                [MA, C, 1],
                [MA, C | 0x20, 0x71],
                [MA, N | 0x40, 1],
                [MS, ms(A, 0), msb(false, 0)],
                [MA, A, 1],
            ],
        ),
        (
            "set_modes",
            0,
            vec![
                [MS, ms(A, 0), msb(false, 0) | 0x02 | 0x04],
                [MS, ms(A, 1), msb(false, 0)],
                [MS, ms(C, 2), msb(false, 0)],
                [MS, ms(A, 3), msb(false, HELLO)],
                [MS, ms(A, 4), msb(false, TEN)],
                [MS, ms(A, 0) | 0xc0, msb(false, 0) | 0x20],
                [ME, A, 0],
                [ME, C, 0],
            ],
        ),
        (
            "base64_key",
            0,
            vec![
                [MS, ms(SPACE, 0), msb(false, 0) | 0x04],
                [MG, SPACE, 0x09],
                [MD, SPACE | 0x20, 0],
            ],
        ),
        (
            "vivify",
            0,
            vec![
                [MG, C | 0x08, 0x03],
                [MG, C | 0x08, 0x03],
                [MG, C | 0x10, 0x13],
            ],
        ),
        (
            "classic_over_meta",
            8,
            vec![
                [CLASSIC + STORE, store(A, 0), sb(false, 0)],
                [CLASSIC + STORE, store(N, 0), sb(true, TEN)],
                [CLASSIC + GET, 0b1011, 0],
                [CLASSIC + GETS, 0b0001, 0],
                [CLASSIC + INCR, N, 4],
                [CLASSIC + DELETE, C, 0],
                [CLASSIC + TOUCH, A, 0],
                [CLASSIC + STORE, store(A, 1), sb(false, 0)],
                [CLASSIC + CAS, A, 0],
                [CLASSIC + STATS, 1, 0],
                [CLASSIC + VERSION, 0, 0],
            ],
        ),
        (
            "mixed",
            4,
            vec![
                [MS, ms(A, 0), msb(true, 0)],
                [CLASSIC + GET, 0b0001, 0],
                [MG, A, 0x0b],
                [CLASSIC + VERSION, 0, 0],
                [MN, 0, 0],
            ],
        ),
    ]
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_memcached() -> Server {
    let bin =
        std::env::var_os("MEMCACHED_BIN").map_or_else(|| PathBuf::from("memcached"), PathBuf::from);
    let port = free_port();
    let mut cmd = Command::new(&bin);
    cmd.args(["-l", "127.0.0.1", "-U", "0", "-t", "1", "-p"])
        .arg(port.to_string());
    // memcached refuses to run as root without naming a user.
    let uid = Command::new("id").arg("-u").output().map(|o| o.stdout);
    if uid.is_ok_and(|u| u.trim_ascii() == b"0") {
        cmd.args(["-u", "root"]);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (apt-get install memcached)",
                bin.display()
            )
        });
    let server = Server(child, port);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "memcached did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Empties the server, so every plan starts from the same state.
fn flush(port: u16) {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    s.write_all(b"flush_all\r\n").expect("write");
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).expect("read OK");
}

/// Runs the plan's requests against the server and returns every byte it
/// sent back, read until all replies are in (or the server closes).
fn capture(port: u16, plan: &Plan, setup: SetupFn) -> Vec<u8> {
    flush(port);
    let Setup { mut conn, .. } = setup(plan);
    let mut sock = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    sock.write_all(conn.transmit()).expect("write");
    let n = conn.transmit().len();
    conn.advance_transmit(n);
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while conn.in_flight() > 0 {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                conn.receive(&buf[..n]);
                while conn.poll().is_some() {}
            }
            Err(e) => panic!("reading the replies: {e}"),
        }
    }
    // A quit or shutdown plan: whatever else arrives before the close.
    got
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("create the corpus directory");
    std::fs::write(dir.join(name), bytes).expect("write a seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let server = start_memcached();
    let port = server.1;
    let targets: [(&str, SetupFn, Plans); 2] = [
        ("text_reply", text_setup, text_plans()),
        ("meta_reply", meta_setup, meta_plans()),
    ];
    let mut count = 0;
    for (target, setup, plans) in targets {
        let dir = root.join(target);
        for (name, config, ops) in plans {
            let mut plan = Plan {
                config,
                ops,
                cuts: Vec::new(),
                reply: Vec::new(),
            };
            plan.reply = capture(port, &plan, setup);
            assert!(!plan.reply.is_empty(), "{target}/{name}: no reply");
            write(&dir, name, &plan.encode());
            // The same reply in reads cut inside lines and values.
            let len = plan.reply.len() as u16;
            plan.cuts = vec![1, len / 3, len / 2 + 1, len.saturating_sub(2)];
            write(&dir, &format!("{name}-split"), &plan.encode());
            count += 2;
        }
    }
    let addresses = [
        "localhost".to_owned(),
        format!("127.0.0.1:{port}"),
        "[::1]:11212".into(),
        "::1".into(),
        "fe80::1%eth0".into(),
        "unix:/run/memcached.sock".into(),
        "/tmp/mc.sock".into(),
        "cache-1.example.com:11211, [::1], unix:rel.sock".into(),
        "host:0".into(),
    ];
    for (i, a) in addresses.iter().enumerate() {
        write(
            &root.join("address_parser"),
            &format!("addr{i}"),
            a.as_bytes(),
        );
        count += 1;
    }
    drop(server);
    println!("wrote {count} seeds under {}", root.display());
}
