//! `cargo xtask npm`: builds the npm package `memcrab` and writes
//! `target/npm/memcrab-VERSION.tgz` (the output of `npm pack`).
//!
//! Steps: the release wasm build (opt-level z, LTO, one codegen unit);
//! `wasm-bindgen --target web` (wasm-bindgen-cli installed at the version of
//! the `wasm-bindgen` crate in Cargo.lock when missing); `wasm-opt -Oz --converge`
//! (npm's binaryen, see wasm/ci.sh for why not Debian's); the package
//! directory `target/npm/package/` from `wasm/npm/` (package.json with the
//! workspace version, README, the JS driver and entries, the types); then
//! `npm pack` and a check that the tarball holds exactly the expected files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::steps::{self, Steps, TaskResult};
use crate::{cargo, install, workspace_root};

const TARGET: &str = "wasm32-unknown-unknown";
const BINARYEN_VERSION: &str = "132.0.0";
/// The files of `wasm/npm/src/` copied to `dist/`.
const SOURCES: [&str; 7] = [
    "client.js",
    "node.js",
    "deno.js",
    "bun.js",
    "workerd.js",
    "browser.js",
    "index.d.ts",
];
/// The wasm-bindgen output kept in `dist/wasm/`.
const GLUE: [&str; 3] = [
    "memcrab_wasm.js",
    "memcrab_wasm.d.ts",
    "memcrab_wasm_bg.wasm",
];

/// Runs every step and prints the tarball's path.
pub fn npm() -> TaskResult {
    let mut steps = Steps::new();
    let tgz = build(&mut steps)?;
    steps.summary();
    println!("npm package: {}", tgz.display());
    Ok(())
}

/// Builds the package and returns the tarball's path.
pub fn build(steps: &mut Steps) -> TaskResult<PathBuf> {
    let root = workspace_root();
    let out = root.join("target/npm");
    let pkg = out.join("package");
    let version = workspace_version(&root)?;
    steps.step(
        "Rust target wasm32-unknown-unknown",
        install::ensure_wasm_target,
    )?;
    let bindgen = steps.step("wasm-bindgen-cli at the crate's version", || {
        ensure_wasm_bindgen(&root)
    })?;
    let wasm_opt = steps.step("wasm-opt (npm binaryen)", || ensure_wasm_opt(&root))?;
    steps.step("release build of memcrab-wasm (opt-level z, LTO)", || {
        steps::run(
            cargo()
                .args([
                    "build",
                    "--release",
                    "-p",
                    "memcrab-wasm",
                    "--target",
                    TARGET,
                ])
                .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
                .env("CARGO_PROFILE_RELEASE_LTO", "true")
                .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
        )
    })?;
    steps.step("package directory target/npm/package", || {
        if pkg.exists() {
            fs::remove_dir_all(&pkg).map_err(|e| format!("cannot clear {}: {e}", pkg.display()))?;
        }
        let dist = pkg.join("dist");
        let glue = dist.join("wasm");
        let wasm = root.join(format!("target/{TARGET}/release/memcrab_wasm.wasm"));
        steps::run(
            Command::new(&bindgen)
                .args(["--target", "web", "--out-dir"])
                .arg(&glue)
                .arg(&wasm),
        )?;
        let raw = glue.join("memcrab_wasm_bg.wasm");
        let opt = glue.join("memcrab_wasm_bg.opt.wasm");
        // `--converge` repeats -Oz while the module still shrinks.
        steps::run(
            Command::new(&wasm_opt)
                .args(["-Oz", "--converge"])
                .arg(&raw)
                .arg("-o")
                .arg(&opt),
        )?;
        fs::rename(&opt, &raw).map_err(|e| format!("cannot move {}: {e}", opt.display()))?;
        // Only the files the package ships.
        for entry in fs::read_dir(&glue).map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !GLUE.contains(&name.as_str()) {
                let path = entry.path();
                let removed = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            }
        }
        let src = root.join("wasm/npm");
        for name in SOURCES {
            copy(&src.join("src").join(name), &dist.join(name))?;
        }
        copy(&src.join("README.md"), &pkg.join("README.md"))?;
        let manifest = fs::read_to_string(src.join("package.json")).map_err(|e| e.to_string())?;
        let marker = "\"version\": \"0.0.0\"";
        if !manifest.contains(marker) {
            return Err(format!("wasm/npm/package.json must hold {marker}"));
        }
        let manifest = manifest.replace(marker, &format!("\"version\": \"{version}\""));
        fs::write(pkg.join("package.json"), manifest).map_err(|e| e.to_string())?;
        let size = fs::metadata(&raw).map_err(|e| e.to_string())?.len();
        println!("memcrab_wasm_bg.wasm: {size} bytes after wasm-opt -Oz --converge");
        Ok(())
    })?;
    let tgz = out.join(format!("memcrab-{version}.tgz"));
    steps.step("npm pack", || {
        let _ = fs::remove_file(&tgz);
        steps::run(
            Command::new("npm")
                .args(["pack", "--pack-destination"])
                .arg(&out)
                .current_dir(&pkg),
        )?;
        check_tarball(&tgz)
    })?;
    Ok(tgz)
}

/// Checks that the tarball holds exactly the package's files.
fn check_tarball(tgz: &Path) -> TaskResult {
    let listing = steps::output(Command::new("tar").arg("-tzf").arg(tgz))
        .ok_or_else(|| format!("cannot list {}", tgz.display()))?;
    let mut got: Vec<&str> = listing.lines().map(str::trim).collect();
    got.sort_unstable();
    let mut want: Vec<String> = ["package/package.json", "package/README.md"]
        .iter()
        .map(|s| s.to_string())
        .chain(SOURCES.iter().map(|s| format!("package/dist/{s}")))
        .chain(GLUE.iter().map(|s| format!("package/dist/wasm/{s}")))
        .collect();
    want.sort_unstable();
    if got != want {
        return Err(format!(
            "{} holds {got:?}, expected {want:?}",
            tgz.display()
        ));
    }
    println!("{}: {} files, as expected", tgz.display(), got.len());
    Ok(())
}

fn copy(from: &Path, to: &Path) -> TaskResult {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

/// Returns `[workspace.package] version` from the root Cargo.toml.
fn workspace_version(root: &Path) -> TaskResult<String> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).map_err(|e| e.to_string())?;
    let section = manifest
        .split("[workspace.package]")
        .nth(1)
        .ok_or("Cargo.toml has no [workspace.package]")?;
    section
        .lines()
        .find_map(|l| {
            let v = l.trim().strip_prefix("version")?.trim().strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_owned())
        })
        .ok_or_else(|| "no version in [workspace.package]".to_owned())
}

/// Returns the version of the `wasm-bindgen` crate in Cargo.lock.
fn bindgen_version(root: &Path) -> TaskResult<String> {
    let lock = fs::read_to_string(root.join("Cargo.lock")).map_err(|e| e.to_string())?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                return Ok(v.trim_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen".into())
}

/// Finds `wasm-bindgen` at the crate's version, installing it if needed.
fn ensure_wasm_bindgen(root: &Path) -> TaskResult<PathBuf> {
    let version = bindgen_version(root)?;
    let installed = |path: &Path| {
        steps::output(Command::new(path).arg("--version"))
            .is_some_and(|out| out.split_whitespace().nth(1) == Some(version.as_str()))
    };
    let on_path = install::find_on_path("wasm-bindgen");
    if let Some(path) = on_path.filter(|p| installed(p)) {
        println!("wasm-bindgen {version} at {}", path.display());
        return Ok(path);
    }
    steps::run(cargo().args([
        "install",
        "wasm-bindgen-cli",
        "--locked",
        "--version",
        &version,
    ]))?;
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let path = home.join("bin/wasm-bindgen");
    if installed(&path) {
        Ok(path)
    } else {
        Err(format!(
            "installed wasm-bindgen-cli {version}, but {} is not it",
            path.display()
        ))
    }
}

/// Finds npm's binaryen `wasm-opt` in target/wasm/npm, installing it there.
fn ensure_wasm_opt(root: &Path) -> TaskResult<PathBuf> {
    let dir = root.join("target/wasm/npm");
    let bin = dir.join("node_modules/.bin/wasm-opt");
    let manifest = dir.join("node_modules/binaryen/package.json");
    let current = fs::read_to_string(&manifest)
        .is_ok_and(|m| m.contains(&format!("\"version\": \"{BINARYEN_VERSION}\"")));
    if !current || !bin.exists() {
        steps::run(
            Command::new("npm")
                .args([
                    "install",
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                ])
                .arg(&dir)
                .arg(format!("binaryen@{BINARYEN_VERSION}")),
        )?;
    }
    Ok(bin)
}
