//! The processing purposes catalogue: every staff role reads it; `admin`
//! and `dpo` add and change purposes, and each change is audited.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::purpose::Purpose;
use kith_core::ErrorCode;

/// Reads the catalogue; a stored document that no longer parses is an internal error.
pub async fn catalogue(svc: &Services) -> ApiResult<Vec<Purpose>> {
    let documents = svc.store.purposes().await?;
    documents.iter().map(|d| serde_json::from_str(d).map_err(|e| ApiError::internal("purposes", e))).collect()
}

/// The purposes this caller may process data for: the choices of a
/// purpose selector.
pub async fn usable(svc: &Services, who: &Caller) -> ApiResult<Vec<Purpose>> {
    Ok(catalogue(svc).await?.into_iter().filter(|p| who.principal.may_use(p)).collect())
}

/// The catalogue, for a caller who may read it.
pub async fn list(svc: &Services, who: &Caller) -> ApiResult<Vec<Purpose>> {
    svc.authorizer.authorize_purposes(&who.principal, false)?;
    catalogue(svc).await
}

/// Writes a purpose after the authoriser and validation agreed, and audits
/// it (the key is a validated data-use key by then).
pub async fn write(svc: &Services, who: &Caller, mut purpose: Purpose, replace: bool) -> ApiResult<Purpose> {
    svc.authorizer.authorize_purposes(&who.principal, true)?;
    purpose.validate()?;
    for role in &purpose.roles {
        if !crate::auth::roles::role_exists(&svc.store, role).await? {
            return Err(ApiError::new(ErrorCode::UnknownReference, format!("roles: there is no role {role}")));
        }
    }
    let document = serde_json::to_string(&purpose).map_err(|e| ApiError::internal("purposes", e))?;
    if !svc.store.put_purpose(&purpose.key, &document, crate::now_millis(), replace).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("the purpose {} exists; PUT it to change it", purpose.key),
        ));
    }
    let event = audit_event::by(who, AuditAction::ConfigChange, About::entity("purposes"), vec![purpose.key.clone()]);
    svc.audit.record(vec![event]).await?;
    Ok(purpose)
}
