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

use async_trait::async_trait;
use kith_core::audit::AuditEvent;
use kith_core::{ClearValue, EntityKind};
use std::sync::Arc;
use uuid::Uuid;

pub use query::{values_placeholders, ListQuery, Range};

/// A privacy notice version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub version: String,
    pub text: String,
    pub sha256: String,
    pub created_at: i64,
}

/// A consent ledger entry as stored; `sealed` holds source and evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub purpose: String,
    pub granted: bool,
    pub at: i64,
    pub notice_version: String,
    pub method: String,
    pub recorded_by: String,
    pub sealed: Vec<u8>,
    /// The entry's place in the person's ledger: 1, 2, 3… with no gap,
    /// given by the store when it appends.
    pub seq: i64,
    /// The entry's seal (see `LedgerSeal`); empty on an entry written
    /// before ledgers were sealed and not sealed since.
    pub mac: Vec<u8>,
}

/// Computes a consent entry's seal from everything in it that decides
/// processing, its `seq`, and the seal of the entry before it (empty for
/// the first): a keyed MAC the store cannot compute, so a database writer
/// can neither flip a withdrawal into a grant nor drop or reorder entries
/// inside a ledger. The store calls it inside the append's transaction,
/// once the sequence number is known.
pub type LedgerSeal = dyn Fn(&ConsentRow, &[u8]) -> Vec<u8> + Send + Sync;

/// A person's consent ledger in sequence order, and whether every seal in
/// it verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    pub entries: Vec<ConsentRow>,
    pub intact: bool,
}

/// Whether `entries` (one person's, in `seq` order) are the ledger `seal`
/// wrote: numbered from 1 without a gap, each seal verifying over the one
/// before it.
pub fn ledger_intact(entries: &[ConsentRow], seal: &LedgerSeal) -> bool {
    let mut previous: &[u8] = &[];
    for (index, entry) in entries.iter().enumerate() {
        let expected = seal(entry, previous);
        if entry.seq != index as i64 + 1 || entry.mac.is_empty() || !same_bytes(&expected, &entry.mac) {
            return false;
        }
        previous = &entry.mac;
    }
    true
}

/// Compares without an early exit, so timing does not say how much of a seal matched.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A legal-claims exception to a restriction (Art. 18(2)); `sealed` holds
/// the DPO's note under the person's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalClaimRow {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub purpose: String,
    pub at: i64,
    pub recorded_by: String,
    pub sealed: Vec<u8>,
}

/// A saved segment; `sealed` holds its definition under the segment's own data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    pub id: Uuid,
    pub created_by: String,
    pub created_at: i64,
    pub sealed: Vec<u8>,
}

/// A public capture form: no personal data, so every column is clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRow {
    pub key: String,
    pub name: String,
    /// Purpose keys.
    pub purposes: Vec<String>,
    pub notice_version: String,
    pub source: Option<String>,
    pub created_at: i64,
    pub created_by: String,
    /// Set when the form was disabled; the row stays for the ledger's sake.
    pub disabled_at: Option<i64>,
}

/// A submission waiting for its double opt-in. `sealed` (the person's
/// details) is under the data key whose subject is `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    pub id: Uuid,
    pub form_key: String,
    pub token_hash: Vec<u8>,
    pub submitted_at: i64,
    pub expires_at: i64,
    pub sealed: Vec<u8>,
}

/// A message for the mail integration, sealed under its pending
/// confirmation's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: Uuid,
    pub pending_id: Uuid,
    pub created_at: i64,
    pub sealed: Vec<u8>,
}

/// A staff account as stored. `sealed` (e-mail address, display name) and
/// the TOTP secrets are under the data key whose subject is `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Uuid,
    /// The blind-index term of the lower-cased e-mail address (unique).
    pub email_term: Vec<u8>,
    pub sealed: Vec<u8>,
    pub roles: Vec<String>,
    pub teams: Vec<String>,
    /// `active` or `disabled`.
    pub status: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    pub password_changed_at: i64,
    /// The enrolled TOTP secret, sealed.
    pub totp: Option<Vec<u8>>,
    /// A TOTP secret waiting for its confirming code, sealed.
    pub totp_pending: Option<Vec<u8>>,
    /// The last time step a code was accepted for.
    pub totp_last_step: Option<i64>,
    pub failed_logins: i64,
    pub first_failed_at: Option<i64>,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How an attempt to open a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    Started,
    Disabled,
    Locked,
    /// The password was changed after the attempt read the account.
    PasswordChanged,
}

/// A browser session: only the hash of its secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub secret_hash: Vec<u8>,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Absolute expiry.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// How failed logins lead to a lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    /// Failures that lock the account...
    pub max_failures: i64,
    /// ...when they fall within this many milliseconds of the first.
    pub window_ms: i64,
    /// How long the lock lasts, in milliseconds.
    pub lock_ms: i64,
}

/// A data-subject request as stored. `sealed` (what the person gave and
/// what staff wrote about the request) is under the data key whose subject
/// is `id`; everything else is clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsrRow {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub channel: String,
    /// The matched person, if any.
    pub contact_id: Option<Uuid>,
    /// The purpose key an objection is about.
    pub purpose: Option<String>,
    pub received_at: i64,
    pub due_at: i64,
    pub extended_months: i64,
    /// When the person was told of an extension.
    pub person_told_at: Option<i64>,
    pub verified_at: Option<i64>,
    /// `staff_attestation` or `token`.
    pub verification_method: Option<String>,
    pub failed_attempts: i64,
    /// SHA-256 of the pending verification token.
    pub token_hash: Option<Vec<u8>>,
    pub token_expires_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// When the request was completed, refused or withdrawn.
    pub closed_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every update; an update names the version it read.
    pub version: i64,
    /// Empty once erasure destroyed the request's details (`erased_at`).
    pub sealed: Vec<u8>,
    /// The suppression-list term of the e-mail address or phone number the
    /// request gave, so erasing that person finds it even unmatched.
    pub given_term: Option<Vec<u8>>,
    /// When erasing the person destroyed this request's key and details.
    pub erased_at: Option<i64>,
}

/// A download link of a request's archive, as stored (the token only as its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLinkRow {
    pub request_id: Uuid,
    pub expires_at: i64,
    /// When the archive was downloaded with it.
    pub used_at: Option<i64>,
}

/// A Data Rights Protocol agent the DPO configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrpAgentRow {
    pub agent_id: String,
    pub name: String,
    /// The agent's Ed25519 public key (32 bytes).
    pub verify_key: Vec<u8>,
    pub created_by: String,
    pub created_at: i64,
    /// The host names its status callbacks may go to (lower case); none,
    /// and no callback is sent.
    pub callback_hosts: Vec<String>,
}

/// A request an agent filed: its own status only while no data-subject
/// request carries it (`dsr_id` none), else the register's state decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrpRequestRow {
    pub id: Uuid,
    pub agent_id: String,
    pub agent_request_id: String,
    pub exercise: String,
    pub dsr_id: Option<Uuid>,
    pub status: String,
    pub reason: Option<String>,
    pub status_callback: Option<String>,
    pub received_at: i64,
    pub expected_by: i64,
}

/// Which requests a register listing wants, in (due_at, id) order after `after`.
#[derive(Debug, Clone, Default)]
pub struct DsrQuery {
    /// Only the requests matched to this person.
    pub contact: Option<Uuid>,
    /// Any of these statuses; all when empty.
    pub statuses: Vec<String>,
    /// Due at or after, in milliseconds.
    pub due_from: Option<i64>,
    /// Due before, in milliseconds.
    pub due_to: Option<i64>,
    pub after: Option<(i64, Uuid)>,
    pub limit: u32,
}

/// An exception to erasure the DPO recorded (a legal hold, an Art. 17(3)
/// ground); `sealed` holds the DPO's note under the person's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureExceptionRow {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub ground: String,
    pub at: i64,
    pub recorded_by: String,
    pub sealed: Vec<u8>,
}

/// A recipient to tell of an erasure (Art. 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    pub request_id: Uuid,
    pub api_key_id: Uuid,
    pub recipient: String,
    /// `pending` until someone tells them.
    pub status: String,
    pub created_at: i64,
}

/// What an erasure is asked to do besides deleting the person.
#[derive(Debug, Clone)]
pub struct ErasureOrder {
    pub request_id: Uuid,
    pub contact_id: Uuid,
    /// Suppression terms of the person's e-mail addresses and phone numbers.
    pub suppressions: Vec<Term>,
    pub notifications: Vec<NotificationRow>,
    pub at: i64,
}

/// Categories erased and how many rows each lost, by name.
pub type ErasureCounts = std::collections::BTreeMap<String, u64>;

/// Turns the counts into the signed receipt stored with the request, inside
/// the erasure's transaction (the store cannot sign; the caller can).
pub type ReceiptSigner = dyn Fn(&ErasureCounts) -> String + Send + Sync;

/// How an erasure ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erased {
    /// Done: the counts and the signed receipt.
    Done { counts: ErasureCounts, receipt: String },
    /// An exception to erasure is recorded for the person: nothing changed.
    Held,
    /// No such contact.
    Missing,
}

/// A blind-index term as stored.
pub type Term = [u8; 16];

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A third-party API key as stored: its hash, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub key_hash: Vec<u8>,
    /// Recipient, purposes, permissions, allowed addresses (JSON).
    pub document: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// An audit event as stored, with its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub event: AuditEvent,
    pub leaf_hash: Vec<u8>,
    pub chain_hash: Vec<u8>,
    /// Whether every stored text is exactly what Kith writes for the
    /// parsed event (hyphenated lower-case ids, the compact JSON field
    /// list). Another spelling hashes the same but drops out of queries
    /// by id, so verification refuses it.
    pub canonical: bool,
}

/// Unusual access noticed in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: Uuid,
    pub at: i64,
    pub rule: String,
    pub actor: String,
    /// Counts and thresholds, never personal values.
    pub detail: String,
}

/// Filters of an audit query; events come in sequence order after `after`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub subject_id: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Milliseconds, inclusive.
    pub from: Option<i64>,
    /// Milliseconds, exclusive.
    pub to: Option<i64>,
    pub after: Option<i64>,
    pub limit: u32,
}

/// Computes an event's leaf hash and chain hash from the chain hash before
/// it. The store assigns sequence numbers and keeps the chain; the caller
/// owns the encoding and the hash function.
pub type AuditHasher = dyn Fn(&AuditEvent, &[u8; 32]) -> ([u8; 32], [u8; 32]) + Send + Sync;

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
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub use domains::*;

/// Everything Kith keeps, behind one interface.
pub trait Store:
    SettingsStore
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
{
}

impl<
        T: SettingsStore
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
            + DrpStore,
    > Store for T
{
}

/// Every domain trait. `dyn Store` (what `DynStore` holds) reaches all of
/// their methods as it is; code holding a concrete store (a `SqliteStore`)
/// or a generic `T: Store` imports these with `use kith_store::prelude::*`.
pub mod prelude {
    pub use super::{
        AccessStore, AccountStore, AuditStore, CaptureStore, DrpStore, ErasureStore, KeyStore, PolicyStore,
        RecordStore, RequestStore, SegmentStore, SettingsStore,
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
