//! Saved segments.

use crate::*;
use async_trait::async_trait;

/// Saved segments.
#[async_trait]
pub trait SegmentStore: Send + Sync + 'static {
    /// Stores a segment with the data key its definition is sealed under.
    async fn insert_segment(&self, segment: &SegmentRow, key: &KeyRow) -> Result<()>;
    /// Every segment, oldest first.
    async fn segments(&self) -> Result<Vec<SegmentRow>>;
    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>>;
    /// Deletes a segment and its key; false if there was none.
    async fn delete_segment(&self, id: Uuid) -> Result<bool>;
}

/// A saved segment; `sealed` holds its definition under the segment's own data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    pub id: Uuid,
    pub created_by: String,
    pub created_at: i64,
    pub sealed: Vec<u8>,
}
