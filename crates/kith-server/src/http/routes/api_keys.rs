//! The API-key routes: extract, call `service::api_keys`, render.

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{described, id_parameter, json_body, operation, problem_response, Api};
use crate::http::extract::{path_id_once, ApiJson};
use crate::http::guard::{Guard, IssueApiKeys};
use crate::service::api_keys;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::api_key::ApiKeyInput;
use kith_store::ApiKeyRow;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::ToSchema;

fn render(row: &ApiKeyRow) -> ApiResult<Value> {
    let grant: Value = serde_json::from_str(&row.document).map_err(|e| ApiError::internal("api key", e))?;
    let mut out = json!({
        "id": row.id,
        "created_by": row.created_by,
        "created_at": rfc3339_millis(row.created_at),
        "expires_at": rfc3339_millis(row.expires_at),
        "revoked_at": row.revoked_at.map(rfc3339_millis),
        "last_used_at": row.last_used_at.map(rfc3339_millis),
    });
    for field in ["recipient_id", "purposes", "permissions", "allowed_addresses"] {
        out[field] = grant[field].clone();
    }
    Ok(out)
}

async fn issue(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<IssueApiKeys>,
    ApiJson(input): ApiJson<ApiKeyInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (row, key) = api_keys::issue(&state, &who, input).await?;
    let mut body = render(&row)?;
    body["key"] = json!(key);
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = api_keys::list(&state, &who).await?.iter().map(render).collect::<ApiResult<_>>()?;
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn revoke(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    api_keys::revoke(&state, &who, path_id_once(state.authorizer.authorize_api_keys(&who.principal, false), &id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The API-key routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <ApiKeyInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push(("ApiKeyInput".into(), <ApiKeyInput as utoipa::PartialSchema>::schema()));
    api.route(
        HttpMethod::Post,
        "/api/v1/api-keys",
        issue,
        operation("issue_api_key", "api_keys", "Issue a key to a third party (dpo); the key is shown once")
            .request_body(Some(json_body("ApiKeyInput", true)))
            .response("201", described("issued, with the key"))
            .response("422", problem_response("an invalid grant"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/api-keys",
        list,
        operation("list_api_keys", "api_keys", "The keys issued, with their grants and last use (admin, dpo)")
            .response("200", described("the keys"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/api-keys/{id}",
        revoke,
        operation("revoke_api_key", "api_keys", "Revoke a key at once (admin, dpo)")
            .parameter(id_parameter())
            .response("204", described("revoked"))
            .response("404", problem_response("no such key, or revoked already"))
            .build(),
    )
}
