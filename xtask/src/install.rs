//! Installing what the tests and the demo need: memcached, a Python venv with
//! pymemcache, the wasm32 and Windows Rust targets, a MinGW C compiler.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::steps::{self, output, run, succeeds, TaskResult};

/// The pymemcache release the interop tests compare against.
const PYMEMCACHE: &str = "pymemcache==4.0.0";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The Windows target CI checks the library for (no linker needed to check).
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
/// The C compiler `ring` (rustls' crypto, feature `tls`) builds with for
/// [`WINDOWS_TARGET`], also under `cargo check`.
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// `true` when running as root (allowed to apt-get install).
pub fn is_root() -> bool {
    extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

/// `name` on `PATH`, if it is there and executable.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Installs Debian packages with apt-get (as root), running `apt-get update`
/// and trying again when the first attempt fails (e.g. no package lists yet).
/// Not root: an error that says exactly what to install.
fn apt_install(packages: &[&str], why: &str) -> TaskResult {
    let list = packages.join(" ");
    if !is_root() {
        return Err(format!(
            "{why}, and xtask is not running as root, so it cannot install it.\n\
             Install it, then run this command again:\n\n    \
             sudo apt-get install -y {list}\n"
        ));
    }
    if find_on_path("apt-get").is_none() {
        return Err(format!(
            "{why}, and this machine has no apt-get. Install these (Debian names) with your \
             package manager: {list}"
        ));
    }
    let install = || {
        let mut cmd = Command::new("apt-get");
        cmd.args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    if run(&mut install()).is_ok() {
        return Ok(());
    }
    println!("apt-get install failed; updating the package lists and trying again");
    run(Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(&mut install())
}

fn memcached_works(bin: &Path) -> bool {
    succeeds(Command::new(bin).arg("-V"))
}

/// memcached on `PATH`, installed with apt-get when missing. Returns its path.
pub fn ensure_memcached() -> TaskResult<PathBuf> {
    if let Some(bin) = find_on_path("memcached").filter(|b| memcached_works(b)) {
        let version = output(Command::new(&bin).arg("-V")).unwrap_or_default();
        println!("found {} ({})", bin.display(), version.trim());
        return Ok(bin);
    }
    apt_install(
        &["memcached"],
        "memcached is not installed (the tests and the demo start real memcached servers)",
    )?;
    find_on_path("memcached")
        .filter(|b| memcached_works(b))
        .ok_or_else(|| "memcached was installed but is still not on PATH".to_owned())
}

/// twemproxy (`nutcracker`), installed with apt-get when missing: the ketama
/// compatibility test runs a real one.
pub fn ensure_nutcracker() -> TaskResult {
    if let Some(bin) = find_on_path("nutcracker") {
        println!("found {}", bin.display());
        return Ok(());
    }
    apt_install(
        &["nutcracker"],
        "nutcracker (twemproxy) is not installed (the ketama compatibility test runs it)",
    )
}

/// The venv directory: `target/pyvenv` (under `$CARGO_TARGET_DIR` if set).
fn venv_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                crate::workspace_root().join(dir)
            }
        }
        None => crate::workspace_root().join("target"),
    };
    target.join("pyvenv")
}

fn has_pymemcache(python: &Path) -> bool {
    succeeds(Command::new(python).args([
        "-c",
        "import sys, pymemcache; sys.exit(pymemcache.__version__ != '4.0.0')",
    ]))
}

/// A Python venv with pymemcache 4.0.0 for the interop tests; returns the
/// path of its `python` (what `MEMCRAB_PYTHON` is set to).
pub fn ensure_pyvenv() -> TaskResult<PathBuf> {
    let venv = venv_dir();
    let python = venv.join("bin").join("python");
    if has_pymemcache(&python) {
        println!("{} already has {PYMEMCACHE}", venv.display());
        return Ok(python);
    }
    if find_on_path("python3").is_none() {
        apt_install(
            &["python3", "python3-venv"],
            "python3 is not installed (an interop test runs pymemcache)",
        )?;
    }
    // Debian's python3 lacks ensurepip (so `venv` fails) until python3-venv is installed.
    let create = || {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv", "--clear"]).arg(&venv);
        cmd
    };
    let created = run(&mut create()).is_ok()
        && succeeds(Command::new(&python).args(["-m", "pip", "--version"]));
    if !created {
        apt_install(
            &["python3-venv"],
            "python3 cannot create a virtual environment with pip (python3-venv is missing)",
        )?;
        run(&mut create())?;
    }
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
        PYMEMCACHE,
    ]))?;
    if !has_pymemcache(&python) {
        return Err(format!(
            "{PYMEMCACHE} was installed in {} but cannot be imported",
            venv.display()
        ));
    }
    println!("{} has {PYMEMCACHE}", venv.display());
    Ok(python)
}

fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

/// `true` when the standard library for `target` is installed.
fn has_target(target: &str) -> bool {
    let Some(libdir) = output(rustc().args(["--print", "target-libdir", "--target", target]))
    else {
        return false;
    };
    std::fs::read_dir(libdir.trim())
        .map(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("libcore-") && name.ends_with(".rlib")
            })
        })
        .unwrap_or(false)
}

/// The `wasm32-unknown-unknown` target, added with rustup when missing.
pub fn ensure_wasm_target() -> TaskResult {
    ensure_target(WASM_TARGET)
}

/// The `x86_64-pc-windows-gnu` target, added with rustup when missing.
pub fn ensure_windows_target() -> TaskResult {
    ensure_target(WINDOWS_TARGET)
}

/// The MinGW C compiler, installed with apt-get (as root) when missing.
/// `Ok(false)` when it is missing and cannot be installed here: the Windows
/// check then leaves out the `tls` feature (ring compiles C for the target).
pub fn ensure_mingw() -> TaskResult<bool> {
    if let Some(bin) = find_on_path(MINGW_GCC) {
        println!("found {}", bin.display());
        return Ok(true);
    }
    if !is_root() || find_on_path("apt-get").is_none() {
        println!(
            "{MINGW_GCC} is missing and cannot be installed here (needs root and apt-get): \
             the Windows check leaves out the `tls` feature. To check it too, install \
             gcc-mingw-w64-x86-64-win32 (Debian's name)."
        );
        return Ok(false);
    }
    apt_install(
        &["gcc-mingw-w64-x86-64-win32"],
        "the MinGW C compiler is not installed (ring, behind the `tls` feature, compiles C \
         for the Windows check)",
    )?;
    Ok(find_on_path(MINGW_GCC).is_some())
}

/// The standard library for `target`, added with rustup when missing.
fn ensure_target(target: &str) -> TaskResult {
    if has_target(target) {
        println!("{target} is installed");
        return Ok(());
    }
    if find_on_path("rustup").is_none() {
        return Err(format!(
            "the Rust target {target} is missing and there is no rustup to add it; \
             install Rust with rustup (https://rustup.rs), then: rustup target add {target}"
        ));
    }
    run(Command::new("rustup").args(["target", "add", target]))?;
    if has_target(target) {
        Ok(())
    } else {
        Err(format!(
            "`rustup target add {target}` ran but rustc ({}) still lacks it",
            steps::show(&rustc())
        ))
    }
}
