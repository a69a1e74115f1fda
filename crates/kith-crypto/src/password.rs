//! Password hashing: Argon2id in the PHC string format
//! (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), so the parameters travel
//! with each hash and can be raised later without breaking old ones.
//! Hashing is deliberately slow: callers run it off the async runtime.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The cost of a new hash. The default is OWASP's minimum for Argon2id
/// (19 MiB, two passes, one lane); only tests lower it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over the memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self { m_kib: 19 * 1024, t: 2, p: 1 }
    }
}

impl PasswordParams {
    fn hasher(&self) -> Result<Argon2<'static>, argon2::Error> {
        let params = Params::new(self.m_kib, self.t, self.p, None)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes a password with a new random salt.
pub fn hash_password(params: PasswordParams, password: &str) -> Result<String, crate::CryptoError> {
    let salt = SaltString::generate(&mut OsRng);
    let hasher = params.hasher().map_err(|_| crate::CryptoError::Format)?;
    let hash = hasher.hash_password(password.as_bytes(), &salt).map_err(|_| crate::CryptoError::Format)?;
    Ok(hash.to_string())
}

/// Whether `password` matches `phc`, under the parameters the hash names.
/// A malformed hash matches nothing.
pub fn verify_password(phc: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    if parsed.algorithm.as_str() != "argon2id" {
        return false;
    }
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings() {
        let params = PasswordParams { m_kib: 64, t: 1, p: 1 };
        let hash = hash_password(params, "correct horse battery staple").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert!(verify_password(&hash, "correct horse battery staple"));
        assert!(!verify_password(&hash, "correct horse battery stapler"));
        assert!(!verify_password("not a hash", "x"));
        let again = hash_password(params, "correct horse battery staple").unwrap();
        assert_ne!(hash, again, "each hash has its own salt");
        assert_eq!(PasswordParams::default(), PasswordParams { m_kib: 19456, t: 2, p: 1 });
    }
}
