//! The role routes: extract, call `service::roles`, render.

use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{described, json_body, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, WriteRoles};
use crate::service::roles;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::access::RoleInput;
use kith_core::ErrorCode;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::ToSchema;

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = roles::list(&state, &who)
        .await?
        .into_iter()
        .map(|r| match r.built_in {
            true => json!({"name": r.name, "built_in": true, "permissions": r.permissions}),
            false => {
                json!({"name": r.name, "built_in": false, "description": r.description, "permissions": r.permissions})
            }
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WriteRoles>,
    ApiJson(role): ApiJson<RoleInput>,
) -> ApiResult<(StatusCode, Json<RoleInput>)> {
    Ok((StatusCode::CREATED, Json(roles::write(&state, &who, role, false).await?)))
}

async fn replace(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WriteRoles>,
    Path(name): Path<String>,
    ApiJson(role): ApiJson<RoleInput>,
) -> ApiResult<Json<RoleInput>> {
    if role.name.trim() != name {
        return Err(ApiError::new(ErrorCode::InvalidValue, "name: the body's name must be the path's"));
    }
    Ok(Json(roles::write(&state, &who, role, true).await?))
}

async fn delete(State(state): State<AppState>, who: Caller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    roles::delete(&state, &who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The role routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <RoleInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push(("RoleInput".into(), <RoleInput as utoipa::PartialSchema>::schema()));
    let name = || crate::http::api::text_parameter("name", "a custom role's name");
    api.route(
        HttpMethod::Get,
        "/api/v1/roles",
        list,
        operation("list_roles", "roles", "The built-in and custom roles with their permissions (admin, dpo, auditor)")
            .response("200", described("the roles"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/roles",
        create,
        operation("create_role", "roles", "Define a custom role (admin)")
            .request_body(Some(json_body("RoleInput", true)))
            .response("201", described("defined"))
            .response("409", problem_response("the name is taken"))
            .build(),
    )
    .route(
        HttpMethod::Put,
        "/api/v1/roles/{name}",
        replace,
        operation("replace_role", "roles", "Change a custom role (admin); it applies from the next request")
            .parameter(name())
            .request_body(Some(json_body("RoleInput", true)))
            .response("200", described("changed"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/roles/{name}",
        delete,
        operation("delete_role", "roles", "Delete a custom role (admin); who holds it is left with nothing")
            .parameter(name())
            .response("204", described("deleted"))
            .response("404", problem_response("no such custom role"))
            .build(),
    )
}
