//! Running real pymemcache (from PyPI) next to memcrab, for the
//! interoperability tests.
//!
//! The Python is found in this order:
//!
//! 1. `$MEMCRAB_PYTHON` (set by `cargo xtask test`: a venv with
//!    pymemcache 4.0.0). If it is set, it must work; a broken one panics.
//! 2. `target/pyvenv/bin/python` under the workspace (or under
//!    `$CARGO_TARGET_DIR`), as `cargo xtask test` creates it.
//!
//! When neither gives a Python with pymemcache 4.0.0, the tests are skipped
//! with a notice on stderr, unless `MEMCRAB_REQUIRE_PYTHON=1`, which makes
//! them panic instead (for CI).
//!
//! To create the venv by hand:
//!
//! ```text
//! python3 -m venv target/pyvenv && target/pyvenv/bin/pip install pymemcache==4.0.0
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The pymemcache version the interop tests are written against.
pub const PYMEMCACHE_VERSION: &str = "4.0.0";

const HOW_TO: &str = "run `cargo xtask test`, or create the venv: \
     python3 -m venv target/pyvenv && target/pyvenv/bin/pip install pymemcache==4.0.0 \
     (or set MEMCRAB_PYTHON to a python that has pymemcache 4.0.0)";

fn venv_python() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
            }
        }
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    };
    target.join("pyvenv").join("bin").join("python")
}

/// The pymemcache version `python` imports, or why it cannot.
fn pymemcache_version(python: &Path) -> Result<String, String> {
    let out = Command::new(python)
        .args(["-c", "import pymemcache; print(pymemcache.__version__)"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} cannot import pymemcache: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn find() -> Result<PathBuf, String> {
    let (python, from_env) = match std::env::var_os("MEMCRAB_PYTHON") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), true),
        _ => (venv_python(), false),
    };
    if !from_env && !python.exists() {
        return Err(format!(
            "MEMCRAB_PYTHON is not set and {} does not exist",
            python.display()
        ));
    }
    match pymemcache_version(&python) {
        Ok(v) if v == PYMEMCACHE_VERSION => Ok(python),
        Ok(v) => {
            let msg = format!(
                "{} has pymemcache {v}, the tests need {PYMEMCACHE_VERSION}",
                python.display()
            );
            if from_env {
                panic!("MEMCRAB_PYTHON: {msg}");
            }
            Err(msg)
        }
        Err(e) if from_env => panic!("MEMCRAB_PYTHON: {e}"),
        Err(e) => Err(e),
    }
}

/// The Python with pymemcache, or `None` after printing why `test` is
/// skipped; panics instead when `MEMCRAB_REQUIRE_PYTHON=1`.
pub fn python_or_skip(test: &str) -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match FOUND.get_or_init(find) {
        Ok(python) => Some(python.clone()),
        Err(why) => {
            if std::env::var("MEMCRAB_REQUIRE_PYTHON").as_deref() == Ok("1") {
                panic!(
                    "MEMCRAB_REQUIRE_PYTHON=1 but no Python with pymemcache {PYMEMCACHE_VERSION}: \
                     {why}. {HOW_TO}"
                );
            }
            eprintln!(
                "SKIPPED {test}: no Python with pymemcache {PYMEMCACHE_VERSION} ({why}); {HOW_TO}"
            );
            None
        }
    }
}

/// Runs `script` with `python -c`, passing `args` as `sys.argv[1:]`, and
/// returns its stdout; panics with its stderr if it fails.
pub fn run(python: &Path, script: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed ({}):\n--- script ---\n{script}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
