//! Carrying a verified request out.

use super::steps::{move_to, step, Step};
use super::{kind_of, load, status_of, DsrFulfilInput, Request};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use kith_core::dsr::{RequestKind, RequestStatus};
use kith_core::model::Contact;
use kith_core::ErrorCode;
use serde_json::Value;
use uuid::Uuid;

/// A completed request, and for an erasure its signed receipt.
pub struct Fulfilled {
    pub request: Request,
    pub receipt: Option<Value>,
}

/// Why an access or portability request cannot complete yet.
const ARCHIVE_PENDING: &str =
    "the archive was not downloaded yet: get a link (POST export-link) and download it (GET export) first";

/// Carries a verified request out: erasure erases the person (unless an
/// exception holds) and answers the signed receipt, restriction and
/// objection set the states the policy enforces, rectification applies
/// the changes to the contact; access and portability complete once the
/// archive was downloaded; a request whose person did not match completes
/// with `outcome: no_data`.
pub async fn fulfil(svc: &Services, who: &Caller, id: Uuid, input: DsrFulfilInput) -> ApiResult<Fulfilled> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    carry_out(svc, who, id, input).await
}

/// [`fulfil`] for a caller already allowed to: the privacy portal carries
/// out at once what needs no decision (an objection to direct marketing,
/// the access archive the person downloaded).
pub(crate) async fn carry_out(svc: &Services, who: &Caller, id: Uuid, input: DsrFulfilInput) -> ApiResult<Fulfilled> {
    let request = load(svc, id).await?;
    status_of(&request.row)?.check_move(RequestStatus::Completed)?;
    let kind = kind_of(&request.row)?;
    if input.changes.is_some() && kind != RequestKind::Rectification {
        return Err(ApiError::new(ErrorCode::InvalidValue, "changes: only for a rectification"));
    }
    let no_data = match input.outcome.as_deref() {
        None => false,
        Some("no_data") if request.row.contact_id.is_none() && input.changes.is_none() => true,
        Some("no_data") => {
            return Err(ApiError::new(
                ErrorCode::InvalidValue,
                "outcome: no_data only for a request whose person did not match, without changes",
            ))
        }
        Some(_) => return Err(ApiError::new(ErrorCode::InvalidValue, "outcome: no_data")),
    };
    // The request is the reason for what is done on its behalf: the audit
    // events of the changes carry `dsr:<id>` as their request id.
    let on_behalf = Caller { request_id: Some(format!("dsr:{id}")), ..who.clone() };
    let mut fields = vec!["status:completed".to_string()];
    let mut receipt = None;
    let mut applied = None;
    match (request.row.contact_id, kind) {
        (None, _) if no_data => fields.push("outcome:no_data".into()),
        (None, _) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "no person matched this request: complete it with outcome no_data, or refuse it",
            ))
        }
        // The archive is the answer: complete once it was downloaded.
        (Some(_), RequestKind::Access | RequestKind::Portability) => match svc.store.last_export(id).await? {
            Some(_) => fields.push(format!("fulfilment:{}", kind.as_str())),
            None => return Err(ApiError::new(ErrorCode::FulfilmentPending, ARCHIVE_PENDING)),
        },
        (Some(contact), RequestKind::Erasure) => {
            // The store's erasure also destroyed the details of every
            // request about the person, this one included.
            receipt = Some(crate::service::erasure::erase(svc, &on_behalf, id, contact).await?);
            fields.push("fulfilment:erasure".into());
        }
        (Some(contact), RequestKind::Restriction) => {
            crate::service::consents::record_restriction(svc, &on_behalf, contact).await?;
            fields.push("fulfilment:restriction".into());
            fields.push(crate::service::erasure::record_recipients(svc, id, contact).await?);
        }
        (Some(contact), RequestKind::Objection) => {
            let purpose = request.row.purpose.as_deref().ok_or_else(|| ApiError::internal("dsr", "no purpose"))?;
            crate::service::consents::record_objection(svc, &on_behalf, contact, purpose).await?;
            fields.push(format!("fulfilment:objection:{purpose}"));
        }
        (Some(contact), RequestKind::Rectification) => {
            // Without changes of the DPO's own, those the person proposed (in the portal).
            let changes =
                input
                    .changes
                    .clone()
                    .or_else(|| request.details.changes.clone())
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| ApiError::new(ErrorCode::MissingField, "changes: the contact fields to correct"))?;
            applied = Some(changes.clone());
            svc.records.update::<Contact>(&on_behalf, contact, changes).await?;
            fields.push("fulfilment:rectification".into());
            fields.push(crate::service::erasure::record_recipients(svc, id, contact).await?);
        }
    }
    let request = step(svc, who, id, |request, now| {
        move_to(request, RequestStatus::Completed, now)?;
        request.row.completed_at = Some(now);
        request.details.changes = applied.clone();
        request.details.outcome = no_data.then(|| "no_data".to_string());
        Ok(Step { fields: fields.clone(), refusal: None })
    })
    .await?;
    Ok(Fulfilled { request, receipt })
}
