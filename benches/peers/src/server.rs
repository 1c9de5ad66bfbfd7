//! The one local memcached every peer talks to, and CPU time from /proc.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A memcached process on a free loopback port, killed when dropped.
pub struct Memcached {
    child: Child,
    pub port: u16,
}

impl Memcached {
    /// Starts `memcached` (from `$MEMCACHED` or the PATH) with `threads`
    /// worker threads and 1 GiB of memory.
    pub fn start(threads: u32) -> Memcached {
        let binary = std::env::var("MEMCACHED").unwrap_or_else(|_| "memcached".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut cmd = Command::new(&binary);
        cmd.args(["-l", "127.0.0.1", "-U", "0", "-m", "1024", "-c", "4096"])
            .args(["-t", &threads.to_string(), "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            cmd.args(["-u", "root"]);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "memcached did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Memcached { child, port }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's version line.
    pub fn version(&self) -> String {
        let mut s = TcpStream::connect(self.addr()).expect("connect");
        s.write_all(b"version\r\n").unwrap();
        let mut buf = [0; 128];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n])
            .trim()
            .trim_start_matches("VERSION ")
            .to_owned()
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Clock ticks per second of /proc's CPU times.
fn ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds used so far by process `pid` ("self" for this one):
/// utime + stime, plus the children's it waited for when `children`.
pub fn cpu_seconds(pid: &str, children: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the ")" that ends the command name: state is field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime, stime, cutime, cstime are fields 14..=17, i.e. f[11..=14].
    let own = f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0);
    let kids = if children {
        f.get(13).unwrap_or(&0.0) + f.get(14).unwrap_or(&0.0)
    } else {
        0.0
    };
    (own + kids) / ticks_per_sec()
}
