//! The security self-check as admin and the DPO read it, at
//! `GET /api/v1/doctor` and on `/doctor`: the same findings `kith doctor`
//! prints, for the installation this server runs from. Every run, and
//! every refusal, is an audit event with the counts.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::datadir::DataDir;
use crate::doctor::{examine, Report};
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use kith_core::audit::AuditAction;

pub async fn report(svc: &Services, who: &Caller) -> ApiResult<Report> {
    let allowed = svc.authorizer.authorize_doctor(&who.principal);
    let about = || About { entity: "doctor", record: None, subject: None };
    if let Err(refused) = allowed {
        let event = audit_event::denied(audit_event::by(who, AuditAction::Read, about(), Vec::new()));
        svc.audit.record(vec![event]).await?;
        return Err(refused);
    }
    let Some(place) = &svc.config.installation else {
        return Err(ApiError::internal("doctor", "this server was started without its data directory"));
    };
    let dir = DataDir::new(&place.data_dir, place.key_file.clone()).map_err(|e| ApiError::internal("doctor", e))?;
    let found = examine(&dir, &place.database_url, Ok(&svc.store), place.backup_every_ms)
        .await
        .map_err(|e| ApiError::internal("doctor", e))?;
    let report = Report::of(found);
    svc.audit.record(vec![audit_event::by(who, AuditAction::Read, about(), report.fields())]).await?;
    Ok(report)
}
