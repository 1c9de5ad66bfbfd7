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
        // Without the variables cargo sets for this test process, so the
        // build sees what a `cargo build` from a shell sees: build scripts
        // that track them (ring's tracks CARGO_MANIFEST_DIR and
        // CARGO_PKG_*) are then not rebuilt for each side in turn.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_for_tests = name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || name.starts_with("CARGO_BIN_")
                || matches!(
                    &*name,
                    "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "OUT_DIR"
                );
            if set_for_tests {
                cmd.env_remove(&*name);
            }
        }
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

/// Runs `memcrab` with `args`, no `$MEMCACHED_SERVERS`, and `input` on
/// its standard input.
pub fn run_stdin<A: AsRef<OsStr>>(args: &[A], input: &[u8]) -> Run {
    use std::io::Write;
    let mut child = Command::new(binary())
        .args(args)
        .env_remove("MEMCACHED_SERVERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run memcrab");
    let mut stdin = child.stdin.take().expect("stdin");
    // memcrab may refuse its arguments without reading: a closed pipe then
    // is no failure of the test.
    let written = stdin.write_all(input);
    drop(stdin);
    let out = child.wait_with_output().expect("wait for memcrab");
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
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

/// The number after `"name":` in a flat JSON object (`bench --json`).
pub fn json_number(json: &str, name: &str) -> f64 {
    let at = json
        .find(&format!("\"{name}\":"))
        .unwrap_or_else(|| panic!("no {name} in {json}"));
    let rest = &json[at + name.len() + 3..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number in {json}"))
}

/// Runs `--servers ADDR bench <bench_args> --verify --json <extra>`;
/// asserts a clean run (exit 0, one JSON object, values checked, no
/// mismatch, no error) and returns its JSON.
#[track_caller]
pub fn clean_verify_run(addr: &str, bench_args: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["--servers", addr, "bench"];
    args.extend_from_slice(bench_args);
    args.extend_from_slice(&["--verify", "--json"]);
    args.extend_from_slice(extra);
    let run = run(&args);
    assert_eq!(run.code, 0, "{extra:?}: {run:?}");
    assert!(
        !run.stderr.contains("mismatch"),
        "{extra:?}: {}",
        run.stderr
    );
    let out = run.stdout_str().to_owned();
    assert_eq!(out.lines().count(), 1, "one JSON object: {out}");
    assert_eq!(json_number(&out, "mismatches"), 0.0, "{out}");
    assert_eq!(json_number(&out, "errors"), 0.0, "{out}");
    assert!(json_number(&out, "verified") > 0.0, "{out}");
    out
}
