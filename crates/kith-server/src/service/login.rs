//! Logging in, and what a logged-in staff member does with their own
//! account: the session, the second factor, their password.
//!
//! Login answers every failure alike (unknown address, wrong password,
//! disabled or locked account, missing or wrong second factor): the same
//! `invalid_credentials` error, after the same one Argon2id verification
//! (an unknown address is checked against a dummy hash), so neither the
//! answer nor its timing tells whether an account exists.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::sessions::new_session;
use crate::auth::Credential;
use crate::error::{ApiError, ApiResult};
use crate::service::accounts::{
    change_password, find_by_email, is_locked, open_profile, user_key, verify_password, Profile,
};
use crate::service::Services;
use kith_core::account::{AccountStatus, LoginInput, PasswordChange, TotpConfirm};
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::ErrorCode;
use kith_crypto::secrets::hash_secret;
use kith_crypto::totp;
use kith_store::{SessionRow, SessionStart, UserRow};
use rand::RngCore;
use uuid::Uuid;

/// Recovery codes handed out at enrolment.
const RECOVERY_CODES: usize = 10;

/// The issuer authenticator apps show beside the account.
const TOTP_ISSUER: &str = "Kith";

/// The one answer to every failed login.
fn invalid_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCredentials,
        "the e-mail address, password or second factor is not valid, or the account cannot log in now",
    )
}

pub(crate) fn event(
    actor: String,
    action: AuditAction,
    entity: &str,
    record: Option<Uuid>,
    subject: Option<Uuid>,
    fields: Vec<String>,
) -> AuditEvent {
    audit_event::event(actor, action, About { entity, record, subject }, fields)
}

/// An event of a staff request, with its request id and client.
pub(crate) fn caller_event(who: &Caller, action: AuditAction, entity: &str, user: Uuid, fields: &[&str]) -> AuditEvent {
    let about = About { entity, record: Some(user), subject: Some(user) };
    audit_event::in_request(who, action, about, fields.iter().map(|f| f.to_string()).collect())
}

fn unix_seconds(millis: i64) -> u64 {
    u64::try_from(millis / 1000).unwrap_or(0)
}

/// A recovery code as typed: case, spaces and hyphens do not matter.
fn normalise_recovery_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// Ten codes of 80 random bits each, shown as `XXXX-XXXX-XXXX-XXXX`.
fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut raw = [0u8; 10];
            rand::rngs::OsRng.fill_bytes(&mut raw);
            let text = totp::base32(&raw);
            text.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
        })
        .collect()
}

/// Whether the login's second factor holds: none enrolled, or a TOTP code
/// for a step later than the last one accepted, or an unused recovery code.
async fn second_factor(svc: &Services, user: &UserRow, input: &LoginInput, now: i64) -> ApiResult<bool> {
    let Some(sealed) = &user.totp else { return Ok(true) };
    if let Some(code) = &input.totp {
        let key = user_key(&svc.store, &svc.keys, user.id).await?;
        let secret = key.open(&crate::sealing::user_totp(user.id, false), sealed)?;
        let last = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
        let Some(step) = totp::verify(&secret, code, unix_seconds(now), last) else { return Ok(false) };
        let step = i64::try_from(step).map_err(|e| ApiError::internal("totp", e))?;
        return Ok(svc.store.accept_totp_step(user.id, step).await?);
    }
    if let Some(code) = &input.recovery_code {
        let hash = hash_secret(&normalise_recovery_code(code));
        return Ok(svc.store.use_recovery_code(user.id, &hash, now).await?);
    }
    Ok(false)
}

/// Why a login of a known account failed, for the audit log (never shown).
fn failure_reason(user: &UserRow, password_ok: bool, now: i64) -> Option<&'static str> {
    if AccountStatus::parse(&user.status) != Some(AccountStatus::Active) {
        Some("disabled")
    } else if is_locked(user, now) {
        Some("locked")
    } else if !password_ok {
        Some("password")
    } else {
        None
    }
}

/// A session just opened: the account, its profile, the stored session and
/// the secret its cookie carries (shown once).
pub struct LoggedIn {
    pub user: UserRow,
    pub profile: Profile,
    pub session: SessionRow,
    pub secret: zeroize::Zeroizing<String>,
}

/// Logs in; every failure is audited with its reason and answered alike.
pub async fn login(
    svc: &Services,
    request_id: Option<String>,
    client: Option<String>,
    input: &LoginInput,
) -> ApiResult<LoggedIn> {
    let settings = &svc.config.accounts;
    let now = crate::now_millis();
    let user = if input.email.chars().count() <= 254 {
        find_by_email(&svc.store, &svc.keys, &input.email).await?
    } else {
        None
    };
    let params = settings.password;
    let dummy = svc
        .dummy_hash
        .get_or_try_init(|| crate::service::accounts::hash_password(params, "kith: no such account, a dummy password"))
        .await?
        .clone();
    let hash = user.as_ref().map_or(dummy, |u| u.password_hash.clone());
    let password_ok = verify_password(hash, &input.password).await;

    let mut denied = event("anonymous".into(), AuditAction::Authenticate, "sessions", None, None, Vec::new());
    (denied.request_id, denied.client, denied.outcome) = (request_id.clone(), client.clone(), AuditOutcome::Denied);
    let Some(user) = user else {
        denied.fields = vec!["unknown_account".into()];
        svc.audit.record(vec![denied]).await?;
        return Err(invalid_credentials());
    };
    denied.actor = format!("user:{}", user.id);
    denied.subject_id = Some(user.id);
    let reason = match failure_reason(&user, password_ok, now) {
        Some(reason) => Some(reason),
        None if !second_factor(svc, &user, input, now).await? => Some("second_factor"),
        None => None,
    };
    if let Some(reason) = reason {
        if matches!(reason, "password" | "second_factor") {
            if let Some(until) = svc.store.record_login_failure(user.id, now, settings.lockout()).await? {
                tracing::info!(user = %user.id, until, "account locked after repeated failed logins");
                denied.fields.push("locked".into());
            }
        }
        denied.fields.insert(0, reason.into());
        svc.audit.record(vec![denied]).await?;
        return Err(invalid_credentials());
    }

    // The account was read before the slow hash: the store decides again,
    // under the account's lock, together with opening the session.
    let session = new_session(user.id, now, settings);
    let refused = match svc.store.start_session(&session.row, user.password_changed_at).await? {
        SessionStart::Started => None,
        SessionStart::Disabled => Some("disabled"),
        SessionStart::Locked => Some("locked"),
        SessionStart::PasswordChanged => Some("password"),
    };
    if let Some(reason) = refused {
        denied.fields.insert(0, reason.into());
        svc.audit.record(vec![denied]).await?;
        return Err(invalid_credentials());
    }
    let profile = open_profile(&user_key(&svc.store, &svc.keys, user.id).await?, &user)?;
    let mut ok = event(
        format!("user:{}", user.id),
        AuditAction::Authenticate,
        "sessions",
        Some(session.row.id),
        Some(user.id),
        vec![if user.totp.is_some() { "password+totp" } else { "password" }.into()],
    );
    (ok.request_id, ok.client) = (request_id, client);
    svc.audit.record(vec![ok]).await?;
    Ok(LoggedIn { user, profile, session: session.row, secret: session.secret })
}

/// The user and session of a request authenticated by a session cookie.
pub fn session_of(who: &Caller) -> ApiResult<(Uuid, Uuid)> {
    match who.principal.credential {
        Credential::User { user, session } => Ok((user, session)),
        _ => Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a logged-in staff account has a session; this request used another credential",
        )),
    }
}

async fn current_user(svc: &Services, id: Uuid) -> ApiResult<UserRow> {
    svc.store.user(id).await?.ok_or_else(|| ApiError::not_found("account"))
}

/// Sets (or, with `None`, clears) the caller's own interface language: a
/// primary language tag (`en`, `uk`); which ones the interface offers is
/// the interface's to check. Sealed with the profile, audited.
pub async fn set_own_language(svc: &Services, who: &Caller, language: Option<&str>) -> ApiResult<()> {
    let (user_id, _) = session_of(who)?;
    let language = match language.map(str::trim) {
        None | Some("") => None,
        Some(tag) if (2..=3).contains(&tag.len()) && tag.chars().all(|c| c.is_ascii_lowercase()) => {
            Some(tag.to_string())
        }
        Some(_) => return Err(ApiError::new(ErrorCode::InvalidValue, "language: a language tag such as en or uk")),
    };
    let mut user = current_user(svc, user_id).await?;
    let key = user_key(&svc.store, &svc.keys, user.id).await?;
    let mut profile = open_profile(&key, &user)?;
    profile.language = language;
    user.sealed = crate::service::accounts::seal_profile(&key, user.id, &profile)?;
    user.updated_at = crate::now_millis();
    if !svc.store.update_user(&user, false).await? {
        return Err(ApiError::not_found("account"));
    }
    svc.audit.record(vec![caller_event(who, AuditAction::ConfigChange, "users", user.id, &["language"])]).await?;
    Ok(())
}

/// The caller's own session, found by its cookie's secret; audited as a read of the account.
pub async fn whoami(svc: &Services, who: &Caller, secret: &str) -> ApiResult<(UserRow, Profile, SessionRow)> {
    let (user_id, _) = session_of(who)?;
    let session =
        svc.store.session_by_hash(&hash_secret(secret)).await?.ok_or_else(|| ApiError::not_found("session"))?;
    let user = current_user(svc, user_id).await?;
    let profile = open_profile(&user_key(&svc.store, &svc.keys, user.id).await?, &user)?;
    svc.audit.record(vec![caller_event(who, AuditAction::Read, "users", user.id, &["email", "display_name"])]).await?;
    Ok((user, profile, session))
}

/// Ends the caller's session.
pub async fn logout(svc: &Services, who: &Caller) -> ApiResult<()> {
    let (user, session) = session_of(who)?;
    svc.store.revoke_session(session, crate::now_millis()).await?;
    let mut ended = caller_event(who, AuditAction::TokenRevoke, "sessions", user, &["logout"]);
    ended.record_id = Some(session);
    svc.audit.record(vec![ended]).await?;
    Ok(())
}

/// A second factor being enrolled: what the authenticator app needs.
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// Starts enrolling a TOTP second factor (the secret stays pending until confirmed).
pub async fn begin_totp(svc: &Services, who: &Caller) -> ApiResult<TotpEnrolment> {
    let (user_id, _) = session_of(who)?;
    let user = current_user(svc, user_id).await?;
    if user.totp.is_some() {
        return Err(ApiError::new(ErrorCode::Conflict, "a second factor is enrolled already"));
    }
    let key = user_key(&svc.store, &svc.keys, user.id).await?;
    let profile = open_profile(&key, &user)?;
    let secret = totp::generate_secret();
    let sealed = key.seal(&crate::sealing::user_totp(user.id, true), &secret);
    svc.store.set_totp_pending(user.id, Some(&sealed), crate::now_millis()).await?;
    svc.audit.record(vec![caller_event(who, AuditAction::ConfigChange, "users", user.id, &["totp_pending"])]).await?;
    Ok(TotpEnrolment {
        secret: totp::base32(&secret),
        otpauth_uri: totp::otpauth_uri(TOTP_ISSUER, &profile.email, &secret),
    })
}

/// Confirms the pending second factor with a current code; the recovery codes, shown once.
pub async fn confirm_totp(svc: &Services, who: &Caller, input: &TotpConfirm) -> ApiResult<Vec<String>> {
    let (user_id, _) = session_of(who)?;
    let user = current_user(svc, user_id).await?;
    let Some(pending) = &user.totp_pending else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "no enrolment is in progress; start one with POST /api/v1/session/totp",
        ));
    };
    let key = user_key(&svc.store, &svc.keys, user.id).await?;
    let secret = key.open(&crate::sealing::user_totp(user.id, true), pending)?;
    let now = crate::now_millis();
    let step = totp::verify(&secret, &input.code, unix_seconds(now), None)
        .ok_or_else(|| ApiError::new(ErrorCode::TotpInvalid, "code: not the current code of the new secret"))?;
    let codes = new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| hash_secret(&normalise_recovery_code(c))).collect();
    let sealed = key.seal(&crate::sealing::user_totp(user.id, false), &secret);
    let step = i64::try_from(step).map_err(|e| ApiError::internal("totp", e))?;
    if !svc.store.enrol_totp(user.id, &sealed, step, &hashes, now).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "the enrolment changed meanwhile; start again"));
    }
    svc.audit
        .record(vec![caller_event(who, AuditAction::ConfigChange, "users", user.id, &["totp", "recovery_codes"])])
        .await?;
    Ok(codes)
}

/// Whether the caller's account has a second factor enrolled.
pub async fn second_factor_enrolled(svc: &Services, who: &Caller) -> ApiResult<bool> {
    let (user_id, _) = session_of(who)?;
    Ok(current_user(svc, user_id).await?.totp.is_some())
}

/// Changes the caller's own password; their other sessions end.
pub async fn change_own_password(svc: &Services, who: &Caller, input: &PasswordChange) -> ApiResult<()> {
    let (user_id, session) = session_of(who)?;
    let user = current_user(svc, user_id).await?;
    let now = crate::now_millis();
    if !verify_password(user.password_hash.clone(), &input.current_password).await {
        // A stolen session must not become a way to guess the password.
        svc.store.record_login_failure(user.id, now, svc.config.accounts.lockout()).await?;
        let refused =
            audit_event::denied(caller_event(who, AuditAction::ConfigChange, "users", user.id, &["password"]));
        svc.audit.record(vec![refused]).await?;
        return Err(ApiError::new(ErrorCode::Forbidden, "current_password: not the account's password"));
    }
    change_password(&svc.store, &svc.keys, svc.config.accounts.password, &user, &input.new_password, now).await?;
    let others = svc.store.revoke_user_sessions(user.id, now, Some(session)).await?;
    let mut events = vec![caller_event(who, AuditAction::ConfigChange, "users", user.id, &["password"])];
    if others > 0 {
        events.push(caller_event(who, AuditAction::TokenRevoke, "sessions", user.id, &[&format!("revoked:{others}")]));
    }
    svc.audit.record(events).await?;
    Ok(())
}
