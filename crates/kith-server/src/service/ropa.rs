//! The controller's details and the record of processing: read by admin,
//! auditors and the DPO, the details set by the DPO (audited).

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ropa::{self, Setup, CONTROLLER_SETTING};
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::controller::ControllerDetails;
use kith_core::ropa::Ropa;

/// The controller's details, if set.
pub async fn controller(svc: &Services, who: &Caller) -> ApiResult<Option<ControllerDetails>> {
    svc.authorizer.authorize_accountability(&who.principal, false)?;
    ropa::controller(&svc.store).await
}

/// The details people and authorities are shown (notices, the portal,
/// the archive): no authorisation, they are published.
pub async fn published_controller(svc: &Services) -> ApiResult<Option<ControllerDetails>> {
    ropa::controller(&svc.store).await
}

pub async fn set_controller(
    svc: &Services,
    who: &Caller,
    mut details: ControllerDetails,
) -> ApiResult<ControllerDetails> {
    svc.authorizer.authorize_accountability(&who.principal, true)?;
    details.validate()?;
    let json = serde_json::to_string(&details).map_err(|e| ApiError::internal("controller details", e))?;
    let mut fields = vec!["controller".to_string()];
    fields.extend(details.dpo.as_ref().map(|_| "dpo".to_string()));
    fields.extend(details.representative.as_ref().map(|_| "representative".to_string()));
    fields.push(format!("processing_for:{}", details.processing_for.len()));
    let changed = audit_event::by(who, AuditAction::ConfigChange, About::entity("controller"), fields);
    svc.audit.intend(vec![changed], svc.store.set_setting(CONTROLLER_SETTING, &json)).await??;
    Ok(details)
}

/// `30m`, `6h` or `1d` for a period in milliseconds.
fn period(ms: i64) -> String {
    match ms {
        ms if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms => format!("{}m", ms / 60_000),
    }
}

/// The record of processing activities as this server runs.
pub async fn record(svc: &Services, who: &Caller) -> ApiResult<Ropa> {
    svc.authorizer.authorize_accountability(&who.principal, false)?;
    let setup = Setup {
        tls: Some(svc.config.tls),
        backup_every: svc.config.installation.as_ref().and_then(|i| i.backup_every_ms).map(period),
        retention: svc.config.retention.clone(),
    };
    ropa::gather(&svc.store, &setup, crate::now_millis()).await
}
