//! A tiny plain-socket memcached client, independent of memcrab, for checking
//! what a server really holds.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Default time limit for connecting, each write and each read.
pub const RAW_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a raw exchange connects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawTarget {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A unix socket path.
    Unix(PathBuf),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// One plain connection, with a buffer of bytes read but not yet consumed.
pub struct RawConn {
    stream: Stream,
    buf: Vec<u8>,
}

impl RawConn {
    /// Connects with `timeout` for the connect and every later read and write.
    pub fn connect(target: &RawTarget, timeout: Duration) -> io::Result<RawConn> {
        let stream = match target {
            RawTarget::Tcp(addr) => {
                let s = TcpStream::connect_timeout(addr, timeout)?;
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                s.set_nodelay(true)?;
                Stream::Tcp(s)
            }
            RawTarget::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                Stream::Unix(s)
            }
        };
        Ok(RawConn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = loop {
            match self.stream.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "server closed the connection; got so far: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Reads until everything received so far ends with `terminator`, and
    /// returns all of it (terminator included).
    pub fn read_until_suffix(&mut self, terminator: &[u8]) -> io::Result<Vec<u8>> {
        while !self.buf.ends_with(terminator) {
            self.fill()?;
        }
        Ok(std::mem::take(&mut self.buf))
    }

    /// Reads one line, returned without its `\r\n`.
    pub fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..pos].to_vec();
                self.buf.drain(..pos + 2);
                return Ok(line);
            }
            self.fill()?;
        }
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact_bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill()?;
        }
        Ok(self.buf.drain(..n).collect())
    }
}

fn invalid(what: &str, line: &[u8]) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what}: {:?}", String::from_utf8_lossy(line)),
    )
}

/// One item as the server holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawItem {
    /// The client flags stored with the item.
    pub flags: u32,
    /// The item's bytes.
    pub value: Vec<u8>,
    /// The item's cas unique.
    pub cas: u64,
}

/// Sends `cmd` on a fresh connection and reads until the reply ends with
/// `terminator`.
pub fn exchange(
    target: &RawTarget,
    cmd: &[u8],
    terminator: &[u8],
    timeout: Duration,
) -> io::Result<Vec<u8>> {
    let mut conn = RawConn::connect(target, timeout)?;
    conn.send(cmd)?;
    conn.read_until_suffix(terminator)
}

/// `gets <key>` on a fresh connection, properly framed (values may contain
/// `END\r\n`). `Ok(None)` on a miss.
pub fn get_item(target: &RawTarget, key: &[u8], timeout: Duration) -> io::Result<Option<RawItem>> {
    let mut conn = RawConn::connect(target, timeout)?;
    let mut cmd = b"gets ".to_vec();
    cmd.extend_from_slice(key);
    cmd.extend_from_slice(b"\r\n");
    conn.send(&cmd)?;
    let header = conn.read_line()?;
    if header == b"END" {
        return Ok(None);
    }
    // VALUE <key> <flags> <bytes> <cas>
    let text = String::from_utf8_lossy(&header).into_owned();
    let fields: Vec<&str> = text.split(' ').collect();
    if fields.len() != 5 || fields[0] != "VALUE" {
        return Err(invalid("unexpected reply to gets", &header));
    }
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| invalid("bad number in VALUE line", &header))
    };
    let flags = num(fields[2])? as u32;
    let len = num(fields[3])? as usize;
    let cas = num(fields[4])?;
    let mut data = conn.read_exact_bytes(len + 2)?;
    if !data.ends_with(b"\r\n") {
        return Err(invalid("value not followed by \\r\\n", &data));
    }
    data.truncate(len);
    let end = conn.read_line()?;
    if end != b"END" {
        return Err(invalid("expected END after the value", &end));
    }
    Ok(Some(RawItem {
        flags,
        value: data,
        cas,
    }))
}

/// Parses a `stats` reply into `(name, value)` pairs.
pub fn parse_stats(reply: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(reply)
        .split("\r\n")
        .filter_map(|line| line.strip_prefix("STAT "))
        .map(|stat| match stat.split_once(' ') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (stat.to_owned(), String::new()),
        })
        .collect()
}
