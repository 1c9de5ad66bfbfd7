//! Parsing: what each command line becomes, and the words of its errors.

use super::*;

fn parse_strs(args: &[&str]) -> Result<Parsed, UsageError> {
    parse(args.iter().map(OsString::from))
}

fn cli(args: &[&str]) -> Cli {
    match parse_strs(args) {
        Ok(Parsed::Run(cli)) => cli,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn command(args: &[&str]) -> Command {
    cli(args).command
}

fn error(args: &[&str]) -> UsageError {
    match parse_strs(args) {
        Err(e) => e,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn global_options() {
    let c = cli(&["--servers=a,b", "--timeout", "0.25", "version"]);
    assert_eq!(c.servers.as_deref(), Some("a,b"));
    assert_eq!(c.timeout, Duration::from_millis(250));
    assert_eq!(c.command, Command::Version);
    let c = cli(&["version"]);
    assert_eq!((c.servers, c.timeout), (None, DEFAULT_TIMEOUT));
    assert!(matches!(
        parse_strs(&["--version", "bogus"]),
        Ok(Parsed::Version)
    ));
    // A command's own help starts with the program's first line.
    match parse_strs(&["set", "-h"]) {
        Ok(Parsed::Help(text)) => {
            assert!(text.starts_with("memcrab: a memcached command line client\n"));
            assert!(text.contains("--file"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    match parse_strs(&["--help"]) {
        Ok(Parsed::Help(text)) => assert!(text.starts_with(help::HELP.trim_end())),
        other => panic!("{other:?}"),
    }
}

#[test]
fn commands() {
    assert_eq!(
        command(&["set", "k", "v", "--ttl", "-1", "--flags=3"]),
        Command::Store {
            op: StoreOp::Set,
            key: b"k".to_vec(),
            value: Payload::Bytes(b"v".to_vec()),
            ttl: -1,
            flags: Some(3),
        }
    );
    // The last of a repeated option wins.
    assert_eq!(
        command(&["flush", "--delay", "1", "--delay", "2"]),
        Command::Flush { delay: 2 }
    );
    assert_eq!(
        command(&["get", "--", "-a", "--", "b"]),
        Command::Get {
            keys: vec![b"-a".to_vec(), b"--".to_vec(), b"b".to_vec()],
            output: None,
            show_flags: false,
        }
    );
    assert_eq!(
        command(&["decr", "k", "7"]),
        Command::Arith {
            decr: true,
            key: b"k".to_vec(),
            delta: 7
        }
    );
    assert_eq!(
        command(&["stats", "slabs"]),
        Command::Stats {
            section: Some(b"slabs".to_vec())
        }
    );
    assert_eq!(command(&["stats"]), Command::Stats { section: None });
    assert_eq!(
        command(&["route", "a", "-5"]),
        Command::Route {
            keys: vec![b"a".to_vec(), b"-5".to_vec()]
        }
    );
    // `--` before the command: the command is still the command.
    assert_eq!(
        command(&["--servers", "x", "--", "get", "-k"]),
        Command::Get {
            keys: vec![b"-k".to_vec()],
            output: None,
            show_flags: false,
        }
    );
    assert_eq!(command(&["dump"]), Command::Dump);
    assert_eq!(command(&["ping"]), Command::Ping);
}

#[test]
fn values_from_stdin_or_a_file_and_get_to_a_file() {
    let store = |args: &[&str]| match command(args) {
        Command::Store { value, .. } | Command::Cas { value, .. } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(store(&["set", "k", "-"]), Payload::Stdin);
    assert_eq!(
        store(&["append", "k", "--file", "/tmp/v"]),
        Payload::File(PathBuf::from("/tmp/v"))
    );
    assert_eq!(
        command(&["cas", "k", "7", "--file", "v"]),
        Command::Cas {
            key: b"k".to_vec(),
            value: Payload::File(PathBuf::from("v")),
            token: 7,
            ttl: 0,
            flags: None,
        }
    );
    assert_eq!(
        command(&["get", "a", "--output", "out", "--show-flags"]),
        Command::Get {
            keys: vec![b"a".to_vec()],
            output: Some(PathBuf::from("out")),
            show_flags: true,
        }
    );
    assert_eq!(
        error(&["set", "k", "v", "--file", "f"]).message,
        "set takes 1 argument with --file, got 2"
    );
    assert_eq!(
        error(&["set", "--file", "f"]).message,
        "set takes 1 argument with --file, got 0"
    );
}

#[test]
fn hash_and_protocol() {
    let choice = |args: &[&str]| {
        let c = cli(args);
        (c.hash, c.protocol)
    };
    assert_eq!(choice(&["version"]), (Hash::Rendezvous, Protocol::Text));
    assert_eq!(
        choice(&["--hash", "ketama-md5", "--protocol=meta", "version"]),
        (Hash::KetamaMd5, Protocol::Meta)
    );
    assert_eq!(
        choice(&["--hash=ketama-fnv1a64", "--hash", "rendezvous", "version"]),
        (Hash::Rendezvous, Protocol::Text)
    );
    assert!(matches!(
        Hash::KetamaFnv1a64.distribution(),
        Distribution::KetamaFnv1a64
    ));
    let err = error(&["--hash", "md5", "version"]);
    assert_eq!(
        err.message,
        "invalid --hash 'md5': expected rendezvous, ketama-md5 or ketama-fnv1a64"
    );
    assert_eq!(err.usage, USAGE);
    assert_eq!(
        error(&["--protocol", "META", "version"]).message,
        "invalid --protocol 'META': expected text or meta"
    );
}

#[test]
fn typos_get_a_suggestion() {
    assert_eq!(
        error(&["gett", "k"]).message,
        "unknown command 'gett' (did you mean 'get'?)"
    );
    let err = error(&["set", "k", "v", "--tll", "5"]);
    assert_eq!(
        err.message,
        "unknown option '--tll' for set (did you mean '--ttl'?)"
    );
    assert_eq!(
        err.usage,
        "usage: memcrab set KEY VALUE [--ttl SECONDS] [--flags N]"
    );
}

#[test]
fn tls_options_fit_together() {
    let c = cli(&["--tls-ca", "ca.pem", "--tls-server-name", "mc", "version"]);
    assert_eq!(c.tls.tls_ca, Some(PathBuf::from("ca.pem")));
    assert_eq!(c.tls.tls_server_name.as_deref(), Some("mc"));
    assert!(error(&["--tls", "version"]).message.contains("--tls-ca"));
    assert_eq!(
        error(&["--tls-ca", "a", "--tls-key", "k", "version"]).message,
        "--tls-key needs --tls-cert FILE"
    );
}

#[test]
fn every_command_help_starts_with_the_program_line() {
    for name in [
        "get",
        "gets",
        "set",
        "cas",
        "delete",
        "incr",
        "touch",
        "stats",
        "version",
        "flush",
        "route",
        "dump",
        "ping",
        "bench",
        "completions",
    ] {
        match parse_strs(&[name, "--help"]) {
            Ok(Parsed::Help(text)) => {
                assert!(
                    text.starts_with("memcrab: a memcached command line client\n\n"),
                    "{name}: {text}"
                );
                assert!(
                    text.contains(&format!("memcrab [OPTIONS] {name}")),
                    "{text}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}
