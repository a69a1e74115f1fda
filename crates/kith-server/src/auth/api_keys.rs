//! How a request carrying a third party's API key is authenticated: the
//! key is stored as its SHA-256; a request with it gets exactly the key's
//! permissions and purposes, from the key's addresses only, until it
//! expires or is revoked, and only while data may go to its recipient
//! (`transfers::guard`).

use crate::auth::{hash_token, Credential, Principal, Refused};
use crate::error::ApiError;
use kith_core::api_key::{address_allowed, ApiKeyInput};
use kith_core::ErrorCode;
use kith_store::DynStore;
use std::net::IpAddr;
use std::sync::Arc;

/// API keys start with this, so a request's credential kind is known before any lookup.
pub const KEY_PREFIX: &str = "kith_key_";

/// The principal a key stands for, or why it is refused. An unknown,
/// expired or revoked key gets the one answer every bad credential gets;
/// a known key used from elsewhere than its addresses is refused as such.
pub async fn principal_for_key(
    store: &DynStore,
    key: &str,
    client: Option<IpAddr>,
    now: i64,
) -> Result<Principal, Refused> {
    let row = store.api_key_by_hash(&hash_token(key)).await.map_err(|e| Refused { error: e.into(), actor: None })?;
    let row = row.ok_or_else(|| Refused::unknown(None))?;
    let actor = Some(format!("key:{}", row.id));
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(Refused::unknown(actor));
    }
    let grant: ApiKeyInput = serde_json::from_str(&row.document)
        .map_err(|e| Refused { error: ApiError::internal("api key", e), actor: actor.clone() })?;
    if !address_allowed(&grant.allowed_addresses, client) {
        let error = ApiError::new(ErrorCode::AddressNotAllowed, "this key may not be used from this address");
        return Err(Refused { error, actor });
    }
    let recipient = match crate::transfers::guard(store, grant.recipient_id, now).await {
        Ok(recipient) => recipient,
        Err(error) => return Err(Refused { error, actor }),
    };
    // Only the purposes the recipient is registered for today.
    let purposes = crate::transfers::registered_purposes(&recipient, &grant.purposes);
    if purposes.is_empty() {
        let error = ApiError::new(
            ErrorCode::PurposeNotAllowed,
            "the recipient is no longer registered for any purpose of this key",
        );
        return Err(Refused { error, actor });
    }
    if let Err(e) = store.touch_api_key(row.id, now).await {
        tracing::warn!(error = %e, "cannot record the use of an API key");
    }
    Ok(Principal {
        credential: Credential::ApiKey { id: row.id, purposes },
        name: format!("key:{}", row.id),
        roles: Vec::new(),
        teams: Vec::new(),
        permissions: Arc::new(grant.permissions),
    })
}
