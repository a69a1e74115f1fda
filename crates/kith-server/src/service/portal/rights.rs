//! What a person does in their portal session. Each action is a request
//! in the register or an entry in their ledger, audited with the person
//! (`subject:<id>`) as the actor, so the DPO sees it with its deadline.
//! Nothing here goes through the authoriser: the session is bound to
//! one person, and every function acts on that person only.

use crate::auth::caller::{Caller, PublicRequest};
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::service::archive::{self, Archive};
use crate::service::consents::{self, consent_needs_guardian, record_consent};
use crate::service::dsr::{self, DsrFulfilInput, Request};
use crate::service::Services;
use kith_core::consent::{ConsentInput, ConsentMethod};
use kith_core::dsr::{RequestKind, RequestStatus};
use kith_core::entity::EntityBody;
use kith_core::export::Subject;
use kith_core::model::Contact;
use kith_core::purpose::LawfulBasis;
use kith_core::values::check_text;
use kith_core::ErrorCode;
use kith_store::{DsrQuery, DsrRow};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The contact fields a rectification from a form may change: the
/// person's proposal in the portal, the DPO's typed correction.
pub const CORRECTABLE: [&str; 6] = ["given_name", "family_name", "emails", "phones", "job_title", "birthday"];
/// Longest explanation a person adds to a request, in characters.
const MAX_NOTE: usize = 2000;
/// The person's requests shown in the portal, latest due first.
const REQUESTS_SHOWN: u32 = 50;

/// Everything held about the person, as their archive has it.
pub async fn held(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<Subject> {
    archive::subject(svc, who, contact).await
}

/// The person's contact record alone (to compare a correction with),
/// audited as an export read like the rest of what the portal shows.
pub async fn contact_details(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<Contact> {
    Ok(svc.records.person_for_export(who, contact).await?.0.body)
}

/// The person's latest requests in the register, latest due first.
pub async fn requests(svc: &Services, contact: Uuid) -> ApiResult<Vec<DsrRow>> {
    let query = DsrQuery { contact: Some(contact), latest_first: true, limit: REQUESTS_SHOWN, ..DsrQuery::default() };
    Ok(svc.store.dsrs(&query).await?)
}

/// The access archive: built first, then an access request filed and
/// verified by the portal and completed by the download, so a failure
/// to build leaves no request behind.
pub async fn download_archive(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<Archive> {
    let zip = archive::build(svc, who, contact).await?;
    let request = dsr::register_from_portal(svc, who, contact, RequestKind::Access, None, None, None).await?;
    archive::downloaded_in_portal(svc, who, &request).await?;
    dsr::carry_out(svc, who, request.row.id, DsrFulfilInput::default()).await?;
    Ok(Archive { kind: RequestKind::Access.as_str().into(), zip })
}

/// A correction the person proposes: new values for some of
/// [`CORRECTABLE`] (as a `PATCH` has them), and what they want to say.
#[derive(Debug, Default)]
pub struct Correction {
    pub changes: Map<String, Value>,
    pub note: Option<String>,
}

fn optional_note(note: Option<&str>) -> ApiResult<Option<String>> {
    let Some(raw) = note else { return Ok(None) };
    let text = check_text(raw, MAX_NOTE, true).map_err(|e| ApiError::from(e.at("note")))?;
    Ok(Some(text).filter(|t| !t.trim().is_empty()))
}

/// Files a rectification request with the changes proposed, once they
/// would make a valid contact; the DPO applies or refuses them.
pub async fn propose_correction(svc: &Services, who: &Caller, contact: Uuid, input: Correction) -> ApiResult<Request> {
    if let Some(field) = input.changes.keys().find(|f| !CORRECTABLE.contains(&f.as_str())) {
        return Err(ApiError::new(ErrorCode::UnknownField, format!("{field}: not a field the portal corrects")));
    }
    let note = optional_note(input.note.as_deref())?;
    // The DPO carries a rectification out by applying changes: a note
    // alone would leave nothing to apply.
    if input.changes.is_empty() {
        return Err(ApiError::new(ErrorCode::MissingField, "changes: change the value that is wrong"));
    }
    let (_, current) = consents::person(svc, contact).await?;
    let mut document = match serde_json::to_value(&current).map_err(|e| ApiError::internal("portal", e))? {
        Value::Object(map) => map,
        _ => return Err(ApiError::internal("portal", "a contact is not an object")),
    };
    for (field, value) in &input.changes {
        match value {
            Value::Null => document.remove(field),
            other => document.insert(field.clone(), other.clone()),
        };
    }
    let mut proposed: Contact = serde_json::from_value(Value::Object(document))
        .map_err(|e| ApiError::new(ErrorCode::InvalidValue, format!("changes: {e}")))?;
    proposed.validate()?;
    dsr::register_from_portal(svc, who, contact, RequestKind::Rectification, None, note, Some(input.changes)).await
}

/// A consent given or withdrawn in the portal.
#[derive(Debug)]
pub struct ConsentChoice {
    pub purpose: String,
    pub granted: bool,
}

/// Records the person's choice for a purpose that rests on consent, under
/// the current privacy notice, with the portal session as evidence.
pub async fn set_consent(
    svc: &Services,
    who: &Caller,
    contact: Uuid,
    choice: ConsentChoice,
    request: &PublicRequest,
    session_started_at: i64,
) -> ApiResult<()> {
    let purpose = crate::service::purposes::catalogue(svc)
        .await?
        .into_iter()
        .find(|p| p.key == choice.purpose && p.lawful_basis == LawfulBasis::Consent)
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownReference, "purpose: not a purpose that asks for consent"))?;
    let notice = svc
        .store
        .notices()
        .await?
        .into_iter()
        .max_by_key(|n| n.created_at)
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "no privacy notice is published yet: ask the DPO"))?;
    let (key, person) = consents::person(svc, contact).await?;
    if consent_needs_guardian(svc, &person, choice.granted) {
        return Err(ApiError::new(
            ErrorCode::GuardianRequired,
            "a consent for someone under the age of digital consent needs their guardian: contact the DPO",
        ));
    }
    let mut evidence = Map::new();
    evidence.insert("portal_session_started_at".into(), json!(rfc3339_millis(session_started_at)));
    evidence.insert("client".into(), json!(request.client));
    evidence.insert("user_agent".into(), json!(request.user_agent));
    let entry = ConsentInput {
        purpose: purpose.key,
        granted: choice.granted,
        notice_version: notice.version,
        method: ConsentMethod::Portal,
        source: Some("privacy portal".into()),
        evidence,
        guardian: None,
    };
    record_consent(svc, who, contact, &key, &entry).await?;
    Ok(())
}

/// The objection to direct marketing, which is absolute (Art. 21(3)):
/// filed and carried out at once.
pub async fn object_to_direct_marketing(svc: &Services, who: &Caller, contact: Uuid) -> ApiResult<Request> {
    let purpose = Some("marketing".to_string());
    let request = dsr::register_from_portal(svc, who, contact, RequestKind::Objection, purpose, None, None).await?;
    Ok(dsr::carry_out(svc, who, request.row.id, DsrFulfilInput::default()).await?.request)
}

/// Files an erasure request for the DPO, who checks the exceptions of
/// Art. 17(3) before carrying it out; one open at a time.
pub async fn ask_erasure(svc: &Services, who: &Caller, contact: Uuid, note: Option<&str>) -> ApiResult<Request> {
    let note = optional_note(note)?;
    let open_statuses = [
        RequestStatus::Received,
        RequestStatus::IdentityVerification,
        RequestStatus::Locked,
        RequestStatus::InProgress,
    ];
    let open = DsrQuery {
        contact: Some(contact),
        statuses: open_statuses.iter().map(|s| s.as_str().to_string()).collect(),
        limit: 1000,
        ..DsrQuery::default()
    };
    // Two servers may both pass this check at once: two erasure requests
    // for one person are harmless (the second finds nobody to erase).
    if svc.store.dsrs(&open).await?.iter().any(|r| r.kind == RequestKind::Erasure.as_str()) {
        return Err(ApiError::new(ErrorCode::Conflict, "an erasure you asked for is already in progress"));
    }
    dsr::register_from_portal(svc, who, contact, RequestKind::Erasure, None, note, None).await
}
