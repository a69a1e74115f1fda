//! Roles: the built-in ones and those admins define; no one grants a
//! permission they do not hold. Every change is audited.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use kith_core::access::{built_in, covers, Permission, RoleInput};
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::{ErrorCode, ROLES};

fn event(who: &Caller, role: &str) -> AuditEvent {
    audit_event::by(who, AuditAction::ConfigChange, About::entity("roles"), vec![role.to_string()])
}

/// A role as listed.
pub struct RoleEntry {
    pub name: String,
    pub built_in: bool,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
}

/// The built-in roles, then the custom ones.
pub async fn list(svc: &Services, who: &Caller) -> ApiResult<Vec<RoleEntry>> {
    svc.authorizer.authorize_roles(&who.principal, false)?;
    let mut roles: Vec<RoleEntry> = ROLES
        .iter()
        .map(|r| RoleEntry {
            name: r.to_string(),
            built_in: true,
            description: None,
            permissions: built_in(r).unwrap_or_default(),
        })
        .collect();
    for (name, document) in svc.store.custom_roles().await? {
        let role: RoleInput = serde_json::from_str(&document).map_err(|e| ApiError::internal("role", e))?;
        roles.push(RoleEntry { name, built_in: false, description: role.description, permissions: role.permissions });
    }
    Ok(roles)
}

/// Defines a custom role (`replace` false: only a new one).
pub async fn write(svc: &Services, who: &Caller, mut role: RoleInput, replace: bool) -> ApiResult<RoleInput> {
    svc.authorizer.authorize_roles(&who.principal, true)?;
    role.validate()?;
    // No one grants what they do not hold (an admin holds no personal data).
    if !role.permissions.iter().all(|p| covers(&who.principal.permissions, p)) {
        return Err(ApiError::new(ErrorCode::Forbidden, "a role may grant only what its author holds"));
    }
    let document = serde_json::to_string(&role).map_err(|e| ApiError::internal("role", e))?;
    if !svc.store.put_role(&role.name, &document, &who.principal.name, crate::now_millis(), replace).await? {
        return Err(ApiError::new(ErrorCode::Conflict, format!("the role {} exists; PUT it to change it", role.name)));
    }
    svc.audit.record(vec![event(who, &role.name)]).await?;
    Ok(role)
}

/// Deletes a custom role.
pub async fn delete(svc: &Services, who: &Caller, name: &str) -> ApiResult<()> {
    svc.authorizer.authorize_roles(&who.principal, true)?;
    if !svc.store.delete_role(name).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such custom role"));
    }
    svc.audit.record(vec![event(who, name)]).await?;
    Ok(())
}
