//! Reading records: one, a list, or a contact found by address or number.

use super::view::{hidden_field, Reach};
use super::Records;
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::{ApiError, ApiResult};
use crate::listing::{self, ListParams, Page};
use kith_core::access::Grant;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::model::Contact;
use kith_core::policy::may_process;
use kith_core::values::{email_lookup_key, parse_phone};
use kith_core::{EntityBody, EntityKind};
use kith_store::StoredRecord;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

impl Records {
    /// The contact holding `email` among its addresses (the oldest, if
    /// several do), for a system path that must not create a duplicate
    /// (public capture) or must find the person a request is about. Found
    /// through the e-mail blind index and checked after opening, as
    /// truncated terms may collide. Unlike a list, no purpose filter
    /// applies (a restricted person is still the same person) and only the
    /// id comes back; each person opened is audited as read.
    pub async fn find_contact_by_email(&self, who: &Caller, email: &str) -> ApiResult<Option<Uuid>> {
        let (found, events) = self.look_up_email(who, email).await?;
        self.audit.record(events).await?;
        Ok(found)
    }

    /// [`Self::find_contact_by_email`] with its read events handed back
    /// unrecorded, for a caller that records them with its own in one
    /// write (the privacy portal, whose answer must take as long whether
    /// the address is known or not).
    pub async fn look_up_email(&self, who: &Caller, email: &str) -> ApiResult<(Option<Uuid>, Vec<AuditEvent>)> {
        let wanted = email_lookup_key(email);
        let params = ListParams { email: Some(email.to_string()), ..Default::default() };
        self.find_contact(who, params, "emails", |c| c.emails.iter().any(|e| email_lookup_key(e) == wanted)).await
    }

    /// Like [`Self::find_contact_by_email`], by an exact phone number (E.164
    /// after parsing, as stored and indexed).
    pub async fn find_contact_by_phone(&self, who: &Caller, phone: &str) -> ApiResult<Option<Uuid>> {
        let wanted = parse_phone(phone).map_err(|e| ApiError::from(e.at("phone")))?;
        let params = ListParams { phone: Some(wanted.clone()), ..Default::default() };
        let (found, events) = self.find_contact(who, params, "phones", |c| c.phones.contains(&wanted)).await?;
        self.audit.record(events).await?;
        Ok(found)
    }

    /// The oldest contact the blind-index lookup in `params` finds that
    /// `holds` confirms once opened, and a read event of `field` for every
    /// one opened, for the caller to record.
    async fn find_contact(
        &self,
        who: &Caller,
        mut params: ListParams,
        field: &str,
        holds: impl Fn(&Contact) -> bool,
    ) -> ApiResult<(Option<Uuid>, Vec<AuditEvent>)> {
        params.limit = Some(listing::MAX_LIMIT);
        let plan = listing::plan(EntityKind::Contacts, params, &self.keys.current())?;
        let rows = self.store.list(&plan.query).await?;
        let mut keys = HashMap::new();
        let mut found = None;
        let mut events = Vec::new();
        for row in rows.iter().filter(|row| row.key.is_some()) {
            let contact: Contact = self.open(row, &mut keys)?;
            events.push(Self::event::<Contact>(
                who,
                AuditAction::Read,
                Some(row.id),
                Some(row.subject_id),
                vec![field.to_string()],
                AuditOutcome::Ok,
            ));
            if found.is_none() && holds(&contact) {
                found = Some(row.id);
            }
        }
        Ok((found, events))
    }

    pub async fn get<B: EntityBody>(&self, who: &Caller, id: Uuid) -> ApiResult<Value> {
        let grant = self.authorize::<B>(who, Action::Read, Some(id)).await?;
        let purpose = self.purpose_for::<B>(who, Some(id), AuditAction::Read).await?;
        let (row, reach) = self.visible_row::<B>(who, &grant, Action::Read, id).await?;
        let body: B = self.open(&row, &mut HashMap::new())?;
        if let Some(person) = body.person(id) {
            self.may_process::<B>(who, &purpose, AuditAction::Read, Some(id), person).await?;
        }
        let (items, events) = Self::present(who, &grant, &reach, vec![(&row, body)])?;
        self.audit.record(events).await?;
        items.into_iter().next().ok_or_else(|| ApiError::internal("get", "nothing rendered"))
    }

    /// A record the caller's scope reaches; one outside it is answered as
    /// missing (its existence is not the caller's to know), and audited.
    pub(super) async fn visible_row<B: EntityBody>(
        &self,
        who: &Caller,
        grant: &Grant,
        action: Action,
        id: Uuid,
    ) -> ApiResult<(StoredRecord, Reach)> {
        let row = self.store.get(B::KIND, id).await?.ok_or_else(|| ApiError::not_found(B::KIND.as_str()))?;
        let reach = self.reach(who, grant).await?;
        if !reach.covers(grant.scope(), row.owner.as_deref()) {
            return self.refuse::<B, _>(who, action, Some(id), ApiError::not_found(B::KIND.as_str())).await;
        }
        Ok((row, reach))
    }

    /// Lists records; every record whose fields are returned is audited as read.
    pub async fn list<B: EntityBody>(&self, who: &Caller, params: ListParams) -> ApiResult<Page> {
        self.list_for::<B>(who, params, who.is_dpo()).await
    }

    /// Lists records to process them (an export): the DPO's view of
    /// restricted people does not apply, restriction keeps them out.
    pub async fn list_to_process<B: EntityBody>(&self, who: &Caller, params: ListParams) -> ApiResult<Page> {
        self.list_for::<B>(who, params, false).await
    }

    async fn list_for<B: EntityBody>(&self, who: &Caller, params: ListParams, dpo_view: bool) -> ApiResult<Page> {
        let grant = self.authorize::<B>(who, Action::Read, None).await?;
        // A filter the kind does not have is the planner's to refuse.
        // A filter over a field that reaches fewer records than the list
        // would tell about the others: it is refused too.
        let hidden = |f: &&'static str| !grant.may_filter_by(B::KIND, f);
        if let Some(field) = params.fields_touched(B::KIND).into_iter().find(hidden) {
            return self.refuse::<B, _>(who, Action::Read, None, hidden_field(field, "filter or sort by")).await;
        }
        let ring = self.keys.current();
        let filters = params.used_filters();
        let plan = listing::plan(B::KIND, params, &ring)?;
        let mut query = plan.query.clone();
        query.limit = plan.limit + 1;
        let reach = self.reach(who, &grant).await?;
        query.owners = reach.owners(grant.scope());
        let mut rows = self.store.list(&query).await?;
        let more = rows.len() > plan.limit as usize;
        rows.truncate(plan.limit as usize);
        let mut keys = HashMap::new();
        let mut opened = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.key.is_none() {
                // Only possible if a key vanished under a record; one such
                // row must not hide the others.
                tracing::warn!(entity = B::KIND.as_str(), record = %row.id, "record without a data key skipped");
                continue;
            }
            let body: B = self.open(row, &mut keys)?;
            opened.push((row, body));
        }
        // Only the people the purpose allows are listed.
        let purpose = self.purpose_for::<B>(who, None, AuditAction::Read).await?;
        let persons: Vec<Uuid> = opened.iter().filter_map(|(row, body)| body.person(row.id)).collect();
        let statuses = self.store.statuses(&persons, &*crate::consent_seal::sealer(&self.keys)).await?;
        let allowed: Vec<(&StoredRecord, B)> = opened
            .into_iter()
            .filter(|(row, body)| match body.person(row.id) {
                Some(person) => {
                    may_process(&purpose, &statuses.get(&person).cloned().unwrap_or_default(), dpo_view).is_ok()
                }
                None => true,
            })
            .collect();
        let (items, mut events) = Self::present(who, &grant, &reach, allowed)?;
        if events.is_empty() {
            // A search that finds nobody still tells the caller something
            // (that nobody matches): it is recorded with the filters it used.
            events.push(Self::event::<B>(who, AuditAction::Read, None, None, filters, AuditOutcome::Ok));
        }
        self.audit.record(events).await?;
        let next_cursor = match rows.last() {
            Some(last) if more => Some(plan.cursor_after(last)),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}
