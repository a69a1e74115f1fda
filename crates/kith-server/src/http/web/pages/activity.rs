//! Work with a person from their page and the day's tasks: an interaction
//! or a deal added from the contact's page, and "my day", the reader's
//! open tasks by due date. Every write is the record service's.

use super::contacts::text;
use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::input::from_value;
use crate::listing::ListParams;
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::model::{Deal, Interaction};
use kith_core::ErrorCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Open tasks read for "my day" (the reader's own).
const TASKS_READ: u32 = 200;

/// A time from a form's `datetime-local` or `date` field, as RFC 3339 in
/// UTC; empty is now.
fn form_time(field: &str, raw: &str) -> Result<String, ApiError> {
    let raw = raw.trim();
    let text = match raw.len() {
        0 => crate::clock::rfc3339_millis(crate::now_millis()),
        10 => format!("{raw}T09:00:00Z"),
        16 => format!("{raw}:00Z"),
        19 => format!("{raw}Z"),
        _ => return Err(ApiError::new(ErrorCode::InvalidValue, format!("{field}: a date and time"))),
    };
    Ok(text)
}

fn optional(raw: &str) -> Value {
    match raw.trim() {
        "" => Value::Null,
        text => Value::String(text.to_string()),
    }
}

#[derive(Deserialize)]
pub struct NewInteraction {
    kind: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    occurred_at: String,
    #[serde(default)]
    due_at: String,
}

fn interaction_of(person: Uuid, form: &NewInteraction) -> Result<Map<String, Value>, ApiError> {
    let mut body = Map::new();
    body.insert("contact_id".into(), json!(person));
    body.insert("kind".into(), json!(form.kind));
    body.insert("occurred_at".into(), json!(form_time("occurred_at", &form.occurred_at)?));
    body.insert("subject".into(), optional(&form.subject));
    body.insert("body".into(), optional(&form.body));
    if !form.due_at.trim().is_empty() {
        body.insert("due_at".into(), json!(form_time("due_at", &form.due_at)?));
        body.insert("done".into(), json!(false));
    }
    Ok(body.into_iter().filter(|(_, v)| !v.is_null()).collect())
}

/// Adds an interaction (a call, a meeting, a task with its due date…) to the person.
pub async fn add_interaction(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    Form(form): Form<NewInteraction>,
) -> Response {
    let back = format!("/contacts/{raw}");
    let added = match path_id(&raw).and_then(|person| interaction_of(person, &form)) {
        Ok(body) => match from_value::<Interaction>(Value::Object(body)) {
            Ok(body) => state.records.create(&who, body).await.map(|_| ()),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match added {
        Ok(()) => Redirect::to(&format!("{back}#timeline")).into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, &back).await, e),
    }
}

#[derive(Deserialize)]
pub struct NewDeal {
    title: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    stage: String,
}

/// Opens a deal with the person.
pub async fn add_deal(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    Form(form): Form<NewDeal>,
) -> Response {
    let back = format!("/contacts/{raw}");
    let added = match path_id(&raw) {
        Ok(person) => {
            let body: Map<String, Value> = [
                ("title", json!(form.title.trim())),
                ("stage", json!(form.stage)),
                ("contact_id", json!(person)),
                ("amount", optional(&form.amount)),
                ("currency", optional(&form.currency)),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            match from_value::<Deal>(Value::Object(body)) {
                Ok(body) => state.records.create(&who, body).await.map(|_| ()),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(()) => Redirect::to(&format!("{back}#timeline")).into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, &back).await, e),
    }
}

/// A task on "my day".
pub struct Task {
    pub id: String,
    pub subject: String,
    pub person: String,
    pub due: String,
    /// `overdue`, `today` or `later`, for the words and the colour.
    pub when: &'static str,
}

#[derive(Template)]
#[template(path = "today.html")]
pub struct TodayPage {
    pub chrome: Chrome,
    pub tasks: Vec<Task>,
}

/// The reader's open tasks with a due date, the most urgent first.
pub async fn today(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/today").await;
    let params = ListParams {
        kind: Some("task".into()),
        owner: Some(who.principal.name.clone()),
        limit: Some(TASKS_READ),
        ..Default::default()
    };
    let page = match state.records.list::<Interaction>(&who, params).await {
        Ok(page) => page,
        Err(e) => return error(chrome, e),
    };
    let now = crate::clock::rfc3339_millis(crate::now_millis());
    let today = &now[..10];
    let mut tasks: Vec<Task> = page
        .items
        .iter()
        .filter(|t| t.get("done") != Some(&Value::Bool(true)))
        .filter_map(|t| {
            let due = t.get("due_at")?.as_str()?.to_string();
            let when = match &due[..10.min(due.len())] {
                d if d < today => "overdue",
                d if d == today => "today",
                _ => "later",
            };
            Some(Task { id: text(t, "id"), subject: text(t, "subject"), person: text(t, "contact_id"), due, when })
        })
        .collect();
    tasks.sort_by(|a, b| a.due.cmp(&b.due));
    for task in &mut tasks {
        task.due = chrome.lang.date(&task.due);
    }
    render(StatusCode::OK, &TodayPage { chrome, tasks })
}

/// Marks a task done.
pub async fn done(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let marked = match path_id(&raw) {
        Ok(id) => {
            let change: Map<String, Value> = [("done".to_string(), json!(true))].into_iter().collect();
            state.records.update::<Interaction>(&who, id, change).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    match marked {
        Ok(()) => Redirect::to("/today").into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, "/today").await, e),
    }
}
