//! Privacy notices and the consent ledger over HTTP. Entries are appended,
//! never changed: there is no route that updates or deletes one. Source and
//! evidence are sealed under the person's data key, so erasing the person
//! shreds them with the rest; reads and appends are audited.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::auth::Credential;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{id_parameter, json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, RecordLegalClaims, WritePurposes};
use crate::records::open_record;
use crate::sealing::to_crypto;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::access::{FieldClass, Grant};
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::consent::{current_state, needs_guardian, ConsentEntry, ConsentInput, ConsentMethod, NoticeInput};
use kith_core::model::{parse_date, Contact};
use kith_core::values::check_text;
use kith_core::{EntityKind, ErrorCode};
use kith_crypto::DataKey;
use kith_store::{ConsentRow, LegalClaimRow, NoticeRow, StoredRecord};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Ref, Required, ResponseBuilder};
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
    state: &AppState,
    who: &Caller,
    contact: Uuid,
    key: &DataKey,
    input: &ConsentInput,
) -> ApiResult<ConsentRow> {
    let id = Uuid::new_v4();
    let sealed =
        serde_json::to_vec(&json!({"source": input.source, "evidence": input.evidence, "guardian": input.guardian}))
            .map_err(|e| ApiError::internal("consent", e))?;
    let row = ConsentRow {
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
    };
    let change = event(who, AuditAction::ConsentChange, contact, vec![input.purpose.clone()]);
    let seal = crate::consent_seal::sealer(&state.keys);
    state.audit.intend(vec![change], state.store.append_consent(&row, &*seal)).await?.map_err(person_missing)
}

/// Records a person's objection to a purpose (a checked key) and audits it.
pub(crate) async fn record_objection(state: &AppState, who: &Caller, contact: Uuid, purpose: &str) -> ApiResult<()> {
    let change = event(who, AuditAction::ConsentChange, contact, vec![format!("objection:{purpose}")]);
    let write = state.store.object(Uuid::new_v4(), contact, purpose, crate::now_millis(), &who.principal.name);
    state.audit.intend(vec![change], write).await?.map_err(person_missing)
}

/// Restricts processing of a person (Art. 18) and audits it; restricting
/// a restricted person changes nothing but is audited again.
pub(crate) async fn record_restriction(state: &AppState, who: &Caller, contact: Uuid) -> ApiResult<()> {
    let change = event(who, AuditAction::ConsentChange, contact, vec!["restriction".into()]);
    let write = state.store.restrict(contact, crate::now_millis(), &who.principal.name);
    state.audit.intend(vec![change], write).await?.map_err(person_missing)
}

/// The person's data key, or 404 when there is no such person.
async fn person_key(state: &AppState, contact: Uuid) -> ApiResult<DataKey> {
    Ok(person_row(state, contact).await?.0)
}

/// The person's data key and stored (sealed) contact, or 404 when there is
/// no such person. Opening the contact is left to who needs its fields.
async fn person_row(state: &AppState, contact: Uuid) -> ApiResult<(DataKey, StoredRecord)> {
    let row = state.store.get(EntityKind::Contacts, contact).await?.ok_or_else(|| ApiError::not_found("contacts"))?;
    let wrapped = row.key.as_ref().ok_or_else(|| ApiError::not_found("contacts"))?;
    let key = state.keys.unwrap(&to_crypto(wrapped))?;
    Ok((key, row))
}

/// The person's data key and contact record, or 404 when there is no such person.
pub(crate) async fn person(state: &AppState, contact: Uuid) -> ApiResult<(DataKey, Contact)> {
    let (key, row) = person_row(state, contact).await?;
    let body = open_record::<Contact>(&key, &row)?;
    Ok((key, body))
}

/// Whether a consent (`granted`) or withdrawal by this person counts only with a guardian record.
pub(crate) fn consent_needs_guardian(state: &AppState, person: &Contact, granted: bool) -> bool {
    let birthday = person.birthday.as_deref().and_then(|b| parse_date("birthday", b).ok());
    let today = time::OffsetDateTime::now_utc().date();
    needs_guardian(birthday, granted, state.config.digital_consent_age, today)
}

/// The person, when the caller may `action` contacts and this one is in
/// their scope; one outside it answers 404 like a missing person.
async fn person_in_scope(
    state: &AppState,
    who: &Caller,
    action: Action,
    contact: Uuid,
) -> ApiResult<(DataKey, StoredRecord, Grant)> {
    let grant = state.authorizer.authorize(&who.principal, action, EntityKind::Contacts)?;
    // The owner is a clear column: the scope needs no decryption.
    let (key, row) = person_row(state, contact).await?;
    if !state.records.within_scope(who, &grant, row.owner.as_deref()).await? {
        return Err(ApiError::not_found("contacts"));
    }
    Ok((key, row, grant))
}

/// A ledger entry as a caller may see it: the proof (source, evidence,
/// guardian) only with the `consent_evidence` class.
fn entry_for(entry: &ConsentEntry, grant: &Grant) -> ApiResult<Value> {
    let mut value = serde_json::to_value(entry).map_err(|e| ApiError::internal("consent", e))?;
    if !grant.fields.contains_key(&FieldClass::ConsentEvidence) {
        if let Value::Object(fields) = &mut value {
            for proof in ["source", "evidence", "guardian"] {
                fields.remove(proof);
            }
        }
    }
    Ok(value)
}

/// Refuses a consent given for a person known to be a child unless a
/// guardian is recorded with it (Art. 8).
fn check_guardian(state: &AppState, person: &Contact, input: &ConsentInput) -> ApiResult<()> {
    if input.guardian.is_none() && consent_needs_guardian(state, person, input.granted) {
        return Err(ApiError::new(
            ErrorCode::GuardianRequired,
            format!(
                "this person is under the age of digital consent ({}): record the guardian who consents",
                state.config.digital_consent_age
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
async fn opened_ledger(state: &AppState, key: &DataKey, contact: Uuid) -> ApiResult<(Vec<ConsentEntry>, bool)> {
    let ledger = state.store.consents(contact, &*crate::consent_seal::sealer(&state.keys)).await?;
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
pub(crate) async fn ledger_for_export(state: &AppState, who: &Caller, contact: Uuid) -> ApiResult<Vec<ConsentEntry>> {
    let key = person_key(state, contact).await?;
    let (entries, _) = opened_ledger(state, &key, contact).await?;
    state.audit.record(vec![event(who, AuditAction::Read, contact, vec!["export".into(), "consents".into()])]).await?;
    Ok(entries)
}

/// A write about a person who does not exist answers 404.
fn person_missing(e: kith_store::StoreError) -> ApiError {
    match e {
        kith_store::StoreError::UnknownReference(..) => ApiError::not_found("contacts"),
        other => other.into(),
    }
}

async fn ledger(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let contact = crate::http::extract::path_id(&id)?;
    let (key, _, grant) = person_in_scope(&state, &who, Action::Read, contact).await?;
    let (entries, intact) = opened_ledger(&state, &key, contact).await?;
    let shown: Vec<Value> = entries.iter().map(|e| entry_for(e, &grant)).collect::<ApiResult<_>>()?;
    // A ledger that does not verify grants nothing, and says so.
    let counted: &[ConsentEntry] = if intact { &entries } else { &[] };
    let current: Map<String, Value> = current_state(counted)
        .into_iter()
        .map(|(purpose, e)| {
            (purpose, json!({"granted": e.granted, "at": e.at, "notice_version": e.notice_version, "method": e.method}))
        })
        .collect();
    state.audit.record(vec![event(&who, AuditAction::Read, contact, vec!["consents".into()])]).await?;
    Ok(Json(json!({ "ledger": shown, "current": current, "intact": intact })))
}

async fn append(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiJson(mut input): ApiJson<ConsentInput>,
) -> ApiResult<(StatusCode, Json<ConsentEntry>)> {
    let contact = crate::http::extract::path_id(&id)?;
    let (key, row, _) = person_in_scope(&state, &who, Action::Update, contact).await?;
    input.validate()?;
    // A third party records consent only for the purposes its key is for.
    if let Credential::ApiKey { purposes, .. } = &who.principal.credential {
        if !purposes.contains(&input.purpose) {
            return Err(ApiError::new(ErrorCode::PurposeNotAllowed, "purpose: not one of this key's purposes"));
        }
    }
    if state.store.purpose(&input.purpose).await?.is_none() {
        return Err(ApiError::new(ErrorCode::UnknownReference, "purpose: not in the purposes catalogue"));
    }
    if !state.store.notices().await?.iter().any(|n| n.version == input.notice_version) {
        return Err(ApiError::new(ErrorCode::UnknownReference, "notice_version: no such privacy notice version"));
    }
    let person = open_record::<Contact>(&key, &row)?;
    check_guardian(&state, &person, &input)?;
    let row = record_consent(&state, &who, contact, &key, &input).await?;
    Ok((StatusCode::CREATED, Json(open_entry(&key, &row)?.0)))
}

async fn list_notices(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_purposes(&who.principal, false)?;
    let items: Vec<Value> = state
        .store
        .notices()
        .await?
        .into_iter()
        .map(|n| json!({"version": n.version, "text": n.text, "sha256": n.sha256, "created_at": rfc3339_millis(n.created_at)}))
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn add_notice(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WritePurposes>,
    ApiJson(mut input): ApiJson<NoticeInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.authorizer.authorize_purposes(&who.principal, true)?;
    input.validate()?;
    let sha256: String = Sha256::digest(input.text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let row = NoticeRow { version: input.version.clone(), text: input.text, sha256, created_at: crate::now_millis() };
    state.store.add_notice(&row).await.map_err(|e| match e {
        kith_store::StoreError::Duplicate => {
            ApiError::new(ErrorCode::Conflict, "this notice version exists; a version never changes: add a new one")
        }
        other => other.into(),
    })?;
    let mut change = event(&who, AuditAction::ConfigChange, Uuid::nil(), vec![row.version.clone()]);
    (change.entity, change.subject_id) = (Some("notices".into()), None);
    state.audit.record(vec![change]).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"version": row.version, "text": row.text, "sha256": row.sha256, "created_at": rfc3339_millis(row.created_at)}),
        ),
    ))
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionInput {
    /// A purpose key; `marketing` objects to all direct marketing.
    pub purpose: String,
}

async fn restrict(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let contact = crate::http::extract::path_id(&id)?;
    state.authorizer.authorize_purposes(&who.principal, true)?;
    record_restriction(&state, &who, contact).await?;
    Ok(Json(json!({"restricted": true})))
}

async fn lift(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let contact = crate::http::extract::path_id(&id)?;
    state.authorizer.authorize_purposes(&who.principal, true)?;
    // Lifting drops the legal-claims exceptions with it; the event says so.
    let dropped: Vec<String> =
        state.store.legal_claims(contact).await?.into_iter().map(|c| format!("legal_claim:{}", c.purpose)).collect();
    let fields = std::iter::once("restriction".to_string()).chain(dropped).collect();
    let write = async {
        match state.store.lift_restriction(contact).await? {
            true => Ok(()),
            false => Err(ApiError::new(ErrorCode::NotFound, "this person's processing is not restricted")),
        }
    };
    state.audit.intend(vec![event(&who, AuditAction::ConsentChange, contact, fields)], write).await??;
    Ok(StatusCode::NO_CONTENT)
}

async fn object(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ObjectionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let contact = crate::http::extract::path_id(&id)?;
    person_in_scope(&state, &who, Action::Update, contact).await?;
    let purpose = input.purpose.trim().to_string();
    if !kith_core::purpose::data_uses().contains(&purpose) {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            "purpose: a purpose key, or marketing for all direct marketing",
        ));
    }
    record_objection(&state, &who, contact, &purpose).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"purpose": purpose, "absolute": kith_core::policy::is_direct_marketing(&purpose)})),
    ))
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalClaimInput {
    /// The purpose the restricted person's data may still be processed for.
    pub purpose: String,
    /// The claim: its reference and why the data is needed. Sealed under the person's key.
    pub note: String,
}

/// A legal claim as shown; its note (the claim itself) only to the DPO.
fn render_claim(key: &DataKey, row: &LegalClaimRow, with_note: bool) -> ApiResult<Value> {
    let mut claim = json!({
        "id": row.id,
        "purpose": row.purpose,
        "at": rfc3339_millis(row.at),
        "recorded_by": row.recorded_by,
    });
    if with_note {
        let note = key.open(&crate::sealing::legal_claim(row.id, row.contact_id), &row.sealed)?;
        claim["note"] = json!(String::from_utf8_lossy(&note));
    }
    Ok(claim)
}

/// The DPO allows one purpose for a restricted person: the establishment,
/// exercise or defence of legal claims (Art. 18(2)).
async fn add_legal_claim(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<RecordLegalClaims>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<LegalClaimInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let contact = crate::http::extract::path_id(&id)?;
    state.authorizer.authorize_legal_claims(&who.principal)?;
    let purpose = input.purpose.trim().to_string();
    if state.store.purpose(&purpose).await?.is_none() {
        return Err(ApiError::new(ErrorCode::UnknownReference, "purpose: not in the purposes catalogue"));
    }
    let note = check_text(&input.note, 4000, true).map_err(|e| ApiError::from(e.at("note")))?;
    if note.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::MissingField, "note: the claim and why the data is needed"));
    }
    let key = person_key(&state, contact).await?;
    let claim = Uuid::new_v4();
    let row = LegalClaimRow {
        id: claim,
        contact_id: contact,
        purpose: purpose.clone(),
        at: crate::now_millis(),
        recorded_by: who.principal.name.clone(),
        sealed: key.seal(&crate::sealing::legal_claim(claim, contact), note.as_bytes()),
    };
    if !state.store.add_legal_claim(&row).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "this person's processing is not restricted"));
    }
    state
        .audit
        .record(vec![event(&who, AuditAction::ConsentChange, contact, vec![format!("legal_claim:{purpose}")])])
        .await?;
    Ok((StatusCode::CREATED, Json(render_claim(&key, &row, true)?)))
}

/// Whether a person is restricted, and the legal-claims exceptions.
async fn restriction_state(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let contact = crate::http::extract::path_id(&id)?;
    state.authorizer.authorize_purposes(&who.principal, true)?;
    let key = person_key(&state, contact).await?;
    let status = state
        .store
        .statuses(&[contact], &*crate::consent_seal::sealer(&state.keys))
        .await?
        .remove(&contact)
        .unwrap_or_default();
    let claims: Vec<Value> = state
        .store
        .legal_claims(contact)
        .await?
        .iter()
        .map(|c| render_claim(&key, c, who.is_dpo()))
        .collect::<ApiResult<_>>()?;
    state.audit.record(vec![event(&who, AuditAction::Read, contact, vec!["restriction".into()])]).await?;
    Ok(Json(json!({"restricted": status.restricted, "objections": status.objections, "legal_claims": claims})))
}

/// The notice and consent routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    for (name, schema) in [
        ("ConsentInput", <ConsentInput as utoipa::PartialSchema>::schema()),
        ("ConsentEntry", <ConsentEntry as utoipa::PartialSchema>::schema()),
        ("NoticeInput", <NoticeInput as utoipa::PartialSchema>::schema()),
        ("ObjectionInput", <ObjectionInput as utoipa::PartialSchema>::schema()),
        ("LegalClaimInput", <LegalClaimInput as utoipa::PartialSchema>::schema()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let mut nested = Vec::new();
    <ConsentInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    let body = |schema: &str| {
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", json_content(Ref::from_schema_name(schema)))
            .build()
    };
    let ok = |what: &str| ResponseBuilder::new().description(what).build();
    api.route(
        HttpMethod::Get,
        "/api/v1/contacts/{id}/consents",
        ledger,
        operation("contact_consents", "consents", "A person's consent ledger and the current state per purpose")
            .parameter(id_parameter())
            .response(
                "200",
                ok("the ledger in the order written, and the current state per purpose; `intact` false when \
                    the ledger's seals do not verify (it was changed outside Kith), and then no consent in it \
                    counts and `current` is empty"),
            )
            .response("404", problem_response("no such person"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/consents",
        append,
        operation("append_consent", "consents", "Append to a person's consent ledger (granted false withdraws)")
            .parameter(id_parameter())
            .request_body(Some(body("ConsentInput")))
            .response(
                "201",
                ResponseBuilder::new()
                    .description("recorded")
                    .content("application/json", json_content(Ref::from_schema_name("ConsentEntry")))
                    .build(),
            )
            .response("404", problem_response("no such person"))
            .response("422", problem_response("unknown purpose or notice version, or an invalid field"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/restriction",
        restrict,
        operation("restrict_processing", "consents", "Restrict processing of a person (Art. 18; admin, dpo)")
            .parameter(id_parameter())
            .response("200", ok("restricted"))
            .response("404", problem_response("no such person"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/contacts/{id}/restriction",
        restriction_state,
        operation(
            "restriction_state",
            "consents",
            "Whether a person is restricted, their objections and legal-claims exceptions (admin, dpo)",
        )
        .parameter(id_parameter())
        .response("200", ok("the state"))
        .response("404", problem_response("no such person"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/restriction/legal-claims",
        add_legal_claim,
        operation(
            "add_legal_claim",
            "consents",
            "Allow one purpose for a restricted person for a legal claim (Art. 18(2); dpo)",
        )
        .parameter(id_parameter())
        .request_body(Some(body("LegalClaimInput")))
        .response("201", ok("recorded"))
        .response("404", problem_response("no such person"))
        .response("409", problem_response("the person is not restricted"))
        .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/contacts/{id}/restriction",
        lift,
        operation("lift_restriction", "consents", "Lift a restriction (admin, dpo)")
            .parameter(id_parameter())
            .response("204", ok("lifted"))
            .response("404", problem_response("not restricted"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/objections",
        object,
        operation(
            "object_to_purpose",
            "consents",
            "Record a person's objection to a purpose (Art. 21); marketing is absolute",
        )
        .parameter(id_parameter())
        .request_body(Some(body("ObjectionInput")))
        .response("201", ok("recorded"))
        .response("404", problem_response("no such person"))
        .response("422", problem_response("not a purpose key"))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/notices",
        list_notices,
        operation("list_notices", "consents", "Privacy notice versions with their full text and SHA-256")
            .response("200", ok("the versions"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/notices",
        add_notice,
        operation("add_notice", "consents", "Add a privacy notice version (admin, dpo); versions never change")
            .request_body(Some(body("NoticeInput")))
            .response("201", ok("added"))
            .response("409", problem_response("the version exists"))
            .build(),
    )
}
