//! The embedded default: one SQLite file in WAL mode.

use crate::migrate::{apply_migrations, SQLITE};
use crate::store_impl::impl_store;
use crate::Backend;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
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
        Ok(Self { pool })
    }

    /// Closes the pool, checkpointing the WAL into the main file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite, crate::store_impl::SQLITE);
