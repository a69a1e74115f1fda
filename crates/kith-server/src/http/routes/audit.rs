//! The audit routes: extract, call `service::audit`, render.

use crate::audit::Verification;
use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::ApiResult;
use crate::http::api::{id_parameter, json_content, operation, page_schema, problem_response, Api};
use crate::http::extract::{path_id, ApiQuery};
use crate::service::audit::{self, AuditPage, Filters};
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use kith_core::audit::AuditEvent;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder, Schema};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

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

fn page_json(page: AuditPage) -> Value {
    json!({ "items": page.events.iter().map(event_json).collect::<Vec<_>>(), "next_cursor": page.next_cursor })
}

async fn list(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Value>> {
    let filters = Filters {
        subject_id: p.subject_id,
        actor: p.actor,
        action: p.action,
        from: crate::clock::query_time("from", p.from.as_deref())?,
        to: crate::clock::query_time("to", p.to.as_deref())?,
        newest_first: false,
    };
    Ok(Json(page_json(audit::events(&state, &who, filters, p.limit, p.cursor).await?)))
}

async fn access_log(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let id = path_id(&id)?;
    Ok(Json(page_json(audit::access_log(&state, &who, id, p.limit, p.cursor).await?)))
}

async fn alerts(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = audit::alerts(&state, &who, p.limit, p.cursor)
        .await?
        .into_iter()
        .map(|a| json!({"id": a.id, "at": rfc3339_millis(a.at), "rule": a.rule, "actor": a.actor, "detail": a.detail}))
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn check(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Verification>> {
    Ok(Json(audit::verify(&state, &who).await?))
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
