//! The privacy portal's public pages: ask for a link with an e-mail
//! address, open the link, sign out. The answer to an address never says
//! whether it is known.

use super::render;
use crate::auth::caller::PublicRequest;
use crate::http::web::portal_session::{clear_cookie, set_cookie, PortalPage};
use crate::http::web::presession;
use crate::http::web::Lang;
use crate::service::portal;
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::values::email_lookup_key;
use kith_core::ErrorCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Template)]
#[template(path = "portal_ask.html")]
pub struct AskPage {
    pub lang: Lang,
    pub form_token: String,
    pub email: String,
    /// A message about the address, shown at its field.
    pub error: Option<String>,
    /// A message for the page: the link was sent, the session ended.
    pub notice: Option<String>,
    /// The controller and its DPO (Art. 13(1)(a)–(b)).
    pub controller: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "portal_open.html")]
pub struct OpenPage {
    pub lang: Lang,
    pub form_token: String,
    pub token: String,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct AskQuery {
    #[serde(default)]
    ended: Option<String>,
}

pub async fn ask_form(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    query: Query<AskQuery>,
) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    let notice = query.ended.as_ref().map(|_| lang.t("privacy-session-ended"));
    let controller = super::published_controller(&state, &lang).await;
    let page = AskPage { lang, form_token: guard.token.clone(), email: String::new(), error: None, notice, controller };
    presession::with_cookie(guard.set_cookie, render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct Ask {
    email: String,
    #[serde(default)]
    form: String,
}

/// Too many requests from this client, or for this address.
fn limited(state: &AppState, request: &PublicRequest, email: &str) -> bool {
    if !super::public_client_allowed(state, request) {
        return true;
    }
    // The limiter keeps a digest, not the address.
    let address = format!("{:x}", Sha256::digest(email_lookup_key(email.trim()).as_bytes()));
    state.portal_limit.take(&address, std::time::Instant::now()).is_err()
}

pub async fn ask(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    request: PublicRequest,
    Form(form): Form<Ask>,
) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    let form_token = guard.token.clone();
    let controller = super::published_controller(&state, &lang).await;
    let page = |lang: Lang, error: Option<String>, notice: Option<String>| AskPage {
        lang,
        form_token: form_token.clone(),
        email: form.email.clone(),
        error,
        notice,
        controller: controller.clone(),
    };
    if !presession::holds(&headers, state.config.tls, &form.form) {
        let notice = Some(lang.t("form-expired"));
        return presession::with_cookie(guard.set_cookie, render(StatusCode::FORBIDDEN, &page(lang, None, notice)));
    }
    if limited(&state, &request, &form.email) {
        let notice = Some(lang.t("privacy-limited"));
        return render(StatusCode::TOO_MANY_REQUESTS, &page(lang, None, notice));
    }
    match portal::request_link(&state, &form.email, &request).await {
        Ok(()) => {
            let sent = AskPage { email: String::new(), ..page(lang.clone(), None, Some(lang.t("privacy-link-sent"))) };
            render(StatusCode::OK, &sent)
        }
        Err(e) if e.code == ErrorCode::InvalidEmail || e.detail.starts_with("email:") => {
            let error = Some(lang.t("privacy-email-invalid"));
            render(StatusCode::UNPROCESSABLE_ENTITY, &page(lang, error, None))
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct OpenQuery {
    #[serde(default)]
    token: Option<String>,
}

/// The link lands here; opening needs a press of the button, so a mail
/// scanner that follows links does not use the link up.
pub async fn open_form(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    query: Query<OpenQuery>,
) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    let token = query.0.token.unwrap_or_default();
    let page = OpenPage { lang, form_token: guard.token.clone(), token, error: None };
    presession::with_cookie(guard.set_cookie, render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct Open {
    token: String,
    #[serde(default)]
    form: String,
}

pub async fn open(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    request: PublicRequest,
    Form(form): Form<Open>,
) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    let form_token = guard.token.clone();
    // A refused form keeps the token typed; an unknown or used one is cleared.
    let typed = form.token.clone();
    let refused = |lang: Lang, status: StatusCode, key: &str| {
        let token = if status == StatusCode::GONE { String::new() } else { typed.clone() };
        let page = OpenPage { error: Some(lang.t(key)), lang, form_token: form_token.clone(), token };
        render(status, &page)
    };
    if !presession::holds(&headers, state.config.tls, &form.form) {
        return presession::with_cookie(guard.set_cookie, refused(lang, StatusCode::FORBIDDEN, "form-expired"));
    }
    if !super::public_client_allowed(&state, &request) {
        return refused(lang, StatusCode::TOO_MANY_REQUESTS, "privacy-limited");
    }
    match portal::open(&state, &form.token, &request).await {
        Ok(opened) => {
            let cookie = set_cookie(&opened.secret, state.config.portal.session_ttl_seconds, state.config.tls);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/privacy/me")).into_response()
        }
        Err(e) if e.code == ErrorCode::LinkExpired => refused(lang, StatusCode::GONE, "privacy-link-expired"),
        Err(e) => e.into_response(),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    request: PublicRequest,
    Extension(page): Extension<PortalPage>,
) -> Response {
    let who = crate::auth::caller::Caller::subject(page.session.contact, request.request_id);
    if let Err(e) = portal::sign_out(&state, &page.secret, &who).await {
        return e.into_response();
    }
    ([(header::SET_COOKIE, clear_cookie(state.config.tls))], Redirect::to("/privacy?ended=1")).into_response()
}
