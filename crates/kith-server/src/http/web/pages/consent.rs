//! Consent's machinery for the DPO and admin: the purposes with their
//! lawful bases, the privacy notices and their versions, and the capture
//! forms with the link to embed. Reading is for roles that may read the
//! catalogue; the forms to add are shown to those who may write it.

use super::posted::{all, first, listed, pairs};
use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::input::from_value;
use crate::service::{capture, consents, purposes};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::capture::FormInput;
use kith_core::consent::NoticeInput;
use kith_core::purpose::Purpose;
use serde_json::{json, Value};

pub struct PurposeLine {
    pub key: String,
    pub name: String,
    pub basis: String,
    pub categories: String,
    pub retention_days: u32,
    pub roles: String,
}

pub struct NoticeLine {
    pub version: String,
    pub created: String,
    pub sha256: String,
}

pub struct FormLine {
    pub key: String,
    pub name: String,
    pub purposes: String,
    pub notice: String,
    pub disabled: bool,
    /// The hosted page's address, and the HTML to put on a website.
    pub link: String,
    pub snippet: String,
}

#[derive(Template)]
#[template(path = "consent_admin.html")]
pub struct ConsentAdminPage {
    pub chrome: Chrome,
    pub purposes: Vec<PurposeLine>,
    pub notices: Vec<NoticeLine>,
    pub forms: Vec<FormLine>,
    pub may_write: bool,
    /// Consent-based purposes a form may ask for (key, name).
    pub consent_purposes: Vec<(String, String)>,
    /// The lawful bases (key, name).
    pub bases: Vec<(&'static str, String)>,
    pub problem: Option<String>,
}

const BASES: [&str; 6] =
    ["consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"];

/// The address this server is reached at, as the staff member's browser
/// sees it (`Host`, or HTTP/2's authority): only for showing staff the
/// link to embed.
fn origin(headers: &HeaderMap, uri: &Uri, tls: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".into());
    format!("{}://{host}", if tls { "https" } else { "http" })
}

async fn page(
    state: &AppState,
    chrome: Chrome,
    who: &Caller,
    origin: &str,
    problem: Option<String>,
) -> Result<ConsentAdminPage, Response> {
    let catalogue = match purposes::list(state, who).await {
        Ok(list) => list,
        Err(e) => return Err(error(chrome, e)),
    };
    let notices = match consents::notices(state, who).await {
        Ok(list) => list,
        Err(e) => return Err(error(chrome, e)),
    };
    let forms = match capture::forms(state, who).await {
        Ok(list) => list,
        Err(e) => return Err(error(chrome, e)),
    };
    let lang = &chrome.lang;
    let name_of = |key: &str| catalogue.iter().find(|p| p.key == key).map_or(key.to_string(), |p| p.name.clone());
    let basis = |p: &Purpose| serde_json::to_value(p.lawful_basis).ok().and_then(|v| v.as_str().map(str::to_string));
    Ok(ConsentAdminPage {
        purposes: catalogue
            .iter()
            .map(|p| PurposeLine {
                key: p.key.clone(),
                name: p.name.clone(),
                basis: lang.t(&format!("basis-{}", basis(p).unwrap_or_default())),
                categories: p.data_categories.join(", "),
                retention_days: p.retention_days,
                roles: p.roles.join(", "),
            })
            .collect(),
        notices: notices
            .iter()
            .map(|n| NoticeLine {
                version: n.version.clone(),
                created: lang.date(&crate::clock::rfc3339_millis(n.created_at)),
                sha256: n.sha256.chars().take(16).collect(),
            })
            .collect(),
        forms: forms
            .iter()
            .map(|f| {
                let link = format!("{origin}/forms/{}", f.key);
                let snippet = format!("<a href=\"{link}\">{}</a>", lang.t("form-snippet-text"));
                FormLine {
                    key: f.key.clone(),
                    name: f.name.clone(),
                    purposes: f.purposes.iter().map(|k| name_of(k)).collect::<Vec<_>>().join(", "),
                    notice: f.notice_version.clone(),
                    disabled: f.disabled_at.is_some(),
                    link,
                    snippet,
                }
            })
            .collect(),
        may_write: state.authorizer.authorize_purposes(&who.principal, true).is_ok(),
        consent_purposes: catalogue
            .iter()
            .filter(|p| p.lawful_basis == kith_core::purpose::LawfulBasis::Consent)
            .map(|p| (p.key.clone(), p.name.clone()))
            .collect(),
        bases: BASES.iter().map(|b| (*b, lang.t(&format!("basis-{b}")))).collect(),
        problem,
        chrome,
    })
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    headers: HeaderMap,
    uri: Uri,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/consent").await;
    match page(&state, chrome, &who, &origin(&headers, &uri, state.config.tls), None).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(refused) => refused,
    }
}

/// Back to the page after a change, or the page again with the refusal.
async fn after(
    state: &AppState,
    lang: Lang,
    who: &Caller,
    origin: &str,
    session: &PageSession,
    done: Result<(), ApiError>,
    anchor: &str,
) -> Response {
    let refusal = match done {
        Ok(()) => return Redirect::to(&format!("/consent#{anchor}")).into_response(),
        Err(e) if e.code.status() >= 500 => return e.into_response(),
        Err(e) => e,
    };
    let status = super::status_of(&refusal);
    let problem = Some(super::problem_with_detail(&lang, &refusal));
    let chrome = Chrome::load(state, lang, who, session, "/consent").await;
    match page(state, chrome, who, origin, problem).await {
        Ok(page) => render(status, &page),
        Err(refused) => refused,
    }
}

pub async fn add_purpose(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    headers: HeaderMap,
    uri: Uri,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let form = pairs(&raw);
    let retention = first(&form, "retention_days");
    let document = json!({
        "key": first(&form, "key"),
        "name": first(&form, "name"),
        "lawful_basis": first(&form, "lawful_basis"),
        "balancing_note": Some(first(&form, "balancing_note")).filter(|n| !n.is_empty()),
        "data_categories": listed(&first(&form, "data_categories")),
        "retention_days": retention.parse::<u32>().map(Value::from).unwrap_or(Value::String(retention)),
        "roles": listed(&first(&form, "roles")),
    });
    let done = match from_value::<Purpose>(document) {
        Ok(purpose) => purposes::write(&state, &who, purpose, false).await.map(|_| ()),
        Err(e) => Err(e),
    };
    after(&state, lang, &who, &origin(&headers, &uri, state.config.tls), &session, done, "purposes-heading").await
}

pub async fn add_notice(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    headers: HeaderMap,
    uri: Uri,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let form = pairs(&raw);
    let input = NoticeInput { version: first(&form, "version"), text: first(&form, "text") };
    let done = consents::add_notice(&state, &who, input).await.map(|_| ());
    after(&state, lang, &who, &origin(&headers, &uri, state.config.tls), &session, done, "notices-heading").await
}

pub async fn add_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    headers: HeaderMap,
    uri: Uri,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let form = pairs(&raw);
    let input = FormInput {
        name: first(&form, "name"),
        purposes: all(&form, "purposes"),
        notice_version: first(&form, "notice_version"),
        source: Some(first(&form, "source")).filter(|s| !s.is_empty()),
    };
    let done = capture::add_form(&state, &who, input).await.map(|_| ());
    after(&state, lang, &who, &origin(&headers, &uri, state.config.tls), &session, done, "forms-heading").await
}

pub async fn disable_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    headers: HeaderMap,
    uri: Uri,
    Extension(session): Extension<PageSession>,
    Path(key): Path<String>,
) -> Response {
    let done = capture::disable_form(&state, &who, key).await;
    after(&state, lang, &who, &origin(&headers, &uri, state.config.tls), &session, done, "forms-heading").await
}
