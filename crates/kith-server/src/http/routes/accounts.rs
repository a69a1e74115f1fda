//! The account routes: login, the session and its second factor, one's own
//! password (`/api/v1/session...`), and staff account management for
//! admins (`/api/v1/users...`). Handlers extract, call `service::login` or
//! `service::users`, and render; the session cookie is set and cleared here.

use crate::auth::caller::Caller;
use crate::auth::caller::PublicRequest;
use crate::auth::network::client_key;
use crate::auth::sessions::{self, clear_cookie, csrf_for, idle_expires_at, set_cookie};
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{json_body, json_content, operation, problem_response, Api};
use crate::http::extract::{path_id_once, ApiJson};
use crate::http::guard::{Guard, ManageAccounts};
use crate::http::ratelimit::limited;
use crate::service::accounts::{shown_status, Profile};
use crate::service::{login, users};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kith_core::account::{
    AccountStatus, LoginInput, NewUserInput, PasswordChange, PasswordReset, TotpConfirm, UserPatch,
};
use kith_crypto::totp;
use kith_store::{SessionRow, UserRow};
use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::ResponseBuilder;

fn session_body(state: &AppState, user: &UserRow, profile: &Profile, row: &SessionRow, secret: &str) -> Value {
    let now = crate::now_millis();
    json!({
        "user": render_user(user, profile, now),
        "csrf_token": csrf_for(secret),
        "expires_at": rfc3339_millis(row.expires_at),
        "idle_expires_at": rfc3339_millis(idle_expires_at(row, &state.config.accounts)),
    })
}

/// An account as the API shows it (never the hash or TOTP material).
pub fn render_user(user: &UserRow, profile: &Profile, now: i64) -> Value {
    json!({
        "id": user.id,
        "email": profile.email,
        "display_name": profile.display_name,
        "roles": user.roles,
        "teams": user.teams,
        "status": shown_status(user, now),
        "locked_until": user.locked_until.filter(|until| *until > now).map(rfc3339_millis),
        "totp_enrolled": user.totp.is_some(),
        "created_at": rfc3339_millis(user.created_at),
        "updated_at": rfc3339_millis(user.updated_at),
        "password_changed_at": rfc3339_millis(user.password_changed_at),
    })
}

/// The account id in the path, read once the caller may manage accounts.
fn user_id(state: &AppState, who: &Caller, raw: &str) -> ApiResult<uuid::Uuid> {
    path_id_once(state.authorizer.authorize_accounts(&who.principal), raw)
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
    let done = login::login(&state, request.request_id, request.client, &input).await?;
    let body = session_body(&state, &done.user, &done.profile, &done.session, &done.secret);
    let cookie = set_cookie(&done.secret, state.config.accounts.session_absolute_seconds, state.config.tls);
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

async fn whoami(State(state): State<AppState>, who: Caller, headers: HeaderMap) -> ApiResult<Json<Value>> {
    login::session_of(&who)?;
    let secret = sessions::cookie_secret(&headers).ok_or_else(|| ApiError::not_found("session"))?;
    let (user, profile, session) = login::whoami(&state, &who, &secret).await?;
    Ok(Json(session_body(&state, &user, &profile, &session, &secret)))
}

async fn logout(State(state): State<AppState>, who: Caller) -> ApiResult<Response> {
    login::logout(&state, &who).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear_cookie(state.config.tls))]).into_response())
}

async fn begin_totp(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let enrolment = login::begin_totp(&state, &who).await?;
    Ok(Json(json!({
        "secret": enrolment.secret,
        "otpauth_uri": enrolment.otpauth_uri,
        "digits": totp::DIGITS,
        "period": totp::STEP_SECONDS,
    })))
}

async fn confirm_totp(
    State(state): State<AppState>,
    who: Caller,
    ApiJson(input): ApiJson<TotpConfirm>,
) -> ApiResult<Json<Value>> {
    let codes = login::confirm_totp(&state, &who, &input).await?;
    Ok(Json(json!({ "totp_enrolled": true, "recovery_codes": codes })))
}

async fn change_own_password(
    State(state): State<AppState>,
    who: Caller,
    ApiJson(input): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    login::change_own_password(&state, &who, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn user_json((user, profile): &(UserRow, Profile)) -> Value {
    render_user(user, profile, crate::now_millis())
}

async fn list_users(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = users::list(&state, &who).await?.iter().map(user_json).collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn add_user(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageAccounts>,
    ApiJson(input): ApiJson<NewUserInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(user_json(&users::add(&state, &who, input).await?))))
}

async fn get_user(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(user_json(&users::get(&state, &who, user_id(&state, &who, &id)?).await?)))
}

async fn update_user(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageAccounts>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<Value>> {
    Ok(Json(user_json(&users::update(&state, &who, user_id(&state, &who, &id)?, patch).await?)))
}

async fn reset_password(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageAccounts>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PasswordReset>,
) -> ApiResult<StatusCode> {
    users::reset_password(&state, &who, user_id(&state, &who, &id)?, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_sessions(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let ended = users::revoke_sessions(&state, &who, user_id(&state, &who, &id)?).await?;
    Ok(Json(json!({ "revoked": ended })))
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
            .request_body(Some(json_body("LoginInput", true)))
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
        .request_body(Some(json_body("TotpConfirm", true)))
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
            .request_body(Some(json_body("PasswordChange", true)))
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
            .request_body(Some(json_body("NewUserInput", true)))
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
        .request_body(Some(json_body("UserPatch", true)))
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
        .request_body(Some(json_body("PasswordReset", true)))
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
