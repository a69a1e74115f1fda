//! Kith's key hierarchy. Only this crate handles key material.
//!
//! ```text
//! key file (outside the database, mode 0600)
//!  ├── KEKs (one active; two only while a rotation runs)
//!  │     └── wrap ─► data key of each data subject (stored wrapped, subject id as AAD)
//!  │                   └── seal ─► every personal value of that subject (XChaCha20-Poly1305)
//!  ├── index root ─► HKDF per field ─► HMAC-SHA256 blind index terms
//!  └── backup keys (age X25519 identities) ─► backup files
//! ```

mod aead;
pub mod audit_chain;
pub mod audit_key;
pub mod backup_key;
pub mod data_key;
pub mod keyfile;
pub mod keyring;
pub mod password;
pub mod private_file;
pub mod secrets;
pub mod signed_note;
pub mod totp;

pub use data_key::DataKey;
pub use keyfile::{KeyFile, KeyFileError};
pub use keyring::{BlindTerm, Keyring, KeyringHandle, WrappedKey};
pub use password::PasswordParams;

/// Why a cryptographic operation failed. Never carries key or plaintext bytes.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("a sealed value could not be opened (wrong key, wrong record or corrupted)")]
    Open,
    #[error("the key-encryption key {0} is not in the key file")]
    UnknownKek(String),
    #[error("sealed value has an unknown format version")]
    Format,
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
}
