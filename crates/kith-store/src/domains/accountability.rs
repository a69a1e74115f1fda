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
