//! The caller of a request and its context, as the record service and the
//! audit log need them: who (the authenticated principal), which request,
//! from where, and for which declared purpose.

use crate::auth::{Credential, Principal};
use crate::error::ApiError;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use kith_core::access::{Action, FieldClass, Permission, Scope};
use kith_core::{EntityKind, ErrorCode};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

/// The header a request declares its processing purpose in.
pub const PURPOSE_HEADER: &str = "kith-purpose";

/// The header the DPO gives, with the reason, to create or change a
/// contact whose e-mail address or phone number was suppressed by an
/// erasure. The reason is never stored or logged: it may name the person.
pub const OVERRIDE_SUPPRESSION_HEADER: &str = "kith-override-suppression";

#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: Option<String>,
    pub client: Option<String>,
    pub purpose: Option<String>,
    /// Whether the request carries an override of the erasure suppression
    /// list (only the DPO's is accepted, see `Records`).
    pub override_suppression: bool,
}

/// What a public request brings besides its body: where it comes from,
/// its user agent, and whether it carries the GPC signal.
pub struct PublicRequest {
    pub request_id: Option<String>,
    pub client: Option<String>,
    pub user_agent: Option<String>,
    pub gpc: bool,
}

/// The role of the principal that public capture acts as. It holds no
/// token; the authoriser decides what it may do like for any other role.
pub const CAPTURE_ROLE: &str = "capture";

/// Capture finds and creates contacts from a name and an address, nothing more.
fn capture_permissions() -> Arc<Vec<Permission>> {
    static PERMISSIONS: OnceLock<Arc<Vec<Permission>>> = OnceLock::new();
    PERMISSIONS
        .get_or_init(|| {
            Arc::new(vec![Permission {
                actions: [Action::Read, Action::Create].into(),
                entities: [EntityKind::Contacts.as_str().to_string()].into(),
                fields: [FieldClass::Identity, FieldClass::ContactDetails].into(),
                scope: Scope::All,
            }])
        })
        .clone()
}

impl Caller {
    /// How the audit log names the caller.
    pub fn actor(&self) -> String {
        self.principal.actor()
    }

    /// Whether this is the DPO, whose own views restriction does not stop.
    pub fn is_dpo(&self) -> bool {
        self.principal.has_role("dpo")
    }

    /// The caller of a public capture through `form`: the `capture`
    /// principal (also the owner of the contacts it creates), audited as
    /// `public:form:<key>`.
    /// The caller's address is left out: the audit log is never erased, and
    /// a member of the public's address is theirs (it is kept in the sealed
    /// evidence instead).
    pub fn public_form(form: &str, request_id: Option<String>) -> Self {
        let principal = Principal {
            credential: Credential::PublicForm(form.to_string()),
            name: CAPTURE_ROLE.into(),
            roles: vec![CAPTURE_ROLE.into()],
            teams: Vec::new(),
            permissions: capture_permissions(),
        };
        Self { principal, request_id, client: None, purpose: None, override_suppression: false }
    }
}

impl Caller {
    /// The operator on the command line, processing for `purpose` with
    /// the DPO's permissions; audited as `system:cli`.
    pub fn command(purpose: &str) -> Self {
        let principal = Principal {
            credential: Credential::Command,
            name: "cli".into(),
            roles: vec!["dpo".into()],
            teams: Vec::new(),
            permissions: std::sync::Arc::new(kith_core::access::built_in("dpo").unwrap_or_default()),
        };
        Self {
            principal,
            request_id: None,
            client: None,
            purpose: Some(purpose.to_string()),
            override_suppression: false,
        }
    }
}

/// A caller with no role and no permission: the portal reaches people
/// only through its own services, never the authoriser's grants.
fn portal_caller(credential: Credential, name: String, request_id: Option<String>) -> Caller {
    let principal =
        Principal { credential, name, roles: Vec::new(), teams: Vec::new(), permissions: Default::default() };
    Caller { principal, request_id, client: None, purpose: None, override_suppression: false }
}

impl Caller {
    /// The privacy portal's public page, looking up the address someone
    /// gave: audited as `public:portal`.
    pub fn portal(request_id: Option<String>) -> Self {
        portal_caller(Credential::Portal, "portal".into(), request_id)
    }

    /// The person themself in a portal session: audited as
    /// `subject:<id>`, and what they record names them so.
    pub fn subject(contact: uuid::Uuid, request_id: Option<String>) -> Self {
        portal_caller(Credential::Subject(contact), format!("subject:{contact}"), request_id)
    }
}

/// A purpose key: dotted lower-case words, as in the fideslang data uses
/// (`marketing.communications.email`).
fn parse_purpose(raw: &str) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 100
        && raw
            .split('.')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    ok.then(|| raw.to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "send Authorization: Bearer <token>"))?;
        let header = |name: &str| parts.headers.get(name).map(|v| v.to_str().map(str::to_string));
        // One purpose per request: a repeated header is not silently cut to its first.
        if parts.headers.get_all(PURPOSE_HEADER).iter().count() > 1 {
            return Err(ApiError::new(ErrorCode::InvalidHeader, "Kith-Purpose: send it once"));
        }
        let request_id = header("x-request-id").and_then(Result::ok);
        let purpose = match header(PURPOSE_HEADER) {
            None => None,
            Some(value) => Some(value.ok().as_deref().and_then(parse_purpose).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidHeader,
                    "Kith-Purpose: a purpose key like marketing.communications.email",
                )
            })?),
        };
        let override_suppression = match header(OVERRIDE_SUPPRESSION_HEADER) {
            None => false,
            Some(Ok(reason)) if !reason.trim().is_empty() && reason.len() <= 1000 => true,
            Some(_) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidHeader,
                    "Kith-Override-Suppression: the reason for the override, up to 1000 characters",
                ))
            }
        };
        let client = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(Self { principal, request_id, client, purpose, override_suppression })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_purpose;

    #[test]
    fn purposes_are_dotted_keys() {
        assert!(parse_purpose("marketing.communications.email").is_some());
        assert!(parse_purpose("essential").is_some());
        for bad in ["", "Marketing", "a..b", ".a", "a b", "a;drop"] {
            assert!(parse_purpose(bad).is_none(), "{bad}");
        }
    }
}
