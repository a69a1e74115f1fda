//! Kith's storage: one [`Store`] trait, implemented for SQLite
//! ([`sqlite::SqliteStore`]) and PostgreSQL ([`postgres::PgStore`]) with the
//! same SQL text (`$n` placeholders), each running its own embedded
//! migrations at start.
//!
//! The store only ever sees ciphertext, wrapped keys and blind-index terms:
//! it cannot read a personal value and it never holds a key that could.

mod migrate;
pub mod postgres;
mod query;
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

/// Everything Kith keeps, behind one interface.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Answers when the database can be reached.
    async fn ping(&self) -> Result<()>;

    async fn setting(&self, name: &str) -> Result<Option<String>>;
    /// Sets a value only if it is not set yet; returns the value now stored.
    async fn init_setting(&self, name: &str, value: &str) -> Result<String>;
    async fn set_setting(&self, name: &str, value: &str) -> Result<()>;

    async fn data_key(&self, subject: Uuid) -> Result<Option<KeyRow>>;

    /// Inserts a record, with a new data key for its subject when given.
    /// A new key must be wrapped under the active KEK, checked in the same
    /// transaction, so a rotation can never miss it.
    async fn insert(&self, record: NewRecord, new_key: Option<KeyRow>) -> Result<()>;

    /// Inserts many records and keys in one transaction (imports).
    async fn insert_batch(&self, records: Vec<(NewRecord, Option<KeyRow>)>) -> Result<()>;

    async fn update(&self, update: RecordUpdate, new_key: Option<KeyRow>) -> Result<()>;

    async fn get(&self, entity: EntityKind, id: Uuid) -> Result<Option<StoredRecord>>;

    /// Deletes a record with its index terms. A contact takes with it every
    /// record sealed under its key, and the key itself.
    async fn delete(&self, entity: EntityKind, id: Uuid) -> Result<bool>;

    async fn list(&self, query: &ListQuery) -> Result<Vec<StoredRecord>>;

    /// Wrapped keys in subject order, for rotation and checks.
    async fn keys_after(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<KeyRow>>;
    async fn count_keys_not_under(&self, kek_id: &str) -> Result<u64>;
    /// Replaces `old` by `new` only if it is unchanged; false otherwise.
    async fn rewrap(&self, old: &KeyRow, new: &KeyRow) -> Result<bool>;

    /// The purposes catalogue, as JSON documents in key order.
    async fn purposes(&self) -> Result<Vec<String>>;
    /// One purpose's JSON document.
    async fn purpose(&self, key: &str) -> Result<Option<String>>;
    /// Stores a purpose (replacing one with the same key when `replace`);
    /// returns whether it was written.
    async fn put_purpose(&self, key: &str, document: &str, at: i64, replace: bool) -> Result<bool>;

    /// Adds a notice version; a version, once added, never changes (`Duplicate`).
    async fn add_notice(&self, notice: &NoticeRow) -> Result<()>;
    async fn notices(&self) -> Result<Vec<NoticeRow>>;
    /// Appends to a person's consent ledger; the contact must exist. The
    /// entry's `seq` and `mac` are the store's to give: the next number of
    /// the person's ledger (taken under a lock on the person) and `seal`'s
    /// result. Returns the entry as stored.
    async fn append_consent(&self, entry: &ConsentRow, seal: &LedgerSeal) -> Result<ConsentRow>;
    /// A person's ledger in sequence order, verified with `seal`.
    async fn consents(&self, contact: Uuid, seal: &LedgerSeal) -> Result<Ledger>;
    /// Seals the entries that have no seal (written before ledgers were
    /// sealed), continuing each person's chain; the number sealed. Run once,
    /// at the upgrade: after that an unsealed entry is a tampered one.
    async fn seal_unsealed_consents(&self, seal: &LedgerSeal) -> Result<u64>;

    /// Restricts processing of a person (Art. 18); the contact must exist.
    async fn restrict(&self, contact: Uuid, at: i64, by: &str) -> Result<()>;
    /// Lifts a restriction; false if there was none.
    async fn lift_restriction(&self, contact: Uuid) -> Result<bool>;
    /// Records an objection to a purpose (Art. 21); the contact must exist.
    async fn object(&self, id: Uuid, contact: Uuid, purpose: &str, at: i64, by: &str) -> Result<()>;
    /// Restriction, objections and current consents of each person given.
    /// A person whose ledger does not verify with `seal` has no consent
    /// that counts: what the ledger says cannot be trusted, so processing
    /// on the basis of consent stops until the DPO has looked.
    async fn statuses(
        &self,
        contacts: &[Uuid],
        seal: &LedgerSeal,
    ) -> Result<std::collections::HashMap<Uuid, kith_core::policy::PersonStatus>>;
    /// Stores a custom role (JSON document); with `replace` false, false if it exists.
    async fn put_role(&self, name: &str, document: &str, by: &str, at: i64, replace: bool) -> Result<bool>;
    /// Custom roles as (name, document), by name.
    async fn custom_roles(&self) -> Result<Vec<(String, String)>>;
    async fn custom_role(&self, name: &str) -> Result<Option<String>>;
    async fn delete_role(&self, name: &str) -> Result<bool>;

    async fn insert_api_key(&self, key: &ApiKeyRow) -> Result<()>;
    async fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRow>>;
    /// Every key, newest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>>;
    /// Revokes a key; false if it does not exist or was revoked already.
    async fn revoke_api_key(&self, id: Uuid, at: i64) -> Result<bool>;
    /// Records a use, at most once a minute per key (not a write per request).
    async fn touch_api_key(&self, id: Uuid, at: i64) -> Result<()>;

    /// The accounts (as the owner names records carry: their ids) that are
    /// members of any of these teams.
    async fn team_members(&self, teams: &[String]) -> Result<Vec<String>>;

    /// Records a legal-claims exception to a person's restriction; false
    /// when the person is not restricted. Lifting the restriction drops it.
    async fn add_legal_claim(&self, claim: &LegalClaimRow) -> Result<bool>;
    async fn legal_claims(&self, contact: Uuid) -> Result<Vec<LegalClaimRow>>;

    /// Stores a segment with the data key its definition is sealed under.
    async fn insert_segment(&self, segment: &SegmentRow, key: &KeyRow) -> Result<()>;
    /// Every segment, oldest first.
    async fn segments(&self) -> Result<Vec<SegmentRow>>;
    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>>;
    /// Deletes a segment and its key; false if there was none.
    async fn delete_segment(&self, id: Uuid) -> Result<bool>;

    async fn insert_token(&self, token: &TokenRow) -> Result<()>;
    async fn token_by_hash(&self, hash: &[u8]) -> Result<Option<TokenRow>>;
    async fn revoke_token(&self, id: Uuid, at: i64) -> Result<bool>;
    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRow>>;

    /// Appends events to the audit chain in one transaction, assigning
    /// their sequence numbers; returns the events as stored.
    async fn append_audit(&self, events: Vec<AuditEvent>, hasher: &AuditHasher) -> Result<Vec<AuditEvent>>;
    /// Stored events with their hashes, in sequence order after `after`.
    async fn audit_rows(&self, after: i64, limit: u32) -> Result<Vec<AuditRow>>;
    /// The last sequence number and chain hash the log records.
    async fn audit_head(&self) -> Result<(i64, Vec<u8>)>;
    async fn audit_query(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// Keeps a signed checkpoint of the first `size` events (once per size).
    async fn insert_checkpoint(&self, size: i64, note: &str, at: i64) -> Result<()>;
    /// The checkpoint covering the most events, if any.
    async fn latest_checkpoint(&self) -> Result<Option<String>>;

    /// Stores an alert unless the same rule fired for the same actor since `since`;
    /// returns whether it was stored.
    async fn raise_alert(&self, alert: &AlertRow, since: i64) -> Result<bool>;
    /// Alerts, newest first.
    async fn alerts(&self, limit: u32) -> Result<Vec<AlertRow>>;

    /// Adds a capture form (`Duplicate` if the key exists).
    async fn add_form(&self, form: &FormRow) -> Result<()>;
    /// Every capture form, disabled ones too, oldest first.
    async fn forms(&self) -> Result<Vec<FormRow>>;
    async fn form(&self, key: &str) -> Result<Option<FormRow>>;
    /// Disables a form; false if there is no such enabled form.
    async fn disable_form(&self, key: &str, at: i64) -> Result<bool>;
    /// Stores a pending confirmation with its new data key (checked against
    /// the active KEK like every new key) and its outbox message, together.
    async fn add_pending(&self, pending: &PendingRow, key: KeyRow, message: &OutboxRow) -> Result<()>;
    /// Takes the pending confirmation a token hash names: returns it with its
    /// key and deletes it, its key and its outbox messages in the same
    /// transaction, so a token works at most once even under concurrency.
    /// The caller decides whether it had expired.
    async fn take_pending(&self, token_hash: &[u8]) -> Result<Option<(PendingRow, Option<KeyRow>)>>;
    /// Deletes up to `limit` pending confirmations that expired at `now`,
    /// with their keys and outbox messages; returns how many.
    async fn sweep_pending(&self, now: i64, limit: u32) -> Result<u64>;
    /// Takes up to `limit` outbox messages, oldest first, with the keys that
    /// open them, and deletes them.
    async fn claim_outbox(&self, limit: u32) -> Result<Vec<(OutboxRow, Option<KeyRow>)>>;

    /// Stores a new account with its data key (checked against the active
    /// KEK); `Duplicate` when the e-mail term is taken.
    async fn insert_user(&self, user: &UserRow, key: &KeyRow) -> Result<()>;
    async fn user(&self, id: Uuid) -> Result<Option<UserRow>>;
    async fn user_by_email_term(&self, term: &[u8]) -> Result<Option<UserRow>>;
    /// Every account, oldest first.
    async fn users(&self) -> Result<Vec<UserRow>>;
    /// Writes the profile columns (sealed, roles, teams, status, updated_at);
    /// `lift_lockout` (an admin setting the status to active) also clears
    /// the failure count and any lockout. False if there is no such account.
    async fn update_user(&self, user: &UserRow, lift_lockout: bool) -> Result<bool>;
    /// Replaces the password hash and lifts a lockout.
    async fn set_password(&self, id: Uuid, hash: &str, at: i64) -> Result<bool>;
    /// Sets or clears the TOTP secret waiting for confirmation.
    async fn set_totp_pending(&self, id: Uuid, sealed: Option<&[u8]>, at: i64) -> Result<bool>;
    /// Makes the pending secret the enrolled one, remembers the step its
    /// confirming code used, and replaces the recovery codes.
    async fn enrol_totp(&self, id: Uuid, sealed: &[u8], step: i64, recovery: &[Vec<u8>], at: i64) -> Result<bool>;
    /// Accepts a TOTP step only if it is later than the last one accepted,
    /// atomically, so a code works once even when two servers race.
    async fn accept_totp_step(&self, id: Uuid, step: i64) -> Result<bool>;
    /// Uses a recovery code (by hash) once; false if unknown or used.
    async fn use_recovery_code(&self, id: Uuid, hash: &[u8], at: i64) -> Result<bool>;
    /// Counts a failed login; locks the account when the rule says so.
    /// Returns the end of the lock, if the account is now locked.
    async fn record_login_failure(&self, id: Uuid, now: i64, rule: LockoutRule) -> Result<Option<i64>>;
    /// Forgets failed logins after a successful one.
    /// Opens a session for a login whose password (as hashed at
    /// `password_changed_at`) and second factor were right: in one
    /// transaction, under the account's row lock, refuses a disabled or
    /// locked account or a password changed meanwhile, else clears the
    /// failure counters and stores the session. A failure recorded by a
    /// concurrent guess is seen here, so a lock cannot be raced.
    async fn start_session(&self, session: &SessionRow, password_changed_at: i64) -> Result<SessionStart>;
    async fn session_by_hash(&self, hash: &[u8]) -> Result<Option<SessionRow>>;
    async fn touch_session(&self, id: Uuid, at: i64) -> Result<()>;
    /// Revokes one session; false if it was not active.
    async fn revoke_session(&self, id: Uuid, at: i64) -> Result<bool>;
    /// Revokes every active session of a user but `except`; returns how many.
    async fn revoke_user_sessions(&self, user: Uuid, at: i64, except: Option<Uuid>) -> Result<u64>;

    /// Registers a data-subject request with its data key (checked against
    /// the active KEK like every new key).
    async fn insert_dsr(&self, request: &DsrRow, key: &KeyRow) -> Result<()>;
    async fn dsr(&self, id: Uuid) -> Result<Option<DsrRow>>;
    async fn dsrs(&self, query: &DsrQuery) -> Result<Vec<DsrRow>>;
    /// Writes every changing column of a request if its version is still
    /// `request.version` (bumping it); false when someone changed it first.
    /// `new_key` re-keys a request whose key erasure destroyed (staff wrote
    /// something new on it), in the same transaction.
    async fn update_dsr(&self, request: &DsrRow, new_key: Option<&KeyRow>) -> Result<bool>;
    /// Stores a download link of a request's archive (by the token's hash).
    async fn insert_export_link(&self, request: Uuid, hash: &[u8], created_at: i64, expires_at: i64) -> Result<()>;
    async fn export_link(&self, hash: &[u8]) -> Result<Option<ExportLinkRow>>;
    /// Uses a link of this request once, atomically: false if it is
    /// unknown, used or expired (so it works once even when two servers race).
    async fn use_export_link(&self, request: Uuid, hash: &[u8], now: i64) -> Result<bool>;
    /// When the request's archive was last downloaded, if ever.
    async fn last_export(&self, request: Uuid) -> Result<Option<i64>>;

    /// Records an exception to erasure; the contact must exist.
    async fn add_erasure_exception(&self, exception: &ErasureExceptionRow) -> Result<()>;
    async fn erasure_exceptions(&self, contact: Uuid) -> Result<Vec<ErasureExceptionRow>>;
    /// Lifts every exception to a person's erasure; returns how many.
    async fn lift_erasure_exceptions(&self, contact: Uuid) -> Result<u64>;
    /// Erases a person in one transaction, unless an exception holds: the
    /// contact with every record sealed under its key and their index
    /// entries, ledger, restriction, objections, legal claims, exceptions,
    /// the data key; adds the suppression terms, the notification tasks and
    /// the receipt `sign` makes of the counts. Then, outside it, pushes the
    /// deletion below the database (SQLite: a truncating WAL checkpoint;
    /// PostgreSQL: VACUUM of the tables touched).
    async fn erase_person(&self, order: &ErasureOrder, sign: &ReceiptSigner) -> Result<Erased>;
    /// Whether any of these terms is on the suppression list.
    async fn suppressed(&self, terms: &[Term]) -> Result<bool>;
    /// The signed receipt of an erasure request, if it was carried out.
    async fn erasure_receipt(&self, request: Uuid) -> Result<Option<String>>;
    async fn erasure_notifications(&self, request: Uuid) -> Result<Vec<NotificationRow>>;
    /// Records notification tasks (Art. 19) for a rectification or restriction; repeats are ignored.
    async fn add_notifications(&self, tasks: &[NotificationRow]) -> Result<()>;

    /// Adds a Data Rights Protocol agent (`Duplicate` if the id is taken).
    async fn insert_drp_agent(&self, agent: &DrpAgentRow) -> Result<()>;
    async fn drp_agent(&self, agent_id: &str) -> Result<Option<DrpAgentRow>>;
    /// Every agent, by id.
    async fn drp_agents(&self) -> Result<Vec<DrpAgentRow>>;
    /// Removes an agent and its pairwise tokens; false if there was none.
    async fn delete_drp_agent(&self, agent_id: &str) -> Result<bool>;
    /// Stores a pairwise token of an agent (by the token's SHA-256).
    async fn insert_drp_token(&self, hash: &[u8], agent_id: &str, at: i64) -> Result<()>;
    /// The agent a pairwise token belongs to.
    async fn drp_token_agent(&self, hash: &[u8]) -> Result<Option<String>>;
    async fn insert_drp_request(&self, request: &DrpRequestRow) -> Result<()>;
    async fn drp_request(&self, id: Uuid) -> Result<Option<DrpRequestRow>>;
    /// Sets an agent request's own status and reason; false if there is none.
    async fn set_drp_request_status(&self, id: Uuid, status: &str, reason: Option<&str>) -> Result<bool>;
    /// The agent request a register request carries, if any.
    async fn drp_request_by_dsr(&self, dsr: Uuid) -> Result<Option<DrpRequestRow>>;
    /// Records one attempt to send a status callback.
    async fn record_drp_callback(&self, request: Uuid, status: &str, at: i64, outcome: &str) -> Result<()>;
    /// The callbacks sent for a request, oldest first: (status, outcome).
    async fn drp_callbacks(&self, request: Uuid) -> Result<Vec<(String, String)>>;
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
