//! Creating, changing and deleting records.

use super::view::{changed_fields, hidden_field, out_of_scope, present_fields};
use super::{render, Created, Records};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::{ApiError, ApiResult};
use crate::input::from_value;
use crate::sealing::WRITE_ATTEMPTS;
use kith_core::access::field_class;
use kith_core::audit::{AuditAction, AuditOutcome};
use kith_core::{EntityBody, ErrorCode};
use kith_store::{RecordUpdate, StoreError};
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// The audit field naming a DPO's override of the erasure suppression list
/// (the reason given is never recorded: it may name the person).
const OVERRIDE_FIELD: &str = "override:suppression";

impl Records {
    pub async fn create<B: EntityBody>(&self, who: &Caller, mut body: B) -> ApiResult<Created> {
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
        Ok(Created { id, record: self.shown::<B>(who, body.owner(), rendered).await? })
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
}
