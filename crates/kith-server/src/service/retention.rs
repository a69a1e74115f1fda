//! Retention as the DPO reads it (`GET /api/v1/retention`, `/retention`):
//! the rules in force (each purpose's period, the categories' own) and
//! what they would do now, in counts. Applying it is `kith retention run`
//! or the server's schedule. Each reading, and each refusal, is audited.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::retention::Plan;
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::purpose::Purpose;
use serde::Serialize;
use utoipa::ToSchema;

/// One purpose's period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurposePeriod {
    pub key: String,
    pub name: String,
    /// `consent`, `contract`, `legitimate_interests`…
    pub lawful_basis: String,
    pub retention_days: u32,
}

/// The rules and what they would do now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionOverview {
    pub plan: Plan,
    pub purposes: Vec<PurposePeriod>,
    pub interactions_days: Option<u32>,
    pub purchases_days: Option<u32>,
    pub deals_days: Option<u32>,
    /// How often the server applies it (`[retention] every`), if it does.
    pub every: Option<String>,
}

pub async fn overview(svc: &Services, who: &Caller) -> ApiResult<RetentionOverview> {
    let allowed = svc.authorizer.authorize_erasure(&who.principal);
    let about = || About { entity: "retention", record: None, subject: None };
    if let Err(refused) = allowed {
        let event = audit_event::denied(audit_event::by(who, AuditAction::Read, about(), Vec::new()));
        svc.audit.record(vec![event]).await?;
        return Err(refused);
    }
    let settings = &svc.config.retention;
    let plan = crate::retention::plan(&svc.store, settings, crate::now_millis())
        .await
        .map_err(|e| ApiError::internal("retention", e))?;
    svc.audit.record(vec![audit_event::by(who, AuditAction::Read, about(), plan.fields())]).await?;
    let mut purposes = Vec::new();
    for doc in svc.store.purposes().await? {
        let p: Purpose = serde_json::from_str(&doc).map_err(|_| ApiError::undecodable("purposes"))?;
        let basis = serde_json::to_value(p.lawful_basis).ok().and_then(|v| v.as_str().map(str::to_string));
        purposes.push(PurposePeriod {
            key: p.key,
            name: p.name,
            lawful_basis: basis.unwrap_or_default(),
            retention_days: p.retention_days,
        });
    }
    Ok(RetentionOverview {
        plan,
        purposes,
        interactions_days: settings.interactions_days,
        purchases_days: settings.purchases_days,
        deals_days: settings.deals_days,
        every: settings.every.clone(),
    })
}
