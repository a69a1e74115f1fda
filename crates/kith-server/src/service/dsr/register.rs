//! Registering a request, and reading the register.

use super::{event, past_time, required_text, Details, DsrInput, RegisterQuery, Request, DAY_MS};
use crate::auth::caller::Caller;
use crate::clock::time_of;
use crate::error::{ApiError, ApiResult};
use crate::listing::{encode_cursor, parse_cursor, DEFAULT_LIMIT, MAX_LIMIT};
use crate::service::Services;
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::dsr::{deadline, Channel, RequestKind, RequestStatus, DUE_SOON_DAYS};
use kith_core::model::unix_millis;
use kith_core::values::{parse_email, parse_phone};
use kith_core::{EntityKind, ErrorCode};
use kith_crypto::DataKey;
use kith_store::{DsrQuery, DsrRow};
use uuid::Uuid;

/// Finds the person a new request is about: the contact named (which must
/// exist), or the contact holding the e-mail address or phone number
/// given (through the blind index; none is a valid outcome).
async fn match_person(
    svc: &Services,
    who: &Caller,
    input: &DsrInput,
    details: &mut Details,
) -> ApiResult<Option<Uuid>> {
    let given = [input.contact_id.is_some(), input.email.is_some(), input.phone.is_some()];
    match given.iter().filter(|g| **g).count() {
        0 => return Err(ApiError::new(ErrorCode::MissingField, "contact_id: give contact_id, email or phone")),
        1 => {}
        _ => return Err(ApiError::new(ErrorCode::InvalidValue, "contact_id, email, phone: give exactly one")),
    }
    if let Some(id) = input.contact_id {
        if svc.store.get(EntityKind::Contacts, id).await?.is_none() {
            return Err(ApiError::new(ErrorCode::UnknownReference, "contact_id: no such contact"));
        }
        return Ok(Some(id));
    }
    if let Some(raw) = &input.email {
        let email = parse_email(raw).map_err(|e| ApiError::from(e.at("email")))?;
        let found = svc.records.find_contact_by_email(who, &email).await?;
        details.email = Some(email);
        return Ok(found);
    }
    let raw = input.phone.as_deref().unwrap_or_default();
    let phone = parse_phone(raw).map_err(|e| ApiError::from(e.at("phone")))?;
    let found = svc.records.find_contact_by_phone(who, &phone).await?;
    details.phone = Some(phone);
    Ok(found)
}

/// Registers a request for a member of staff the authoriser allows.
pub async fn register_for_staff(svc: &Services, who: &Caller, input: &DsrInput) -> ApiResult<Request> {
    svc.authorizer.authorize_requests(&who.principal, false)?;
    register(svc, who, input).await
}

/// Registers a new request with its deadline, matches the person, and
/// audits it. The caller was authorised: staff through the authoriser
/// ([`register_for_staff`]), an agent through its signed claims (`drp`).
pub async fn register(svc: &Services, who: &Caller, input: &DsrInput) -> ApiResult<Request> {
    insert(svc, who, input, Details::default(), false).await
}

/// What a person files in the privacy portal: the request is theirs
/// (`contact`), its channel `portal`, and their identity verified by the
/// link to their own address that opened the session. A rectification
/// carries the changes they propose, for the DPO to apply or refuse.
pub(crate) async fn register_from_portal(
    svc: &Services,
    who: &Caller,
    contact: Uuid,
    kind: RequestKind,
    purpose: Option<String>,
    note: Option<String>,
    changes: Option<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Request> {
    let input = DsrInput {
        kind,
        contact_id: Some(contact),
        email: None,
        phone: None,
        received_at: None,
        channel: Some(Channel::Portal),
        purpose,
        note,
    };
    insert(svc, who, &input, Details { changes, ..Details::default() }, true).await
}

/// Registers a request: `details` start as given, and a request the
/// portal files is verified from the start.
async fn insert(
    svc: &Services,
    who: &Caller,
    input: &DsrInput,
    mut details: Details,
    verified_by_portal: bool,
) -> ApiResult<Request> {
    let now = crate::now_millis();
    let received = match &input.received_at {
        Some(raw) => past_time("received_at", raw, now)?,
        None => time_of(now),
    };
    let purpose = match (input.kind, &input.purpose) {
        (RequestKind::Objection, Some(p)) if kith_core::purpose::data_uses().contains(p.trim()) => {
            Some(p.trim().to_string())
        }
        (RequestKind::Objection, Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidValue,
                "purpose: a purpose key, or marketing for all direct marketing",
            ))
        }
        (RequestKind::Objection, None) => {
            return Err(ApiError::new(ErrorCode::MissingField, "purpose: the purpose the person objects to"))
        }
        (_, Some(_)) => return Err(ApiError::new(ErrorCode::InvalidValue, "purpose: only for an objection")),
        (_, None) => None,
    };
    if let Some(note) = &input.note {
        details.note = Some(required_text("note", note, "empty: leave it out instead")?);
    }
    let contact = match_person(svc, who, input, &mut details).await?;
    let id = Uuid::new_v4();
    let received_at = unix_millis(received);
    let status = if verified_by_portal { RequestStatus::InProgress } else { RequestStatus::Received };
    let mut request = Request {
        row: DsrRow {
            id,
            kind: input.kind.as_str().into(),
            status: status.as_str().into(),
            channel: input.channel.unwrap_or_default().as_str().into(),
            contact_id: contact,
            purpose,
            received_at,
            due_at: unix_millis(deadline(received, 0)),
            extended_months: 0,
            person_told_at: None,
            verified_at: verified_by_portal.then_some(now),
            verification_method: verified_by_portal.then(|| "portal".to_string()),
            failed_attempts: 0,
            token_hash: None,
            token_expires_at: None,
            completed_at: None,
            closed_at: None,
            created_by: who.principal.name.clone(),
            created_at: now,
            updated_at: now,
            version: 1,
            sealed: Vec::new(),
            given_term: super::given_term(svc, &details),
            erased_at: None,
        },
        key: Some(DataKey::generate()),
        new_key: None,
        details,
    };
    request.seal()?;
    let key = request.key.as_ref().ok_or_else(|| ApiError::internal("dsr", "a new request without a key"))?;
    // A key rotation switching the active KEK meanwhile means wrapping again.
    crate::sealing::write_with_new_key(&svc.store, &svc.keys, id, key, |wrapped| {
        let (store, row) = (&svc.store, &request.row);
        async move { store.insert_dsr(row, &wrapped).await }
    })
    .await??;
    let mut fields = vec![
        format!("status:{}", status.as_str()),
        format!("kind:{}", input.kind.as_str()),
        if contact.is_some() { "person:matched" } else { "person:unmatched" }.to_string(),
    ];
    if verified_by_portal {
        fields.push("verification:portal".into());
    }
    svc.audit.record(vec![event(who, AuditAction::Create, &request.row, fields)]).await?;
    Ok(request)
}

/// A page of the register.
pub struct Listed {
    pub rows: Vec<DsrRow>,
    pub next_cursor: Option<String>,
}

/// The register, by due date: every request, or those of a status, or the
/// DPO's lists of open, due-soon and overdue ones.
pub async fn list(svc: &Services, who: &Caller, params: RegisterQuery) -> ApiResult<Listed> {
    svc.authorizer.authorize_requests(&who.principal, false)?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidQuery, format!("limit: between 1 and {MAX_LIMIT}")));
    }
    let now = crate::now_millis();
    let mut statuses: Vec<RequestStatus> = match &params.status {
        Some(raw) => vec![RequestStatus::parse(raw)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "status: one of the statuses a request can have"))?],
        None => RequestStatus::ALL.to_vec(),
    };
    let mut query = DsrQuery { limit: limit + 1, ..Default::default() };
    if let Some(due) = &params.due {
        statuses.retain(|s| !s.is_closed());
        match due.as_str() {
            "open" => {}
            "due_soon" => (query.due_from, query.due_to) = (Some(now), Some(now + DUE_SOON_DAYS * DAY_MS)),
            "overdue" => query.due_to = Some(now),
            _ => return Err(ApiError::new(ErrorCode::InvalidQuery, "due: open, due_soon or overdue")),
        }
    }
    if statuses.is_empty() {
        return Ok(Listed { rows: Vec::new(), next_cursor: None });
    }
    query.statuses = statuses.iter().map(|s| s.as_str().to_string()).collect();
    query.after = params.cursor.as_deref().map(parse_cursor).transpose()?;
    let mut rows = svc.store.dsrs(&query).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut events: Vec<AuditEvent> =
        rows.iter().map(|row| event(who, AuditAction::Read, row, vec!["register".into()])).collect();
    if events.is_empty() {
        // A list that shows nobody still tells the caller something.
        events.push(super::about(who, AuditAction::Read, None, None, vec!["register".into()]));
    }
    svc.audit.record(events).await?;
    let next_cursor = match rows.last() {
        Some(last) if more => Some(encode_cursor(last.due_at, last.id)),
        _ => None,
    };
    Ok(Listed { rows, next_cursor })
}

/// One request, opened; the read is audited with what it holds.
pub async fn get(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<Request> {
    svc.authorizer.authorize_requests(&who.principal, false)?;
    let request = super::load(svc, id).await?;
    let mut fields = vec!["request".to_string()];
    fields.extend(request.details.held());
    svc.audit.record(vec![event(who, AuditAction::Read, &request.row, fields)]).await?;
    Ok(request)
}
