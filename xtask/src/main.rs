//! memcrab's project tasks: `cargo xtask demo | test | ci`.
//!
//! Standard library only, so it builds on a bare machine before anything else.

mod install;
mod npm;
mod server;
mod steps;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use steps::{Steps, TaskResult};

const USAGE: &str = "\
cargo xtask — memcrab's project tasks

USAGE:
    cargo xtask <COMMAND> [OPTIONS]

COMMANDS:
    demo [--servers LIST]   A short tour of memcrab against a real memcached.
                            Servers come from --servers or $MEMCACHED_SERVERS
                            (comma-separated, e.g. 127.0.0.1:11211,/run/mc.sock);
                            without either, memcached is installed if missing
                            and started on a free 127.0.0.1 port for the tour.
                            Runs: cargo run --release -p memcrab-client --example tour -- LIST
    test [-- ARGS]          The whole test suite. Installs what is missing first:
                            memcached (apt-get), python3-venv, a Python venv at
                            target/pyvenv with pymemcache==4.0.0 (for the interop
                            tests, found through MEMCRAB_PYTHON), the Rust target
                            wasm32-unknown-unknown, nutcracker. Then runs:
                              cargo build -p memcrab-core --target wasm32-unknown-unknown
                              cargo test --workspace --all-features [ARGS]
                              bash wasm/ci.sh      (Chromium and Node suites)
                              bash fuzz/ci.sh 20   (fuzz smoke run; MEMCRAB_FUZZ_SECONDS)
    ci                      What CI runs: cargo fmt --all -- --check,
                            cargo clippy --workspace --all-targets --all-features -- -D warnings,
                            RUSTDOCFLAGS='-D warnings' cargo doc --workspace --all-features --no-deps,
                            cargo check --target x86_64-pc-windows-gnu -p memcrab-core
                              -p memcrab-transport -p memcrab-client --all-features
                              (installs the target, and MinGW gcc for ring as root;
                              without it, every feature but tls),
                            the licence copies match the root's,
                            cargo package --workspace --exclude xtask,
                            cargo publish --dry-run -p memcrab-core,
                            then everything `test` does.
    package                 The packaging steps of `ci` alone: cargo doc, the
                            Windows check, the licence copies, cargo package,
                            cargo publish --dry-run -p memcrab-core.
    npm                     The npm package `memcrab`: target/npm/memcrab-VERSION.tgz
                            (`npm pack` output; see xtask/src/npm.rs).
    help                    Show this message.

Installing needs root (apt-get); otherwise xtask says what to install and stops.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "demo" => match parse_demo_args(rest) {
            Ok(servers) => demo(servers),
            Err(msg) => return usage_error(&msg),
        },
        "test" => match parse_passthrough(rest) {
            Ok(extra) => {
                let mut steps = Steps::new();
                test(&mut steps, &extra).map(|()| steps.summary())
            }
            Err(msg) => return usage_error(&msg),
        },
        "ci" if rest.is_empty() => ci(),
        "package" if rest.is_empty() => {
            let mut steps = Steps::new();
            release_checks(&mut steps).map(|()| steps.summary())
        }
        "package" => return usage_error("`package` takes no arguments"),
        "npm" if rest.is_empty() => npm::npm(),
        "ci" => return usage_error("`ci` takes no arguments"),
        other => return usage_error(&format!("unknown command {other:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\nxtask: error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("xtask: {msg}\nRun `cargo xtask help` for usage.");
    ExitCode::from(2)
}

/// `--servers LIST` / `--servers=LIST`, or nothing.
fn parse_demo_args(args: &[String]) -> Result<Option<String>, String> {
    let mut servers = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--servers" {
            let list = iter.next().ok_or("--servers needs a value")?;
            servers = Some(list.clone());
        } else if let Some(list) = arg.strip_prefix("--servers=") {
            servers = Some(list.to_owned());
        } else {
            return Err(format!("unknown argument {arg:?} for `demo`"));
        }
    }
    if servers.as_deref().is_some_and(|s| s.trim().is_empty()) {
        return Err("--servers needs a non-empty list".to_owned());
    }
    Ok(servers)
}

/// Everything after `--` goes to `cargo test`.
fn parse_passthrough(args: &[String]) -> Result<Vec<String>, String> {
    match args.split_first() {
        None => Ok(Vec::new()),
        Some((first, rest)) if first == "--" => Ok(rest.to_vec()),
        Some((first, _)) => Err(format!(
            "unknown argument {first:?} for `test` (pass cargo test arguments after `--`)"
        )),
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// A `cargo` command run from the workspace root, with the same cargo that
/// runs xtask.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn demo(servers: Option<String>) -> TaskResult {
    let mut steps = Steps::new();
    let from_env = std::env::var("MEMCACHED_SERVERS")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let (list, server) = match servers.or(from_env) {
        Some(list) => {
            println!("Using memcached server(s) {list}");
            (list, None)
        }
        None => {
            let binary = steps.step("find or install memcached", install::ensure_memcached)?;
            let server = steps.step("start memcached on a free 127.0.0.1 port", || {
                server::DemoServer::start(&binary)
            })?;
            println!("memcached {} runs at {}", server.pid(), server.addr());
            (server.addr(), Some(server))
        }
    };
    // A server started here is killed when dropped, also when the tour fails.
    steps.step("run the tour", || {
        steps::run(
            cargo()
                .args([
                    "run",
                    "--release",
                    "-p",
                    "memcrab-client",
                    "--example",
                    "tour",
                    "--",
                ])
                .arg(&list),
        )
    })?;
    drop(server);
    steps.summary();
    Ok(())
}

fn test(steps: &mut Steps, extra: &[String]) -> TaskResult {
    steps.step("find or install memcached", install::ensure_memcached)?;
    let python = steps.step(
        "Python venv with pymemcache==4.0.0 (target/pyvenv)",
        install::ensure_pyvenv,
    )?;
    steps.step(
        "find or install nutcracker (twemproxy)",
        install::ensure_nutcracker,
    )?;
    steps.step(
        "Rust target wasm32-unknown-unknown",
        install::ensure_wasm_target,
    )?;
    steps.step("build memcrab-core for wasm32-unknown-unknown", || {
        steps::run(cargo().args([
            "build",
            "-p",
            "memcrab-core",
            "--target",
            "wasm32-unknown-unknown",
        ]))
    })?;
    steps.step("cargo test --workspace --all-features", || {
        steps::run(
            cargo()
                .args(["test", "--workspace", "--all-features"])
                .args(extra)
                .env("MEMCRAB_PYTHON", &python)
                // Under xtask, a missing peer is a failure, not a skip.
                .env("MEMCRAB_REQUIRE_PYTHON", "1")
                .env("MEMCRAB_REQUIRE_NUTCRACKER", "1"),
        )
    })?;
    steps.step(
        "WebAssembly: headless Chromium and Node suites (wasm/ci.sh)",
        || {
            steps::run(
                std::process::Command::new("bash")
                    .arg("wasm/ci.sh")
                    .current_dir(workspace_root()),
            )
        },
    )?;
    let fuzz_seconds = std::env::var("MEMCRAB_FUZZ_SECONDS").unwrap_or_else(|_| "20".into());
    steps.step(
        &format!("fuzz smoke run: every target for {fuzz_seconds} s (fuzz/ci.sh)"),
        || {
            steps::run(
                std::process::Command::new("bash")
                    .args(["fuzz/ci.sh", &fuzz_seconds])
                    .current_dir(workspace_root()),
            )
        },
    )?;
    Ok(())
}

fn ci() -> TaskResult {
    let mut steps = Steps::new();
    steps.step("cargo fmt --all -- --check", || {
        steps::run(cargo().args(["fmt", "--all", "--", "--check"]))
    })?;
    steps.step(
        "cargo clippy (all targets, all features, -D warnings)",
        || {
            steps::run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]))
        },
    )?;
    release_checks(&mut steps)?;
    test(&mut steps, &[])?;
    steps.summary();
    Ok(())
}

/// What a release needs besides tests: docs without warnings, a Windows
/// build, packages that build from their own files.
fn release_checks(steps: &mut Steps) -> TaskResult {
    steps.step("cargo doc (all features, warnings denied)", || {
        steps::run(
            cargo()
                .args(["doc", "--workspace", "--all-features", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )
    })?;
    windows_check(steps)?;
    packages(steps)
}

/// The library crates build for Windows: `cargo check` (warnings denied)
/// for `x86_64-pc-windows-gnu`; no linker is needed, but `tls` needs a
/// MinGW C compiler for ring.
fn windows_check(steps: &mut Steps) -> TaskResult {
    steps.step(
        &format!("Rust target {}", install::WINDOWS_TARGET),
        install::ensure_windows_target,
    )?;
    let with_tls = steps.step(
        "find or install a MinGW C compiler (for ring, feature tls)",
        install::ensure_mingw,
    )?;
    let features = if with_tls {
        "--all-features"
    } else {
        "--features=mio,json,pickle"
    };
    steps.step(
        &format!(
            "cargo check --target {} (core, transport, client; {})",
            install::WINDOWS_TARGET,
            if with_tls {
                "all features"
            } else {
                "all features but tls"
            }
        ),
        || {
            steps::run(
                cargo()
                    .args(["check", "--target", install::WINDOWS_TARGET])
                    .args(["-p", "memcrab-core", "-p", "memcrab-transport"])
                    .args(["-p", "memcrab-client", features])
                    .env("RUSTFLAGS", "-D warnings"),
            )
        },
    )
}

/// Every crate packages and publishes: the licence copies match, `cargo
/// package` builds each package from its own files, and crates.io would
/// accept memcrab-core (the one with no memcrab dependency).
fn packages(steps: &mut Steps) -> TaskResult {
    steps.step(
        "each crate's LICENSE-MIT and LICENSE-APACHE match the root's",
        licence_copies_match,
    )?;
    // Cargo (1.90+) packages the workspace's members together: a member that
    // depends on another (memcrab-transport on memcrab-core, …) is verified
    // against the other's new package through a local registry, so nothing
    // has to be on crates.io yet.
    steps.step("cargo package --workspace --exclude xtask", || {
        forget_unpacked_packages()?;
        steps::run(cargo().args(["package", "--workspace", "--exclude", "xtask"]))
    })?;
    steps.step("cargo publish --dry-run -p memcrab-core", || {
        steps::run(cargo().args(["publish", "--dry-run", "-p", "memcrab-core"]))
    })
}

/// The packages `cargo package --workspace` builds and verifies.
const PACKAGES: &[&str] = &[
    "memcrab-core",
    "memcrab-transport",
    "memcrab-client",
    "memcrab-tools",
    "memcrab-wasm",
];

/// Removes cargo's unpacked copies of memcrab's own packages from earlier
/// `cargo package` runs.
///
/// Cargo verifies a member that depends on another against the other's
/// package in a temporary registry (`target/package/tmp-registry`), which it
/// unpacks under `$CARGO_HOME/registry/src/-<hash>/` — and there, an
/// unpacked `memcrab-transport-0.1.0` from an earlier run is reused as it
/// is, so a dependent would be verified against stale sources (seen with
/// cargo 1.95: `memcrab-tools` failed to find a method added since). Only
/// those directories go: local registries (a name starting with `-`, not
/// `index.crates.io-…`), and in them only memcrab's packages.
fn forget_unpacked_packages() -> TaskResult {
    let cargo_home = match std::env::var_os("CARGO_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".cargo"),
            None => return Ok(()),
        },
    };
    let Ok(registries) = std::fs::read_dir(cargo_home.join("registry").join("src")) else {
        return Ok(());
    };
    for registry in registries.filter_map(Result::ok) {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(unpacked) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for dir in unpacked.filter_map(Result::ok) {
            let name = dir.file_name();
            let name = name.to_string_lossy();
            let ours = PACKAGES.iter().any(|p| {
                name.strip_prefix(p)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
            });
            if ours {
                println!("removing the stale unpacked {}", dir.path().display());
                std::fs::remove_dir_all(dir.path())
                    .map_err(|e| format!("cannot remove {}: {e}", dir.path().display()))?;
            }
        }
    }
    Ok(())
}

/// The published crates that carry copies of the root's licence files.
const LICENSED_CRATES: &[&str] = &["core", "transports", "wasm", "cli"];

fn licence_copies_match() -> TaskResult {
    let root = workspace_root();
    for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let original = read(&root.join(file))?;
        for dir in LICENSED_CRATES {
            let copy = root.join(dir).join(file);
            if read(&copy)? != original {
                return Err(format!(
                    "{} differs from {file}: copy it again (cp {file} {dir}/)",
                    copy.display()
                ));
            }
        }
    }
    Ok(())
}
