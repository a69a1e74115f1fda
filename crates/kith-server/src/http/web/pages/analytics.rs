//! The analytics page: the four reports of the API for the purpose
//! chosen in the header, each shown where the reader's role reads the
//! records it counts, small cells as `<5`.

use super::{render, Chrome};
use crate::auth::caller::Caller;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::analytics::{self, CohortReport, FunnelReport, OwnerReport, RevenueReport, Window};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use kith_core::analytics::Figure;

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    chrome: Chrome,
    revenue: Option<RevenueReport>,
    funnel: Option<FunnelReport>,
    cohorts: Option<CohortReport>,
    owners: Option<OwnerReport>,
    /// Why a report is missing (a refusal other than the role's).
    problems: Vec<String>,
}

/// A figure as the page prints it.
pub fn shown(figure: &Figure) -> String {
    match figure {
        Figure::Count(n) => n.to_string(),
        Figure::Text(t) => t.clone(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/analytics").await;
    let window = Window::default();
    let mut problems = Vec::new();
    let lang = &chrome.lang;
    let revenue = kept(analytics::revenue(&state, &who, window).await, lang, &mut problems);
    let funnel = kept(analytics::funnel(&state, &who, window).await, lang, &mut problems);
    let cohorts = kept(analytics::cohorts(&state, &who, window).await, lang, &mut problems);
    let owners = kept(analytics::interactions(&state, &who, window).await, lang, &mut problems);
    problems.dedup();
    render(StatusCode::OK, &AnalyticsPage { chrome, revenue, funnel, cohorts, owners, problems })
}

/// A report, or nothing: a report of records the role may not read is
/// simply not shown; another refusal is said.
fn kept<T>(result: crate::error::ApiResult<T>, lang: &Lang, problems: &mut Vec<String>) -> Option<T> {
    match result {
        Ok(report) => Some(report),
        Err(e) if e.code == kith_core::ErrorCode::Forbidden => None,
        Err(e) => {
            problems.push(super::problem(lang, &e));
            None
        }
    }
}
