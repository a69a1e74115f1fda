//! The security self-check for admin and the DPO: the findings of
//! `kith doctor` for this installation, most severe first. Each view runs
//! the checks again and is an audit event (the service records it).

use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::doctor::Report;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::doctor;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;

/// One finding as a row: severity (its name and its words), the check's
/// title, what was found and the fix.
pub struct Row {
    pub severity: &'static str,
    pub severity_words: String,
    pub check: &'static str,
    pub title: String,
    pub problem: String,
    pub fix: String,
}

#[derive(Template)]
#[template(path = "doctor.html")]
pub struct DoctorPage {
    pub chrome: Chrome,
    pub rows: Vec<Row>,
    pub high: usize,
    /// "1 high, 2 medium, 3 low" in the reader's words.
    pub counts: String,
}

fn rows(lang: &Lang, report: Report) -> Vec<Row> {
    report
        .findings
        .into_iter()
        .map(|f| Row {
            severity: f.severity.as_str(),
            severity_words: lang.t(&format!("doctor-severity-{}", f.severity.as_str())),
            check: f.check,
            title: lang.try_t(&format!("doctor-check-{}", f.check)).unwrap_or_else(|| f.check.to_string()),
            problem: f.problem,
            fix: f.fix,
        })
        .collect()
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/doctor").await;
    let report = match doctor::report(&state, &who).await {
        Ok(report) => report,
        Err(e) => return error(chrome, e),
    };
    let counts = chrome.lang.tn(
        "doctor-counts",
        &[("high", report.high as i64), ("medium", report.medium as i64), ("low", report.low as i64)],
    );
    let page = DoctorPage { high: report.high, counts, rows: rows(&chrome.lang, report), chrome };
    render(StatusCode::OK, &page)
}
