//! The Data Rights Protocol 1.0, Covered Business side: agents the DPO
//! configured register with signed claims for a pairwise token, then
//! file requests on a person's behalf, read their status and revoke them.
//!
//! An agent authenticates with its own credentials, never a Kith token:
//! these routes sit outside the bearer-token middleware. A deletion or an
//! access request becomes a data-subject request of the register (channel
//! `agent`), so identity verification, deadlines and fulfilment stay the
//! DPO's; its protocol status is read from the register's state. An
//! opt-out of sale is recorded at once as objections. The identity an
//! agent sends lives only in the sealed data-subject request; the tables
//! here hold ids, statuses and the agent's callback address. Status
//! changes are posted to that address in the background.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::{Credential, Principal};
use crate::dsr::{DsrInput, DAY_MS};
use crate::error::{ApiError, ApiResult};
use crate::http::api::{json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, ManageAgents};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::drp::{
    is_revocation_of, split_signed, status_of, timestamp, Envelope, Exercise, EXPECTED_DAYS, OPT_OUT_PURPOSES,
};
use kith_core::dsr::{Channel, RequestStatus};
use kith_core::ErrorCode;
use kith_crypto::secrets::{hash_secret, random_token};
use kith_crypto::signed_note::{is_verify_key, verify_detached};
use kith_store::{DrpAgentRow, DrpRequestRow, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Required, ResponseBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

/// Longest agent id or name, in characters.
const MAX_ID: usize = 200;
const TOKEN_PREFIX: &str = "kith_drp_";

/// An agent the DPO trusts: its id, a name for people, its Ed25519
/// public key (base64 of the 32 bytes), and the host names its status
/// callbacks may go to (none: no callback is sent; the agent can ask).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    pub agent_id: String,
    pub name: String,
    pub verify_key: String,
    #[serde(default)]
    #[schema(example = json!(["agent.example"]))]
    pub callback_hosts: Vec<String>,
}

/// Most callback hosts per agent.
const MAX_CALLBACK_HOSTS: usize = 20;

/// Host names as the URL parser gives them: lower-case DNS names (labels
/// of letters, digits and inner hyphens) or IP addresses; no scheme, port
/// or path.
fn checked_hosts(hosts: &[String]) -> ApiResult<Vec<String>> {
    let refused = || {
        ApiError::new(
            ErrorCode::InvalidValue,
            format!("callback_hosts: at most {MAX_CALLBACK_HOSTS} host names, without scheme, port or path"),
        )
    };
    if hosts.len() > MAX_CALLBACK_HOSTS {
        return Err(refused());
    }
    let mut checked: Vec<String> = Vec::new();
    for host in hosts {
        let host = host.trim().to_lowercase();
        let name = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        let valid = name || host.parse::<std::net::IpAddr>().is_ok();
        if !valid {
            return Err(refused());
        }
        if !checked.contains(&host) {
            checked.push(host);
        }
    }
    Ok(checked)
}

fn agent_view(row: &DrpAgentRow) -> Value {
    json!({
        "agent_id": row.agent_id,
        "name": row.name,
        "verify_key": B64.encode(&row.verify_key),
        "created_by": row.created_by,
        "created_at": crate::clock::rfc3339_millis(row.created_at),
        "callback_hosts": row.callback_hosts,
    })
}

fn checked_id(field: &str, raw: &str) -> ApiResult<String> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > MAX_ID || text.chars().any(char::is_control) {
        return Err(ApiError::new(ErrorCode::InvalidValue, format!("{field}: 1 to {MAX_ID} printable characters")));
    }
    Ok(text.to_string())
}

async fn add_agent(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageAgents>,
    ApiJson(input): ApiJson<AgentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.authorizer.authorize_agents(&who.principal)?;
    let agent_id = checked_id("agent_id", &input.agent_id)?;
    let name = checked_id("name", &input.name)?;
    let key = B64
        .decode(input.verify_key.trim())
        .ok()
        .filter(|k| is_verify_key(k))
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidValue, "verify_key: base64 of an Ed25519 public key"))?;
    let row = DrpAgentRow {
        agent_id,
        name,
        verify_key: key,
        created_by: who.principal.name.clone(),
        created_at: crate::now_millis(),
        callback_hosts: checked_hosts(&input.callback_hosts)?,
    };
    match state.store.insert_drp_agent(&row).await {
        Err(StoreError::Duplicate) => {
            return Err(ApiError::new(ErrorCode::Conflict, "agent_id: an agent with this id exists"))
        }
        result => result?,
    }
    let fields = vec![format!("agent:{}", row.agent_id)];
    state.audit.record(vec![audit_event::by(&who, AuditAction::Create, About::entity("drp_agent"), fields)]).await?;
    Ok((StatusCode::CREATED, Json(agent_view(&row))))
}

async fn list_agents(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_agents(&who.principal)?;
    let rows = state.store.drp_agents().await?;
    let fields = vec!["agents".to_string()];
    state.audit.record(vec![audit_event::by(&who, AuditAction::Read, About::entity("drp_agent"), fields)]).await?;
    Ok(Json(json!({"items": rows.iter().map(agent_view).collect::<Vec<_>>()})))
}

/// Removes an agent: its pairwise tokens stop working at once; the
/// requests it filed stay in the register.
async fn remove_agent(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.authorizer.authorize_agents(&who.principal)?;
    if !state.store.delete_drp_agent(&id).await? {
        return Err(ApiError::not_found("agent"));
    }
    let fields = vec![format!("agent:{id}")];
    state.audit.record(vec![audit_event::by(&who, AuditAction::Delete, About::entity("drp_agent"), fields)]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller an agent acts as: audited as `agent:<id>`, with no role
/// and no permission (it matches people through the register only).
fn agent_caller(agent: &str, headers: &HeaderMap) -> Caller {
    let principal = Principal {
        credential: Credential::Agent(agent.to_string()),
        name: format!("agent:{agent}"),
        roles: Vec::new(),
        teams: Vec::new(),
        permissions: Default::default(),
    };
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    Caller { principal, request_id, client: None, purpose: None, override_suppression: false }
}

/// Opens a signed body in the protocol's order: base64, the signature
/// with the agent's key, then the agent, the business and the validity
/// window. Any failure is `None`, so every answer to it is the same. The
/// claims come back with their envelope (when they were issued).
fn open_signed(state: &AppState, body: &str, agent: &DrpAgentRow) -> Option<(Value, Envelope)> {
    let decoded = B64.decode(body.trim()).ok()?;
    let (signature, message) = split_signed(&decoded)?;
    if !verify_detached(&agent.verify_key, message, signature) {
        return None;
    }
    let value: Value = serde_json::from_slice(message).ok()?;
    let envelope: Envelope = serde_json::from_value(value.clone()).ok()?;
    envelope
        .holds(&agent.agent_id, &state.config.drp_business_id, OffsetDateTime::now_utc())
        .then_some((value, envelope))
}

fn forbidden() -> Response {
    StatusCode::FORBIDDEN.into_response()
}

/// A protocol error object: `{code, message, fatal}`.
fn drp_error(status: StatusCode, code: &str, message: &str, fatal: bool) -> Response {
    (status, Json(json!({"code": code, "message": message, "fatal": fatal}))).into_response()
}

fn from_api(e: ApiError) -> Response {
    let status = if e.code == ErrorCode::Internal || e.code == ErrorCode::Unavailable {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    drp_error(status, e.code.as_str(), &e.detail, status == StatusCode::BAD_REQUEST)
}

/// The agent a `Bearer` pairwise token belongs to.
async fn bearer_agent(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<DrpAgentRow>> {
    let Some(token) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Ok(None);
    };
    match state.store.drp_token_agent(&hash_secret(token.trim())).await? {
        Some(agent) => Ok(state.store.drp_agent(&agent).await?),
        None => Ok(None),
    }
}

/// `POST /v1/agent/{agent-id}`: signed claims for a new pairwise token,
/// shown once and stored as its SHA-256. Every failure is 403 without a body.
async fn register_agent(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    let Some(agent) = state.store.drp_agent(&agent_id).await? else { return Ok(forbidden()) };
    if open_signed(&state, &body, &agent).is_none() {
        // A refused registration of a configured agent is audited (an
        // unknown agent id is the caller's string, not worth a line), so
        // repeated forgeries show in the log and its alerts.
        let who = agent_caller(&agent.agent_id, &headers);
        let mut refused =
            audit_event::by(&who, AuditAction::Authenticate, About::entity("drp_agent"), vec!["registration".into()]);
        refused.outcome = AuditOutcome::Denied;
        state.audit.record_refusal(refused).await?;
        return Ok(forbidden());
    }
    let token = format!("{TOKEN_PREFIX}{}", *random_token(32));
    let now = crate::now_millis();
    state.store.insert_drp_token(&hash_secret(&token), &agent.agent_id, now).await?;
    let who = agent_caller(&agent.agent_id, &headers);
    let event =
        audit_event::by(&who, AuditAction::TokenIssue, About::entity("drp_agent"), vec!["pairwise_token".into()]);
    state.audit.record(vec![event]).await?;
    Ok(Json(json!({"agent-id": agent.agent_id, "token": token})).into_response())
}

/// `GET /v1/agent/{agent-id}`: `{}` when the token is this agent's.
async fn agent_information(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    match bearer_agent(&state, &headers).await? {
        Some(agent) if agent.agent_id == agent_id => Ok(Json(json!({})).into_response()),
        _ => Ok(forbidden()),
    }
}

fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The protocol's view of a request: its own status while no register
/// request carries it, else the register's state.
pub(crate) async fn status_object(state: &AppState, row: &DrpRequestRow) -> ApiResult<Value> {
    let (mut status, mut reason, mut expected_by) = (row.status.clone(), row.reason.clone(), row.expected_by);
    if let Some(dsr) = row.dsr_id {
        if let Some(dsr) = state.store.dsr(dsr).await? {
            let (s, r) = status_of(crate::dsr::status_of(&dsr)?);
            (status, reason, expected_by) = (s.to_string(), r.map(str::to_string), dsr.due_at);
        }
    }
    Ok(json!({
        "request_id": row.id,
        "received_at": timestamp(row.received_at),
        "expected_by": timestamp(expected_by),
        "agent_request_id": row.agent_request_id,
        "status": status,
        "reason": reason,
        "processing_details": null,
        "user_verification_url": null,
        "expires_at": null,
    }))
}

fn drp_event(
    who: &Caller,
    action: AuditAction,
    row: &DrpRequestRow,
    subject: Option<Uuid>,
    fields: Vec<String>,
) -> AuditEvent {
    let about = About { entity: "drp_request", record: Some(row.id), subject };
    audit_event::by(who, action, about, fields)
}

/// `POST /v1/data-rights-request`: a signed request on a person's behalf.
async fn create_request(State(state): State<AppState>, headers: HeaderMap, body: String) -> ApiResult<Response> {
    let Some(agent) = bearer_agent(&state, &headers).await? else {
        return Ok(drp_error(StatusCode::FORBIDDEN, "forbidden", "unknown token", true));
    };
    let Some((claims, _)) = open_signed(&state, &body, &agent) else {
        return Ok(drp_error(StatusCode::FORBIDDEN, "forbidden", "the signed claims do not hold", true));
    };
    let Some(exercise) = text(&claims, "exercise").as_deref().and_then(Exercise::parse) else {
        return Ok(drp_error(StatusCode::BAD_REQUEST, "invalid_exercise", "exercise: a right of DRP 1.0", true));
    };
    let Some(agent_request_id) = text(&claims, "agent-request-id") else {
        return Ok(drp_error(StatusCode::BAD_REQUEST, "missing_field", "agent-request-id: required", true));
    };
    let now = crate::now_millis();
    let mut row = DrpRequestRow {
        id: Uuid::new_v4(),
        agent_id: agent.agent_id.clone(),
        agent_request_id,
        exercise: exercise.as_str().into(),
        dsr_id: None,
        status: "open".into(),
        reason: None,
        status_callback: text(&claims, "status_callback"),
        received_at: now,
        expected_by: now + EXPECTED_DAYS * DAY_MS,
    };
    let who = agent_caller(&agent.agent_id, &headers);
    let (email, phone) = (text(&claims, "email"), text(&claims, "phone_number"));
    let mut subject = None;
    let regime = claims.get("regime").and_then(Value::as_str);
    if regime.is_some_and(|r| r != "ccpa") {
        (row.status, row.reason) = ("denied".into(), Some("outside_jurisdiction".into()));
    } else if email.is_none() && phone.is_none() {
        (row.status, row.reason) = ("denied".into(), Some("insuf_verification".into()));
    } else if let Some(kind) = exercise.request_kind() {
        let input = DsrInput {
            kind,
            contact_id: None,
            phone: if email.is_none() { phone } else { None },
            email,
            received_at: None,
            channel: Some(Channel::Agent),
            purpose: None,
            note: None,
        };
        let request = match crate::dsr::register(&state, &who, &input).await {
            Ok(request) => request,
            Err(e) => return Ok(from_api(e)),
        };
        (row.dsr_id, subject) = (Some(request.row.id), request.row.contact_id);
    } else if exercise == Exercise::SaleOptIn {
        (row.status, row.reason) = ("denied".into(), Some("claim_not_covered".into()));
    } else if state.opt_out_limit.take(&agent.agent_id, std::time::Instant::now()).is_err() {
        // An opt-out's answer tells whether the address is known: an agent
        // may not test addresses faster than this.
        (row.status, row.reason) = ("denied".into(), Some("too_many_requests".into()));
    } else {
        let found = match (&email, &phone) {
            (Some(email), _) => state.records.find_contact_by_email(&who, email).await,
            (None, Some(phone)) => state.records.find_contact_by_phone(&who, phone).await,
            (None, None) => Ok(None),
        };
        match found {
            Ok(Some(contact)) => {
                let on_behalf = Caller { request_id: Some(format!("drp:{}", row.id)), ..who.clone() };
                for purpose in OPT_OUT_PURPOSES {
                    crate::service::consents::record_objection(&state, &on_behalf, contact, purpose).await?;
                }
                (row.status, subject) = ("fulfilled".into(), Some(contact));
            }
            Ok(None) => (row.status, row.reason) = ("denied".into(), Some("no_match".into())),
            Err(e) => return Ok(from_api(e)),
        }
    }
    state.store.insert_drp_request(&row).await?;
    let mut fields = vec![format!("exercise:{}", row.exercise)];
    if row.dsr_id.is_none() {
        fields.push(format!("status:{}", row.status));
    }
    state.audit.record(vec![drp_event(&who, AuditAction::Create, &row, subject, fields)]).await?;
    Ok(Json(status_object(&state, &row).await?).into_response())
}

/// The request `id` if the token's agent filed it; else the answer to give.
async fn own_request(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> ApiResult<Result<(DrpAgentRow, DrpRequestRow), Response>> {
    let Some(agent) = bearer_agent(state, headers).await? else {
        return Ok(Err(drp_error(StatusCode::FORBIDDEN, "forbidden", "unknown token", true)));
    };
    let row = match Uuid::parse_str(id) {
        Ok(id) => state.store.drp_request(id).await?,
        Err(_) => None,
    };
    match row {
        Some(row) if row.agent_id == agent.agent_id => Ok(Ok((agent, row))),
        Some(_) => Ok(Err(drp_error(StatusCode::FORBIDDEN, "forbidden", "not this agent's request", true))),
        None => Ok(Err(drp_error(StatusCode::NOT_FOUND, "not_found", "no such request", true))),
    }
}

/// `GET /v1/data-rights-request/{id}`: the status, to the agent that filed it.
async fn request_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    match own_request(&state, &headers, &id).await? {
        Ok((_, row)) => Ok(Json(status_object(&state, &row).await?).into_response()),
        Err(answer) => Ok(answer),
    }
}

/// `DELETE /v1/data-rights-request/{id}`: the person revoked the request
/// (signed `{"reason"}`; the reason is not kept: it is free text). The
/// register's request is withdrawn.
async fn revoke_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    let (agent, row) = match own_request(&state, &headers, &id).await? {
        Ok(found) => found,
        Err(answer) => return Ok(answer),
    };
    let received = OffsetDateTime::from_unix_timestamp_nanos(i128::from(row.received_at) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let revocation = open_signed(&state, &body, &agent)
        .filter(|(claims, envelope)| is_revocation_of(claims, envelope.issued_at, received));
    if revocation.is_none() {
        return Ok(drp_error(StatusCode::FORBIDDEN, "forbidden", "the signed claims do not hold", true));
    }
    let who = agent_caller(&agent.agent_id, &headers);
    let mut subject = None;
    match row.dsr_id {
        Some(dsr) => {
            let current = state.store.dsr(dsr).await?.ok_or_else(|| ApiError::not_found("request"))?;
            subject = current.contact_id;
            if crate::dsr::status_of(&current)? != RequestStatus::Withdrawn {
                if let Err(e) = crate::dsr::withdrawn(&state, &who, dsr).await {
                    return Ok(drp_error(StatusCode::BAD_REQUEST, e.code.as_str(), "the request is closed", true));
                }
            }
        }
        None if row.status == "open" || row.status == "in_progress" => {
            state.store.set_drp_request_status(row.id, "revoked", None).await?;
            let (state, id) = (state.clone(), row.id);
            tokio::spawn(async move {
                if let Ok(Some(row)) = state.store.drp_request(id).await {
                    crate::drp_callback::send(&state, &row).await;
                }
            });
        }
        None => return Ok(drp_error(StatusCode::BAD_REQUEST, "invalid_transition", "the request is closed", true)),
    }
    let fields = vec!["status:revoked".to_string()];
    state.audit.record(vec![drp_event(&who, AuditAction::Update, &row, subject, fields)]).await?;
    let row = state.store.drp_request(row.id).await?.ok_or_else(|| ApiError::not_found("request"))?;
    Ok(Json(status_object(&state, &row).await?).into_response())
}

/// How many `sale:opt-out` requests an agent may file: 60 at once, then
/// one every two seconds.
pub const OPT_OUT_RATE: crate::config::Rate = crate::config::Rate { per_minute: 30, burst: 60 };

/// A register request moved: tells the agent that filed it, if any.
pub(crate) fn register_moved(state: &AppState, dsr: Uuid) {
    let state = state.clone();
    tokio::spawn(async move {
        match state.store.drp_request_by_dsr(dsr).await {
            Ok(Some(row)) => crate::drp_callback::send(&state, &row).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot look up the agent request of a register request"),
        }
    });
}

fn path_parameter(name: &str) -> utoipa::openapi::path::Parameter {
    crate::http::api::text_parameter(name, name)
}

fn agent_operation(id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new().operation_id(Some(id)).tag("drp").summary(Some(summary)).response(
        "403",
        ResponseBuilder::new()
            .description(
                "the claims or the token do not hold. As the Data Rights Protocol has it, this answer is \
                     not problem JSON: an empty body when the agent is not known or its signature fails, a \
                     protocol error object (`code`, `message`, `fatal`) otherwise",
            )
            .build(),
    )
}

fn signed_body() -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("text/plain", json_content(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some("base64 of an Ed25519 signature followed by the signed JSON"))
        .build()
}

/// The protocol's endpoints: outside the bearer-token middleware.
pub fn public_routes(api: Api) -> Api {
    let ok = |what: &str| ResponseBuilder::new().description(what).build();
    let create = |path: &str, id: &str| {
        (
            path.to_string(),
            agent_operation(id, "File a signed data rights request (DRP 1.0)")
                .request_body(Some(signed_body()))
                .response("200", ok("the request's status"))
                .response("400", ok("an invalid request"))
                .build(),
        )
    };
    let (plain, plain_op) = create("/v1/data-rights-request", "drp_create_request");
    let (slash, slash_op) = create("/v1/data-rights-request/", "drp_create_request_slash");
    api.route(
        HttpMethod::Post,
        "/v1/agent/{agent_id}",
        register_agent,
        agent_operation("drp_register_agent", "Register with signed claims for a pairwise token (DRP 1.0)")
            .parameter(path_parameter("agent_id"))
            .request_body(Some(signed_body()))
            .response("200", ok("{agent-id, token}"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/v1/agent/{agent_id}",
        agent_information,
        agent_operation("drp_agent_information", "Check a pairwise token (DRP 1.0)")
            .parameter(path_parameter("agent_id"))
            .response("200", ok("{}"))
            .build(),
    )
    .route(HttpMethod::Post, &plain, create_request, plain_op)
    .route(HttpMethod::Post, &slash, create_request, slash_op)
    .route(
        HttpMethod::Get,
        "/v1/data-rights-request/{id}",
        request_status,
        agent_operation("drp_request_status", "A request's status, to the agent that filed it (DRP 1.0)")
            .parameter(path_parameter("id"))
            .response("200", ok("the status"))
            .response("404", ok("no such request"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/v1/data-rights-request/{id}",
        revoke_request,
        agent_operation("drp_revoke_request", "Revoke a request with a signed reason (DRP 1.0)")
            .parameter(path_parameter("id"))
            .request_body(Some(signed_body()))
            .response("200", ok("the status, revoked"))
            .response("404", ok("no such request"))
            .build(),
    )
}

/// The DPO's configuration of agents.
pub fn routes(mut api: Api) -> Api {
    api.schemas.push(("AgentInput".into(), <AgentInput as utoipa::PartialSchema>::schema()));
    let ok = |what: &str| ResponseBuilder::new().description(what).build();
    api.route(
        HttpMethod::Post,
        "/api/v1/drp/agents",
        add_agent,
        operation("add_drp_agent", "drp", "Trust a Data Rights Protocol agent and its verify key (dpo)")
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", json_content(utoipa::openapi::Ref::from_schema_name("AgentInput")))
                    .build(),
            ))
            .response("201", ok("the agent"))
            .response("409", problem_response("an agent with this id exists"))
            .response("422", problem_response("an invalid id, name or key"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/drp/agents",
        list_agents,
        operation("list_drp_agents", "drp", "The agents trusted (dpo)").response("200", ok("the agents")).build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/drp/agents/{id}",
        remove_agent,
        operation("remove_drp_agent", "drp", "Stop trusting an agent; its tokens stop working (dpo)")
            .parameter(path_parameter("id"))
            .response("204", ok("removed"))
            .response("404", problem_response("no such agent"))
            .build(),
    )
}
