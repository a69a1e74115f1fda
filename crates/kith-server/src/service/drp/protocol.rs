//! The agent's side of the protocol: registration for a pairwise token,
//! requests filed, read and revoked. Every refusal is a [`Refusal`] the
//! route answers as the protocol has it.

use super::{
    agent_caller, bearer_agent, callback, drp_event, invalid, open_signed, status_object, text, Answer, Refusal,
    StatusObject,
};
use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::service::dsr::{DsrInput, DAY_MS};
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::drp::{is_revocation_of, Exercise, EXPECTED_DAYS, OPT_OUT_PURPOSES};
use kith_core::dsr::{Channel, RequestStatus};
use kith_crypto::secrets::{hash_secret, random_token};
use kith_store::{DrpAgentRow, DrpRequestRow};
use serde_json::Value;
use uuid::Uuid;

const TOKEN_PREFIX: &str = "kith_drp_";

/// A new pairwise token, shown once.
pub struct Registered {
    pub agent_id: String,
    pub token: String,
}

/// `POST /v1/agent/{agent-id}`: signed claims for a new pairwise token,
/// shown once and stored as its SHA-256. Every failure is 403 without a body.
pub async fn register_agent(
    svc: &Services,
    agent_id: &str,
    request_id: Option<String>,
    body: &str,
) -> Answer<Registered> {
    let Some(agent) = svc.store.drp_agent(agent_id).await? else { return Ok(Err(Refusal::Silent)) };
    if open_signed(svc, body, &agent).is_none() {
        // A refused registration of a configured agent is audited (an
        // unknown agent id is the caller's string, not worth a line), so
        // repeated forgeries show in the log and its alerts.
        let who = agent_caller(&agent.agent_id, request_id.clone());
        let fields = vec!["registration".into()];
        let refused =
            audit_event::denied(audit_event::by(&who, AuditAction::Authenticate, About::entity("drp_agent"), fields));
        svc.audit.record_refusal(refused).await?;
        return Ok(Err(Refusal::Silent));
    }
    let token = format!("{TOKEN_PREFIX}{}", *random_token(32));
    let now = crate::now_millis();
    svc.store.insert_drp_token(&hash_secret(&token), &agent.agent_id, now).await?;
    let who = agent_caller(&agent.agent_id, request_id);
    let event =
        audit_event::by(&who, AuditAction::TokenIssue, About::entity("drp_agent"), vec!["pairwise_token".into()]);
    svc.audit.record(vec![event]).await?;
    Ok(Ok(Registered { agent_id: agent.agent_id, token }))
}

/// `GET /v1/agent/{agent-id}`: whether the token is this agent's.
pub async fn agent_information(svc: &Services, agent_id: &str, bearer: Option<&str>) -> Answer<()> {
    match bearer_agent(svc, bearer).await? {
        Some(agent) if agent.agent_id == agent_id => Ok(Ok(())),
        _ => Ok(Err(Refusal::Silent)),
    }
}

/// `POST /v1/data-rights-request`: a signed request on a person's behalf.
///
/// An opt-out's answer tells whether the address is known: `may_opt_out`
/// says whether this agent may file another now.
pub async fn create_request(
    svc: &Services,
    bearer: Option<&str>,
    request_id: Option<String>,
    body: &str,
    may_opt_out: impl FnOnce(&str) -> bool,
) -> Answer<StatusObject> {
    let Some(agent) = bearer_agent(svc, bearer).await? else {
        return Ok(Err(Refusal::Forbidden("unknown token")));
    };
    let Some((claims, _)) = open_signed(svc, body, &agent) else {
        return Ok(Err(Refusal::Forbidden("the signed claims do not hold")));
    };
    let Some(exercise) = text(&claims, "exercise").as_deref().and_then(Exercise::parse) else {
        return Ok(Err(invalid("invalid_exercise", "exercise: a right of DRP 1.0")));
    };
    let Some(agent_request_id) = text(&claims, "agent-request-id") else {
        return Ok(Err(invalid("missing_field", "agent-request-id: required")));
    };
    let now = crate::now_millis();
    let mut row = DrpRequestRow {
        id: Uuid::new_v4(),
        agent_id: agent.agent_id.clone(),
        agent_request_id,
        exercise: exercise.as_str().into(),
        dsr_id: None,
        status: "open".into(),
        reason: None,
        status_callback: text(&claims, "status_callback"),
        received_at: now,
        expected_by: now + EXPECTED_DAYS * DAY_MS,
    };
    let who = agent_caller(&agent.agent_id, request_id);
    let (email, phone) = (text(&claims, "email"), text(&claims, "phone_number"));
    let mut subject = None;
    let regime = claims.get("regime").and_then(Value::as_str);
    if regime.is_some_and(|r| r != "ccpa") {
        (row.status, row.reason) = ("denied".into(), Some("outside_jurisdiction".into()));
    } else if email.is_none() && phone.is_none() {
        (row.status, row.reason) = ("denied".into(), Some("insuf_verification".into()));
    } else if let Some(kind) = exercise.request_kind() {
        let input = DsrInput {
            kind,
            contact_id: None,
            phone: if email.is_none() { phone } else { None },
            email,
            received_at: None,
            channel: Some(Channel::Agent),
            purpose: None,
            note: None,
        };
        let request = match crate::service::dsr::register(svc, &who, &input).await {
            Ok(request) => request,
            Err(e) => return Ok(Err(Refusal::Api(e))),
        };
        (row.dsr_id, subject) = (Some(request.row.id), request.row.contact_id);
    } else if exercise == Exercise::SaleOptIn {
        (row.status, row.reason) = ("denied".into(), Some("claim_not_covered".into()));
    } else if !may_opt_out(&agent.agent_id) {
        // An opt-out's answer tells whether the address is known: an agent
        // may not test addresses faster than this.
        (row.status, row.reason) = ("denied".into(), Some("too_many_requests".into()));
    } else {
        let found = match (&email, &phone) {
            (Some(email), _) => svc.records.find_contact_by_email(&who, email).await,
            (None, Some(phone)) => svc.records.find_contact_by_phone(&who, phone).await,
            (None, None) => Ok(None),
        };
        match found {
            Ok(Some(contact)) => {
                let on_behalf = Caller { request_id: Some(format!("drp:{}", row.id)), ..who.clone() };
                for purpose in OPT_OUT_PURPOSES {
                    crate::service::consents::record_objection(svc, &on_behalf, contact, purpose).await?;
                }
                (row.status, subject) = ("fulfilled".into(), Some(contact));
            }
            Ok(None) => (row.status, row.reason) = ("denied".into(), Some("no_match".into())),
            Err(e) => return Ok(Err(Refusal::Api(e))),
        }
    }
    svc.store.insert_drp_request(&row).await?;
    let mut fields = vec![format!("exercise:{}", row.exercise)];
    if row.dsr_id.is_none() {
        fields.push(format!("status:{}", row.status));
    }
    svc.audit.record(vec![drp_event(&who, AuditAction::Create, &row, subject, fields)]).await?;
    Ok(Ok(status_object(svc, &row).await?))
}

/// The request `id` if the token's agent filed it; else the answer to give.
async fn own_request(svc: &Services, bearer: Option<&str>, id: &str) -> Answer<(DrpAgentRow, DrpRequestRow)> {
    let Some(agent) = bearer_agent(svc, bearer).await? else {
        return Ok(Err(Refusal::Forbidden("unknown token")));
    };
    let row = match Uuid::parse_str(id) {
        Ok(id) => svc.store.drp_request(id).await?,
        Err(_) => None,
    };
    match row {
        Some(row) if row.agent_id == agent.agent_id => Ok(Ok((agent, row))),
        Some(_) => Ok(Err(Refusal::Forbidden("not this agent's request"))),
        None => Ok(Err(Refusal::NotFound)),
    }
}

/// `GET /v1/data-rights-request/{id}`: the status, to the agent that filed it.
pub async fn request_status(svc: &Services, bearer: Option<&str>, id: &str) -> Answer<StatusObject> {
    match own_request(svc, bearer, id).await? {
        Ok((_, row)) => Ok(Ok(status_object(svc, &row).await?)),
        Err(refusal) => Ok(Err(refusal)),
    }
}

/// `DELETE /v1/data-rights-request/{id}`: the person revoked the request
/// (signed `{"reason"}`; the reason is not kept: it is free text). The
/// register's request is withdrawn.
pub async fn revoke_request(
    svc: &Services,
    bearer: Option<&str>,
    request_id: Option<String>,
    id: &str,
    body: &str,
) -> Answer<StatusObject> {
    let (agent, row) = match own_request(svc, bearer, id).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let received = crate::clock::time_of(row.received_at);
    let revocation = open_signed(svc, body, &agent)
        .filter(|(claims, envelope)| is_revocation_of(claims, envelope.issued_at, received));
    if revocation.is_none() {
        return Ok(Err(Refusal::Forbidden("the signed claims do not hold")));
    }
    let who = agent_caller(&agent.agent_id, request_id);
    let mut subject = None;
    match row.dsr_id {
        Some(dsr) => {
            let current = svc.store.dsr(dsr).await?.ok_or_else(|| ApiError::not_found("request"))?;
            subject = current.contact_id;
            if crate::service::dsr::status_of(&current)? != RequestStatus::Withdrawn {
                if let Err(e) = crate::service::dsr::withdrawn(svc, &who, dsr).await {
                    return Ok(Err(invalid(e.code.as_str(), "the request is closed")));
                }
            }
        }
        None if row.status == "open" || row.status == "in_progress" => {
            svc.store.set_drp_request_status(row.id, "revoked", None).await?;
            let (svc, id) = (svc.clone(), row.id);
            tokio::spawn(async move {
                if let Ok(Some(row)) = svc.store.drp_request(id).await {
                    callback::send(&svc, &row).await;
                }
            });
        }
        None => return Ok(Err(invalid("invalid_transition", "the request is closed"))),
    }
    let fields = vec!["status:revoked".to_string()];
    svc.audit.record(vec![drp_event(&who, AuditAction::Update, &row, subject, fields)]).await?;
    let row = svc.store.drp_request(row.id).await?.ok_or_else(|| ApiError::not_found("request"))?;
    Ok(Ok(status_object(svc, &row).await?))
}
