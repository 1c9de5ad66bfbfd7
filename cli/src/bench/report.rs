//! What `memcrab bench` prints: a few lines of text, or one JSON object.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use memcrab::Protocol;

use super::verify::Verifier;
use super::{Config, Transport};

/// What a run measured.
pub struct Report {
    pub servers: String,
    pub requests: u64,
    pub keys: u64,
    pub errors: u64,
    pub misses: u64,
    pub elapsed: Duration,
    pub fill: Duration,
    pub hist: Histogram<u64>,
    pub first_error: Option<String>,
    /// With `--verify`: what was checked and found wrong.
    pub verify: Option<Verifier>,
}

impl Report {
    fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }

    fn quantile_us(&self, q: f64) -> u64 {
        if self.hist.is_empty() {
            0
        } else {
            self.hist.value_at_quantile(q)
        }
    }

    pub fn text(&self, c: &Config) -> String {
        let mut s = String::new();
        match c.transport {
            Transport::Mio => {
                let _ = writeln!(
                    s,
                    "memcrab bench: {} ({} connection(s) per server, pipeline {}, {} protocol)",
                    self.servers,
                    c.connections,
                    c.pipeline,
                    protocol_name(c.protocol)
                );
            }
            Transport::Tokio => {
                let _ = writeln!(
                    s,
                    "memcrab bench: {} (tokio, {} task(s), {} connection(s) per server, {} \
                     protocol)",
                    self.servers,
                    c.tasks,
                    c.connections,
                    protocol_name(c.protocol)
                );
            }
        }
        let _ = writeln!(
            s,
            "workload:   {} keys, {}-byte values, GET:SET {}:{}, {} key(s) per get{}",
            c.keys,
            c.value_size,
            c.get,
            c.set,
            c.multi_get,
            if c.merge_gets > 1 && c.transport == Transport::Tokio {
                ", gets merged".to_string()
            } else if c.merge_gets > 1 {
                format!(", gets merged up to {}", c.merge_gets)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "requests:   {} in {:.2} s, {} errors, {} misses (fill took {:.2} s)",
            self.requests,
            self.secs(),
            self.errors,
            self.misses,
            self.fill.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "throughput: {:.0} ops/s, {:.0} keys/s",
            self.requests as f64 / self.secs(),
            self.keys as f64 / self.secs()
        );
        let _ = writeln!(
            s,
            "latency:    p50 {} us, p90 {} us, p99 {} us, p99.9 {} us, max {} us",
            self.quantile_us(0.5),
            self.quantile_us(0.9),
            self.quantile_us(0.99),
            self.quantile_us(0.999),
            self.hist.max()
        );
        if let Some(e) = &self.first_error {
            let _ = writeln!(s, "first error: {e}");
        }
        if let Some(v) = &self.verify {
            let _ = writeln!(
                s,
                "verify:     {} values checked, {} mismatches",
                v.checked, v.mismatches
            );
            if let Some(m) = &v.first {
                let _ = writeln!(s, "first mismatch: {m}");
            }
        }
        s
    }

    pub fn json(&self, c: &Config) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "{{\"ops_per_sec\":{:.1},\"keys_per_sec\":{:.1},\"requests\":{},\"errors\":{},\
             \"misses\":{},\"duration_s\":{:.3},\"latency_us\":{{\"p50\":{},\"p90\":{},\
             \"p99\":{},\"p999\":{},\"max\":{},\"mean\":{:.1}}},\"config\":{{\"servers\":{},\
             \"connections\":{},\"pipeline\":{},\"value_size\":{},\"keys\":{},\"ratio\":\"{}:{}\",\
             \"multi_get\":{},\"merge_gets\":{},\"protocol\":\"{}\",\"transport\":\"{}\",\
             \"tasks\":{},\"verify\":{}}}",
            self.requests as f64 / self.secs(),
            self.keys as f64 / self.secs(),
            self.requests,
            self.errors,
            self.misses,
            self.secs(),
            self.quantile_us(0.5),
            self.quantile_us(0.9),
            self.quantile_us(0.99),
            self.quantile_us(0.999),
            self.hist.max(),
            if self.hist.is_empty() {
                0.0
            } else {
                self.hist.mean()
            },
            json_string(&self.servers),
            c.connections,
            c.pipeline,
            c.value_size,
            c.keys,
            c.get,
            c.set,
            c.multi_get,
            c.merge_gets,
            protocol_name(c.protocol),
            c.transport.name(),
            c.tasks,
            c.verify,
        );
        if let Some(e) = &self.first_error {
            let _ = write!(s, ",\"first_error\":{}", json_string(e));
        }
        if let Some(v) = &self.verify {
            let _ = write!(
                s,
                ",\"verified\":{},\"mismatches\":{}",
                v.checked, v.mismatches
            );
            if let Some(m) = &v.first {
                let _ = write!(s, ",\"first_mismatch\":{}", json_string(m));
            }
        }
        s.push_str("}\n");
        s
    }
}

fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Meta => "meta",
        _ => "text",
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
