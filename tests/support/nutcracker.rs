//! Finding twemproxy (`nutcracker`) for the ketama compatibility tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The first `nutcracker` that runs (`$NUTCRACKER_BIN`, `PATH`, the usual
/// sbin and bin directories), if any.
pub fn find_nutcracker() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(bin) = std::env::var_os("NUTCRACKER_BIN") {
        candidates.push(PathBuf::from(bin));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("nutcracker")));
    }
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        candidates.push(Path::new(dir).join("nutcracker"));
    }
    candidates.into_iter().find(|bin| {
        bin.is_file()
            && Command::new(bin)
                .arg("-V")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    })
}
