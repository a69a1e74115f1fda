//! Retention for the DPO: each purpose's period, the categories' own, and
//! what they would erase and delete now, in counts. Each view is an audit
//! event (the service records it).

use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::retention::{self, RetentionOverview};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;

#[derive(Template)]
#[template(path = "retention.html")]
pub struct RetentionPage {
    pub chrome: Chrome,
    pub overview: RetentionOverview,
    /// Category, its words, its period in days (if it has one) and what is due.
    pub categories: Vec<(&'static str, String, Option<u32>, u64)>,
    /// Each purpose's basis in the reader's words.
    pub bases: Vec<String>,
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/retention").await;
    let overview = match retention::overview(&state, &who).await {
        Ok(overview) => overview,
        Err(e) => return error(chrome, e),
    };
    let due = |name: &str| overview.plan.records_due.get(name).copied().unwrap_or(0);
    let categories = [
        ("interactions", overview.interactions_days),
        ("purchases", overview.purchases_days),
        ("deals", overview.deals_days),
    ]
    .into_iter()
    .map(|(name, days)| (name, chrome.lang.t(&format!("retention-category-{name}")), days, due(name)))
    .collect();
    let bases = overview
        .purposes
        .iter()
        .map(|p| chrome.lang.try_t(&format!("basis-{}", p.lawful_basis)).unwrap_or_else(|| p.lawful_basis.clone()))
        .collect();
    render(StatusCode::OK, &RetentionPage { overview, categories, bases, chrome })
}
