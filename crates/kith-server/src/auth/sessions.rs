//! Browser sessions. After a login the browser holds a cookie with a
//! 256-bit secret (`kith_session`: HttpOnly, SameSite=Strict, Path=/,
//! Secure whenever the server speaks TLS); the database keeps only its
//! SHA-256. Every state-changing request authenticated by the cookie must
//! also carry the session's CSRF token in `X-CSRF-Token`: a token derived
//! from the secret, which another site can neither read nor compute.
//!
//! A session ends at its absolute expiry, after the idle time without a
//! request, at logout, when its user's sessions are revoked, and when the
//! account is disabled. Its last use is written at most once a minute (or
//! a quarter of the idle time, if shorter), not on every request.

use crate::auth::{Credential, Principal, Refused};
use crate::clock::seconds_as_millis;
use crate::config::AccountSettings;
use crate::error::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use kith_core::account::AccountStatus;
use kith_core::ErrorCode;
use kith_crypto::secrets::{constant_time_eq, csrf_token, hash_secret, random_token};
use kith_store::{DynStore, SessionRow};
use uuid::Uuid;
use zeroize::Zeroizing;

/// The session cookie's name.
pub const COOKIE: &str = "kith_session";

/// The header a state-changing request with the cookie carries the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The longest a session's last use goes unrecorded.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A new session: the secret for the cookie (shown once) and its row.
pub struct NewSession {
    pub secret: Zeroizing<String>,
    pub row: SessionRow,
}

pub fn new_session(user: Uuid, now: i64, settings: &AccountSettings) -> NewSession {
    let secret = random_token(32);
    let row = SessionRow {
        id: Uuid::new_v4(),
        user_id: user,
        secret_hash: hash_secret(&secret),
        created_at: now,
        last_seen_at: now,
        expires_at: now.saturating_add(seconds_as_millis(settings.session_absolute_seconds)),
        revoked_at: None,
    };
    NewSession { secret, row }
}

/// When the session ends if unused from now on.
pub fn idle_expires_at(row: &SessionRow, settings: &AccountSettings) -> i64 {
    row.last_seen_at.saturating_add(seconds_as_millis(settings.session_idle_seconds)).min(row.expires_at)
}

/// The CSRF token of the session a request's cookie names.
pub fn csrf_for(secret: &str) -> String {
    csrf_token(secret)
}

/// The `Set-Cookie` value that gives the browser its session.
pub fn set_cookie(secret: &str, max_age_seconds: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Max-Age={max_age_seconds}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("a base64url secret is a valid header value")
}

/// The `Set-Cookie` value that removes it.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict{secure}"))
        .expect("a static header value")
}

/// The session secret a request's `Cookie` headers carry, if any.
pub fn cookie_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty() && value.len() <= 100)
}

fn is_state_changing(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// The principal a session cookie stands for. Refused (401, audited by the
/// caller) when the session is unknown, revoked or expired or its account
/// disabled; 403 `csrf_failed` when a state-changing request lacks the
/// session's CSRF token.
pub async fn principal_for_session(
    store: &DynStore,
    settings: &AccountSettings,
    secret: &str,
    method: &Method,
    headers: &HeaderMap,
    now: i64,
) -> Result<Principal, Refused> {
    let denied = |actor: Option<String>| Refused {
        error: ApiError::new(ErrorCode::Unauthenticated, "the session is unknown, expired or ended; log in again"),
        actor,
    };
    let internal = |e: kith_store::StoreError| Refused { error: e.into(), actor: None };
    let session = store.session_by_hash(&hash_secret(secret)).await.map_err(internal)?.ok_or_else(|| denied(None))?;
    let actor = Some(format!("user:{}", session.user_id));
    if session.revoked_at.is_some() || session.expires_at <= now || idle_expires_at(&session, settings) <= now {
        return Err(denied(actor));
    }
    let user = store.user(session.user_id).await.map_err(internal)?.ok_or_else(|| denied(actor.clone()))?;
    if AccountStatus::parse(&user.status) != Some(AccountStatus::Active) {
        return Err(denied(actor));
    }
    if is_state_changing(method) {
        let sent = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes).unwrap_or_default();
        if !constant_time_eq(sent, csrf_for(secret).as_bytes()) {
            return Err(Refused {
                error: ApiError::new(
                    ErrorCode::CsrfFailed,
                    "a request with the session cookie that changes something needs the session's X-CSRF-Token header",
                ),
                actor,
            });
        }
    }
    let touch_every = TOUCH_EVERY_MS.min(seconds_as_millis(settings.session_idle_seconds) / 4);
    if now - session.last_seen_at >= touch_every {
        store.touch_session(session.id, now).await.map_err(internal)?;
    }
    Ok(Principal {
        credential: Credential::User { user: user.id, session: session.id },
        name: user.id.to_string(),
        permissions: crate::auth::roles::resolve_permissions(store, &user.roles)
            .await
            .map_err(|error| Refused { error, actor: Some(format!("user:{}", user.id)) })?,
        roles: user.roles,
        teams: user.teams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; kith_session=abc; b=2"));
        assert_eq!(cookie_secret(&headers).as_deref(), Some("abc"));
        assert!(cookie_secret(&HeaderMap::new()).is_none());
        let cookie = set_cookie("abc", 60, true);
        let text = cookie.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(text.contains(part), "{text}");
        }
        assert!(!set_cookie("abc", 60, false).to_str().unwrap().contains("Secure"));
    }
}
