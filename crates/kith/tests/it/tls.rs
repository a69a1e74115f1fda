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
