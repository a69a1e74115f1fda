//! The Data Rights Protocol 1.0, Covered Business side: agents the DPO
//! configured register with signed claims for a pairwise token, then
//! file requests on a person's behalf, read their status and revoke them.
//!
//! An agent authenticates with its own credentials, never a Kith token
//! (its routes sit outside the bearer-token middleware). A deletion or an
//! access request becomes a data-subject request of the register (channel
//! `agent`), so identity verification, deadlines and fulfilment stay the
//! DPO's; its protocol status is read from the register's state. An
//! opt-out of sale is recorded at once as objections. The identity an
//! agent sends lives only in the sealed data-subject request; the tables
//! here hold ids, statuses and the agent's callback address. Status
//! changes are posted to that address in the background (`callback`).
//!
//! The protocol's answers are not problem JSON: each operation returns a
//! [`Refusal`] the route answers as the protocol has it.

mod callback;
mod protocol;

pub use protocol::{agent_information, create_request, register_agent, request_status, revoke_request, Registered};

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::{Credential, Principal};
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::drp::{split_signed, status_of, timestamp, Envelope};
use kith_core::ErrorCode;
use kith_crypto::secrets::hash_secret;
use kith_crypto::signed_note::{is_verify_key, verify_detached};
use kith_store::{DrpAgentRow, DrpRequestRow, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A protocol answer other than the one asked for; the route gives each
/// its status and body as the protocol has them.
#[derive(Debug)]
pub enum Refusal {
    /// 403 without a body: an unknown agent, or claims that do not hold,
    /// at registration.
    Silent,
    /// 403 with a protocol error object.
    Forbidden(&'static str),
    /// 404 with a protocol error object.
    NotFound,
    /// 400 with a protocol error object: the protocol's code and message.
    Invalid { code: String, message: String },
    /// Kith's own error, answered as a protocol error object (500 for a
    /// failure of Kith's, else 400).
    Api(ApiError),
}

/// What a protocol operation answers: its value, or a refusal.
pub type Answer<T> = ApiResult<Result<T, Refusal>>;

fn invalid(code: &str, message: &str) -> Refusal {
    Refusal::Invalid { code: code.into(), message: message.into() }
}

/// The protocol's status object of a request (DRP 1.0).
#[derive(Debug, Clone, Serialize)]
pub struct StatusObject {
    pub request_id: Uuid,
    pub received_at: String,
    pub expected_by: String,
    pub agent_request_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub processing_details: Option<String>,
    pub user_verification_url: Option<String>,
    pub expires_at: Option<String>,
}

/// Longest agent id or name, in characters.
const MAX_ID: usize = 200;

/// An agent the DPO trusts: its id, a name for people, its Ed25519
/// public key (base64 of the 32 bytes), and the host names its status
/// callbacks may go to (none: no callback is sent; the agent can ask).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    pub agent_id: String,
    pub name: String,
    pub verify_key: String,
    #[serde(default)]
    #[schema(example = json!(["agent.example"]))]
    pub callback_hosts: Vec<String>,
}

/// Most callback hosts per agent.
const MAX_CALLBACK_HOSTS: usize = 20;

/// Host names as the URL parser gives them: lower-case DNS names (labels
/// of letters, digits and inner hyphens) or IP addresses; no scheme, port
/// or path.
fn checked_hosts(hosts: &[String]) -> ApiResult<Vec<String>> {
    let refused = || {
        ApiError::new(
            ErrorCode::InvalidValue,
            format!("callback_hosts: at most {MAX_CALLBACK_HOSTS} host names, without scheme, port or path"),
        )
    };
    if hosts.len() > MAX_CALLBACK_HOSTS {
        return Err(refused());
    }
    let mut checked: Vec<String> = Vec::new();
    for host in hosts {
        let host = host.trim().to_lowercase();
        let name = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        let valid = name || host.parse::<std::net::IpAddr>().is_ok();
        if !valid {
            return Err(refused());
        }
        if !checked.contains(&host) {
            checked.push(host);
        }
    }
    Ok(checked)
}

fn checked_id(field: &str, raw: &str) -> ApiResult<String> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > MAX_ID || text.chars().any(char::is_control) {
        return Err(ApiError::new(ErrorCode::InvalidValue, format!("{field}: 1 to {MAX_ID} printable characters")));
    }
    Ok(text.to_string())
}

/// Trusts an agent: its id, name, verify key and callback hosts, checked.
pub async fn add_agent(svc: &Services, who: &Caller, input: AgentInput) -> ApiResult<DrpAgentRow> {
    svc.authorizer.authorize_agents(&who.principal)?;
    let agent_id = checked_id("agent_id", &input.agent_id)?;
    let name = checked_id("name", &input.name)?;
    let key = B64
        .decode(input.verify_key.trim())
        .ok()
        .filter(|k| is_verify_key(k))
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidValue, "verify_key: base64 of an Ed25519 public key"))?;
    let row = DrpAgentRow {
        agent_id,
        name,
        verify_key: key,
        created_by: who.principal.name.clone(),
        created_at: crate::now_millis(),
        callback_hosts: checked_hosts(&input.callback_hosts)?,
    };
    match svc.store.insert_drp_agent(&row).await {
        Err(StoreError::Duplicate) => {
            return Err(ApiError::new(ErrorCode::Conflict, "agent_id: an agent with this id exists"))
        }
        result => result?,
    }
    let fields = vec![format!("agent:{}", row.agent_id)];
    svc.audit.record(vec![audit_event::by(who, AuditAction::Create, About::entity("drp_agent"), fields)]).await?;
    Ok(row)
}

/// The agents trusted.
pub async fn agents(svc: &Services, who: &Caller) -> ApiResult<Vec<DrpAgentRow>> {
    svc.authorizer.authorize_agents(&who.principal)?;
    let rows = svc.store.drp_agents().await?;
    let fields = vec!["agents".to_string()];
    svc.audit.record(vec![audit_event::by(who, AuditAction::Read, About::entity("drp_agent"), fields)]).await?;
    Ok(rows)
}

/// Removes an agent: its pairwise tokens stop working at once; the
/// requests it filed stay in the register.
pub async fn remove_agent(svc: &Services, who: &Caller, id: &str) -> ApiResult<()> {
    svc.authorizer.authorize_agents(&who.principal)?;
    if !svc.store.delete_drp_agent(id).await? {
        return Err(ApiError::not_found("agent"));
    }
    let fields = vec![format!("agent:{id}")];
    svc.audit.record(vec![audit_event::by(who, AuditAction::Delete, About::entity("drp_agent"), fields)]).await?;
    Ok(())
}

/// The caller an agent acts as: audited as `agent:<id>`, with no role
/// and no permission (it matches people through the register only).
fn agent_caller(agent: &str, request_id: Option<String>) -> Caller {
    let principal = Principal {
        credential: Credential::Agent(agent.to_string()),
        name: format!("agent:{agent}"),
        roles: Vec::new(),
        teams: Vec::new(),
        permissions: Default::default(),
    };
    Caller { principal, request_id, client: None, purpose: None, override_suppression: false }
}

/// Opens a signed body in the protocol's order: base64, the signature
/// with the agent's key, then the agent, the business and the validity
/// window. Any failure is `None`, so every answer to it is the same. The
/// claims come back with their envelope (when they were issued).
fn open_signed(svc: &Services, body: &str, agent: &DrpAgentRow) -> Option<(Value, Envelope)> {
    let decoded = B64.decode(body.trim()).ok()?;
    let (signature, message) = split_signed(&decoded)?;
    if !verify_detached(&agent.verify_key, message, signature) {
        return None;
    }
    let value: Value = serde_json::from_slice(message).ok()?;
    let envelope: Envelope = serde_json::from_value(value.clone()).ok()?;
    envelope.holds(&agent.agent_id, &svc.config.drp_business_id, OffsetDateTime::now_utc()).then_some((value, envelope))
}

/// The agent a `Bearer` pairwise token belongs to.
async fn bearer_agent(svc: &Services, token: Option<&str>) -> ApiResult<Option<DrpAgentRow>> {
    let Some(token) = token else {
        return Ok(None);
    };
    match svc.store.drp_token_agent(&hash_secret(token.trim())).await? {
        Some(agent) => Ok(svc.store.drp_agent(&agent).await?),
        None => Ok(None),
    }
}

fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The protocol's view of a request: its own status while no register
/// request carries it, else the register's state.
pub async fn status_object(svc: &Services, row: &DrpRequestRow) -> ApiResult<StatusObject> {
    let (mut status, mut reason, mut expected_by) = (row.status.clone(), row.reason.clone(), row.expected_by);
    if let Some(dsr) = row.dsr_id {
        if let Some(dsr) = svc.store.dsr(dsr).await? {
            let (s, r) = status_of(crate::service::dsr::status_of(&dsr)?);
            (status, reason, expected_by) = (s.to_string(), r.map(str::to_string), dsr.due_at);
        }
    }
    Ok(StatusObject {
        request_id: row.id,
        received_at: timestamp(row.received_at),
        expected_by: timestamp(expected_by),
        agent_request_id: row.agent_request_id.clone(),
        status,
        reason,
        processing_details: None,
        user_verification_url: None,
        expires_at: None,
    })
}

fn drp_event(
    who: &Caller,
    action: AuditAction,
    row: &DrpRequestRow,
    subject: Option<Uuid>,
    fields: Vec<String>,
) -> AuditEvent {
    let about = About { entity: "drp_request", record: Some(row.id), subject };
    audit_event::by(who, action, about, fields)
}

/// A register request moved: tells the agent that filed it, if any.
pub(crate) fn register_moved(svc: &Services, dsr: Uuid) {
    let svc = svc.clone();
    tokio::spawn(async move {
        match svc.store.drp_request_by_dsr(dsr).await {
            Ok(Some(row)) => callback::send(&svc, &row).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot look up the agent request of a register request"),
        }
    });
}
