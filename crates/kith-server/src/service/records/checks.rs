//! The questions asked before any data moves: the grant, the purpose,
//! the policy about the person, the suppression list. Each refusal is
//! audited against the record's person.

use super::Records;
use crate::auth::caller::Caller;
use crate::auth::purpose::request_purpose;
use crate::auth::Action;
use crate::error::{ApiError, ApiResult};
use kith_core::access::Grant;
use kith_core::audit::{AuditAction, AuditOutcome};
use kith_core::policy::may_process;
use kith_core::purpose::Purpose;
use kith_core::{EntityBody, ErrorCode};
use uuid::Uuid;

impl Records {
    /// The request's purpose ([`request_purpose`]); a refusal is audited.
    pub(super) async fn purpose_for<B: EntityBody>(
        &self,
        who: &Caller,
        record: Option<Uuid>,
        action: AuditAction,
    ) -> ApiResult<Purpose> {
        let purpose = request_purpose(&self.store, who).await;
        if matches!(&purpose, Err(e) if e.code == ErrorCode::PurposeNotAllowed) {
            let subject = self.subject_of::<B>(record).await?;
            let refused = Self::event::<B>(who, action, record, subject, Vec::new(), AuditOutcome::Denied);
            self.audit.record(vec![refused]).await?;
        }
        purpose
    }

    /// Whose record this is: a refused attempt on a record is attributed to
    /// its person, so it shows in their access log.
    pub(super) async fn subject_of<B: EntityBody>(&self, record: Option<Uuid>) -> ApiResult<Option<Uuid>> {
        Ok(match record {
            Some(id) => self.store.get(B::KIND, id).await?.map(|row| row.subject_id),
            None => None,
        })
    }

    /// Asks the policy whether this person's data may be used for the
    /// purpose now; a refusal is audited against the person.
    pub(super) async fn may_process<B: EntityBody>(
        &self,
        who: &Caller,
        purpose: &Purpose,
        action: AuditAction,
        record: Option<Uuid>,
        person: Uuid,
    ) -> ApiResult<()> {
        let status = self
            .store
            .statuses(&[person], &*crate::consent_seal::sealer(&self.keys))
            .await?
            .remove(&person)
            .unwrap_or_default();
        let Err(denial) = may_process(purpose, &status, who.is_dpo()) else {
            return Ok(());
        };
        let refused = Self::event::<B>(who, action, record, Some(person), Vec::new(), AuditOutcome::Denied);
        self.audit.record(vec![refused]).await?;
        Err(ApiError::new(denial.code(), format!("this person's data may not be used for {} now", purpose.key)))
    }

    /// Recording something about an existing person is processing too: the
    /// policy decides, as for reads. A new contact has no choices recorded
    /// yet (its consent is recorded once it exists), so only links to
    /// existing people are asked about.
    pub(super) async fn may_write_about<B: EntityBody>(
        &self,
        who: &Caller,
        action: AuditAction,
        record: Uuid,
        people: impl IntoIterator<Item = Uuid>,
    ) -> ApiResult<()> {
        let mut people: Vec<Uuid> =
            people.into_iter().filter(|p| *p != record || action != AuditAction::Create).collect();
        people.sort();
        people.dedup();
        // The purpose must be the caller's to use even when no person is involved.
        let purpose = self.purpose_for::<B>(who, Some(record), action).await?;
        for person in people {
            self.may_process::<B>(who, &purpose, action, Some(record), person).await?;
        }
        Ok(())
    }

    /// Asks the authoriser; a refusal is itself audited.
    pub(super) async fn authorize<B: EntityBody>(
        &self,
        who: &Caller,
        action: Action,
        record: Option<Uuid>,
    ) -> ApiResult<Grant> {
        match self.authorizer.authorize(&who.principal, action, B::KIND) {
            Ok(grant) => Ok(grant),
            Err(refusal) => self.refuse::<B, _>(who, action, record, refusal).await,
        }
    }

    /// Audits a refusal of `action` on a record of kind `B` and returns it.
    pub(super) async fn refuse<B: EntityBody, T>(
        &self,
        who: &Caller,
        action: Action,
        record: Option<Uuid>,
        refusal: ApiError,
    ) -> ApiResult<T> {
        let audited = match action {
            Action::Read | Action::Export => AuditAction::Read,
            Action::Erase => AuditAction::Delete,
            Action::Create => AuditAction::Create,
            Action::Update => AuditAction::Update,
            Action::Delete => AuditAction::Delete,
        };
        let subject = self.subject_of::<B>(record).await?;
        self.audit
            .record(vec![Self::event::<B>(who, audited, record, subject, Vec::new(), AuditOutcome::Denied)])
            .await?;
        Err(refusal)
    }

    /// Refuses a contact whose e-mail addresses or phone numbers (those not
    /// in `before`, for a change) are on the erasure suppression list,
    /// unless the DPO overrides it; true when an override was used. An
    /// override header from anyone else is refused outright.
    pub(super) async fn check_suppression<B: EntityBody>(
        &self,
        who: &Caller,
        action: Action,
        record: Option<Uuid>,
        body: &B,
        before: Option<&B>,
    ) -> ApiResult<bool> {
        if who.override_suppression {
            if let Err(refusal) = self.authorizer.authorize_erasure(&who.principal) {
                return self.refuse::<B, _>(who, action, record, refusal).await;
            }
        }
        // Contacts and companies hold addresses and numbers: an erased
        // person's may come back on neither.
        let ring = self.keys.current();
        let mut terms = crate::service::erasure::suppression_terms(&ring, &body.index_terms());
        if let Some(before) = before {
            let old = crate::service::erasure::suppression_terms(&ring, &before.index_terms());
            terms.retain(|t| !old.contains(t));
        }
        if terms.is_empty() || !self.store.suppressed(&terms).await? {
            return Ok(false);
        }
        if who.override_suppression {
            return Ok(true);
        }
        let refusal = ApiError::new(
            ErrorCode::SuppressedAfterErasure,
            "emails, phones: an address or number of an erased person; the DPO may override with Kith-Override-Suppression",
        );
        self.refuse::<B, _>(who, action, record, refusal).await
    }
}
