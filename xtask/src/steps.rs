//! Named, timed steps and running commands.

use std::process::Command;
use std::time::{Duration, Instant};

/// A task's outcome; the error is a message for the user.
pub type TaskResult<T = ()> = Result<T, String>;

/// Runs steps in order, printing each as it starts and how long it took.
pub struct Steps {
    started: Instant,
    done: Vec<(String, Duration)>,
}

impl Steps {
    pub fn new() -> Steps {
        Steps {
            started: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Runs one step; on failure, says which step failed and after how long.
    pub fn step<T>(&mut self, name: &str, f: impl FnOnce() -> TaskResult<T>) -> TaskResult<T> {
        println!("\n==> {name}");
        let start = Instant::now();
        let result = f();
        let took = start.elapsed();
        match &result {
            Ok(_) => println!("<== {name}: ok in {}", fmt_duration(took)),
            Err(_) => println!("<== {name}: FAILED after {}", fmt_duration(took)),
        }
        self.done.push((name.to_owned(), took));
        result.map_err(|err| format!("step \"{name}\" failed: {err}"))
    }

    /// Prints every step's time and the total.
    pub fn summary(&self) {
        println!("\nAll steps passed:");
        for (name, took) in &self.done {
            println!("  {:>8}  {name}", fmt_duration(*took));
        }
        println!("  {:>8}  total", fmt_duration(self.started.elapsed()));
    }
}

pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// The command as a shell-like line, for messages.
pub fn show(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            line.push_str(&format!(" '{}'", arg.replace('\'', r"'\''")));
        } else {
            line.push(' ');
            line.push_str(&arg);
        }
    }
    line
}

/// Runs `cmd` with inherited stdio, echoing it first; an error names the
/// command and its exit status.
pub fn run(cmd: &mut Command) -> TaskResult {
    println!("$ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|err| format!("cannot run `{}`: {err}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", show(cmd)))
    }
}

/// Runs `cmd` quietly and reports whether it succeeded (false if it cannot run).
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs `cmd` quietly and returns its stdout if it succeeded.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
