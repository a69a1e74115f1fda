//! Scheduled backups, run from a server's periodic tick: when the newest
//! backup (of any server of the database, or of `kith backup create`) is
//! older than `[backup] every`, a new one is written to `[backup] dir`,
//! verified, and the oldest beyond `keep` are deleted.

use super::{create, keys, note_verified, verify, LAST_BACKUP_AT};
use crate::audit::record_system;
use crate::config::BackupSettings;
use anyhow::{Context, Result};
use kith_core::audit::AuditAction;
use kith_store::DynStore;
use std::path::{Path, PathBuf};

const ACTOR: &str = "system:scheduler";
const PREFIX: &str = "kith-";
const SUFFIX: &str = ".age";

/// A scheduled run shows no progress.
fn no_progress(_: &str, _: u64) {}

/// What a scheduled run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub file: PathBuf,
    /// Whether it was verified (not when it is encrypted to recipients
    /// whose identities the server does not hold).
    pub verified: bool,
    pub deleted: usize,
}

/// A file name that sorts by time: `kith-20261201T151713123Z.age`.
fn file_name(now_ms: i64) -> String {
    let at = crate::clock::time_of(now_ms);
    format!(
        "{PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z{SUFFIX}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// The scheduled backups in `dir`, oldest first.
fn scheduled_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn ensure_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Takes a backup when one is due at `now_ms`; `None` when not due.
pub async fn run_if_due(
    store: &DynStore,
    settings: &BackupSettings,
    key_file: &Path,
    engine: &str,
    now_ms: i64,
) -> Result<Option<Scheduled>> {
    let last = store.setting(LAST_BACKUP_AT).await?.and_then(|v| v.parse::<i64>().ok());
    if last.is_some_and(|at| now_ms - at < settings.every_ms()) {
        return Ok(None);
    }
    ensure_dir(&settings.dir)?;
    let file = settings.dir.join(file_name(now_ms));
    let recipients = if settings.recipients.is_empty() {
        let (key, made) = keys::current(key_file)?;
        if made {
            record_system(store, ACTOR, AuditAction::KeyRotation, "backup_keys", None, &["created"]).await?;
        }
        vec![key.recipient]
    } else {
        settings.recipients.clone()
    };
    let report = create(store, engine, &recipients, &file, &no_progress).await?;
    // The schedule counts in its own clock.
    store.set_setting(LAST_BACKUP_AT, &now_ms.to_string()).await?;
    let fields = report.manifest.fields();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    record_system(store, ACTOR, AuditAction::Read, "backup", None, &fields).await?;
    let verified = if settings.recipients.is_empty() {
        let outcome = verify(&file, &keys::identities(key_file)?, &no_progress).await;
        let said = if outcome.is_ok() { "outcome:intact" } else { "outcome:damaged" };
        record_system(store, ACTOR, AuditAction::Read, "backup_verification", None, &[said]).await?;
        let verified = outcome.with_context(|| format!("the scheduled backup {} did not verify", file.display()))?;
        drop(verified);
        note_verified(store, now_ms).await?;
        true
    } else {
        false
    };
    let mut deleted = 0;
    let files = scheduled_files(&settings.dir)?;
    for old in files.iter().take(files.len().saturating_sub(settings.keep)) {
        std::fs::remove_file(old).with_context(|| format!("cannot delete the old backup {}", old.display()))?;
        deleted += 1;
    }
    Ok(Some(Scheduled { file, verified, deleted }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time() {
        assert_eq!(file_name(0), "kith-19700101T000000000Z.age");
        assert!(file_name(1_000) < file_name(60_000));
        assert!(file_name(86_399_999) < file_name(86_400_000));
    }
}
