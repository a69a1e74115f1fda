//! The breach register for the DPO: the list with each 72-hour clock, a
//! breach's page with the scope whose people the audit log names, the
//! drafts to the authority and to each person, the notification and the
//! phases; a candidate opened from an alert. The services are the API's.

use super::admin::snake;
use super::posted::{first, pairs, Pairs};
use super::{after_post, error, problem_with_detail, render, status_of, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::breaches::{self, Breach};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::breach::{BreachInput, BreachPatch, BreachScope, Risk};

/// A `datetime-local` value (`2026-12-01T09:30`), read as UTC, in RFC 3339.
fn utc(local: &str) -> String {
    match local.len() {
        16 => format!("{local}:00Z"),
        19 => format!("{local}Z"),
        _ => local.to_string(),
    }
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// A breach as a line of the register.
pub struct Line {
    pub id: String,
    pub title: String,
    pub status: String,
    pub risk: String,
    pub aware: String,
    pub due: String,
    /// `open`, `due_soon`, `overdue`, `notified`, `not_required`.
    pub clock: String,
    pub clock_words: String,
}

fn line_of(lang: &Lang, b: &Breach) -> Line {
    let clock = snake(&b.clock);
    Line {
        id: b.row.id.to_string(),
        title: b.record.description.title.clone(),
        status: lang.t(&format!("breach-status-{}", b.row.status)),
        risk: lang.t(&format!("breach-risk-{}", snake(&b.record.description.risk))),
        aware: crate::clock::rfc3339_millis(b.row.aware_at)[..16].replace('T', " "),
        due: crate::clock::rfc3339_millis(b.row.authority_due_at)[..16].replace('T', " "),
        clock_words: lang.t(&format!("breach-clock-{clock}")),
        clock,
    }
}

/// A new breach as the form holds it.
#[derive(Default, Clone)]
pub struct NewForm {
    pub title: String,
    pub aware_at: String,
    pub nature: String,
    pub consequences: String,
    pub measures_taken: String,
    pub measures_proposed: String,
    pub risk: String,
    pub data_unintelligible: bool,
}

impl NewForm {
    fn posted(form: &Pairs) -> Self {
        Self {
            title: first(form, "title"),
            aware_at: first(form, "aware_at"),
            nature: first(form, "nature"),
            consequences: first(form, "consequences"),
            measures_taken: first(form, "measures_taken"),
            measures_proposed: first(form, "measures_proposed"),
            risk: first(form, "risk"),
            data_unintelligible: !first(form, "data_unintelligible").is_empty(),
        }
    }

    fn input(&self) -> Result<BreachInput, ApiError> {
        crate::input::from_value(serde_json::json!({
            "title": self.title, "aware_at": utc(&self.aware_at), "nature": self.nature,
            "consequences": self.consequences, "measures_taken": self.measures_taken,
            "measures_proposed": self.measures_proposed, "risk": self.risk,
            "data_unintelligible": self.data_unintelligible, "subject_categories": ["customer"],
        }))
    }
}

#[derive(Template)]
#[template(path = "breaches.html")]
pub struct BreachesPage {
    pub chrome: Chrome,
    pub lines: Vec<Line>,
    pub form: NewForm,
    pub risks: Vec<(String, String)>,
    pub problem: Option<String>,
}

fn risks(lang: &Lang) -> Vec<(String, String)> {
    ["none", "risk", "high_risk"].iter().map(|r| (r.to_string(), lang.t(&format!("breach-risk-{r}")))).collect()
}

async fn register(
    state: &AppState,
    chrome: Chrome,
    who: &Caller,
    form: NewForm,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let list = match breaches::list(state, who).await {
        Ok(list) => list,
        Err(e) => return error(chrome, e),
    };
    let page = BreachesPage {
        lines: list.iter().map(|b| line_of(&chrome.lang, b)).collect(),
        risks: risks(&chrome.lang),
        form,
        problem,
        chrome,
    };
    render(status, &page)
}

pub async fn list(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/breaches").await;
    let form = NewForm { risk: "risk".into(), ..NewForm::default() };
    register(&state, chrome, &who, form, None, StatusCode::OK).await
}

pub async fn open(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let form = NewForm::posted(&pairs(&raw));
    let done = match form.input() {
        Ok(input) => breaches::open(&state, &who, input).await,
        Err(e) => Err(e),
    };
    match after_post(done, |b| format!("/breaches/{}", b.row.id)) {
        Ok(response) => response,
        Err(e) => {
            let chrome = Chrome::load(&state, lang, &who, &session, "/breaches").await;
            let problem = problem_with_detail(&chrome.lang, &e);
            register(&state, chrome, &who, form, Some(problem), status_of(&e)).await
        }
    }
}

/// The people computed for the breach, per category, as shown.
pub struct Affected {
    pub people: u64,
    pub events: u64,
    pub by_category: Vec<(String, u64)>,
}

#[derive(Template)]
#[template(path = "breach.html")]
pub struct BreachPage {
    pub chrome: Chrome,
    pub entry: Line,
    pub breach_nature: String,
    pub notified: String,
    pub authority_due: bool,
    pub people_due: bool,
    pub scope: String,
    pub affected: Affected,
    pub updates: Vec<(String, String, String)>,
    pub authority_draft: String,
    pub notice_subject: String,
    pub notice_text: String,
    pub notices_queued: usize,
    pub notices_sent: usize,
    pub closed: bool,
    pub problem: Option<String>,
}

async fn one(
    state: &AppState,
    chrome: Chrome,
    who: &Caller,
    id: uuid::Uuid,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let (breach, updates, summary) = match breaches::get(state, who, id).await {
        Ok(found) => found,
        Err(e) => return error(chrome, e),
    };
    let draft = match breaches::authority_draft(state, who, id).await {
        Ok((_, _, _, text)) => text,
        Err(e) => return error(chrome, e),
    };
    let people = match breaches::people_draft(state, who, id).await {
        Ok(p) => p,
        Err(e) => return error(chrome, e),
    };
    let lang = &chrome.lang;
    let time = |at: i64| crate::clock::rfc3339_millis(at)[..16].replace('T', " ");
    let page = BreachPage {
        entry: line_of(lang, &breach),
        breach_nature: breach.record.description.nature.clone(),
        notified: breach.row.authority_notified_at.map(time).unwrap_or_default(),
        authority_due: breach.authority_due,
        people_due: breach.people_due,
        scope: breach.record.scope.as_ref().map(|s| serde_json::to_string(s).unwrap_or_default()).unwrap_or_default(),
        affected: Affected {
            people: summary.people,
            events: summary.events,
            by_category: summary
                .by_category
                .iter()
                .map(|(c, n)| (lang.try_t(&format!("class-{c}")).unwrap_or_else(|| c.clone()), *n))
                .collect(),
        },
        updates: updates
            .iter()
            .map(|u| (time(u.at), u.fields.replace(',', ", "), u.note.clone().unwrap_or_default()))
            .collect(),
        authority_draft: draft,
        notice_subject: people.subject,
        notice_text: people.text,
        notices_queued: people.notices.len(),
        notices_sent: people.notices.iter().filter(|n| n.sent_at.is_some()).count(),
        closed: breach.row.status == "closed",
        problem,
        chrome,
    };
    render(status, &page)
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(id): Path<String>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/breaches").await;
    match path_id(&id) {
        Ok(id) => one(&state, chrome, &who, id, None, StatusCode::OK).await,
        Err(e) => error(chrome, e),
    }
}

/// After a step on a breach's page: back to it, or it again with the refusal.
async fn after(
    state: &AppState,
    lang: Lang,
    who: &Caller,
    session: &PageSession,
    id: uuid::Uuid,
    done: Result<(), ApiError>,
    anchor: &str,
) -> Response {
    match after_post(done, |()| format!("/breaches/{id}#{anchor}")) {
        Ok(response) => response,
        Err(e) => {
            let chrome = Chrome::load(state, lang, who, session, "/breaches").await;
            let problem = problem_with_detail(&chrome.lang, &e);
            one(state, chrome, who, id, Some(problem), status_of(&e)).await
        }
    }
}

/// The steps a breach's page posts: `scope`, `notify`, `update`, `close`, `send`.
pub async fn step(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path((id, step)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return error(Chrome::load(&state, lang, &who, &session, "/breaches").await, e),
    };
    let form = pairs(&raw);
    let field = |name: &str| first(&form, name);
    let (done, anchor) = match step.as_str() {
        "scope" => {
            let scope: Result<BreachScope, ApiError> = crate::input::from_value(serde_json::json!({
                "actor": optional(field("actor")), "network": optional(field("network")),
                "from": utc(&field("from")), "to": utc(&field("to")),
            }));
            let done = match scope {
                Ok(scope) => breaches::affected(&state, &who, id, scope).await.map(|_| ()),
                Err(e) => Err(e),
            };
            (done, "affected-heading")
        }
        "notify" => {
            let patch = BreachPatch {
                authority_notified_at: Some(utc(&field("notified_at"))),
                authority_reference: optional(field("reference")),
                delay_reasons: optional(field("delay_reasons")),
                ..BreachPatch::default()
            };
            (breaches::patch(&state, &who, id, patch).await.map(|_| ()), "authority-heading")
        }
        "update" => {
            let patch = BreachPatch { update: Some(field("update")), ..BreachPatch::default() };
            (breaches::patch(&state, &who, id, patch).await.map(|_| ()), "updates-heading")
        }
        "risk" => {
            let risk = match field("risk").as_str() {
                "none" => Some(Risk::None),
                "risk" => Some(Risk::Risk),
                "high_risk" => Some(Risk::HighRisk),
                _ => None,
            };
            let patch =
                BreachPatch { risk, status: Some(kith_core::breach::BreachStatus::Open), ..BreachPatch::default() };
            (breaches::patch(&state, &who, id, patch).await.map(|_| ()), "breach-heading")
        }
        "close" => {
            let patch = BreachPatch { status: Some(kith_core::breach::BreachStatus::Closed), ..BreachPatch::default() };
            (breaches::patch(&state, &who, id, patch).await.map(|_| ()), "breach-heading")
        }
        "send" => (breaches::send_notices(&state, &who, id).await.map(|_| ()), "people-heading"),
        _ => (Err(ApiError::new(kith_core::ErrorCode::NotFound, "no such step")), ""),
    };
    after(&state, lang, &who, &session, id, done, anchor).await
}

/// Opens a candidate from an alert of the audit page.
pub async fn from_alert(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(id): Path<String>,
) -> Response {
    let done = match path_id(&id) {
        Ok(id) => breaches::from_alert(&state, &who, id).await,
        Err(e) => Err(e),
    };
    match done {
        Ok((b, _)) => Redirect::to(&format!("/breaches/{}", b.row.id)).into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, "/audit").await, e),
    }
}
