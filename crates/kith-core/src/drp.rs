//! The Data Rights Protocol 1.0, Covered Business side: the claims every
//! signed body carries and their checks, the rights an agent may exercise
//! and how they map onto the register, and the protocol's status of a
//! request as the register's state gives it. Pure rules: the endpoints
//! are in the server.

use crate::dsr::{RequestKind, RequestStatus};
use serde::Deserialize;
use time::OffsetDateTime;

/// The protocol version this side speaks.
pub const DRP_VERSION: &str = "1.0";
/// Length of the Ed25519 signature that prefixes a signed body.
pub const SIGNATURE_LEN: usize = 64;
/// Days the protocol expects a request answered in (the register's own
/// deadline of one month is shorter and stays the binding one).
pub const EXPECTED_DAYS: i64 = 45;

/// The claims every signed body carries; the request's own fields are
/// read from the same JSON by the caller.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    #[serde(rename = "agent-id")]
    pub agent_id: String,
    #[serde(rename = "business-id")]
    pub business_id: String,
    #[serde(rename = "issued-at", with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(rename = "expires-at", with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Envelope {
    /// The checks after the signature, in the protocol's order: the agent
    /// is the one expected, the business is us, and now lies in
    /// `issued-at <= now < expires-at`.
    pub fn holds(&self, agent: &str, business: &str, now: OffsetDateTime) -> bool {
        self.agent_id == agent && self.business_id == business && self.issued_at <= now && now < self.expires_at
    }
}

/// How far an agent's clock may run behind ours when it signs a revocation.
pub const REVOCATION_SKEW: time::Duration = time::Duration::minutes(5);

/// Whether opened, verified claims are a revocation of a request we
/// received at `received_at`: they give a `reason` (the protocol's
/// revocation body), carry no `exercise` (a request body the agent signed
/// is no revocation, even replayed), and were issued after the request
/// arrived (allowing for clock skew), so a revocation signed for an
/// earlier request does not revoke this one.
pub fn is_revocation_of(claims: &serde_json::Value, issued_at: OffsetDateTime, received_at: OffsetDateTime) -> bool {
    claims.get("reason").is_some_and(serde_json::Value::is_string)
        && claims.get("exercise").is_none()
        && issued_at >= received_at - REVOCATION_SKEW
}

/// Splits a decoded signed body into its signature and its JSON.
pub fn split_signed(decoded: &[u8]) -> Option<(&[u8], &[u8])> {
    (decoded.len() > SIGNATURE_LEN).then(|| decoded.split_at(SIGNATURE_LEN))
}

/// The rights an agent may exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exercise {
    SaleOptOut,
    SaleOptIn,
    Deletion,
    Access,
    AccessCategories,
    AccessSpecific,
}

impl Exercise {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "sale:opt-out" => Self::SaleOptOut,
            "sale:opt-in" => Self::SaleOptIn,
            "deletion" => Self::Deletion,
            "access" => Self::Access,
            "access:categories" => Self::AccessCategories,
            "access:specific" => Self::AccessSpecific,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SaleOptOut => "sale:opt-out",
            Self::SaleOptIn => "sale:opt-in",
            Self::Deletion => "deletion",
            Self::Access => "access",
            Self::AccessCategories => "access:categories",
            Self::AccessSpecific => "access:specific",
        }
    }

    /// The register's kind of request that carries this right; none when
    /// it is answered at once (an opt-out is recorded as objections, an
    /// opt-in is not something Kith's objection model can do).
    pub fn request_kind(self) -> Option<RequestKind> {
        match self {
            Self::Deletion => Some(RequestKind::Erasure),
            Self::Access | Self::AccessCategories | Self::AccessSpecific => Some(RequestKind::Access),
            Self::SaleOptOut | Self::SaleOptIn => None,
        }
    }
}

/// The purposes an opt-out of sale objects to.
pub const OPT_OUT_PURPOSES: [&str; 2] = crate::capture::GPC_OBJECTIONS;

/// The protocol's status and reason of a request the register carries.
pub fn status_of(status: RequestStatus) -> (&'static str, Option<&'static str>) {
    match status {
        RequestStatus::Received | RequestStatus::IdentityVerification | RequestStatus::Locked => {
            ("in_progress", Some("need_user_verification"))
        }
        RequestStatus::InProgress => ("in_progress", None),
        RequestStatus::Completed => ("fulfilled", None),
        RequestStatus::Refused => ("denied", Some("other")),
        RequestStatus::Withdrawn => ("revoked", None),
    }
}

/// A time as the protocol writes it: RFC 3339, seconds, `+00:00`.
pub fn timestamp(millis: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (d, h) = (t.date(), t.time());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        d.year(),
        u8::from(d.month()),
        d.day(),
        h.hour(),
        h.minute(),
        h.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_reasoned_body_issued_after_the_request_revokes_it() {
        let received = time::macros::datetime!(2026-12-01 10:00:00 UTC);
        let after = received + time::Duration::minutes(1);
        let reason = serde_json::json!({"reason": "changed their mind"});
        assert!(is_revocation_of(&reason, after, received));
        assert!(is_revocation_of(&reason, received - time::Duration::minutes(4), received), "clock skew");
        assert!(!is_revocation_of(&reason, received - time::Duration::hours(1), received), "signed for an earlier one");
        let replayed = serde_json::json!({"reason": "x", "exercise": "deletion"});
        assert!(!is_revocation_of(&replayed, after, received), "a request body is no revocation");
        assert!(!is_revocation_of(&serde_json::json!({}), after, received), "no reason");
    }

    #[test]
    fn claims_hold_only_for_us_the_agent_and_now() {
        let json = r#"{"agent-id":"a","business-id":"kith","issued-at":"2026-01-01T00:00:00+00:00","expires-at":"2026-01-02T00:00:00+00:00","drp.version":"1.0"}"#;
        let e: Envelope = serde_json::from_str(json).unwrap();
        let inside = time::macros::datetime!(2026-01-01 12:00 UTC);
        assert!(e.holds("a", "kith", inside));
        assert!(!e.holds("b", "kith", inside));
        assert!(!e.holds("a", "other", inside));
        assert!(!e.holds("a", "kith", time::macros::datetime!(2026-01-02 00:00 UTC)));
        assert!(!e.holds("a", "kith", time::macros::datetime!(2025-12-31 23:59 UTC)));
    }

    #[test]
    fn timestamps_are_utc_with_an_explicit_offset() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(timestamp(1_767_225_600_123), "2026-01-01T00:00:00+00:00");
    }

    #[test]
    fn statuses_follow_the_register() {
        assert_eq!(status_of(RequestStatus::Received), ("in_progress", Some("need_user_verification")));
        assert_eq!(status_of(RequestStatus::Completed), ("fulfilled", None));
        assert_eq!(status_of(RequestStatus::Withdrawn), ("revoked", None));
        assert_eq!(Exercise::parse("deletion").and_then(Exercise::request_kind), Some(RequestKind::Erasure));
        assert_eq!(Exercise::parse("nope"), None);
    }
}
