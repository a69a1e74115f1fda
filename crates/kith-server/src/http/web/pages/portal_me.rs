//! The person's own page in the privacy portal: what is held, rendered
//! as the archive has it, and the forms to download it, propose a
//! correction, change a consent, object to direct marketing and ask for
//! erasure. Each action goes to `service::portal` and comes back here.

use super::render;
use crate::auth::caller::{Caller, PublicRequest};
use crate::error::ApiError;
use crate::http::web::portal_session::PortalPage;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::portal::{self, ConsentChoice, Correction};
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::consent::ConsentEntry;
use kith_core::export::Subject;
use kith_core::purpose::LawfulBasis;
use kith_core::ErrorCode;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Access log entries shown, newest first (the archive has them all).
const ACCESS_SHOWN: usize = 20;

/// A labelled value.
pub struct Line {
    pub label: String,
    pub value: String,
}

/// A consent-based purpose and the person's current choice.
pub struct ConsentLine {
    pub key: String,
    pub name: String,
    /// `Some(true)` given, `Some(false)` withdrawn, `None` never asked.
    pub given: Option<bool>,
    pub at: String,
}

/// A request of the person's in the register.
pub struct RequestLine {
    pub kind: String,
    pub status: String,
    pub received: String,
    pub due: String,
}

/// The values the correction form starts with (or what was typed).
#[derive(Default, Deserialize, Clone)]
pub struct CorrectionForm {
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub emails: String,
    #[serde(default)]
    pub phones: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub birthday: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Template)]
#[template(path = "portal_me.html")]
pub struct MePage {
    pub lang: Lang,
    pub csrf: String,
    pub expires: String,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub details: Vec<Line>,
    pub activity: Vec<Line>,
    pub consents: Vec<ConsentLine>,
    pub objections: Vec<String>,
    pub objects_to_marketing: bool,
    pub restricted: bool,
    pub access: Vec<Line>,
    pub access_total: usize,
    pub recipients: Vec<Line>,
    /// The controller and its DPO (Art. 13(1)(a)–(b)).
    pub controller: Vec<(String, String)>,
    pub requests: Vec<RequestLine>,
    pub correction: CorrectionForm,
}

fn join(values: &[String]) -> String {
    values.join("\n")
}

fn correction_of(c: &kith_core::model::Contact) -> CorrectionForm {
    CorrectionForm {
        given_name: c.given_name.clone().unwrap_or_default(),
        family_name: c.family_name.clone().unwrap_or_default(),
        emails: join(&c.emails),
        phones: join(&c.phones),
        job_title: c.job_title.clone().unwrap_or_default(),
        birthday: c.birthday.clone().unwrap_or_default(),
        note: String::new(),
    }
}

fn details(lang: &Lang, subject: &Subject) -> Vec<Line> {
    let c = &subject.contact.body;
    let mut lines = Vec::new();
    let mut add = |key: &str, value: String| {
        if !value.trim().is_empty() {
            lines.push(Line { label: lang.t(key), value });
        }
    };
    add("field-given-name", c.given_name.clone().unwrap_or_default());
    add("field-family-name", c.family_name.clone().unwrap_or_default());
    add("field-emails", c.emails.join(", "));
    add("field-phones", c.phones.join(", "));
    add("field-job-title", c.job_title.clone().unwrap_or_default());
    add("field-birthday", c.birthday.as_deref().map(|b| lang.date(b)).unwrap_or_default());
    add("privacy-company", subject.company_name.clone().unwrap_or_default());
    add("field-notes", c.notes.clone().unwrap_or_default());
    add("field-tags", c.tags.join(", "));
    lines
}

fn activity(lang: &Lang, subject: &Subject) -> Vec<Line> {
    let mut lines: Vec<(String, Line)> = Vec::new();
    for i in &subject.interactions {
        let kind = serde_json::to_value(i.body.kind).ok().and_then(|v| v.as_str().map(str::to_string));
        let label = lang.t1("timeline-interaction", "kind", kind.unwrap_or_default());
        let value = i.body.subject.clone().unwrap_or_default();
        lines.push((i.body.occurred_at.clone(), Line { label, value }));
    }
    for d in &subject.deals {
        let stage = serde_json::to_value(d.body.stage).ok().and_then(|v| v.as_str().map(str::to_string));
        let label = lang.t1("timeline-deal", "stage", stage.unwrap_or_default());
        lines.push((d.updated_at.clone(), Line { label, value: d.body.title.clone() }));
    }
    for p in &subject.purchases {
        let value = format!("{} {}", lang.number(&p.body.total().to_string()), p.body.currency);
        lines.push((p.body.purchased_at.clone(), Line { label: lang.t("timeline-purchase"), value }));
    }
    lines.sort_by(|a, b| b.0.cmp(&a.0));
    lines
        .into_iter()
        .map(|(when, line)| Line { label: format!("{} · {}", lang.date(&when), line.label), ..line })
        .collect()
}

fn consents(lang: &Lang, subject: &Subject) -> Vec<ConsentLine> {
    let last = |key: &str| -> Option<&ConsentEntry> { subject.consents.iter().rev().find(|e| e.purpose == key) };
    subject
        .purposes
        .iter()
        .filter(|p| p.lawful_basis == LawfulBasis::Consent)
        .map(|p| {
            let entry = last(&p.key);
            ConsentLine {
                key: p.key.clone(),
                name: p.name.clone(),
                given: entry.map(|e| e.granted),
                at: entry.map(|e| lang.date(&e.at)).unwrap_or_default(),
            }
        })
        .collect()
}

async fn page(
    state: &AppState,
    lang: Lang,
    csrf: &PageSession,
    page: &PortalPage,
    who: &Caller,
) -> Result<MePage, ApiError> {
    let contact = page.session.contact;
    let subject = portal::held(state, who, contact).await?;
    let requests = portal::requests(state, contact).await?;
    let access_total = subject.access_log.len();
    let access = subject
        .access_log
        .iter()
        .rev()
        .take(ACCESS_SHOWN)
        .map(|e| Line {
            label: lang.date(&e.at),
            value: format!("{} · {} · {}", e.actor, e.action, e.fields.join(", ")),
        })
        .collect();
    Ok(MePage {
        csrf: csrf.csrf.clone(),
        expires: crate::clock::rfc3339_millis(page.session.expires_at).get(11..16).unwrap_or_default().to_string(),
        notice: None,
        error: None,
        details: details(&lang, &subject),
        activity: activity(&lang, &subject),
        consents: consents(&lang, &subject),
        objects_to_marketing: subject.objections.iter().any(|o| o == "marketing"),
        objections: subject.objections.clone(),
        restricted: subject.restricted,
        access,
        access_total,
        controller: super::controller_lines(subject.controller.as_ref(), &lang),
        recipients: subject
            .recipients
            .iter()
            .map(|r| Line { label: r.name.clone(), value: format!("{} · {}", r.country, r.purposes.join(", ")) })
            .collect(),
        requests: requests
            .iter()
            .map(|r| RequestLine {
                kind: lang.t(&format!("request-kind-{}", r.kind)),
                status: lang.t(&format!("request-status-{}", r.status)),
                received: lang.date(&crate::clock::rfc3339_millis(r.received_at)),
                due: lang.date(&crate::clock::rfc3339_millis(r.due_at)),
            })
            .collect(),
        correction: correction_of(&subject.contact.body),
        lang,
    })
}

fn subject_of(page: &PortalPage, request: &PublicRequest) -> Caller {
    Caller::subject(page.session.contact, request.request_id.clone())
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    request: PublicRequest,
    Extension(csrf): Extension<PageSession>,
    Extension(portal_page): Extension<PortalPage>,
    Query(done): Query<Done>,
) -> Response {
    let who = subject_of(&portal_page, &request);
    match page(&state, lang.clone(), &csrf, &portal_page, &who).await {
        Ok(mut me) => {
            let known = ["consent", "correction", "objection", "erasure"];
            me.notice = done.done.filter(|d| known.contains(&d.as_str())).map(|d| lang.t(&format!("privacy-done-{d}")));
            render(StatusCode::OK, &me)
        }
        Err(e) => e.into_response(),
    }
}

/// The page again with a refusal shown, and what was typed kept.
async fn refused(
    state: &AppState,
    lang: Lang,
    csrf: &PageSession,
    portal_page: &PortalPage,
    who: &Caller,
    error: ApiError,
    typed: Option<CorrectionForm>,
) -> Response {
    let status = super::status_of(&error);
    if status.is_server_error() {
        return error.into_response();
    }
    match page(state, lang.clone(), csrf, portal_page, who).await {
        Ok(mut me) => {
            me.error = Some(format!("{}: {}", lang.t("privacy-refused"), super::problem(&lang, &error)));
            if let Some(typed) = typed {
                me.correction = typed;
            }
            render(status, &me)
        }
        Err(e) => e.into_response(),
    }
}

pub async fn download(
    State(state): State<AppState>,
    request: PublicRequest,
    Extension(portal_page): Extension<PortalPage>,
) -> Response {
    let who = subject_of(&portal_page, &request);
    match portal::download_archive(&state, &who, portal_page.session.contact).await {
        Ok(archive) => (
            [
                (header::CONTENT_TYPE, "application/zip".to_string()),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"my-data.zip\"".to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            archive.zip,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct ConsentPost {
    purpose: String,
    granted: String,
}

pub async fn consent(
    State(state): State<AppState>,
    lang: Lang,
    request: PublicRequest,
    Extension(csrf): Extension<PageSession>,
    Extension(portal_page): Extension<PortalPage>,
    Form(form): Form<ConsentPost>,
) -> Response {
    let who = subject_of(&portal_page, &request);
    let choice = ConsentChoice { purpose: form.purpose, granted: form.granted == "yes" };
    let session = &portal_page.session;
    match portal::set_consent(&state, &who, session.contact, choice, &request, session.started_at).await {
        Ok(()) => Redirect::to("/privacy/me?done=consent").into_response(),
        Err(e) => refused(&state, lang, &csrf, &portal_page, &who, e, None).await,
    }
}

/// The fields whose value in the form differs from what is held, as a `PATCH` has them.
fn changes(held: &CorrectionForm, typed: &CorrectionForm) -> Map<String, Value> {
    let lines = |text: &str| -> Vec<String> {
        text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
    };
    let single = |text: &str| match text.trim() {
        "" => Value::Null,
        value => Value::String(value.to_string()),
    };
    let mut changes = Map::new();
    let singles = [
        ("given_name", &held.given_name, &typed.given_name),
        ("family_name", &held.family_name, &typed.family_name),
        ("job_title", &held.job_title, &typed.job_title),
        ("birthday", &held.birthday, &typed.birthday),
    ];
    for (field, before, after) in singles {
        if before.trim() != after.trim() {
            changes.insert(field.into(), single(after));
        }
    }
    for (field, before, after) in [("emails", &held.emails, &typed.emails), ("phones", &held.phones, &typed.phones)] {
        if lines(before) != lines(after) {
            changes.insert(field.into(), Value::from(lines(after)));
        }
    }
    changes
}

pub async fn correct(
    State(state): State<AppState>,
    lang: Lang,
    request: PublicRequest,
    Extension(csrf): Extension<PageSession>,
    Extension(portal_page): Extension<PortalPage>,
    Form(typed): Form<CorrectionForm>,
) -> Response {
    let who = subject_of(&portal_page, &request);
    let contact = portal_page.session.contact;
    // What is held now: only the contact, to compare the form with.
    let held = match portal::contact_details(&state, &who, contact).await {
        Ok(current) => correction_of(&current),
        Err(e) => return e.into_response(),
    };
    let note = Some(typed.note.clone()).filter(|n| !n.trim().is_empty());
    let input = Correction { changes: changes(&held, &typed), note };
    match portal::propose_correction(&state, &who, contact, input).await {
        Ok(_) => Redirect::to("/privacy/me?done=correction").into_response(),
        Err(e) => refused(&state, lang, &csrf, &portal_page, &who, e, Some(typed)).await,
    }
}

pub async fn object(
    State(state): State<AppState>,
    lang: Lang,
    request: PublicRequest,
    Extension(csrf): Extension<PageSession>,
    Extension(portal_page): Extension<PortalPage>,
) -> Response {
    let who = subject_of(&portal_page, &request);
    match portal::object_to_direct_marketing(&state, &who, portal_page.session.contact).await {
        Ok(_) => Redirect::to("/privacy/me?done=objection").into_response(),
        Err(e) => refused(&state, lang, &csrf, &portal_page, &who, e, None).await,
    }
}

#[derive(Deserialize)]
pub struct ErasurePost {
    #[serde(default)]
    note: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn erase(
    State(state): State<AppState>,
    lang: Lang,
    request: PublicRequest,
    Extension(csrf): Extension<PageSession>,
    Extension(portal_page): Extension<PortalPage>,
    Form(form): Form<ErasurePost>,
) -> Response {
    let who = subject_of(&portal_page, &request);
    if form.confirm.is_none() {
        let missing = ApiError::new(ErrorCode::MissingField, "confirm: tick the box to confirm");
        return refused(&state, lang, &csrf, &portal_page, &who, missing, None).await;
    }
    let note = Some(form.note.as_str()).filter(|n| !n.trim().is_empty());
    match portal::ask_erasure(&state, &who, portal_page.session.contact, note).await {
        Ok(_) => Redirect::to("/privacy/me?done=erasure").into_response(),
        Err(e) => refused(&state, lang, &csrf, &portal_page, &who, e, None).await,
    }
}
