//! The data-subject request register (Art. 12–22): requests are
//! registered with their deadline, the person's identity is verified
//! (a single-use token for the person, or a staff attestation) before
//! anything is carried out, and every move of a request is audited.
//!
//! What the person gave (e-mail address, phone number) and what staff
//! wrote (notes, the attestation, reasons, grounds, rectification changes)
//! is sealed under a data key of the request's own (`data_keys`, subject =
//! the request id), so it is no plaintext at rest and rotation rewraps it.
//! The register keeps in clear only what deadlines and lists need.
//!
//! Carrying a request out acts with the DPO's own caller whose request id
//! is `dsr:<id>`: the audit events of the restriction, objection or
//! rectification name the request they were made for.

mod fulfil;
mod input;
mod register;
mod steps;

pub(crate) use fulfil::carry_out;
pub use fulfil::{fulfil, Fulfilled};
pub use input::{DsrExtendInput, DsrFulfilInput, DsrInput, DsrRefuseInput, DsrVerifyInput, RegisterQuery};
pub(crate) use register::register_from_portal;
pub use register::{get, list, register, register_for_staff, Listed};
pub use steps::{extend, issue_token, refuse, unlock, verify, withdraw, withdrawn, IssuedToken};

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::sealing::to_crypto;
use crate::service::Services;
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::dsr::{RequestKind, RequestStatus};
use kith_core::entity::{IndexField, IndexTerm};
use kith_core::model::{parse_timestamp, unix_millis};
use kith_core::values::{check_text, email_lookup_key};
use kith_core::ErrorCode;
use kith_crypto::DataKey;
use kith_store::DsrRow;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) const DAY_MS: i64 = 86_400_000;
/// A `received_at` may lie this far ahead of the server's clock (clients' clocks drift).
const CLOCK_SKEW_MS: i64 = 60_000;
/// Longest note, reason or grounds, in characters.
const MAX_TEXT: usize = 4000;

/// What a request holds that is personal or free text: sealed.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounds: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

impl Details {
    fn is_empty(&self) -> bool {
        self.held().is_empty() && self.complaint.is_none() && self.outcome.is_none()
    }

    /// Names of what is held, for audit events.
    pub fn held(&self) -> Vec<String> {
        let present = [
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("note", self.note.is_some()),
            ("attestation", self.attestation.is_some()),
            ("extension_reason", self.extension_reason.is_some()),
            ("grounds", self.grounds.is_some()),
            ("changes", self.changes.is_some()),
        ];
        present.iter().filter(|(_, held)| *held).map(|(name, _)| name.to_string()).collect()
    }
}

/// A stored request, opened.
pub struct Request {
    pub row: DsrRow,
    /// `None` once erasure destroyed the request's key with its details.
    key: Option<DataKey>,
    /// A key made for an erased request that has something new to seal.
    new_key: Option<DataKey>,
    pub details: Details,
}

pub(crate) fn status_of(row: &DsrRow) -> ApiResult<RequestStatus> {
    RequestStatus::parse(&row.status).ok_or_else(|| ApiError::internal("dsr", "a stored status is unknown"))
}

pub(crate) fn kind_of(row: &DsrRow) -> ApiResult<RequestKind> {
    RequestKind::parse(&row.kind).ok_or_else(|| ApiError::internal("dsr", "a stored kind is unknown"))
}

impl Request {
    /// Seals the details. An erased request stays without key and details
    /// until staff write something new on it, which gets a new key.
    fn seal(&mut self) -> ApiResult<()> {
        if self.key.is_none() && self.details.is_empty() {
            self.row.sealed = Vec::new();
            return Ok(());
        }
        let plaintext =
            zeroize::Zeroizing::new(serde_json::to_vec(&self.details).map_err(|e| ApiError::internal("dsr", e))?);
        let key = match &self.key {
            Some(key) => key,
            None => self.new_key.get_or_insert_with(DataKey::generate),
        };
        self.row.sealed = key.seal(&crate::sealing::dsr(self.row.id), &plaintext);
        Ok(())
    }
}

/// A request from the register, its details opened.
pub async fn load(svc: &Services, id: Uuid) -> ApiResult<Request> {
    let row = svc.store.dsr(id).await?.ok_or_else(|| ApiError::not_found("request"))?;
    if row.erased_at.is_some() && row.sealed.is_empty() {
        return Ok(Request { row, key: None, new_key: None, details: Details::default() });
    }
    let wrapped = svc.store.data_key(id).await?.ok_or_else(|| ApiError::not_found("request"))?;
    let key = svc.keys.unwrap(&to_crypto(&wrapped))?;
    let plaintext = key.open(&crate::sealing::dsr(id), &row.sealed)?;
    let details = serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("dsr"))?;
    Ok(Request { row, key: Some(key), new_key: None, details })
}

/// The suppression-list term of the e-mail address or phone number a
/// request gave, so that erasing that person later finds the request.
fn given_term(svc: &Services, details: &Details) -> Option<Vec<u8>> {
    let term = match (&details.email, &details.phone) {
        (Some(email), _) => IndexTerm { field: IndexField::Email, value: email_lookup_key(email) },
        (None, Some(phone)) => IndexTerm { field: IndexField::Phone, value: phone.clone() },
        (None, None) => return None,
    };
    crate::service::erasure::suppression_term(&svc.keys.current(), &term).map(|t| t.to_vec())
}

/// An audit event about a request: the request is the record, the matched
/// person the subject; fields name what happened (`status:in_progress`),
/// never a value.
pub(crate) fn event(who: &Caller, action: AuditAction, row: &DsrRow, fields: Vec<String>) -> AuditEvent {
    about(who, action, Some(row.id), row.contact_id, fields)
}

fn about(
    who: &Caller,
    action: AuditAction,
    record: Option<Uuid>,
    subject: Option<Uuid>,
    fields: Vec<String>,
) -> AuditEvent {
    audit_event::by(who, action, About { entity: "dsr", record, subject }, fields)
}

/// Free text staff write: trimmed, bounded, not empty.
fn required_text(field: &str, raw: &str, what: &str) -> ApiResult<String> {
    let text = check_text(raw, MAX_TEXT, true).map_err(|e| ApiError::from(e.at(field)))?;
    if text.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::MissingField, format!("{field}: {what}")));
    }
    Ok(text)
}

/// A time a caller gives that must not lie in the future.
fn past_time(field: &str, raw: &str, now: i64) -> ApiResult<OffsetDateTime> {
    let t = parse_timestamp(field, raw)?;
    if unix_millis(t) > now + CLOCK_SKEW_MS {
        return Err(ApiError::new(ErrorCode::InvalidValue, format!("{field}: may not be in the future")));
    }
    Ok(t)
}
