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

pub use create::{create, CreateReport};
pub use format::Manifest;
pub use load::verify;
pub use migrate::{migrate, Migrated};
pub use restore::{restore, RestoreReport, RestoreRequest};

/// The setting a restore holds until it has finished; a database that
/// has it is refused, so no server reads a half-restored database.
pub const RESTORE_MARKER: &str = "restore_incomplete";

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
