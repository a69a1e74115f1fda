//! The privacy portal: single-use links sent to a person's address, and
//! the short sessions they open.

use crate::*;
use async_trait::async_trait;

/// The privacy portal's links and sessions.
#[async_trait]
pub trait PortalStore: Send + Sync + 'static {
    /// Stores a link with its own data key (checked against the active KEK
    /// like every new key) and the message that carries it, together.
    async fn add_portal_link(&self, link: &PortalLinkRow, key: KeyRow, message: &OutboxRow) -> Result<()>;
    /// Takes the link a token hash names: returns it and deletes it, its
    /// key and its message in the same transaction, so a link works at
    /// most once even under concurrency. The caller decides whether it had
    /// expired.
    async fn take_portal_link(&self, token_hash: &[u8]) -> Result<Option<PortalLinkRow>>;
    /// Deletes up to `limit` links that expired at `now`, with their keys
    /// and messages, and every expired session; returns how many links.
    async fn sweep_portal(&self, now: i64, limit: u32) -> Result<u64>;
    async fn add_portal_session(&self, session: &PortalSessionRow) -> Result<()>;
    /// The live session a secret's hash names at `now`.
    async fn portal_session(&self, token_hash: &[u8], now: i64) -> Result<Option<PortalSessionRow>>;
    /// Ends a session; false if there was none.
    async fn end_portal_session(&self, token_hash: &[u8]) -> Result<bool>;
}

/// A portal link as stored: the token only as its SHA-256. `contact_id` is
/// `None` when the address matched nobody (its message says so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalLinkRow {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub contact_id: Option<Uuid>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A portal session: the SHA-256 of its secret, and the person it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSessionRow {
    pub token_hash: Vec<u8>,
    pub contact_id: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
}
