//! Opening sockets: TCP (v4 and v6, every resolved address in turn) and unix.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, TcpKeepalive, Type};

use super::options::{ClientOptions, Keepalive};
use crate::address::Resolve;
use crate::address::ServerAddr;

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsStream>),
}

impl Stream {
    /// Connects to `addr` with the timeouts and socket options of `opts`.
    ///
    /// Every address a host name resolves to is tried in turn (IPv6 first);
    /// the last error is returned if none accepts.
    pub(crate) fn connect(addr: &ServerAddr, opts: &ClientOptions) -> io::Result<Stream> {
        let stream = match addr {
            #[cfg(feature = "tls")]
            ServerAddr::Unix(_) if opts.tls.is_some() => return Err(super::tls::unix_unsupported()),
            #[cfg(unix)]
            ServerAddr::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
            #[cfg(not(unix))]
            ServerAddr::Unix(path) => return Err(unix_unsupported(path)),
            ServerAddr::Tcp { .. } => {
                let mut last = None;
                let mut found = None;
                for sa in addr.resolve()? {
                    match connect_tcp(sa.into(), opts) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match found {
                    #[cfg(feature = "tls")]
                    Some(s) => super::tls::wrap(s, addr, opts)?,
                    #[cfg(not(feature = "tls"))]
                    Some(s) => Stream::Tcp(s),
                    None => {
                        return Err(last.unwrap_or_else(|| {
                            io::Error::new(io::ErrorKind::NotFound, "host resolved to no address")
                        }))
                    }
                }
            }
        };
        stream.set_timeout(opts.timeout)?;
        Ok(stream)
    }

    /// Sets the read timeout (a zero duration is raised to 1 ms).
    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        let t = t.map(|d| d.max(Duration::from_millis(1)));
        on_socket!(self, s => s.set_read_timeout(t))
    }

    fn set_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(t)?;
        let t = t.map(|d| d.max(Duration::from_millis(1)));
        on_socket!(self, s => s.set_write_timeout(t))
    }

    /// Shuts both directions down, ignoring errors.
    pub(crate) fn close(&self) {
        let _ = on_socket!(self, s => s.shutdown(Shutdown::Both));
    }
}

/// Runs `$e` with `$s` bound to the stream's socket: the TCP or unix
/// socket, under TLS its TCP socket (`$tls` names the TLS stream itself
/// where the bytes go through it).
macro_rules! on_socket {
    ($stream:expr, $s:ident => $e:expr) => {
        on_socket!($stream, $s => $e, tls => { let $s = tls.sock(); $e })
    };
    ($stream:expr, $s:ident => $e:expr, $tls:ident => $te:expr) => {
        match $stream {
            Stream::Tcp($s) => $e,
            #[cfg(unix)]
            Stream::Unix($s) => $e,
            #[cfg(feature = "tls")]
            Stream::Tls($tls) => $te,
        }
    };
}

use on_socket;

/// The error for a unix socket address where there are no unix sockets.
#[cfg(not(unix))]
fn unix_unsupported(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "unix socket {} cannot be used: this platform has no unix domain sockets \
             (use a host:port address)",
            path
        ),
    )
}

fn connect_tcp(addr: SockAddr, opts: &ClientOptions) -> io::Result<TcpStream> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    tune(SockRef::from(&socket), opts)?;
    match opts.connect_timeout {
        Some(t) => socket.connect_timeout(&addr, t.max(Duration::from_millis(1)))?,
        None => socket.connect(&addr)?,
    }
    Ok(socket.into())
}

/// Applies `no_delay` and keepalive to a TCP socket (the blocking and
/// the tokio transports').
pub(crate) fn tune(socket: SockRef<'_>, opts: &ClientOptions) -> io::Result<()> {
    if opts.no_delay {
        socket.set_nodelay(true)?;
    }
    if let Some(Keepalive {
        idle,
        interval,
        count,
    }) = opts.keepalive
    {
        socket.set_keepalive(true)?;
        let ka = TcpKeepalive::new().with_time(idle).with_interval(interval);
        // Windows has no per-socket probe count: its own (10) applies there.
        #[cfg(not(windows))]
        let ka = ka.with_retries(count);
        #[cfg(windows)]
        let _ = count;
        socket.set_tcp_keepalive(&ka)?;
    }
    Ok(())
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        on_socket!(self, s => s.read(buf), tls => tls.read(buf))
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        on_socket!(self, s => s.write(buf), tls => tls.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[path = "tests/socket.rs"]
mod tests;
