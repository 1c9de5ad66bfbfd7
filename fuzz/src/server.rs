//! Reading a client's bytes as memcached 1.6 does, for the encoder target.

/// One command as memcached reads it: its tokens and, for a storage
/// command (`set`…`cas`, `ms`), its data block.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerCmd {
    /// The command line split on spaces, empty tokens skipped.
    pub tokens: Vec<Vec<u8>>,
    /// The data block (without its `\r\n`).
    pub data: Option<Vec<u8>>,
}

impl ServerCmd {
    /// A command from its tokens.
    pub fn new(tokens: Vec<Vec<u8>>, data: Option<Vec<u8>>) -> Self {
        ServerCmd { tokens, data }
    }

    /// The command with its meta flags sorted (their order is free), so two
    /// encodings of the same meta request compare equal.
    pub fn normalized(mut self) -> Self {
        let fixed = match self.tokens.first().map(Vec::as_slice) {
            Some(b"ms") => 3,
            Some(b"mg" | b"md" | b"ma" | b"me") => 2,
            _ => self.tokens.len(),
        };
        if self.tokens.len() > fixed {
            self.tokens[fixed..].sort();
        }
        self
    }
}

const TEXT_STORAGE: [&[u8]; 6] = [b"set", b"add", b"replace", b"append", b"prepend", b"cas"];

/// Splits a command line as memcached's tokenizer does: on spaces, empty
/// tokens skipped.
pub fn tokens(line: &[u8]) -> Vec<Vec<u8>> {
    line.split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Parses `bytes` as memcached reads a client's stream: a command line ends
/// at the first `\n` (one `\r` before it is dropped); a storage command
/// (`set`, `add`, `replace`, `append`, `prepend`, `cas`: length in token 4;
/// `ms`: length in token 2) is followed by that many bytes and `\r\n`.
///
/// # Errors
///
/// A description of what memcached would refuse or wait for: an incomplete
/// line, an empty command, a bad length, a data block not followed by
/// `\r\n`.
pub fn parse(mut bytes: &[u8]) -> Result<Vec<ServerCmd>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
            return Err(format!(
                "incomplete line {:?}",
                String::from_utf8_lossy(bytes)
            ));
        };
        let line = &bytes[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        bytes = &bytes[nl + 1..];
        let t = tokens(line);
        let Some(name) = t.first() else {
            return Err("empty command line".into());
        };
        let len_at = if TEXT_STORAGE.contains(&name.as_slice()) {
            Some(4)
        } else if name == b"ms" {
            Some(2)
        } else {
            None
        };
        let data = match len_at {
            Some(i) => {
                let len = t
                    .get(i)
                    .and_then(|l| std::str::from_utf8(l).ok())
                    .and_then(|l| l.parse::<i32>().ok())
                    .filter(|&l| l >= 0)
                    .ok_or_else(|| format!("bad data length in {t:?}"))?
                    as usize;
                if bytes.len() < len + 2 || &bytes[len..len + 2] != b"\r\n" {
                    return Err(format!("bad data chunk after {t:?}"));
                }
                let data = bytes[..len].to_vec();
                bytes = &bytes[len + 2..];
                Some(data)
            }
            None => None,
        };
        out.push(ServerCmd { tokens: t, data });
    }
    Ok(out)
}
