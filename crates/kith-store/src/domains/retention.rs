//! Retention: what the schedule needs to know of each person, and the
//! records of a category whose own period has run.

use crate::*;
use async_trait::async_trait;
use kith_core::retention::PersonFacts;

#[async_trait]
pub trait RetentionStore: Send + Sync + 'static {
    /// Up to `limit` people after `after` (by id), each with the times and
    /// names retention decides on: never a value.
    async fn retention_facts(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<(Uuid, PersonFacts)>>;
    /// Up to `limit` records of `entity` (interactions by when they took
    /// place, purchases by when they were made, deals by their last
    /// change) dated before `before` (ms).
    async fn expired_records(&self, entity: EntityKind, before: i64, limit: u32) -> Result<Vec<Uuid>>;
}

/// The column a category's age is counted from.
pub fn dated_by(entity: EntityKind) -> Option<&'static str> {
    match entity {
        EntityKind::Interactions => Some("occurred_at"),
        EntityKind::Purchases => Some("purchased_at"),
        EntityKind::Deals => Some("updated_at"),
        EntityKind::Contacts | EntityKind::Companies => None,
    }
}
