//! TLS: the server answers HTTPS with the certificate initialisation
//! generated, sends HSTS, and does not speak plain HTTP on that port.

use crate::harness::{run_kith, Backend, Server, TestDb};
use kith_server::config::ServerConfig;
use kith_server::http::serve::Transport;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_generated_certificate() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    // The client trusts only the generated certificate: success proves the chain and the name.
    let resp = server.client.get(server.url("/healthz")).send().await.expect("HTTPS request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["status"], "ok");

    let plain = reqwest::Client::new().get(server.url("/healthz").replace("https://", "http://")).send().await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true), "plain HTTP is not served on the TLS port");

    let stranger = reqwest::Client::builder().tls_built_in_root_certs(false).build().unwrap();
    assert!(
        stranger.get(server.url("/healthz")).send().await.is_err(),
        "an untrusted client refuses the self-signed certificate"
    );

    let cert = std::fs::read_to_string(db.data_dir().join("tls/cert.pem")).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db.data_dir().join("tls/key.pem")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the TLS private key is private");
    }
    server.stop().await;
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    for addr in ["0.0.0.0:0", "192.0.2.10:8080", "[::]:0"] {
        let (ok, _, err) = run_kith(&["serve", "--data-dir", data.to_str().unwrap(), "--http", "--listen", addr]);
        assert!(!ok, "--http on {addr} must be refused");
        assert!(err.contains("loopback"), "{err}");
    }
    assert!(!data.exists(), "a refused start creates nothing");
}

/// Opens raw TLS connections to a test server, as a client byte by byte.
struct RawTls {
    config: std::sync::Arc<rustls::ClientConfig>,
    address: String,
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>;

impl RawTls {
    fn new(db: &TestDb, server: &Server) -> Self {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        kith_server::tls::install_crypto_provider();
        let cert = CertificateDer::from_pem_file(db.data_dir().join("tls/cert.pem")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let config =
            std::sync::Arc::new(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth());
        Self { config, address: server.base.trim_start_matches("https://").to_string() }
    }

    fn connect(&self) -> TlsStream {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let connection = rustls::ClientConnection::new(self.config.clone(), name).unwrap();
        let socket = std::net::TcpStream::connect(&self.address).unwrap();
        socket.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        rustls::StreamOwned::new(connection, socket)
    }
}

/// Whether the server closed the connection (rather than answering), and after how long.
fn closed_after(tls: &mut TlsStream) -> (bool, std::time::Duration) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 256];
    (matches!(tls.read(&mut buffer), Ok(0) | Err(_)), started.elapsed())
}

/// Reads until `needle` has arrived; the text read.
fn read_until(tls: &mut TlsStream, needle: &str) -> String {
    use std::io::Read;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains(needle) {
        let n = tls.read(&mut buffer).unwrap();
        assert!(n > 0, "the connection closed before {needle:?}: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// A client that sends its headers too slowly, or nothing at all on an
/// open connection, is cut off after the header timeout (slowloris).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_disconnected() {
    use std::io::Write;
    let db = TestDb::new(Backend::Sqlite).await;
    let transport = Transport { header_timeout: std::time::Duration::from_millis(700), ..Default::default() };
    let server = Server::start_serving(&db, Default::default(), transport).await;
    let raw = RawTls::new(&db, &server);
    let outcome = tokio::task::spawn_blocking(move || {
        // Half a request line and one header, then nothing.
        let mut slow = raw.connect();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").unwrap();
        slow.flush().unwrap();
        let slow = closed_after(&mut slow);
        // A whole request, answered; then the connection sits idle.
        let mut idle = raw.connect();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        read_until(&mut idle, "\"ok\"");
        (slow, closed_after(&mut idle))
    })
    .await
    .unwrap();
    for (what, (closed, after)) in [("slow headers", outcome.0), ("an idle connection", outcome.1)] {
        assert!(closed, "{what}: the server closed the connection");
        assert!(after < std::time::Duration::from_secs(5), "{what}: closed after {after:?}, not at the timeout");
    }
    server.stop().await;
}

/// A body that trickles in is answered 408 in problem JSON at the body
/// deadline, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_answered_408() {
    use std::io::Write;
    let db = TestDb::new(Backend::Sqlite).await;
    let config = ServerConfig { body_deadline: std::time::Duration::from_millis(800), ..Default::default() };
    let server = Server::start_with(&db, config).await;
    let raw = RawTls::new(&db, &server);
    let token = server.token.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let mut tls = raw.connect();
        let body = br#"{"given_name": "Trickle"}"#;
        let head = format!(
            "POST /api/v1/contacts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tls.write_all(head.as_bytes()).unwrap();
        tls.write_all(&body[..5]).unwrap();
        tls.flush().unwrap();
        let started = std::time::Instant::now();
        let answer = read_until(&mut tls, "}");
        (answer, started.elapsed())
    })
    .await
    .unwrap();
    assert!(answer.0.starts_with("HTTP/1.1 408"), "{}", answer.0);
    assert!(answer.0.contains("application/problem+json") && answer.0.contains("request_timeout"), "{}", answer.0);
    assert!(answer.1 < std::time::Duration::from_secs(5), "answered after {:?}", answer.1);
    let (_, page) = server.get("/api/v1/contacts").await;
    assert_eq!(page["items"], serde_json::json!([]), "nothing was stored");
    server.stop().await;
}

/// Beyond the connection limit a new connection is closed at once; when
/// one closes, the next is served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_closed() {
    use std::io::Write;
    let db = TestDb::new(Backend::Sqlite).await;
    let server =
        Server::start_serving(&db, Default::default(), Transport { max_connections: 2, ..Default::default() }).await;
    let raw = RawTls::new(&db, &server);
    tokio::task::spawn_blocking(move || {
        let ask = |tls: &mut TlsStream| {
            tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
            read_until(tls, "\"ok\"")
        };
        let mut first = raw.connect();
        let mut second = raw.connect();
        ask(&mut first);
        ask(&mut second);
        let mut third = raw.connect();
        let refused =
            third.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").is_err() || closed_after(&mut third).0;
        assert!(refused, "a third connection is closed while two are open");
        drop(first);
        // The permit comes back when the server notices the close.
        let served = (0..50).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let mut next = raw.connect();
            next.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").is_ok() && {
                use std::io::Read;
                let mut buffer = [0u8; 4096];
                matches!(next.read(&mut buffer), Ok(n) if n > 0)
            }
        });
        assert!(served, "a connection is served again once one closed");
        ask(&mut second);
    })
    .await
    .unwrap();
    server.stop().await;
}
