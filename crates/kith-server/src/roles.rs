//! Roles over HTTP, and how a caller's roles become permissions: the
//! built-in roles are defined in code (`kith_core::access::built_in`),
//! custom roles by admins in the database. Every change is audited.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, WriteRoles};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::access::{built_in, covers, Permission, RoleInput};
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::{ErrorCode, ROLES};
use kith_store::DynStore;
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Ref, Required, ResponseBuilder};
use utoipa::ToSchema;

/// The permissions of a set of roles; a role that does not exist (any
/// more) grants nothing.
pub async fn resolve_permissions(store: &DynStore, roles: &[String]) -> ApiResult<Arc<Vec<Permission>>> {
    let mut permissions = Vec::new();
    for role in roles {
        match built_in(role) {
            Some(p) => permissions.extend(p),
            None => {
                if let Some(document) = store.custom_role(role).await? {
                    let custom: RoleInput =
                        serde_json::from_str(&document).map_err(|e| ApiError::internal("role", e))?;
                    permissions.extend(custom.permissions);
                }
            }
        }
    }
    Ok(Arc::new(permissions))
}

/// Whether a role exists: built in, or defined by an admin.
pub async fn role_exists(store: &DynStore, role: &str) -> ApiResult<bool> {
    Ok(built_in(role).is_some() || store.custom_role(role).await?.is_some())
}

/// Refuses a list naming a role that does not exist.
pub async fn check_exist(store: &DynStore, roles: &[String]) -> ApiResult<()> {
    for role in roles {
        if !role_exists(store, role).await? {
            return Err(ApiError::new(
                ErrorCode::InvalidValue,
                format!("roles: {role} is not one of {} nor a custom role", ROLES.join(", ")),
            ));
        }
    }
    Ok(())
}

fn event(who: &Caller, role: &str) -> AuditEvent {
    audit_event::by(who, AuditAction::ConfigChange, About::entity("roles"), vec![role.to_string()])
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_roles(&who.principal, false)?;
    let mut items: Vec<Value> = ROLES
        .iter()
        .map(|r| json!({"name": r, "built_in": true, "permissions": built_in(r).unwrap_or_default()}))
        .collect();
    for (name, document) in state.store.custom_roles().await? {
        let role: RoleInput = serde_json::from_str(&document).map_err(|e| ApiError::internal("role", e))?;
        items.push(
            json!({"name": name, "built_in": false, "description": role.description, "permissions": role.permissions}),
        );
    }
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn write(state: &AppState, who: &Caller, mut role: RoleInput, replace: bool) -> ApiResult<RoleInput> {
    state.authorizer.authorize_roles(&who.principal, true)?;
    role.validate()?;
    // No one grants what they do not hold (an admin holds no personal data).
    if !role.permissions.iter().all(|p| covers(&who.principal.permissions, p)) {
        return Err(ApiError::new(ErrorCode::Forbidden, "a role may grant only what its author holds"));
    }
    let document = serde_json::to_string(&role).map_err(|e| ApiError::internal("role", e))?;
    if !state.store.put_role(&role.name, &document, &who.principal.name, crate::now_millis(), replace).await? {
        return Err(ApiError::new(ErrorCode::Conflict, format!("the role {} exists; PUT it to change it", role.name)));
    }
    state.audit.record(vec![event(who, &role.name)]).await?;
    Ok(role)
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WriteRoles>,
    ApiJson(role): ApiJson<RoleInput>,
) -> ApiResult<(StatusCode, Json<RoleInput>)> {
    Ok((StatusCode::CREATED, Json(write(&state, &who, role, false).await?)))
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
    Ok(Json(write(&state, &who, role, true).await?))
}

async fn delete(State(state): State<AppState>, who: Caller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    state.authorizer.authorize_roles(&who.principal, true)?;
    if !state.store.delete_role(&name).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such custom role"));
    }
    state.audit.record(vec![event(&who, &name)]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The role routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <RoleInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push(("RoleInput".into(), <RoleInput as utoipa::PartialSchema>::schema()));
    let ok = |what: &str| ResponseBuilder::new().description(what).build();
    let body = || {
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", json_content(Ref::from_schema_name("RoleInput")))
            .build()
    };
    let name = || crate::http::api::text_parameter("name", "a custom role's name");
    api.route(
        HttpMethod::Get,
        "/api/v1/roles",
        list,
        operation("list_roles", "roles", "The built-in and custom roles with their permissions (admin, dpo, auditor)")
            .response("200", ok("the roles"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/roles",
        create,
        operation("create_role", "roles", "Define a custom role (admin)")
            .request_body(Some(body()))
            .response("201", ok("defined"))
            .response("409", problem_response("the name is taken"))
            .build(),
    )
    .route(
        HttpMethod::Put,
        "/api/v1/roles/{name}",
        replace,
        operation("replace_role", "roles", "Change a custom role (admin); it applies from the next request")
            .parameter(name())
            .request_body(Some(body()))
            .response("200", ok("changed"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/roles/{name}",
        delete,
        operation("delete_role", "roles", "Delete a custom role (admin); who holds it is left with nothing")
            .parameter(name())
            .response("204", ok("deleted"))
            .response("404", problem_response("no such custom role"))
            .build(),
    )
}
