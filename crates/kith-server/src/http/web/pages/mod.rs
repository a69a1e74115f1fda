//! Page handlers: extract, call a service, fill a template. Like the API's
//! routes they never touch the store, seal or audit themselves.

pub mod account;
pub mod activity;
pub mod admin;
pub mod admin_changes;
pub mod analytics;
pub mod audit;
pub mod breaches;
pub mod capture;
pub mod companies;
pub mod consent;
pub mod contacts;
pub mod deals;
pub mod doctor;
pub mod duplicates;
pub mod editing;
pub mod imports;
pub mod login;
mod panels;
pub mod portal;
pub mod portal_me;
mod posted;
pub mod purchases;
pub mod purpose;
pub mod recipients;
pub mod requests;
pub mod retention;
pub mod ropa;
pub mod segments;

use super::session::PageSession;
use super::Lang;
use crate::auth::caller::Caller;
use crate::service::{purposes, Services};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// What every staff page shows around its content.
pub struct Chrome {
    pub lang: Lang,
    pub user: String,
    /// The purpose the page's data is processed for, and the others the
    /// reader may choose (key, name).
    pub purpose: String,
    pub purposes: Vec<(String, String)>,
    pub csrf: String,
    /// Where the purpose selector returns to.
    pub back: String,
    pub may_see_requests: bool,
    pub may_see_companies: bool,
    pub may_see_deals: bool,
    pub may_see_tasks: bool,
    pub may_see_audit: bool,
    pub may_see_consent: bool,
    pub may_see_admin: bool,
    pub may_see_segments: bool,
    pub may_see_doctor: bool,
    pub may_see_retention: bool,
    pub may_see_recipients: bool,
    pub may_see_breaches: bool,
    pub may_see_analytics: bool,
}

impl Chrome {
    pub async fn load(svc: &Services, lang: Lang, who: &Caller, session: &PageSession, back: &str) -> Self {
        // A catalogue that cannot be read leaves only the current purpose to show.
        let usable = purposes::usable(svc, who).await.unwrap_or_default();
        let may_read = |kind| svc.authorizer.authorize(&who.principal, crate::auth::Action::Read, kind).is_ok();
        Self {
            lang,
            user: session.name.clone().unwrap_or_else(|| who.principal.name.clone()),
            purpose: who.purpose.clone().unwrap_or_else(|| who.principal.default_purpose()),
            purposes: usable.into_iter().map(|p| (p.key, p.name)).collect(),
            csrf: session.csrf.clone(),
            back: back.to_string(),
            may_see_requests: svc.authorizer.authorize_requests(&who.principal, false).is_ok(),
            may_see_companies: may_read(kith_core::EntityKind::Companies),
            may_see_deals: may_read(kith_core::EntityKind::Deals),
            may_see_tasks: may_read(kith_core::EntityKind::Interactions),
            may_see_segments: may_read(kith_core::EntityKind::Contacts),
            may_see_audit: svc.authorizer.authorize_audit(&who.principal).is_ok(),
            may_see_consent: svc.authorizer.authorize_purposes(&who.principal, false).is_ok(),
            may_see_doctor: svc.authorizer.authorize_doctor(&who.principal).is_ok(),
            may_see_retention: svc.authorizer.authorize_erasure(&who.principal).is_ok(),
            may_see_recipients: svc.authorizer.authorize_accountability(&who.principal, false).is_ok(),
            may_see_breaches: svc.authorizer.authorize_breaches(&who.principal).is_ok(),
            may_see_analytics: may_read(kith_core::EntityKind::Purchases) || may_read(kith_core::EntityKind::Deals),
            may_see_admin: svc.authorizer.authorize_accounts(&who.principal).is_ok()
                || svc.authorizer.authorize_roles(&who.principal, false).is_ok()
                || svc.authorizer.authorize_api_keys(&who.principal, false).is_ok(),
        }
    }

    /// Whether the current purpose is among those offered (a default the
    /// catalogue no longer lists is still shown as chosen).
    pub fn offers_current(&self) -> bool {
        self.purposes.iter().any(|(key, _)| *key == self.purpose)
    }
}

/// Who is responsible, as notices and the portal show it (Art. 13(1)(a)–(b)):
/// (label, value) lines; none until the controller's details are set.
pub fn controller_lines(
    details: Option<&kith_core::controller::ControllerDetails>,
    lang: &super::Lang,
) -> Vec<(String, String)> {
    let lines = details.map(|d| d.lines()).unwrap_or_default();
    lines.into_iter().map(|(name, line)| (lang.t(&format!("controller-{name}")), line)).collect()
}

/// [`controller_lines`] of the published details; none if they cannot be read.
pub async fn published_controller(svc: &Services, lang: &super::Lang) -> Vec<(String, String)> {
    let details = crate::service::ropa::published_controller(svc).await.ok().flatten();
    controller_lines(details.as_ref(), lang)
}

/// Whether a public page's post from this client is within the public
/// rate limit (the capture bucket per client address).
pub fn public_client_allowed(state: &crate::AppState, request: &crate::auth::caller::PublicRequest) -> bool {
    let ip = request.client.as_deref().and_then(|c| c.parse().ok());
    state.limits.client.take(&crate::auth::network::client_key(ip), std::time::Instant::now()).is_ok()
}

/// A template rendered with its status; a failure to render is a 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => crate::error::ApiError::internal("template", e).into_response(),
    }
}

/// What a refusal means, in the reader's language: the message for its
/// code (`problem-invalid_email`), or the API's own words where the code
/// has none. A form shows it next to the field the refusal names.
pub fn problem(lang: &Lang, refusal: &crate::error::ApiError) -> String {
    let detail = refusal.detail.split_once(':').map_or(refusal.detail.as_str(), |(_, rest)| rest.trim());
    lang.try_t(&format!("problem-{}", refusal.code.as_str())).unwrap_or_else(|| detail.to_string())
}

/// A refusal shown above a form: the reader's words for it, then the
/// API's detail, which names the rule (never a value).
pub fn problem_with_detail(lang: &Lang, refusal: &crate::error::ApiError) -> String {
    format!("{} ({})", problem(lang, refusal), refusal.detail)
}

/// What a form's post comes to: on success a redirect to the address
/// `to` makes of the result; a server error answers as itself; a refusal
/// comes back for the page to show at its form.
pub fn after_post<T>(
    done: Result<T, crate::error::ApiError>,
    to: impl FnOnce(T) -> String,
) -> Result<Response, crate::error::ApiError> {
    match done {
        Ok(value) => Ok(axum::response::Redirect::to(&to(value)).into_response()),
        Err(e) if e.code.status() >= 500 => Ok(e.into_response()),
        Err(e) => Err(e),
    }
}

/// The HTTP status a refusal answers with.
pub fn status_of(refusal: &crate::error::ApiError) -> StatusCode {
    StatusCode::from_u16(refusal.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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
    let status = status_of(&error);
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
