//! The contacts list and a contact's page. What a role may not see is
//! absent here as in the API: the record service redacts before the page
//! sees a value, and every person shown is audited as read.

use super::panels;
use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::listing::ListParams;
use crate::service::consents;
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::consent::ConsentInput;
use kith_core::model::Contact;
use kith_core::{EntityKind, ErrorCode};
use serde::Deserialize;
use serde_json::Value;

/// One row of the list, as far as the reader may see it.
pub struct Row {
    pub id: String,
    pub name: String,
    pub emails: String,
    pub phones: String,
    pub tags: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "contacts.html")]
pub struct ContactsPage {
    pub chrome: Chrome,
    pub q: String,
    pub email: String,
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub may_create: bool,
}

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    cursor: Option<String>,
}

pub(super) fn text(record: &Value, field: &str) -> String {
    record.get(field).and_then(Value::as_str).unwrap_or_default().to_string()
}

pub(super) fn joined(record: &Value, field: &str) -> String {
    let items = record.get(field).and_then(Value::as_array).into_iter().flatten();
    items.filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
}

fn name_of(record: &Value, lang: &Lang) -> String {
    let name = [text(record, "given_name"), text(record, "family_name")].join(" ").trim().to_string();
    if name.is_empty() {
        lang.t("unnamed")
    } else {
        name
    }
}

pub async fn list(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Query(search): Query<Search>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/").await;
    let blank = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let params = ListParams {
        q: blank(&search.q),
        email: blank(&search.email),
        cursor: search.cursor.clone(),
        sort: Some("-updated_at".into()),
        ..Default::default()
    };
    let page = match state.records.list::<Contact>(&who, params).await {
        Ok(page) => page,
        Err(e) => return error(chrome, e),
    };
    let rows = page
        .items
        .iter()
        .map(|c| Row {
            id: text(c, "id"),
            name: name_of(c, &chrome.lang),
            emails: joined(c, "emails"),
            phones: joined(c, "phones"),
            tags: joined(c, "tags"),
            updated: chrome.lang.date(&text(c, "updated_at")),
        })
        .collect();
    let may_create = state.authorizer.authorize(&who.principal, Action::Create, EntityKind::Contacts).is_ok();
    let page = ContactsPage { chrome, q: search.q, email: search.email, rows, next: page.next_cursor, may_create };
    render(StatusCode::OK, &page)
}

/// A field of the contact page: its label and its value as text.
pub struct Field {
    pub label: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "contact.html")]
pub struct ContactPage {
    pub chrome: Chrome,
    pub id: String,
    pub name: String,
    pub fields: Vec<Field>,
    pub may_edit: bool,
    /// Whether the reader may add an interaction or a deal to the person.
    pub may_add_interaction: bool,
    pub may_add_deal: bool,
    pub may_add_purchase: bool,
    /// The deal stages (key, name) the new-deal form offers.
    pub stages: Vec<(String, String)>,
    pub timeline: Option<Vec<panels::Moment>>,
    pub consent: Option<panels::ConsentPanel>,
    pub restriction: Option<panels::RestrictionPanel>,
    pub access: Option<Vec<panels::Access>>,
}

/// The fields a contact page shows, in order, with their message keys.
const SHOWN: &[(&str, &str)] = &[
    ("given_name", "field-given-name"),
    ("family_name", "field-family-name"),
    ("emails", "field-emails"),
    ("phones", "field-phones"),
    ("job_title", "field-job-title"),
    ("birthday", "field-birthday"),
    ("notes", "field-notes"),
    ("tags", "field-tags"),
    ("owner", "field-owner"),
    ("created_at", "field-created"),
    ("updated_at", "field-updated"),
];

fn fields_of(record: &Value, lang: &Lang) -> Vec<Field> {
    SHOWN
        .iter()
        .filter_map(|(field, key)| {
            let value = match record.get(*field)? {
                Value::Array(_) => joined(record, field),
                Value::String(s) => s.clone(),
                _ => return None,
            };
            (!value.is_empty()).then(|| Field { label: lang.t(key), value })
        })
        .collect()
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, &format!("/contacts/{raw}")).await;
    let id = match path_id(&raw) {
        Ok(id) => id,
        Err(e) => return error(chrome, e),
    };
    let record = match state.records.get::<Contact>(&who, id).await {
        Ok(record) => record,
        Err(e) => return error(chrome, e),
    };
    let lang = &chrome.lang;
    let page = ContactPage {
        id: id.to_string(),
        name: name_of(&record, lang),
        fields: fields_of(&record, lang),
        may_edit: state.authorizer.authorize(&who.principal, Action::Update, EntityKind::Contacts).is_ok(),
        may_add_interaction: state
            .authorizer
            .authorize(&who.principal, Action::Create, EntityKind::Interactions)
            .is_ok(),
        may_add_deal: state.authorizer.authorize(&who.principal, Action::Create, EntityKind::Deals).is_ok(),
        may_add_purchase: state.authorizer.authorize(&who.principal, Action::Create, EntityKind::Purchases).is_ok(),
        stages: super::deals::STAGES
            .iter()
            .map(|s| (s.as_str().to_string(), super::deals::stage_name(lang, *s)))
            .collect(),
        timeline: panels::timeline(&state, &who, id, lang).await,
        consent: panels::consent(&state, &who, id, lang).await,
        restriction: panels::restriction(&state, &who, id, lang).await,
        access: panels::access(&state, &who, id).await,
        chrome,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ConsentForm {
    purpose: String,
    granted: String,
    notice_version: String,
    method: String,
}

/// Records a consent given or withdrawn, as `POST /api/v1/contacts/{id}/consents` does.
pub async fn record_consent(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    Form(form): Form<ConsentForm>,
) -> Response {
    let back = format!("/contacts/{raw}");
    let method = serde_json::from_value(Value::String(form.method.clone()));
    let recorded = match (path_id(&raw), method) {
        (Ok(id), Ok(method)) => {
            let input = ConsentInput {
                purpose: form.purpose,
                granted: form.granted == "yes",
                notice_version: form.notice_version,
                method,
                source: None,
                evidence: Default::default(),
                guardian: None,
            };
            consents::append(&state, &who, id, input).await.map(|_| ())
        }
        (Err(e), _) => Err(e),
        (_, Err(_)) => Err(ApiError::new(ErrorCode::InvalidValue, "method: one of the ways consent is given")),
    };
    match recorded {
        Ok(()) => Redirect::to(&format!("{back}#consent")).into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, &back).await, e),
    }
}
