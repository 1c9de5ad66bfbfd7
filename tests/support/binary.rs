//! Finding the memcached binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// How to install memcached, shown whenever it is missing.
pub const INSTALL_HINT: &str = "install it: apt-get install -y memcached \
     (or run `cargo xtask test`, which installs it; or set MEMCACHED_BIN=/path/to/memcached)";

/// Where memcached is: `$MEMCACHED_BIN` if set, else `memcached` on `PATH`,
/// else the usual install locations. `None` when no working binary is found.
pub fn memcached_binary() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND.get_or_init(find).clone()
}

fn find() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(bin) = std::env::var_os("MEMCACHED_BIN") {
        candidates.push(PathBuf::from(bin));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("memcached")));
    }
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/local/sbin"] {
        candidates.push(PathBuf::from(dir).join("memcached"));
    }
    candidates.into_iter().find(|bin| works(bin))
}

fn works(bin: &Path) -> bool {
    bin.is_file()
        && Command::new(bin)
            .arg("-V")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
}

/// `true` when a working memcached binary was found.
pub fn memcached_available() -> bool {
    memcached_binary().is_some()
}

/// The memcached binary, or a panic that says how to install it.
pub fn require_memcached() -> PathBuf {
    memcached_binary().unwrap_or_else(|| {
        panic!("memcached was not found; the integration tests start real memcached servers. {INSTALL_HINT}")
    })
}
