//! Backup keys and the backup file's encryption: the age format (X25519
//! recipients, ChaCha20-Poly1305 in 64 KiB chunks, each authenticated and
//! numbered, the last one marked), so an operator can also open a backup
//! with the standard `age` tool and a backup machine can encrypt to a
//! public key without holding any secret.
//!
//! A backup key is an age identity kept in the key file. Deleting one
//! from the key file (`retire`) makes every backup encrypted to it
//! unreadable: that is how old backups are put beyond use.

use age::secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// One backup key as the key file keeps it.
#[derive(Clone, Serialize, Deserialize)]
pub struct BackupKey {
    pub id: String,
    /// `AGE-SECRET-KEY-1…`.
    #[serde(with = "secret_text")]
    secret: Zeroizing<String>,
    pub created_at: String,
}

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupKey {{ id: {}, created_at: {}, <secret redacted> }}", self.id, self.created_at)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupCryptoError {
    #[error("{0} is not an age recipient (age1…)")]
    BadRecipient(String),
    #[error("the identity is not an age X25519 secret key (AGE-SECRET-KEY-1…)")]
    BadIdentity,
    #[error("no key at hand opens this backup: it was encrypted to another recipient, or its backup key was retired")]
    NoKey,
    #[error("this is not an age-encrypted Kith backup, or its header was changed")]
    NotAge,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl BackupKey {
    pub fn generate(created_at: String) -> Self {
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        // The id is the recipient's tail: short, and shown by `age-keygen -y` too.
        let id = format!("backup-{}", &recipient[recipient.len() - 8..]);
        Self { id, secret: Zeroizing::new(identity.to_string().expose_secret().to_string()), created_at }
    }

    fn identity(&self) -> Result<age::x25519::Identity, BackupCryptoError> {
        self.secret.parse().map_err(|_| BackupCryptoError::BadIdentity)
    }

    /// The public half (`age1…`), to encrypt to this key.
    pub fn recipient(&self) -> Result<String, BackupCryptoError> {
        Ok(self.identity()?.to_public().to_string())
    }
}

/// Identities from an age identity file (`AGE-SECRET-KEY-1…` lines, `#`
/// comments), for a backup encrypted to a `--recipient`.
pub fn identities_from_text(text: &str) -> Result<Vec<BackupKey>, BackupCryptoError> {
    let keys: Vec<BackupKey> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(n, line)| {
            line.parse::<age::x25519::Identity>().map_err(|_| BackupCryptoError::BadIdentity)?;
            Ok::<_, BackupCryptoError>(BackupKey {
                id: format!("identity-{}", n + 1),
                secret: Zeroizing::new(line.to_string()),
                created_at: String::new(),
            })
        })
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(BackupCryptoError::BadIdentity);
    }
    Ok(keys)
}

/// A writer that encrypts to `recipients` (age1… strings); `finish` writes
/// the last chunk, without which the file does not verify.
pub fn encrypt<W: Write>(recipients: &[String], output: W) -> Result<Encrypting<W>, BackupCryptoError> {
    let parsed: Vec<age::x25519::Recipient> = recipients
        .iter()
        .map(|r| r.parse().map_err(|_| BackupCryptoError::BadRecipient(r.clone())))
        .collect::<Result<_, _>>()?;
    let encryptor = age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| BackupCryptoError::Io(std::io::Error::other(e.to_string())))?;
    Ok(Encrypting(encryptor.wrap_output(output)?))
}

pub struct Encrypting<W: Write>(age::stream::StreamWriter<W>);

impl<W: Write> Encrypting<W> {
    pub fn finish(self) -> Result<W, BackupCryptoError> {
        Ok(self.0.finish()?)
    }
}

impl<W: Write> Write for Encrypting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A reader of the plaintext; a changed, moved or missing chunk (a
/// truncated file) is an `InvalidData` error from `read`.
pub fn decrypt<R: Read>(keys: &[BackupKey], input: R) -> Result<impl Read, BackupCryptoError> {
    let identities: Vec<age::x25519::Identity> = keys.iter().map(BackupKey::identity).collect::<Result<_, _>>()?;
    let decryptor = age::Decryptor::new(input).map_err(|e| match e {
        age::DecryptError::Io(io) => BackupCryptoError::Io(io),
        _ => BackupCryptoError::NotAge,
    })?;
    decryptor.decrypt(identities.iter().map(|i| i as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => BackupCryptoError::NoKey,
        age::DecryptError::Io(io) => BackupCryptoError::Io(io),
        _ => BackupCryptoError::NotAge,
    })
}

mod secret_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    pub fn serialize<S: Serializer>(text: &Zeroizing<String>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<String>, D::Error> {
        Ok(Zeroizing::new(String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &BackupKey, plain: &[u8]) -> Vec<u8> {
        let mut out = encrypt(&[key.recipient().unwrap()], Vec::new()).unwrap();
        out.write_all(plain).unwrap();
        out.finish().unwrap()
    }

    fn open(keys: &[BackupKey], sealed: &[u8]) -> Result<Vec<u8>, String> {
        let mut reader = decrypt(keys, sealed).map_err(|e| e.to_string())?;
        let mut plain = Vec::new();
        reader.read_to_end(&mut plain).map_err(|e| e.to_string())?;
        Ok(plain)
    }

    #[test]
    fn round_trip_and_every_kind_of_damage_is_refused() {
        let key = BackupKey::generate("2026-01-01T00:00:00Z".into());
        assert!(!format!("{key:?}").contains("AGE-SECRET"));
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let sealed = seal(&key, &plain);
        assert_eq!(open(std::slice::from_ref(&key), &sealed).unwrap(), plain);

        let mut flipped = sealed.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 1;
        assert!(open(std::slice::from_ref(&key), &flipped).is_err(), "a changed byte");
        let truncated = &sealed[..sealed.len() - 70_000];
        assert!(open(std::slice::from_ref(&key), truncated).is_err(), "a truncated file");
        let other = BackupKey::generate("2026-01-01T00:00:00Z".into());
        assert!(matches!(decrypt(&[other], sealed.as_slice()), Err(BackupCryptoError::NoKey)), "a wrong key");
    }

    #[test]
    fn identity_files_are_read_and_bad_ones_refused() {
        let key = BackupKey::generate("x".into());
        let text = format!("# created by age-keygen\n{}\n", key.secret.as_str());
        let keys = identities_from_text(&text).unwrap();
        assert_eq!(keys[0].recipient().unwrap(), key.recipient().unwrap());
        assert!(identities_from_text("# nothing\n").is_err());
        assert!(identities_from_text("AGE-SECRET-KEY-1NOPE\n").is_err());
        assert!(encrypt(&["age1nope".into()], Vec::new()).is_err());
    }
}
