//! The audit log, its checkpoints and alerts.

use crate::*;
use async_trait::async_trait;

/// The audit log, its checkpoints and alerts.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
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

/// Filters of an audit query; events come in sequence order after `after`
/// (or, `newest_first`, in reverse order before it).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub subject_id: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Milliseconds, inclusive.
    pub from: Option<i64>,
    /// Milliseconds, exclusive.
    pub to: Option<i64>,
    /// The sequence number of the last event of the previous page.
    pub after: Option<i64>,
    pub newest_first: bool,
    pub limit: u32,
}

/// Computes an event's leaf hash and chain hash from the chain hash before
/// it. The store assigns sequence numbers and keeps the chain; the caller
/// owns the encoding and the hash function.
pub type AuditHasher = dyn Fn(&AuditEvent, &[u8; 32]) -> ([u8; 32], [u8; 32]) + Send + Sync;
