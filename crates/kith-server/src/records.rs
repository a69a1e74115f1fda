//! The record service: every create, read, update, delete and list of every
//! kind of record goes through here. It asks the authoriser first, seals
//! what it writes under the subject's data key, computes blind-index terms,
//! and opens only what it returns.

use crate::audit::AuditLog;
use crate::auth::caller::Caller;
use crate::auth::{Action, Authorizer};
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::from_value;
use crate::listing::{self, ListParams, Page};
use crate::sealing::{to_crypto, wrap_new_key};
use kith_core::access::{field_class, Grant, Scope};
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::export::Record;
use kith_core::model::{Company, Contact};
use kith_core::policy::may_process;
use kith_core::purpose::Purpose;
use kith_core::values::{email_lookup_key, parse_phone};
use kith_core::{ClearValue, EntityBody, EntityKind, ErrorCode};
use kith_crypto::{DataKey, Keyring, KeyringHandle};
use kith_store::{DynStore, KeyRow, ListQuery, NewRecord, RecordUpdate, StoreError, StoredRecord};
use serde_json::{Map, Value};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;
use zeroize::Zeroizing;

/// The audit field naming a DPO's override of the erasure suppression list
/// (the reason given is never recorded: it may name the person).
const OVERRIDE_FIELD: &str = "override:suppression";

/// Attempts at a write that lost a race (a concurrent update, a key rotation).
pub const WRITE_ATTEMPTS: usize = 5;
/// Records read per query when one person's records are gathered for their archive.
const EXPORT_PAGE: u32 = 500;

#[derive(Clone)]
pub struct Records {
    store: DynStore,
    keys: KeyringHandle,
    authorizer: Arc<dyn Authorizer>,
    audit: AuditLog,
}

/// The response form of a record: its document with id, times and computed fields.
fn render<B: EntityBody>(id: Uuid, created_at: i64, updated_at: i64, body: &B) -> ApiResult<Value> {
    let mut object = match serde_json::to_value(body).map_err(|e| ApiError::internal("render", e))? {
        Value::Object(map) => map,
        _ => return Err(ApiError::internal("render", "a record is not an object")),
    };
    object.insert("id".into(), Value::String(id.to_string()));
    object.insert("created_at".into(), Value::String(rfc3339_millis(created_at)));
    object.insert("updated_at".into(), Value::String(rfc3339_millis(updated_at)));
    object.extend(body.computed());
    Ok(Value::Object(object))
}

/// Seals a validated document under its subject's data key and computes
/// its blind-index terms: the record as the store keeps it.
pub fn seal_record<B: EntityBody>(
    ring: &Keyring,
    key: &DataKey,
    body: &B,
    id: Uuid,
    subject: Uuid,
    created_at: i64,
) -> ApiResult<NewRecord> {
    let plaintext = Zeroizing::new(kith_core::document::encode(body));
    let sealed = key.seal(&crate::sealing::record(B::KIND, id, subject), &plaintext);
    let terms = body.index_terms().iter().map(|t| ring.blind_term(t.field.as_str(), &t.value)).collect();
    Ok(NewRecord {
        entity: B::KIND,
        id,
        subject_id: subject,
        owner: body.owner().map(str::to_string),
        created_at,
        sealed,
        columns: body.columns(),
        terms,
        references: body.references(),
    })
}

/// Opens a record sealed by [`seal_record`].
pub fn open_record<B: EntityBody>(key: &DataKey, row: &StoredRecord) -> ApiResult<B> {
    let plaintext = key.open(&crate::sealing::record(B::KIND, row.id, row.subject_id), &row.sealed)?;
    kith_core::document::decode(&plaintext).map_err(|_| ApiError::undecodable("open"))
}

use kith_core::access::META_FIELDS;

/// Whose records each scope reaches for one caller, resolved once per
/// request: their own name (an account's id, a token's name) and, when a
/// class reaches a team, the accounts sharing one of their teams.
pub struct Reach {
    own: String,
    team: Vec<String>,
}

impl Reach {
    pub fn covers(&self, scope: Scope, owner: Option<&str>) -> bool {
        match scope {
            Scope::All => true,
            Scope::Own => owner == Some(self.own.as_str()),
            Scope::Team => owner.is_some_and(|o| o == self.own || self.team.iter().any(|m| m == o)),
        }
    }

    /// The owners a scope reaches; `None` for everyone's.
    pub fn owners(&self, scope: Scope) -> Option<Vec<String>> {
        match scope {
            Scope::All => None,
            Scope::Own => Some(vec![self.own.clone()]),
            Scope::Team => Some(std::iter::once(self.own.clone()).chain(self.team.iter().cloned()).collect()),
        }
    }

    /// Whether a field of a record owned by `owner` is within the grant.
    fn field(&self, grant: &Grant, entity: EntityKind, field: &str, owner: Option<&str>) -> bool {
        grant.field_scope(entity, field).is_some_and(|scope| self.covers(scope, owner))
    }
}

/// A record as a caller may see it: the fields their grant hides (for
/// this record's owner) are absent.
fn redact(entity: EntityKind, grant: &Grant, reach: &Reach, owner: Option<&str>, rendered: Value) -> Value {
    match rendered {
        Value::Object(mut fields) => {
            fields.retain(|name, _| reach.field(grant, entity, name, owner));
            Value::Object(fields)
        }
        other => other,
    }
}

/// Only the id and times of a record.
fn only_meta(rendered: Value) -> Value {
    match rendered {
        Value::Object(mut fields) => {
            fields.retain(|name, _| META_FIELDS.contains(&name.as_str()));
            Value::Object(fields)
        }
        other => other,
    }
}

fn hidden_field(field: &str, verb: &str) -> ApiError {
    ApiError::new(ErrorCode::FieldForbidden, format!("{field}: your role may not {verb} this field"))
}

fn out_of_scope() -> ApiError {
    ApiError::new(ErrorCode::Forbidden, "owner: the record would be outside your scope")
}

/// Names of the document fields a rendered record shows with a value.
fn present_fields(rendered: &Value) -> Vec<String> {
    let Value::Object(fields) = rendered else { return Vec::new() };
    fields
        .iter()
        .filter(|(name, value)| !META_FIELDS.contains(&name.as_str()) && !is_empty(value))
        .map(|(name, _)| name.clone())
        .collect()
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Names of the document fields whose values differ between two versions.
fn changed_fields(before: &Map<String, Value>, after: &Value) -> Vec<String> {
    let Value::Object(after) = after else { return Vec::new() };
    let mut names: Vec<String> = after
        .iter()
        .filter(|(name, value)| !META_FIELDS.contains(&name.as_str()) && before.get(*name) != Some(value))
        .map(|(name, _)| name.clone())
        .collect();
    names.extend(before.keys().filter(|name| !after.contains_key(*name)).cloned());
    names.sort();
    names.dedup();
    names
}

/// The purpose a role processes data for when a request names none.
pub fn default_purpose(role: &str) -> &'static str {
    match role {
        "sales" => "sales",
        "support" => "essential.service.operations.support",
        "marketing" => "marketing.communications.email",
        _ => "essential.service",
    }
}

/// The purpose a request processes data for: its `Kith-Purpose`, else its
/// role's default. It must be in the catalogue and open to the caller's role.
pub async fn request_purpose(store: &DynStore, who: &Caller) -> ApiResult<Purpose> {
    let key = who.purpose.clone().unwrap_or_else(|| who.principal.default_purpose());
    let document = store.purpose(&key).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::UnknownPurpose, format!("the purpose {key} is not in the purposes catalogue"))
    })?;
    let purpose: Purpose = serde_json::from_str(&document).map_err(|e| ApiError::internal("purposes", e))?;
    if !who.principal.may_use(&purpose) {
        return Err(ApiError::new(
            ErrorCode::PurposeNotAllowed,
            format!("the {} role may not process data for {key}", who.principal.role_names()),
        ));
    }
    Ok(purpose)
}

impl Records {
    /// The request's purpose ([`request_purpose`]); a refusal is audited.
    async fn purpose_for<B: EntityBody>(
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

    pub fn new(store: DynStore, keys: KeyringHandle, authorizer: Arc<dyn Authorizer>, audit: AuditLog) -> Self {
        Self { store, keys, authorizer, audit }
    }

    /// Wraps a new data key under the KEK the database names active (which
    /// the store checks again when it inserts the key). A server that missed
    /// a rotation re-reads the key file first; the key file may name a newer
    /// KEK than the database while a rotation starts, and then the
    /// database's choice still holds.
    pub async fn wrap_new_key(&self, subject: Uuid, key: &DataKey) -> ApiResult<KeyRow> {
        wrap_new_key(&self.store, &self.keys, subject, key).await
    }

    /// The data key that seals a record, and a new wrapped key to store if
    /// the record needs a key of its own that does not exist yet.
    async fn sealing_key(&self, subject: Uuid, own: bool, known_new: bool) -> ApiResult<(DataKey, Option<KeyRow>)> {
        let existing = if known_new { None } else { self.store.data_key(subject).await? };
        match existing {
            Some(row) => Ok((self.keys.unwrap(&to_crypto(&row))?, None)),
            None if own => {
                let key = DataKey::generate();
                let wrapped = self.wrap_new_key(subject, &key).await?;
                Ok((key, Some(wrapped)))
            }
            None => Err(ApiError::new(ErrorCode::UnknownReference, format!("record {subject} does not exist"))),
        }
    }

    async fn prepare<B: EntityBody>(
        &self,
        body: &B,
        id: Uuid,
        created_at: i64,
        is_new: bool,
    ) -> ApiResult<(NewRecord, Option<KeyRow>)> {
        let subject = body.subject().unwrap_or(id);
        let own = subject == id;
        let (key, new_key) = self.sealing_key(subject, own, is_new && own).await.map_err(|e| {
            // Name the kind of the missing subject, as the store would.
            let kind = body.references().into_iter().find(|(_, r)| *r == subject).map(|(k, _)| k.as_str());
            match (e.code, kind) {
                (ErrorCode::UnknownReference, Some(kind)) => {
                    ApiError::new(ErrorCode::UnknownReference, format!("{kind} {subject} does not exist"))
                }
                _ => e,
            }
        })?;
        let record = seal_record(&self.keys.current(), &key, body, id, subject, created_at)?;
        Ok((record, new_key))
    }

    fn open<B: EntityBody>(&self, row: &StoredRecord, keys: &mut HashMap<Uuid, DataKey>) -> ApiResult<B> {
        let key = match keys.entry(row.subject_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => {
                // No key means the person's key was destroyed: their data is gone.
                let wrapped = row.key.as_ref().ok_or_else(|| ApiError::not_found(B::KIND.as_str()))?;
                slot.insert(self.keys.unwrap(&to_crypto(wrapped))?)
            }
        };
        open_record(key, row)
    }

    /// An audit event of this caller about a record of kind `B`.
    fn event<B: EntityBody>(
        who: &Caller,
        action: AuditAction,
        record: Option<Uuid>,
        subject: Option<Uuid>,
        fields: Vec<String>,
        outcome: AuditOutcome,
    ) -> AuditEvent {
        AuditEvent {
            seq: 0,
            at: crate::now_millis(),
            actor: who.actor(),
            action,
            entity: Some(B::KIND.as_str().to_string()),
            record_id: record,
            subject_id: subject,
            fields,
            purpose: who.purpose.clone(),
            request_id: who.request_id.clone(),
            client: who.client.clone(),
            outcome,
        }
    }

    /// Whose record this is: a refused attempt on a record is attributed to
    /// its person, so it shows in their access log.
    async fn subject_of<B: EntityBody>(&self, record: Option<Uuid>) -> ApiResult<Option<Uuid>> {
        Ok(match record {
            Some(id) => self.store.get(B::KIND, id).await?.map(|row| row.subject_id),
            None => None,
        })
    }

    /// Asks the policy whether this person's data may be used for the
    /// purpose now; a refusal is audited against the person.
    async fn may_process<B: EntityBody>(
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
    async fn may_write_about<B: EntityBody>(
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
    async fn authorize<B: EntityBody>(&self, who: &Caller, action: Action, record: Option<Uuid>) -> ApiResult<Grant> {
        match self.authorizer.authorize(&who.principal, action, B::KIND) {
            Ok(grant) => Ok(grant),
            Err(refusal) => self.refuse::<B, _>(who, action, record, refusal).await,
        }
    }

    /// Audits a refusal of `action` on a record of kind `B` and returns it.
    async fn refuse<B: EntityBody, T>(
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
    async fn check_suppression<B: EntityBody>(
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

    pub async fn create<B: EntityBody>(&self, who: &Caller, mut body: B) -> ApiResult<Value> {
        let grant = self.authorize::<B>(who, Action::Create, None).await?;
        body.validate()?;
        let reach = self.reach(who, &grant).await?;
        let written = serde_json::to_value(&body).map_err(|e| ApiError::internal("create", e))?;
        let owner = body.owner().map(str::to_string).unwrap_or_else(|| who.principal.name.clone());
        let hidden = |f: &String| !reach.field(&grant, B::KIND, f, Some(&owner));
        if let Some(field) = present_fields(&written).into_iter().find(hidden) {
            return self.refuse::<B, _>(who, Action::Create, None, hidden_field(&field, "write")).await;
        }
        if body.owner().is_none() {
            body.set_owner(who.principal.name.clone());
        }
        if !reach.covers(grant.scope(), body.owner()) {
            return self.refuse::<B, _>(who, Action::Create, None, out_of_scope()).await;
        }
        let overridden = self.check_suppression(who, Action::Create, None, &body, None).await?;
        let id = Uuid::new_v4();
        self.may_write_about::<B>(who, AuditAction::Create, id, body.person(id)).await?;
        let now = crate::now_millis();
        let subject = body.subject().unwrap_or(id);
        let rendered = render(id, now, now, &body)?;
        let mut fields = present_fields(&rendered);
        if overridden {
            fields.push(OVERRIDE_FIELD.into());
        }
        let event = Self::event::<B>(who, AuditAction::Create, Some(id), Some(subject), fields, AuditOutcome::Ok);
        let insert = async {
            for attempt in 1..=WRITE_ATTEMPTS {
                let (record, new_key) = self.prepare(&body, id, now, true).await?;
                match self.store.insert(record, new_key).await {
                    Err(StoreError::StaleKek(_)) if attempt < WRITE_ATTEMPTS => continue,
                    result => result?,
                }
                break;
            }
            ApiResult::Ok(())
        };
        self.audit.intend(vec![event], insert).await??;
        self.shown::<B>(who, body.owner(), rendered).await
    }

    /// The contact holding `email` among its addresses (the oldest, if
    /// several do), for a system path that must not create a duplicate
    /// (public capture) or must find the person a request is about. Found
    /// through the e-mail blind index and checked after opening, as
    /// truncated terms may collide. Unlike a list, no purpose filter
    /// applies (a restricted person is still the same person) and only the
    /// id comes back; each person opened is audited as read.
    pub async fn find_contact_by_email(&self, who: &Caller, email: &str) -> ApiResult<Option<Uuid>> {
        let wanted = email_lookup_key(email);
        let params = ListParams { email: Some(email.to_string()), ..Default::default() };
        self.find_contact(who, params, "emails", |c| c.emails.iter().any(|e| email_lookup_key(e) == wanted)).await
    }

    /// Like [`Self::find_contact_by_email`], by an exact phone number (E.164
    /// after parsing, as stored and indexed).
    pub async fn find_contact_by_phone(&self, who: &Caller, phone: &str) -> ApiResult<Option<Uuid>> {
        let wanted = parse_phone(phone).map_err(|e| ApiError::from(e.at("phone")))?;
        let params = ListParams { phone: Some(wanted.clone()), ..Default::default() };
        self.find_contact(who, params, "phones", |c| c.phones.contains(&wanted)).await
    }

    /// The oldest contact the blind-index lookup in `params` finds that
    /// `holds` confirms once opened; every one opened is audited as a read
    /// of `field`.
    async fn find_contact(
        &self,
        who: &Caller,
        mut params: ListParams,
        field: &str,
        holds: impl Fn(&Contact) -> bool,
    ) -> ApiResult<Option<Uuid>> {
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
        self.audit.record(events).await?;
        Ok(found)
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
    async fn visible_row<B: EntityBody>(
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

    /// Whose records a grant's scopes reach for this caller; the team's
    /// members are looked up only when some class reaches a team.
    pub async fn reach(&self, who: &Caller, grant: &Grant) -> ApiResult<Reach> {
        let team = if grant.fields.values().any(|s| *s == Scope::Team) {
            self.store.team_members(&who.principal.teams).await?
        } else {
            Vec::new()
        };
        Ok(Reach { own: who.principal.name.clone(), team })
    }

    /// Renders records as this caller may see them (fields their grant
    /// hides are absent, not null) with the audit event of each read.
    fn present<B: EntityBody>(
        who: &Caller,
        grant: &Grant,
        reach: &Reach,
        records: Vec<(&StoredRecord, B)>,
    ) -> ApiResult<(Vec<Value>, Vec<AuditEvent>)> {
        let mut items = Vec::with_capacity(records.len());
        let mut events = Vec::with_capacity(records.len());
        for (row, body) in records {
            let rendered = render(row.id, row.created_at, row.updated_at, &body)?;
            let rendered = redact(B::KIND, grant, reach, row.owner.as_deref(), rendered);
            let fields = present_fields(&rendered);
            events.push(Self::event::<B>(
                who,
                AuditAction::Read,
                Some(row.id),
                Some(row.subject_id),
                fields,
                AuditOutcome::Ok,
            ));
            items.push(rendered);
        }
        Ok((items, events))
    }

    /// A write's answer, as the caller may read it: without a read grant
    /// reaching the record, only the id and times.
    async fn shown<B: EntityBody>(&self, who: &Caller, owner: Option<&str>, rendered: Value) -> ApiResult<Value> {
        let Ok(grant) = self.authorizer.authorize(&who.principal, Action::Read, B::KIND) else {
            return Ok(only_meta(rendered));
        };
        let reach = self.reach(who, &grant).await?;
        if !reach.covers(grant.scope(), owner) {
            return Ok(only_meta(rendered));
        }
        Ok(redact(B::KIND, &grant, &reach, owner, rendered))
    }

    /// Applies a partial document: the fields given replace the stored ones
    /// (`null` resets a field), then the whole is validated again.
    pub async fn update<B: EntityBody>(&self, who: &Caller, id: Uuid, patch: Map<String, Value>) -> ApiResult<Value> {
        let grant = self.authorize::<B>(who, Action::Update, Some(id)).await?;
        let known = |f: &str| field_class(B::KIND, f).is_some();
        if let Some(field) = patch.keys().find(|f| known(f) && !grant.allows_field(B::KIND, f)) {
            return self.refuse::<B, _>(who, Action::Update, Some(id), hidden_field(field, "write")).await;
        }
        let mut overridden = false;
        for attempt in 1..=WRITE_ATTEMPTS {
            let (row, reach) = self.visible_row::<B>(who, &grant, Action::Update, id).await?;
            // Each field written must reach this record, before and after an owner change.
            let unreachable = |f: &&String| known(f) && !reach.field(&grant, B::KIND, f, row.owner.as_deref());
            if let Some(field) = patch.keys().find(unreachable) {
                return self.refuse::<B, _>(who, Action::Update, Some(id), hidden_field(field, "write")).await;
            }
            let current: B = self.open(&row, &mut HashMap::new())?;
            let before = match serde_json::to_value(&current).map_err(|e| ApiError::internal("patch", e))? {
                Value::Object(map) => map,
                _ => return Err(ApiError::internal("patch", "a record is not an object")),
            };
            let mut document = before.clone();
            // Every field of a document is serialised, so a key missing here is unknown.
            for (field, value) in &patch {
                if value.is_null() {
                    if document.remove(field).is_none() {
                        return Err(ApiError::new(ErrorCode::UnknownField, format!("{field}: unknown field")));
                    }
                } else {
                    document.insert(field.clone(), value.clone());
                }
            }
            let mut body: B = from_value(Value::Object(document))?;
            body.validate()?;
            if attempt == 1 {
                let people = current.person(id).into_iter().chain(body.person(id));
                self.may_write_about::<B>(who, AuditAction::Update, id, people).await?;
                overridden = self.check_suppression(who, Action::Update, Some(id), &body, Some(&current)).await?;
            }
            // An owner reset with null falls back to the caller, as on create.
            if body.owner().is_none() {
                body.set_owner(who.principal.name.clone());
            }
            if !reach.covers(grant.scope(), body.owner()) {
                return self.refuse::<B, _>(who, Action::Update, Some(id), out_of_scope()).await;
            }
            let (record, new_key) = self.prepare(&body, id, row.created_at, false).await?;
            let subject = record.subject_id;
            let now = crate::now_millis().max(row.updated_at);
            let rendered = render(id, row.created_at, now, &body)?;
            let mut changed = changed_fields(&before, &rendered);
            if overridden {
                changed.push(OVERRIDE_FIELD.into());
            }
            let event = Self::event::<B>(who, AuditAction::Update, Some(id), Some(subject), changed, AuditOutcome::Ok);
            let update = RecordUpdate { record, expected_version: row.version, updated_at: now };
            match self.audit.intend(vec![event], self.store.update(update, new_key)).await? {
                Err(StoreError::VersionConflict | StoreError::StaleKek(_)) if attempt < WRITE_ATTEMPTS => continue,
                result => result?,
            }
            // The answer shows the record: that is a read as well.
            let rendered = self.shown::<B>(who, body.owner(), rendered).await?;
            let shown = present_fields(&rendered);
            let read = Self::event::<B>(who, AuditAction::Read, Some(id), Some(subject), shown, AuditOutcome::Ok);
            self.audit.record(vec![read]).await?;
            return Ok(rendered);
        }
        Err(ApiError::new(ErrorCode::Conflict, "the record kept changing; try again"))
    }

    pub async fn delete<B: EntityBody>(&self, who: &Caller, id: Uuid) -> ApiResult<()> {
        let grant = self.authorize::<B>(who, Action::Delete, Some(id)).await?;
        let (row, _) = self.visible_row::<B>(who, &grant, Action::Delete, id).await?;
        // A restricted person's data is kept, not deleted (Art. 18): only
        // the DPO (handling an erasure request) may.
        let body: B = self.open(&row, &mut HashMap::new())?;
        self.may_write_about::<B>(who, AuditAction::Delete, id, body.person(id)).await?;
        // A legal hold (an exception to erasure the DPO recorded) keeps
        // the person's data from every deletion, the DPO's too: the store
        // decides it inside the deletion's transaction.
        let event =
            Self::event::<B>(who, AuditAction::Delete, Some(id), Some(row.subject_id), Vec::new(), AuditOutcome::Ok);
        let delete = async {
            match self.store.delete(B::KIND, id).await? {
                true => Ok(()),
                false => Err(ApiError::not_found(B::KIND.as_str())),
            }
        };
        self.audit.intend(vec![event], delete).await?
    }

    /// Opens and renders contacts another path (a segment) selected within
    /// the caller's scope and the policy already allowed; each is audited as read.
    pub async fn show_contacts(&self, who: &Caller, grant: &Grant, rows: &[StoredRecord]) -> ApiResult<Vec<Value>> {
        let mut keys = HashMap::new();
        let mut opened = Vec::with_capacity(rows.len());
        for row in rows {
            opened.push((row, self.open::<Contact>(row, &mut keys)?));
        }
        let reach = self.reach(who, grant).await?;
        let (items, events) = Self::present(who, grant, &reach, opened)?;
        if !events.is_empty() {
            self.audit.record(events).await?;
        }
        Ok(items)
    }

    /// The owners a grant reaches (`None`: all), for paths that select
    /// records themselves (segments).
    pub async fn grant_owners(&self, who: &Caller, grant: &Grant) -> ApiResult<Option<Vec<String>>> {
        Ok(self.reach(who, grant).await?.owners(grant.scope()))
    }

    /// Whether a record owned by `owner` is within the grant's reach.
    pub async fn within_scope(&self, who: &Caller, grant: &Grant, owner: Option<&str>) -> ApiResult<bool> {
        Ok(self.reach(who, grant).await?.covers(grant.scope(), owner))
    }

    /// The person's contact record and their company's name, opened in
    /// full for their archive (see [`Records::of_person`]).
    pub async fn person_for_export(&self, who: &Caller, person: Uuid) -> ApiResult<(Record<Contact>, Option<String>)> {
        let row = self.store.get(EntityKind::Contacts, person).await?.ok_or_else(|| ApiError::not_found("contacts"))?;
        let mut keys = HashMap::new();
        let body: Contact = self.open(&row, &mut keys)?;
        let contact = Record {
            id: row.id,
            created_at: rfc3339_millis(row.created_at),
            updated_at: rfc3339_millis(row.updated_at),
            body,
        };
        let mut events = vec![Self::export_event::<Contact>(who, person, Some(person), &contact.body)?];
        let company = match contact.body.company_id {
            Some(id) => match self.store.get(EntityKind::Companies, id).await? {
                Some(row) if row.key.is_some() => {
                    let company: Company = self.open(&row, &mut keys)?;
                    events.push(Self::event::<Company>(
                        who,
                        AuditAction::Read,
                        Some(id),
                        Some(person),
                        vec!["export".into(), "name".into()],
                        AuditOutcome::Ok,
                    ));
                    Some(company.name)
                }
                _ => None,
            },
            None => None,
        };
        self.audit.record(events).await?;
        Ok((contact, company))
    }

    /// Every record of kind `B` about one person (by `contact_id`), opened
    /// in full: no field grant, scope or purpose applies, because the
    /// access and portability archive is the person's own and complete
    /// (Art. 15, 20). Audited as one `export` read of the kind, with the
    /// person as subject and the fields held, never a value.
    pub async fn of_person<B: EntityBody>(&self, who: &Caller, person: Uuid) -> ApiResult<Vec<Record<B>>> {
        let mut records = Vec::new();
        let mut keys = HashMap::new();
        let mut after = None;
        loop {
            let query = ListQuery {
                entity: B::KIND,
                equals: vec![("contact_id", ClearValue::Text(person.to_string()))],
                ranges: Vec::new(),
                terms: Vec::new(),
                owners: None,
                sort: "created_at",
                descending: false,
                after,
                limit: EXPORT_PAGE,
            };
            let rows = self.store.list(&query).await?;
            for row in rows.iter().filter(|row| row.key.is_some()) {
                let body: B = self.open(row, &mut keys)?;
                let (created_at, updated_at) = (rfc3339_millis(row.created_at), rfc3339_millis(row.updated_at));
                records.push(Record { id: row.id, created_at, updated_at, body });
            }
            match rows.last() {
                Some(last) if rows.len() == EXPORT_PAGE as usize => after = Some((last.sort_value.clone(), last.id)),
                _ => break,
            }
        }
        let mut held: Vec<String> = Vec::new();
        for record in &records {
            let event = Self::export_event::<B>(who, person, None, &record.body)?;
            for field in event.fields {
                if !held.contains(&field) {
                    held.push(field);
                }
            }
        }
        let mut fields = vec!["export".to_string()];
        fields.extend(held.into_iter().filter(|f| f != "export"));
        let event = Self::event::<B>(who, AuditAction::Read, None, Some(person), fields, AuditOutcome::Ok);
        self.audit.record(vec![event]).await?;
        Ok(records)
    }

    /// An `export` read of one record: the fields it holds, never a value.
    fn export_event<B: EntityBody>(
        who: &Caller,
        person: Uuid,
        record: Option<Uuid>,
        body: &B,
    ) -> ApiResult<AuditEvent> {
        let rendered = serde_json::to_value(body).map_err(|e| ApiError::internal("export", e))?;
        let mut fields = vec!["export".to_string()];
        fields.extend(present_fields(&rendered));
        Ok(Self::event::<B>(who, AuditAction::Read, record, Some(person), fields, AuditOutcome::Ok))
    }

    /// Lists records; every record whose fields are returned is audited as read.
    pub async fn list<B: EntityBody>(&self, who: &Caller, params: ListParams) -> ApiResult<Page> {
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
        let dpo_view = who.is_dpo();
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
