//! The data-subject request register (Art. 12–22) over HTTP: requests are
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

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{id_parameter, json_content, operation, problem_response, Api};
use crate::http::extract::{ApiJson, ApiQuery, MaybeJson};
use crate::http::guard::{Guard, ManageRequests, RegisterRequests};
use crate::listing::{encode_cursor, parse_cursor};
use crate::listing::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::sealing::{to_crypto, WRITE_ATTEMPTS};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::dsr::{
    deadline, Channel, RequestKind, RequestStatus, COMPLAINT_STATEMENT, DUE_SOON_DAYS, MAX_EXTENSION_MONTHS,
    MAX_FAILED_ATTEMPTS, TOKEN_TTL_DAYS,
};
use kith_core::entity::{IndexField, IndexTerm};
use kith_core::model::{parse_timestamp, unix_millis, Contact};
use kith_core::values::{check_text, email_lookup_key, parse_email, parse_phone};
use kith_core::{EntityKind, ErrorCode};
use kith_crypto::secrets::{constant_time_eq, hash_secret, random_token};
use kith_crypto::DataKey;
use kith_store::{DsrQuery, DsrRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Ref, Required, ResponseBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) const DAY_MS: i64 = 86_400_000;
/// A `received_at` may lie this far ahead of the server's clock (clients' clocks drift).
const CLOCK_SKEW_MS: i64 = 60_000;
const TOKEN_PREFIX: &str = "kith_dsr_";
/// Longest note, reason or grounds, in characters.
const MAX_TEXT: usize = 4000;

/// A new request:
/// the person by `contact_id`, or by exact `email` or `phone` (one of them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrInput {
    pub kind: RequestKind,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// RFC 3339; for a request that arrived earlier by another channel. Not in the future.
    #[serde(default)]
    pub received_at: Option<String>,
    /// Default `staff`.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// The purpose key an objection is about (objections only).
    #[serde(default)]
    pub purpose: Option<String>,
    /// Staff notes about the request (sealed).
    #[serde(default)]
    pub note: Option<String>,
}

/// Identity verification: a token the person received, or a staff
/// attestation (`method` `staff_attestation`) with how it was checked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrVerifyInput {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// An extension of the deadline by one or two months (Art. 12(3)).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrExtendInput {
    pub months: u8,
    pub reason: String,
    /// When the person was told of the extension and why (RFC 3339; default now).
    #[serde(default)]
    pub person_told_at: Option<String>,
}

/// A refusal and its grounds (Art. 12(4), 12(5)).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrRefuseInput {
    pub grounds: String,
}

/// Carrying a request out: `changes` for a rectification (contact fields,
/// as in a `PATCH`), or `outcome` `no_data` when no person matched.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrFulfilInput {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Map<String, Value>>,
    #[serde(default)]
    pub outcome: Option<String>,
}

/// What a request holds that is personal or free text: sealed.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Private {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attestation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extension_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grounds: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    complaint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    changes: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
}

impl Private {
    fn is_empty(&self) -> bool {
        self.held().is_empty() && self.complaint.is_none() && self.outcome.is_none()
    }

    /// Names of what is held, for audit events.
    fn held(&self) -> Vec<String> {
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
pub(crate) struct Request {
    pub(crate) row: DsrRow,
    /// `None` once erasure destroyed the request's key with its details.
    key: Option<DataKey>,
    /// A key made for an erased request that has something new to seal.
    new_key: Option<DataKey>,
    private: Private,
}

fn time_of(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn status_of(row: &DsrRow) -> ApiResult<RequestStatus> {
    RequestStatus::parse(&row.status).ok_or_else(|| ApiError::internal("dsr", "a stored status is unknown"))
}

pub(crate) fn kind_of(row: &DsrRow) -> ApiResult<RequestKind> {
    RequestKind::parse(&row.kind).ok_or_else(|| ApiError::internal("dsr", "a stored kind is unknown"))
}

/// The register's view of a request: clear columns only.
fn summary(row: &DsrRow, now: i64) -> Value {
    let open = RequestStatus::parse(&row.status).is_some_and(|s| !s.is_closed());
    let at = |t: Option<i64>| t.map(rfc3339_millis);
    json!({
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "channel": row.channel,
        "contact_id": row.contact_id,
        "purpose": row.purpose,
        "received_at": rfc3339_millis(row.received_at),
        "due_at": rfc3339_millis(row.due_at),
        "overdue": open && row.due_at < now,
        "extended_months": row.extended_months,
        "verified_at": at(row.verified_at),
        "verification_method": row.verification_method,
        "failed_attempts": row.failed_attempts,
        "completed_at": at(row.completed_at),
        "closed_at": at(row.closed_at),
        "created_by": row.created_by,
        "created_at": rfc3339_millis(row.created_at),
        "updated_at": rfc3339_millis(row.updated_at),
        "details_erased_at": at(row.erased_at),
    })
}

impl Request {
    /// The whole request, opened.
    fn render(&self) -> Value {
        let (row, p) = (&self.row, &self.private);
        let mut out = summary(row, crate::now_millis());
        let Value::Object(fields) = &mut out else { return out };
        let extension = (row.extended_months > 0).then(|| {
            json!({
                "months": row.extended_months,
                "reason": p.extension_reason,
                "person_told_at": row.person_told_at.map(rfc3339_millis),
            })
        });
        let refusal = p.grounds.as_ref().map(|g| json!({"grounds": g, "complaint": p.complaint}));
        for (name, value) in [
            ("email", json!(p.email)),
            ("phone", json!(p.phone)),
            ("note", json!(p.note)),
            ("attestation", json!(p.attestation)),
            ("token_expires_at", json!(row.token_expires_at.map(rfc3339_millis))),
            ("extension", json!(extension)),
            ("refusal", json!(refusal)),
            ("changes", json!(p.changes)),
            ("outcome", json!(p.outcome)),
        ] {
            fields.insert(name.into(), value);
        }
        out
    }

    /// Seals the details. An erased request stays without key and details
    /// until staff write something new on it, which gets a new key.
    fn seal(&mut self) -> ApiResult<()> {
        if self.key.is_none() && self.private.is_empty() {
            self.row.sealed = Vec::new();
            return Ok(());
        }
        let plaintext =
            zeroize::Zeroizing::new(serde_json::to_vec(&self.private).map_err(|e| ApiError::internal("dsr", e))?);
        let key = match &self.key {
            Some(key) => key,
            None => self.new_key.get_or_insert_with(DataKey::generate),
        };
        self.row.sealed = key.seal(&crate::sealing::dsr(self.row.id), &plaintext);
        Ok(())
    }
}

pub(crate) async fn load(state: &AppState, id: Uuid) -> ApiResult<Request> {
    let row = state.store.dsr(id).await?.ok_or_else(|| ApiError::not_found("request"))?;
    if row.erased_at.is_some() && row.sealed.is_empty() {
        return Ok(Request { row, key: None, new_key: None, private: Private::default() });
    }
    let wrapped = state.store.data_key(id).await?.ok_or_else(|| ApiError::not_found("request"))?;
    let key = state.keys.unwrap(&to_crypto(&wrapped))?;
    let plaintext = key.open(&crate::sealing::dsr(id), &row.sealed)?;
    let private = serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("dsr"))?;
    Ok(Request { row, key: Some(key), new_key: None, private })
}

/// The suppression-list term of the e-mail address or phone number a
/// request gave, so that erasing that person later finds the request.
fn given_term(state: &AppState, private: &Private) -> Option<Vec<u8>> {
    let term = match (&private.email, &private.phone) {
        (Some(email), _) => IndexTerm { field: IndexField::Email, value: email_lookup_key(email) },
        (None, Some(phone)) => IndexTerm { field: IndexField::Phone, value: phone.clone() },
        (None, None) => return None,
    };
    crate::service::erasure::suppression_term(&state.keys.current(), &term).map(|t| t.to_vec())
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
    AuditEvent {
        seq: 0,
        at: crate::now_millis(),
        actor: who.actor(),
        action,
        entity: Some("dsr".into()),
        record_id: record,
        subject_id: subject,
        fields,
        purpose: who.purpose.clone(),
        request_id: who.request_id.clone(),
        client: who.client.clone(),
        outcome: AuditOutcome::Ok,
    }
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

/// Finds the person a new request is about: the contact named (which must
/// exist), or the contact holding the e-mail address or phone number
/// given (through the blind index; none is a valid outcome).
async fn match_person(
    state: &AppState,
    who: &Caller,
    input: &DsrInput,
    private: &mut Private,
) -> ApiResult<Option<Uuid>> {
    let given = [input.contact_id.is_some(), input.email.is_some(), input.phone.is_some()];
    match given.iter().filter(|g| **g).count() {
        0 => return Err(ApiError::new(ErrorCode::MissingField, "contact_id: give contact_id, email or phone")),
        1 => {}
        _ => return Err(ApiError::new(ErrorCode::InvalidValue, "contact_id, email, phone: give exactly one")),
    }
    if let Some(id) = input.contact_id {
        if state.store.get(EntityKind::Contacts, id).await?.is_none() {
            return Err(ApiError::new(ErrorCode::UnknownReference, "contact_id: no such contact"));
        }
        return Ok(Some(id));
    }
    if let Some(raw) = &input.email {
        let email = parse_email(raw).map_err(|e| ApiError::from(e.at("email")))?;
        let found = state.records.find_contact_by_email(who, &email).await?;
        private.email = Some(email);
        return Ok(found);
    }
    let raw = input.phone.as_deref().unwrap_or_default();
    let phone = parse_phone(raw).map_err(|e| ApiError::from(e.at("phone")))?;
    let found = state.records.find_contact_by_phone(who, &phone).await?;
    private.phone = Some(phone);
    Ok(found)
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<RegisterRequests>,
    ApiJson(input): ApiJson<DsrInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.authorizer.authorize_requests(&who.principal, false)?;
    let request = register(&state, &who, &input).await?;
    Ok((StatusCode::CREATED, Json(request.render())))
}

/// Registers a new request with its deadline, matches the person, and
/// audits it. The caller was authorised: staff through the authoriser,
/// an agent through its signed claims (`drp.rs`).
pub(crate) async fn register(state: &AppState, who: &Caller, input: &DsrInput) -> ApiResult<Request> {
    let now = crate::now_millis();
    let received = match &input.received_at {
        Some(raw) => past_time("received_at", raw, now)?,
        None => time_of(now),
    };
    let purpose = match (input.kind, &input.purpose) {
        (RequestKind::Objection, Some(p)) if kith_core::purpose::data_uses().contains(p.trim()) => {
            Some(p.trim().to_string())
        }
        (RequestKind::Objection, Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidValue,
                "purpose: a purpose key, or marketing for all direct marketing",
            ))
        }
        (RequestKind::Objection, None) => {
            return Err(ApiError::new(ErrorCode::MissingField, "purpose: the purpose the person objects to"))
        }
        (_, Some(_)) => return Err(ApiError::new(ErrorCode::InvalidValue, "purpose: only for an objection")),
        (_, None) => None,
    };
    let mut private = Private::default();
    if let Some(note) = &input.note {
        private.note = Some(required_text("note", note, "empty: leave it out instead")?);
    }
    let contact = match_person(state, who, input, &mut private).await?;
    let id = Uuid::new_v4();
    let received_at = unix_millis(received);
    let mut request = Request {
        row: DsrRow {
            id,
            kind: input.kind.as_str().into(),
            status: RequestStatus::Received.as_str().into(),
            channel: input.channel.unwrap_or_default().as_str().into(),
            contact_id: contact,
            purpose,
            received_at,
            due_at: unix_millis(deadline(received, 0)),
            extended_months: 0,
            person_told_at: None,
            verified_at: None,
            verification_method: None,
            failed_attempts: 0,
            token_hash: None,
            token_expires_at: None,
            completed_at: None,
            closed_at: None,
            created_by: who.principal.name.clone(),
            created_at: now,
            updated_at: now,
            version: 1,
            sealed: Vec::new(),
            given_term: given_term(state, &private),
            erased_at: None,
        },
        key: Some(DataKey::generate()),
        new_key: None,
        private,
    };
    request.seal()?;
    let key = request.key.as_ref().ok_or_else(|| ApiError::internal("dsr", "a new request without a key"))?;
    // A key rotation switching the active KEK meanwhile means wrapping again.
    crate::sealing::write_with_new_key(&state.store, &state.keys, id, key, |wrapped| {
        let (store, row) = (&state.store, &request.row);
        async move { store.insert_dsr(row, &wrapped).await }
    })
    .await??;
    let fields = vec![
        "status:received".to_string(),
        format!("kind:{}", input.kind.as_str()),
        if contact.is_some() { "person:matched" } else { "person:unmatched" }.to_string(),
    ];
    state.audit.record(vec![event(who, AuditAction::Create, &request.row, fields)]).await?;
    Ok(request)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterParams {
    status: Option<String>,
    /// `open`, `due_soon` (open and due within seven days) or `overdue`.
    due: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The register, by due date: every request, or those of a status, or the
/// DPO's lists of open, due-soon and overdue ones.
async fn list(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(params): ApiQuery<RegisterParams>,
) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_requests(&who.principal, false)?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidQuery, format!("limit: between 1 and {MAX_LIMIT}")));
    }
    let now = crate::now_millis();
    let mut statuses: Vec<RequestStatus> = match &params.status {
        Some(raw) => vec![RequestStatus::parse(raw)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "status: one of the statuses a request can have"))?],
        None => RequestStatus::ALL.to_vec(),
    };
    let mut query = DsrQuery { limit: limit + 1, ..Default::default() };
    if let Some(due) = &params.due {
        statuses.retain(|s| !s.is_closed());
        match due.as_str() {
            "open" => {}
            "due_soon" => (query.due_from, query.due_to) = (Some(now), Some(now + DUE_SOON_DAYS * DAY_MS)),
            "overdue" => query.due_to = Some(now),
            _ => return Err(ApiError::new(ErrorCode::InvalidQuery, "due: open, due_soon or overdue")),
        }
    }
    if statuses.is_empty() {
        return Ok(Json(json!({"items": [], "next_cursor": null})));
    }
    query.statuses = statuses.iter().map(|s| s.as_str().to_string()).collect();
    query.after = params.cursor.as_deref().map(parse_cursor).transpose()?;
    let mut rows = state.store.dsrs(&query).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut events: Vec<AuditEvent> =
        rows.iter().map(|row| event(&who, AuditAction::Read, row, vec!["register".into()])).collect();
    if events.is_empty() {
        // A list that shows nobody still tells the caller something.
        events.push(about(&who, AuditAction::Read, None, None, vec!["register".into()]));
    }
    state.audit.record(events).await?;
    let next_cursor = match rows.last() {
        Some(last) if more => Some(encode_cursor(last.due_at, last.id)),
        _ => None,
    };
    let items: Vec<Value> = rows.iter().map(|row| summary(row, now)).collect();
    Ok(Json(json!({"items": items, "next_cursor": next_cursor})))
}

async fn get(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_requests(&who.principal, false)?;
    let request = load(&state, crate::http::extract::path_id(&id)?).await?;
    let mut fields = vec!["request".to_string()];
    fields.extend(request.private.held());
    state.audit.record(vec![event(&who, AuditAction::Read, &request.row, fields)]).await?;
    Ok(Json(request.render()))
}

/// What a step did: the audit fields, and a refusal to answer once the
/// step is stored (a failed verification is counted, then refused).
struct Step {
    fields: Vec<String>,
    refusal: Option<ApiError>,
}

impl Step {
    fn done(fields: &[&str]) -> Self {
        Self { fields: fields.iter().map(|f| f.to_string()).collect(), refusal: None }
    }
}

/// Moves a request one step: reads it, lets `change` apply the step (or
/// refuse it), seals and writes it if nobody changed it meanwhile (else
/// reads again), and audits it.
async fn step(
    state: &AppState,
    who: &Caller,
    id: Uuid,
    change: impl Fn(&mut Request, i64) -> ApiResult<Step>,
) -> ApiResult<Request> {
    for _ in 0..WRITE_ATTEMPTS {
        let mut request = load(state, id).await?;
        let now = crate::now_millis();
        let Step { fields, refusal } = change(&mut request, now)?;
        request.row.updated_at = now.max(request.row.updated_at);
        request.seal()?;
        let new_key = match &request.new_key {
            Some(key) => Some(state.records.wrap_new_key(id, key).await?),
            None => None,
        };
        let mut audited = event(who, AuditAction::Update, &request.row, fields);
        if refusal.is_some() {
            audited.outcome = AuditOutcome::Denied;
        }
        // The event is durable before the change; a lost race records it as failed.
        // `Err(None)`: someone changed the request first; read it again.
        let write = async {
            match state.store.update_dsr(&request.row, new_key.as_ref()).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(None),
                Err(e) => Err(Some(e)),
            }
        };
        match state.audit.intend(vec![audited], write).await? {
            Ok(()) => {}
            Err(None) => continue,
            Err(Some(e)) => return Err(e.into()),
        }
        if let Some(key) = request.new_key.take() {
            request.key = Some(key);
        }
        request.row.version += 1;
        if refusal.is_none() && request.row.channel == Channel::Agent.as_str() {
            crate::drp::register_moved(state, id);
        }
        return match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(request),
        };
    }
    Err(ApiError::new(ErrorCode::Conflict, "the request kept changing; try again"))
}

/// Moves the request's status to `to`, if that move is allowed.
fn move_to(request: &mut Request, to: RequestStatus, now: i64) -> ApiResult<()> {
    status_of(&request.row)?.check_move(to)?;
    request.row.status = to.as_str().into();
    if to.is_closed() {
        request.row.closed_at = Some(now);
    }
    Ok(())
}

/// Issues a single-use token for the person (the privacy portal's link):
/// shown once in this answer, stored as its SHA-256, valid for seven days.
/// A new token replaces a pending one.
async fn issue_token(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.authorizer.authorize_requests(&who.principal, true)?;
    let id = crate::http::extract::path_id(&id)?;
    let token = format!("{TOKEN_PREFIX}{}", *random_token(32));
    let hash = hash_secret(&token);
    let request = step(&state, &who, id, |request, now| {
        move_to(request, RequestStatus::IdentityVerification, now)?;
        request.row.token_hash = Some(hash.clone());
        request.row.token_expires_at = Some(now + TOKEN_TTL_DAYS * DAY_MS);
        Ok(Step::done(&["status:identity_verification", "verification_token"]))
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": request.row.id,
            "status": request.row.status,
            "token": token,
            "expires_at": request.row.token_expires_at.map(rfc3339_millis),
        })),
    ))
}

/// Verifies the person's identity: a token issued for this request
/// (unknown, used and expired ones count as failed attempts, and the fifth
/// locks the request), or a staff attestation saying how it was checked.
async fn verify(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageRequests>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DsrVerifyInput>,
) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_requests(&who.principal, true)?;
    let id = crate::http::extract::path_id(&id)?;
    let request = match (&input.token, &input.method) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidValue,
                "token, method: give a token, or method staff_attestation with a note",
            ))
        }
        (None, None) => {
            return Err(ApiError::new(ErrorCode::MissingField, "token: or method staff_attestation with a note"))
        }
        (Some(token), None) => {
            if input.note.is_some() {
                return Err(ApiError::new(ErrorCode::InvalidValue, "note: only with a staff attestation"));
            }
            let hash = hash_secret(token.trim());
            step(&state, &who, id, |request, now| verify_token(request, &hash, now)).await?
        }
        (None, Some(method)) => {
            if method != "staff_attestation" {
                return Err(ApiError::new(ErrorCode::InvalidValue, "method: staff_attestation"));
            }
            let note = required_text(
                "note",
                input.note.as_deref().unwrap_or_default(),
                "how the person's identity was checked",
            )?;
            step(&state, &who, id, |request, now| {
                move_to(request, RequestStatus::InProgress, now)?;
                verified(request, "staff_attestation", now);
                request.private.attestation = Some(note.clone());
                Ok(Step::done(&["status:in_progress", "verification:staff_attestation"]))
            })
            .await?
        }
    };
    Ok(Json(request.render()))
}

fn verified(request: &mut Request, method: &str, now: i64) {
    let row = &mut request.row;
    (row.verified_at, row.verification_method) = (Some(now), Some(method.into()));
    (row.token_hash, row.token_expires_at, row.failed_attempts) = (None, None, 0);
}

fn verify_token(request: &mut Request, hash: &[u8], now: i64) -> ApiResult<Step> {
    let status = status_of(&request.row)?;
    status.check_move(RequestStatus::InProgress)?;
    let row = &request.row;
    let matches = row.token_hash.as_deref().is_some_and(|stored| constant_time_eq(stored, hash));
    if matches && row.token_expires_at.is_some_and(|until| until > now) {
        move_to(request, RequestStatus::InProgress, now)?;
        verified(request, "token", now);
        return Ok(Step::done(&["status:in_progress", "verification:token"]));
    }
    let row = &mut request.row;
    row.failed_attempts += 1;
    if row.failed_attempts < MAX_FAILED_ATTEMPTS {
        return Ok(Step {
            fields: vec!["verification:failed".into()],
            refusal: Some(ApiError::new(ErrorCode::VerificationFailed, "token: unknown, used or expired")),
        });
    }
    // Locked: the pending token is void, and only the DPO's unlock reopens it.
    (row.status, row.token_hash, row.token_expires_at) = (RequestStatus::Locked.as_str().into(), None, None);
    Ok(Step {
        fields: vec!["verification:failed".into(), "status:locked".into()],
        refusal: Some(ApiError::new(
            ErrorCode::RequestLocked,
            format!("{MAX_FAILED_ATTEMPTS} failed verifications: the DPO must unlock the request"),
        )),
    })
}

/// The DPO reopens a locked request: back to `received`, the failures forgotten.
async fn unlock(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_requests(&who.principal, true)?;
    let id = crate::http::extract::path_id(&id)?;
    let request = step(&state, &who, id, |request, now| {
        move_to(request, RequestStatus::Received, now)?;
        let row = &mut request.row;
        (row.failed_attempts, row.token_hash, row.token_expires_at) = (0, None, None);
        Ok(Step::done(&["status:received", "unlock"]))
    })
    .await?;
    Ok(Json(request.render()))
}

/// Extends the deadline once, by one or two months counted like the first
/// (Art. 12(3)), with the reason and when the person was told.
async fn extend(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageRequests>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DsrExtendInput>,
) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_requests(&who.principal, true)?;
    let id = crate::http::extract::path_id(&id)?;
    if !(1..=MAX_EXTENSION_MONTHS).contains(&input.months) {
        return Err(ApiError::new(ErrorCode::InvalidValue, format!("months: 1 to {MAX_EXTENSION_MONTHS}")));
    }
    let reason = required_text("reason", &input.reason, "why the request needs more time")?;
    let now = crate::now_millis();
    let told = match &input.person_told_at {
        Some(raw) => unix_millis(past_time("person_told_at", raw, now)?),
        None => now,
    };
    let request = step(&state, &who, id, |request, _| {
        if status_of(&request.row)?.is_closed() {
            return Err(ApiError::new(ErrorCode::InvalidTransition, "a closed request has no deadline to extend"));
        }
        if request.row.extended_months > 0 {
            return Err(ApiError::new(
                ErrorCode::AlreadyExtended,
                format!("the deadline was extended already; at most {MAX_EXTENSION_MONTHS} months in all"),
            ));
        }
        let row = &mut request.row;
        row.extended_months = i64::from(input.months);
        row.due_at = unix_millis(deadline(time_of(row.received_at), input.months));
        row.person_told_at = Some(told);
        request.private.extension_reason = Some(reason.clone());
        Ok(Step { fields: vec![format!("extension:{}", input.months)], refusal: None })
    })
    .await?;
    Ok(Json(request.render()))
}

/// Refuses a request with its grounds; the answer and the stored request
/// carry the statement of the right to complain (Art. 12(4)).
async fn refuse(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageRequests>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DsrRefuseInput>,
) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_requests(&who.principal, true)?;
    let id = crate::http::extract::path_id(&id)?;
    let grounds = required_text("grounds", &input.grounds, "why the request is refused")?;
    let request = step(&state, &who, id, |request, now| {
        move_to(request, RequestStatus::Refused, now)?;
        request.private.grounds = Some(grounds.clone());
        request.private.complaint = Some(COMPLAINT_STATEMENT.into());
        Ok(Step::done(&["status:refused"]))
    })
    .await?;
    Ok(Json(request.render()))
}

async fn withdraw(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_requests(&who.principal, true)?;
    let request = withdrawn(&state, &who, crate::http::extract::path_id(&id)?).await?;
    Ok(Json(request.render()))
}

/// Withdraws a request, for the DPO or the agent that filed it.
pub(crate) async fn withdrawn(state: &AppState, who: &Caller, id: Uuid) -> ApiResult<Request> {
    step(state, who, id, |request, now| {
        move_to(request, RequestStatus::Withdrawn, now)?;
        Ok(Step::done(&["status:withdrawn"]))
    })
    .await
}

/// What the next slices build, for the answer to a request Kith cannot carry out yet.
/// Why an access or portability request cannot complete yet.
const ARCHIVE_PENDING: &str =
    "the archive was not downloaded yet: get a link (POST export-link) and download it (GET export) first";

/// Carries a verified request out: erasure erases the person (unless an
/// exception holds) and answers the signed receipt, restriction and
/// objection set the states the policy enforces, rectification applies
/// the changes to the contact; access and portability complete once the
/// archive was downloaded; a request whose person did not match completes
/// with `outcome: no_data`.
async fn fulfil(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageRequests>,
    Path(id): Path<String>,
    MaybeJson(input): MaybeJson<DsrFulfilInput>,
) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_requests(&who.principal, true)?;
    let id = crate::http::extract::path_id(&id)?;
    let request = load(&state, id).await?;
    status_of(&request.row)?.check_move(RequestStatus::Completed)?;
    let kind = kind_of(&request.row)?;
    if input.changes.is_some() && kind != RequestKind::Rectification {
        return Err(ApiError::new(ErrorCode::InvalidValue, "changes: only for a rectification"));
    }
    let no_data = match input.outcome.as_deref() {
        None => false,
        Some("no_data") if request.row.contact_id.is_none() && input.changes.is_none() => true,
        Some("no_data") => {
            return Err(ApiError::new(
                ErrorCode::InvalidValue,
                "outcome: no_data only for a request whose person did not match, without changes",
            ))
        }
        Some(_) => return Err(ApiError::new(ErrorCode::InvalidValue, "outcome: no_data")),
    };
    // The request is the reason for what is done on its behalf: the audit
    // events of the changes carry `dsr:<id>` as their request id.
    let on_behalf = Caller { request_id: Some(format!("dsr:{id}")), ..who.clone() };
    let mut fields = vec!["status:completed".to_string()];
    let mut receipt = None;
    match (request.row.contact_id, kind) {
        (None, _) if no_data => fields.push("outcome:no_data".into()),
        (None, _) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "no person matched this request: complete it with outcome no_data, or refuse it",
            ))
        }
        // The archive is the answer: complete once it was downloaded.
        (Some(_), RequestKind::Access | RequestKind::Portability) => match state.store.last_export(id).await? {
            Some(_) => fields.push(format!("fulfilment:{}", kind.as_str())),
            None => return Err(ApiError::new(ErrorCode::FulfilmentPending, ARCHIVE_PENDING)),
        },
        (Some(contact), RequestKind::Erasure) => {
            // The store's erasure also destroyed the details of every
            // request about the person, this one included.
            receipt = Some(crate::service::erasure::erase(&state, &on_behalf, id, contact).await?);
            fields.push("fulfilment:erasure".into());
        }
        (Some(contact), RequestKind::Restriction) => {
            crate::service::consents::record_restriction(&state, &on_behalf, contact).await?;
            fields.push("fulfilment:restriction".into());
            fields.push(crate::service::erasure::record_recipients(&state, id).await?);
        }
        (Some(contact), RequestKind::Objection) => {
            let purpose = request.row.purpose.as_deref().ok_or_else(|| ApiError::internal("dsr", "no purpose"))?;
            crate::service::consents::record_objection(&state, &on_behalf, contact, purpose).await?;
            fields.push(format!("fulfilment:objection:{purpose}"));
        }
        (Some(contact), RequestKind::Rectification) => {
            let changes = input
                .changes
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ApiError::new(ErrorCode::MissingField, "changes: the contact fields to correct"))?;
            state.records.update::<Contact>(&on_behalf, contact, changes).await?;
            fields.push("fulfilment:rectification".into());
            fields.push(crate::service::erasure::record_recipients(&state, id).await?);
        }
    }
    let request = step(&state, &who, id, |request, now| {
        move_to(request, RequestStatus::Completed, now)?;
        request.row.completed_at = Some(now);
        request.private.changes = input.changes.clone();
        request.private.outcome = no_data.then(|| "no_data".to_string());
        Ok(Step { fields: fields.clone(), refusal: None })
    })
    .await?;
    let mut answer = request.render();
    if let Some(receipt) = receipt {
        answer["receipt"] = receipt;
    }
    Ok(Json(answer))
}

/// The data-subject request routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <DsrInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    for (name, schema) in [
        ("DsrInput", <DsrInput as utoipa::PartialSchema>::schema()),
        ("DsrVerifyInput", <DsrVerifyInput as utoipa::PartialSchema>::schema()),
        ("DsrExtendInput", <DsrExtendInput as utoipa::PartialSchema>::schema()),
        ("DsrRefuseInput", <DsrRefuseInput as utoipa::PartialSchema>::schema()),
        ("DsrFulfilInput", <DsrFulfilInput as utoipa::PartialSchema>::schema()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let body = |schema: &str, required: bool| {
        RequestBodyBuilder::new()
            .required(Some(if required { Required::True } else { Required::False }))
            .content("application/json", json_content(Ref::from_schema_name(schema)))
            .build()
    };
    let ok = |what: &str| ResponseBuilder::new().description(what).build();
    let step_op = |id: &str, summary: &str| {
        operation(id, "dsr", summary)
            .parameter(id_parameter())
            .response("200", ok("the request"))
            .response("404", problem_response("no such request"))
            .response("409", problem_response("the request cannot take this step now"))
    };
    api.route(
        HttpMethod::Post,
        "/api/v1/dsr",
        create,
        operation("create_dsr", "dsr", "Register a data-subject request (dpo, support)")
            .request_body(Some(body("DsrInput", true)))
            .response("201", ok("registered, with its deadline"))
            .response("422", problem_response("an invalid field, or an unknown contact"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/dsr",
        list,
        operation("list_dsr", "dsr", "The register by due date; status, and due=open|due_soon|overdue (dpo, support)")
            .response("200", ok("a page of requests"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/dsr/{id}",
        get,
        operation("get_dsr", "dsr", "One request, opened (dpo, support)")
            .parameter(id_parameter())
            .response("200", ok("the request"))
            .response("404", problem_response("no such request"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/verification-token",
        issue_token,
        operation("issue_dsr_token", "dsr", "Issue a single-use verification token for the person, shown once (dpo)")
            .parameter(id_parameter())
            .response("201", ok("the token and its expiry"))
            .response("404", problem_response("no such request"))
            .response("409", problem_response("the request is locked, verified or closed"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/verify",
        verify,
        step_op("verify_dsr", "Verify the person's identity by token or staff attestation (dpo)")
            .request_body(Some(body("DsrVerifyInput", true)))
            .response("422", problem_response("a wrong, used or expired token"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/unlock",
        unlock,
        step_op("unlock_dsr", "Unlock a request locked by failed verifications (dpo)").build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/extend",
        extend,
        step_op("extend_dsr", "Extend the deadline once by one or two months (Art. 12(3); dpo)")
            .request_body(Some(body("DsrExtendInput", true)))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/refuse",
        refuse,
        step_op("refuse_dsr", "Refuse with grounds and the right to complain (Art. 12(4); dpo)")
            .request_body(Some(body("DsrRefuseInput", true)))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/withdraw",
        withdraw,
        step_op("withdraw_dsr", "The person withdrew the request (dpo)").build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/fulfil",
        fulfil,
        step_op("fulfil_dsr", "Carry a verified request out (erasure, restriction, objection, rectification; dpo)")
            .request_body(Some(body("DsrFulfilInput", false)))
            .build(),
    )
}
