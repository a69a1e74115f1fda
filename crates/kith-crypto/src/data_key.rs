//! A data subject's own key. Every personal value of that person is sealed
//! under it, so destroying it (crypto-shredding) makes every copy unreadable.

use crate::{aead, CryptoError};
use rand::RngCore;
use zeroize::Zeroizing;

pub struct DataKey(pub(crate) Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(key.as_mut());
        Self(key)
    }

    /// Seals `plaintext`; `context` (entity, record id) is bound as associated
    /// data so a sealed value cannot be moved to another record.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        aead::seal(&self.0, context, plaintext)
    }

    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        aead::open(&self.0, context, sealed).map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_binds_context() {
        let key = DataKey::generate();
        let sealed = key.seal(b"contacts/1", b"Olena");
        assert_eq!(key.open(b"contacts/1", &sealed).unwrap().as_slice(), b"Olena");
        assert!(key.open(b"contacts/2", &sealed).is_err());
        assert!(DataKey::generate().open(b"contacts/1", &sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open(b"contacts/1", &tampered).is_err());
        assert!(!sealed.windows(5).any(|w| w == b"Olena"));
    }
}
