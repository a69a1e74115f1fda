//! Permissions a route needs whatever its body says, checked before the
//! body is read: a refused caller learns nothing about the body's rules,
//! and nothing it sent reaches the audit log (the refusal is recorded with
//! the route's kind of record and no field). A handler names its
//! requirement as its first extractor after the caller, `Guard<WritePurposes>`.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::{Authorizer, Principal};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kith_core::audit::AuditAction;
use std::marker::PhantomData;

/// A permission with the action and kind of record its refusal is audited as.
pub trait Requirement: Send + Sync + 'static {
    const ACTION: AuditAction;
    const ENTITY: &'static str;
    fn check(authorizer: &dyn Authorizer, principal: &Principal) -> Result<(), ApiError>;
}

/// Proof that the caller meets `R`; refuses (and audits) otherwise.
pub struct Guard<R>(PhantomData<R>);

impl<R: Requirement> FromRequestParts<AppState> for Guard<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let who = Caller::from_request_parts(parts, state).await?;
        let Err(refusal) = R::check(state.authorizer.as_ref(), &who.principal) else {
            return Ok(Guard(PhantomData));
        };
        let event = audit_event::denied(audit_event::by(&who, R::ACTION, About::entity(R::ENTITY), Vec::new()));
        state.audit.record(vec![event]).await?;
        Err(refusal)
    }
}

macro_rules! requirement {
    ($(#[$doc:meta])* $name:ident, $action:expr, $entity:literal, |$a:ident, $p:ident| $check:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl Requirement for $name {
            const ACTION: AuditAction = $action;
            const ENTITY: &'static str = $entity;
            fn check($a: &dyn Authorizer, $p: &Principal) -> Result<(), ApiError> {
                $check
            }
        }
    };
}

requirement!(
    /// Editing the purposes catalogue, notices and capture forms.
    WritePurposes, AuditAction::ConfigChange, "purposes", |a, p| a.authorize_purposes(p, true)
);
requirement!(
    /// Defining custom roles.
    WriteRoles, AuditAction::ConfigChange, "roles", |a, p| a.authorize_roles(p, true)
);
requirement!(
    /// Managing staff accounts.
    ManageAccounts, AuditAction::ConfigChange, "users", |a, p| a.authorize_accounts(p)
);
requirement!(
    /// Issuing third-party API keys.
    IssueApiKeys, AuditAction::TokenIssue, "api_keys", |a, p| a.authorize_api_keys(p, true)
);
requirement!(
    /// Keeping the register of recipients and the adequacy decisions.
    WriteRecipients, AuditAction::ConfigChange, "recipients", |a, p| a.authorize_accountability(p, true)
);
requirement!(
    /// Recording and changing breaches.
    ManageBreaches, AuditAction::Update, "breaches", |a, p| a.authorize_breaches(p)
);
requirement!(
    /// Setting the controller's details.
    WriteController, AuditAction::ConfigChange, "controller", |a, p| a.authorize_accountability(p, true)
);
requirement!(
    /// Registering data-subject requests.
    RegisterRequests, AuditAction::Create, "dsr_requests", |a, p| a.authorize_requests(p, false)
);
requirement!(
    /// Every later step of a data-subject request.
    ManageRequests, AuditAction::Update, "dsr_requests", |a, p| a.authorize_requests(p, true)
);
requirement!(
    /// Exceptions to erasure.
    ManageErasure, AuditAction::ConfigChange, "erasure_exceptions", |a, p| a.authorize_erasure(p)
);
requirement!(
    /// Legal-claims exceptions to a restriction.
    RecordLegalClaims, AuditAction::ConsentChange, "legal_claims", |a, p| a.authorize_legal_claims(p)
);
requirement!(
    /// Configuring Data Rights Protocol agents.
    ManageAgents, AuditAction::ConfigChange, "drp_agents", |a, p| a.authorize_agents(p)
);
requirement!(
    /// Importing from files: the right to create records of some kind (the
    /// service checks the kind of the file).
    ImportRecords, AuditAction::Create, "imports", |a, p| crate::service::imports::may_import(a, p)
);
