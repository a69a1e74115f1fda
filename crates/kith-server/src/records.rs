//! The record service: every create, read, update, delete and list of every
//! kind of record goes through here. It asks the authoriser first, seals
//! what it writes under the subject's data key, computes blind-index terms,
//! and opens only what it returns.

use crate::auth::{Action, Authorizer, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::from_value;
use crate::listing::{self, ListParams, Page};
use kith_core::{EntityBody, EntityKind, ErrorCode};
use kith_crypto::{DataKey, Keyring, KeyringHandle, WrappedKey};
use kith_store::{DynStore, KeyRow, NewRecord, RecordUpdate, StoreError, StoredRecord, ACTIVE_KEK};
use serde_json::{Map, Value};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Attempts at a write that lost a race (a concurrent update, a key rotation).
const WRITE_ATTEMPTS: usize = 5;

#[derive(Clone)]
pub struct Records {
    store: DynStore,
    keys: KeyringHandle,
    authorizer: Arc<dyn Authorizer>,
}

/// What a sealed value is bound to: a copy moved to another record or
/// another person does not open.
fn seal_context(entity: EntityKind, id: Uuid, subject: Uuid) -> Vec<u8> {
    format!("kith/record/v1/{}/{id}/{subject}", entity.as_str()).into_bytes()
}

pub fn to_store(w: WrappedKey) -> KeyRow {
    KeyRow { subject_id: w.subject_id, kek_id: w.kek_id, wrapped: w.wrapped }
}

pub fn to_crypto(k: &KeyRow) -> WrappedKey {
    WrappedKey { subject_id: k.subject_id, kek_id: k.kek_id.clone(), wrapped: k.wrapped.clone() }
}

pub fn rfc3339_millis(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
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
    let sealed = key.seal(&seal_context(B::KIND, id, subject), &plaintext);
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
    let plaintext = key.open(&seal_context(B::KIND, row.id, row.subject_id), &row.sealed)?;
    kith_core::document::decode(&plaintext).map_err(|e| ApiError::internal("open", e))
}

impl Records {
    pub fn new(store: DynStore, keys: KeyringHandle, authorizer: Arc<dyn Authorizer>) -> Self {
        Self { store, keys, authorizer }
    }

    /// Wraps a new data key under the KEK the database names active (which
    /// the store checks again when it inserts the key). A server that missed
    /// a rotation re-reads the key file first; the key file may name a newer
    /// KEK than the database while a rotation starts, and then the
    /// database's choice still holds.
    async fn wrap_new_key(&self, subject: Uuid, key: &DataKey) -> ApiResult<KeyRow> {
        let wrapped = match self.store.setting(ACTIVE_KEK).await? {
            Some(active) => self.keys.holding(&active)?.wrap_with(&active, subject, key)?,
            None => self.keys.current().wrap(subject, key),
        };
        Ok(to_store(wrapped))
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

    pub async fn create<B: EntityBody>(&self, who: &Principal, mut body: B) -> ApiResult<Value> {
        self.authorizer.authorize(who, Action::Create, B::KIND)?;
        body.validate()?;
        if body.owner().is_none() {
            body.set_owner(who.name.clone());
        }
        let id = Uuid::new_v4();
        let now = crate::now_millis();
        for attempt in 1..=WRITE_ATTEMPTS {
            let (record, new_key) = self.prepare(&body, id, now, true).await?;
            match self.store.insert(record, new_key).await {
                Err(StoreError::StaleKek(_)) if attempt < WRITE_ATTEMPTS => continue,
                result => result?,
            }
            break;
        }
        render(id, now, now, &body)
    }

    pub async fn get<B: EntityBody>(&self, who: &Principal, id: Uuid) -> ApiResult<Value> {
        self.authorizer.authorize(who, Action::Read, B::KIND)?;
        let row = self.store.get(B::KIND, id).await?.ok_or_else(|| ApiError::not_found(B::KIND.as_str()))?;
        let body: B = self.open(&row, &mut HashMap::new())?;
        render(id, row.created_at, row.updated_at, &body)
    }

    /// Applies a partial document: the fields given replace the stored ones
    /// (`null` resets a field), then the whole is validated again.
    pub async fn update<B: EntityBody>(
        &self,
        who: &Principal,
        id: Uuid,
        patch: Map<String, Value>,
    ) -> ApiResult<Value> {
        self.authorizer.authorize(who, Action::Update, B::KIND)?;
        for attempt in 1..=WRITE_ATTEMPTS {
            let row = self.store.get(B::KIND, id).await?.ok_or_else(|| ApiError::not_found(B::KIND.as_str()))?;
            let current: B = self.open(&row, &mut HashMap::new())?;
            let mut document = match serde_json::to_value(&current).map_err(|e| ApiError::internal("patch", e))? {
                Value::Object(map) => map,
                _ => return Err(ApiError::internal("patch", "a record is not an object")),
            };
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
            // An owner reset with null falls back to the caller, as on create.
            if body.owner().is_none() {
                body.set_owner(who.name.clone());
            }
            let (record, new_key) = self.prepare(&body, id, row.created_at, false).await?;
            let now = crate::now_millis().max(row.updated_at);
            let update = RecordUpdate { record, expected_version: row.version, updated_at: now };
            match self.store.update(update, new_key).await {
                Err(StoreError::VersionConflict | StoreError::StaleKek(_)) if attempt < WRITE_ATTEMPTS => continue,
                result => result?,
            }
            return render(id, row.created_at, now, &body);
        }
        Err(ApiError::new(ErrorCode::Conflict, "the record kept changing; try again"))
    }

    pub async fn delete<B: EntityBody>(&self, who: &Principal, id: Uuid) -> ApiResult<()> {
        self.authorizer.authorize(who, Action::Delete, B::KIND)?;
        if self.store.delete(B::KIND, id).await? {
            Ok(())
        } else {
            Err(ApiError::not_found(B::KIND.as_str()))
        }
    }

    pub async fn list<B: EntityBody>(&self, who: &Principal, params: ListParams) -> ApiResult<Page> {
        self.authorizer.authorize(who, Action::List, B::KIND)?;
        let ring = self.keys.current();
        let plan = listing::plan(B::KIND, params, &ring)?;
        let mut query = plan.query.clone();
        query.limit = plan.limit + 1;
        let mut rows = self.store.list(&query).await?;
        let more = rows.len() > plan.limit as usize;
        rows.truncate(plan.limit as usize);
        let mut keys = HashMap::new();
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.key.is_none() {
                // Only possible if a key vanished under a record; one such
                // row must not hide the others.
                tracing::warn!(entity = B::KIND.as_str(), record = %row.id, "record without a data key skipped");
                continue;
            }
            let body: B = self.open(row, &mut keys)?;
            items.push(render(row.id, row.created_at, row.updated_at, &body)?);
        }
        let next_cursor = match rows.last() {
            Some(last) if more => Some(plan.cursor_after(last)),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}
