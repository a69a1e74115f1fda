//! Kith's storage: one [`Store`] trait, implemented for SQLite
//! ([`sqlite::SqliteStore`]) and PostgreSQL ([`postgres::PgStore`]) with the
//! same SQL text (`$n` placeholders), each running its own embedded
//! migrations at start.
//!
//! The store only ever sees ciphertext, wrapped keys and blind-index terms:
//! it cannot read a personal value and it never holds a key that could.

mod domains;
mod migrate;
pub mod postgres;
mod query;
mod sql;
pub mod sqlite;
mod store_impl;

use kith_core::audit::AuditEvent;
use kith_core::{ClearValue, EntityKind};
use std::sync::Arc;
use uuid::Uuid;

pub use query::{values_placeholders, ListQuery, Range};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} {1} does not exist")]
    UnknownReference(&'static str, Uuid),
    #[error("the record was changed by someone else")]
    VersionConflict,
    #[error("the record is still referenced by {0}")]
    InUse(&'static str),
    #[error("the active key-encryption key changed to {0} during the write")]
    StaleKek(String),
    #[error("a record with this id exists")]
    Duplicate,
    #[error("an exception to erasure is recorded for the person")]
    Held,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration {version} failed: {reason}")]
    Migration { version: i64, reason: String },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// Where a snapshot was going could not take it (a full disk, a closed file).
    #[error("the snapshot could not be written: {0}")]
    Sink(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub use domains::*;

/// Everything Kith keeps, behind one interface.
pub trait Store:
    SettingsStore
    + BackupStore
    + RecordStore
    + KeyStore
    + PolicyStore
    + AccessStore
    + SegmentStore
    + AuditStore
    + CaptureStore
    + AccountStore
    + RequestStore
    + ErasureStore
    + DrpStore
    + PortalStore
    + RetentionStore
    + AccountabilityStore
    + BreachStore
    + ImportStore
{
}

impl<
        T: SettingsStore
            + BackupStore
            + RecordStore
            + KeyStore
            + PolicyStore
            + AccessStore
            + SegmentStore
            + AuditStore
            + CaptureStore
            + AccountStore
            + RequestStore
            + ErasureStore
            + DrpStore
            + PortalStore
            + RetentionStore
            + AccountabilityStore
            + BreachStore
            + ImportStore,
    > Store for T
{
}

/// Every domain trait. `dyn Store` (what `DynStore` holds) reaches all of
/// their methods as it is; code holding a concrete store (a `SqliteStore`)
/// or a generic `T: Store` imports these with `use kith_store::prelude::*`.
pub mod prelude {
    pub use super::{
        AccessStore, AccountStore, AccountabilityStore, AuditStore, BackupStore, BreachStore, CaptureStore, DrpStore,
        ErasureStore, ImportStore, KeyStore, PolicyStore, PortalStore, RecordStore, RequestStore, RetentionStore,
        SegmentStore, SettingsStore,
    };
}

pub type DynStore = Arc<dyn Store>;

/// The setting naming the KEK new data keys must be wrapped under.
pub const ACTIVE_KEK: &str = "active_kek";

/// Opens the store a URL names: `postgres://…` or `sqlite://PATH`.
pub async fn open(url: &str) -> Result<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url, None).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(path)).await?))
    } else {
        Err(StoreError::Database(sqlx::Error::Configuration(
            "a database URL starts with postgres:// or sqlite://".into(),
        )))
    }
}
