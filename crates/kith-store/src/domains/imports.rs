//! Imports: the jobs that bring contacts in from files, and the questions
//! an import asks of many rows at once (which addresses are known, which
//! are suppressed) before it writes a batch in one transaction.

use crate::*;
use async_trait::async_trait;
use kith_core::EntityKind;

#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    async fn insert_import(&self, job: &ImportJobRow) -> Result<()>;
    /// Replaces a job's status and document; false if there is no such job.
    async fn update_import(&self, job: &ImportJobRow) -> Result<bool>;
    async fn import_job(&self, id: Uuid) -> Result<Option<ImportJobRow>>;
    /// The most recent jobs first: everyone's, or those `created_by` started.
    async fn import_jobs(&self, limit: i64, created_by: Option<&str>) -> Result<Vec<ImportJobRow>>;
    /// The records of `entity` that hold any of these blind-index terms,
    /// with the term that matched.
    async fn indexed(&self, entity: EntityKind, terms: &[Term]) -> Result<Vec<(Term, Uuid)>>;
    /// Those of `terms` on the erasure suppression list.
    async fn suppressed_among(&self, terms: &[Term]) -> Result<Vec<Term>>;
    /// Inserts records with their keys and the first consent entries of
    /// the new people among them, in one transaction: each entry opens
    /// its person's ledger (`seq` 1, sealed by `seal`).
    async fn insert_with_consents(
        &self,
        records: Vec<(NewRecord, Option<KeyRow>)>,
        consents: &[ConsentRow],
        seal: &LedgerSeal,
    ) -> Result<()>;
}

/// An import job: who started it, when, its status and its JSON document
/// (options, progress, counts and per-row reasons: never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJobRow {
    pub id: Uuid,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub status: String,
    pub document: String,
}
