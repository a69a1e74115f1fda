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
    pub search: Search,
    pub rows: Vec<Row>,
    /// The query of the next page, with the same search.
    pub next: Option<String>,
    pub may_create: bool,
    /// Whether the reader may export the contacts (for the purpose chosen).
    pub may_export: bool,
    /// Companies to filter by (id, name), when the reader may read them.
    pub companies: Vec<(String, String)>,
    /// The orders offered (sort key, words).
    pub sorts: Vec<(&'static str, String)>,
}

/// The list's search, filters and order, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct Search {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub company: String,
    /// Only the reader's own contacts.
    #[serde(default)]
    pub mine: Option<String>,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    cursor: Option<String>,
}

/// The orders the list offers; the first is the default.
const SORTS: [&str; 4] = ["-updated_at", "updated_at", "-created_at", "created_at"];

/// Companies offered as a filter, by name.
const COMPANIES_OFFERED: u32 = 200;

impl Search {
    fn query_with(&self, cursor: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("q", &self.q),
            ("email", &self.email),
            ("phone", &self.phone),
            ("tag", &self.tag),
            ("company", &self.company),
            ("sort", &self.sort),
        ] {
            if !value.trim().is_empty() {
                query.append_pair(name, value.trim());
            }
        }
        if self.mine.is_some() {
            query.append_pair("mine", "1");
        }
        query.append_pair("cursor", cursor);
        query.finish()
    }
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
    let company = match blank(&search.company).map(|raw| path_id(&raw)).transpose() {
        Ok(company) => company,
        Err(e) => return error(chrome, e),
    };
    let sort = SORTS.iter().find(|s| **s == search.sort).unwrap_or(&SORTS[0]);
    let params = ListParams {
        q: blank(&search.q),
        email: blank(&search.email),
        phone: blank(&search.phone),
        tag: blank(&search.tag),
        company_id: company,
        owner: search.mine.as_ref().map(|_| who.principal.name.clone()),
        cursor: search.cursor.clone(),
        sort: Some(sort.to_string()),
        ..Default::default()
    };
    let page = match state.records.list::<Contact>(&who, params).await {
        Ok(page) => page,
        Err(e) => return error(chrome, e),
    };
    let companies = match state.authorizer.authorize(&who.principal, Action::Read, EntityKind::Companies) {
        Ok(_) => {
            let params = ListParams { limit: Some(COMPANIES_OFFERED), ..Default::default() };
            let listed = state.records.list::<kith_core::model::Company>(&who, params).await;
            let mut found: Vec<(String, String)> =
                listed.map(|p| p.items.iter().map(|c| (text(c, "id"), text(c, "name"))).collect()).unwrap_or_default();
            found.sort_by_key(|(_, name)| name.to_lowercase());
            found
        }
        Err(_) => Vec::new(),
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
    let next = page.next_cursor.map(|cursor| search.query_with(&cursor));
    let sorts = SORTS.iter().map(|s| (*s, chrome.lang.t(&format!("sort-{}", s.replace('_', "-"))))).collect();
    let may_export = state.authorizer.authorize(&who.principal, Action::Export, EntityKind::Contacts).is_ok();
    let page = ContactsPage { chrome, search, rows, next, may_create, may_export, companies, sorts };
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
    pub recipients: Option<Vec<panels::Received>>,
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
        recipients: panels::recipients(&state, &who, id, lang).await,
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

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
}

/// Downloads the contacts the chosen purpose allows, as the API's export does.
pub async fn export(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let format = crate::service::contact_export::ExportFormat::parse(&query.format)
        .ok_or_else(|| ApiError::new(kith_core::ErrorCode::InvalidQuery, "format: csv, vcf or json"));
    let started = match format {
        Ok(format) => crate::service::contact_export::contacts(&state, &who, format).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(stream) => crate::http::routes::export::streamed(stream),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, "/").await, e),
    }
}
