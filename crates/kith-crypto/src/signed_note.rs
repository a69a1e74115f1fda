//! Signed notes in the C2SP format (https://c2sp.org/signed-note) with
//! Ed25519, as used for transparency-log checkpoints
//! (https://c2sp.org/tlog-checkpoint): a text body, a blank line, then one
//! line per signature: `— <key name> <base64(key id ‖ signature)>`.
//!
//! The key id is the first four bytes of
//! SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01 naming Ed25519.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const ED25519: u8 = 0x01;
const DASH: &str = "\u{2014} ";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("not a signed note")]
    Malformed,
    #[error("no signature by {0} verifies")]
    BadSignature(String),
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, ED25519]);
    h.update(public.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A note signer: an Ed25519 key and the name it signs under.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({}, <key redacted>)", self.name)
    }
}

impl NoteSigner {
    pub fn from_seed(name: &str, seed: &Zeroizing<[u8; 32]>) -> Self {
        Self { name: name.to_string(), key: SigningKey::from_bytes(seed) }
    }

    /// The name notes are signed under.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key: self.key.verifying_key() }
    }

    /// Signs `body` (which must end with a newline) into a note.
    pub fn sign(&self, body: &str) -> String {
        debug_assert!(body.ends_with('\n'));
        let signature = self.key.sign(body.as_bytes());
        let mut blob = key_id(&self.name, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{body}\n{DASH}{} {}\n", self.name, B64.encode(blob))
    }
}

/// Checks notes signed by one key.
#[derive(Debug, Clone)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// The key's name (a checkpoint's origin line).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key in the C2SP text form: `<name>+<hex key id>+<base64(0x01 ‖ key)>`.
    pub fn encoded(&self) -> String {
        let id: String = key_id(&self.name, &self.key).iter().map(|b| format!("{b:02x}")).collect();
        let mut blob = vec![ED25519];
        blob.extend_from_slice(self.key.as_bytes());
        format!("{}+{id}+{}", self.name, B64.encode(blob))
    }

    /// Parses the text form written by [`NoteVerifier::encoded`].
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Malformed);
        };
        let blob = B64.decode(key).map_err(|_| NoteError::Malformed)?;
        let (&alg, key) = blob.split_first().ok_or(NoteError::Malformed)?;
        let key: [u8; 32] = key.try_into().map_err(|_| NoteError::Malformed)?;
        if alg != ED25519 {
            return Err(NoteError::Malformed);
        }
        let key = VerifyingKey::from_bytes(&key).map_err(|_| NoteError::Malformed)?;
        let expected: String = key_id(name, &key).iter().map(|b| format!("{b:02x}")).collect();
        if id != expected {
            return Err(NoteError::Malformed);
        }
        Ok(Self { name: name.to_string(), key })
    }

    /// Returns the note's body if one of its signatures is this key's.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let split = note.rfind("\n\n").ok_or(NoteError::Malformed)?;
        let (body, signatures) = (&note[..split + 1], &note[split + 2..]);
        if !signatures.ends_with('\n') || signatures.contains('\r') {
            return Err(NoteError::Malformed);
        }
        let id = key_id(&self.name, &self.key);
        for line in signatures.lines() {
            let Some(rest) = line.strip_prefix(DASH) else { return Err(NoteError::Malformed) };
            let Some((name, blob)) = rest.split_once(' ') else { return Err(NoteError::Malformed) };
            let Ok(blob) = B64.decode(blob) else { continue };
            if name != self.name || blob.len() != 68 || blob[..4] != id {
                continue;
            }
            let signature = Signature::from_slice(&blob[4..]).map_err(|_| NoteError::Malformed)?;
            if self.key.verify(body.as_bytes(), &signature).is_ok() {
                return Ok(body);
            }
        }
        Err(NoteError::BadSignature(self.name.clone()))
    }
}

/// Whether `key` is an Ed25519 public key (32 bytes, a valid point).
pub fn is_verify_key(key: &[u8]) -> bool {
    <[u8; 32]>::try_from(key).is_ok_and(|k| VerifyingKey::from_bytes(&k).is_ok())
}

/// Whether `signature` (64 bytes) is `key`'s Ed25519 signature of `message`
/// (a detached signature, as the Data Rights Protocol frames its bodies).
pub fn verify_detached(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = <[u8; 32]>::try_from(key) else { return false };
    let Ok(key) = VerifyingKey::from_bytes(&key) else { return false };
    let Ok(signature) = Signature::from_slice(signature) else { return false };
    key.verify_strict(message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("example.org/log", &Zeroizing::new([7u8; 32]))
    }

    #[test]
    fn signs_and_opens() {
        let s = signer();
        let body = "example.org/log\n5\nAAAA\n";
        let note = s.sign(body);
        assert!(note.starts_with(body));
        assert!(note.contains("\n\n\u{2014} example.org/log "));
        let v = NoteVerifier::parse(&s.verifier().encoded()).unwrap();
        assert_eq!(v.open(&note).unwrap(), body);
    }

    #[test]
    fn refuses_altered_notes_and_other_keys() {
        let s = signer();
        let note = s.sign("example.org/log\n5\nAAAA\n");
        let v = s.verifier();
        assert!(v.open(&note.replace("\n5\n", "\n4\n")).is_err());
        let other = NoteSigner::from_seed("example.org/log", &Zeroizing::new([8u8; 32]));
        assert!(other.verifier().open(&note).is_err());
        assert_eq!(v.open("no signatures here"), Err(NoteError::Malformed));
    }
}
