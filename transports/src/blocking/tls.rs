//! TLS for the blocking transport, with rustls (cargo feature `tls`).
//!
//! [`TlsConfig`] is the Rust counterpart of pymemcache's `tls_context`: give
//! it to [`ClientBuilder::tls`](super::ClientBuilder::tls) (or set
//! [`ClientOptions::tls`](super::ClientOptions::tls) for a
//! [`PooledClient`](super::PooledClient) or
//! [`HashClient`](super::HashClient)) and every connection of that client
//! speaks TLS. Certificates are always verified: against the roots given to
//! [`TlsConfigBuilder::ca_pem`] (or whatever verifier a hand-made rustls
//! `ClientConfig` has), for the server name taken from the host of each
//! server address unless [`TlsConfigBuilder::server_name`] overrides it.
//!
//! The handshake runs when the connection opens (within the connect
//! timeout, or the call timeout when there is none), so a certificate that
//! does not verify fails the first call with
//! [`ErrorKind::Tls`](crate::ErrorKind::Tls) and a message naming the
//! server and what was wrong.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use super::options::ClientOptions;
use super::socket::Stream;
use crate::address::ServerAddr;
use crate::error::{Error, Result};

/// How a client speaks TLS: a rustls [`ClientConfig`] and, optionally, the
/// server name to verify instead of each server's host.
///
/// Cheap to clone (the rustls configuration is shared).
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::blocking::TlsConfig;
/// use memcrab_transport::{Client, Memcache};
///
/// let ca = std::fs::read("ca.pem")?;
/// let tls = TlsConfig::builder().ca_pem(&ca).build()?;
/// let client = Client::builder("cache.example.com:11211").tls(tls).build()?;
/// client.set("k", "v")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .field(
                "client_auth",
                &self.config.client_auth_cert_resolver.has_certs(),
            )
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Starts building a configuration from PEM roots and, for mutual TLS,
    /// a client certificate.
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder {
            roots: RootCertStore::empty(),
            client_auth: None,
            server_name: None,
            error: None,
        }
    }

    /// Uses a rustls configuration made by hand (its own roots, verifier,
    /// client certificate, versions, ALPN, …).
    #[must_use]
    pub fn from_rustls(config: Arc<ClientConfig>) -> TlsConfig {
        TlsConfig {
            config,
            server_name: None,
        }
    }

    /// Verifies the certificate for `name` (a DNS name or an IP address)
    /// instead of each server's host; needed for a server given by an IP
    /// address whose certificate names only a host name.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `name` is neither a DNS name nor an IP address.
    pub fn with_server_name(mut self, name: &str) -> Result<TlsConfig> {
        self.server_name = Some(parse_name(name)?);
        Ok(self)
    }

    /// Returns the rustls configuration.
    #[must_use]
    pub fn rustls_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Returns the server name override, if any.
    #[must_use]
    pub fn server_name(&self) -> Option<&ServerName<'static>> {
        self.server_name.as_ref()
    }

    /// The name to verify for `addr`.
    pub(crate) fn name_for(&self, addr: &ServerAddr) -> io::Result<ServerName<'static>> {
        if let Some(name) = &self.server_name {
            return Ok(name.clone());
        }
        match addr {
            ServerAddr::Tcp { host, .. } => {
                // An IPv6 zone (`fe80::1%eth0`) is not part of the name.
                let host = host.split('%').next().unwrap_or(host);
                ServerName::try_from(host.to_owned()).map_err(|e| {
                    failure(format!(
                        "`{host}` cannot be verified as a TLS server name ({e}); \
                         set TlsConfig::with_server_name"
                    ))
                })
            }
            ServerAddr::Unix(_) => Err(unix_unsupported()),
        }
    }
}

/// Builds a [`TlsConfig`]: trusted roots (required), a client certificate
/// (mutual TLS, optional) and a server name override (optional).
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::blocking::TlsConfig;
///
/// let tls = TlsConfig::builder()
///     .ca_pem(&std::fs::read("ca.pem")?)
///     .client_cert_pem(&std::fs::read("client.pem")?, &std::fs::read("client.key")?)
///     .server_name("memcached.internal")
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct TlsConfigBuilder {
    roots: RootCertStore,
    client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    server_name: Option<String>,
    error: Option<String>,
}

impl fmt::Debug for TlsConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfigBuilder")
            .field("roots", &self.roots.len())
            .field("client_auth", &self.client_auth.is_some())
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConfigBuilder {
    /// Trusts every certificate in `pem` (one or more `CERTIFICATE` blocks)
    /// as a root.
    pub fn ca_pem(mut self, pem: &[u8]) -> Self {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            match cert.map_err(|e| e.to_string()).and_then(|c| {
                self.roots
                    .add(c)
                    .map_err(|e| format!("not a usable root certificate: {e}"))
            }) {
                Ok(()) => found += 1,
                Err(e) => return self.fail(format!("ca_pem: {e}")),
            }
        }
        if found == 0 {
            return self.fail("ca_pem: no CERTIFICATE block found".into());
        }
        self
    }

    /// Trusts one DER-encoded root certificate.
    pub fn ca_der(mut self, der: &[u8]) -> Self {
        if let Err(e) = self.roots.add(CertificateDer::from(der.to_vec())) {
            return self.fail(format!("ca_der: not a usable root certificate: {e}"));
        }
        self
    }

    /// Presents this certificate chain (leaf first) and private key (PKCS#8,
    /// PKCS#1 or SEC1, in PEM) to servers that ask for one (mutual TLS).
    pub fn client_cert_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Self {
        let chain: std::result::Result<Vec<_>, _> =
            CertificateDer::pem_slice_iter(chain_pem).collect();
        let chain = match chain {
            Ok(c) if !c.is_empty() => c,
            Ok(_) => return self.fail("client_cert_pem: no CERTIFICATE block found".into()),
            Err(e) => return self.fail(format!("client_cert_pem: {e}")),
        };
        match PrivateKeyDer::from_pem_slice(key_pem) {
            Ok(key) => self.client_auth = Some((chain, key)),
            Err(e) => return self.fail(format!("client_cert_pem: private key: {e}")),
        }
        self
    }

    /// Verifies every server's certificate for `name` instead of its host.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    fn fail(mut self, message: String) -> Self {
        self.error.get_or_insert(message);
        self
    }

    /// Builds the configuration (rustls with the ring provider, TLS 1.2
    /// and 1.3).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a PEM that did not parse, no roots at all, a
    /// key that does not fit the certificate, or a bad server name.
    pub fn build(self) -> Result<TlsConfig> {
        if let Some(e) = self.error {
            return Err(Error::Config(format!("TLS: {e}")));
        }
        if self.roots.is_empty() {
            return Err(Error::Config(
                "TLS: no root certificates to verify servers with (use ca_pem, \
                 or TlsConfig::from_rustls for another verifier)"
                    .into(),
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?
            .with_root_certificates(self.roots);
        let config = match self.client_auth {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::Config(format!("TLS: client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        let mut tls = TlsConfig::from_rustls(Arc::new(config));
        if let Some(name) = self.server_name {
            tls = tls.with_server_name(&name)?;
        }
        Ok(tls)
    }
}

fn parse_name(name: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(name.to_owned())
        .map_err(|e| Error::Config(format!("TLS: `{name}` is not a server name: {e}")))
}

/// A TLS failure carried inside an [`io::Error`] until
/// [`Error::io`](crate::Error) turns it into [`Error::Tls`].
#[derive(Debug)]
struct TlsFailure(String);

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailure {}

pub(crate) fn failure(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, TlsFailure(message))
}

/// Returns the message of a TLS failure inside `e`, if it is one.
pub(crate) fn failure_message(e: &io::Error) -> Option<String> {
    let inner = e.get_ref()?;
    if let Some(f) = inner.downcast_ref::<TlsFailure>() {
        return Some(f.0.clone());
    }
    inner.downcast_ref::<rustls::Error>().map(describe)
}

/// Says what a rustls error means for a memcached client.
fn describe(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(_) => {
            format!("the server's certificate did not verify: {e}")
        }
        rustls::Error::AlertReceived(_) => format!("the server refused the handshake: {e}"),
        _ => e.to_string(),
    }
}

/// The error for a unix socket with TLS on.
pub(crate) fn unix_unsupported() -> io::Error {
    failure("TLS needs a TCP server: a unix socket has no host name to verify".into())
}

/// Opens TLS over `sock` if `opts` asks for it: the handshake runs within
/// the connect timeout (or the call timeout when there is none).
pub(crate) fn wrap(sock: TcpStream, addr: &ServerAddr, opts: &ClientOptions) -> io::Result<Stream> {
    match &opts.tls {
        Some(tls) => {
            let timeout = opts.connect_timeout.or(opts.timeout);
            Ok(Stream::Tls(Box::new(TlsStream::connect(
                tls, addr, sock, timeout,
            )?)))
        }
        None => Ok(Stream::Tcp(sock)),
    }
}

/// A TLS session over a TCP socket.
pub(crate) struct TlsStream {
    conn: ClientConnection,
    sock: TcpStream,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("sock", &self.sock)
            .field("version", &self.conn.protocol_version())
            .finish_non_exhaustive()
    }
}

impl TlsStream {
    /// Runs the handshake with `addr` over `sock`, within `timeout`.
    pub(crate) fn connect(
        tls: &TlsConfig,
        addr: &ServerAddr,
        mut sock: TcpStream,
        timeout: Option<Duration>,
    ) -> io::Result<TlsStream> {
        let name = tls.name_for(addr)?;
        let shown = name.to_str().into_owned();
        let mut conn = ClientConnection::new(Arc::clone(&tls.config), name)
            .map_err(|e| failure(e.to_string()))?;
        let t = timeout.map(|d| d.max(Duration::from_millis(1)));
        sock.set_read_timeout(t)?;
        sock.set_write_timeout(t)?;
        let closed = || {
            failure(format!(
                "the server closed the connection during the TLS handshake \
                 (server name `{shown}`)"
            ))
        };
        while conn.is_handshaking() {
            match conn.complete_io(&mut sock) {
                Ok((0, 0)) if conn.is_handshaking() => return Err(closed()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(match failure_message(&e) {
                        Some(m) => failure(format!("{m} (server name `{shown}`)")),
                        None if e.kind() == io::ErrorKind::UnexpectedEof => closed(),
                        None => e,
                    })
                }
            }
        }
        Ok(TlsStream { conn, sock })
    }

    /// The TCP socket under the session.
    pub(crate) fn sock(&self) -> &TcpStream {
        &self.sock
    }

    /// Writes every TLS record waiting to go.
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Closed without close_notify: memcached's way; an EOF.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            self.flush_tls()?;
            self.conn.read_tls(&mut self.sock)?;
            if let Err(e) = self.conn.process_new_packets() {
                // Tell the server why (an alert), if the socket still works.
                let _ = self.flush_tls();
                return Err(failure(describe(&e)));
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        self.flush_tls()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}
