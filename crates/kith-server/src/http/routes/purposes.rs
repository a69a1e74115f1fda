//! The processing purposes catalogue over HTTP: every staff role reads it;
//! `admin` and `dpo` add and change purposes, and each change is audited.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, WritePurposes};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::audit::AuditAction;
use kith_core::purpose::Purpose;
use kith_core::ErrorCode;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Ref, Required, ResponseBuilder};
use utoipa::ToSchema;

/// Reads the catalogue; a stored document that no longer parses is an internal error.
pub async fn catalogue(state: &AppState) -> ApiResult<Vec<Purpose>> {
    let documents = state.store.purposes().await?;
    documents.iter().map(|d| serde_json::from_str(d).map_err(|e| ApiError::internal("purposes", e))).collect()
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_purposes(&who.principal, false)?;
    Ok(Json(json!({ "items": catalogue(&state).await?, "next_cursor": null })))
}

/// Writes a purpose after the authoriser and validation agreed, and audits
/// it (the key is a validated data-use key by then).
async fn write(state: &AppState, who: &Caller, mut purpose: Purpose, replace: bool) -> ApiResult<Purpose> {
    state.authorizer.authorize_purposes(&who.principal, true)?;
    purpose.validate()?;
    for role in &purpose.roles {
        if !crate::roles::role_exists(&state.store, role).await? {
            return Err(ApiError::new(ErrorCode::UnknownReference, format!("roles: there is no role {role}")));
        }
    }
    let document = serde_json::to_string(&purpose).map_err(|e| ApiError::internal("purposes", e))?;
    if !state.store.put_purpose(&purpose.key, &document, crate::now_millis(), replace).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("the purpose {} exists; PUT it to change it", purpose.key),
        ));
    }
    let event = audit_event::by(who, AuditAction::ConfigChange, About::entity("purposes"), vec![purpose.key.clone()]);
    state.audit.record(vec![event]).await?;
    Ok(purpose)
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WritePurposes>,
    ApiJson(purpose): ApiJson<Purpose>,
) -> ApiResult<(StatusCode, Json<Purpose>)> {
    Ok((StatusCode::CREATED, Json(write(&state, &who, purpose, false).await?)))
}

async fn replace(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WritePurposes>,
    Path(key): Path<String>,
    ApiJson(purpose): ApiJson<Purpose>,
) -> ApiResult<Json<Purpose>> {
    if purpose.key.trim() != key {
        return Err(ApiError::new(ErrorCode::InvalidValue, "key: the body's key must be the path's"));
    }
    Ok(Json(write(&state, &who, purpose, true).await?))
}

/// The purpose routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut schemas = Vec::new();
    <Purpose as ToSchema>::schemas(&mut schemas);
    api.schemas.extend(schemas);
    api.schemas.push(("Purpose".into(), <Purpose as utoipa::PartialSchema>::schema()));
    let body = || {
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", json_content(Ref::from_schema_name("Purpose")))
            .build()
    };
    let one = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content("application/json", json_content(Ref::from_schema_name("Purpose")))
            .build()
    };
    let key = crate::http::api::text_parameter("key", "a fideslang data-use key");
    api.route(
        HttpMethod::Get,
        "/api/v1/purposes",
        list,
        operation("list_purposes", "purposes", "The processing purposes, with lawful basis, categories and retention")
            .response("200", ResponseBuilder::new().description("the catalogue").build())
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/purposes",
        create,
        operation("create_purpose", "purposes", "Add a processing purpose (admin, dpo)")
            .request_body(Some(body()))
            .response("201", one("added"))
            .response("409", problem_response("a purpose with this key exists"))
            .response(
                "422",
                problem_response("a rule is broken: key, lawful basis, balancing note, Art. 9 condition, categories"),
            )
            .build(),
    )
    .route(
        HttpMethod::Put,
        "/api/v1/purposes/{key}",
        replace,
        operation("replace_purpose", "purposes", "Change a processing purpose (admin, dpo)")
            .parameter(key)
            .request_body(Some(body()))
            .response("200", one("changed"))
            .response("422", problem_response("a rule is broken"))
            .build(),
    )
}
