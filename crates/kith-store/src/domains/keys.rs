//! Data keys as a key rotation sweeps them.

use crate::*;
use async_trait::async_trait;

/// Data keys as a key rotation sweeps them.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Wrapped keys in subject order, for rotation and checks.
    async fn keys_after(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<KeyRow>>;
    async fn count_keys_not_under(&self, kek_id: &str) -> Result<u64>;
    /// Replaces `old` by `new` only if it is unchanged; false otherwise.
    async fn rewrap(&self, old: &KeyRow, new: &KeyRow) -> Result<bool>;
}
