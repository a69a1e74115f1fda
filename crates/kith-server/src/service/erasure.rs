//! Erasure (Art. 17): the exceptions that stop it, the erasure itself, the
//! suppression list that keeps the person from being created again, the
//! notification tasks for recipients (Art. 19) and the signed receipt.
//!
//! The erasure is one store transaction (`Store::erase_person`): the
//! person's rows go with their index entries and their data key, so copies
//! in older backups no longer open (crypto-shredding). What is kept about
//! it holds no value: the suppression terms are keyed hashes, the receipt
//! names categories and counts, the audit event names categories.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::entity::{IndexField, IndexTerm};
use kith_core::values::check_text;
use kith_core::ErrorCode;
use kith_crypto::Keyring;
use kith_store::{Erased, ErasureCounts, ErasureExceptionRow, ErasureOrder, LedgerRow, NotificationRow, Term};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// The first line of a receipt's signed body; the second is its JSON.
const RECEIPT_HEADER: &str = "kith erasure receipt v1";

/// The suppression terms of a record's e-mail addresses and phone numbers:
/// blind-index terms under fields of their own, so a suppression entry
/// does not match (or reveal) a live index entry.
pub fn suppression_terms(ring: &Keyring, terms: &[IndexTerm]) -> Vec<Term> {
    let mut out: Vec<Term> = terms.iter().filter_map(|t| suppression_term(ring, t)).collect();
    out.sort();
    out.dedup();
    out
}

/// The suppression term of one e-mail address or phone number (its index
/// term's normal form); `None` for other fields.
pub fn suppression_term(ring: &Keyring, term: &IndexTerm) -> Option<Term> {
    match term.field {
        IndexField::Email => Some(ring.blind_term("suppressed_email", &term.value)),
        IndexField::Phone => Some(ring.blind_term("suppressed_phone", &term.value)),
        _ => None,
    }
}

/// Why the person's data must be kept despite a request (Art. 17(3)), or a
/// legal hold (`legal_claims`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ground {
    LegalObligation,
    PublicInterest,
    LegalClaims,
    FreedomOfExpression,
    ArchivingResearch,
}

impl Ground {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LegalObligation => "legal_obligation",
            Self::PublicInterest => "public_interest",
            Self::LegalClaims => "legal_claims",
            Self::FreedomOfExpression => "freedom_of_expression",
            Self::ArchivingResearch => "archiving_research",
        }
    }
}

/// An exception to erasure: its ground, and the DPO's note (sealed under
/// the person's key).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureExceptionInput {
    pub ground: Ground,
    pub note: String,
}

/// Recipients to tell (Art. 19): every recipient whose keys read or
/// wrote this person's data, from the audit log, one task per key used.
async fn recipients(svc: &Services, contact: Uuid, request: Uuid, at: i64) -> ApiResult<Vec<NotificationRow>> {
    let mut out = Vec::new();
    for told in crate::service::recipients::disclosures(svc, contact).await? {
        for key in told.keys {
            out.push(NotificationRow {
                request_id: request,
                api_key_id: key,
                recipient: told.recipient.clone(),
                status: "pending".into(),
                created_at: at,
            });
        }
    }
    Ok(out)
}

/// Records a task to tell each recipient of the person's data about a
/// rectification or restriction (Art. 19), as erasure does; the audit
/// field it returns names how many.
pub(crate) async fn record_recipients(svc: &Services, request: Uuid, contact: Uuid) -> ApiResult<String> {
    let tasks = recipients(svc, contact, request, crate::now_millis()).await?;
    svc.store.add_notifications(&tasks).await?;
    Ok(format!("notifications:{}", tasks.len()))
}

/// The receipt's body: a header line, then one line of JSON with no value
/// in it (ids, time, categories and counts).
fn receipt_body(receipt: &Value) -> String {
    format!("{RECEIPT_HEADER}\n{receipt}\n")
}

/// The receipt a signed note holds, with the note itself.
fn receipt_of(note: &str) -> ApiResult<Value> {
    let body = note.lines().nth(1).ok_or_else(|| ApiError::internal("erasure", "a receipt note has no body"))?;
    let mut receipt: Value = serde_json::from_str(body).map_err(|_| ApiError::undecodable("erasure"))?;
    receipt["note"] = json!(note);
    Ok(receipt)
}

/// Erases the person a verified erasure request is about (see the module
/// documentation), unless an exception holds (`erasure_exception`).
/// Carried out a second time for the same request (its completion could
/// not be written), it answers the receipt of the first.
pub(crate) async fn erase(svc: &Services, who: &Caller, request: Uuid, contact: Uuid) -> ApiResult<Value> {
    if let Some(note) = svc.store.erasure_receipt(request).await? {
        return receipt_of(&note);
    }
    let held = svc.store.erasure_exceptions(contact).await?;
    if !held.is_empty() {
        let grounds: Vec<&str> = held.iter().map(|e| e.ground.as_str()).collect();
        return Err(held_error(&grounds));
    }
    let (_, person) = crate::service::consents::person(svc, contact).await?;
    let ring = svc.keys.current();
    let suppressions = suppression_terms(&ring, &kith_core::EntityBody::index_terms(&person));
    drop(person);
    let at = crate::now_millis();
    let notifications = recipients(svc, contact, request, at).await?;
    let order = ErasureOrder { request_id: request, contact_id: contact, suppressions, notifications, at };
    let (terms, told) = (order.suppressions.len(), order.notifications.len());
    let notary = svc.notary.clone();
    let sign = move |counts: &ErasureCounts| {
        let receipt = json!({
            "request_id": request,
            "contact_id": contact,
            "erased_at": rfc3339_millis(at),
            "categories": counts,
            "data_key_destroyed": true,
            "suppressed_terms": terms,
            "notifications": told,
        });
        notary.sign(&receipt_body(&receipt))
    };
    let (counts, note) = match svc.store.erase_person(&order, &sign).await? {
        Erased::Done { counts, receipt } => (counts, receipt),
        Erased::Held => return Err(held_error(&[])),
        Erased::Missing => return Err(ApiError::not_found("contacts")),
    };
    remember_in_ledger_file(svc, &order);
    let mut fields: Vec<String> = counts.iter().map(|(name, n)| format!("{name}:{n}")).collect();
    fields.push("data_key:destroyed".into());
    fields.push(format!("suppression:{terms}"));
    fields.push(format!("notifications:{told}"));
    let about = About { entity: "contacts", record: Some(contact), subject: Some(contact) };
    svc.audit.record(vec![audit_event::by(who, AuditAction::Delete, about, fields)]).await?;
    receipt_of(&note)
}

/// Adds the erasure to the ledger's file beside the key file, which a
/// restore of an older backup replays. The database's ledger already has
/// it, and the next open of the data directory copies what the file
/// missed, so a failure here is logged rather than undoing the erasure.
fn remember_in_ledger_file(svc: &Services, order: &ErasureOrder) {
    let Some(path) = &svc.config.erasure_ledger else { return };
    let entry = LedgerRow {
        subject_id: order.contact_id,
        request_id: order.request_id,
        erased_at: order.at,
        terms: order.suppressions.clone(),
    };
    if let Err(e) = crate::backup::ledger::append(path, &[entry]) {
        tracing::warn!(error = %e, "the erasure could not be added to the ledger file");
    }
}

fn held_error(grounds: &[&str]) -> ApiError {
    let named = if grounds.is_empty() { String::new() } else { format!(" ({})", grounds.join(", ")) };
    ApiError::new(
        ErrorCode::ErasureException,
        format!("an exception to erasure is recorded for this person{named}: the DPO must lift it first"),
    )
}

/// An exception to erasure with its note opened.
pub struct Exception {
    pub row: ErasureExceptionRow,
    pub note: String,
}

fn open_exception(key: &kith_crypto::DataKey, row: &ErasureExceptionRow) -> ApiResult<Exception> {
    let note = key.open(&crate::sealing::erasure_exception(row.id, row.contact_id), &row.sealed)?;
    Ok(Exception { row: row.clone(), note: String::from_utf8_lossy(&note).into_owned() })
}

/// The DPO records a legal hold or an Art. 17(3) ground: erasure requests
/// about the person are refused (`erasure_exception`) until it is lifted.
pub async fn add_exception(
    svc: &Services,
    who: &Caller,
    contact: Uuid,
    input: ErasureExceptionInput,
) -> ApiResult<Exception> {
    svc.authorizer.authorize_erasure(&who.principal)?;
    let note = check_text(&input.note, 4000, true).map_err(|e| ApiError::from(e.at("note")))?;
    if note.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::MissingField, "note: why the data must be kept"));
    }
    let (key, _) = crate::service::consents::person(svc, contact).await?;
    let exception = Uuid::new_v4();
    let row = ErasureExceptionRow {
        id: exception,
        contact_id: contact,
        ground: input.ground.as_str().into(),
        at: crate::now_millis(),
        recorded_by: who.principal.name.clone(),
        sealed: key.seal(&crate::sealing::erasure_exception(exception, contact), note.as_bytes()),
    };
    svc.store.add_erasure_exception(&row).await.map_err(|e| match e {
        kith_store::StoreError::UnknownReference(..) => ApiError::not_found("contacts"),
        e => e.into(),
    })?;
    let fields = vec![format!("erasure_exception:{}", row.ground)];
    let about = About { entity: "contacts", record: Some(contact), subject: Some(contact) };
    svc.audit.record(vec![audit_event::by(who, AuditAction::ConsentChange, about, fields)]).await?;
    open_exception(&key, &row)
}

/// The exceptions recorded for a person, with the DPO's notes; audited.
pub async fn exceptions(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<Vec<Exception>> {
    svc.authorizer.authorize_erasure(&who.principal)?;
    let (key, _) = crate::service::consents::person(svc, contact).await?;
    let items = svc
        .store
        .erasure_exceptions(contact)
        .await?
        .iter()
        .map(|row| open_exception(&key, row))
        .collect::<ApiResult<_>>()?;
    let about = About { entity: "contacts", record: Some(contact), subject: Some(contact) };
    let fields = vec!["erasure_exceptions".to_string()];
    svc.audit.record(vec![audit_event::by(who, AuditAction::Read, about, fields)]).await?;
    Ok(items)
}

/// The DPO lifts every exception to the person's erasure.
pub async fn lift_exceptions(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<()> {
    svc.authorizer.authorize_erasure(&who.principal)?;
    if svc.store.lift_erasure_exceptions(contact).await? == 0 {
        return Err(ApiError::not_found("erasure exception"));
    }
    let about = About { entity: "contacts", record: Some(contact), subject: Some(contact) };
    let fields = vec!["erasure_exception:lifted".to_string()];
    svc.audit.record(vec![audit_event::by(who, AuditAction::ConsentChange, about, fields)]).await?;
    Ok(())
}

/// The signed receipt of an erasure request; audited.
pub async fn receipt(svc: &Services, who: &Caller, request: Uuid) -> ApiResult<Value> {
    svc.authorizer.authorize_erasure(&who.principal)?;
    let note = svc.store.erasure_receipt(request).await?.ok_or_else(|| ApiError::not_found("receipt"))?;
    let about = About { entity: "dsr", record: Some(request), subject: None };
    svc.audit.record(vec![audit_event::by(who, AuditAction::Read, about, vec!["receipt".into()])]).await?;
    receipt_of(&note)
}

/// The recipients to tell of an erasure (Art. 19), with their status; audited.
pub async fn notifications(svc: &Services, who: &Caller, request: Uuid) -> ApiResult<Vec<NotificationRow>> {
    svc.authorizer.authorize_erasure(&who.principal)?;
    let rows = svc.store.erasure_notifications(request).await?;
    let about = About { entity: "dsr", record: Some(request), subject: None };
    svc.audit.record(vec![audit_event::by(who, AuditAction::Read, about, vec!["notifications".into()])]).await?;
    Ok(rows)
}
