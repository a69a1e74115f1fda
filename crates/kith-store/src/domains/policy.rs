//! Purposes, notices, the consent ledger, restriction, objections, legal claims.

use crate::*;
use async_trait::async_trait;

/// Purposes, notices, the consent ledger, restriction, objections and legal claims.
#[async_trait]
pub trait PolicyStore: Send + Sync + 'static {
    /// The purposes catalogue, as JSON documents in key order.
    async fn purposes(&self) -> Result<Vec<String>>;
    /// One purpose's JSON document.
    async fn purpose(&self, key: &str) -> Result<Option<String>>;
    /// Stores a purpose (replacing one with the same key when `replace`);
    /// returns whether it was written.
    async fn put_purpose(&self, key: &str, document: &str, at: i64, replace: bool) -> Result<bool>;
    /// Adds a notice version; a version, once added, never changes (`Duplicate`).
    async fn add_notice(&self, notice: &NoticeRow) -> Result<()>;
    async fn notices(&self) -> Result<Vec<NoticeRow>>;
    /// Appends to a person's consent ledger; the contact must exist. The
    /// entry's `seq` and `mac` are the store's to give: the next number of
    /// the person's ledger (taken under a lock on the person) and `seal`'s
    /// result. Returns the entry as stored.
    async fn append_consent(&self, entry: &ConsentRow, seal: &LedgerSeal) -> Result<ConsentRow>;
    /// A person's ledger in sequence order, verified with `seal`.
    async fn consents(&self, contact: Uuid, seal: &LedgerSeal) -> Result<Ledger>;
    /// Seals the entries that have no seal (written before ledgers were
    /// sealed), continuing each person's chain; the number sealed. Run once,
    /// at the upgrade: after that an unsealed entry is a tampered one.
    async fn seal_unsealed_consents(&self, seal: &LedgerSeal) -> Result<u64>;
    /// Restricts processing of a person (Art. 18); the contact must exist.
    async fn restrict(&self, contact: Uuid, at: i64, by: &str) -> Result<()>;
    /// Lifts a restriction; false if there was none.
    async fn lift_restriction(&self, contact: Uuid) -> Result<bool>;
    /// Records an objection to a purpose (Art. 21); the contact must exist.
    async fn object(&self, id: Uuid, contact: Uuid, purpose: &str, at: i64, by: &str) -> Result<()>;
    /// Restriction, objections and current consents of each person given.
    /// A person whose ledger does not verify with `seal` has no consent
    /// that counts: what the ledger says cannot be trusted, so processing
    /// on the basis of consent stops until the DPO has looked.
    async fn statuses(
        &self,
        contacts: &[Uuid],
        seal: &LedgerSeal,
    ) -> Result<std::collections::HashMap<Uuid, kith_core::policy::PersonStatus>>;
    /// Records a legal-claims exception to a person's restriction; false
    /// when the person is not restricted. Lifting the restriction drops it.
    async fn add_legal_claim(&self, claim: &LegalClaimRow) -> Result<bool>;
    async fn legal_claims(&self, contact: Uuid) -> Result<Vec<LegalClaimRow>>;
}

/// A privacy notice version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub version: String,
    pub text: String,
    pub sha256: String,
    pub created_at: i64,
}

/// A consent ledger entry as stored; `sealed` holds source and evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub purpose: String,
    pub granted: bool,
    pub at: i64,
    pub notice_version: String,
    pub method: String,
    pub recorded_by: String,
    pub sealed: Vec<u8>,
    /// The entry's place in the person's ledger: 1, 2, 3… with no gap,
    /// given by the store when it appends.
    pub seq: i64,
    /// The entry's seal (see `LedgerSeal`); empty on an entry written
    /// before ledgers were sealed and not sealed since.
    pub mac: Vec<u8>,
}

/// Computes a consent entry's seal from everything in it that decides
/// processing, its `seq`, and the seal of the entry before it (empty for
/// the first): a keyed MAC the store cannot compute, so a database writer
/// can neither flip a withdrawal into a grant nor drop or reorder entries
/// inside a ledger. The store calls it inside the append's transaction,
/// once the sequence number is known.
pub type LedgerSeal = dyn Fn(&ConsentRow, &[u8]) -> Vec<u8> + Send + Sync;

/// A person's consent ledger in sequence order, and whether every seal in
/// it verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    pub entries: Vec<ConsentRow>,
    pub intact: bool,
}

/// Whether `entries` (one person's, in `seq` order) are the ledger `seal`
/// wrote: numbered from 1 without a gap, each seal verifying over the one
/// before it.
pub fn ledger_intact(entries: &[ConsentRow], seal: &LedgerSeal) -> bool {
    let mut previous: &[u8] = &[];
    for (index, entry) in entries.iter().enumerate() {
        let expected = seal(entry, previous);
        if entry.seq != index as i64 + 1 || entry.mac.is_empty() || !same_bytes(&expected, &entry.mac) {
            return false;
        }
        previous = &entry.mac;
    }
    true
}

/// Compares without an early exit, so timing does not say how much of a seal matched.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A legal-claims exception to a restriction (Art. 18(2)); `sealed` holds
/// the DPO's note under the person's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalClaimRow {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub purpose: String,
    pub at: i64,
    pub recorded_by: String,
    pub sealed: Vec<u8>,
}
