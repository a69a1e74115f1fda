//! The record service: every create, read, update, delete and list of every
//! kind of record goes through here. It asks the authoriser first, seals
//! what it writes under the subject's data key, computes blind-index terms,
//! and opens only what it returns.
//!
//! `checks` holds the questions asked before any data moves (grant,
//! purpose, policy, suppression), each refusal audited; `view` what a
//! caller may see of a record; `read`, `write` and `export` the operations.

mod checks;
mod export;
mod merge;
mod read;
mod view;
mod write;

pub use merge::{merged_contact, MergeOutcome};
pub(crate) use view::present_fields;
pub use view::Reach;

use crate::audit::event::{self as audit_event, About};
use crate::audit::AuditLog;
use crate::auth::caller::Caller;
use crate::auth::Authorizer;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::sealing::{to_crypto, wrap_new_key};
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::{EntityBody, ErrorCode};
use kith_crypto::{DataKey, Keyring, KeyringHandle};
use kith_store::{DynStore, KeyRow, NewRecord, StoredRecord};
use serde_json::Value;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;
use zeroize::Zeroizing;

#[derive(Clone)]
pub struct Records {
    store: DynStore,
    keys: KeyringHandle,
    authorizer: Arc<dyn Authorizer>,
    audit: AuditLog,
}

/// A record just created: its id, and the record as its creator may see it.
pub struct Created {
    pub id: Uuid,
    pub record: Value,
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

impl Records {
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

    pub(super) async fn prepare<B: EntityBody>(
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

    pub(super) fn open<B: EntityBody>(&self, row: &StoredRecord, keys: &mut HashMap<Uuid, DataKey>) -> ApiResult<B> {
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
    pub(super) fn event<B: EntityBody>(
        who: &Caller,
        action: AuditAction,
        record: Option<Uuid>,
        subject: Option<Uuid>,
        fields: Vec<String>,
        outcome: AuditOutcome,
    ) -> AuditEvent {
        let about = About { entity: B::KIND.as_str(), record, subject };
        let event = audit_event::by(who, action, about, fields);
        match outcome {
            AuditOutcome::Ok => event,
            _ => AuditEvent { outcome, ..event },
        }
    }
}
