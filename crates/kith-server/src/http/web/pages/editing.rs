//! Creating and changing a contact or a company through a form. The form
//! holds only the fields the reader may see; a change sends only those, so
//! a field the role may not see is never touched. A refusal that names a
//! field is shown next to that field, with what was typed kept.

use super::contacts::{joined, text};
use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::input::from_value;
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::model::{Company, Contact, Deal};
use kith_core::EntityBody;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// How a field is typed and sent.
#[derive(Clone, Copy, PartialEq)]
pub enum Shape {
    /// One line of text; empty resets it.
    Line,
    /// Free text over several lines.
    Text,
    /// A list, one item per line.
    Lines,
    /// A list, comma-separated.
    Commas,
}

/// A kind of record edited through a form: its fields (name, message
/// key, shape), its path, and the titles of its forms.
pub trait FormKind: EntityBody {
    const FIELDS: &'static [(&'static str, &'static str, Shape)];
    /// `contacts`: the form posts to `/contacts` and `/contacts/{id}`.
    const PATH: &'static str;
    /// Where "cancel" goes from a new record's form.
    const LIST: &'static str;
    const NEW_TITLE: &'static str;
    const EDIT_TITLE: &'static str;

    /// Where a record of the kind is shown (after a change, and "cancel").
    fn page_of(id: &str) -> String {
        format!("/{}/{id}", Self::PATH)
    }
}

impl FormKind for Contact {
    const FIELDS: &'static [(&'static str, &'static str, Shape)] = &[
        ("given_name", "field-given-name", Shape::Line),
        ("family_name", "field-family-name", Shape::Line),
        ("emails", "field-emails", Shape::Lines),
        ("phones", "field-phones", Shape::Lines),
        ("job_title", "field-job-title", Shape::Line),
        ("birthday", "field-birthday", Shape::Line),
        ("notes", "field-notes", Shape::Text),
        ("tags", "field-tags", Shape::Commas),
    ];
    const PATH: &'static str = "contacts";
    const LIST: &'static str = "/";
    const NEW_TITLE: &'static str = "contact-new";
    const EDIT_TITLE: &'static str = "contact-edit";
}

impl FormKind for Company {
    const FIELDS: &'static [(&'static str, &'static str, Shape)] = &[
        ("name", "company-name", Shape::Line),
        ("domain", "column-domain", Shape::Line),
        ("emails", "field-emails", Shape::Lines),
        ("phones", "field-phones", Shape::Lines),
        ("notes", "field-notes", Shape::Text),
        ("tags", "field-tags", Shape::Commas),
    ];
    const PATH: &'static str = "companies";
    const LIST: &'static str = "/companies";
    const NEW_TITLE: &'static str = "company-new";
    const EDIT_TITLE: &'static str = "company-edit";
}

/// A deal's details; its stage moves on the board, and it is opened from
/// the contact's page, so only editing goes through this form.
impl FormKind for Deal {
    const FIELDS: &'static [(&'static str, &'static str, Shape)] = &[
        ("title", "deal-title", Shape::Line),
        ("amount", "deal-amount", Shape::Line),
        ("currency", "deal-currency", Shape::Line),
        ("expected_close", "deal-expected-close", Shape::Line),
        ("notes", "field-notes", Shape::Text),
        ("tags", "field-tags", Shape::Commas),
    ];
    const PATH: &'static str = "deals";
    const LIST: &'static str = "/deals";
    const NEW_TITLE: &'static str = "deal-add";
    const EDIT_TITLE: &'static str = "deal-edit";

    fn page_of(id: &str) -> String {
        format!("/deals#deal-{id}")
    }
}

/// A field as the form shows it.
pub struct FormField {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub error: Option<String>,
    pub multiline: bool,
    pub hint: Option<String>,
}

#[derive(Template)]
#[template(path = "record_form.html")]
pub struct RecordForm {
    pub chrome: Chrome,
    pub title: String,
    /// The kind's path (`contacts`).
    pub path: &'static str,
    /// Where "cancel" goes.
    pub back: String,
    /// `None` for a new record.
    pub id: Option<String>,
    pub fields: Vec<FormField>,
    /// A refusal that names no field.
    pub problem: Option<String>,
}

impl RecordForm {
    fn of<B: FormKind>(chrome: Chrome, id: Option<String>, fields: Vec<FormField>, problem: Option<String>) -> Self {
        let title = chrome.lang.t(if id.is_some() { B::EDIT_TITLE } else { B::NEW_TITLE });
        let back = id.as_deref().map_or_else(|| B::LIST.to_string(), B::page_of);
        Self { chrome, title, path: B::PATH, back, id, fields, problem }
    }
}

/// The form's fields: those given in `shown` (all, for a new contact), with
/// their values and the error that names one of them.
fn form_fields<B: FormKind>(
    lang: &Lang,
    values: &HashMap<String, String>,
    shown: &[&str],
    refusal: Option<&ApiError>,
) -> Vec<FormField> {
    let at = refusal.and_then(|e| e.detail.split_once(':').map(|(field, _)| (field, e))).map(|(field, e)| {
        let name = field.split(['[', '.']).next().unwrap_or_default().trim().to_string();
        (name, super::problem(lang, e))
    });
    B::FIELDS
        .iter()
        .filter(|(name, _, _)| shown.contains(name))
        .map(|(name, key, shape)| FormField {
            name,
            label: lang.t(key),
            value: values.get(*name).cloned().unwrap_or_default(),
            error: at.as_ref().filter(|(field, _)| field == name).map(|(_, message)| message.clone()),
            multiline: matches!(shape, Shape::Text | Shape::Lines),
            hint: match shape {
                Shape::Lines => Some(lang.t("hint-one-per-line")),
                Shape::Commas => Some(lang.t("hint-commas")),
                _ if *name == "birthday" => Some(lang.t("hint-date")),
                _ => None,
            },
        })
        .collect()
}

/// A refusal not shown next to a field.
fn general_problem(refusal: &ApiError, fields: &[FormField]) -> Option<String> {
    (!fields.iter().any(|f| f.error.is_some())).then(|| refusal.detail.clone())
}

/// The document fields a form sends, in the API's shapes.
fn document<B: FormKind>(form: &HashMap<String, String>, shown: &[&str], for_change: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, _, shape) in B::FIELDS.iter().filter(|(name, _, _)| shown.contains(name)) {
        let raw = form.get(*name).map(String::as_str).unwrap_or_default();
        let value = match shape {
            Shape::Line | Shape::Text => {
                let text = if *shape == Shape::Line { raw.trim() } else { raw.trim_end() };
                if text.is_empty() {
                    Value::Null
                } else {
                    Value::String(text.replace("\r\n", "\n"))
                }
            }
            Shape::Lines | Shape::Commas => {
                let separator = if *shape == Shape::Lines { '\n' } else { ',' };
                let items = raw.split(separator).map(str::trim).filter(|s| !s.is_empty());
                Value::Array(items.map(|s| Value::String(s.to_string())).collect())
            }
        };
        // A new record leaves empty fields out; a change resets them.
        if for_change || !value.is_null() {
            out.insert(name.to_string(), value);
        }
    }
    out
}

/// The form's values of a stored record, as the reader may see it.
fn values_of<B: FormKind>(record: &Value) -> HashMap<String, String> {
    B::FIELDS
        .iter()
        .map(|(name, _, shape)| {
            let value = match shape {
                Shape::Lines => joined(record, name).replace(", ", "\n"),
                Shape::Commas => joined(record, name),
                _ => text(record, name),
            };
            (name.to_string(), value)
        })
        .collect()
}

fn all_fields<B: FormKind>() -> Vec<&'static str> {
    B::FIELDS.iter().map(|(name, _, _)| *name).collect()
}

pub async fn new_form<B: FormKind>(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, &format!("/{}/new", B::PATH)).await;
    if let Err(e) = state.authorizer.authorize(&who.principal, Action::Create, B::KIND) {
        return error(chrome, e);
    }
    let fields = form_fields::<B>(&chrome.lang, &HashMap::new(), &all_fields::<B>(), None);
    render(StatusCode::OK, &RecordForm::of::<B>(chrome, None, fields, None))
}

pub async fn create<B: FormKind>(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let shown = all_fields::<B>();
    let created = match from_value::<B>(Value::Object(document::<B>(&form, &shown, false))) {
        Ok(body) => state.records.create(&who, body).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(created) => Redirect::to(&B::page_of(&created.id.to_string())).into_response(),
        Err(refusal) if refusal.code.status() >= 500 => refusal.into_response(),
        Err(refusal) => {
            let chrome = Chrome::load(&state, lang, &who, &session, &format!("/{}/new", B::PATH)).await;
            let fields = form_fields::<B>(&chrome.lang, &form, &shown, Some(&refusal));
            let problem = general_problem(&refusal, &fields);
            render(StatusCode::UNPROCESSABLE_ENTITY, &RecordForm::of::<B>(chrome, None, fields, problem))
        }
    }
}

/// The fields of a stored record the reader may see, of those the form has.
fn visible<B: FormKind>(record: &Value) -> Vec<&'static str> {
    B::FIELDS.iter().map(|(name, _, _)| *name).filter(|name| record.get(*name).is_some()).collect()
}

pub async fn edit_form<B: FormKind>(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let back = format!("/{}/{raw}/edit", B::PATH);
    let chrome = Chrome::load(&state, lang, &who, &session, &back).await;
    let found = match path_id(&raw) {
        Ok(id) => state.records.get::<B>(&who, id).await,
        Err(e) => Err(e),
    };
    let record = match found {
        Ok(record) => record,
        Err(e) => return error(chrome, e),
    };
    let fields = form_fields::<B>(&chrome.lang, &values_of::<B>(&record), &visible::<B>(&record), None);
    render(StatusCode::OK, &RecordForm::of::<B>(chrome, Some(raw), fields, None))
}

pub async fn update<B: FormKind>(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // Only the fields the form carried change: the ones the reader saw.
    let shown: Vec<&str> = B::FIELDS.iter().map(|(name, _, _)| *name).filter(|name| form.contains_key(*name)).collect();
    let changed = match path_id(&raw) {
        Ok(id) => state.records.update::<B>(&who, id, document::<B>(&form, &shown, true)).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => Redirect::to(&B::page_of(&raw)).into_response(),
        Err(refusal) if refusal.code.status() >= 500 => refusal.into_response(),
        Err(refusal) => {
            let chrome = Chrome::load(&state, lang, &who, &session, &format!("/{}/{raw}/edit", B::PATH)).await;
            let fields = form_fields::<B>(&chrome.lang, &form, &shown, Some(&refusal));
            let problem = general_problem(&refusal, &fields);
            let status = super::status_of(&refusal);
            render(status, &RecordForm::of::<B>(chrome, Some(raw), fields, problem))
        }
    }
}
