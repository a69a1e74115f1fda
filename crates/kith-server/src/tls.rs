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

/// How long a generated certificate is valid: a year, as for any
/// certificate a client should trust today (browsers refuse more than 398 days).
const SELF_SIGNED_DAYS: i64 = 365;
/// A generated certificate is renewed when fewer days than this are left.
const RENEW_WITHIN_DAYS: i64 = 30;

/// The self-signed certificate under `dir`, created on first use for
/// localhost, 127.0.0.1 and ::1, valid for a year, and renewed (a new key
/// too) when it has less than a month left or when its expiry is not
/// known (`cert.expires` beside it, written with it). The private key is
/// written with mode 0600.
pub fn ensure_self_signed(dir: &Path) -> Result<TlsFiles> {
    ensure_self_signed_at(dir, time::OffsetDateTime::now_utc()).map(|(files, _)| files)
}

/// [`ensure_self_signed`] as of `now`; also tells whether it made a new certificate.
pub fn ensure_self_signed_at(dir: &Path, now: time::OffsetDateTime) -> Result<(TlsFiles, bool)> {
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    let fresh = self_signed_expiry(dir).is_some_and(|end| end - now > time::Duration::days(RENEW_WITHIN_DAYS));
    if fresh && files.cert.exists() && files.key.exists() {
        return Ok((files, false));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let mut params = rcgen::CertificateParams::new(names).context("cannot describe a self-signed certificate")?;
    // An hour back, for clients whose clocks run a little behind.
    params.not_before = now - time::Duration::hours(1);
    let not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    params.not_after = not_after;
    let key = rcgen::KeyPair::generate().context("cannot generate a key for the certificate")?;
    let cert = params.self_signed(&key).context("cannot generate a self-signed certificate")?;
    write_private(&files.key, key.serialize_pem().as_bytes())?;
    std::fs::write(&files.cert, cert.pem()).with_context(|| format!("cannot write {}", files.cert.display()))?;
    let expires = not_after.unix_timestamp().to_string();
    std::fs::write(dir.join("cert.expires"), expires).with_context(|| format!("cannot write {}", dir.display()))?;
    Ok((files, true))
}

/// When the generated certificate under `dir` expires, if that is recorded.
pub fn self_signed_expiry(dir: &Path) -> Option<time::OffsetDateTime> {
    let text = std::fs::read_to_string(dir.join("cert.expires")).ok()?;
    time::OffsetDateTime::from_unix_timestamp(text.trim().parse().ok()?).ok()
}

/// Renews the generated certificate when it nears its end and has the
/// running server present the new one to new connections.
pub async fn renew_self_signed(dir: &Path, tls: &RustlsConfig) {
    match ensure_self_signed_at(dir, time::OffsetDateTime::now_utc()) {
        Ok((files, true)) => match tls.reload_from_pem_file(&files.cert, &files.key).await {
            Ok(()) => tracing::info!("self-signed TLS certificate renewed"),
            Err(e) => tracing::warn!(error = %e, "the renewed TLS certificate could not be loaded"),
        },
        Ok((_, false)) => {}
        Err(e) => tracing::warn!(error = %e, "the self-signed TLS certificate could not be renewed"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// The certificate's DER, from its PEM file.
    fn der(path: &Path) -> Vec<u8> {
        let pem = std::fs::read_to_string(path).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(body).unwrap()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn the_generated_certificate_lasts_a_year_and_is_renewed_in_its_last_month() {
        let dir = std::env::temp_dir().join(format!("kith-tls-{}", uuid::Uuid::new_v4()));
        let now = time::macros::datetime!(2026-12-01 00:00:00 UTC);
        let (files, made) = ensure_self_signed_at(&dir, now).unwrap();
        assert!(made);
        // UTCTime validity: from an hour back to a year ahead.
        let cert = der(&files.cert);
        assert!(contains(&cert, b"261130230000Z"), "not before");
        assert!(contains(&cert, b"271201000000Z"), "not after");
        assert_eq!(self_signed_expiry(&dir), Some(now + time::Duration::days(365)));

        let (_, made) = ensure_self_signed_at(&dir, now + time::Duration::days(300)).unwrap();
        assert!(!made, "two months left: kept");
        assert_eq!(der(&files.cert), cert);
        let later = now + time::Duration::days(340);
        let (_, made) = ensure_self_signed_at(&dir, later).unwrap();
        assert!(made, "less than a month left: renewed");
        assert_ne!(der(&files.cert), cert);
        assert_eq!(self_signed_expiry(&dir), Some(later + time::Duration::days(365)));

        // A certificate whose expiry is not recorded (made before it was) is replaced.
        std::fs::remove_file(dir.join("cert.expires")).unwrap();
        assert!(ensure_self_signed_at(&dir, later).unwrap().1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
