//! A memcached process for the demo, on a free loopback port.

use std::fs::File;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::steps::{show, TaskResult};

/// memcached on `127.0.0.1:<free port>`, killed on drop.
pub struct DemoServer {
    child: Child,
    addr: SocketAddr,
}

impl DemoServer {
    /// Starts memcached on a free port, trying another port if the chosen one
    /// is taken before memcached binds it, and waits until it accepts
    /// connections.
    pub fn start(binary: &Path) -> TaskResult<DemoServer> {
        let log_path =
            std::env::temp_dir().join(format!("memcrab-demo-{}.log", std::process::id()));
        let mut last_error = String::new();
        for _ in 0..10 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .map_err(|err| format!("cannot find a free port on 127.0.0.1: {err}"))?
                .port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            match try_start(binary, addr, &log_path) {
                Ok(child) => {
                    let _ = std::fs::remove_file(&log_path);
                    return Ok(DemoServer { child, addr });
                }
                Err((in_use, err)) => {
                    last_error = err;
                    if !in_use {
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_file(&log_path);
        Err(last_error)
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        println!("stopped the demo memcached at {}", self.addr);
    }
}

fn memcached_command(binary: &Path, addr: SocketAddr) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args([
        "-l",
        &addr.ip().to_string(),
        "-p",
        &addr.port().to_string(),
        "-U",
        "0",
    ]);
    if crate::install::is_root() {
        // memcached refuses to run as root without naming a user.
        cmd.args(["-u", "root"]);
    }
    cmd
}

/// Starts memcached and waits up to 5 s for it to accept a connection.
/// Err((address in use?, message)).
fn try_start(binary: &Path, addr: SocketAddr, log_path: &Path) -> Result<Child, (bool, String)> {
    let fail = |msg: String| (false, msg);
    let log = File::create(log_path)
        .map_err(|e| fail(format!("cannot create {}: {e}", log_path.display())))?;
    let log2 = log.try_clone().map_err(|e| fail(e.to_string()))?;
    let mut cmd = memcached_command(binary, addr);
    println!("$ {}", show(&cmd));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", binary.display())))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut text = String::new();
            let _ = File::open(log_path).and_then(|mut f| f.read_to_string(&mut text));
            let in_use = text.contains("Address already in use");
            return Err((in_use, format!("memcached exited ({status}):\n{text}")));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(child);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "memcached did not accept connections on {addr} within 5 s"
            )));
        }
        sleep(Duration::from_millis(20));
    }
}
