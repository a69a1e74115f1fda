//! Accountability: the register of recipients.

use crate::*;
use async_trait::async_trait;

/// The register of recipients (processors and third parties).
#[async_trait]
pub trait AccountabilityStore: Send + Sync + 'static {
    async fn insert_recipient(&self, recipient: &RecipientRow) -> Result<()>;
    /// Replaces a recipient's document; false if there is none or it ended.
    async fn update_recipient(&self, id: Uuid, document: &str, at: i64) -> Result<bool>;
    /// Marks a recipient ended; false if there is none or it ended already.
    async fn end_recipient(&self, id: Uuid, at: i64) -> Result<bool>;
    async fn recipient(&self, id: Uuid) -> Result<Option<RecipientRow>>;
    /// Every recipient, ended ones too, by name.
    async fn recipients(&self) -> Result<Vec<RecipientRow>>;
}

/// A recipient: its JSON document (`kith_core::recipient::RecipientInput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRow {
    pub id: Uuid,
    pub document: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
}

/// The breach register, its changes, the people in each breach's scope
/// and the notices queued to them.
#[async_trait]
pub trait BreachStore: Send + Sync + 'static {
    async fn insert_breach(&self, breach: &BreachRow, first: &BreachUpdateRow) -> Result<()>;
    /// Replaces a breach's row and records the change, in one
    /// transaction; false if the breach's `updated_at` is no longer
    /// `expected` (someone changed it meanwhile) or it does not exist.
    async fn update_breach(&self, breach: &BreachRow, expected: i64, change: &BreachUpdateRow) -> Result<bool>;
    async fn breach(&self, id: Uuid) -> Result<Option<BreachRow>>;
    /// Every breach, the most recently discovered first.
    async fn breaches(&self) -> Result<Vec<BreachRow>>;
    /// A breach's changes, oldest first.
    async fn breach_updates(&self, id: Uuid) -> Result<Vec<BreachUpdateRow>>;
    /// Replaces a breach's row (its scope) and the people computed for it
    /// and records the change, in one transaction; false, changing
    /// nothing, if its `updated_at` is no longer `expected`.
    async fn set_breach_affected(
        &self,
        breach: &BreachRow,
        expected: i64,
        people: &[AffectedRow],
        change: &BreachUpdateRow,
    ) -> Result<bool>;
    async fn breach_affected(&self, id: Uuid) -> Result<Vec<AffectedRow>>;
    /// Queues notices with their outbox messages (each sealed under its
    /// person's data key), skipping people already queued; returns how
    /// many were queued.
    async fn queue_breach_notices(
        &self,
        notices: &[(BreachNoticeRow, OutboxRow)],
        change: &BreachUpdateRow,
    ) -> Result<u64>;
    async fn breach_notices(&self, id: Uuid) -> Result<Vec<BreachNoticeRow>>;
    /// Records that the mail integration took these messages.
    async fn mark_notices_sent(&self, message_ids: &[Uuid], at: i64) -> Result<()>;
}

/// A breach: the DPO's description (`kith_core::breach::BreachInput`,
/// JSON) and what the register tracks beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachRow {
    pub id: Uuid,
    pub document: String,
    /// `candidate`, `open` or `closed`.
    pub status: String,
    pub aware_at: i64,
    pub authority_due_at: i64,
    pub authority_notified_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A dated change of a breach: who, which fields, and any phased information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachUpdateRow {
    pub breach_id: Uuid,
    /// Assigned by the store.
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    /// Field names, comma-separated.
    pub fields: String,
    pub note: Option<String>,
}

/// A person in a breach's scope: their id, the field classes of their
/// data read or changed (comma-separated), and how many events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedRow {
    pub subject_id: Uuid,
    pub categories: String,
    pub events: i64,
}

/// A notice queued to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachNoticeRow {
    pub breach_id: Uuid,
    pub subject_id: Uuid,
    pub message_id: Uuid,
    pub queued_at: i64,
    pub sent_at: Option<i64>,
}
