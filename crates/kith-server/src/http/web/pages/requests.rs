//! The DPO's register of data-subject requests: the queue by due date
//! (overdue and due soon marked), and each request's page with the steps
//! the register allows next. Every step is the API's service, audited and
//! checked the same way.

use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::dsr::{self, DsrExtendInput, DsrFulfilInput, DsrRefuseInput, DsrVerifyInput, RegisterQuery};
use crate::service::{archive, erasure};
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::dsr::{RequestKind, RequestStatus, DUE_SOON_DAYS};
use kith_store::DsrRow;
use serde::Deserialize;

const DAY_MS: i64 = 86_400_000;

/// A request as the queue shows it.
pub struct Line {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub received: String,
    pub due: String,
    /// `overdue`, `due-soon` or empty: how the due date is marked.
    pub urgency: &'static str,
    pub person: Option<String>,
}

fn day(millis: i64, lang: &Lang) -> String {
    lang.date(&rfc3339_millis(millis))
}

fn line(row: &DsrRow, lang: &Lang, now: i64) -> Line {
    let open = RequestStatus::parse(&row.status).is_some_and(|s| !s.is_closed());
    let urgency = match () {
        _ if open && row.due_at < now => "overdue",
        _ if open && row.due_at < now + DUE_SOON_DAYS * DAY_MS => "due-soon",
        _ => "",
    };
    Line {
        id: row.id.to_string(),
        kind: lang.t(&format!("request-kind-{}", row.kind)),
        status: lang.t(&format!("request-status-{}", row.status)),
        received: day(row.received_at, lang),
        due: day(row.due_at, lang),
        urgency,
        person: row.contact_id.map(|c| c.to_string()),
    }
}

#[derive(Template)]
#[template(path = "requests.html")]
pub struct QueuePage {
    pub chrome: Chrome,
    pub due: String,
    pub lines: Vec<Line>,
    pub next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct QueueFilter {
    #[serde(default)]
    due: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn queue(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Query(filter): Query<QueueFilter>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/requests").await;
    let due = filter.due.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| "open".into());
    let query = RegisterQuery { due: Some(due.clone()), cursor: filter.cursor, ..Default::default() };
    let listed = match dsr::list(&state, &who, query).await {
        Ok(listed) => listed,
        Err(e) => return error(chrome, e),
    };
    let now = crate::now_millis();
    let lines = listed.rows.iter().map(|row| line(row, &chrome.lang, now)).collect();
    render(StatusCode::OK, &QueuePage { chrome, due, lines, next: listed.next_cursor })
}

#[derive(Template)]
#[template(path = "request.html")]
pub struct RequestPage {
    pub chrome: Chrome,
    pub line: Line,
    /// What the person gave and staff wrote (label, value).
    pub details: Vec<(String, String)>,
    pub steps: Steps,
    pub receipt: Option<String>,
    /// The contact fields a rectification changes (field, new value).
    pub changes: Vec<(String, String)>,
    /// A verification token just issued, shown once.
    pub issued: Option<String>,
    /// The fields a typed correction may change (name, label).
    pub fields: Vec<(String, String)>,
}

/// Which steps the page offers, from the request's kind and status.
pub struct Steps {
    pub verify: bool,
    /// Issue a verification token for the person, or check one they gave back.
    pub token: bool,
    pub check_token: bool,
    pub unlock: bool,
    pub extend: bool,
    pub refuse: bool,
    pub fulfil: bool,
    /// Carrying out a rectification: applying the changes it holds.
    pub rectify: bool,
    /// A rectification without changes: the DPO types them.
    pub correct: bool,
    pub no_data: bool,
    pub archive: bool,
}

fn steps_for(request: &dsr::Request) -> Steps {
    let row = &request.row;
    let status = RequestStatus::parse(&row.status);
    let open = status.is_some_and(|s| !s.is_closed());
    let in_progress = status == Some(RequestStatus::InProgress);
    let kind = RequestKind::parse(&row.kind);
    Steps {
        verify: matches!(status, Some(RequestStatus::Received | RequestStatus::IdentityVerification)),
        token: matches!(status, Some(RequestStatus::Received | RequestStatus::IdentityVerification)),
        check_token: status == Some(RequestStatus::IdentityVerification),
        unlock: status == Some(RequestStatus::Locked),
        extend: open && row.extended_months == 0,
        refuse: open,
        fulfil: in_progress && row.contact_id.is_some() && kind != Some(RequestKind::Rectification),
        rectify: in_progress
            && row.contact_id.is_some()
            && kind == Some(RequestKind::Rectification)
            && request.details.changes.as_ref().is_some_and(|c| !c.is_empty()),
        correct: in_progress
            && row.contact_id.is_some()
            && kind == Some(RequestKind::Rectification)
            && request.details.changes.as_ref().is_none_or(|c| c.is_empty()),
        no_data: in_progress && row.contact_id.is_none(),
        archive: in_progress
            && row.contact_id.is_some()
            && matches!(kind, Some(RequestKind::Access | RequestKind::Portability)),
    }
}

/// A request's page, or the page refusing it.
async fn request_page(
    state: &AppState,
    lang: Lang,
    who: &Caller,
    session: &PageSession,
    raw: &str,
) -> Result<RequestPage, Response> {
    let chrome = Chrome::load(state, lang, who, session, &format!("/requests/{raw}")).await;
    let found = match path_id(raw) {
        Ok(id) => dsr::get(state, who, id).await,
        Err(e) => Err(e),
    };
    let request = match found {
        Ok(request) => request,
        Err(e) => return Err(error(chrome, e)),
    };
    let d = &request.details;
    let details = [
        ("field-email", d.email.clone()),
        ("field-phone", d.phone.clone()),
        ("request-note", d.note.clone()),
        ("request-attestation", d.attestation.clone()),
        ("request-extension-reason", d.extension_reason.clone()),
        ("request-grounds", d.grounds.clone()),
        ("request-outcome", d.outcome.clone()),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|v| (chrome.lang.t(key), v)))
    .collect();
    let completed_erasure = request.row.kind == "erasure" && request.row.status == "completed";
    let receipt = match completed_erasure {
        true => erasure::receipt(state, who, request.row.id).await.ok().map(|r| r.to_string()),
        false => None,
    };
    let line = line(&request.row, &chrome.lang, crate::now_millis());
    let steps = steps_for(&request);
    // The correctable fields all have a label (`field-family-name`); any other shows its key.
    let label = |field: &str| {
        chrome.lang.try_t(&format!("field-{}", field.replace('_', "-"))).unwrap_or_else(|| field.to_string())
    };
    let changes = d.changes.iter().flatten().map(|(field, value)| (label(field), shown_value(value))).collect();
    let fields = crate::service::portal::CORRECTABLE.iter().map(|f| (f.to_string(), label(f))).collect();
    Ok(RequestPage { chrome, line, details, steps, receipt, changes, issued: None, fields })
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    match request_page(&state, lang, &who, &session, &raw).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(refused) => refused,
    }
}

/// A changed value as text: a list one item per line, a reset as nothing.
fn shown_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
pub struct StepForm {
    step: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    months: Option<u8>,
    /// A correction the DPO types: which field, and its new value.
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: String,
}

/// One field's new value, as a `PATCH` has it: a list one item per line,
/// an empty value resets the field.
fn correction(field: &str, value: &str) -> Result<serde_json::Map<String, serde_json::Value>, crate::error::ApiError> {
    use serde_json::Value;
    if !crate::service::portal::CORRECTABLE.contains(&field) {
        return Err(crate::error::ApiError::new(kith_core::ErrorCode::InvalidValue, "field: one the form offers"));
    }
    let new = match field {
        "emails" | "phones" => {
            Value::from(value.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect::<Vec<_>>())
        }
        _ if value.trim().is_empty() => Value::Null,
        _ => Value::String(value.trim().to_string()),
    };
    Ok([(field.to_string(), new)].into_iter().collect())
}

/// One step of a request, from the buttons of its page.
pub async fn step(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    let back = format!("/requests/{raw}");
    let id = match path_id(&raw) {
        Ok(id) => id,
        Err(e) => return error(Chrome::load(&state, lang, &who, &session, &back).await, e),
    };
    let note = (!form.note.trim().is_empty()).then(|| form.note.clone());
    let done = match form.step.as_str() {
        "verify" => {
            let input = DsrVerifyInput { token: None, method: Some("staff_attestation".into()), note };
            dsr::verify(&state, &who, id, input).await.map(|_| ())
        }
        "extend" => {
            let input =
                DsrExtendInput { months: form.months.unwrap_or(1), reason: form.note.clone(), person_told_at: None };
            dsr::extend(&state, &who, id, input).await.map(|_| ())
        }
        "refuse" => dsr::refuse(&state, &who, id, DsrRefuseInput { grounds: form.note.clone() }).await.map(|_| ()),
        "unlock" => dsr::unlock(&state, &who, id).await.map(|_| ()),
        "check_token" => {
            let input = DsrVerifyInput { token: Some(form.note.trim().to_string()), method: None, note: None };
            dsr::verify(&state, &who, id, input).await.map(|_| ())
        }
        "token" => {
            return match dsr::issue_token(&state, &who, id).await {
                Ok(issued) => {
                    let mut page = match request_page(&state, lang, &who, &session, &raw).await {
                        Ok(page) => page,
                        Err(refused) => return refused,
                    };
                    page.issued = Some(issued.token);
                    render(StatusCode::OK, &page)
                }
                Err(e) => error(Chrome::load(&state, lang, &who, &session, &back).await, e),
            }
        }
        // A rectification applies the changes it holds: the person's proposal.
        "fulfil" | "rectify" => dsr::fulfil(&state, &who, id, DsrFulfilInput::default()).await.map(|_| ()),
        "correct" => match correction(&form.field, &form.value) {
            Ok(changes) => {
                let input = DsrFulfilInput { changes: Some(changes), outcome: None };
                dsr::fulfil(&state, &who, id, input).await.map(|_| ())
            }
            Err(e) => Err(e),
        },
        "no_data" => {
            let input = DsrFulfilInput { changes: None, outcome: Some("no_data".into()) };
            dsr::fulfil(&state, &who, id, input).await.map(|_| ())
        }
        _ => Err(crate::error::ApiError::new(kith_core::ErrorCode::InvalidValue, "step: one this page offers")),
    };
    match done {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, &back).await, e),
    }
}

/// The access or portability archive, downloaded by the DPO: what the
/// person receives, and the download the request's completion waits for.
pub async fn download(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let back = format!("/requests/{raw}");
    let built = match path_id(&raw) {
        Ok(id) => archive::download(&state, &who, id, None).await.map(|a| (id, a)),
        Err(e) => Err(e),
    };
    match built {
        Ok((id, archive)) => {
            let disposition = format!("attachment; filename=\"kith-{}-{id}.zip\"", archive.kind);
            let headers =
                [(header::CONTENT_TYPE, "application/zip".to_string()), (header::CONTENT_DISPOSITION, disposition)];
            (StatusCode::OK, headers, archive.zip).into_response()
        }
        Err(e) => error(Chrome::load(&state, lang, &who, &session, &back).await, e),
    }
}
