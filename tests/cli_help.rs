//! The `memcrab` command line's help, suggestions and shell completions:
//! each command's own `--help`, a suggestion for a mistyped command or
//! option (still one line, exit 2, no server contacted), and completion
//! scripts for bash, zsh and fish that the shells themselves load and,
//! for bash, complete with.
//!
//! The binary is built once by `support::cli` (see tests/cli.rs).

mod support;

use std::process::{Command, Stdio};

use support::cli::{closed_port, run};

#[test]
fn every_command_has_its_own_help() {
    let commands = [
        ("get", &["--output <PATH>", "--show-flags", "<KEY>..."][..]),
        ("gets", &["<KEY>"]),
        (
            "set",
            &["--ttl <SECONDS>", "--flags <N>", "--file <PATH>", "stdin"],
        ),
        ("add", &["--file <PATH>"]),
        ("replace", &["--file <PATH>"]),
        ("append", &["--file <PATH>"]),
        ("prepend", &["--file <PATH>"]),
        ("cas", &["TOKEN", "--file <PATH>"]),
        ("delete", &["<KEY>..."]),
        ("incr", &["<N>"]),
        ("decr", &["<N>"]),
        ("touch", &["<TTL>"]),
        ("stats", &["[SECTION]"]),
        ("version", &["SERVER<TAB>VERSION"]),
        ("flush", &["--delay <SECONDS>"]),
        ("route", &["KEY<TAB>SERVER"]),
        ("dump", &["metadump"]),
        ("ping", &["round"]),
        (
            "bench",
            &["--multi-get <N>", "--pipeline <N>", "--duration <SECONDS>"],
        ),
        ("completions", &["<SHELL>"]),
    ];
    for (name, words) in commands {
        for flag in ["--help", "-h"] {
            let r = run(&[name, flag]);
            let help = r.ok_str();
            // The program's first line, then the command's own usage.
            assert!(
                help.starts_with("memcrab: a memcached command line client\n\n"),
                "{name}: {help}"
            );
            assert!(
                help.contains(&format!("Usage: memcrab [OPTIONS] {name}")),
                "{name}: {help}"
            );
            for word in words {
                assert!(help.contains(word), "{name} help lacks {word:?}:\n{help}");
            }
            // Not the program's help.
            assert!(!help.contains("Exit status:"), "{name}: {help}");
            for line in help.lines() {
                assert!(line.chars().count() <= 80, "{name}: too long: {line:?}");
            }
        }
    }
    // `memcrab help COMMAND` is the same text.
    assert_eq!(run(&["help", "set"]).ok(), run(&["set", "--help"]).ok());
}

#[test]
fn the_programs_help_lists_the_new_commands_and_options() {
    let r = run(&["--help"]);
    let help = r.ok_str();
    for text in [
        "--tls ",
        "--tls-ca FILE",
        "--tls-cert FILE",
        "--tls-key FILE",
        "--tls-server-name NAME",
        "--output PATH",
        "--show-flags",
        "--file PATH",
        "VALUE '-' reads the value from stdin",
        "dump ",
        "ping ",
        "completions SHELL",
        "'SERVER<TAB>NAME VALUE'",
    ] {
        assert!(help.contains(text), "help lacks {text:?}:\n{help}");
    }
}

#[test]
fn typos_get_one_line_with_a_suggestion_and_exit_2() {
    // A closed port: nothing is contacted.
    let servers = format!("127.0.0.1:{}", closed_port());
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["gett", "k"],
            "unknown command 'gett' (did you mean 'get'?)",
            "see 'memcrab --help'",
        ),
        (
            &["stat"],
            "unknown command 'stat' (did you mean 'stats'?)",
            "see 'memcrab --help'",
        ),
        (
            &["set", "k", "v", "--tll", "5"],
            "unknown option '--tll' for set (did you mean '--ttl'?)",
            "usage: memcrab set KEY VALUE [--ttl SECONDS] [--flags N]",
        ),
        (
            &["get", "k", "--show-flag"],
            "unknown option '--show-flag' for get (did you mean '--show-flags'?)",
            "usage: memcrab get KEY...",
        ),
        (
            &["--server", "x", "version"],
            "unknown option '--server' (did you mean '--servers'?)",
            "see 'memcrab --help'",
        ),
        (
            &["bench", "--pipline", "4"],
            "unknown option '--pipline' for bench (did you mean '--pipeline'?)",
            "see 'memcrab bench --help'",
        ),
    ];
    for (args, message, usage) in cases {
        let mut all = vec!["--servers", servers.as_str()];
        all.extend_from_slice(args);
        let r = run(&all);
        assert_eq!(r.usage_error(), *message, "{args:?}");
        assert!(r.stderr.ends_with(&format!("{usage})\n")), "{r:?}");
    }
}

#[test]
fn completions_for_each_shell_name_every_command() {
    let commands = [
        "get",
        "gets",
        "set",
        "add",
        "replace",
        "append",
        "prepend",
        "cas",
        "delete",
        "incr",
        "decr",
        "touch",
        "stats",
        "version",
        "flush",
        "route",
        "dump",
        "ping",
        "bench",
        "completions",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let r = run(&["completions", shell]);
        let script = r.ok_str();
        for command in commands {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
        for option in ["servers", "tls-ca", "show-flags", "multi-get", "ketama-md5"] {
            assert!(script.contains(option), "{shell} lacks {option}");
        }
    }
    assert!(run(&["completions", "zsh"])
        .ok_str()
        .starts_with("#compdef memcrab"));
    assert!(run(&["completions", "fish"])
        .ok_str()
        .contains("complete -c memcrab"));
    let r = run(&["completions", "tcsh"]);
    assert_eq!(
        r.usage_error(),
        "invalid SHELL 'tcsh': expected bash, elvish, fish, powershell or zsh"
    );
}

/// Runs `shell` with `script` on stdin; `None` if the shell is not
/// installed.
fn shell(shell: &str, args: &[&str], script: &str) -> Option<(bool, String)> {
    use std::io::Write;
    let mut child = match Command::new(shell)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("run {shell}: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.success(), text))
}

#[test]
fn bash_completes_commands_options_and_values_with_the_script() {
    let script = run(&["completions", "bash"]).ok_str().to_owned();
    // Ask bash's completion function what it offers, as bash would on TAB.
    let complete = |words: &[&str]| -> Vec<String> {
        let cword = words.len() - 1;
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let program = format!(
            "{script}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; \
             COMP_POINT=${{#COMP_LINE}}\n_memcrab memcrab '{cur}' '{prev}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words = quoted.join(" "),
            line = words.join(" "),
            cur = words[cword],
            prev = words[cword.saturating_sub(1)],
        );
        let (ok, out) = shell("bash", &["--norc", "-s"], &program).expect("bash is installed");
        assert!(ok, "{out}");
        out.lines().map(str::to_owned).collect()
    };
    let offered = complete(&["memcrab", "pi"]);
    assert_eq!(offered, ["ping"], "{offered:?}");
    let offered = complete(&["memcrab", "get", "k", "--sh"]);
    assert_eq!(offered, ["--show-flags"], "{offered:?}");
    let offered = complete(&["memcrab", "--hash", "ket"]);
    assert_eq!(offered, ["ketama-md5", "ketama-fnv1a64"], "{offered:?}");
    let offered = complete(&["memcrab", "completions", "f"]);
    assert_eq!(offered, ["fish"], "{offered:?}");
}

#[test]
fn zsh_and_fish_load_their_scripts() {
    for (name, args) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let script = run(&["completions", name]).ok_str().to_owned();
        match shell(name, args, &script) {
            Some((ok, out)) => assert!(ok, "{name} refuses its script: {out}"),
            None => eprintln!("skipped: {name} is not installed (content checked above)"),
        }
    }
    // fish really registers the completions.
    let script = run(&["completions", "fish"]).ok_str().to_owned();
    let program = format!("{script}\ncomplete -C 'memcrab pin'\n");
    if let Some((ok, out)) = shell("fish", &["--no-config"], &program) {
        assert!(ok, "{out}");
        assert!(out.lines().any(|l| l.starts_with("ping")), "{out}");
    }
}
