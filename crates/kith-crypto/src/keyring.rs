//! The keys in use: KEKs by id for wrapping data keys, and the per-field
//! blind-index keys derived from the index root.

use crate::{aead, CryptoError, DataKey, KeyFile};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use uuid::Uuid;
use zeroize::Zeroizing;

/// A data key as stored: which KEK wrapped it, and the wrapped bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub subject_id: Uuid,
    pub kek_id: String,
    pub wrapped: Vec<u8>,
}

/// A blind-index term: the first 16 bytes of HMAC-SHA256 over the
/// normalised value, keyed per field.
pub type BlindTerm = [u8; 16];

pub struct Keyring {
    active_kek: String,
    keks: HashMap<String, Zeroizing<[u8; 32]>>,
    index_root: Zeroizing<[u8; 32]>,
    index_keys: RwLock<HashMap<&'static str, Zeroizing<[u8; 32]>>>,
    ledger_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring {{ active_kek: {}, <keys redacted> }}", self.active_kek)
    }
}

fn wrap_aad(subject: Uuid, kek_id: &str) -> Vec<u8> {
    let mut aad = b"kith/data-key/v1/".to_vec();
    aad.extend_from_slice(subject.as_bytes());
    aad.extend_from_slice(kek_id.as_bytes());
    aad
}

impl Keyring {
    pub fn from_file(file: &KeyFile) -> Self {
        Self {
            active_kek: file.active_kek.clone(),
            keks: file.keks.iter().map(|k| (k.id.clone(), k.key.clone())).collect(),
            index_root: file.index_key.clone(),
            index_keys: RwLock::default(),
            ledger_key: derive(&file.index_key, b"kith/consent-ledger/v1", b"mac"),
        }
    }

    pub fn active_kek(&self) -> &str {
        &self.active_kek
    }

    pub fn has_kek(&self, id: &str) -> bool {
        self.keks.contains_key(id)
    }

    /// Wraps a data key under the active KEK, bound to its subject.
    pub fn wrap(&self, subject: Uuid, key: &DataKey) -> WrappedKey {
        self.wrap_with(&self.active_kek, subject, key).expect("the active KEK is always present")
    }

    pub fn wrap_with(&self, kek_id: &str, subject: Uuid, key: &DataKey) -> Result<WrappedKey, CryptoError> {
        let kek = self.keks.get(kek_id).ok_or_else(|| CryptoError::UnknownKek(kek_id.into()))?;
        let wrapped = aead::seal(kek, &wrap_aad(subject, kek_id), key.0.as_ref());
        Ok(WrappedKey { subject_id: subject, kek_id: kek_id.into(), wrapped })
    }

    pub fn unwrap(&self, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        let kek = self.keks.get(&wrapped.kek_id).ok_or_else(|| CryptoError::UnknownKek(wrapped.kek_id.clone()))?;
        let bytes = aead::open(kek, &wrap_aad(wrapped.subject_id, &wrapped.kek_id), &wrapped.wrapped)?;
        let bytes = Zeroizing::new(bytes);
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(CryptoError::Format);
        }
        key.copy_from_slice(&bytes);
        Ok(DataKey(key))
    }

    /// The blind-index term of a normalised value in a field.
    pub fn blind_term(&self, field: &'static str, normalised: &str) -> BlindTerm {
        let key = self.index_key(field);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()).expect("HMAC takes any key length");
        mac.update(normalised.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut term = [0u8; 16];
        term.copy_from_slice(&full[..16]);
        term
    }

    /// HMAC-SHA256 of a consent-ledger entry's canonical form, under a key
    /// derived from the index root: like the index, it lives only in the
    /// key file, so a database writer cannot forge an entry's seal.
    pub fn ledger_mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.ledger_key.as_ref()).expect("HMAC takes any key length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    fn index_key(&self, field: &'static str) -> Zeroizing<[u8; 32]> {
        if let Some(k) = self.index_keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(field) {
            return k.clone();
        }
        let key = derive(&self.index_root, b"kith/blind-index/v1", field.as_bytes());
        self.index_keys.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(field, key.clone());
        key
    }
}

/// A 32-byte key derived from a root key (HKDF-SHA256).
fn derive(root: &[u8; 32], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), root).expand(info, key.as_mut()).expect("32 bytes is a valid HKDF output length");
    key
}

/// The keyring a server holds, re-read from the key file when a wrapped key
/// names a KEK it does not know yet (a rotation ran while it was serving).
#[derive(Clone)]
pub struct KeyringHandle {
    path: PathBuf,
    current: Arc<RwLock<Arc<Keyring>>>,
}

impl KeyringHandle {
    pub fn open(path: &Path) -> Result<Self, CryptoError> {
        let file = KeyFile::load(path)?;
        Ok(Self { path: path.into(), current: Arc::new(RwLock::new(Arc::new(Keyring::from_file(&file)))) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn current(&self) -> Arc<Keyring> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Re-reads the key file.
    pub fn reload(&self) -> Result<Arc<Keyring>, CryptoError> {
        let fresh = Arc::new(Keyring::from_file(&KeyFile::load(&self.path)?));
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        tracing::info!(active_kek = fresh.active_kek(), "key file reloaded");
        Ok(fresh)
    }

    /// Unwraps, reloading the key file once if the KEK is new to us.
    pub fn unwrap(&self, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        let ring = self.current();
        if !ring.has_kek(&wrapped.kek_id) {
            return self.reload()?.unwrap(wrapped);
        }
        ring.unwrap(wrapped)
    }

    /// A keyring that holds the KEK `kek_id`, re-reading the key file once
    /// if the current one does not.
    pub fn holding(&self, kek_id: &str) -> Result<Arc<Keyring>, CryptoError> {
        let ring = self.current();
        if ring.has_kek(kek_id) {
            return Ok(ring);
        }
        let ring = self.reload()?;
        if ring.has_kek(kek_id) {
            Ok(ring)
        } else {
            Err(CryptoError::UnknownKek(kek_id.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_binds_subject() {
        let ring = Keyring::from_file(&KeyFile::generate("now".into()));
        let key = DataKey::generate();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let wrapped = ring.wrap(a, &key);
        let unwrapped = ring.unwrap(&wrapped).unwrap();
        assert_eq!(*unwrapped.0, *key.0);
        let moved = WrappedKey { subject_id: b, ..wrapped.clone() };
        assert!(ring.unwrap(&moved).is_err(), "a wrapped key cannot be moved to another person");
        let other = Keyring::from_file(&KeyFile::generate("now".into()));
        assert!(other.unwrap(&wrapped).is_err());
    }

    #[test]
    fn blind_terms_are_per_field_and_keyed() {
        let ring = Keyring::from_file(&KeyFile::generate("now".into()));
        let other = Keyring::from_file(&KeyFile::generate("now".into()));
        assert_eq!(ring.blind_term("email", "a@b.org"), ring.blind_term("email", "a@b.org"));
        assert_ne!(ring.blind_term("email", "a@b.org"), ring.blind_term("phone", "a@b.org"));
        assert_ne!(ring.blind_term("email", "a@b.org"), other.blind_term("email", "a@b.org"));
    }
}
