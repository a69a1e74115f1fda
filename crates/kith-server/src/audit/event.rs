//! How an audit event is made: who did what to which record, and, for a
//! caller, the request's purpose, id and client address. One place, so
//! every route records the same shape.

use crate::auth::caller::Caller;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use uuid::Uuid;

/// What an event is about: the kind of record, which one, whose.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    pub entity: &'a str,
    pub record: Option<Uuid>,
    pub subject: Option<Uuid>,
}

impl<'a> About<'a> {
    pub fn entity(entity: &'a str) -> Self {
        Self { entity, record: None, subject: None }
    }

    pub fn record(entity: &'a str, record: Uuid) -> Self {
        Self { entity, record: Some(record), subject: None }
    }

    pub fn person(entity: &'a str, subject: Uuid) -> Self {
        Self { entity, record: None, subject: Some(subject) }
    }
}

/// A successful event by `actor` without request context (system work,
/// public capture, the command line).
pub fn event(actor: String, action: AuditAction, about: About<'_>, fields: Vec<String>) -> AuditEvent {
    AuditEvent {
        seq: 0,
        at: crate::now_millis(),
        actor,
        action,
        entity: Some(about.entity.to_string()),
        record_id: about.record,
        subject_id: about.subject,
        fields,
        purpose: None,
        request_id: None,
        client: None,
        outcome: AuditOutcome::Ok,
    }
}

/// A successful event of a caller's request, with its id and address but
/// no purpose (account and configuration changes process no one's data
/// for a purpose).
pub fn in_request(who: &Caller, action: AuditAction, about: About<'_>, fields: Vec<String>) -> AuditEvent {
    AuditEvent {
        request_id: who.request_id.clone(),
        client: who.client.clone(),
        ..event(who.actor(), action, about, fields)
    }
}

/// A successful event of a caller, with their request's purpose, id and address.
pub fn by(who: &Caller, action: AuditAction, about: About<'_>, fields: Vec<String>) -> AuditEvent {
    AuditEvent { purpose: who.purpose.clone(), ..in_request(who, action, about, fields) }
}

/// The same event, refused.
pub fn denied(event: AuditEvent) -> AuditEvent {
    AuditEvent { outcome: AuditOutcome::Denied, ..event }
}

/// A credential refused before any record is touched: by `anonymous`, or
/// the token or account a revoked or expired credential names.
pub fn authentication_refused(actor: Option<String>, request_id: Option<String>, client: Option<String>) -> AuditEvent {
    AuditEvent {
        seq: 0,
        at: crate::now_millis(),
        actor: actor.unwrap_or_else(|| "anonymous".to_string()),
        action: AuditAction::Authenticate,
        entity: None,
        record_id: None,
        subject_id: None,
        fields: Vec::new(),
        purpose: None,
        request_id,
        client,
        outcome: AuditOutcome::Denied,
    }
}
