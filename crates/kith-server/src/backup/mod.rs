//! Backups: `create` streams a consistent snapshot of the store into an
//! age-encrypted file while servers keep serving; `verify` authenticates
//! it, loads it into a scratch database and checks its audit chain;
//! `restore` loads it into a blank database and then erases again
//! everyone the erasure ledger names. See docs/backup.md.

mod create;
pub mod format;
pub mod keys;
pub mod ledger;
mod load;
mod migrate;
mod restore;
pub mod schedule;

pub use create::{create, CreateReport};
pub use format::Manifest;
pub use load::verify;
pub use migrate::{migrate, Migrated};
pub use restore::{restore, RestoreReport, RestoreRequest};

/// The setting a restore holds until it has finished; a database that
/// has it is refused, so no server reads a half-restored database.
pub const RESTORE_MARKER: &str = "restore_incomplete";

/// Settings the doctor reads: when the first and the newest backups were
/// taken, and when the newest verified backup was taken (ms).
pub const FIRST_BACKUP_AT: &str = "first_backup_at";
pub const LAST_BACKUP_AT: &str = "last_backup_at";
pub const LAST_VERIFIED_BACKUP: &str = "last_verified_backup_at";

/// When a backup was taken, from its manifest (ms).
pub fn taken_at(manifest: &Manifest) -> anyhow::Result<i64> {
    let made = kith_core::model::parse_timestamp("created_at", &manifest.created_at)
        .map_err(|e| anyhow::anyhow!("the manifest's {}", e.detail))?;
    Ok(kith_core::model::unix_millis(made))
}

/// Notes in the installation's settings that its backup taken at `made`
/// (ms) verified.
pub async fn note_verified(store: &kith_store::DynStore, made: i64) -> anyhow::Result<()> {
    let known = store.setting(LAST_VERIFIED_BACKUP).await?.and_then(|v| v.parse::<i64>().ok());
    if known.is_none_or(|k| k < made) {
        store.set_setting(LAST_VERIFIED_BACKUP, &made.to_string()).await?;
    }
    Ok(())
}

/// Rows per batch: the unit of memory, of a frame and of a load transaction.
const BATCH_ROWS: usize = 500;

/// The engine a database URL names, as a backup's header spells it.
pub fn engine_of(url: &str) -> &'static str {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        "postgres"
    } else {
        "sqlite"
    }
}

/// Progress of a long operation: rows done so far, and the table at hand.
pub type Progress<'a> = &'a (dyn Fn(&str, u64) + Sync);
