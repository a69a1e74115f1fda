//! How a caller's roles become permissions: the built-in roles are defined
//! in code (`kith_core::access::built_in`), custom roles by admins in the
//! database.

use crate::error::{ApiError, ApiResult};
use kith_core::access::{built_in, Permission, RoleInput};
use kith_core::{ErrorCode, ROLES};
use kith_store::DynStore;
use std::sync::Arc;

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
