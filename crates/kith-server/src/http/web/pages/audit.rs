//! The audit log for those the authoriser lets read it: the events newest
//! first with filters, the chain's verification against the latest signed
//! checkpoint, and the alerts raised. Each read of the log is itself an
//! audit event (the service records it).

use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::audit;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use kith_core::audit::{AuditAction, AuditEvent};
use serde::Deserialize;

/// Events per page.
const PAGE: u32 = 50;
/// Alerts shown.
const ALERTS: u32 = 20;

/// One event as a row.
pub struct EventLine {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub what: String,
    pub subject: Option<String>,
    pub fields: String,
    pub outcome: String,
}

/// The chain's verification, as shown.
pub struct Checked {
    pub intact: bool,
    pub events: i64,
    pub head: String,
    pub checkpoint: Option<i64>,
    pub broken: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditLogPage {
    pub chrome: Chrome,
    pub filters: AuditFilters,
    pub actions: Vec<&'static str>,
    pub events: Vec<EventLine>,
    /// The query of the next (older) page.
    pub older: Option<String>,
    /// (id, when, rule, actor, detail)
    pub alerts: Vec<(String, String, String, String, String)>,
    /// Whether the reader may open a breach from an alert.
    pub may_open_breach: bool,
    pub checked: Option<Checked>,
}

/// The filters as typed (kept in the form).
#[derive(Deserialize, Default, Clone)]
pub struct AuditFilters {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub action: String,
    /// `YYYY-MM-DD`, from the start of the day (UTC).
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD`, to the end of the day (UTC).
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub cursor: Option<String>,
    /// Set by the verification button.
    #[serde(default)]
    pub verify: Option<String>,
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// The filters for the service; a malformed one is the service's refusal to give.
fn filters_of(f: &AuditFilters) -> Result<audit::Filters, crate::error::ApiError> {
    let day = |field: &str, raw: &str, end: bool| -> Result<Option<i64>, crate::error::ApiError> {
        let Some(day) = some(raw) else { return Ok(None) };
        let at = crate::clock::query_time(field, Some(&format!("{day}T00:00:00Z")))?;
        Ok(at.map(|start| if end { start + 86_400_000 } else { start }))
    };
    let subject = match some(&f.subject) {
        Some(raw) => Some(crate::http::extract::path_id(&raw)?),
        None => None,
    };
    Ok(audit::Filters {
        subject_id: subject,
        actor: some(&f.actor),
        action: some(&f.action),
        from: day("from", &f.from, false)?,
        to: day("to", &f.to, true)?,
        newest_first: true,
    })
}

fn line(e: &AuditEvent) -> EventLine {
    let text = |v: Result<serde_json::Value, serde_json::Error>| {
        v.ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    };
    EventLine {
        seq: e.seq,
        at: crate::clock::rfc3339_millis(e.at).chars().take(19).collect::<String>().replace('T', " "),
        actor: e.actor.clone(),
        action: text(serde_json::to_value(e.action)),
        what: [e.entity.clone().unwrap_or_default(), e.record_id.map(|r| r.to_string()).unwrap_or_default()]
            .join(" ")
            .trim()
            .to_string(),
        subject: e.subject_id.map(|s| s.to_string()),
        fields: e.fields.join(", "),
        outcome: text(serde_json::to_value(e.outcome)),
    }
}

/// The query string of the page after `cursor`, with the same filters.
fn older_query(f: &AuditFilters, cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in
        [("actor", &f.actor), ("subject", &f.subject), ("action", &f.action), ("from", &f.from), ("to", &f.to)]
    {
        if !value.trim().is_empty() {
            query.append_pair(name, value.trim());
        }
    }
    query.append_pair("cursor", cursor);
    query.finish()
}

pub async fn log(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Query(form): Query<AuditFilters>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/audit").await;
    let listed = match filters_of(&form) {
        Ok(filters) => audit::events(&state, &who, filters, Some(PAGE), form.cursor.clone()).await,
        Err(e) => Err(e),
    };
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => return error(chrome, e),
    };
    let alerts = match audit::alerts(&state, &who, Some(ALERTS), None).await {
        Ok(alerts) => alerts,
        Err(e) => return error(chrome, e),
    };
    let checked = match form.verify.is_some() {
        true => match audit::verify(&state, &who).await {
            Ok(v) => Some(Checked {
                intact: v.intact,
                events: v.events,
                head: v.head,
                checkpoint: v.checkpoint,
                broken: v.first_broken.map(|b| format!("#{}: {}", b.seq, b.reason)),
            }),
            Err(e) => return error(chrome, e),
        },
        false => None,
    };
    let page = AuditLogPage {
        events: listed.events.iter().map(line).collect(),
        older: listed.next_cursor.map(|c| older_query(&form, &c)),
        alerts: alerts
            .iter()
            .map(|a| {
                (
                    a.id.to_string(),
                    chrome.lang.date(&crate::clock::rfc3339_millis(a.at)),
                    a.rule.clone(),
                    a.actor.clone(),
                    a.detail.clone(),
                )
            })
            .collect(),
        actions: AuditAction::ALL.iter().map(|a| a.as_str()).collect(),
        may_open_breach: state.authorizer.authorize_breaches(&who.principal).is_ok(),
        checked,
        filters: form,
        chrome,
    };
    render(StatusCode::OK, &page)
}
