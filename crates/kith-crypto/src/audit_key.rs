//! The audit log's signing key: an Ed25519 key that signs checkpoints,
//! kept in its own file (mode 0600) beside the key file. Its public half is
//! what a DPO or an authority keeps to check checkpoints later.

use crate::private_file::write_atomic;
use crate::signed_note::NoteSigner;
use crate::KeyFileError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

const FORMAT: &str = "kith-audit-key-v1";

#[derive(Serialize, Deserialize)]
struct AuditKeyFile {
    format: String,
    /// The name checkpoints are signed under (their origin line too).
    name: String,
    seed: String,
}

/// Loads the signing key at `path`, creating it under `name` if missing.
pub fn load_or_create(path: &Path, name: &str) -> Result<NoteSigner, KeyFileError> {
    if !path.exists() {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(seed.as_mut());
        let file = AuditKeyFile { format: FORMAT.into(), name: name.into(), seed: B64.encode(seed.as_ref()) };
        let json = Zeroizing::new(serde_json::to_vec_pretty(&file).expect("audit key serialises"));
        write_atomic(path, &json).map_err(|e| KeyFileError::Unwritable { path: path.into(), reason: e.to_string() })?;
    }
    load(path)
}

pub fn load(path: &Path) -> Result<NoteSigner, KeyFileError> {
    let bytes = Zeroizing::new(crate::keyfile::read_private(path)?);
    let malformed = |reason: &str| KeyFileError::Malformed { path: path.into(), reason: reason.into() };
    let file: AuditKeyFile = serde_json::from_slice(&bytes).map_err(|_| malformed("not JSON"))?;
    if file.format != FORMAT {
        return Err(malformed("unknown format"));
    }
    let raw = Zeroizing::new(B64.decode(file.seed.as_bytes()).map_err(|_| malformed("bad base64"))?);
    let mut seed = Zeroizing::new([0u8; 32]);
    if raw.len() != 32 {
        return Err(malformed("a seed has 32 bytes"));
    }
    seed.copy_from_slice(&raw);
    Ok(NoteSigner::from_seed(&file.name, &seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let first = load_or_create(&path, "kith/audit/x").unwrap();
        let again = load_or_create(&path, "another name").unwrap();
        assert_eq!(first.verifier().encoded(), again.verifier().encoded(), "an existing key is never replaced");
        assert!(!format!("{first:?}").contains("seed"));
    }
}
