//! Which purpose a request processes data for.

use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use kith_core::purpose::Purpose;
use kith_core::ErrorCode;
use kith_store::DynStore;

/// The purpose a role processes data for when a request names none.
pub fn default_purpose(role: &str) -> &'static str {
    match role {
        "sales" => "sales",
        "support" => "essential.service.operations.support",
        "marketing" => "marketing.communications.email",
        _ => "essential.service",
    }
}

/// The purpose a request processes data for: its `Kith-Purpose`, else its
/// role's default. It must be in the catalogue and open to the caller's role.
pub async fn request_purpose(store: &DynStore, who: &Caller) -> ApiResult<Purpose> {
    let key = who.purpose.clone().unwrap_or_else(|| who.principal.default_purpose());
    let document = store.purpose(&key).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::UnknownPurpose, format!("the purpose {key} is not in the purposes catalogue"))
    })?;
    let purpose: Purpose = serde_json::from_str(&document).map_err(|e| ApiError::internal("purposes", e))?;
    if !who.principal.may_use(&purpose) {
        return Err(ApiError::new(
            ErrorCode::PurposeNotAllowed,
            format!("the {} role may not process data for {key}", who.principal.role_names()),
        ));
    }
    Ok(purpose)
}
