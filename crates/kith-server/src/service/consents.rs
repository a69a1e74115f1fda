//! Privacy notices and the consent ledger. Entries are appended, never
//! changed: there is no operation that updates or deletes one. Source and
//! evidence are sealed under the person's data key, so erasing the person
//! shreds them with the rest; reads and appends are audited. Restriction,
//! objections and legal claims are here too: with the ledger they are
//! what the processing policy reads.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::{Action, Credential};
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::sealing::to_crypto;
use crate::service::records::open_record;
use crate::service::Services;
use kith_core::access::{FieldClass, Grant};
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::consent::{needs_guardian, ConsentEntry, ConsentInput, ConsentMethod, NoticeInput};
use kith_core::model::{parse_date, Contact};
use kith_core::values::check_text;
use kith_core::{EntityKind, ErrorCode};
use kith_crypto::DataKey;
use kith_store::{ConsentRow, LegalClaimRow, NoticeRow, StoredRecord};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

fn event(who: &Caller, action: AuditAction, contact: Uuid, fields: Vec<String>) -> AuditEvent {
    audit_event::by(who, action, About::person("consents", contact), fields)
}

/// Seals an entry's source and evidence under the person's key, appends
/// it to their ledger and audits it: the one way into the ledger, for
/// staff through the API and for public capture alike. `input` is
/// validated and its purpose and notice version checked by the caller.
pub(crate) async fn record_consent(
    svc: &Services,
    who: &Caller,
    contact: Uuid,
    key: &DataKey,
    input: &ConsentInput,
) -> ApiResult<ConsentRow> {
    let row = consent_row(who, contact, key, input)?;
    let change = event(who, AuditAction::ConsentChange, contact, vec![input.purpose.clone()]);
    let seal = crate::consent_seal::sealer(&svc.keys);
    svc.audit.intend(vec![change], svc.store.append_consent(&row, &*seal)).await?.map_err(person_missing)
}

/// A ledger entry with its source and evidence sealed under the person's
/// key, and the audit event of its recording; numbered and chained by the store.
pub(crate) fn consent_entry(
    who: &Caller,
    contact: Uuid,
    key: &DataKey,
    input: &ConsentInput,
) -> ApiResult<(ConsentRow, AuditEvent)> {
    let change = event(who, AuditAction::ConsentChange, contact, vec![input.purpose.clone()]);
    Ok((consent_row(who, contact, key, input)?, change))
}

fn consent_row(who: &Caller, contact: Uuid, key: &DataKey, input: &ConsentInput) -> ApiResult<ConsentRow> {
    let id = Uuid::new_v4();
    let sealed =
        serde_json::to_vec(&json!({"source": input.source, "evidence": input.evidence, "guardian": input.guardian}))
            .map_err(|e| ApiError::internal("consent", e))?;
    Ok(ConsentRow {
        id,
        contact_id: contact,
        purpose: input.purpose.clone(),
        granted: input.granted,
        at: crate::now_millis(),
        notice_version: input.notice_version.clone(),
        method: input.method.as_str().into(),
        recorded_by: who.principal.name.clone(),
        sealed: key.seal(&crate::sealing::consent(id, contact), &sealed),
        seq: 0,
        mac: Vec::new(),
    })
}

/// Records a person's objection to a purpose (a checked key) and audits it.
pub(crate) async fn record_objection(svc: &Services, who: &Caller, contact: Uuid, purpose: &str) -> ApiResult<()> {
    let change = event(who, AuditAction::ConsentChange, contact, vec![format!("objection:{purpose}")]);
    let write = svc.store.object(Uuid::new_v4(), contact, purpose, crate::now_millis(), &who.principal.name);
    svc.audit.intend(vec![change], write).await?.map_err(person_missing)
}

/// Restricts processing of a person (Art. 18) and audits it; restricting
/// a restricted person changes nothing but is audited again.
pub(crate) async fn record_restriction(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<()> {
    let change = event(who, AuditAction::ConsentChange, contact, vec!["restriction".into()]);
    let write = svc.store.restrict(contact, crate::now_millis(), &who.principal.name);
    svc.audit.intend(vec![change], write).await?.map_err(person_missing)
}

/// The person's data key, or 404 when there is no such person.
async fn person_key(svc: &Services, contact: Uuid) -> ApiResult<DataKey> {
    Ok(person_row(svc, contact).await?.0)
}

/// The person's data key and stored (sealed) contact, or 404 when there is
/// no such person. Opening the contact is left to who needs its fields.
async fn person_row(svc: &Services, contact: Uuid) -> ApiResult<(DataKey, StoredRecord)> {
    let row = svc.store.get(EntityKind::Contacts, contact).await?.ok_or_else(|| ApiError::not_found("contacts"))?;
    let wrapped = row.key.as_ref().ok_or_else(|| ApiError::not_found("contacts"))?;
    let key = svc.keys.unwrap(&to_crypto(wrapped))?;
    Ok((key, row))
}

/// The person's data key and contact record, or 404 when there is no such person.
pub(crate) async fn person(svc: &Services, contact: Uuid) -> ApiResult<(DataKey, Contact)> {
    let (key, row) = person_row(svc, contact).await?;
    let body = open_record::<Contact>(&key, &row)?;
    Ok((key, body))
}

/// Whether a consent (`granted`) or withdrawal by this person counts only with a guardian record.
pub(crate) fn consent_needs_guardian(svc: &Services, person: &Contact, granted: bool) -> bool {
    let birthday = person.birthday.as_deref().and_then(|b| parse_date("birthday", b).ok());
    let today = time::OffsetDateTime::now_utc().date();
    needs_guardian(birthday, granted, svc.config.digital_consent_age, today)
}

/// The person, when the caller may `action` contacts and this one is in
/// their scope; one outside it answers 404 like a missing person.
async fn person_in_scope(
    svc: &Services,
    who: &Caller,
    action: Action,
    contact: Uuid,
) -> ApiResult<(DataKey, StoredRecord, Grant)> {
    let grant = svc.authorizer.authorize(&who.principal, action, EntityKind::Contacts)?;
    // The owner is a clear column: the scope needs no decryption.
    let (key, row) = person_row(svc, contact).await?;
    if !svc.records.within_scope(who, &grant, row.owner.as_deref()).await? {
        return Err(ApiError::not_found("contacts"));
    }
    Ok((key, row, grant))
}

/// Refuses a consent given for a person known to be a child unless a
/// guardian is recorded with it (Art. 8).
fn check_guardian(svc: &Services, person: &Contact, input: &ConsentInput) -> ApiResult<()> {
    if input.guardian.is_none() && consent_needs_guardian(svc, person, input.granted) {
        return Err(ApiError::new(
            ErrorCode::GuardianRequired,
            format!(
                "this person is under the age of digital consent ({}): record the guardian who consents",
                svc.config.digital_consent_age
            ),
        ));
    }
    Ok(())
}

fn method_from(text: &str) -> ApiResult<ConsentMethod> {
    serde_json::from_value(Value::String(text.into())).map_err(|e| ApiError::internal("consent method", e))
}

/// An entry with its proof, or without it (`None`) when the proof does not
/// open: sealed for another entry, so moved there outside Kith.
fn open_entry(key: &DataKey, row: &ConsentRow) -> ApiResult<(ConsentEntry, bool)> {
    let sealed: Option<Value> = match key.open(&crate::sealing::consent(row.id, row.contact_id), &row.sealed) {
        Ok(plaintext) => Some(serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("consent"))?),
        Err(_) => None,
    };
    let proof = sealed.clone().unwrap_or_default();
    let entry = ConsentEntry {
        id: row.id,
        purpose: row.purpose.clone(),
        granted: row.granted,
        at: rfc3339_millis(row.at),
        notice_version: row.notice_version.clone(),
        method: method_from(&row.method)?,
        source: proof["source"].as_str().map(str::to_string),
        evidence: proof["evidence"].as_object().cloned().unwrap_or_default(),
        guardian: serde_json::from_value(proof["guardian"].clone()).unwrap_or(None),
        recorded_by: row.recorded_by.clone(),
    };
    Ok((entry, sealed.is_some()))
}

/// A person's ledger, opened, and whether it is intact: every seal
/// verified and every proof opened.
async fn opened_ledger(svc: &Services, key: &DataKey, contact: Uuid) -> ApiResult<(Vec<ConsentEntry>, bool)> {
    let ledger = svc.store.consents(contact, &*crate::consent_seal::sealer(&svc.keys)).await?;
    let mut intact = ledger.intact;
    let mut entries = Vec::with_capacity(ledger.entries.len());
    for row in &ledger.entries {
        let (entry, proof_opened) = open_entry(key, row)?;
        intact &= proof_opened;
        entries.push(entry);
    }
    if !intact {
        tracing::warn!(%contact, "a consent ledger does not verify: none of its consents counts");
    }
    Ok((entries, intact))
}

/// The person's whole ledger, proof included, for their archive; audited
/// as an `export` read of the consents.
pub(crate) async fn ledger_for_export(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<Vec<ConsentEntry>> {
    let key = person_key(svc, contact).await?;
    let (entries, _) = opened_ledger(svc, &key, contact).await?;
    svc.audit.record(vec![event(who, AuditAction::Read, contact, vec!["export".into(), "consents".into()])]).await?;
    Ok(entries)
}

/// A write about a person who does not exist answers 404.
fn person_missing(e: kith_store::StoreError) -> ApiError {
    match e {
        kith_store::StoreError::UnknownReference(..) => ApiError::not_found("contacts"),
        other => other.into(),
    }
}

/// A person's ledger as the caller may see it.
pub struct LedgerView {
    pub entries: Vec<ConsentEntry>,
    /// Every seal verified and every proof opened; if not, no entry counts.
    pub intact: bool,
    /// Whether the caller may see the proof (source, evidence, guardian).
    pub proof_visible: bool,
}

/// Reads a person's ledger; audited.
pub async fn ledger(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<LedgerView> {
    let (key, _, grant) = person_in_scope(svc, who, Action::Read, contact).await?;
    let (entries, intact) = opened_ledger(svc, &key, contact).await?;
    svc.audit.record(vec![event(who, AuditAction::Read, contact, vec!["consents".into()])]).await?;
    Ok(LedgerView { entries, intact, proof_visible: grant.fields.contains_key(&FieldClass::ConsentEvidence) })
}

/// Appends a consent or withdrawal given through the API: the purpose must
/// be in the catalogue (and, for a third party, one of its key's), the
/// notice version must exist, and a child's consent needs a guardian.
pub async fn append(svc: &Services, who: &Caller, contact: Uuid, mut input: ConsentInput) -> ApiResult<ConsentEntry> {
    let (key, row, _) = person_in_scope(svc, who, Action::Update, contact).await?;
    input.validate()?;
    // Only the portal records what the person did there.
    if input.method == ConsentMethod::Portal {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            "method: portal is recorded only by the person, in the privacy portal",
        ));
    }
    // A third party records consent only for the purposes its key is for.
    if let Credential::ApiKey { purposes, .. } = &who.principal.credential {
        if !purposes.contains(&input.purpose) {
            return Err(ApiError::new(ErrorCode::PurposeNotAllowed, "purpose: not one of this key's purposes"));
        }
    }
    if svc.store.purpose(&input.purpose).await?.is_none() {
        return Err(ApiError::new(ErrorCode::UnknownReference, "purpose: not in the purposes catalogue"));
    }
    if !svc.store.notices().await?.iter().any(|n| n.version == input.notice_version) {
        return Err(ApiError::new(ErrorCode::UnknownReference, "notice_version: no such privacy notice version"));
    }
    let person = open_record::<Contact>(&key, &row)?;
    check_guardian(svc, &person, &input)?;
    let row = record_consent(svc, who, contact, &key, &input).await?;
    Ok(open_entry(&key, &row)?.0)
}

/// The privacy notice versions.
pub async fn notices(svc: &Services, who: &Caller) -> ApiResult<Vec<NoticeRow>> {
    svc.authorizer.authorize_purposes(&who.principal, false)?;
    Ok(svc.store.notices().await?)
}

/// Adds a notice version; a version never changes. Audited.
pub async fn add_notice(svc: &Services, who: &Caller, mut input: NoticeInput) -> ApiResult<NoticeRow> {
    svc.authorizer.authorize_purposes(&who.principal, true)?;
    input.validate()?;
    let sha256: String = Sha256::digest(input.text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let row = NoticeRow { version: input.version.clone(), text: input.text, sha256, created_at: crate::now_millis() };
    svc.store.add_notice(&row).await.map_err(|e| match e {
        kith_store::StoreError::Duplicate => {
            ApiError::new(ErrorCode::Conflict, "this notice version exists; a version never changes: add a new one")
        }
        other => other.into(),
    })?;
    let mut change = event(who, AuditAction::ConfigChange, Uuid::nil(), vec![row.version.clone()]);
    (change.entity, change.subject_id) = (Some("notices".into()), None);
    svc.audit.record(vec![change]).await?;
    Ok(row)
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionInput {
    /// A purpose key; `marketing` objects to all direct marketing.
    pub purpose: String,
}

/// Restricts a person's processing (admin, dpo).
pub async fn restrict(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<()> {
    svc.authorizer.authorize_purposes(&who.principal, true)?;
    record_restriction(svc, who, contact).await
}

/// Lifts a restriction, and the legal-claims exceptions with it (the event says so).
pub async fn lift(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<()> {
    svc.authorizer.authorize_purposes(&who.principal, true)?;
    let dropped: Vec<String> =
        svc.store.legal_claims(contact).await?.into_iter().map(|c| format!("legal_claim:{}", c.purpose)).collect();
    let fields = std::iter::once("restriction".to_string()).chain(dropped).collect();
    let write = async {
        match svc.store.lift_restriction(contact).await? {
            true => Ok(()),
            false => Err(ApiError::new(ErrorCode::NotFound, "this person's processing is not restricted")),
        }
    };
    svc.audit.intend(vec![event(who, AuditAction::ConsentChange, contact, fields)], write).await?
}

/// Records a person's objection; the purpose key as recorded.
pub async fn object(svc: &Services, who: &Caller, contact: Uuid, input: ObjectionInput) -> ApiResult<String> {
    person_in_scope(svc, who, Action::Update, contact).await?;
    let purpose = input.purpose.trim().to_string();
    if !kith_core::purpose::data_uses().contains(&purpose) {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            "purpose: a purpose key, or marketing for all direct marketing",
        ));
    }
    record_objection(svc, who, contact, &purpose).await?;
    Ok(purpose)
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalClaimInput {
    /// The purpose the restricted person's data may still be processed for.
    pub purpose: String,
    /// The claim: its reference and why the data is needed. Sealed under the person's key.
    pub note: String,
}

/// A legal claim with its note opened when the caller may read it.
pub struct LegalClaim {
    pub row: LegalClaimRow,
    pub note: Option<String>,
}

fn open_claim(key: &DataKey, row: &LegalClaimRow, with_note: bool) -> ApiResult<LegalClaim> {
    let note = match with_note {
        true => {
            let note = key.open(&crate::sealing::legal_claim(row.id, row.contact_id), &row.sealed)?;
            Some(String::from_utf8_lossy(&note).into_owned())
        }
        false => None,
    };
    Ok(LegalClaim { row: row.clone(), note })
}

/// The DPO allows one purpose for a restricted person: the establishment,
/// exercise or defence of legal claims (Art. 18(2)).
pub async fn add_legal_claim(
    svc: &Services,
    who: &Caller,
    contact: Uuid,
    input: LegalClaimInput,
) -> ApiResult<LegalClaim> {
    svc.authorizer.authorize_legal_claims(&who.principal)?;
    let purpose = input.purpose.trim().to_string();
    if svc.store.purpose(&purpose).await?.is_none() {
        return Err(ApiError::new(ErrorCode::UnknownReference, "purpose: not in the purposes catalogue"));
    }
    let note = check_text(&input.note, 4000, true).map_err(|e| ApiError::from(e.at("note")))?;
    if note.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::MissingField, "note: the claim and why the data is needed"));
    }
    let key = person_key(svc, contact).await?;
    let claim = Uuid::new_v4();
    let row = LegalClaimRow {
        id: claim,
        contact_id: contact,
        purpose: purpose.clone(),
        at: crate::now_millis(),
        recorded_by: who.principal.name.clone(),
        sealed: key.seal(&crate::sealing::legal_claim(claim, contact), note.as_bytes()),
    };
    if !svc.store.add_legal_claim(&row).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "this person's processing is not restricted"));
    }
    svc.audit
        .record(vec![event(who, AuditAction::ConsentChange, contact, vec![format!("legal_claim:{purpose}")])])
        .await?;
    open_claim(&key, &row, true)
}

/// Whether a person is restricted, their objections, and the legal-claims exceptions.
pub struct RestrictionState {
    pub restricted: bool,
    pub objections: std::collections::BTreeSet<String>,
    pub legal_claims: Vec<LegalClaim>,
}

/// Reads a person's restriction state; audited. Claim notes only for the DPO.
pub async fn restriction_state(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<RestrictionState> {
    svc.authorizer.authorize_purposes(&who.principal, true)?;
    let key = person_key(svc, contact).await?;
    let status = svc
        .store
        .statuses(&[contact], &*crate::consent_seal::sealer(&svc.keys))
        .await?
        .remove(&contact)
        .unwrap_or_default();
    let legal_claims = svc
        .store
        .legal_claims(contact)
        .await?
        .iter()
        .map(|c| open_claim(&key, c, who.is_dpo()))
        .collect::<ApiResult<_>>()?;
    svc.audit.record(vec![event(who, AuditAction::Read, contact, vec!["restriction".into()])]).await?;
    Ok(RestrictionState { restricted: status.restricted, objections: status.objections, legal_claims })
}
