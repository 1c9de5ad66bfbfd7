//! Peers run as other programs: pymemcache (Python, in a venv) and
//! libmemcached's memcaslap.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::peers::Counts;
use crate::workload::{Workload, VALUE_SIZE};

/// Runs the pymemcache side (`pymemcache_bench.py`) with `python`.
pub fn pymemcache(
    python: &Path,
    script: &Path,
    addr: &str,
    workload: Workload,
    duration: Duration,
) -> Result<Counts, String> {
    let name = match workload {
        Workload::Mixed(_) => "mixed".to_owned(),
        w => w.name(),
    };
    let out = Command::new(python)
        .arg(script)
        .arg(addr)
        .arg(name)
        .arg(duration.as_secs_f64().to_string())
        .arg(workload.connections().to_string())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "pymemcache_bench.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("pymemcache output: {e}"))?;
    Ok((
        v["ops"].as_u64().unwrap_or(0),
        v["keys"].as_u64().unwrap_or(0),
        Duration::from_secs_f64(v["elapsed"].as_f64().unwrap_or(1.0)),
    ))
}

/// Runs memcaslap: the 9:1 get:set mix over `conns` connections, 100-byte
/// values, its own keys (it sets them as it goes).
pub fn memcaslap(addr: &str, conns: usize, duration: Duration) -> Result<Counts, String> {
    let dir = std::env::temp_dir().join(format!("memcrab-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let cfg = dir.join("memcaslap.cfg");
    std::fs::write(
        &cfg,
        format!("key\n20 20 1\nvalue\n{VALUE_SIZE} {VALUE_SIZE} 1\ncmd\n0 0.1\n1 0.9\n"),
    )
    .map_err(|e| e.to_string())?;
    let secs = duration.as_secs().max(1);
    let out = Command::new("memcaslap")
        .args(["-s", addr])
        .args(["-T", &conns.min(2).to_string()])
        .args(["-c", &conns.to_string()])
        .args(["-t", &format!("{secs}s")])
        .arg("-F")
        .arg(&cfg)
        .output()
        .map_err(|e| format!("cannot run memcaslap: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "Run time: 2.0s Ops: 150516 TPS: 75252 Net_rate: 11.3M/s"
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("Run time:"))
        .ok_or_else(|| format!("memcaslap printed no totals: {text}"))?;
    let field = |name: &str| -> Option<f64> {
        let at = line.find(name)? + name.len();
        line[at..]
            .split_whitespace()
            .next()?
            .trim_end_matches('s')
            .parse()
            .ok()
    };
    let ops = field("Ops:").ok_or("no Ops in memcaslap's totals")? as u64;
    let time = field("Run time:").ok_or("no run time in memcaslap's totals")?;
    Ok((ops, ops, Duration::from_secs_f64(time)))
}
