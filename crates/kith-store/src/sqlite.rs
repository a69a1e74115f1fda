//! The embedded default: SQLite in WAL mode, in two files. The records live
//! in `kith.db`; the audit log in `kith.audit.db` beside it. Every read
//! appends audit events, and in SQLite a commit makes every other
//! connection drop its page cache for that file: kept apart, audit commits
//! leave the record pages cached.

use crate::migrate::{apply_migrations, SQLITE, SQLITE_AUDIT};
use crate::store_impl::impl_store;
use crate::Backend;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
    audit_pool: SqlitePool,
}

/// The audit log's file beside the records' file (`kith.db` → `kith.audit.db`).
pub fn audit_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("audit.db")
}

/// The connection settings Kith uses, shared with the plaintext baseline of
/// the benchmark so both measure the same engine configuration.
///
/// `synchronous = FULL`: an acknowledged write survives a power cut, not
/// only a crash. `secure_delete`: deleted rows are overwritten, not left in
/// free pages. `temp_store = MEMORY`: sorts never spill to temporary files.
/// `cache_size`: 32 MiB of page cache per connection instead of 2 MiB, so
/// index pages stay in memory as tables grow.
pub fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("secure_delete", "ON")
        .pragma("temp_store", "MEMORY")
        .pragma("cache_size", "-32768")
}

impl SqliteStore {
    pub async fn open(path: &Path) -> crate::Result<Self> {
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(connect_options(path)).await?;
        let mut conn = pool.acquire().await?;
        apply_migrations!(conn, sqlx::Sqlite, SQLITE)?;
        drop(conn);
        let audit_pool =
            SqlitePoolOptions::new().max_connections(4).connect_with(connect_options(&audit_path(path))).await?;
        let mut conn = audit_pool.acquire().await?;
        apply_migrations!(conn, sqlx::Sqlite, SQLITE_AUDIT)?;
        drop(conn);
        Ok(Self { pool, audit_pool })
    }

    /// Closes the pools, checkpointing the WALs into the main files.
    pub async fn close(&self) {
        self.pool.close().await;
        self.audit_pool.close().await;
    }
}

impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite, crate::store_impl::SQLITE);
