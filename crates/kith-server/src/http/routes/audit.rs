//! The audit log over HTTP: the log filtered, one person's access log, and
//! the chain's verification, for the roles the authoriser allows.

use crate::audit::Verification;
use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{id_parameter, json_content, operation, page_schema, problem_response, Api};
use crate::http::extract::ApiQuery;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::ErrorCode;
use kith_store::AuditQuery;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder, Schema};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// Filters of the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// The person (or company) whose data was accessed.
    pub subject_id: Option<Uuid>,
    /// `token:<id>`.
    pub actor: Option<String>,
    /// read, create, update, delete, token_issue, token_revoke, key_rotation.
    pub action: Option<String>,
    /// RFC 3339, inclusive.
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    pub to: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Paging of one person's access log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, detail)
}

/// The schema of an event as answered (`event_json`): the stored event's,
/// with its time as RFC 3339 text.
fn event_schema() -> RefOr<Schema> {
    let mut schema = <AuditEvent as utoipa::PartialSchema>::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        let at = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("when, RFC 3339 in UTC"));
        object.properties.insert("at".into(), at.into());
    }
    schema
}

fn event_json(e: &AuditEvent) -> Value {
    json!({
        "seq": e.seq, "at": rfc3339_millis(e.at), "actor": e.actor, "action": e.action,
        "entity": e.entity, "record_id": e.record_id, "subject_id": e.subject_id, "fields": e.fields,
        "purpose": e.purpose, "request_id": e.request_id, "client": e.client, "outcome": e.outcome,
    })
}

async fn page(state: &AppState, mut query: AuditQuery, limit: Option<u32>, cursor: Option<String>) -> ApiResult<Value> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad(format!("limit: between 1 and {MAX_LIMIT}")));
    }
    query.after = cursor
        .map(|c| {
            // Cursors are the sequence number of the last event shown: positive, written plainly.
            c.parse::<i64>()
                .ok()
                .filter(|seq| *seq > 0 && seq.to_string() == c)
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidCursor, "cursor: not a cursor this list gave out"))
        })
        .transpose()?;
    query.limit = limit + 1;
    let mut events = state.store.audit_query(&query).await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next_cursor = if more { events.last().map(|e| e.seq.to_string()) } else { None };
    Ok(json!({ "items": events.iter().map(event_json).collect::<Vec<_>>(), "next_cursor": next_cursor }))
}

/// Asks the authoriser; reading the audit log is itself recorded (with the
/// person whose log it is), and so is a refusal.
async fn audited(state: &AppState, who: &Caller, subject: Option<Uuid>) -> ApiResult<()> {
    let allowed = state.authorizer.authorize_audit(&who.principal);
    let event = AuditEvent {
        seq: 0,
        at: crate::now_millis(),
        actor: who.actor(),
        action: AuditAction::Read,
        entity: Some("audit_events".into()),
        record_id: None,
        subject_id: subject,
        fields: Vec::new(),
        purpose: who.purpose.clone(),
        request_id: who.request_id.clone(),
        client: who.client.clone(),
        outcome: if allowed.is_ok() { AuditOutcome::Ok } else { AuditOutcome::Denied },
    };
    state.audit.record(vec![event]).await?;
    allowed
}

async fn list(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Value>> {
    audited(&state, &who, p.subject_id).await?;
    if let Some(action) = &p.action {
        AuditAction::parse(action).ok_or_else(|| {
            let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
            bad(format!("action: one of {}", known.join(", ")))
        })?;
    }
    let query = AuditQuery {
        subject_id: p.subject_id,
        actor: p.actor,
        action: p.action,
        from: crate::clock::query_time("from", p.from.as_deref())?,
        to: crate::clock::query_time("to", p.to.as_deref())?,
        ..AuditQuery::default()
    };
    Ok(Json(page(&state, query, p.limit, p.cursor).await?))
}

async fn access_log(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let id = crate::http::extract::path_id(&id)?;
    audited(&state, &who, Some(id)).await?;
    let query = AuditQuery { subject_id: Some(id), ..AuditQuery::default() };
    Ok(Json(page(&state, query, p.limit, p.cursor).await?))
}

async fn alerts(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    audited(&state, &who, None).await?;
    if p.cursor.is_some() {
        return Err(bad("cursor: alerts come newest first, as one page"));
    }
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad(format!("limit: between 1 and {MAX_LIMIT}")));
    }
    let items: Vec<Value> = state
        .store
        .alerts(limit)
        .await?
        .into_iter()
        .map(|a| json!({"id": a.id, "at": rfc3339_millis(a.at), "rule": a.rule, "actor": a.actor, "detail": a.detail}))
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn check(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Verification>> {
    audited(&state, &who, None).await?;
    Ok(Json(state.notary.verify(&state.store, None).await?))
}

/// The audit routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut schemas = Vec::new();
    <AuditEvent as ToSchema>::schemas(&mut schemas);
    api.schemas.extend(schemas);
    api.schemas.push(("AuditEvent".into(), event_schema()));
    let events = || {
        ResponseBuilder::new()
            .description("a page of events, oldest first")
            .content("application/json", json_content(page_schema(Ref::from_schema_name("AuditEvent"))))
            .build()
    };
    api.route(
        HttpMethod::Get,
        "/api/v1/audit",
        list,
        operation("list_audit", "audit", "The audit log, filtered by subject, actor, action and time")
            .parameters(Some(AuditParams::into_params(|| Some(ParameterIn::Query))))
            .response("200", events())
            .response("400", problem_response("a filter or cursor is invalid"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/contacts/{id}/access-log",
        access_log,
        operation("contact_access_log", "audit", "Who has read or changed this person's data")
            .parameter(id_parameter())
            .parameters(Some(PageParams::into_params(|| Some(ParameterIn::Query))))
            .response("200", events())
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/audit/alerts",
        alerts,
        operation("list_audit_alerts", "audit", "Unusual access the audit log revealed, newest first")
            .parameters(Some(PageParams::into_params(|| Some(ParameterIn::Query))))
            .response("200", ResponseBuilder::new().description("the alerts").build())
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/audit/verify",
        check,
        operation("verify_audit", "audit", "Recompute the hash chain and name the first broken event")
            .response("200", ResponseBuilder::new().description("the verification").build())
            .build(),
    )
}
