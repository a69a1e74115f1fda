//! The purpose routes: extract, call `service::purposes`, render.

use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{json_body, json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, WritePurposes};
use crate::service::purposes;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::purpose::Purpose;
use kith_core::ErrorCode;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{Ref, ResponseBuilder};
use utoipa::ToSchema;

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": purposes::list(&state, &who).await?, "next_cursor": null })))
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WritePurposes>,
    ApiJson(purpose): ApiJson<Purpose>,
) -> ApiResult<(StatusCode, Json<Purpose>)> {
    Ok((StatusCode::CREATED, Json(purposes::write(&state, &who, purpose, false).await?)))
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
    Ok(Json(purposes::write(&state, &who, purpose, true).await?))
}

/// The purpose routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut schemas = Vec::new();
    <Purpose as ToSchema>::schemas(&mut schemas);
    api.schemas.extend(schemas);
    api.schemas.push(("Purpose".into(), <Purpose as utoipa::PartialSchema>::schema()));
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
            .request_body(Some(json_body("Purpose", true)))
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
            .request_body(Some(json_body("Purpose", true)))
            .response("200", one("changed"))
            .response("422", problem_response("a rule is broken"))
            .build(),
    )
}
