//! TLS: the self-signed certificate initialisation creates, or the
//! operator's own files, served by rustls.

use anyhow::{Context, Result};
use axum_server::tls_rustls::RustlsConfig;
use std::path::{Path, PathBuf};

/// Installs rustls' process-wide crypto provider once; later calls are no-ops.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Paths of a certificate chain and its private key, PEM encoded.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The self-signed certificate under `dir`, created on first use for
/// localhost, 127.0.0.1 and ::1. The private key is written with mode 0600.
pub fn ensure_self_signed(dir: &Path) -> Result<TlsFiles> {
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).context("cannot generate a self-signed certificate")?;
    write_private(&files.key, certified.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&files.cert, certified.cert.pem())
        .with_context(|| format!("cannot write {}", files.cert.display()))?;
    Ok(files)
}

/// Writes a secret file atomically with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    kith_crypto::private_file::write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

pub async fn rustls_config(files: &TlsFiles) -> Result<RustlsConfig> {
    install_crypto_provider();
    RustlsConfig::from_pem_file(&files.cert, &files.key).await.with_context(|| {
        format!("cannot load the TLS certificate {} and key {}", files.cert.display(), files.key.display())
    })
}
