//! Signing in and out through the session machinery the API uses.

use super::render;
use crate::auth::caller::{Caller, PublicRequest};
use crate::auth::network::client_key;
use crate::auth::sessions::{clear_cookie, set_cookie};
use crate::http::web::presession;
use crate::http::web::session::name_cookie;
use crate::http::web::Lang;
use crate::service::login;
use crate::AppState;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kith_core::account::LoginInput;
use kith_core::ErrorCode;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub lang: Lang,
    /// The pre-session token the form carries (`presession.rs`).
    pub form_token: String,
    pub email: String,
    pub error: Option<String>,
}

pub async fn form(State(state): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    let page = LoginPage { lang, form_token: guard.token.clone(), email: String::new(), error: None };
    presession::with_cookie(guard.set_cookie, render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    form: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    request: PublicRequest,
    Form(form): Form<SignIn>,
) -> Response {
    // The browser's own token (a new one with its cookie if it had none),
    // so a refused form can be sent again.
    let guard = presession::issue(&headers, state.config.tls);
    let form_token = guard.token.clone();
    let page = |lang: Lang, email: String, key: &str| LoginPage {
        error: Some(lang.t(key)),
        lang,
        form_token: form_token.clone(),
        email,
    };
    // Another site's post would sign the browser in to an account of its choosing.
    if !presession::holds(&headers, state.config.tls, &form.form) {
        let refused = render(StatusCode::FORBIDDEN, &page(lang, form.email, "form-expired"));
        return presession::with_cookie(guard.set_cookie, refused);
    }
    let ip = request.client.as_deref().and_then(|c| c.parse().ok());
    if state.login_limit.take(&client_key(ip), std::time::Instant::now()).is_err() {
        return render(StatusCode::TOO_MANY_REQUESTS, &page(lang, form.email, "sign-in-limited"));
    }
    // Six digits are an authenticator's code; anything else a recovery code.
    let code = form.code.trim();
    let (totp, recovery_code) = match code {
        "" => (None, None),
        c if c.len() == 6 && c.chars().all(|d| d.is_ascii_digit()) => (Some(c.to_string()), None),
        c => (None, Some(c.to_string())),
    };
    let input = LoginInput { email: form.email.clone(), password: form.password, totp, recovery_code };
    match login::login(&state, request.request_id, request.client, &input).await {
        Ok(done) => {
            let cookie = set_cookie(&done.secret, state.config.accounts.session_absolute_seconds, state.config.tls);
            // The account's own language, else the browser's.
            let language = Lang::cookie(done.profile.language.as_deref(), state.config.tls);
            let name = done.profile.display_name.as_deref().unwrap_or(&done.profile.email);
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response.headers_mut().append(header::SET_COOKIE, language);
            response.headers_mut().append(header::SET_COOKIE, name_cookie(Some(name), state.config.tls));
            response
        }
        Err(e) if e.code == ErrorCode::Internal || e.code == ErrorCode::Unavailable => e.into_response(),
        Err(_) => render(StatusCode::UNAUTHORIZED, &page(lang, form.email, "sign-in-failed")),
    }
}

pub async fn sign_out(State(state): State<AppState>, who: Caller) -> Response {
    if let Err(e) = login::logout(&state, &who).await {
        return e.into_response();
    }
    // The next person at this browser gets their own language, not this account's.
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, clear_cookie(state.config.tls));
    response.headers_mut().append(header::SET_COOKIE, Lang::cookie(None, state.config.tls));
    response.headers_mut().append(header::SET_COOKIE, name_cookie(None, state.config.tls));
    response
}
