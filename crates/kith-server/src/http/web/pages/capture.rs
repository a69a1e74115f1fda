//! A capture form's own page, public: the address, the purposes to tick,
//! the notice; then the confirmation page the message links to. The
//! website links here (its own pages cannot post to another origin), and
//! the same double opt-in as the API's applies.

use super::render;
use crate::auth::caller::PublicRequest;
use crate::http::web::presession;
use crate::http::web::Lang;
use crate::service::capture;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kith_core::capture::SubmissionInput;
use kith_core::ErrorCode;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "capture_form.html")]
pub struct FormPage {
    pub lang: Lang,
    pub form_token: String,
    pub key: String,
    pub name: String,
    pub purposes: Vec<(String, String)>,
    pub notice: String,
    pub email: String,
    pub error: Option<String>,
    pub sent: bool,
    /// The controller and its DPO (Art. 13(1)(a)–(b)).
    pub controller: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "capture_confirm.html")]
pub struct ConfirmPage {
    pub lang: Lang,
    pub form_token: String,
    pub token: String,
    pub message: Option<String>,
    pub confirmed: bool,
}

async fn form_page(state: &AppState, lang: Lang, key: &str, token: String) -> Result<FormPage, Response> {
    match capture::hosted(state, key).await {
        Ok(hosted) => Ok(FormPage {
            controller: super::published_controller(state, &lang).await,
            lang,
            form_token: token,
            key: hosted.form.key,
            name: hosted.form.name,
            purposes: hosted.purposes,
            notice: hosted.notice,
            email: String::new(),
            error: None,
            sent: false,
        }),
        Err(e) => Err(e.into_response()),
    }
}

pub async fn show(State(state): State<AppState>, lang: Lang, headers: HeaderMap, Path(key): Path<String>) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    match form_page(&state, lang, &key, guard.token.clone()).await {
        Ok(page) => presession::with_cookie(guard.set_cookie, render(StatusCode::OK, &page)),
        Err(refused) => refused,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    request: PublicRequest,
    Path(key): Path<String>,
    RawForm(raw): RawForm,
) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    let mut page = match form_page(&state, lang, &key, guard.token.clone()).await {
        Ok(page) => page,
        Err(refused) => return refused,
    };
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(&raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let field =
        |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    page.email = field("email");
    if !presession::holds(&headers, state.config.tls, &field("form")) {
        page.error = Some(page.lang.t("form-expired"));
        return presession::with_cookie(guard.set_cookie, render(StatusCode::FORBIDDEN, &page));
    }
    if !super::public_client_allowed(&state, &request) {
        page.error = Some(page.lang.t("privacy-limited"));
        return render(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let chosen: Vec<String> = pairs.iter().filter(|(k, _)| k == "purposes").map(|(_, v)| v.clone()).collect();
    let input =
        SubmissionInput { email: page.email.clone(), given_name: None, family_name: None, purposes: Some(chosen) };
    match capture::submit(&state, &key, request, input).await {
        Ok(()) => {
            page.sent = true;
            render(StatusCode::OK, &page)
        }
        Err(e) if e.code.status() >= 500 => e.into_response(),
        Err(e) => {
            let status = super::status_of(&e);
            page.error = Some(super::problem(&page.lang, &e));
            render(status, &page)
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: Option<String>,
}

/// The confirmation link lands here; a press of the button confirms, so a
/// mail scanner following links confirms nothing.
pub async fn confirm_form(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    let page = ConfirmPage {
        lang,
        form_token: guard.token.clone(),
        token: query.token.unwrap_or_default(),
        message: None,
        confirmed: false,
    };
    presession::with_cookie(guard.set_cookie, render(StatusCode::OK, &page))
}

pub async fn confirm(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    request: PublicRequest,
    RawForm(raw): RawForm,
) -> Response {
    let guard = presession::issue(&headers, state.config.tls);
    let field = |name: &str| {
        form_urlencoded::parse(&raw).find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    };
    let mut page =
        ConfirmPage { lang, form_token: guard.token.clone(), token: String::new(), message: None, confirmed: false };
    if !presession::holds(&headers, state.config.tls, &field("form")) {
        page.message = Some(page.lang.t("form-expired"));
        return presession::with_cookie(guard.set_cookie, render(StatusCode::FORBIDDEN, &page));
    }
    if !super::public_client_allowed(&state, &request) {
        page.message = Some(page.lang.t("privacy-limited"));
        return render(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    match capture::confirm(&state, &field("token"), request).await {
        Ok(()) => {
            page.confirmed = true;
            render(StatusCode::OK, &page)
        }
        Err(e) if e.code == ErrorCode::ConfirmationExpired => {
            page.message = Some(page.lang.t("capture-expired"));
            render(StatusCode::GONE, &page)
        }
        Err(e) => e.into_response(),
    }
}
