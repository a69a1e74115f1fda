//! Who is calling, and whether they may. Authentication turns a bearer
//! token or a session cookie (`sessions.rs`) into a [`Principal`];
//! authorisation is one replaceable [`Authorizer`] that every record
//! operation asks before it touches data.

pub mod api_keys;
pub mod caller;
pub mod network;
pub mod purpose;
pub mod roles;
pub mod sessions;

use crate::error::{ApiError, ApiResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use kith_core::access::{grant, Grant, Permission};
use kith_core::purpose::Purpose;
use kith_core::{EntityKind, ErrorCode};
use kith_store::{DynStore, TokenRow};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// The roles tokens may carry. Their full field-level rules arrive with the
/// access-control model; until then the interim policy below applies.
pub use kith_core::ROLES;

const TOKEN_PREFIX: &str = "kith_";

/// How a caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An API token (`kith token create`).
    Token(Uuid),
    /// Public capture through a form: no credential at all.
    PublicForm(String),
    /// A third-party API key, limited to its purposes.
    ApiKey { id: Uuid, purposes: Vec<String> },
    /// A staff account's browser session.
    User { user: Uuid, session: Uuid },
    /// A Data Rights Protocol agent's pairwise token (by the agent's id).
    Agent(String),
    /// The privacy portal's public page, before anyone is known: no credential.
    Portal,
    /// The person themself, in a privacy portal session (by their contact id).
    Subject(Uuid),
    /// The operator on the server's command line (`kith export`), with the
    /// DPO's permissions: whoever holds the data directory and its key file
    /// holds everything already.
    Command,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub credential: Credential,
    /// The token's name, or a user's id: it becomes records' `owner` and
    /// ledger entries' `recorded_by`, so no personal value is stored in clear.
    pub name: String,
    /// A token carries one role; an account may hold several.
    pub roles: Vec<String>,
    /// The teams whose records a team-scoped permission reaches.
    pub teams: Vec<String>,
    /// What the roles (or the key) allow, resolved when the caller was
    /// authenticated; the authoriser reads nothing else.
    pub permissions: Arc<Vec<Permission>>,
}

impl Principal {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the caller holds any of `roles`.
    pub fn has_any_role(&self, roles: &[&str]) -> bool {
        roles.iter().any(|r| self.has_role(r))
    }

    /// The role whose default purpose applies to a request naming none.
    pub fn primary_role(&self) -> &str {
        self.roles.first().map(String::as_str).unwrap_or("")
    }

    /// Whether the caller may process data for a purpose: one of their roles
    /// is the purpose's. Public capture processes for the purposes of the
    /// form an admin or the DPO set up.
    pub fn may_use(&self, purpose: &Purpose) -> bool {
        match &self.credential {
            Credential::PublicForm(_) => true,
            Credential::Token(_) | Credential::User { .. } | Credential::Command => {
                self.roles.iter().any(|role| purpose.allows_role(role))
            }
            Credential::ApiKey { purposes, .. } => purposes.contains(&purpose.key),
            Credential::Agent(_) | Credential::Portal | Credential::Subject(_) => false,
        }
    }

    /// The purpose of a request that names none: a key's first purpose,
    /// else the primary role's default.
    pub fn default_purpose(&self) -> String {
        match &self.credential {
            Credential::ApiKey { purposes, .. } => purposes.first().cloned().unwrap_or_default(),
            _ => crate::auth::purpose::default_purpose(self.primary_role()).to_string(),
        }
    }

    /// How the audit log names the caller.
    pub fn actor(&self) -> String {
        match &self.credential {
            Credential::Token(id) => format!("token:{id}"),
            Credential::PublicForm(form) => format!("public:form:{form}"),
            Credential::ApiKey { id, .. } => format!("key:{id}"),
            Credential::User { user, .. } => format!("user:{user}"),
            Credential::Agent(agent) => format!("agent:{agent}"),
            Credential::Portal => "public:portal".into(),
            Credential::Subject(contact) => format!("subject:{contact}"),
            Credential::Command => "system:cli".into(),
        }
    }

    /// The roles for a message: `sales` or `sales+support`.
    pub fn role_names(&self) -> String {
        self.roles.join("+")
    }
}

pub use kith_core::access::Action;

/// The single authorisation point. The access-control model replaces the
/// implementation, not the call sites.
pub trait Authorizer: Send + Sync + 'static {
    /// What the caller may do with `action` on records of `entity`: the
    /// field classes and the scope, or a refusal.
    fn authorize(&self, principal: &Principal, action: Action, entity: EntityKind) -> ApiResult<Grant>;
    /// Reading the audit log and verifying it.
    fn authorize_audit(&self, principal: &Principal) -> ApiResult<()>;
    /// Reading (`write` false) or editing the processing purposes catalogue.
    fn authorize_purposes(&self, principal: &Principal, write: bool) -> ApiResult<()>;
    /// Recording a legal-claims exception to a restriction.
    fn authorize_legal_claims(&self, principal: &Principal) -> ApiResult<()>;
    /// Issuing (`issue` true) third-party API keys, or listing and revoking them.
    fn authorize_api_keys(&self, principal: &Principal, issue: bool) -> ApiResult<()>;
    /// Reading (`write` false) or defining custom roles.
    fn authorize_roles(&self, principal: &Principal, write: bool) -> ApiResult<()>;
    /// Managing staff accounts: listing, creating, changing, resetting
    /// passwords, revoking sessions.
    fn authorize_accounts(&self, principal: &Principal) -> ApiResult<()>;
    /// Data-subject requests: registering and reading them (`manage`
    /// false), or every other step (verifying, extending, refusing,
    /// withdrawing, carrying out, unlocking).
    fn authorize_requests(&self, principal: &Principal, manage: bool) -> ApiResult<()>;
    /// Recording and lifting exceptions to erasure, reading receipts and
    /// notification tasks, and overriding the suppression list.
    fn authorize_erasure(&self, principal: &Principal) -> ApiResult<()>;
    /// Configuring the Data Rights Protocol agents whose requests are accepted.
    fn authorize_agents(&self, principal: &Principal) -> ApiResult<()>;
    /// Reading the installation's security self-check.
    fn authorize_doctor(&self, principal: &Principal) -> ApiResult<()>;
    /// Reading (`write` false) or keeping the records of accountability:
    /// the register of recipients, the adequacy decisions, the
    /// controller's details and the record of processing.
    fn authorize_accountability(&self, principal: &Principal, write: bool) -> ApiResult<()>;
    /// The breach register: reading it, recording breaches, computing the
    /// people affected and notifying.
    fn authorize_breaches(&self, principal: &Principal) -> ApiResult<()>;
}

/// Deny by default: records by the permissions the caller's roles (or key)
/// carry; the audit log for `admin`, `dpo` and `auditor`; purposes and
/// notices edited by `admin` and `dpo`; legal claims by the DPO;
/// data-subject requests registered and read by `dpo` and `support` (the
/// front desk that takes a request in) and handled by the DPO alone.
pub struct AccessPolicy;

impl Authorizer for AccessPolicy {
    fn authorize(&self, principal: &Principal, action: Action, entity: EntityKind) -> ApiResult<Grant> {
        grant(&principal.permissions, action, entity).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Forbidden,
                format!("{} may not {} {}", principal.role_names(), action.as_str(), entity.as_str()),
            )
        })
    }

    fn authorize_purposes(&self, principal: &Principal, write: bool) -> ApiResult<()> {
        if !write || principal.has_any_role(&["admin", "dpo"]) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the {} role may not change purposes", principal.role_names()),
            ))
        }
    }

    fn authorize_legal_claims(&self, principal: &Principal) -> ApiResult<()> {
        if principal.has_role("dpo") {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden, "only the DPO records a legal-claims exception"))
        }
    }

    /// A key hands personal data to a third party: only the DPO issues one;
    /// admin and the DPO may list and revoke.
    fn authorize_api_keys(&self, principal: &Principal, issue: bool) -> ApiResult<()> {
        let allowed: &[&str] = if issue { &["dpo"] } else { &["admin", "dpo"] };
        if principal.has_any_role(allowed) {
            Ok(())
        } else if issue {
            Err(ApiError::new(ErrorCode::Forbidden, "only the DPO issues API keys"))
        } else {
            Err(ApiError::new(ErrorCode::Forbidden, "only admin and the DPO manage API keys"))
        }
    }

    fn authorize_roles(&self, principal: &Principal, write: bool) -> ApiResult<()> {
        // Writing is limited further by `access::covers`: a role grants
        // no more than its author holds, so custom roles reaching personal
        // data are the DPO's.
        let allowed: &[&str] = if write { &["admin", "dpo"] } else { &["admin", "dpo", "auditor"] };
        if principal.has_any_role(allowed) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the {} role may not do this with roles", principal.role_names()),
            ))
        }
    }

    /// Admins manage accounts, and so does the DPO, who alone manages those
    /// that reach everyone's personal data (`account_routes::check_privilege`).
    fn authorize_accounts(&self, principal: &Principal) -> ApiResult<()> {
        if principal.has_any_role(&["admin", "dpo"]) {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden, "only an admin or the DPO manages staff accounts"))
        }
    }

    fn authorize_requests(&self, principal: &Principal, manage: bool) -> ApiResult<()> {
        if principal.has_role("dpo") || (!manage && principal.has_role("support")) {
            Ok(())
        } else if manage {
            Err(ApiError::new(ErrorCode::Forbidden, "only the DPO handles a data-subject request"))
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the {} role may not register or read data-subject requests", principal.role_names()),
            ))
        }
    }

    fn authorize_audit(&self, principal: &Principal) -> ApiResult<()> {
        if principal.has_any_role(&["admin", "dpo", "auditor"]) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the {} role may not read the audit log", principal.role_names()),
            ))
        }
    }

    fn authorize_erasure(&self, principal: &Principal) -> ApiResult<()> {
        if principal.has_role("dpo") {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden, "only the DPO decides about erasure and its suppression list"))
        }
    }

    fn authorize_agents(&self, principal: &Principal) -> ApiResult<()> {
        if principal.has_role("dpo") {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden, "only the DPO configures Data Rights Protocol agents"))
        }
    }

    fn authorize_doctor(&self, principal: &Principal) -> ApiResult<()> {
        if principal.has_any_role(&["admin", "dpo"]) {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden, "only an admin or the DPO reads the security self-check"))
        }
    }

    fn authorize_accountability(&self, principal: &Principal, write: bool) -> ApiResult<()> {
        if principal.has_role("dpo") || (!write && principal.has_any_role(&["admin", "auditor"])) {
            Ok(())
        } else if write {
            Err(ApiError::new(ErrorCode::Forbidden, "only the DPO keeps the records of accountability"))
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                "only admin, auditors and the DPO read the records of accountability",
            ))
        }
    }

    fn authorize_breaches(&self, principal: &Principal) -> ApiResult<()> {
        if principal.has_role("dpo") {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden, "only the DPO keeps the breach register"))
        }
    }
}

/// A new token: the secret shown once, and the row that stores its hash.
pub fn new_token(name: &str, role: &str, now: i64, expires_at: Option<i64>) -> (String, TokenRow) {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", B64URL.encode(secret));
    let row = TokenRow {
        id: Uuid::new_v4(),
        name: name.into(),
        role: role.into(),
        token_hash: hash_token(&token),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    (token, row)
}

/// Tokens carry 256 random bits, so one SHA-256 is enough to make a stolen
/// table useless; a slow password hash would add nothing but latency.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Why a credential was refused, and whose it was (if known: `token:<id>`
/// or `user:<id>`), so that the use of a revoked or expired one is
/// attributed to it.
pub struct Refused {
    pub error: ApiError,
    /// How the audit log names the credential used, if it was a known one.
    pub actor: Option<String>,
}

impl Refused {
    /// The one answer for a credential that is unknown, expired or revoked.
    pub fn unknown(actor: Option<String>) -> Self {
        Self {
            error: ApiError::new(ErrorCode::Unauthenticated, "the bearer token is unknown, expired or revoked"),
            actor,
        }
    }
}

pub async fn principal_for(store: &DynStore, token: &str, now: i64) -> Result<Principal, Refused> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(Refused::unknown(None));
    }
    let row = store.token_by_hash(&hash_token(token)).await.map_err(|e| Refused { error: e.into(), actor: None })?;
    let row = row.ok_or_else(|| Refused::unknown(None))?;
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now) {
        return Err(Refused::unknown(Some(format!("token:{}", row.id))));
    }
    let roles = vec![row.role];
    let permissions = crate::auth::roles::resolve_permissions(store, &roles)
        .await
        .map_err(|error| Refused { error, actor: Some(format!("token:{}", row.id)) })?;
    Ok(Principal { credential: Credential::Token(row.id), name: row.name, roles, teams: Vec::new(), permissions })
}
