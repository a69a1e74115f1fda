//! Third-party API keys over HTTP, and how a request carrying one is
//! authenticated: the key is shown once and stored as its SHA-256; a
//! request with it gets exactly the key's permissions and purposes, from
//! the key's addresses only, until it expires or is revoked.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::{hash_token, Credential, Principal, Refused};
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{id_parameter, json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, IssueApiKeys};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use kith_core::api_key::{address_allowed, ApiKeyInput};
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::ErrorCode;
use kith_store::{ApiKeyRow, DynStore};
use rand::RngCore;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::Arc;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Ref, Required, ResponseBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

/// API keys start with this, so a request's credential kind is known before any lookup.
pub const KEY_PREFIX: &str = "kith_key_";

const DAY_MILLIS: i64 = 86_400_000;

/// The principal a key stands for, or why it is refused. An unknown,
/// expired or revoked key gets the one answer every bad credential gets;
/// a known key used from elsewhere than its addresses is refused as such.
pub async fn principal_for_key(
    store: &DynStore,
    key: &str,
    client: Option<IpAddr>,
    now: i64,
) -> Result<Principal, Refused> {
    let row = store.api_key_by_hash(&hash_token(key)).await.map_err(|e| Refused { error: e.into(), actor: None })?;
    let row = row.ok_or_else(|| Refused::unknown(None))?;
    let actor = Some(format!("key:{}", row.id));
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(Refused::unknown(actor));
    }
    let grant: ApiKeyInput = serde_json::from_str(&row.document)
        .map_err(|e| Refused { error: ApiError::internal("api key", e), actor: actor.clone() })?;
    if !address_allowed(&grant.allowed_addresses, client) {
        let error = ApiError::new(ErrorCode::AddressNotAllowed, "this key may not be used from this address");
        return Err(Refused { error, actor });
    }
    if let Err(e) = store.touch_api_key(row.id, now).await {
        tracing::warn!(error = %e, "cannot record the use of an API key");
    }
    Ok(Principal {
        credential: Credential::ApiKey { id: row.id, purposes: grant.purposes },
        name: format!("key:{}", row.id),
        roles: Vec::new(),
        teams: Vec::new(),
        permissions: Arc::new(grant.permissions),
    })
}

fn event(who: &Caller, action: AuditAction, key: Uuid) -> AuditEvent {
    audit_event::by(who, action, About::record("api_keys", key), Vec::new())
}

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
    for field in ["recipient", "purposes", "permissions", "allowed_addresses"] {
        out[field] = grant[field].clone();
    }
    Ok(out)
}

async fn issue(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<IssueApiKeys>,
    ApiJson(mut input): ApiJson<ApiKeyInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.authorizer.authorize_api_keys(&who.principal, true)?;
    input.validate()?;
    for purpose in &input.purposes {
        if state.store.purpose(purpose).await?.is_none() {
            return Err(ApiError::new(
                ErrorCode::UnknownReference,
                format!("purposes: {purpose} is not in the purposes catalogue"),
            ));
        }
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let key = format!("{KEY_PREFIX}{}", B64URL.encode(secret));
    let now = crate::now_millis();
    let row = ApiKeyRow {
        id: Uuid::new_v4(),
        key_hash: hash_token(&key),
        document: serde_json::to_string(&input).map_err(|e| ApiError::internal("api key", e))?,
        created_by: who.principal.name.clone(),
        created_at: now,
        expires_at: now + i64::from(input.expires_in_days) * DAY_MILLIS,
        revoked_at: None,
        last_used_at: None,
    };
    state.store.insert_api_key(&row).await?;
    state.audit.record(vec![event(&who, AuditAction::TokenIssue, row.id)]).await?;
    let mut body = render(&row)?;
    body["key"] = json!(key);
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_api_keys(&who.principal, false)?;
    let items: Vec<Value> = state.store.api_keys().await?.iter().map(render).collect::<ApiResult<_>>()?;
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn revoke(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.authorizer.authorize_api_keys(&who.principal, false)?;
    let id = crate::http::extract::path_id(&id)?;
    if !state.store.revoke_api_key(id, crate::now_millis()).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such key, or revoked already"));
    }
    state.audit.record(vec![event(&who, AuditAction::TokenRevoke, id)]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The API-key routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <ApiKeyInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push(("ApiKeyInput".into(), <ApiKeyInput as utoipa::PartialSchema>::schema()));
    let ok = |what: &str| ResponseBuilder::new().description(what).build();
    let body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("application/json", json_content(Ref::from_schema_name("ApiKeyInput")))
        .build();
    api.route(
        HttpMethod::Post,
        "/api/v1/api-keys",
        issue,
        operation("issue_api_key", "api_keys", "Issue a key to a third party (dpo); the key is shown once")
            .request_body(Some(body))
            .response("201", ok("issued, with the key"))
            .response("422", problem_response("an invalid grant"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/api-keys",
        list,
        operation("list_api_keys", "api_keys", "The keys issued, with their grants and last use (admin, dpo)")
            .response("200", ok("the keys"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/api-keys/{id}",
        revoke,
        operation("revoke_api_key", "api_keys", "Revoke a key at once (admin, dpo)")
            .parameter(id_parameter())
            .response("204", ok("revoked"))
            .response("404", problem_response("no such key, or revoked already"))
            .build(),
    )
}
