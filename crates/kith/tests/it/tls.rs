//! TLS: the server answers HTTPS with the certificate initialisation
//! generated, sends HSTS, and does not speak plain HTTP on that port.

use crate::harness::{run_kith, Backend, Server, TestDb};
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

/// A client that sends its headers too slowly, or nothing at all on an
/// open connection, is cut off after the header timeout (slowloris).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_disconnected() {
    use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
    use std::io::{Read, Write};
    let db = TestDb::new(Backend::Sqlite).await;
    let timeout = std::time::Duration::from_millis(700);
    let server = Server::start_serving(&db, Default::default(), timeout).await;
    let address = server.base.trim_start_matches("https://").to_string();
    let cert = CertificateDer::from_pem_file(db.data_dir().join("tls/cert.pem")).unwrap();
    let outcome = tokio::task::spawn_blocking(move || {
        kith_server::tls::install_crypto_provider();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let config =
            std::sync::Arc::new(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth());
        // Returns how long the server kept a connection that sent `bytes` and then waited.
        let hold = |bytes: &[u8]| {
            let name = ServerName::try_from("localhost").unwrap();
            let connection = rustls::ClientConnection::new(config.clone(), name).unwrap();
            let socket = std::net::TcpStream::connect(&address).unwrap();
            socket.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, socket);
            let started = std::time::Instant::now();
            tls.write_all(bytes).unwrap();
            tls.flush().unwrap();
            let mut buffer = [0u8; 256];
            let closed = matches!(tls.read(&mut buffer), Ok(0) | Err(_));
            (closed, started.elapsed())
        };
        // Half a request line and one header, then nothing.
        let slow = hold(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
        // A whole request, answered; then the connection sits idle.
        let idle = {
            let name = ServerName::try_from("localhost").unwrap();
            let connection = rustls::ClientConnection::new(config.clone(), name).unwrap();
            let socket = std::net::TcpStream::connect(&address).unwrap();
            socket.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, socket);
            tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
            let mut answer = Vec::new();
            let mut buffer = [0u8; 4096];
            while !String::from_utf8_lossy(&answer).contains("\"ok\"") {
                let n = tls.read(&mut buffer).unwrap();
                assert!(n > 0, "answered before closing");
                answer.extend_from_slice(&buffer[..n]);
            }
            let started = std::time::Instant::now();
            let closed = matches!(tls.read(&mut buffer), Ok(0) | Err(_));
            (closed, started.elapsed())
        };
        (slow, idle)
    })
    .await
    .unwrap();
    for (what, (closed, after)) in [("slow headers", outcome.0), ("an idle connection", outcome.1)] {
        assert!(closed, "{what}: the server closed the connection");
        assert!(after < std::time::Duration::from_secs(5), "{what}: closed after {after:?}, not at the timeout");
    }
    server.stop().await;
}
