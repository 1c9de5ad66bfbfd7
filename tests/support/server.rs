//! Starting, killing and restarting memcached processes.

use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::binary::require_memcached;
use super::raw::{self, RawConn, RawItem, RawTarget, RAW_TIMEOUT};

/// How long a starting server has to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `restart` keeps trying to bind the same port or path.
const RESTART_TIMEOUT: Duration = Duration::from_secs(10);
/// Fresh ports tried when another process takes the free port first.
const PORT_ATTEMPTS: usize = 20;

/// `true` when a TCP socket can be bound on `::1`.
pub fn ipv6_available() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
    Unix,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// Configures a server before starting it: address family and extra
/// memcached arguments.
///
/// ```ignore
/// let server = MemcachedServer::builder()
///     .item_size_limit("1k")
///     .enable_shutdown()
///     .threads(1)
///     .start();
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Builder {
    family: Family,
    args: Vec<String>,
}

impl Builder {
    /// Listen on `::1` instead of `127.0.0.1`.
    pub fn ipv6(mut self) -> Self {
        self.family = Family::V6;
        self
    }

    /// Listen on a unix socket in a temporary directory instead of TCP.
    pub fn unix(mut self) -> Self {
        self.family = Family::Unix;
        self
    }

    /// One extra memcached argument, e.g. `.arg("-vv")`. Never pass a listen
    /// address (`-l`, `-p`, `-s`): the harness chooses those.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        let arg = arg.into();
        assert!(
            !matches!(
                arg.as_str(),
                "-l" | "-p" | "-s" | "--listen" | "--port" | "--unix-socket"
            ),
            "the harness chooses the listen address; do not pass {arg}"
        );
        self.args.push(arg);
        self
    }

    /// Several extra memcached arguments, e.g. `.args(["-I", "1k"])`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    /// `-I <size>`: the largest item the server stores (e.g. `"1k"`, `"2m"`).
    ///
    /// Below 512 KiB memcached also needs a smaller `slab_chunk_max` (a power
    /// of two no larger than the limit), which this adds.
    pub fn item_size_limit(self, size: &str) -> Self {
        let this = self.args(["-I", size]);
        match parse_size(size) {
            Some(bytes) if bytes < 512 * 1024 => {
                let chunk = 1u64 << (63 - bytes.leading_zeros());
                this.args(["-o".to_owned(), format!("slab_chunk_max={chunk}")])
            }
            _ => this,
        }
    }

    /// `-A`: allow the `shutdown` command.
    pub fn enable_shutdown(self) -> Self {
        self.arg("-A")
    }

    /// `-m <megabytes>`: item memory.
    pub fn memory_mb(self, megabytes: u32) -> Self {
        self.args(["-m".to_owned(), megabytes.to_string()])
    }

    /// `-t <threads>`: worker threads.
    pub fn threads(self, threads: u32) -> Self {
        self.args(["-t".to_owned(), threads.to_string()])
    }

    /// `-c <connections>`: the connection limit.
    pub fn max_connections(self, connections: u32) -> Self {
        self.args(["-c".to_owned(), connections.to_string()])
    }

    /// Starts the server and waits until it accepts connections; panics
    /// (with memcached's own output) if it cannot be started.
    pub fn start(self) -> MemcachedServer {
        let binary = require_memcached();
        let dir = tempfile::Builder::new()
            .prefix("memcrab-test-")
            .tempdir_in(socket_dir_base())
            .expect("create a temporary directory for memcached");
        let mut server = MemcachedServer {
            binary,
            listen: Listen::Unix(dir.path().join("mc.sock")),
            args: self.args,
            child: None,
            dir,
        };
        match self.family {
            Family::Unix => {
                if let Err(err) = server.spawn_and_wait() {
                    panic!("{}", err.message(&server));
                }
            }
            Family::V4 | Family::V6 => {
                let ip: IpAddr = if self.family == Family::V4 {
                    Ipv4Addr::LOCALHOST.into()
                } else {
                    Ipv6Addr::LOCALHOST.into()
                };
                server.start_on_free_port(ip);
            }
        }
        server
    }
}

/// `"1k"` → 1024, `"2m"` → 2097152, `"4096"` → 4096, as memcached reads `-I`.
fn parse_size(size: &str) -> Option<u64> {
    let (digits, unit) = match size.char_indices().last()? {
        (i, 'k' | 'K') => (&size[..i], 1024),
        (i, 'm' | 'M') => (&size[..i], 1024 * 1024),
        _ => (size, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .map(|n| n * unit)
}

/// Unix socket paths are limited to ~107 bytes; prefer `$TMPDIR` but fall
/// back to `/tmp` when it is long.
fn socket_dir_base() -> PathBuf {
    let tmp = std::env::temp_dir();
    if tmp.as_os_str().len() <= 60 {
        tmp
    } else {
        PathBuf::from("/tmp")
    }
}

fn free_port(ip: IpAddr) -> u16 {
    match TcpListener::bind((ip, 0)) {
        Ok(listener) => listener.local_addr().expect("local_addr").port(),
        Err(err) if ip.is_ipv6() => panic!(
            "cannot bind a TCP socket on [::1]: {err}. The IPv6 loopback address is not \
             available on this machine; check `ip -6 addr show lo` (in a container IPv6 may be \
             disabled: sysctl net.ipv6.conf.lo.disable_ipv6=0 enables it)"
        ),
        Err(err) => panic!("cannot bind a TCP socket on {ip}: {err}"),
    }
}

enum StartError {
    /// The address was taken (by another test's server, usually).
    AddrInUse,
    /// memcached exited.
    Died(ExitStatus),
    /// memcached kept running but never answered on its address.
    Timeout,
    /// Could not run memcached at all.
    Spawn(io::Error),
}

impl StartError {
    fn message(&self, server: &MemcachedServer) -> String {
        let what = match self {
            StartError::AddrInUse => "its address is in use".to_owned(),
            StartError::Died(status) => format!("it exited ({status})"),
            StartError::Timeout => format!(
                "it did not answer on its address within {} s",
                START_TIMEOUT.as_secs()
            ),
            StartError::Spawn(err) => format!("it could not be run: {err}"),
        };
        format!(
            "memcached {} on {} failed to start: {what}\ncommand: {}\nmemcached's output:\n{}",
            server.binary.display(),
            server.addr_string(),
            server.command_line().join(" "),
            server.log()
        )
    }
}

/// A memcached process on a loopback address, killed on drop.
pub struct MemcachedServer {
    binary: PathBuf,
    listen: Listen,
    args: Vec<String>,
    child: Option<Child>,
    /// Holds the unix socket and memcached's log; removed on drop.
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for MemcachedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemcachedServer")
            .field("addr", &self.addr_string())
            .field("pid", &self.pid())
            .field("args", &self.args)
            .finish()
    }
}

impl MemcachedServer {
    /// A builder for servers with extra memcached arguments.
    pub fn builder() -> Builder {
        Builder {
            family: Family::V4,
            args: Vec::new(),
        }
    }

    /// A server on `127.0.0.1` at a free port.
    pub fn start() -> MemcachedServer {
        Self::builder().start()
    }

    /// A server on `::1` at a free port; panics clearly when the machine has
    /// no IPv6 loopback.
    pub fn start_ipv6() -> MemcachedServer {
        Self::builder().ipv6().start()
    }

    /// A server on a unix socket in a temporary directory.
    pub fn start_unix() -> MemcachedServer {
        Self::builder().unix().start()
    }

    /// `n` servers on `127.0.0.1`, each at its own free port.
    pub fn start_many(n: usize) -> Vec<MemcachedServer> {
        (0..n).map(|_| Self::start()).collect()
    }

    /// The address as a client takes it: `"127.0.0.1:40123"`,
    /// `"[::1]:40123"`, or the socket path `"/tmp/…/mc.sock"`.
    pub fn addr_string(&self) -> String {
        match &self.listen {
            Listen::Tcp(addr) => addr.to_string(),
            Listen::Unix(path) => path.display().to_string(),
        }
    }

    /// The TCP socket address; panics for a unix socket server.
    pub fn socket_addr(&self) -> SocketAddr {
        match &self.listen {
            Listen::Tcp(addr) => *addr,
            Listen::Unix(path) => panic!("{} is a unix socket server", path.display()),
        }
    }

    /// The TCP port; panics for a unix socket server.
    pub fn port(&self) -> u16 {
        self.socket_addr().port()
    }

    /// The established TCP connections to this server's port, counted by
    /// the kernel (`/proc/net/tcp`, IPv4): the clients' ends. memcached's
    /// own `curr_connections` lags behind connections accepted while it
    /// was frozen.
    pub fn open_connections(&self) -> usize {
        let port = format!(":{:04X}", self.port());
        std::fs::read_to_string("/proc/net/tcp")
            .expect("read /proc/net/tcp")
            .lines()
            .skip(1)
            .filter(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                // local, remote, state: 01 is ESTABLISHED.
                cols.len() > 3 && cols[2].ends_with(&port) && cols[3] == "01"
            })
            .count()
    }

    /// The unix socket path; panics for a TCP server.
    pub fn socket_path(&self) -> &Path {
        match &self.listen {
            Listen::Unix(path) => path,
            Listen::Tcp(addr) => panic!("{addr} is a TCP server, not a unix socket"),
        }
    }

    /// `true` for a unix socket server.
    pub fn is_unix(&self) -> bool {
        matches!(self.listen, Listen::Unix(_))
    }

    /// Where raw exchanges connect.
    pub fn raw_target(&self) -> RawTarget {
        match &self.listen {
            Listen::Tcp(addr) => RawTarget::Tcp(*addr),
            Listen::Unix(path) => RawTarget::Unix(path.clone()),
        }
    }

    /// The process id while the server runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `true` while the process is alive (a frozen one counts as alive).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_))) | Some(Err(_)) | None => false,
        }
    }

    /// What memcached wrote to stdout and stderr in its current (or last) run.
    pub fn log(&self) -> String {
        std::fs::read(self.log_path())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Kills the process with SIGKILL and waits for it. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process gracefully (SIGTERM), killing it if it has not
    /// exited after 5 s. Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        self.signal_pid(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Waits up to `timeout` for the process to exit by itself (e.g. after a
    /// `shutdown` command); `true` if it did.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> bool {
        let Some(child) = self.child.as_mut() else {
            return true;
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            sleep(Duration::from_millis(10));
        }
    }

    /// Starts the server again on the same port or path (killing it first if
    /// it runs), retrying while the address is still in use. The items it
    /// held are gone.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + RESTART_TIMEOUT;
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(StartError::AddrInUse) if Instant::now() < deadline => {
                    sleep(Duration::from_millis(50));
                }
                Err(err) => panic!("restart: {}", err.message(self)),
            }
        }
    }

    /// Suspends the process (SIGSTOP): connections are still accepted by the
    /// kernel but nothing is answered, so clients time out.
    ///
    /// Returns once every thread of the process is stopped: `kill` only
    /// queues the signal, and a busy machine may let the server answer one
    /// more request before it takes effect.
    pub fn freeze(&mut self) {
        let pid = self.pid().expect("freeze: the server is not running");
        self.signal_pid(pid, "STOP");
        let deadline = Instant::now() + Duration::from_secs(2);
        while !all_threads_stopped(pid) && Instant::now() < deadline {
            sleep(Duration::from_millis(1));
        }
    }

    /// Resumes a frozen process (SIGCONT).
    pub fn thaw(&mut self) {
        let pid = self.pid().expect("thaw: the server is not running");
        self.signal_pid(pid, "CONT");
    }

    fn signal_pid(&self, pid: u32, signal: &str) {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -s {signal} {pid}"))
            .status()
            .expect("run sh to send a signal");
        assert!(status.success(), "kill -s {signal} {pid} failed");
    }

    // ---------------------------------------------------------------------
    // Raw exchanges, independent of memcrab
    // ---------------------------------------------------------------------

    /// Sends `cmd` (which must include its `\r\n`) on a fresh plain
    /// connection and returns the reply up to and including the first
    /// `\r\n`-terminated line end. Panics on any I/O error; see [`Self::try_raw`].
    pub fn raw(&self, cmd: &[u8]) -> Vec<u8> {
        self.raw_until(cmd, b"\r\n")
    }

    /// Like [`Self::raw`], reading until the reply ends with `terminator`
    /// (e.g. `b"END\r\n"` for `get` or `stats`).
    pub fn raw_until(&self, cmd: &[u8], terminator: &[u8]) -> Vec<u8> {
        self.try_raw_until(cmd, terminator).unwrap_or_else(|err| {
            panic!(
                "raw {:?} to {} failed: {err}",
                String::from_utf8_lossy(cmd),
                self.addr_string()
            )
        })
    }

    /// [`Self::raw`] that returns the error instead of panicking.
    pub fn try_raw(&self, cmd: &[u8]) -> io::Result<Vec<u8>> {
        self.try_raw_until(cmd, b"\r\n")
    }

    /// [`Self::raw_until`] that returns the error instead of panicking.
    pub fn try_raw_until(&self, cmd: &[u8], terminator: &[u8]) -> io::Result<Vec<u8>> {
        raw::exchange(&self.raw_target(), cmd, terminator, RAW_TIMEOUT)
    }

    /// [`Self::try_raw_until`] with another time limit (e.g. a short one
    /// against a frozen server).
    pub fn try_raw_within(
        &self,
        cmd: &[u8],
        terminator: &[u8],
        timeout: Duration,
    ) -> io::Result<Vec<u8>> {
        raw::exchange(&self.raw_target(), cmd, terminator, timeout)
    }

    /// Opens a plain connection for exchanges that need several steps.
    pub fn raw_conn(&self) -> RawConn {
        RawConn::connect(&self.raw_target(), RAW_TIMEOUT)
            .unwrap_or_else(|err| panic!("raw connect to {} failed: {err}", self.addr_string()))
    }

    /// The value the server holds for `key`, if any (read with a plain `gets`).
    pub fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.raw_item(key).map(|item| item.value)
    }

    /// The item (flags, value, cas) the server holds for `key`, if any.
    pub fn raw_item(&self, key: &[u8]) -> Option<RawItem> {
        raw::get_item(&self.raw_target(), key, RAW_TIMEOUT).unwrap_or_else(|err| {
            panic!(
                "raw gets {:?} from {} failed: {err}",
                String::from_utf8_lossy(key),
                self.addr_string()
            )
        })
    }

    /// Stores `value` under `key` with `flags` through a plain `set`, and
    /// asserts the server said `STORED`.
    pub fn raw_set(&self, key: &[u8], value: &[u8], flags: u32) {
        let mut cmd = format!(
            "set {} {flags} 0 {}\r\n",
            String::from_utf8_lossy(key),
            value.len()
        )
        .into_bytes();
        cmd.extend_from_slice(value);
        cmd.extend_from_slice(b"\r\n");
        let reply = self.raw(&cmd);
        assert_eq!(
            reply,
            b"STORED\r\n",
            "raw set {:?} on {}: {:?}",
            String::from_utf8_lossy(key),
            self.addr_string(),
            String::from_utf8_lossy(&reply)
        );
    }

    /// All general-purpose statistics (`stats`) as `(name, value)` pairs.
    pub fn raw_stats(&self) -> Vec<(String, String)> {
        raw::parse_stats(&self.raw_until(b"stats\r\n", b"END\r\n"))
    }

    /// One statistic by name (e.g. `"curr_items"`, `"cmd_get"`).
    pub fn raw_stat(&self, name: &str) -> Option<String> {
        self.raw_stats()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Removes every item (`flush_all`).
    pub fn raw_flush_all(&self) {
        assert_eq!(self.raw(b"flush_all\r\n"), b"OK\r\n");
    }

    // ---------------------------------------------------------------------
    // Process management
    // ---------------------------------------------------------------------

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("memcached.log")
    }

    fn command_line(&self) -> Vec<String> {
        let mut cmd = Vec::new();
        match &self.listen {
            Listen::Tcp(addr) => {
                cmd.extend(["-l".to_owned(), addr.ip().to_string()]);
                cmd.extend(["-p".to_owned(), addr.port().to_string()]);
            }
            Listen::Unix(path) => {
                cmd.extend(["-s".to_owned(), path.display().to_string()]);
                cmd.extend(["-a".to_owned(), "0700".to_owned()]);
            }
        }
        cmd.extend(["-U".to_owned(), "0".to_owned()]);
        if running_as_root() {
            // memcached refuses to run as root without naming a user.
            cmd.extend(["-u".to_owned(), "root".to_owned()]);
        }
        cmd.extend(self.args.iter().cloned());
        cmd
    }

    fn start_on_free_port(&mut self, ip: IpAddr) {
        for _ in 0..PORT_ATTEMPTS {
            self.listen = Listen::Tcp(SocketAddr::new(ip, free_port(ip)));
            match self.spawn_and_wait() {
                Ok(()) => return,
                // Another process took the port between our probe and memcached's bind.
                Err(StartError::AddrInUse) => continue,
                Err(err) => panic!("{}", err.message(self)),
            }
        }
        panic!(
            "memcached could not bind a free port on {ip} in {PORT_ATTEMPTS} attempts; last output:\n{}",
            self.log()
        );
    }

    /// Runs memcached and waits until *this* process answers on the address
    /// (checked by its pid in `stats`, so a server of another test that took
    /// the port is never mistaken for ours).
    fn spawn_and_wait(&mut self) -> Result<(), StartError> {
        let log = File::create(self.log_path()).map_err(StartError::Spawn)?;
        let log2 = log.try_clone().map_err(StartError::Spawn)?;
        let mut child = Command::new(&self.binary)
            .args(self.command_line())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(StartError::Spawn)?;
        let pid = child.id();
        let target = self.raw_target();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let output = self.log();
                return Err(if output.contains("Address already in use") {
                    StartError::AddrInUse
                } else {
                    StartError::Died(status)
                });
            }
            if answering_pid(&target) == Some(pid) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError::Timeout);
            }
            sleep(Duration::from_millis(10));
        }
    }
}

/// The pid reported by whatever memcached answers at `target`, if any.
fn answering_pid(target: &RawTarget) -> Option<u32> {
    let reply = raw::exchange(target, b"stats\r\n", b"END\r\n", Duration::from_millis(500)).ok()?;
    raw::parse_stats(&reply)
        .into_iter()
        .find(|(name, _)| name == "pid")
        .and_then(|(_, pid)| pid.parse().ok())
}

fn running_as_root() -> bool {
    extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

impl Drop for MemcachedServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Returns true if every thread of `pid` is stopped (state `T` or `t` in
/// `/proc/<pid>/task/*/stat`); true where `/proc` cannot tell.
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    tasks.flatten().all(|t| {
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        matches!(state, Some('T' | 't') | None)
    })
}
