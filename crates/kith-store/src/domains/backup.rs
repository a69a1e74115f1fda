//! Backups, restores and moves between engines: every table read in one
//! consistent snapshot and loaded into a blank database, and the erasure
//! ledger that a restore replays.

use crate::*;
use async_trait::async_trait;

/// Every table Kith keeps, in an order that loads without breaking a
/// reference (a referenced table before the ones that name it). The
/// contract test checks this is exactly the schema's tables on each engine.
pub const TABLES: &[&str] = &[
    "settings",
    "data_keys",
    "blind_index",
    "contacts",
    "companies",
    "interactions",
    "deals",
    "purchases",
    "api_tokens",
    "purposes",
    "notices",
    "consents",
    "restrictions",
    "objections",
    "legal_claims",
    "segments",
    "capture_forms",
    "pending_confirmations",
    "outbox",
    "api_keys",
    "custom_roles",
    "users",
    "recovery_codes",
    "sessions",
    "dsr_requests",
    "erasure_exceptions",
    "suppressions",
    "erasure_receipts",
    "erasure_notifications",
    "dsr_export_links",
    "drp_agents",
    "drp_tokens",
    "drp_requests",
    "drp_callbacks",
    "portal_links",
    "portal_sessions",
    "erasure_ledger",
    "recipients",
    "breaches",
    "breach_updates",
    "breach_affected",
    "breach_notices",
    "import_jobs",
    "audit_events",
    "audit_head",
    "audit_checkpoints",
    "audit_alerts",
];

/// The tables that SQLite keeps in the audit file.
pub const AUDIT_TABLES: &[&str] = &["audit_events", "audit_head", "audit_checkpoints", "audit_alerts"];

/// One stored value, as both engines hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// What a column holds, to bind a NULL of the right type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellType {
    Int,
    Text,
    Bytes,
}

/// A column of a table in this database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: String,
    pub ty: CellType,
}

/// Where a snapshot goes, table after table, rows in batches.
#[async_trait]
pub trait SnapshotSink: Send {
    async fn table(&mut self, name: &'static str, columns: &[ColumnSpec]) -> Result<()>;
    async fn rows(&mut self, rows: Vec<Vec<Cell>>) -> Result<()>;
    async fn end_table(&mut self) -> Result<()>;
}

/// One erased person in the erasure ledger: no personal value, only ids,
/// the time, and the suppression terms (keyed hashes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub subject_id: Uuid,
    pub request_id: Uuid,
    pub erased_at: i64,
    pub terms: Vec<Term>,
}

#[async_trait]
pub trait BackupStore: Send + Sync + 'static {
    /// Streams every table of [`TABLES`] to `sink` from one consistent
    /// view while writers go on: PostgreSQL reads in one `REPEATABLE READ`
    /// transaction; SQLite fixes the records' snapshot first and the audit
    /// file's right after it, so the audit log holds at least every event
    /// of the writes the records show.
    async fn snapshot(&self, sink: &mut dyn SnapshotSink, batch: usize) -> Result<()>;
    /// Whether nothing was ever kept here: no setting, no audit event, no
    /// contact. Only a blank database is restored into.
    async fn is_blank(&self) -> Result<bool>;
    /// The columns of one of [`TABLES`] in this database.
    async fn table_columns(&self, table: &str) -> Result<Vec<ColumnSpec>>;
    /// Empties one of [`TABLES`] (a migration's seed row) before it is loaded.
    async fn clear_table(&self, table: &str) -> Result<()>;
    /// Inserts rows into one of [`TABLES`]; `columns` must be its columns.
    async fn load_rows(&self, table: &str, columns: &[ColumnSpec], rows: &[Vec<Cell>]) -> Result<()>;
    async fn count_rows(&self, table: &str) -> Result<u64>;
    /// The whole erasure ledger, oldest first.
    async fn erasure_ledger(&self) -> Result<Vec<LedgerRow>>;
    /// Erases again a person the ledger names, as the erasure did: their
    /// records, keys, index entries, portal links and request details go,
    /// their suppression terms and ledger entry are (re)recorded. Returns
    /// whether anything of theirs was still there.
    async fn replay_erasure(&self, entry: &LedgerRow) -> Result<bool>;
}

/// Suppression terms as the ledger spells them: hex, back to back.
pub fn terms_to_hex(terms: &[Term]) -> String {
    terms.iter().flat_map(|t| t.iter()).map(|b| format!("{b:02x}")).collect()
}

/// The terms a ledger's hex spells, or `None` when it is malformed.
pub fn terms_from_hex(hex: &str) -> Option<Vec<Term>> {
    if !hex.len().is_multiple_of(32) || !hex.is_ascii() {
        return None;
    }
    hex.as_bytes()
        .chunks(32)
        .map(|chunk| {
            let mut term = [0u8; 16];
            for (i, pair) in chunk.chunks(2).enumerate() {
                term[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
            }
            Some(term)
        })
        .collect()
}
