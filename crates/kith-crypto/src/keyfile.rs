//! The key file: the KEKs and the blind-index root, kept outside the
//! database. Written atomically (temporary file, fsync, rename) with mode
//! 0600; a file that others may read is refused.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const FORMAT: &str = "kith-keys-v1";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("key file {path} cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("key file {path} is not a Kith key file ({reason})")]
    Malformed { path: PathBuf, reason: String },
    #[error("key file {path} may be read by other users (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("key file {path} cannot be written: {reason}")]
    Unwritable { path: PathBuf, reason: String },
}

/// One key-encryption key.
#[derive(Clone, Serialize, Deserialize)]
pub struct Kek {
    pub id: String,
    #[serde(with = "b64_key")]
    pub key: Zeroizing<[u8; 32]>,
    pub created_at: String,
}

/// The whole key file.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub format: String,
    /// The KEK new data keys are wrapped under.
    pub active_kek: String,
    pub keks: Vec<Kek>,
    /// Root of the per-field blind-index keys.
    #[serde(with = "b64_key")]
    pub index_key: Zeroizing<[u8; 32]>,
    /// Backup keys, newest last; backups are encrypted to the newest.
    /// Absent from key files written before backups existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backup_keys: Vec<crate::backup_key::BackupKey>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keks.iter().map(|k| k.id.as_str()).collect();
        write!(f, "KeyFile {{ active_kek: {}, keks: {ids:?}, <keys redacted> }}", self.active_kek)
    }
}

pub(crate) fn random_key() -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    key
}

pub fn new_kek(created_at: String) -> Kek {
    let mut id = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let id = id.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Kek { id: format!("kek-{id}"), key: random_key(), created_at }
}

/// Reads a secret file, refusing one that group or others may read.
pub(crate) fn read_private(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    let unreadable = |e: std::io::Error| KeyFileError::Unreadable { path: path.into(), reason: e.to_string() };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen { path: path.into(), mode });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    std::fs::read(path).map_err(unreadable)
}

impl KeyFile {
    /// A fresh key file with one KEK and a new index root.
    pub fn generate(created_at: String) -> Self {
        let kek = new_kek(created_at);
        Self {
            format: FORMAT.into(),
            active_kek: kek.id.clone(),
            keks: vec![kek],
            index_key: random_key(),
            backup_keys: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let bytes = Zeroizing::new(read_private(path)?);
        let file: KeyFile = serde_json::from_slice(&bytes)
            .map_err(|e| KeyFileError::Malformed { path: path.into(), reason: format!("line {}", e.line()) })?;
        let malformed = |reason: &str| KeyFileError::Malformed { path: path.into(), reason: reason.into() };
        if file.format != FORMAT {
            return Err(malformed("unknown format"));
        }
        if !file.keks.iter().any(|k| k.id == file.active_kek) {
            return Err(malformed("the active KEK is missing"));
        }
        Ok(file)
    }

    /// Writes atomically with mode 0600: a crash leaves the old file or the new one.
    pub fn save(&self, path: &Path) -> Result<(), KeyFileError> {
        let json = Zeroizing::new(serde_json::to_vec_pretty(self).expect("key file serialises"));
        crate::private_file::write_atomic(path, &json)
            .map_err(|e| KeyFileError::Unwritable { path: path.into(), reason: e.to_string() })
    }

    pub fn kek(&self, id: &str) -> Option<&Kek> {
        self.keks.iter().find(|k| k.id == id)
    }
}

mod b64_key {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &Zeroizing<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(B64.encode(key.as_ref())))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<[u8; 32]>, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        let bytes = Zeroizing::new(B64.decode(text.as_bytes()).map_err(|_| serde::de::Error::custom("bad base64"))?);
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(serde::de::Error::custom("a key has 32 bytes"));
        }
        key.copy_from_slice(&bytes);
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.key");
        let file = KeyFile::generate("2026-01-01T00:00:00Z".into());
        file.save(&path).unwrap();
        let loaded = KeyFile::load(&path).unwrap();
        assert_eq!(loaded.active_kek, file.active_kek);
        assert_eq!(*loaded.keks[0].key, *file.keks[0].key);
        assert!(!format!("{loaded:?}").contains(&B64.encode(loaded.keks[0].key.as_ref())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(KeyFile::load(&path), Err(KeyFileError::TooOpen { .. })));
        }
    }

    #[test]
    fn missing_and_malformed_files_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.key");
        assert!(matches!(KeyFile::load(&path), Err(KeyFileError::Unreadable { .. })));
        std::fs::write(&path, b"{}").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(KeyFile::load(&path), Err(KeyFileError::Malformed { .. })));
    }
}
