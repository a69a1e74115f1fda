//! Key rotation: a new KEK is installed, every data key is rewrapped under
//! it while servers keep serving, and the old KEK leaves the key file only
//! once no wrapped key needs it.
//!
//! Order matters. The new KEK is written to the key file before the
//! database names it active, so a server told to use it can always load it.
//! A server wrapping a new data key checks the active KEK in the same
//! transaction as the insert, so the sweep cannot miss a key wrapped under
//! the old KEK after the switch. An interrupted rotation resumes: the key
//! file then still holds both KEKs.

use anyhow::{bail, Context, Result};
use kith_crypto::keyfile::new_kek;
use kith_crypto::{KeyFile, Keyring, WrappedKey};
use kith_store::{DynStore, KeyRow, ACTIVE_KEK};
use std::path::{Path, PathBuf};

const BATCH: u32 = 500;

#[derive(Debug)]
pub struct RotationReport {
    pub retired: Vec<String>,
    pub active: String,
    pub rewrapped: u64,
}

/// Held while a rotation runs, so two cannot interleave.
struct RotationLock(PathBuf);

impl RotationLock {
    fn take(key_path: &Path) -> Result<Self> {
        let path = key_path.with_extension("rotating");
        std::fs::OpenOptions::new().write(true).create_new(true).open(&path).with_context(|| {
            format!("another rotation seems to be running ({} exists; remove it if none is)", path.display())
        })?;
        Ok(Self(path))
    }
}

impl Drop for RotationLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub async fn rotate(store: &DynStore, key_path: &Path, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<RotationReport> {
    let _lock = RotationLock::take(key_path)?;
    let mut file = KeyFile::load(key_path)?;
    if file.keks.len() == 1 {
        let kek = new_kek(crate::clock::rfc3339_millis(crate::now_millis()));
        file.active_kek = kek.id.clone();
        file.keks.push(kek);
        file.save(key_path)?;
        tracing::info!(active_kek = file.active_kek, "new key-encryption key written");
    } else {
        tracing::info!(active_kek = file.active_kek, "resuming an interrupted rotation");
    }
    let new = file.active_kek.clone();
    store.set_setting(ACTIVE_KEK, &new).await?;

    let ring = Keyring::from_file(&file);
    let mut total = store.count_keys_not_under(&new).await?;
    let mut rewrapped = 0;
    progress(0, total);
    loop {
        let mut after = None;
        loop {
            let batch = store.keys_after(after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.subject_id);
            for old in batch.iter().filter(|k| k.kek_id != new) {
                let wrapped =
                    WrappedKey { subject_id: old.subject_id, kek_id: old.kek_id.clone(), wrapped: old.wrapped.clone() };
                let key = ring.unwrap(&wrapped).with_context(|| {
                    format!("the data key of {} cannot be unwrapped with the key file's KEKs", old.subject_id)
                })?;
                let fresh = ring.wrap_with(&new, old.subject_id, &key)?;
                let row = KeyRow { subject_id: fresh.subject_id, kek_id: fresh.kek_id, wrapped: fresh.wrapped };
                // False when the key was deleted meanwhile: nothing left to rewrap.
                if store.rewrap(old, &row).await? {
                    rewrapped += 1;
                    total = total.max(rewrapped);
                    progress(rewrapped, total);
                }
            }
        }
        if store.count_keys_not_under(&new).await? == 0 {
            break;
        }
    }

    let retired: Vec<String> = file.keks.iter().filter(|k| k.id != new).map(|k| k.id.clone()).collect();
    file.keks.retain(|k| k.id == new);
    if file.keks.is_empty() {
        bail!("the key file lost its active KEK during rotation");
    }
    file.save(key_path)?;
    tracing::info!(active_kek = new, rewrapped, retired = ?retired, "rotation complete");
    Ok(RotationReport { retired, active: new, rewrapped })
}
