//! The steps of a request: a verification token, identity verified,
//! unlocked, extended, refused, withdrawn. Each reads the request, applies
//! the step, writes it if nobody changed it meanwhile, and audits it.

use super::{
    event, load, past_time, required_text, status_of, DsrExtendInput, DsrRefuseInput, DsrVerifyInput, Request, DAY_MS,
};
use crate::auth::caller::Caller;
use crate::clock::time_of;
use crate::error::{ApiError, ApiResult};
use crate::sealing::WRITE_ATTEMPTS;
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::dsr::{
    deadline, Channel, RequestStatus, COMPLAINT_STATEMENT, MAX_EXTENSION_MONTHS, MAX_FAILED_ATTEMPTS, TOKEN_TTL_DAYS,
};
use kith_core::model::unix_millis;
use kith_core::ErrorCode;
use kith_crypto::secrets::{constant_time_eq, hash_secret, random_token};
use uuid::Uuid;

const TOKEN_PREFIX: &str = "kith_dsr_";

/// What a step did: the audit fields, and a refusal to answer once the
/// step is stored (a failed verification is counted, then refused).
pub(super) struct Step {
    pub(super) fields: Vec<String>,
    pub(super) refusal: Option<ApiError>,
}

impl Step {
    pub(super) fn done(fields: &[&str]) -> Self {
        Self { fields: fields.iter().map(|f| f.to_string()).collect(), refusal: None }
    }
}

/// Moves a request one step: reads it, lets `change` apply the step (or
/// refuse it), seals and writes it if nobody changed it meanwhile (else
/// reads again), and audits it.
pub(super) async fn step(
    svc: &Services,
    who: &Caller,
    id: Uuid,
    change: impl Fn(&mut Request, i64) -> ApiResult<Step>,
) -> ApiResult<Request> {
    for _ in 0..WRITE_ATTEMPTS {
        let mut request = load(svc, id).await?;
        let now = crate::now_millis();
        let Step { fields, refusal } = change(&mut request, now)?;
        request.row.updated_at = now.max(request.row.updated_at);
        request.seal()?;
        let new_key = match &request.new_key {
            Some(key) => Some(svc.records.wrap_new_key(id, key).await?),
            None => None,
        };
        let audited = event(who, AuditAction::Update, &request.row, fields);
        let audited = if refusal.is_some() { crate::audit::event::denied(audited) } else { audited };
        // The event is durable before the change; a lost race records it as failed.
        // `Err(None)`: someone changed the request first; read it again.
        let write = async {
            match svc.store.update_dsr(&request.row, new_key.as_ref()).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(None),
                Err(e) => Err(Some(e)),
            }
        };
        match svc.audit.intend(vec![audited], write).await? {
            Ok(()) => {}
            Err(None) => continue,
            Err(Some(e)) => return Err(e.into()),
        }
        if let Some(key) = request.new_key.take() {
            request.key = Some(key);
        }
        request.row.version += 1;
        if refusal.is_none() && request.row.channel == Channel::Agent.as_str() {
            crate::service::drp::register_moved(svc, id);
        }
        return match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(request),
        };
    }
    Err(ApiError::new(ErrorCode::Conflict, "the request kept changing; try again"))
}

/// Moves the request's status to `to`, if that move is allowed.
pub(super) fn move_to(request: &mut Request, to: RequestStatus, now: i64) -> ApiResult<()> {
    status_of(&request.row)?.check_move(to)?;
    request.row.status = to.as_str().into();
    if to.is_closed() {
        request.row.closed_at = Some(now);
    }
    Ok(())
}

/// A verification token, shown once.
pub struct IssuedToken {
    pub request: Request,
    pub token: String,
}

/// Issues a single-use token for the person (the privacy portal's link):
/// shown once in this answer, stored as its SHA-256, valid for seven days.
/// A new token replaces a pending one.
pub async fn issue_token(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<IssuedToken> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    let token = format!("{TOKEN_PREFIX}{}", *random_token(32));
    let hash = hash_secret(&token);
    let request = step(svc, who, id, |request, now| {
        move_to(request, RequestStatus::IdentityVerification, now)?;
        request.row.token_hash = Some(hash.clone());
        request.row.token_expires_at = Some(now + TOKEN_TTL_DAYS * DAY_MS);
        Ok(Step::done(&["status:identity_verification", "verification_token"]))
    })
    .await?;
    Ok(IssuedToken { request, token })
}

/// Verifies the person's identity: a token issued for this request
/// (unknown, used and expired ones count as failed attempts, and the fifth
/// locks the request), or a staff attestation saying how it was checked.
pub async fn verify(svc: &Services, who: &Caller, id: Uuid, input: DsrVerifyInput) -> ApiResult<Request> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    let request = match (&input.token, &input.method) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidValue,
                "token, method: give a token, or method staff_attestation with a note",
            ))
        }
        (None, None) => {
            return Err(ApiError::new(ErrorCode::MissingField, "token: or method staff_attestation with a note"))
        }
        (Some(token), None) => {
            if input.note.is_some() {
                return Err(ApiError::new(ErrorCode::InvalidValue, "note: only with a staff attestation"));
            }
            let hash = hash_secret(token.trim());
            step(svc, who, id, |request, now| verify_token(request, &hash, now)).await?
        }
        (None, Some(method)) => {
            if method != "staff_attestation" {
                return Err(ApiError::new(ErrorCode::InvalidValue, "method: staff_attestation"));
            }
            let note = required_text(
                "note",
                input.note.as_deref().unwrap_or_default(),
                "how the person's identity was checked",
            )?;
            step(svc, who, id, |request, now| {
                move_to(request, RequestStatus::InProgress, now)?;
                verified(request, "staff_attestation", now);
                request.details.attestation = Some(note.clone());
                Ok(Step::done(&["status:in_progress", "verification:staff_attestation"]))
            })
            .await?
        }
    };
    Ok(request)
}

fn verified(request: &mut Request, method: &str, now: i64) {
    let row = &mut request.row;
    (row.verified_at, row.verification_method) = (Some(now), Some(method.into()));
    (row.token_hash, row.token_expires_at, row.failed_attempts) = (None, None, 0);
}

fn verify_token(request: &mut Request, hash: &[u8], now: i64) -> ApiResult<Step> {
    let status = status_of(&request.row)?;
    status.check_move(RequestStatus::InProgress)?;
    let row = &request.row;
    let matches = row.token_hash.as_deref().is_some_and(|stored| constant_time_eq(stored, hash));
    if matches && row.token_expires_at.is_some_and(|until| until > now) {
        move_to(request, RequestStatus::InProgress, now)?;
        verified(request, "token", now);
        return Ok(Step::done(&["status:in_progress", "verification:token"]));
    }
    let row = &mut request.row;
    row.failed_attempts += 1;
    if row.failed_attempts < MAX_FAILED_ATTEMPTS {
        return Ok(Step {
            fields: vec!["verification:failed".into()],
            refusal: Some(ApiError::new(ErrorCode::VerificationFailed, "token: unknown, used or expired")),
        });
    }
    // Locked: the pending token is void, and only the DPO's unlock reopens it.
    (row.status, row.token_hash, row.token_expires_at) = (RequestStatus::Locked.as_str().into(), None, None);
    Ok(Step {
        fields: vec!["verification:failed".into(), "status:locked".into()],
        refusal: Some(ApiError::new(
            ErrorCode::RequestLocked,
            format!("{MAX_FAILED_ATTEMPTS} failed verifications: the DPO must unlock the request"),
        )),
    })
}

/// The DPO reopens a locked request: back to `received`, the failures forgotten.
pub async fn unlock(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<Request> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    step(svc, who, id, |request, now| {
        move_to(request, RequestStatus::Received, now)?;
        let row = &mut request.row;
        (row.failed_attempts, row.token_hash, row.token_expires_at) = (0, None, None);
        Ok(Step::done(&["status:received", "unlock"]))
    })
    .await
}

/// Extends the deadline once, by one or two months counted like the first
/// (Art. 12(3)), with the reason and when the person was told.
pub async fn extend(svc: &Services, who: &Caller, id: Uuid, input: DsrExtendInput) -> ApiResult<Request> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    if !(1..=MAX_EXTENSION_MONTHS).contains(&input.months) {
        return Err(ApiError::new(ErrorCode::InvalidValue, format!("months: 1 to {MAX_EXTENSION_MONTHS}")));
    }
    let reason = required_text("reason", &input.reason, "why the request needs more time")?;
    let now = crate::now_millis();
    let told = match &input.person_told_at {
        Some(raw) => unix_millis(past_time("person_told_at", raw, now)?),
        None => now,
    };
    step(svc, who, id, |request, _| {
        if status_of(&request.row)?.is_closed() {
            return Err(ApiError::new(ErrorCode::InvalidTransition, "a closed request has no deadline to extend"));
        }
        if request.row.extended_months > 0 {
            return Err(ApiError::new(
                ErrorCode::AlreadyExtended,
                format!("the deadline was extended already; at most {MAX_EXTENSION_MONTHS} months in all"),
            ));
        }
        let row = &mut request.row;
        row.extended_months = i64::from(input.months);
        row.due_at = unix_millis(deadline(time_of(row.received_at), input.months));
        row.person_told_at = Some(told);
        request.details.extension_reason = Some(reason.clone());
        Ok(Step { fields: vec![format!("extension:{}", input.months)], refusal: None })
    })
    .await
}

/// Refuses a request with its grounds; the answer and the stored request
/// carry the statement of the right to complain (Art. 12(4)).
pub async fn refuse(svc: &Services, who: &Caller, id: Uuid, input: DsrRefuseInput) -> ApiResult<Request> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    let grounds = required_text("grounds", &input.grounds, "why the request is refused")?;
    step(svc, who, id, |request, now| {
        move_to(request, RequestStatus::Refused, now)?;
        request.details.grounds = Some(grounds.clone());
        request.details.complaint = Some(COMPLAINT_STATEMENT.into());
        Ok(Step::done(&["status:refused"]))
    })
    .await
}

/// Withdraws a request, for the DPO or the agent that filed it (whose
/// signed claims authorised it: see [`withdrawn`]).
pub async fn withdraw(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<Request> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    withdrawn(svc, who, id).await
}

/// Withdraws a request, for the DPO or the agent that filed it.
pub async fn withdrawn(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<Request> {
    step(svc, who, id, |request, now| {
        move_to(request, RequestStatus::Withdrawn, now)?;
        Ok(Step::done(&["status:withdrawn"]))
    })
    .await
}
