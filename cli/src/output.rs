//! What the commands print, and how: every format of the command line in
//! one place.
//!
//! Values are written as the raw bytes the server holds; nothing is
//! escaped or converted. Messages go to stderr as one line each, prefixed
//! `memcrab: `.

use std::io::{self, Write};

/// The prefix of every message on stderr.
pub const PREFIX: &str = "memcrab: ";

/// Where the commands print: results to `out`, messages to `err`.
pub struct Output<O: Write, E: Write> {
    out: O,
    err: E,
}

impl<O: Write, E: Write> Output<O, E> {
    /// Prints results to `out` and messages to `err`.
    pub fn new(out: O, err: E) -> Self {
        Output { out, err }
    }

    /// `get KEY`: the value exactly, no newline added.
    pub fn value(&mut self, value: &[u8]) -> io::Result<()> {
        self.out.write_all(value)
    }

    /// `get KEY...`: one `KEY VALUE` line.
    pub fn key_value(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.line(&[key, b" ", value])
    }

    /// `gets KEY`: one `TOKEN VALUE` line.
    pub fn token_value(&mut self, token: u64, value: &[u8]) -> io::Result<()> {
        self.line(&[token.to_string().as_bytes(), b" ", value])
    }

    /// `incr`/`decr`: the new value on a line.
    pub fn number(&mut self, n: u64) -> io::Result<()> {
        self.line(&[n.to_string().as_bytes()])
    }

    /// `stats`: one `NAME VALUE` line.
    pub fn stat(&mut self, name: &[u8], value: &[u8]) -> io::Result<()> {
        self.line(&[name, b" ", value])
    }

    /// `route`: one `KEY<TAB>SERVER` line.
    pub fn route(&mut self, key: &[u8], server: &str) -> io::Result<()> {
        self.line(&[key, b"\t", server.as_bytes()])
    }

    /// `get KEY --show-flags`: one `FLAGS VALUE` line.
    pub fn flags_value(&mut self, flags: u32, value: &[u8]) -> io::Result<()> {
        self.line(&[flags.to_string().as_bytes(), b" ", value])
    }

    /// `get KEY... --show-flags`: one `KEY FLAGS VALUE` line.
    pub fn key_flags_value(&mut self, key: &[u8], flags: u32, value: &[u8]) -> io::Result<()> {
        self.line(&[key, b" ", flags.to_string().as_bytes(), b" ", value])
    }

    /// `stats` of one of several servers: `SERVER<TAB>NAME VALUE`; of the
    /// only one: `NAME VALUE`.
    pub fn stat_of(&mut self, server: Option<&str>, name: &[u8], value: &[u8]) -> io::Result<()> {
        match server {
            Some(server) => self.line(&[server.as_bytes(), b"\t", name, b" ", value]),
            None => self.stat(name, value),
        }
    }

    /// `version` of one of several servers: `SERVER<TAB>VERSION`.
    pub fn text_of(&mut self, server: Option<&str>, text: &str) -> io::Result<()> {
        match server {
            Some(server) => self.line(&[server.as_bytes(), b"\t", text.as_bytes()]),
            None => self.text(text),
        }
    }

    /// `dump`: the key on a line, with `<TAB>SERVER` when there are several.
    pub fn key_of(&mut self, key: &[u8], server: Option<&str>) -> io::Result<()> {
        match server {
            Some(server) => self.route(key, server),
            None => self.line(&[key]),
        }
    }

    /// `ping`: `SERVER<TAB>0.123 ms`.
    pub fn ping(&mut self, server: &str, rtt: std::time::Duration) -> io::Result<()> {
        let time = crate::each::milliseconds(rtt);
        self.line(&[server.as_bytes(), b"\t", time.as_bytes()])
    }

    /// `version`: the text on a line.
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.line(&[text.as_bytes()])
    }

    /// A one-line message on stderr, `memcrab: ` first.
    pub fn message(&mut self, message: &str) -> io::Result<()> {
        write_message(&mut self.err, message)
    }

    /// The writers of results and messages.
    pub fn into_parts(self) -> (O, E) {
        (self.out, self.err)
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.err.flush()
    }

    fn line(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        for part in parts {
            self.out.write_all(part)?;
        }
        self.out.write_all(b"\n")
    }
}

/// Writes `memcrab: <message>` as one line: line breaks inside the message
/// become spaces.
pub fn write_message(err: &mut impl Write, message: &str) -> io::Result<()> {
    let one_line: String = message
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    writeln!(err, "{PREFIX}{}", one_line.trim_end())
}

/// A key for a message: its text, invalid UTF-8 replaced.
pub fn show_key(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

/// `not found: KEY`, for the commands other than get/gets that miss.
pub fn not_found(key: &[u8]) -> String {
    format!("not found: {}", show_key(key))
}

/// The message for a storage command the server did not store.
pub const NOT_STORED: &str = "not stored";

/// The message for a cas whose item changed since `gets`.
pub const CAS_EXISTS: &str = "not stored: the item changed since its cas token was read (EXISTS)";

/// The message for a cas whose item is gone.
pub fn cas_not_found(key: &[u8]) -> String {
    format!("not stored: {} (NOT_FOUND)", not_found(key))
}
