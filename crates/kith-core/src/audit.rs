//! Audit events: who did what to whose data, when, why and with what
//! outcome, as identifiers and field names only. An event never holds a
//! personal value, so erasing a person never breaks the log.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Read,
    Create,
    Update,
    Delete,
    TokenIssue,
    TokenRevoke,
    KeyRotation,
    /// A request whose credentials were missing, unknown, expired or revoked.
    Authenticate,
    ConfigChange,
    ConsentChange,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::TokenIssue => "token_issue",
            Self::TokenRevoke => "token_revoke",
            Self::KeyRotation => "key_rotation",
            Self::Authenticate => "authenticate",
            Self::ConfigChange => "config_change",
            Self::ConsentChange => "consent_change",
        }
    }

    pub const ALL: [Self; 10] = [
        Self::Read,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::TokenIssue,
        Self::TokenRevoke,
        Self::KeyRotation,
        Self::Authenticate,
        Self::ConfigChange,
        Self::ConsentChange,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// How the request ended for this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Ok,
    Denied,
    /// A write recorded before it was made (its event is durable first)
    /// that then did not take effect: this event follows the first one.
    Failed,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Ok, Self::Denied, Self::Failed].into_iter().find(|o| o.as_str() == text)
    }
}

/// One event, as appended. `seq` is assigned by the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub seq: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// `token:<id>`, later `user:<id>`, or `system:<job>`.
    pub actor: String,
    pub action: AuditAction,
    pub entity: Option<String>,
    pub record_id: Option<Uuid>,
    /// The person (or company) whose data it is.
    pub subject_id: Option<Uuid>,
    /// Names of the fields read or changed, never their values.
    pub fields: Vec<String>,
    pub purpose: Option<String>,
    pub request_id: Option<String>,
    pub client: Option<String>,
    pub outcome: AuditOutcome,
}

/// Stands in an event for a field that was not a name (see [`AuditEvent::confine`]).
pub const UNRECOGNISED: &str = "unrecognised";

/// Whether `text` is a name as Kith writes them into events: field names,
/// reasons, `kind:count` and `key:value` pairs of closed sets, purpose and
/// role keys, ids and keys Kith made (form keys are base64url). ASCII
/// letters, digits and `_ . : + - / = * @`, at most 200 characters: no
/// space, no other script, nothing long.
pub fn is_audit_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:+-/=*@".contains(&b))
}

impl AuditEvent {
    /// Keeps in the event only what may be in it: a declared purpose only
    /// when it is a fideslang data use (a closed set), every field only
    /// when it is a name ([`is_audit_name`], else [`UNRECOGNISED`]).
    /// Returns whether a field had to go: fields are built from validated
    /// values, so that is a defect in the route that built it. (A declared
    /// purpose is the caller's header, checked against the catalogue only
    /// later: dropping an unknown one is expected.)
    pub fn confine(&mut self) -> bool {
        let mut changed = false;
        if self.purpose.as_ref().is_some_and(|p| !crate::purpose::data_uses().contains(p)) {
            self.purpose = None;
        }
        for field in &mut self.fields {
            if !is_audit_name(field) {
                *field = UNRECOGNISED.to_string();
                changed = true;
            }
        }
        changed
    }

    /// The canonical encoding the hash chain covers: every field in a fixed
    /// order, each as a 4-byte big-endian length and its bytes (absent
    /// values have length `u32::MAX`), so no two events encode alike.
    pub fn canonical(&self) -> Vec<u8> {
        fn put(out: &mut Vec<u8>, value: Option<&[u8]>) {
            match value {
                Some(bytes) => {
                    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                    out.extend_from_slice(bytes);
                }
                None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
            }
        }
        let mut out = b"kith-audit-event-v1".to_vec();
        put(&mut out, Some(&self.seq.to_be_bytes()));
        put(&mut out, Some(&self.at.to_be_bytes()));
        put(&mut out, Some(self.actor.as_bytes()));
        put(&mut out, Some(self.action.as_str().as_bytes()));
        put(&mut out, self.entity.as_deref().map(str::as_bytes));
        put(&mut out, self.record_id.as_ref().map(|id| id.as_bytes().as_slice()));
        put(&mut out, self.subject_id.as_ref().map(|id| id.as_bytes().as_slice()));
        put(&mut out, Some(&(self.fields.len() as u32).to_be_bytes()));
        for field in &self.fields {
            put(&mut out, Some(field.as_bytes()));
        }
        put(&mut out, self.purpose.as_deref().map(str::as_bytes));
        put(&mut out, self.request_id.as_deref().map(str::as_bytes));
        put(&mut out, self.client.as_deref().map(str::as_bytes));
        put(&mut out, Some(self.outcome.as_str().as_bytes()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent {
            seq: 1,
            at: 2,
            actor: "token:x".into(),
            action: AuditAction::Read,
            entity: Some("contacts".into()),
            record_id: Some(Uuid::from_u128(3)),
            subject_id: Some(Uuid::from_u128(3)),
            fields: vec!["emails".into(), "given_name".into()],
            purpose: None,
            request_id: Some("r".into()),
            client: None,
            outcome: AuditOutcome::Ok,
        }
    }

    #[test]
    fn every_field_changes_the_encoding() {
        let base = event().canonical();
        let variants = [
            AuditEvent { seq: 9, ..event() },
            AuditEvent { actor: "token:y".into(), ..event() },
            AuditEvent { fields: vec!["emails".into()], ..event() },
            AuditEvent { fields: vec!["emailsgiven_name".into()], ..event() },
            AuditEvent { purpose: Some(String::new()), ..event() },
            AuditEvent { outcome: AuditOutcome::Denied, ..event() },
            AuditEvent { subject_id: None, ..event() },
        ];
        for v in variants {
            assert_ne!(v.canonical(), base, "{v:?}");
        }
    }
}
