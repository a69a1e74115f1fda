//! Random bearer secrets (session cookies, recovery codes), their stored
//! hashes, and the CSRF token bound to a session.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// `bytes` random bytes, base64url without padding.
pub fn random_token(bytes: usize) -> Zeroizing<String> {
    let mut raw = Zeroizing::new(vec![0u8; bytes]);
    rand::rngs::OsRng.fill_bytes(&mut raw);
    Zeroizing::new(B64URL.encode(&*raw))
}

/// A secret of 128 bits or more needs no slow hash: SHA-256 makes a stolen
/// table useless.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The CSRF token of a session: derived from its secret, so the server
/// stores nothing more and can hand it out again to the session's owner.
/// A page of another site can neither read the cookie nor this token.
pub fn csrf_token(session_secret: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(session_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"kith/csrf/v1");
    B64URL.encode(mac.finalize().into_bytes())
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_per_session() {
        let (a, b) = (random_token(32), random_token(32));
        assert_eq!(a.len(), 43);
        assert_eq!(csrf_token(&a), csrf_token(&a));
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
