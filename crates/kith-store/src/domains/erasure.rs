//! Erasure, its exceptions, the suppression list, receipts and tasks.

use crate::*;
use async_trait::async_trait;

/// Erasure, its exceptions, the suppression list, receipts and notification tasks.
#[async_trait]
pub trait ErasureStore: Send + Sync + 'static {
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
    /// The same erasure when a person's retention has run out: no request
    /// stands behind it, so `order.request_id` is the receipt's own id
    /// (and the ledger's), and it need not be registered.
    async fn expire_person(&self, order: &ErasureOrder, sign: &ReceiptSigner) -> Result<Erased>;
    /// Whether any of these terms is on the suppression list.
    async fn suppressed(&self, terms: &[Term]) -> Result<bool>;
    /// The signed receipt of an erasure request, if it was carried out.
    async fn erasure_receipt(&self, request: Uuid) -> Result<Option<String>>;
    async fn erasure_notifications(&self, request: Uuid) -> Result<Vec<NotificationRow>>;
    /// Records notification tasks (Art. 19) for a rectification or restriction; repeats are ignored.
    async fn add_notifications(&self, tasks: &[NotificationRow]) -> Result<()>;
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
