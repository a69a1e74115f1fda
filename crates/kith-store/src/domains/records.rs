//! Records of the five kinds, their keys, clear columns and index terms.

use crate::*;
use async_trait::async_trait;

/// Records of the five kinds with their keys, clear columns and index terms.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    async fn data_key(&self, subject: Uuid) -> Result<Option<KeyRow>>;
    /// Inserts a record, with a new data key for its subject when given.
    /// A new key must be wrapped under the active KEK, checked in the same
    /// transaction, so a rotation can never miss it.
    async fn insert(&self, record: NewRecord, new_key: Option<KeyRow>) -> Result<()>;
    /// Inserts many records and keys in one transaction (imports).
    async fn insert_batch(&self, records: Vec<(NewRecord, Option<KeyRow>)>) -> Result<()>;
    async fn update(&self, update: RecordUpdate, new_key: Option<KeyRow>) -> Result<()>;
    /// Merges the absorbed person into the survivor in one transaction:
    /// the survivor's row rewritten, the absorbed person's records
    /// rewritten under the survivor (sealed under their key), both ledgers
    /// replaced by `ledger` numbered and chained again, objections,
    /// restriction and requests moved, portal links ended, the absorbed
    /// contact and key deleted, and the absorbed id entered in the erasure
    /// ledger (so no restore of an older backup brings them back beside
    /// the survivor). Nothing changes for any answer but `Done`; a version
    /// conflict when anything of either changed since it was read.
    async fn merge_people(&self, order: &MergeOrder, seal: &LedgerSeal) -> Result<Merged>;
    async fn get(&self, entity: EntityKind, id: Uuid) -> Result<Option<StoredRecord>>;
    /// Deletes a record with its index terms. A contact takes with it every
    /// record sealed under its key, and the key itself.
    async fn delete(&self, entity: EntityKind, id: Uuid) -> Result<bool>;
    async fn list(&self, query: &ListQuery) -> Result<Vec<StoredRecord>>;
    /// The clear columns of every record of `entity` owned by one of
    /// `owners` (any owner when `None`), nothing sealed: what aggregates
    /// are computed from.
    async fn clear_rows(&self, entity: EntityKind, owners: Option<&[String]>) -> Result<Vec<ClearRow>>;
    /// The blind-index terms of `entity` that two to `most` records hold,
    /// with the records: where likely duplicates are (a term many records
    /// share, a common tag or name word, is left out).
    async fn shared_terms(&self, entity: EntityKind, most: i64) -> Result<Vec<(Term, Uuid)>>;
}

/// A record's clear part: who it is about, who owns it, when, and its
/// clear columns in the order `EntityKind::columns` names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearRow {
    pub id: Uuid,
    pub subject_id: Uuid,
    pub owner: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub columns: Vec<ClearValue>,
}

/// What a merge writes (see `RecordStore::merge_people`).
#[derive(Debug, Clone)]
pub struct MergeOrder {
    pub survivor: RecordUpdate,
    pub absorbed: Uuid,
    pub absorbed_version: i64,
    /// Whether the survivor may be under a legal hold (the DPO decides).
    pub into_held: bool,
    pub at: i64,
    pub moved: Vec<RecordUpdate>,
    /// Both people's consent entries in the order of the merged ledger,
    /// sealed under the survivor's key.
    pub ledger: Vec<ConsentRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    Done,
    /// The absorbed person has a legal claim or an exception to erasure.
    Held,
    /// The survivor has an exception to erasure and `into_held` was false.
    SurvivorHeld,
    /// Breach notices are queued to the absorbed person (sealed under their key).
    NoticesQueued,
}

/// A data key wrapped by a KEK, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub subject_id: Uuid,
    pub kek_id: String,
    pub wrapped: Vec<u8>,
}

/// A record to insert, already sealed by the caller.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub entity: EntityKind,
    pub id: Uuid,
    pub subject_id: Uuid,
    pub owner: Option<String>,
    pub created_at: i64,
    pub sealed: Vec<u8>,
    /// Values of `entity.columns()`, in that order.
    pub columns: Vec<ClearValue>,
    pub terms: Vec<Term>,
    /// Records that must exist for this one to be written.
    pub references: Vec<(EntityKind, Uuid)>,
}

impl NewRecord {
    /// The record's distinct terms, sorted.
    pub fn unique_terms(&self) -> Vec<Term> {
        let mut unique = self.terms.clone();
        unique.sort();
        unique.dedup();
        unique
    }

    /// The terms as stored beside the record: concatenated 16-byte terms.
    pub fn terms_blob(&self) -> Vec<u8> {
        self.unique_terms().concat()
    }
}

/// A replacement of a record's contents, applied only if nobody changed it
/// since `expected_version` was read.
#[derive(Debug, Clone)]
pub struct RecordUpdate {
    pub record: NewRecord,
    pub expected_version: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: Uuid,
    pub subject_id: Uuid,
    pub owner: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    pub sealed: Vec<u8>,
    /// The subject's wrapped data key; `None` only if it was destroyed.
    pub key: Option<KeyRow>,
    /// The value of the list's sort column, for the next cursor.
    pub sort_value: ClearValue,
}
