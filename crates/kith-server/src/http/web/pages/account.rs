//! The reader's own account: changing the password, and enrolling an
//! authenticator as a second factor (the QR code drawn on the server as
//! SVG, the recovery codes shown once).

use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::login;
use crate::AppState;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use kith_core::account::{PasswordChange, TotpConfirm};
use kith_core::ErrorCode;
use serde::Deserialize;

/// An enrolment waiting for its first code.
pub struct Enrolment {
    pub secret: String,
    /// The otpauth URI as an SVG QR code, in a `data:` URL.
    pub qr: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub chrome: Chrome,
    pub enrolled: bool,
    pub enrolment: Option<Enrolment>,
    pub recovery_codes: Vec<String>,
    /// A message about the last step (done, or refused).
    pub notice: Option<String>,
    pub problem: Option<String>,
    /// The languages offered (tag, own name), and the one in use.
    pub languages: Vec<(&'static str, &'static str)>,
    pub language: String,
}

async fn page(state: &AppState, lang: Lang, who: &Caller, session: &PageSession) -> Result<AccountPage, Response> {
    let chrome = Chrome::load(state, lang, who, session, "/account").await;
    match login::second_factor_enrolled(state, who).await {
        Ok(enrolled) => Ok(AccountPage {
            language: chrome.lang.tag(),
            chrome,
            enrolled,
            enrolment: None,
            recovery_codes: Vec::new(),
            notice: None,
            problem: None,
            languages: Lang::choices(),
        }),
        Err(e) => Err(error(chrome, e)),
    }
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    match page(&state, lang, &who, &session).await {
        Ok(account) => render(StatusCode::OK, &account),
        Err(refused) => refused,
    }
}

/// The QR code of an otpauth URI, as a `data:` URL of an SVG image.
fn qr_code(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).build();
    Some(format!("data:image/svg+xml;base64,{}", B64.encode(svg)))
}

pub async fn begin_totp(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let mut account = match page(&state, lang, &who, &session).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    match login::begin_totp(&state, &who).await {
        Ok(enrolment) => {
            let qr = qr_code(&enrolment.otpauth_uri).unwrap_or_default();
            account.enrolment = Some(Enrolment { secret: enrolment.secret, qr });
            render(StatusCode::OK, &account)
        }
        Err(e) => error(account.chrome, e),
    }
}

#[derive(Deserialize)]
pub struct Code {
    code: String,
}

pub async fn confirm_totp(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Form(form): Form<Code>,
) -> Response {
    let mut account = match page(&state, lang, &who, &session).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    match login::confirm_totp(&state, &who, &TotpConfirm { code: form.code.trim().to_string() }).await {
        Ok(codes) => {
            account.enrolled = true;
            account.recovery_codes = codes;
            account.notice = Some(account.chrome.lang.t("totp-enrolled"));
            render(StatusCode::OK, &account)
        }
        Err(e) => {
            account.problem = Some(account.chrome.lang.t("totp-wrong-code"));
            let status = super::status_of(&e);
            render(status, &account)
        }
    }
}

#[derive(Deserialize)]
pub struct NewPassword {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Form(form): Form<NewPassword>,
) -> Response {
    let mut account = match page(&state, lang, &who, &session).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let input = PasswordChange { current_password: form.current_password, new_password: form.new_password };
    match login::change_own_password(&state, &who, &input).await {
        Ok(()) => {
            account.notice = Some(account.chrome.lang.t("password-changed"));
            render(StatusCode::OK, &account)
        }
        Err(e) if e.code.status() >= 500 => error(account.chrome, e),
        Err(e) => {
            let status = super::status_of(&e);
            account.problem = Some(e.detail);
            render(status, &account)
        }
    }
}

#[derive(Deserialize)]
pub struct Language {
    language: String,
}

/// The account's interface language: kept with the account (so it follows
/// the person to another browser at sign-in) and in this browser's cookie.
/// An empty choice goes back to the browser's language.
pub async fn choose_language(
    State(state): State<AppState>,
    who: Caller,
    Extension(session): Extension<PageSession>,
    headers: axum::http::HeaderMap,
    Form(form): Form<Language>,
) -> Response {
    let tag = Some(form.language.trim()).filter(|t| !t.is_empty());
    let chosen = match tag {
        Some(tag) => match Lang::offered(tag) {
            Some(lang) => Some((tag, lang)),
            None => {
                let lang = Lang::from_headers(&headers);
                let refused = ApiError::new(ErrorCode::InvalidValue, "language: one the interface offers");
                return error(Chrome::load(&state, lang, &who, &session, "/account").await, refused);
            }
        },
        None => None,
    };
    if let Err(e) = login::set_own_language(&state, &who, tag).await {
        let lang = chosen.map(|(_, lang)| lang).unwrap_or_else(|| Lang::from_headers(&headers));
        return error(Chrome::load(&state, lang, &who, &session, "/account").await, e);
    }
    let cookie = Lang::cookie(tag, state.config.tls);
    ([(axum::http::header::SET_COOKIE, cookie)], Redirect::to("/account")).into_response()
}
