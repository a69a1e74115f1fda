//! The data-subject request register and archive links.

use crate::*;
use async_trait::async_trait;

/// The data-subject request register and archive links.
#[async_trait]
pub trait RequestStore: Send + Sync + 'static {
    /// Registers a data-subject request with its data key (checked against
    /// the active KEK like every new key).
    async fn insert_dsr(&self, request: &DsrRow, key: &KeyRow) -> Result<()>;
    async fn dsr(&self, id: Uuid) -> Result<Option<DsrRow>>;
    async fn dsrs(&self, query: &DsrQuery) -> Result<Vec<DsrRow>>;
    /// Writes every changing column of a request if its version is still
    /// `request.version` (bumping it); false when someone changed it first.
    /// `new_key` re-keys a request whose key erasure destroyed (staff wrote
    /// something new on it), in the same transaction.
    async fn update_dsr(&self, request: &DsrRow, new_key: Option<&KeyRow>) -> Result<bool>;
    /// Stores a download link of a request's archive (by the token's hash).
    async fn insert_export_link(&self, request: Uuid, hash: &[u8], created_at: i64, expires_at: i64) -> Result<()>;
    async fn export_link(&self, hash: &[u8]) -> Result<Option<ExportLinkRow>>;
    /// Uses a link of this request once, atomically: false if it is
    /// unknown, used or expired (so it works once even when two servers race).
    async fn use_export_link(&self, request: Uuid, hash: &[u8], now: i64) -> Result<bool>;
    /// When the request's archive was last downloaded, if ever.
    async fn last_export(&self, request: Uuid) -> Result<Option<i64>>;
}

/// A data-subject request as stored. `sealed` (what the person gave and
/// what staff wrote about the request) is under the data key whose subject
/// is `id`; everything else is clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsrRow {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub channel: String,
    /// The matched person, if any.
    pub contact_id: Option<Uuid>,
    /// The purpose key an objection is about.
    pub purpose: Option<String>,
    pub received_at: i64,
    pub due_at: i64,
    pub extended_months: i64,
    /// When the person was told of an extension.
    pub person_told_at: Option<i64>,
    pub verified_at: Option<i64>,
    /// `staff_attestation` or `token`.
    pub verification_method: Option<String>,
    pub failed_attempts: i64,
    /// SHA-256 of the pending verification token.
    pub token_hash: Option<Vec<u8>>,
    pub token_expires_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// When the request was completed, refused or withdrawn.
    pub closed_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every update; an update names the version it read.
    pub version: i64,
    /// Empty once erasure destroyed the request's details (`erased_at`).
    pub sealed: Vec<u8>,
    /// The suppression-list term of the e-mail address or phone number the
    /// request gave, so erasing that person finds it even unmatched.
    pub given_term: Option<Vec<u8>>,
    /// When erasing the person destroyed this request's key and details.
    pub erased_at: Option<i64>,
}

/// A download link of a request's archive, as stored (the token only as its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLinkRow {
    pub request_id: Uuid,
    pub expires_at: i64,
    /// When the archive was downloaded with it.
    pub used_at: Option<i64>,
}

/// Which requests a register listing wants, in (due_at, id) order after
/// `after` (or in reverse, `latest_first`).
#[derive(Debug, Clone, Default)]
pub struct DsrQuery {
    /// Only the requests matched to this person.
    pub contact: Option<Uuid>,
    /// Any of these statuses; all when empty.
    pub statuses: Vec<String>,
    /// Due at or after, in milliseconds.
    pub due_from: Option<i64>,
    /// Due before, in milliseconds.
    pub due_to: Option<i64>,
    pub after: Option<(i64, Uuid)>,
    /// Latest due first (and `after` counts backwards).
    pub latest_first: bool,
    pub limit: u32,
}
