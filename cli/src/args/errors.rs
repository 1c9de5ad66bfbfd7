//! clap's errors in the command line's own words: one line, the message
//! scripts have always seen, then the usage of the command concerned
//! ([`UsageError`]); `--help` and `--version` are not errors.
//!
//! clap says what was wrong but not where: [`Scan`] finds the command name
//! in the arguments, so an option before it is the program's and one after
//! it the command's.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::{command, spec, Parsed, UsageError};

/// Options of the program (before the command) that take a value.
const GLOBAL_WITH_VALUE: &[&str] = &[
    "--servers",
    "--hash",
    "--protocol",
    "--timeout",
    "--tls-ca",
    "--tls-cert",
    "--tls-key",
    "--tls-server-name",
];

/// Where the command name is in the arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// The index of the command name, if one was found.
    command: Option<usize>,
    /// The index of a `--` before the command name.
    dash: Option<usize>,
}

impl Scan {
    /// Finds the command name: the first argument that is neither an
    /// option nor an option's value (or the argument after `--`).
    pub fn new(argv: &[OsString]) -> Scan {
        let mut i = 0;
        while i < argv.len() {
            let arg = argv[i].as_encoded_bytes();
            if arg == b"--" {
                let command = (i + 1 < argv.len()).then_some(i + 1);
                return Scan {
                    command,
                    dash: Some(i),
                };
            }
            if !is_option(arg) {
                return Scan {
                    command: Some(i),
                    dash: None,
                };
            }
            let text = String::from_utf8_lossy(arg);
            let takes_value = GLOBAL_WITH_VALUE.contains(&&*text);
            i += if takes_value { 2 } else { 1 };
        }
        Scan {
            command: None,
            dash: None,
        }
    }

    /// After `--` every argument is positional, the command name too: one
    /// that looks like an option (`memcrab -- --hash`) is no command clap
    /// could be shown.
    pub fn unknown_command(&self, argv: &[OsString]) -> Option<UsageError> {
        let command = argv.get(self.command?)?;
        (self.dash.is_some() && is_option(command.as_encoded_bytes())).then(|| {
            UsageError::general(format!("unknown command '{}'", command.to_string_lossy()))
        })
    }

    /// `argv` with a `--` before the command moved to just after it, so
    /// that clap sees the command (`memcrab -- get -key` is `memcrab get --
    /// -key`); the scan then describes the new arguments.
    pub fn rewritten(&mut self, mut argv: Vec<OsString>) -> Vec<OsString> {
        if let (Some(dash), Some(command)) = (self.dash, self.command) {
            let dd = argv.remove(dash);
            argv.insert(command, dd);
            self.command = Some(dash);
            self.dash = None;
        }
        argv
    }

    /// The command name, as given.
    fn command_name(&self, argv: &[OsString]) -> String {
        self.command
            .and_then(|i| argv.get(i))
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// True if the argument at `index` comes before the command.
    fn before_command(&self, index: usize) -> bool {
        self.command.is_none_or(|command| index < command)
    }
}

/// `true` for arguments that are options: they start with `-`, but are
/// neither `-` alone nor a negative integer.
pub fn is_option(arg: &[u8]) -> bool {
    match arg {
        [b'-', rest @ ..] => {
            !(rest.is_empty() || (rest.iter().all(u8::is_ascii_digit) && rest[0] != b'-'))
        }
        _ => false,
    }
}

/// The first line of clap's message, without its `error: `.
pub fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.strip_prefix("error: ")
        .unwrap_or(line)
        .trim()
        .to_owned()
}

/// The text of a context value.
fn text(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.last().cloned(),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        _ => None,
    }
}

/// The texts of a list context value.
fn texts(e: &clap::Error, kind: ContextKind) -> Vec<String> {
    match e.get(kind) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// `--ttl` of `--ttl <SECONDS>`; `SHELL` of `<SHELL>`.
fn arg_name(arg: &str) -> String {
    let first = arg.split_whitespace().next().unwrap_or(arg);
    first
        .trim_start_matches('<')
        .trim_end_matches("...")
        .trim_end_matches('>')
        .to_owned()
}

/// Where `option` (`--name`, or `-x` of a cluster) first appears, and the
/// argument as written.
fn locate(argv: &[OsString], scan: &Scan, option: &str) -> Option<(usize, String)> {
    for (i, arg) in argv.iter().enumerate() {
        let arg = arg.to_string_lossy();
        if arg == "--" && !scan.before_command(i) {
            return None;
        }
        let found = if option.starts_with("--") {
            arg == option || arg.starts_with(&format!("{option}="))
        } else {
            option.starts_with('-') && arg.starts_with(option) && !arg.starts_with("--")
        };
        if found {
            return Some((i, arg.into_owned()));
        }
    }
    None
}

/// True if some command (not the program) has the long option `option`.
fn is_command_option(option: &str) -> bool {
    let Some(long) = option.strip_prefix("--") else {
        return false;
    };
    command()
        .get_subcommands()
        .any(|s| s.get_arguments().any(|a| a.get_long() == Some(long)))
}

/// True if the program (before the command) has the long option `option`.
fn is_global_option(option: &str) -> bool {
    let Some(long) = option.strip_prefix("--") else {
        return false;
    };
    command()
        .get_arguments()
        .any(|a| a.get_long() == Some(long))
}

/// A usage error about the option `option` where it was given: the
/// program's usage before the command, the command's after it.
fn about(argv: &[OsString], scan: &Scan, option: &str, message: impl Into<String>) -> UsageError {
    let at = locate(argv, scan, option).map(|(i, _)| i);
    match at {
        Some(i) if scan.before_command(i) => UsageError::general(message),
        _ => UsageError::of(&scan.command_name(argv), message),
    }
}

/// Turns clap's error into what the command line does: help and version
/// are printed, everything else is a [`UsageError`].
///
/// # Errors
///
/// The usage error.
pub fn map(e: &clap::Error, argv: &[OsString], scan: &Scan) -> Result<Parsed, UsageError> {
    let suggestion = |kind| {
        text(e, kind)
            .map(|s| format!(" (did you mean '{s}'?)"))
            .unwrap_or_default()
    };
    let error = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return Ok(Parsed::Help(e.render().to_string()));
        }
        ErrorKind::DisplayVersion => return Ok(Parsed::Version),
        ErrorKind::MissingSubcommand => UsageError::general("no command given"),
        ErrorKind::InvalidSubcommand => {
            let name = text(e, ContextKind::InvalidSubcommand).unwrap_or_default();
            UsageError::general(format!(
                "unknown command '{name}'{}",
                suggestion(ContextKind::SuggestedSubcommand)
            ))
        }
        ErrorKind::UnknownArgument => {
            let arg = text(e, ContextKind::InvalidArg).unwrap_or_default();
            let option = arg.split('=').next().unwrap_or(&arg).to_owned();
            let (at, written) = locate(argv, scan, &option).unwrap_or((0, arg.clone()));
            let hint = suggestion(ContextKind::SuggestedArg);
            if scan.command == Some(at) {
                // Taken for an option by clap, for the command by the scan
                // (`memcrab -5`).
                UsageError::general(format!("unknown command '{written}'"))
            } else if is_global_option(&option) {
                // The program knows its own options: this one came after
                // the command.
                UsageError::general(format!("option {option} belongs before the command"))
            } else if scan.before_command(at) {
                if is_command_option(&option) {
                    UsageError::general(format!("option {option} belongs after the command"))
                } else {
                    UsageError::general(format!("unknown option '{written}'{hint}"))
                }
            } else {
                let name = scan.command_name(argv);
                UsageError::of(
                    &name,
                    format!("unknown option '{written}' for {name}{hint}"),
                )
            }
        }
        ErrorKind::InvalidValue => {
            let arg = text(e, ContextKind::InvalidArg).unwrap_or_default();
            let name = arg_name(&arg);
            let value = text(e, ContextKind::InvalidValue).unwrap_or_default();
            let valid = texts(e, ContextKind::ValidValue);
            let message = if value.is_empty() && name.starts_with('-') {
                format!("option {name} needs a value")
            } else {
                format!("invalid {name} '{value}': expected {}", one_of(&valid))
            };
            about(argv, scan, &name, message)
        }
        ErrorKind::ValueValidation => {
            let arg = text(e, ContextKind::InvalidArg).unwrap_or_default();
            let message = match std::error::Error::source(e) {
                Some(source) => source.to_string(),
                None => first_line(e),
            };
            about(argv, scan, &arg_name(&arg), message)
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = texts(e, ContextKind::InvalidArg);
            let name = scan.command_name(argv);
            match spec(&name) {
                Some(spec) => {
                    let with_file =
                        locate(argv, scan, "--file").is_some_and(|(i, _)| !scan.before_command(i));
                    let (min, _) = spec.counts(with_file);
                    spec.count_error(min.saturating_sub(missing.len()), with_file)
                }
                None => UsageError::general(first_line(e)),
            }
        }
        _ => match text(e, ContextKind::InvalidArg) {
            Some(arg) => about(argv, scan, &arg_name(&arg), first_line(e)),
            None => UsageError::general(first_line(e)),
        },
    };
    Err(error)
}

/// `a, b or c`.
fn one_of(names: &[String]) -> String {
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "something else".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn options_and_negative_numbers() {
        assert!(is_option(b"--ttl"));
        assert!(is_option(b"-k"));
        assert!(is_option(b"--"));
        assert!(is_option(b"--5"));
        assert!(!is_option(b"-"));
        assert!(!is_option(b"-5"));
        assert!(!is_option(b"-123"));
        assert!(!is_option(b"key"));
        assert!(!is_option(b""));
    }

    #[test]
    fn the_scan_finds_the_command_after_the_programs_options() {
        let argv = os(&["--servers", "get", "--hash=x", "--tls", "set", "k"]);
        let scan = Scan::new(&argv);
        assert_eq!(scan.command, Some(4));
        assert_eq!(scan.command_name(&argv), "set");
        assert!(scan.before_command(3) && !scan.before_command(5));
        assert_eq!(Scan::new(&os(&["--timeout", "1"])).command, None);
    }

    #[test]
    fn a_double_dash_before_the_command_moves_after_it() {
        let argv = os(&["--servers", "x", "--", "get", "-k", "--", "b"]);
        let mut scan = Scan::new(&argv);
        assert_eq!(scan.unknown_command(&argv), None);
        let argv = scan.rewritten(argv);
        assert_eq!(argv, os(&["--servers", "x", "get", "--", "-k", "--", "b"]));
        assert_eq!(scan.command_name(&argv), "get");
        // An option-like command after `--` is no command.
        let argv = os(&["--", "--hash"]);
        let scan = Scan::new(&argv);
        assert_eq!(
            scan.unknown_command(&argv).map(|e| e.message),
            Some("unknown command '--hash'".to_owned())
        );
    }
}
