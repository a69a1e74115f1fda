//! Page handlers: extract, call a service, fill a template. Like the API's
//! routes they never touch the store, seal or audit themselves.

pub mod contacts;
pub mod login;

use super::session::PageSession;
use super::Lang;
use crate::auth::caller::Caller;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// What every staff page shows around its content.
pub struct Chrome {
    pub lang: Lang,
    pub user: String,
    pub purpose: String,
    pub csrf: String,
}

impl Chrome {
    pub fn new(lang: Lang, who: &Caller, session: &PageSession) -> Self {
        Self {
            lang,
            user: who.principal.name.clone(),
            purpose: who.purpose.clone().unwrap_or_else(|| who.principal.default_purpose()),
            csrf: session.csrf.clone(),
        }
    }
}

/// A template rendered with its status; a failure to render is a 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => crate::error::ApiError::internal("template", e).into_response(),
    }
}

/// A page telling what went wrong, in the reader's language.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub message: String,
    pub detail: String,
}

/// The page for a refusal or a failure of a staff page, with the API's
/// status. The detail of a refusal names a rule, never a value, so it is
/// shown (in English) under the reader's own words for it.
pub fn error(chrome: Chrome, error: crate::error::ApiError) -> Response {
    use kith_core::ErrorCode;
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        return error.into_response();
    }
    let key = match error.code {
        ErrorCode::NotFound => "not-found",
        ErrorCode::NoConsent | ErrorCode::ProcessingRestricted | ErrorCode::ObjectedPurpose => "not-for-purpose",
        _ => "forbidden",
    };
    let message = chrome.lang.t(key);
    render(status, &ErrorPage { chrome, message, detail: error.detail })
}
