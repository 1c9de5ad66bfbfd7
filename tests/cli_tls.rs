//! The `memcrab` command line's TLS options against real memcached servers
//! started with `-Z` (Debian's memcached is built with TLS), with
//! certificates made at test time by rcgen: `--tls-ca` (which implies
//! `--tls`), `--tls-server-name`, `--tls-cert`/`--tls-key` (mutual TLS),
//! and the errors when a certificate does not verify.
//!
//! Each server also listens without TLS on a second port (`-l
//! notls:…`), so the tests read what it holds through the harness's
//! plain-socket client, not through memcrab.

mod support;

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use support::cli::{run, Run};
use support::raw::{exchange, get_item, parse_stats};
use support::RawTarget;

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// A certificate authority made for one test.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A certificate for `names` and its key, in PEM.
    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// The PEM files of one test, in a temporary directory.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

// ---------------------------------------------------------------------------
// memcached with TLS on one port, plain on another
// ---------------------------------------------------------------------------

struct TlsServer {
    child: Child,
    tls: SocketAddr,
    plain: RawTarget,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TlsServer {
    /// memcached with `cert`/`key` on a TLS port; with `client_ca`, it asks
    /// for client certificates signed by it.
    fn start(cert: &(String, String), client_ca: Option<&Ca>) -> TlsServer {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| -> PathBuf {
            let path = dir.path().join(name);
            fs::write(&path, text).unwrap();
            path
        };
        let mut opts = format!(
            "ssl_chain_cert={},ssl_key={}",
            write("server.pem", &cert.0).display(),
            write("server.key", &cert.1).display()
        );
        if let Some(ca) = client_ca {
            let ca = write("client-ca.pem", &ca.cert.pem());
            opts.push_str(&format!(",ssl_ca_cert={},ssl_verify_mode=2", ca.display()));
        }
        for _ in 0..20 {
            let tls: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let plain: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let log_path = dir.path().join("memcached.log");
            let log = fs::File::create(&log_path).unwrap();
            let mut cmd = Command::new(support::require_memcached());
            cmd.args(["-U", "0", "-Z", "-o", &opts])
                .args(["-l", &format!("{tls},notls:{plain}")]);
            if is_root() {
                cmd.args(["-u", "root"]);
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("run memcached");
            let target = RawTarget::Tcp(plain);
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    let out = fs::read_to_string(&log_path).unwrap_or_default();
                    assert!(out.contains("in use"), "memcached with TLS exited:\n{out}");
                    break; // another pair of ports
                }
                let pid = exchange(
                    &target,
                    b"stats\r\n",
                    b"END\r\n",
                    Duration::from_millis(300),
                )
                .ok()
                .and_then(|r| {
                    parse_stats(&r)
                        .into_iter()
                        .find(|(n, _)| n == "pid")
                        .map(|(_, v)| v)
                });
                if pid == Some(child.id().to_string()) {
                    return TlsServer {
                        child,
                        tls,
                        plain: target,
                        _dir: dir,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("memcached with TLS did not start");
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("no free ports for memcached with TLS");
    }

    fn addr(&self) -> String {
        self.tls.to_string()
    }

    /// What the server holds under `key`, read without TLS.
    fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        get_item(&self.plain, key, Duration::from_secs(2))
            .unwrap()
            .map(|item| item.value)
    }

    fn raw_set(&self, key: &str, value: &str) {
        let cmd = format!("set {key} 0 0 {}\r\n{value}\r\n", value.len());
        let reply = exchange(&self.plain, cmd.as_bytes(), b"\r\n", Duration::from_secs(2));
        assert_eq!(reply.unwrap(), b"STORED\r\n");
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `memcrab <tls...> --servers <server> args...`.
fn mc(tls: &[&str], server: &str, args: &[&str]) -> Run {
    let mut all: Vec<&str> = tls.to_vec();
    all.extend(["--servers", server]);
    all.extend_from_slice(args);
    run(&all)
}

fn server_cert(ca: &Ca, names: &[&str]) -> (String, String) {
    ca.issue(names, ExtendedKeyUsagePurpose::ServerAuth)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn every_command_over_tls_with_tls_ca() {
    let files = Files::new();
    let ca = Ca::new("memcrab cli test CA");
    let ca_pem = files.write("ca.pem", &ca.cert.pem());
    let server = TlsServer::start(&server_cert(&ca, &["localhost", "127.0.0.1"]), None);
    let addr = server.addr();
    // --tls-ca alone, and with --tls.
    for tls in [&["--tls-ca", &ca_pem][..], &["--tls", "--tls-ca", &ca_pem]] {
        server.raw_set("k", "old");
        mc(tls, &addr, &["set", "k", "over TLS", "--flags", "3"]).silent_ok();
        assert_eq!(server.raw_get(b"k"), Some(b"over TLS".to_vec()));
        assert_eq!(mc(tls, &addr, &["get", "k"]).ok(), b"over TLS");
        assert_eq!(
            mc(tls, &addr, &["get", "k", "--show-flags"]).ok(),
            b"3 over TLS\n"
        );
        assert_eq!(mc(tls, &addr, &["get", "nope"]).miss(), "");
        assert_eq!(mc(tls, &addr, &["incr", "k", "1"]).code, 2);
        assert_eq!(mc(tls, &addr, &["dump"]).ok(), b"k\n");
        let version = mc(tls, &addr, &["version"]).ok_str().to_owned();
        assert!(version.starts_with("1."), "{version}");
        let ping = mc(tls, &addr, &["ping"]).ok_str().to_owned();
        assert!(ping.starts_with(&format!("{addr}\t")), "{ping}");
        assert!(ping.ends_with(" ms\n"), "{ping}");
        mc(tls, &addr, &["flush"]).silent_ok();
        assert_eq!(server.raw_get(b"k"), None);
    }
    // By name: verified against `localhost`.
    let by_name = format!("localhost:{}", server.tls.port());
    let tls = ["--tls-ca", ca_pem.as_str()];
    mc(&tls, &by_name, &["set", "n", "by name"]).silent_ok();
    assert_eq!(server.raw_get(b"n"), Some(b"by name".to_vec()));
    // Stats and version over several TLS servers: one column per server.
    let other = TlsServer::start(&server_cert(&ca, &["127.0.0.1"]), None);
    let list = format!("{addr},{}", other.addr());
    let out = mc(&tls, &list, &["version"]).ok_str().to_owned();
    let servers: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(servers, [addr.as_str(), other.addr().as_str()], "{out}");
}

#[test]
fn a_certificate_that_does_not_verify_exits_2_naming_the_server() {
    let files = Files::new();
    let ca = Ca::new("memcrab cli test CA");
    let other = Ca::new("some other CA");
    let server = TlsServer::start(&server_cert(&ca, &["127.0.0.1"]), None);
    let addr = server.addr();
    let wrong = files.write("other.pem", &other.cert.pem());
    let r = mc(&["--tls-ca", &wrong], &addr, &["set", "k", "v"]);
    let message = r.error();
    assert!(message.starts_with("TLS error"), "{r:?}");
    assert!(message.contains(&addr), "{r:?}");
    assert!(message.contains("certificate"), "{r:?}");
    assert_eq!(server.raw_get(b"k"), None);

    // Plain text to a TLS port: an error, not a hang.
    let r = mc(&["--timeout", "2"], &addr, &["get", "k"]);
    assert_eq!(r.code, 2, "{r:?}");
    r.error();

    // A CA file that is no certificate: the library's words.
    let junk = files.write("junk.pem", "not a certificate\n");
    let r = mc(&["--tls-ca", &junk], &addr, &["version"]);
    assert!(r.error().contains("TLS"), "{r:?}");
    // A CA file that does not exist.
    let r = mc(&["--tls-ca", "/nonexistent/ca.pem"], &addr, &["version"]);
    assert_eq!(
        r.error(),
        "cannot read /nonexistent/ca.pem: No such file or directory (os error 2)"
    );
}

#[test]
fn tls_server_name_verifies_another_name() {
    let files = Files::new();
    let ca = Ca::new("memcrab cli test CA");
    let ca_pem = files.write("ca.pem", &ca.cert.pem());
    let server = TlsServer::start(&server_cert(&ca, &["memcached.test"]), None);
    let addr = server.addr();
    // 127.0.0.1 is not in the certificate.
    let r = mc(&["--tls-ca", &ca_pem], &addr, &["set", "k", "v"]);
    assert!(r.error().contains("127.0.0.1"), "{r:?}");
    let named = [
        "--tls-ca",
        ca_pem.as_str(),
        "--tls-server-name",
        "memcached.test",
    ];
    mc(&named, &addr, &["set", "k", "named"]).silent_ok();
    assert_eq!(server.raw_get(b"k"), Some(b"named".to_vec()));
    let wrong = [
        "--tls-ca",
        ca_pem.as_str(),
        "--tls-server-name",
        "other.test",
    ];
    let r = mc(&wrong, &addr, &["get", "k"]);
    assert!(r.error().contains("other.test"), "{r:?}");
}

#[test]
fn mutual_tls_with_tls_cert_and_tls_key() {
    let files = Files::new();
    let ca = Ca::new("memcrab cli test CA");
    let client_ca = Ca::new("memcrab cli client CA");
    let ca_pem = files.write("ca.pem", &ca.cert.pem());
    let (cert, key) = client_ca.issue(&["memcrab-cli"], ExtendedKeyUsagePurpose::ClientAuth);
    let cert = files.write("client.pem", &cert);
    let key = files.write("client.key", &key);
    let server = TlsServer::start(&server_cert(&ca, &["127.0.0.1"]), Some(&client_ca));
    let addr = server.addr();
    let with_cert = [
        "--tls-ca",
        ca_pem.as_str(),
        "--tls-cert",
        cert.as_str(),
        "--tls-key",
        key.as_str(),
    ];
    mc(&with_cert, &addr, &["set", "k", "mutual"]).silent_ok();
    assert_eq!(server.raw_get(b"k"), Some(b"mutual".to_vec()));
    assert_eq!(mc(&with_cert, &addr, &["get", "k"]).ok(), b"mutual");
    // Without a client certificate the server refuses: exit 2, one line.
    let r = mc(&["--tls-ca", &ca_pem], &addr, &["get", "k"]);
    assert_eq!(r.code, 2, "{r:?}");
    r.error();
    // A certificate without its key, or a key without its certificate.
    let r = mc(
        &["--tls-ca", &ca_pem, "--tls-cert", &cert],
        &addr,
        &["get", "k"],
    );
    assert_eq!(r.usage_error(), "--tls-cert needs --tls-key FILE");
    let r = mc(
        &["--tls-ca", &ca_pem, "--tls-key", &key],
        &addr,
        &["get", "k"],
    );
    assert_eq!(r.usage_error(), "--tls-key needs --tls-cert FILE");
}

#[test]
fn tls_without_a_ca_is_a_usage_error() {
    for tls in [&["--tls"][..], &["--tls-server-name", "x"]] {
        let r = mc(tls, "127.0.0.1:1", &["version"]);
        assert_eq!(
            r.usage_error(),
            "TLS needs --tls-ca FILE: the certificates to verify the servers with \
             (memcrab always verifies them)"
        );
    }
    // bench has no TLS: said before anything runs.
    let r = run(&["--tls-ca", "ca.pem", "bench"]);
    assert_eq!(
        r.usage_error(),
        "bench does not speak TLS: the pipelined engine has no TLS"
    );
}
