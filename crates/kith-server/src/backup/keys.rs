//! Backup keys in the key file: the newest encrypts new backups, older
//! ones still open older backups until they are retired. Retiring a key
//! deletes it, and with it the only way to open the backups made with it.

use anyhow::{bail, Context, Result};
use kith_crypto::backup_key::BackupKey;
use kith_crypto::KeyFile;
use std::path::Path;

/// A backup key as it may be shown: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub created_at: String,
    /// The public half (`age1…`).
    pub recipient: String,
}

fn info(key: &BackupKey) -> Result<KeyInfo> {
    Ok(KeyInfo { id: key.id.clone(), created_at: key.created_at.clone(), recipient: key.recipient()? })
}

fn load(key_file: &Path) -> Result<KeyFile> {
    Ok(KeyFile::load(key_file)?)
}

/// The key new backups are encrypted to, made (and the key file saved)
/// when the key file has none yet. The flag says whether it was made now.
pub fn current(key_file: &Path) -> Result<(KeyInfo, bool)> {
    let mut file = load(key_file)?;
    if let Some(newest) = file.backup_keys.last() {
        return Ok((info(newest)?, false));
    }
    let key = BackupKey::generate(crate::clock::rfc3339_millis(crate::now_millis()));
    let made = info(&key)?;
    file.backup_keys.push(key);
    file.save(key_file)?;
    Ok((made, true))
}

/// Adds a new newest key; the others stay to open older backups.
pub fn rotate(key_file: &Path) -> Result<KeyInfo> {
    let mut file = load(key_file)?;
    let key = BackupKey::generate(crate::clock::rfc3339_millis(crate::now_millis()));
    let made = info(&key)?;
    file.backup_keys.push(key);
    file.save(key_file)?;
    Ok(made)
}

/// Deletes an older key: every backup encrypted to it becomes unreadable.
pub fn retire(key_file: &Path, id: &str) -> Result<KeyInfo> {
    let mut file = load(key_file)?;
    let at = file
        .backup_keys
        .iter()
        .position(|k| k.id == id)
        .with_context(|| format!("the key file has no backup key {id}; `kith backup keys` lists them"))?;
    if at + 1 == file.backup_keys.len() {
        bail!("{id} is the key new backups are encrypted to: run `kith backup rotate-key` first, then retire it");
    }
    let gone = info(&file.backup_keys.remove(at))?;
    file.save(key_file)?;
    Ok(gone)
}

pub fn list(key_file: &Path) -> Result<Vec<KeyInfo>> {
    load(key_file)?.backup_keys.iter().map(info).collect()
}

/// Every backup key of the key file, to open a backup with.
pub fn identities(key_file: &Path) -> Result<Vec<BackupKey>> {
    Ok(load(key_file)?.backup_keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_on_first_use_rotated_and_retired_but_never_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.key");
        KeyFile::generate("t".into()).save(&path).unwrap();
        let (first, made) = current(&path).unwrap();
        assert!(made);
        assert_eq!(current(&path).unwrap(), (first.clone(), false));
        assert!(retire(&path, &first.id).is_err(), "the newest is not retired");
        let second = rotate(&path).unwrap();
        assert_eq!(current(&path).unwrap().0, second);
        assert_eq!(retire(&path, &first.id).unwrap(), first);
        assert_eq!(list(&path).unwrap(), vec![second]);
        assert!(retire(&path, "backup-nope").is_err());
    }
}
