//! TLS (cargo feature `tls`) against real memcached servers started with
//! `-Z -o ssl_chain_cert=…,ssl_key=…` (Debian's memcached is built with
//! TLS), using certificates made at test time with rcgen: a CA, and server
//! certificates for `localhost` and `127.0.0.1`. Certificates are always
//! verified; a wrong CA or name fails with a clear `ErrorKind::Tls` error
//! naming the server; mutual TLS (`ssl_verify_mode=2`) works with a client
//! certificate and fails without one.
#![cfg(feature = "tls")]

mod support;

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use memcrab::blocking::TlsConfig;
use memcrab::{
    Client, ClientOptions, Error, ErrorKind, HashClient, Memcache, PoolOptions, PooledClient,
    ServerAddr,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use support::faults::{Fault, FaultProxy};
use support::MemcachedServer;

// ---------------------------------------------------------------------------
// Certificates.
// ---------------------------------------------------------------------------

/// A certificate authority made for one test.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its key, in PEM.
struct Issued {
    cert_pem: String,
    key_pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    fn server(&self, names: &[&str]) -> Issued {
        self.issue(names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate.
    fn client(&self, name: &str) -> Issued {
        self.issue(&[name], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

fn tls(ca: &Ca) -> TlsConfig {
    TlsConfig::builder()
        .ca_pem(ca.pem().as_bytes())
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------
// memcached with TLS on.
// ---------------------------------------------------------------------------

/// A memcached process listening with TLS on `127.0.0.1:<free port>`;
/// killed on drop.
struct TlsMemcached {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl TlsMemcached {
    /// Starts memcached with `server` as its certificate; with `client_ca`,
    /// it requires client certificates signed by it (mutual TLS).
    fn start(server: &Issued, client_ca: Option<&Ca>) -> TlsMemcached {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| -> PathBuf {
            let path = dir.path().join(name);
            fs::write(&path, text).unwrap();
            path
        };
        let chain = write("server.pem", &server.cert_pem);
        let key = write("server.key", &server.key_pem);
        let mut opts = format!(
            "ssl_chain_cert={},ssl_key={}",
            chain.display(),
            key.display()
        );
        if let Some(ca) = client_ca {
            let ca = write("client-ca.pem", &ca.pem());
            opts.push_str(&format!(",ssl_ca_cert={},ssl_verify_mode=2", ca.display()));
        }
        for _ in 0..20 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let log = fs::File::create(dir.path().join("memcached.log")).unwrap();
            let mut cmd = Command::new(support::require_memcached());
            cmd.args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0", "-Z"])
                .args(["-o", &opts]);
            if fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
                cmd.args(["-u", "root"]);
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("run memcached");
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    let out = fs::read_to_string(dir.path().join("memcached.log")).unwrap();
                    if out.contains("Address already in use") {
                        break; // another port
                    }
                    panic!("memcached with TLS exited at start:\n{out}");
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                    return TlsMemcached { child, addr, dir };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("memcached with TLS did not listen on {addr}");
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("no free port for memcached with TLS");
    }

    fn addr(&self) -> String {
        self.addr.to_string()
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("memcached.log")).unwrap_or_default()
    }
}

impl Drop for TlsMemcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn options(tls: TlsConfig) -> ClientOptions {
    ClientOptions {
        connect_timeout: Some(Duration::from_secs(3)),
        timeout: Some(Duration::from_secs(3)),
        default_noreply: false,
        tls: Some(tls),
        ..ClientOptions::default()
    }
}

fn client_at(addr: impl Into<String>, tls: TlsConfig) -> Client {
    Client::builder(addr.into())
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(3))
        .default_noreply(false)
        .tls(tls)
        .build()
        .unwrap()
}

fn text(c: &impl Memcache, key: &str) -> Option<String> {
    c.get::<String>(key).unwrap()
}

/// Asserts a TLS error naming the server, whose message says `why`.
fn assert_tls_error(e: &Error, server: &str, why: &str) {
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(server),
        "{text:?} should name the server {server}"
    );
    assert!(text.contains(why), "{text:?} should say {why:?}");
    assert!(e.is_fatal() && e.is_connection_error(), "{e}");
}

// ---------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------

#[test]
fn memcached_has_tls() {
    let help = Command::new(support::require_memcached())
        .arg("-h")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--enable-ssl") && help.contains("ssl_chain_cert"),
        "this memcached was built without TLS"
    );
}

#[test]
fn client_over_tls_by_ip_and_by_name() {
    let ca = Ca::new("memcrab test CA");
    let server = TlsMemcached::start(&ca.server(&["localhost", "127.0.0.1"]), None);
    // By IP address: verified against the certificate's IP address.
    let c = client_at(server.addr(), tls(&ca));
    assert!(c.set("greeting", "hello over TLS").unwrap());
    assert_eq!(text(&c, "greeting").as_deref(), Some("hello over TLS"));
    // By name: verified against `localhost` (tried on ::1 first, which
    // refuses, then 127.0.0.1).
    let c = client_at(format!("localhost:{}", server.port()), tls(&ca));
    assert_eq!(text(&c, "greeting").as_deref(), Some("hello over TLS"));
    assert!(!c.version().unwrap().is_empty());
    assert!(c.stats(&[]).unwrap().get("pid").is_some());
    eprintln!("{}", server.log());
}

#[test]
fn large_values_and_pipelines_over_tls() {
    let ca = Ca::new("memcrab test CA");
    let server = TlsMemcached::start(&ca.server(&["127.0.0.1"]), None);
    let c = client_at(server.addr(), tls(&ca));
    // Values larger than a TLS record (16 KiB) and than the read buffer.
    let big: Vec<u8> = (0..900_000u32).map(|i| (i % 251) as u8).collect();
    assert!(c.set("big", big.clone()).unwrap());
    assert_eq!(
        c.get::<memcrab::Value>("big").unwrap().unwrap().as_bytes(),
        Some(&big[..])
    );
    let items: Vec<(String, String)> = (0..500)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    assert!(c
        .set_many(&items, memcrab::StoreOptions::new())
        .unwrap()
        .is_empty());
    let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
    let got = c.get_many::<memcrab::Value, _>(&keys).unwrap();
    assert_eq!(got.len(), 500);
    for (k, v) in &items {
        assert_eq!(got[k.as_str()].as_bytes(), Some(v.as_bytes()));
    }
}

#[test]
fn pool_and_hash_client_over_tls() {
    let ca = Ca::new("memcrab test CA");
    let issued = ca.server(&["localhost", "127.0.0.1"]);
    let a = TlsMemcached::start(&issued, None);
    let b = TlsMemcached::start(&issued, None);

    let pool = PooledClient::with_options(
        a.addr(),
        options(tls(&ca)),
        PoolOptions {
            max_pool_size: 4,
            ..PoolOptions::default()
        },
    )
    .unwrap();
    thread::scope(|s| {
        for t in 0..8 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..20 {
                    let k = format!("t{t}-{i}");
                    assert!(pool.set(&k, k.as_str()).unwrap());
                    assert_eq!(text(pool, &k), Some(k));
                }
            });
        }
    });
    assert!(pool.idle_connections() <= 4);

    let hash = HashClient::builder([a.addr(), b.addr()])
        .options(options(tls(&ca)))
        .build()
        .unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("h{i}")).collect();
    for k in &keys {
        assert!(hash.set(k, k.as_str()).unwrap());
    }
    let got = hash.get_many::<memcrab::Value, _>(&keys).unwrap();
    assert_eq!(got.len(), keys.len());
    // Both servers got some keys, each over its own TLS connection.
    let servers: std::collections::HashSet<ServerAddr> =
        keys.iter().filter_map(|k| hash.server_for(k)).collect();
    assert_eq!(servers.len(), 2);
    for (addr, stats) in hash.stats_per_server(&[]) {
        let stats = stats.unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert!(stats.get("curr_items").is_some());
    }
}

#[test]
fn a_wrong_ca_fails_with_a_clear_error() {
    let ca = Ca::new("memcrab test CA");
    let other = Ca::new("some other CA");
    let server = TlsMemcached::start(&ca.server(&["localhost", "127.0.0.1"]), None);
    let c = client_at(server.addr(), tls(&other));
    let started = Instant::now();
    let e = c.get::<memcrab::Value>("k").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    eprintln!("wrong CA: {e}");
    assert_tls_error(&e, &server.addr(), "certificate");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    assert!(!c.is_connected());
    // The pool and the hash client report the same error.
    let pool =
        PooledClient::with_options(server.addr(), options(tls(&other)), PoolOptions::default())
            .unwrap();
    assert_tls_error(
        &pool.get::<memcrab::Value>("k").unwrap_err(),
        &server.addr(),
        "UnknownIssuer",
    );
    let hash = HashClient::builder([server.addr()])
        .options(options(tls(&other)))
        .build()
        .unwrap();
    assert_tls_error(
        &hash.get::<memcrab::Value>("k").unwrap_err(),
        &server.addr(),
        "UnknownIssuer",
    );
}

#[test]
fn a_certificate_for_another_name_fails() {
    let ca = Ca::new("memcrab test CA");
    let server = TlsMemcached::start(&ca.server(&["memcached.test"]), None);
    // 127.0.0.1 is not in the certificate.
    let c = client_at(server.addr(), tls(&ca));
    let e = c.get::<memcrab::Value>("k").unwrap_err();
    eprintln!("wrong name: {e}");
    assert_tls_error(&e, &server.addr(), "127.0.0.1");
    // Naming the server explicitly makes it verify.
    let named = TlsConfig::builder()
        .ca_pem(ca.pem().as_bytes())
        .server_name("memcached.test")
        .build()
        .unwrap();
    let c = client_at(server.addr(), named.clone());
    assert!(c.set("k", "v").unwrap());
    assert_eq!(text(&c, "k").as_deref(), Some("v"));
    // A name the certificate does not have fails, whatever the address.
    let wrong = named.with_server_name("other.test").unwrap();
    let e = client_at(server.addr(), wrong)
        .get::<memcrab::Value>("k")
        .unwrap_err();
    assert_tls_error(&e, &server.addr(), "other.test");
}

#[test]
fn mutual_tls() {
    let ca = Ca::new("memcrab test CA");
    let client_ca = Ca::new("memcrab client CA");
    let server = TlsMemcached::start(&ca.server(&["127.0.0.1"]), Some(&client_ca));
    let me = client_ca.client("memcrab-client");
    let with_cert = TlsConfig::builder()
        .ca_pem(ca.pem().as_bytes())
        .client_cert_pem(me.cert_pem.as_bytes(), me.key_pem.as_bytes())
        .build()
        .unwrap();
    let c = client_at(server.addr(), with_cert);
    assert!(c.set("k", "mutual").unwrap());
    assert_eq!(text(&c, "k").as_deref(), Some("mutual"));

    // Without a client certificate, the server refuses.
    let c = client_at(server.addr(), tls(&ca));
    let started = Instant::now();
    let e = c.get::<memcrab::Value>("k").unwrap_err();
    eprintln!("no client certificate: {e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Tls | ErrorKind::UnexpectedClose | ErrorKind::Io
        ),
        "{e}"
    );
    assert!(e.to_string().contains(&server.addr()), "{e}");

    // A certificate from a CA the server does not trust: refused too.
    let stranger = Ca::new("stranger CA").client("stranger");
    let c = client_at(
        server.addr(),
        TlsConfig::builder()
            .ca_pem(ca.pem().as_bytes())
            .client_cert_pem(stranger.cert_pem.as_bytes(), stranger.key_pem.as_bytes())
            .build()
            .unwrap(),
    );
    let e = c.get::<memcrab::Value>("k").unwrap_err();
    eprintln!("untrusted client certificate: {e}");
    assert!(e.to_string().contains(&server.addr()), "{e}");
}

#[test]
fn tls_to_a_plain_server_fails_clearly() {
    let plain = MemcachedServer::start();
    let ca = Ca::new("memcrab test CA");
    let c = client_at(plain.addr_string(), tls(&ca));
    let started = Instant::now();
    let e = c.get::<memcrab::Value>("k").unwrap_err();
    eprintln!("TLS to a plain server: {e}");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(
        matches!(e.kind(), ErrorKind::Tls | ErrorKind::UnexpectedClose),
        "{e}"
    );
    assert!(e.to_string().contains(&plain.addr_string()), "{e}");
}

#[test]
fn plain_to_a_tls_server_fails_clearly() {
    let ca = Ca::new("memcrab test CA");
    let server = TlsMemcached::start(&ca.server(&["127.0.0.1"]), None);
    let c = Client::builder(server.addr())
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.get::<memcrab::Value>("k").unwrap_err();
    eprintln!("plain to a TLS server: {e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(e.is_fatal(), "{e}");
    assert!(e.to_string().contains(&server.addr()), "{e}");
}

#[test]
fn a_handshake_nobody_answers_times_out() {
    // Accepts, never speaks.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ca = Ca::new("memcrab test CA");
    let c = Client::builder(addr.to_string())
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(5))
        .tls(tls(&ca))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.get::<memcrab::Value>("k").unwrap_err();
    let took = started.elapsed();
    eprintln!("silent handshake: {e} after {took:?}");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    drop(listener);
}

#[test]
fn faults_under_tls_behave_as_without() {
    let ca = Ca::new("memcrab test CA");
    let server = TlsMemcached::start(&ca.server(&["127.0.0.1"]), None);
    let proxy = FaultProxy::start(server.addr);
    let c = Client::builder(proxy.addr_string())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_millis(400))
        .default_noreply(false)
        .tls(tls(&ca))
        .build()
        .unwrap();
    let v1 = "1".repeat(3000);
    assert!(c.set("k1", v1.as_str()).unwrap());
    assert!(c.set("k2", "two").unwrap());

    // A reply cut mid-record: an unexpected close, never a short value.
    proxy.set(Fault::CutAfter(100));
    let e = c.get::<memcrab::Value>("k1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedClose, "{e}");
    proxy.clear();
    assert_eq!(text(&c, "k2").as_deref(), Some("two"));
    assert_eq!(proxy.accepted(), 2);

    // A late reply: a timeout within the timeout; the late bytes never
    // answer the next request.
    proxy.set(Fault::Delay(Duration::from_millis(1200)));
    let started = Instant::now();
    let e = c.get::<memcrab::Value>("k1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < Duration::from_millis(1200));
    proxy.clear();
    assert_eq!(text(&c, "k2").as_deref(), Some("two"));
    assert_eq!(text(&c, "k1"), Some(v1));
    assert_eq!(proxy.accepted(), 3);

    // One byte at a time still parses (TLS records arrive in pieces).
    proxy.set(Fault::Split);
    assert_eq!(text(&c, "k2").as_deref(), Some("two"));
    assert_eq!(proxy.accepted(), 3);
}

#[test]
fn tls_config_errors_are_config_errors() {
    let e = TlsConfig::builder().build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IllegalInput);
    assert!(e.to_string().contains("no root certificates"), "{e}");
    let e = TlsConfig::builder()
        .ca_pem(b"not a pem")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("ca_pem"), "{e}");
    let ca = Ca::new("memcrab test CA");
    let e = TlsConfig::builder()
        .ca_pem(ca.pem().as_bytes())
        .client_cert_pem(b"", b"")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("client_cert_pem"), "{e}");
    let e = TlsConfig::builder()
        .ca_pem(ca.pem().as_bytes())
        .server_name("not a name!")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("not a name!"), "{e}");
    // A unix socket has no name to verify.
    let dir = tempfile::tempdir().unwrap();
    let path: &Path = &dir.path().join("mc.sock");
    let c = Client::builder(path.display().to_string())
        .tls(tls(&ca))
        .build()
        .unwrap();
    let e = c.get::<memcrab::Value>("k").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(e.to_string().contains("unix socket"), "{e}");
}

/// The tokio client over TLS (tokio-rustls): verified, pipelined across
/// tasks, large values, mutual TLS, and a refused certificate.
#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_client_over_tls() {
    use memcrab::AsyncMemcache;
    let ca = Ca::new("memcrab test CA");
    let client_ca = Ca::new("memcrab client CA");
    let server = TlsMemcached::start(&ca.server(&["localhost", "127.0.0.1"]), Some(&client_ca));
    let me = client_ca.client("memcrab-client");
    let with_cert = TlsConfig::builder()
        .ca_pem(ca.pem().as_bytes())
        .client_cert_pem(me.cert_pem.as_bytes(), me.key_pem.as_bytes())
        .build()
        .unwrap();
    let c = memcrab::tokio::Client::builder()
        .server(format!("localhost:{}", server.port()))
        .tls(with_cert)
        .timeout(Duration::from_secs(5))
        .default_noreply(false)
        .build()
        .unwrap();
    let big: Vec<u8> = (0..900_000u32).map(|i| (i % 251) as u8).collect();
    assert!(c.set("big", big.clone()).await.unwrap());
    assert_eq!(
        c.get::<memcrab::Value>("big")
            .await
            .unwrap()
            .unwrap()
            .as_bytes(),
        Some(&big[..])
    );
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                let key = format!("t{i}");
                assert!(c.set(&key, key.as_str()).await.unwrap());
                let got = c.get::<memcrab::Value>(&key).await.unwrap().unwrap();
                assert_eq!(got.as_bytes(), Some(key.as_bytes()));
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Without a client certificate the server refuses: a clear error
    // naming the server, well within the timeout.
    let c = memcrab::tokio::Client::builder()
        .server(server.addr())
        .tls(tls(&ca))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.get::<memcrab::Value>("big").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Tls | ErrorKind::UnexpectedClose | ErrorKind::Io
        ),
        "{e}"
    );
    assert!(e.to_string().contains(&server.addr()), "{e}");
    // A server certificate from another CA does not verify.
    let other = Ca::new("other CA");
    let c = memcrab::tokio::Client::builder()
        .server(server.addr())
        .tls(tls(&other))
        .build()
        .unwrap();
    let e = c.get::<memcrab::Value>("big").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}
