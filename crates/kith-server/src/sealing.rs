//! What sealing binds a value to, and the data-key helpers around it.
//!
//! Every associated-data context lives here, in one file, because keeping
//! them distinct is a security property: a value sealed for one purpose or
//! one row must not open as another. Each context names its kind and a
//! version, then the ids it is bound to, so a ciphertext copied to another
//! row, person or kind fails to open.

use crate::error::ApiResult;
use kith_core::EntityKind;
use kith_crypto::{DataKey, KeyringHandle, WrappedKey};
use kith_store::{DynStore, KeyRow, StoreError, ACTIVE_KEK};
use std::future::Future;
use uuid::Uuid;

/// A record's document, bound to its kind, id and the person whose key seals it.
pub fn record(entity: EntityKind, id: Uuid, subject: Uuid) -> Vec<u8> {
    format!("kith/record/v1/{}/{id}/{subject}", entity.as_str()).into_bytes()
}

/// A consent entry's source and evidence.
pub fn consent(entry: Uuid, contact: Uuid) -> Vec<u8> {
    format!("kith/consent/v1/{entry}/{contact}").into_bytes()
}

/// The DPO's note on a legal-claims exception to a restriction.
pub fn legal_claim(claim: Uuid, contact: Uuid) -> Vec<u8> {
    format!("kith/legal-claim/v1/{claim}/{contact}").into_bytes()
}

/// The note on an exception to erasure.
pub fn erasure_exception(id: Uuid, contact: Uuid) -> Vec<u8> {
    format!("kith/erasure-exception/v1/{id}/{contact}").into_bytes()
}

/// A data-subject request's details.
pub fn dsr(id: Uuid) -> Vec<u8> {
    format!("kith/dsr/v1/{id}").into_bytes()
}

/// A segment's definition.
pub fn segment(id: Uuid) -> Vec<u8> {
    format!("kith/segment/v1/{id}").into_bytes()
}

/// A staff account's e-mail address and name.
pub fn user_profile(id: Uuid) -> Vec<u8> {
    format!("kith/users/profile/v1/{id}").into_bytes()
}

/// A TOTP secret; pending and enrolled differ, so a pending secret cannot
/// be copied into the enrolled column unconfirmed.
pub fn user_totp(id: Uuid, pending: bool) -> Vec<u8> {
    let which = if pending { "pending" } else { "enrolled" };
    format!("kith/users/totp/{which}/v1/{id}").into_bytes()
}

/// A capture submission waiting for its confirmation.
pub fn capture_pending(id: Uuid, form: &str) -> Vec<u8> {
    format!("kith/capture/pending/v1/{id}/{form}").into_bytes()
}

/// A confirmation message in the outbox, bound to its submission.
pub fn capture_outbox(id: Uuid, pending: Uuid) -> Vec<u8> {
    format!("kith/capture/outbox/v1/{id}/{pending}").into_bytes()
}

pub fn to_store(w: WrappedKey) -> KeyRow {
    KeyRow { subject_id: w.subject_id, kek_id: w.kek_id, wrapped: w.wrapped }
}

pub fn to_crypto(k: &KeyRow) -> WrappedKey {
    WrappedKey { subject_id: k.subject_id, kek_id: k.kek_id.clone(), wrapped: k.wrapped.clone() }
}

/// Wraps a new data key under the KEK the database names as active (the
/// key file is re-read if a rotation installed a KEK this process lacks).
pub async fn wrap_new_key(store: &DynStore, keys: &KeyringHandle, subject: Uuid, key: &DataKey) -> ApiResult<KeyRow> {
    NewKeyWrapper::active(store, keys).await?.wrap(subject, key)
}

/// Wraps many new data keys under the KEK the database named active when
/// it was made (one question for a whole batch; the store still refuses a
/// key under a KEK that stopped being active with `StaleKek`).
pub struct NewKeyWrapper {
    ring: std::sync::Arc<kith_crypto::Keyring>,
    active: Option<String>,
}

impl NewKeyWrapper {
    pub async fn active(store: &DynStore, keys: &KeyringHandle) -> ApiResult<Self> {
        Ok(match store.setting(ACTIVE_KEK).await? {
            Some(active) => Self { ring: keys.holding(&active)?, active: Some(active) },
            None => Self { ring: keys.current(), active: None },
        })
    }

    pub fn wrap(&self, subject: Uuid, key: &DataKey) -> ApiResult<KeyRow> {
        let wrapped = match &self.active {
            Some(active) => self.ring.wrap_with(active, subject, key)?,
            None => self.ring.wrap(subject, key),
        };
        Ok(to_store(wrapped))
    }
}

/// How often a write with a new key is tried when key rotations keep
/// switching the active KEK under it.
pub const WRITE_ATTEMPTS: usize = 5;

/// Runs `write` with `key` wrapped under the active KEK, wrapping it again
/// when a rotation switched the active KEK in between (the store refuses a
/// key under a KEK that is no longer active with `StaleKek`). The store's
/// answer is the caller's to map.
pub async fn write_with_new_key<T, Fut>(
    store: &DynStore,
    keys: &KeyringHandle,
    subject: Uuid,
    key: &DataKey,
    mut write: impl FnMut(KeyRow) -> Fut,
) -> ApiResult<Result<T, StoreError>>
where
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        let wrapped = wrap_new_key(store, keys, subject, key).await?;
        match write(wrapped).await {
            Err(StoreError::StaleKek(_)) if attempt < WRITE_ATTEMPTS => attempt += 1,
            answer => return Ok(answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No two contexts can be equal: each kind has its own prefix, and no
    /// prefix is a prefix of another's.
    #[test]
    fn every_context_has_a_prefix_of_its_own() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let contexts = [
            record(EntityKind::Contacts, a, b),
            consent(a, b),
            legal_claim(a, b),
            erasure_exception(a, b),
            dsr(a),
            segment(a),
            user_profile(a),
            user_totp(a, true),
            user_totp(a, false),
            capture_pending(a, "f"),
            capture_outbox(a, b),
        ];
        let prefixes: Vec<String> = contexts
            .iter()
            .map(|c| {
                let text = String::from_utf8(c.clone()).unwrap();
                text[..text.find("/v1/").unwrap() + 4].to_string()
            })
            .collect();
        for (i, p) in prefixes.iter().enumerate() {
            for (j, q) in prefixes.iter().enumerate() {
                assert!(i == j || !q.starts_with(p.as_str()), "{p} and {q}");
            }
        }
    }
}
