//! Opening sockets with tokio: TCP (v4 and v6, every resolved address in
//! turn, no_delay and keepalive), unix, and TLS with tokio-rustls.

use std::io;
use std::pin::Pin;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::address::ServerAddr;
use crate::blocking::ClientOptions;

/// The read half of a connection's socket.
pub(crate) type ReadHalf = Pin<Box<dyn AsyncRead + Send>>;
/// The write half of a connection's socket.
pub(crate) type WriteHalf = Pin<Box<dyn AsyncWrite + Send>>;

/// Opens a socket to `addr` and splits it into halves.
pub(crate) async fn connect(
    addr: &ServerAddr,
    opts: &ClientOptions,
) -> io::Result<(ReadHalf, WriteHalf)> {
    match addr {
        #[cfg(feature = "tls")]
        ServerAddr::Unix(_) if opts.tls.is_some() => Err(crate::blocking::tls::unix_unsupported()),
        #[cfg(unix)]
        ServerAddr::Unix(path) => {
            let (r, w) = tokio::net::UnixStream::connect(path).await?.into_split();
            Ok((Box::pin(r), Box::pin(w)))
        }
        #[cfg(not(unix))]
        ServerAddr::Unix(path) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("unix socket {path} cannot be used on this platform"),
        )),
        ServerAddr::Tcp { host, port } => {
            let stream = connect_tcp(host, *port, opts).await?;
            #[cfg(feature = "tls")]
            if let Some(tls) = &opts.tls {
                let (r, w) = tokio::io::split(handshake(tls, addr, stream).await?);
                return Ok((Box::pin(r), Box::pin(w)));
            }
            let (r, w) = stream.into_split();
            Ok((Box::pin(r), Box::pin(w)))
        }
    }
}

/// Connects to the first address `host` resolves to that accepts.
async fn connect_tcp(host: &str, port: u16, opts: &ClientOptions) -> io::Result<TcpStream> {
    // An IPv6 zone is the resolver's business; brackets are not.
    let mut last = None;
    for sa in tokio::net::lookup_host((host, port)).await? {
        match TcpStream::connect(sa).await {
            Ok(s) => {
                crate::blocking::socket::tune(SockRef::from(&s), opts)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host resolved to no address")))
}

/// Runs the TLS handshake over `stream`, verifying the server's name.
#[cfg(feature = "tls")]
async fn handshake(
    tls: &crate::blocking::TlsConfig,
    addr: &ServerAddr,
    stream: TcpStream,
) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    use crate::blocking::tls::{failure, failure_message};
    let name = tls.name_for(addr)?;
    let shown = name.to_str().into_owned();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::clone(tls.rustls_config()));
    connector
        .connect(name, stream)
        .await
        .map_err(|e| match failure_message(&e) {
            Some(m) => failure(format!("{m} (server name `{shown}`)")),
            None if e.kind() == io::ErrorKind::UnexpectedEof => failure(format!(
                "the server closed the connection during the TLS handshake \
                 (server name `{shown}`)"
            )),
            None => e,
        })
}
