//! The account routes: login, the session and its second factor, one's own
//! password (`/api/v1/session...`), and staff account management for
//! admins (`/api/v1/users...`).
//!
//! Login answers every failure alike (unknown address, wrong password,
//! disabled or locked account, missing or wrong second factor): the same
//! 401 `invalid_credentials` body, after the same one Argon2id
//! verification (an unknown address is checked against a dummy hash), so
//! neither the answer nor its timing tells whether an account exists.

use crate::accounts::{
    change_password, create_user, find_by_email, is_locked, open_profile, render_user, seal_profile, user_key,
    verify_password, Profile,
};
use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::sessions::{self, clear_cookie, csrf_for, idle_expires_at, new_session, set_cookie};
use crate::auth::Credential;
use crate::capture::PublicRequest;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, ManageAccounts};
use crate::http::ratelimit::{client_key, limited};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kith_core::access::is_high_privilege;
use kith_core::account::{
    check_display_name, check_roles, check_teams, AccountStatus, LoginInput, NewUserInput, PasswordChange,
    PasswordReset, TotpConfirm, UserPatch,
};
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::ErrorCode;
use kith_crypto::secrets::hash_secret;
use kith_crypto::totp;
use kith_store::{SessionStart, UserRow};
use rand::RngCore;
use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::{Ref, Required, ResponseBuilder};
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

fn event(
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
fn caller_event(who: &Caller, action: AuditAction, entity: &str, user: Uuid, fields: &[&str]) -> AuditEvent {
    AuditEvent {
        request_id: who.request_id.clone(),
        client: who.client.clone(),
        ..event(who.actor(), action, entity, Some(user), Some(user), fields.iter().map(|f| f.to_string()).collect())
    }
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
async fn second_factor(state: &AppState, user: &UserRow, input: &LoginInput, now: i64) -> ApiResult<bool> {
    let Some(sealed) = &user.totp else { return Ok(true) };
    if let Some(code) = &input.totp {
        let key = user_key(&state.store, &state.keys, user.id).await?;
        let secret = key.open(&crate::sealing::user_totp(user.id, false), sealed)?;
        let last = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
        let Some(step) = totp::verify(&secret, code, unix_seconds(now), last) else { return Ok(false) };
        let step = i64::try_from(step).map_err(|e| ApiError::internal("totp", e))?;
        return Ok(state.store.accept_totp_step(user.id, step).await?);
    }
    if let Some(code) = &input.recovery_code {
        let hash = hash_secret(&normalise_recovery_code(code));
        return Ok(state.store.use_recovery_code(user.id, &hash, now).await?);
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

fn session_body(
    state: &AppState,
    user: &UserRow,
    profile: &Profile,
    row: &kith_store::SessionRow,
    secret: &str,
) -> Value {
    let now = crate::now_millis();
    json!({
        "user": render_user(user, profile, now),
        "csrf_token": csrf_for(secret),
        "expires_at": rfc3339_millis(row.expires_at),
        "idle_expires_at": rfc3339_millis(idle_expires_at(row, &state.config.accounts)),
    })
}

async fn login(
    State(state): State<AppState>,
    request: PublicRequest,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    let ip = request.client.as_deref().and_then(|c| c.parse().ok());
    if let Err(wait) = state.login_limit.take(&client_key(ip), std::time::Instant::now()) {
        return Ok(limited(wait, "too many login attempts from here; try later"));
    }
    let settings = &state.config.accounts;
    let now = crate::now_millis();
    let user = if input.email.chars().count() <= 254 {
        find_by_email(&state.store, &state.keys, &input.email).await?
    } else {
        None
    };
    let params = settings.password;
    let dummy = state
        .dummy_hash
        .get_or_try_init(|| crate::accounts::hash_password(params, "kith: no such account, a dummy password"))
        .await?
        .clone();
    let hash = user.as_ref().map_or(dummy, |u| u.password_hash.clone());
    let password_ok = verify_password(hash, &input.password).await;

    let mut denied = event("anonymous".into(), AuditAction::Authenticate, "sessions", None, None, Vec::new());
    (denied.request_id, denied.client, denied.outcome) =
        (request.request_id.clone(), request.client.clone(), AuditOutcome::Denied);
    let Some(user) = user else {
        denied.fields = vec!["unknown_account".into()];
        state.audit.record(vec![denied]).await?;
        return Err(invalid_credentials());
    };
    denied.actor = format!("user:{}", user.id);
    denied.subject_id = Some(user.id);
    let reason = match failure_reason(&user, password_ok, now) {
        Some(reason) => Some(reason),
        None if !second_factor(&state, &user, &input, now).await? => Some("second_factor"),
        None => None,
    };
    if let Some(reason) = reason {
        if matches!(reason, "password" | "second_factor") {
            if let Some(until) = state.store.record_login_failure(user.id, now, settings.lockout()).await? {
                tracing::info!(user = %user.id, until, "account locked after repeated failed logins");
                denied.fields.push("locked".into());
            }
        }
        denied.fields.insert(0, reason.into());
        state.audit.record(vec![denied]).await?;
        return Err(invalid_credentials());
    }

    // The account was read before the slow hash: the store decides again,
    // under the account's lock, together with opening the session.
    let session = new_session(user.id, now, settings);
    let refused = match state.store.start_session(&session.row, user.password_changed_at).await? {
        SessionStart::Started => None,
        SessionStart::Disabled => Some("disabled"),
        SessionStart::Locked => Some("locked"),
        SessionStart::PasswordChanged => Some("password"),
    };
    if let Some(reason) = refused {
        denied.fields.insert(0, reason.into());
        state.audit.record(vec![denied]).await?;
        return Err(invalid_credentials());
    }
    let profile = open_profile(&user_key(&state.store, &state.keys, user.id).await?, &user)?;
    let mut ok = event(
        format!("user:{}", user.id),
        AuditAction::Authenticate,
        "sessions",
        Some(session.row.id),
        Some(user.id),
        vec![if user.totp.is_some() { "password+totp" } else { "password" }.into()],
    );
    (ok.request_id, ok.client) = (request.request_id, request.client);
    state.audit.record(vec![ok]).await?;
    let body = session_body(&state, &user, &profile, &session.row, &session.secret);
    let cookie = set_cookie(&session.secret, settings.session_absolute_seconds, state.config.tls);
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// The user and session of a request authenticated by a session cookie.
fn session_of(who: &Caller) -> ApiResult<(Uuid, Uuid)> {
    match who.principal.credential {
        Credential::User { user, session } => Ok((user, session)),
        _ => Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a logged-in staff account has a session; this request used another credential",
        )),
    }
}

async fn current_user(state: &AppState, id: Uuid) -> ApiResult<UserRow> {
    state.store.user(id).await?.ok_or_else(|| ApiError::not_found("account"))
}

async fn whoami(State(state): State<AppState>, who: Caller, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let (user_id, _) = session_of(&who)?;
    let secret = sessions::cookie_secret(&headers).ok_or_else(|| ApiError::not_found("session"))?;
    let session =
        state.store.session_by_hash(&hash_secret(&secret)).await?.ok_or_else(|| ApiError::not_found("session"))?;
    let user = current_user(&state, user_id).await?;
    let profile = open_profile(&user_key(&state.store, &state.keys, user.id).await?, &user)?;
    state
        .audit
        .record(vec![caller_event(&who, AuditAction::Read, "users", user.id, &["email", "display_name"])])
        .await?;
    Ok(Json(session_body(&state, &user, &profile, &session, &secret)))
}

async fn logout(State(state): State<AppState>, who: Caller) -> ApiResult<Response> {
    let (user, session) = session_of(&who)?;
    state.store.revoke_session(session, crate::now_millis()).await?;
    let mut ended = caller_event(&who, AuditAction::TokenRevoke, "sessions", user, &["logout"]);
    ended.record_id = Some(session);
    state.audit.record(vec![ended]).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear_cookie(state.config.tls))]).into_response())
}

async fn begin_totp(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let (user_id, _) = session_of(&who)?;
    let user = current_user(&state, user_id).await?;
    if user.totp.is_some() {
        return Err(ApiError::new(ErrorCode::Conflict, "a second factor is enrolled already"));
    }
    let key = user_key(&state.store, &state.keys, user.id).await?;
    let profile = open_profile(&key, &user)?;
    let secret = totp::generate_secret();
    let sealed = key.seal(&crate::sealing::user_totp(user.id, true), &secret);
    state.store.set_totp_pending(user.id, Some(&sealed), crate::now_millis()).await?;
    state
        .audit
        .record(vec![caller_event(&who, AuditAction::ConfigChange, "users", user.id, &["totp_pending"])])
        .await?;
    Ok(Json(json!({
        "secret": totp::base32(&secret),
        "otpauth_uri": totp::otpauth_uri(TOTP_ISSUER, &profile.email, &secret),
        "digits": totp::DIGITS,
        "period": totp::STEP_SECONDS,
    })))
}

async fn confirm_totp(
    State(state): State<AppState>,
    who: Caller,
    ApiJson(input): ApiJson<TotpConfirm>,
) -> ApiResult<Json<Value>> {
    let (user_id, _) = session_of(&who)?;
    let user = current_user(&state, user_id).await?;
    let Some(pending) = &user.totp_pending else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "no enrolment is in progress; start one with POST /api/v1/session/totp",
        ));
    };
    let key = user_key(&state.store, &state.keys, user.id).await?;
    let secret = key.open(&crate::sealing::user_totp(user.id, true), pending)?;
    let now = crate::now_millis();
    let step = totp::verify(&secret, &input.code, unix_seconds(now), None)
        .ok_or_else(|| ApiError::new(ErrorCode::TotpInvalid, "code: not the current code of the new secret"))?;
    let codes = new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| hash_secret(&normalise_recovery_code(c))).collect();
    let sealed = key.seal(&crate::sealing::user_totp(user.id, false), &secret);
    let step = i64::try_from(step).map_err(|e| ApiError::internal("totp", e))?;
    if !state.store.enrol_totp(user.id, &sealed, step, &hashes, now).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "the enrolment changed meanwhile; start again"));
    }
    state
        .audit
        .record(vec![caller_event(&who, AuditAction::ConfigChange, "users", user.id, &["totp", "recovery_codes"])])
        .await?;
    Ok(Json(json!({ "totp_enrolled": true, "recovery_codes": codes })))
}

async fn change_own_password(
    State(state): State<AppState>,
    who: Caller,
    ApiJson(input): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let (user_id, session) = session_of(&who)?;
    let user = current_user(&state, user_id).await?;
    let now = crate::now_millis();
    if !verify_password(user.password_hash.clone(), &input.current_password).await {
        // A stolen session must not become a way to guess the password.
        state.store.record_login_failure(user.id, now, state.config.accounts.lockout()).await?;
        let mut refused = caller_event(&who, AuditAction::ConfigChange, "users", user.id, &["password"]);
        refused.outcome = AuditOutcome::Denied;
        state.audit.record(vec![refused]).await?;
        return Err(ApiError::new(ErrorCode::Forbidden, "current_password: not the account's password"));
    }
    change_password(&state.store, &state.keys, state.config.accounts.password, &user, &input.new_password, now).await?;
    let others = state.store.revoke_user_sessions(user.id, now, Some(session)).await?;
    let mut events = vec![caller_event(&who, AuditAction::ConfigChange, "users", user.id, &["password"])];
    if others > 0 {
        events.push(caller_event(&who, AuditAction::TokenRevoke, "sessions", user.id, &[&format!("revoked:{others}")]));
    }
    state.audit.record(events).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account with its profile opened, as admins see it; the read is audited.
async fn show_users(state: &AppState, who: &Caller, users: &[UserRow]) -> ApiResult<Vec<Value>> {
    let now = crate::now_millis();
    let mut items = Vec::with_capacity(users.len());
    let mut events = Vec::with_capacity(users.len());
    for user in users {
        let profile = open_profile(&user_key(&state.store, &state.keys, user.id).await?, user)?;
        items.push(render_user(user, &profile, now));
        events.push(caller_event(who, AuditAction::Read, "users", user.id, &["email", "display_name"]));
    }
    if !events.is_empty() {
        state.audit.record(events).await?;
    }
    Ok(items)
}

async fn list_users(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_accounts(&who.principal)?;
    let users = state.store.users().await?;
    let items = show_users(&state, &who, &users).await?;
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

/// What a change to an account's roles means for who may make it: only a
/// DPO touches an account that reaches everyone's personal data (before or
/// after the change). Returns whether the roles after it grant personal
/// data at all, which is then raised as an alert.
async fn check_privilege(state: &AppState, who: &Caller, before: &[String], after: &[String]) -> ApiResult<bool> {
    let held = crate::auth::roles::resolve_permissions(&state.store, before).await?;
    // A reset changes no role: the same permissions, resolved once.
    let granted = match before == after {
        true => held.clone(),
        false => crate::auth::roles::resolve_permissions(&state.store, after).await?,
    };
    let high = is_high_privilege(&held) || is_high_privilege(&granted);
    if high && !who.principal.has_role("dpo") {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a DPO manages an account whose roles reach everyone's personal data",
        ));
    }
    Ok(!granted.is_empty())
}

/// Raises the alert that personal-data access was granted to an account.
async fn alert_grant(state: &AppState, who: &Caller, user: Uuid, roles: &[String]) -> ApiResult<()> {
    let now = crate::now_millis();
    let alert = kith_store::AlertRow {
        id: Uuid::new_v4(),
        at: now,
        rule: "access_granted".into(),
        actor: who.actor(),
        detail: format!("roles {} given to user:{user}", roles.join(", ")),
    };
    if state.store.raise_alert(&alert, now).await? {
        tracing::warn!(
            rule = alert.rule,
            actor = alert.actor,
            detail = alert.detail,
            "access to personal data granted"
        );
    }
    Ok(())
}

async fn add_user(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageAccounts>,
    ApiJson(input): ApiJson<NewUserInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.authorizer.authorize_accounts(&who.principal)?;
    crate::auth::roles::check_exist(&state.store, &input.roles).await?;
    let grants = check_privilege(&state, &who, &[], &input.roles).await?;
    let now = crate::now_millis();
    let (user, profile) = create_user(&state.store, &state.keys, state.config.accounts.password, input, now).await?;
    let mut fields = vec!["email", "roles", "teams", "status", "password"];
    if profile.display_name.is_some() {
        fields.insert(1, "display_name");
    }
    state.audit.record(vec![caller_event(&who, AuditAction::ConfigChange, "users", user.id, &fields)]).await?;
    if grants {
        alert_grant(&state, &who, user.id, &user.roles).await?;
    }
    Ok((StatusCode::CREATED, Json(render_user(&user, &profile, now))))
}

async fn get_user(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_accounts(&who.principal)?;
    let user = current_user(&state, crate::http::extract::path_id(&id)?).await?;
    let mut shown = show_users(&state, &who, std::slice::from_ref(&user)).await?;
    Ok(Json(shown.remove(0)))
}

async fn update_user(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageAccounts>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_accounts(&who.principal)?;
    let mut user = current_user(&state, crate::http::extract::path_id(&id)?).await?;
    // An admin gives roles to others, never to themselves: no one widens
    // their own access (an admin holds no personal data by default).
    let own = matches!(who.principal.credential, Credential::User { user: me, .. } if me == user.id);
    if own && (patch.roles.is_some() || patch.status.is_some()) {
        return Err(ApiError::new(ErrorCode::Forbidden, "an account may not change its own roles or status"));
    }
    let new_roles = match &patch.roles {
        Some(roles) => check_roles(roles)?,
        None => user.roles.clone(),
    };
    crate::auth::roles::check_exist(&state.store, &new_roles).await?;
    let grants = check_privilege(&state, &who, &user.roles, &new_roles).await? && patch.roles.is_some();
    let key = user_key(&state.store, &state.keys, user.id).await?;
    let mut profile = open_profile(&key, &user)?;
    let mut changed: Vec<&str> = Vec::new();
    if let Some(name) = &patch.display_name {
        profile.display_name = Some(check_display_name(name)?).filter(|n| !n.is_empty());
        user.sealed = seal_profile(&key, user.id, &profile)?;
        changed.push("display_name");
    }
    if patch.roles.is_some() {
        user.roles = new_roles;
        changed.push("roles");
    }
    if let Some(teams) = &patch.teams {
        user.teams = check_teams(teams)?;
        changed.push("teams");
    }
    let now = crate::now_millis();
    if let Some(status) = patch.status {
        user.status = status.as_str().into();
        if status == AccountStatus::Active {
            // Enabling an account also lifts a lockout (the store clears it).
            (user.locked_until, user.failed_logins, user.first_failed_at) = (None, 0, None);
        }
        changed.push("status");
    }
    user.updated_at = now;
    let lift_lockout = patch.status == Some(AccountStatus::Active);
    if !state.store.update_user(&user, lift_lockout).await? {
        return Err(ApiError::not_found("account"));
    }
    let mut events = vec![caller_event(&who, AuditAction::ConfigChange, "users", user.id, &changed)];
    if patch.status == Some(AccountStatus::Disabled) {
        let ended = state.store.revoke_user_sessions(user.id, now, None).await?;
        events.push(caller_event(&who, AuditAction::TokenRevoke, "sessions", user.id, &[&format!("revoked:{ended}")]));
    }
    state.audit.record(events).await?;
    if grants {
        alert_grant(&state, &who, user.id, &user.roles).await?;
    }
    Ok(Json(render_user(&user, &profile, now)))
}

async fn reset_password(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageAccounts>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PasswordReset>,
) -> ApiResult<StatusCode> {
    state.authorizer.authorize_accounts(&who.principal)?;
    let user = current_user(&state, crate::http::extract::path_id(&id)?).await?;
    check_privilege(&state, &who, &user.roles, &user.roles).await?;
    let now = crate::now_millis();
    change_password(&state.store, &state.keys, state.config.accounts.password, &user, &input.password, now).await?;
    let ended = state.store.revoke_user_sessions(user.id, now, None).await?;
    state
        .audit
        .record(vec![
            caller_event(&who, AuditAction::ConfigChange, "users", user.id, &["password"]),
            caller_event(&who, AuditAction::TokenRevoke, "sessions", user.id, &[&format!("revoked:{ended}")]),
        ])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_sessions(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_accounts(&who.principal)?;
    let user = current_user(&state, crate::http::extract::path_id(&id)?).await?;
    let ended = state.store.revoke_user_sessions(user.id, crate::now_millis(), None).await?;
    state
        .audit
        .record(vec![caller_event(&who, AuditAction::TokenRevoke, "sessions", user.id, &[&format!("revoked:{ended}")])])
        .await?;
    Ok(Json(json!({ "revoked": ended })))
}

fn body(schema: &str) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("application/json", json_content(Ref::from_schema_name(schema)))
        .build()
}

fn ok(what: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(what).content("application/json", json_content(ObjectBuilder::new())).build()
}

fn no_content(what: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(what).build()
}

fn schemas(api: &mut Api) {
    use utoipa::PartialSchema;
    api.schemas.extend([
        ("LoginInput".to_string(), LoginInput::schema()),
        ("NewUserInput".to_string(), NewUserInput::schema()),
        ("UserPatch".to_string(), UserPatch::schema()),
        ("PasswordChange".to_string(), PasswordChange::schema()),
        ("PasswordReset".to_string(), PasswordReset::schema()),
        ("TotpConfirm".to_string(), TotpConfirm::schema()),
        ("AccountStatus".to_string(), AccountStatus::schema()),
    ]);
}

/// Login: anyone may call it (it is rate limited per client address).
pub fn public_routes(mut api: Api) -> Api {
    schemas(&mut api);
    api.route(
        HttpMethod::Post,
        "/api/v1/session",
        login,
        OperationBuilder::new()
            .operation_id(Some("login"))
            .tag("session")
            .summary(Some(
                "Log in with e-mail, password and (when enrolled) a TOTP or recovery code; sets the kith_session cookie and answers the CSRF token",
            ))
            .request_body(Some(body("LoginInput")))
            .response("200", ok("the user, the CSRF token for state-changing requests, and the session's expiry"))
            .response("401", problem_response("invalid_credentials, whatever the reason"))
            .response("422", problem_response("a field is missing or of the wrong type"))
            .response("429", problem_response("too many attempts from this address; see Retry-After"))
            .build(),
    )
}

/// The session's own routes and account management.
pub fn routes(api: Api) -> Api {
    let csrf = "; with the session cookie, X-CSRF-Token is required";
    api.route(
        HttpMethod::Get,
        "/api/v1/session",
        whoami,
        operation("get_session", "session", "The logged-in user, the CSRF token and the session's expiry")
            .response("200", ok("the session"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/session",
        logout,
        operation("logout", "session", &format!("Log out: the session ends and the cookie is removed{csrf}"))
            .response("204", no_content("logged out"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/session/totp",
        begin_totp,
        operation(
            "begin_totp",
            "session",
            &format!("Start enrolling a TOTP second factor: a new secret and its otpauth:// URI{csrf}"),
        )
        .response("200", ok("the secret (base32) and URI"))
        .response("409", problem_response("a second factor is enrolled already"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/session/totp/confirm",
        confirm_totp,
        operation(
            "confirm_totp",
            "session",
            &format!("Confirm the enrolment with a current code; answers ten recovery codes, shown once{csrf}"),
        )
        .request_body(Some(body("TotpConfirm")))
        .response("200", ok("enrolled, with the recovery codes"))
        .response("409", problem_response("no enrolment in progress"))
        .response("422", problem_response("totp_invalid: not the current code"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/session/password",
        change_own_password,
        operation("change_password", "session", &format!("Change one's own password; other sessions end{csrf}"))
            .request_body(Some(body("PasswordChange")))
            .response("204", no_content("changed"))
            .response("422", problem_response("weak_password: the policy names the rule broken"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/users",
        list_users,
        operation("list_users", "users", "Staff accounts (admin)").response("200", ok("the accounts")).build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/users",
        add_user,
        operation("add_user", "users", "Create a staff account (admin)")
            .request_body(Some(body("NewUserInput")))
            .response("201", ok("the account"))
            .response("409", problem_response("an account with this address exists"))
            .response("422", problem_response("an invalid field, or weak_password"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/users/{id}",
        get_user,
        operation("get_user", "users", "One staff account (admin)")
            .parameter(crate::http::api::id_parameter())
            .response("200", ok("the account"))
            .response("404", problem_response("no such account"))
            .build(),
    )
    .route(
        HttpMethod::Patch,
        "/api/v1/users/{id}",
        update_user,
        operation(
            "update_user",
            "users",
            "Change an account's display name, roles, teams or status (admin); disabling ends its sessions",
        )
        .parameter(crate::http::api::id_parameter())
        .request_body(Some(body("UserPatch")))
        .response("200", ok("the account"))
        .response("404", problem_response("no such account"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/users/{id}/password",
        reset_password,
        operation(
            "reset_password",
            "users",
            "Set an account's password (admin); its sessions end and a lockout is lifted",
        )
        .parameter(crate::http::api::id_parameter())
        .request_body(Some(body("PasswordReset")))
        .response("204", no_content("set"))
        .response("404", problem_response("no such account"))
        .response("422", problem_response("weak_password"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/users/{id}/sessions/revoke",
        revoke_sessions,
        operation("revoke_sessions", "users", "End every session of an account (admin)")
            .parameter(crate::http::api::id_parameter())
            .response("200", ok("how many sessions ended"))
            .response("404", problem_response("no such account"))
            .build(),
    )
}
