//! The TLS options (`--tls`, `--tls-ca`, `--tls-cert`, `--tls-key`,
//! `--tls-server-name`) as the library's [`TlsConfig`].

use std::path::Path;

use memcrab::blocking::TlsConfig;

use crate::args::TlsArgs;

/// Checks that the TLS options fit together: a CA to verify the servers
/// with, and a client certificate only with its key. No I/O.
///
/// # Errors
///
/// What is missing, one line.
pub fn check(args: &TlsArgs) -> Result<(), String> {
    if !args.any() {
        return Ok(());
    }
    if args.tls_ca.is_none() {
        return Err(
            "TLS needs --tls-ca FILE: the certificates to verify the servers with \
                    (memcrab always verifies them)"
                .to_owned(),
        );
    }
    match (&args.tls_cert, &args.tls_key) {
        (Some(_), None) => Err("--tls-cert needs --tls-key FILE".to_owned()),
        (None, Some(_)) => Err("--tls-key needs --tls-cert FILE".to_owned()),
        _ => Ok(()),
    }
}

/// The TLS configuration the options ask for, if any: reads the files.
///
/// # Errors
///
/// A file that cannot be read, or the library's words for a certificate,
/// key or name it refuses.
pub fn config(args: &TlsArgs) -> Result<Option<TlsConfig>, String> {
    check(args)?;
    let Some(ca) = &args.tls_ca else {
        return Ok(None);
    };
    let mut builder = TlsConfig::builder().ca_pem(&read(ca)?);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        builder = builder.client_cert_pem(&read(cert)?, &read(key)?);
    }
    if let Some(name) = &args.tls_server_name {
        builder = builder.server_name(name.clone());
    }
    builder.build().map(Some).map_err(|e| e.to_string())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
