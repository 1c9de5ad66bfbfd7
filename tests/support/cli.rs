//! Running the `memcrab` binary in tests: build it once, run it, and check
//! its exit code, stdout and stderr.
//!
//! The binary belongs to another package, so `CARGO_BIN_EXE_memcrab` is not
//! set for the facade's tests: the first test to need it builds it with
//! `cargo build -p memcrab-tools` into the target directory the test runs
//! from, with the same profile.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The `memcrab` binary, built once per test run.
pub fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // A test runs as <target>/<profile>/deps/<name>-<hash>.
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the test binary lives in <target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("a target directory");
        let profile = profile_dir
            .file_name()
            .and_then(OsStr::to_str)
            .expect("a profile directory name");
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "-p", "memcrab-tools", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(target_dir);
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("run cargo build -p memcrab-tools");
        assert!(status.success(), "cargo build -p memcrab-tools failed");
        let bin = profile_dir.join("memcrab");
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
}

/// What one run of `memcrab` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_str(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }

    /// Asserts exit 0 with nothing on stderr; returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &[u8] {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        assert_eq!(self.stderr, "", "expected no stderr: {self:?}");
        &self.stdout
    }

    /// Asserts exit 0 with nothing on stderr; returns stdout as text.
    #[track_caller]
    pub fn ok_str(&self) -> &str {
        std::str::from_utf8(self.ok()).expect("stdout is UTF-8")
    }

    /// Asserts exit 0, nothing on stdout or stderr.
    #[track_caller]
    pub fn silent_ok(&self) {
        assert_eq!(self.ok(), b"", "expected no stdout: {self:?}");
    }

    /// Asserts exit 1 with empty stdout; returns stderr.
    #[track_caller]
    pub fn miss(&self) -> &str {
        assert_eq!(self.code, 1, "expected exit 1: {self:?}");
        assert_eq!(self.stdout, b"", "expected no stdout: {self:?}");
        &self.stderr
    }

    /// Asserts exit 2 with empty stdout and a one-line `memcrab: ` message
    /// on stderr; returns the message without the prefix.
    #[track_caller]
    pub fn error(&self) -> &str {
        assert_eq!(self.code, 2, "expected exit 2: {self:?}");
        assert_eq!(self.stdout, b"", "expected no stdout: {self:?}");
        let message = self
            .stderr
            .strip_prefix("memcrab: ")
            .unwrap_or_else(|| panic!("stderr lacks the prefix: {self:?}"));
        let message = message
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("stderr does not end with a newline: {self:?}"));
        assert!(!message.contains('\n'), "one line expected: {self:?}");
        message
    }

    /// Asserts a usage error: exit 2, one line `memcrab: <message> (usage:
    /// …)` on stderr; returns the message.
    #[track_caller]
    pub fn usage_error(&self) -> &str {
        assert_eq!(self.code, 2, "expected exit 2: {self:?}");
        assert_eq!(self.stdout, b"", "expected no stdout: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line, message and usage: {self:?}");
        let (message, usage) = lines[0]
            .rsplit_once(" (usage: memcrab")
            .unwrap_or_else(|| panic!("stderr lacks the usage hint: {self:?}"));
        assert!(usage.ends_with(')'), "{self:?}");
        message
            .strip_prefix("memcrab: ")
            .unwrap_or_else(|| panic!("stderr lacks the prefix: {self:?}"))
    }
}

/// Runs `memcrab` with `args` and, if given, `$MEMCACHED_SERVERS`.
pub fn run_env<A: AsRef<OsStr>>(servers_env: Option<&str>, args: &[A]) -> Run {
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .env_remove("MEMCACHED_SERVERS")
        .stdin(Stdio::null());
    if let Some(servers) = servers_env {
        cmd.env("MEMCACHED_SERVERS", servers);
    }
    let out = cmd.output().expect("run memcrab");
    Run {
        code: out.status.code().expect("memcrab exited by a signal"),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `memcrab` with `args` and no `$MEMCACHED_SERVERS`.
pub fn run<A: AsRef<OsStr>>(args: &[A]) -> Run {
    run_env(None, args)
}

/// A TCP port on 127.0.0.1 that nothing listens on.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
