//! Creating and changing a contact through a form. The form holds only the
//! fields the reader may see; a change sends only those, so a field the
//! role may not see is never touched. A refusal that names a field is
//! shown next to that field, with what was typed kept.

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
use kith_core::model::Contact;
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

/// The fields of the contact form, with their message keys and shapes.
const FIELDS: &[(&str, &str, Shape)] = &[
    ("given_name", "field-given-name", Shape::Line),
    ("family_name", "field-family-name", Shape::Line),
    ("emails", "field-emails", Shape::Lines),
    ("phones", "field-phones", Shape::Lines),
    ("job_title", "field-job-title", Shape::Line),
    ("birthday", "field-birthday", Shape::Line),
    ("notes", "field-notes", Shape::Text),
    ("tags", "field-tags", Shape::Commas),
];

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
#[template(path = "contact_form.html")]
pub struct ContactForm {
    pub chrome: Chrome,
    /// `None` for a new contact.
    pub id: Option<String>,
    pub fields: Vec<FormField>,
    /// A refusal that names no field.
    pub problem: Option<String>,
}

/// The form's fields: those given in `shown` (all, for a new contact), with
/// their values and the error that names one of them.
fn form_fields(
    lang: &Lang,
    values: &HashMap<String, String>,
    shown: &[&str],
    refusal: Option<&ApiError>,
) -> Vec<FormField> {
    let at = refusal.and_then(|e| e.detail.split_once(':').map(|(field, _)| (field, e))).map(|(field, e)| {
        let name = field.split(['[', '.']).next().unwrap_or_default().trim().to_string();
        (name, super::problem(lang, e))
    });
    FIELDS
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
fn document(form: &HashMap<String, String>, shown: &[&str], for_change: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, _, shape) in FIELDS.iter().filter(|(name, _, _)| shown.contains(name)) {
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
        // A new contact leaves empty fields out; a change resets them.
        if for_change || !value.is_null() {
            out.insert(name.to_string(), value);
        }
    }
    out
}

/// The form's values of a stored contact, as the reader may see it.
fn values_of(record: &Value) -> HashMap<String, String> {
    FIELDS
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

fn all_fields() -> Vec<&'static str> {
    FIELDS.iter().map(|(name, _, _)| *name).collect()
}

pub async fn new_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/contacts/new").await;
    if let Err(e) = state.authorizer.authorize(&who.principal, Action::Create, kith_core::EntityKind::Contacts) {
        return error(chrome, e);
    }
    let fields = form_fields(&chrome.lang, &HashMap::new(), &all_fields(), None);
    render(StatusCode::OK, &ContactForm { chrome, id: None, fields, problem: None })
}

pub async fn create(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let shown = all_fields();
    let created = match from_value::<Contact>(Value::Object(document(&form, &shown, false))) {
        Ok(contact) => state.records.create(&who, contact).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(created) => Redirect::to(&format!("/contacts/{}", created.id)).into_response(),
        Err(refusal) if refusal.code.status() >= 500 => refusal.into_response(),
        Err(refusal) => {
            let chrome = Chrome::load(&state, lang, &who, &session, "/contacts/new").await;
            let fields = form_fields(&chrome.lang, &form, &shown, Some(&refusal));
            let problem = general_problem(&refusal, &fields);
            render(StatusCode::UNPROCESSABLE_ENTITY, &ContactForm { chrome, id: None, fields, problem })
        }
    }
}

/// The fields of a stored contact the reader may see, of those the form has.
fn visible(record: &Value) -> Vec<&'static str> {
    FIELDS.iter().map(|(name, _, _)| *name).filter(|name| record.get(*name).is_some()).collect()
}

pub async fn edit_form(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let back = format!("/contacts/{raw}/edit");
    let chrome = Chrome::load(&state, lang, &who, &session, &back).await;
    let found = match path_id(&raw) {
        Ok(id) => state.records.get::<Contact>(&who, id).await,
        Err(e) => Err(e),
    };
    let record = match found {
        Ok(record) => record,
        Err(e) => return error(chrome, e),
    };
    let fields = form_fields(&chrome.lang, &values_of(&record), &visible(&record), None);
    render(StatusCode::OK, &ContactForm { chrome, id: Some(raw), fields, problem: None })
}

pub async fn update(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // Only the fields the form carried change: the ones the reader saw.
    let shown: Vec<&str> = FIELDS.iter().map(|(name, _, _)| *name).filter(|name| form.contains_key(*name)).collect();
    let changed = match path_id(&raw) {
        Ok(id) => state.records.update::<Contact>(&who, id, document(&form, &shown, true)).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => Redirect::to(&format!("/contacts/{raw}")).into_response(),
        Err(refusal) if refusal.code.status() >= 500 => refusal.into_response(),
        Err(refusal) => {
            let chrome = Chrome::load(&state, lang, &who, &session, &format!("/contacts/{raw}/edit")).await;
            let fields = form_fields(&chrome.lang, &form, &shown, Some(&refusal));
            let problem = general_problem(&refusal, &fields);
            let status = StatusCode::from_u16(refusal.code.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            render(status, &ContactForm { chrome, id: Some(raw), fields, problem })
        }
    }
}
