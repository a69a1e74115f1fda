//! Third-party API keys: issued by the DPO with a grant (a recipient of
//! the register, purposes, permissions, addresses, lifetime), shown once,
//! stored as a hash, listed and revoked; every change audited. A key is
//! issued only while data may go to its recipient (`transfers::guard`).

use crate::audit::event::{self as audit_event, About};
use crate::auth::api_keys::KEY_PREFIX;
use crate::auth::caller::Caller;
use crate::auth::hash_token;
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use kith_core::api_key::ApiKeyInput;
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::ErrorCode;
use kith_store::ApiKeyRow;
use rand::RngCore;
use uuid::Uuid;

const DAY_MILLIS: i64 = 86_400_000;

fn event(who: &Caller, action: AuditAction, key: Uuid) -> AuditEvent {
    audit_event::by(who, action, About::record("api_keys", key), Vec::new())
}

/// Issues a key: the stored row and the key itself, which is never shown again.
pub async fn issue(svc: &Services, who: &Caller, mut input: ApiKeyInput) -> ApiResult<(ApiKeyRow, String)> {
    svc.authorizer.authorize_api_keys(&who.principal, true)?;
    input.validate()?;
    for purpose in &input.purposes {
        if svc.store.purpose(purpose).await?.is_none() {
            return Err(ApiError::new(
                ErrorCode::UnknownReference,
                format!("purposes: {purpose} is not in the purposes catalogue"),
            ));
        }
    }
    let recipient = crate::transfers::guard(&svc.store, input.recipient_id, crate::now_millis()).await?;
    if crate::transfers::registered_purposes(&recipient, &input.purposes).len() != input.purposes.len() {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            "purposes: each must be among the purposes the recipient is registered for",
        ));
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let key = format!("{KEY_PREFIX}{}", B64URL.encode(secret));
    let now = crate::now_millis();
    let row = ApiKeyRow {
        id: Uuid::new_v4(),
        key_hash: hash_token(&key),
        document: serde_json::to_string(&input).map_err(|e| ApiError::internal("api key", e))?,
        created_by: who.principal.name.clone(),
        created_at: now,
        expires_at: now + i64::from(input.expires_in_days) * DAY_MILLIS,
        revoked_at: None,
        last_used_at: None,
    };
    svc.store.insert_api_key(&row).await?;
    svc.audit.record(vec![event(who, AuditAction::TokenIssue, row.id)]).await?;
    Ok((row, key))
}

/// Every key issued.
pub async fn list(svc: &Services, who: &Caller) -> ApiResult<Vec<ApiKeyRow>> {
    svc.authorizer.authorize_api_keys(&who.principal, false)?;
    Ok(svc.store.api_keys().await?)
}

/// Revokes a key at once.
pub async fn revoke(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<()> {
    svc.authorizer.authorize_api_keys(&who.principal, false)?;
    if !svc.store.revoke_api_key(id, crate::now_millis()).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such key, or revoked already"));
    }
    svc.audit.record(vec![event(who, AuditAction::TokenRevoke, id)]).await?;
    Ok(())
}
