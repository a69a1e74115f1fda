//! Capture forms, pending confirmations and the outbox.

use crate::*;
use async_trait::async_trait;

/// Capture forms, pending confirmations and the outbox.
#[async_trait]
pub trait CaptureStore: Send + Sync + 'static {
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
