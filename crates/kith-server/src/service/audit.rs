//! Reading the audit log: filtered, one person's access log, alerts, and
//! the chain's verification, for the roles the authoriser allows; every
//! read of the log is itself recorded, and so is a refusal.

use crate::audit::event::{self as audit_event, About};
use crate::audit::Verification;
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::ErrorCode;
use kith_store::{AlertRow, AuditQuery};
use uuid::Uuid;

const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// A page of events and the cursor of the next, if any.
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// What the log may be filtered by (times in milliseconds).
#[derive(Debug, Default)]
pub struct Filters {
    pub subject_id: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Newest first (the pages' order); the API's is oldest first.
    pub newest_first: bool,
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, detail)
}

async fn page(
    svc: &Services,
    mut query: AuditQuery,
    limit: Option<u32>,
    cursor: Option<String>,
) -> ApiResult<AuditPage> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad(format!("limit: between 1 and {MAX_LIMIT}")));
    }
    query.after = cursor
        .map(|c| {
            // Cursors are the sequence number of the last event shown: positive, written plainly.
            c.parse::<i64>()
                .ok()
                .filter(|seq| *seq > 0 && seq.to_string() == c)
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidCursor, "cursor: not a cursor this list gave out"))
        })
        .transpose()?;
    query.limit = limit + 1;
    let mut events = svc.store.audit_query(&query).await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next_cursor = if more { events.last().map(|e| e.seq.to_string()) } else { None };
    Ok(AuditPage { events, next_cursor })
}

/// Asks the authoriser; reading the audit log is itself recorded (with the
/// person whose log it is), and so is a refusal.
async fn audited(svc: &Services, who: &Caller, subject: Option<Uuid>) -> ApiResult<()> {
    let allowed = svc.authorizer.authorize_audit(&who.principal);
    let read =
        audit_event::by(who, AuditAction::Read, About { entity: "audit_events", record: None, subject }, Vec::new());
    let event = if allowed.is_ok() { read } else { audit_event::denied(read) };
    svc.audit.record(vec![event]).await?;
    allowed
}

/// The log, filtered.
pub async fn events(
    svc: &Services,
    who: &Caller,
    filters: Filters,
    limit: Option<u32>,
    cursor: Option<String>,
) -> ApiResult<AuditPage> {
    audited(svc, who, filters.subject_id).await?;
    if let Some(action) = &filters.action {
        AuditAction::parse(action).ok_or_else(|| {
            let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
            bad(format!("action: one of {}", known.join(", ")))
        })?;
    }
    let query = AuditQuery {
        subject_id: filters.subject_id,
        actor: filters.actor,
        action: filters.action,
        from: filters.from,
        to: filters.to,
        newest_first: filters.newest_first,
        ..AuditQuery::default()
    };
    page(svc, query, limit, cursor).await
}

/// One person's access log, oldest first.
pub async fn access_log(
    svc: &Services,
    who: &Caller,
    subject: Uuid,
    limit: Option<u32>,
    cursor: Option<String>,
) -> ApiResult<AuditPage> {
    let filters = Filters { subject_id: Some(subject), ..Filters::default() };
    events(svc, who, filters, limit, cursor).await
}

/// The alerts raised, newest first, as one page.
pub async fn alerts(
    svc: &Services,
    who: &Caller,
    limit: Option<u32>,
    cursor: Option<String>,
) -> ApiResult<Vec<AlertRow>> {
    audited(svc, who, None).await?;
    if cursor.is_some() {
        return Err(bad("cursor: alerts come newest first, as one page"));
    }
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad(format!("limit: between 1 and {MAX_LIMIT}")));
    }
    Ok(svc.store.alerts(limit).await?)
}

/// Recomputes the chain against the checkpoints.
pub async fn verify(svc: &Services, who: &Caller) -> ApiResult<Verification> {
    audited(svc, who, None).await?;
    let verification = svc.notary.verify(&svc.store, None).await?;
    if verification.intact {
        svc.store.set_setting(crate::audit::VERIFIED_AT, &crate::now_millis().to_string()).await?;
    }
    Ok(verification)
}
