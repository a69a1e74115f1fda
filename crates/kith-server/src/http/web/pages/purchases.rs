//! Purchases: a purchase's page with its lines and total, and a purchase
//! added from the contact's page (up to three lines at a time; empty lines
//! are left out). Reads and writes are the record service's.

use super::contacts::text;
use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::input::from_value;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::model::Purchase;
use kith_core::ErrorCode;
use serde_json::{json, Value};

/// A line as shown: sku, description, quantity, unit price, line total.
pub struct Line {
    pub sku: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub total: String,
}

#[derive(Template)]
#[template(path = "purchase.html")]
pub struct PurchasePage {
    pub chrome: Chrome,
    pub date: String,
    pub currency: String,
    pub person: String,
    pub lines: Vec<Line>,
    pub total: String,
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, &format!("/purchases/{raw}")).await;
    let found = match path_id(&raw) {
        Ok(id) => state.records.get::<Purchase>(&who, id).await,
        Err(e) => Err(e),
    };
    let record = match found {
        Ok(record) => record,
        Err(e) => return error(chrome, e),
    };
    // The stored document, typed again, for its arithmetic.
    let mut body = record.clone();
    if let Value::Object(map) = &mut body {
        for generated in ["id", "created_at", "updated_at", "total"] {
            map.remove(generated);
        }
    }
    let purchase: Option<Purchase> = serde_json::from_value(body).ok();
    let lang = &chrome.lang;
    let lines = purchase
        .iter()
        .flat_map(|p| p.lines.iter())
        .map(|l| Line {
            sku: l.sku.clone(),
            description: l.description.clone().unwrap_or_default(),
            quantity: lang.number(&l.quantity.to_string()),
            unit_price: lang.number(&l.unit_price.to_string()),
            total: lang.number(&(l.quantity * l.unit_price).to_string()),
        })
        .collect();
    let page = PurchasePage {
        date: lang.date(&text(&record, "purchased_at")),
        currency: text(&record, "currency"),
        person: text(&record, "contact_id"),
        lines,
        total: lang.number(&text(&record, "total")),
        chrome,
    };
    render(StatusCode::OK, &page)
}

/// The lines of the form: the n-th of each column, those with a sku.
fn lines(raw: &[u8]) -> Vec<Value> {
    let column = |name: &str| -> Vec<String> {
        form_urlencoded::parse(raw).filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).collect()
    };
    let (skus, descriptions, quantities, prices) =
        (column("sku"), column("description"), column("quantity"), column("unit_price"));
    skus.iter()
        .enumerate()
        .filter(|(_, sku)| !sku.is_empty())
        .map(|(i, sku)| {
            let at = |list: &[String]| list.get(i).cloned().unwrap_or_default();
            let description = Some(at(&descriptions)).filter(|d| !d.is_empty());
            json!({"sku": sku, "description": description, "quantity": at(&quantities), "unit_price": at(&prices)})
        })
        .collect()
}

pub async fn add(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    let back = format!("/contacts/{raw}");
    let field = |name: &str| {
        form_urlencoded::parse(&form).find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    };
    let date = field("purchased_at");
    let purchased_at =
        if date.is_empty() { crate::clock::rfc3339_millis(crate::now_millis()) } else { format!("{date}T12:00:00Z") };
    let added = match path_id(&raw) {
        Ok(person) => {
            let mut body = json!({"contact_id": person, "purchased_at": purchased_at, "currency": field("currency"), "lines": lines(&form)});
            if body["lines"].as_array().is_some_and(Vec::is_empty) {
                Err(ApiError::new(ErrorCode::MissingField, "lines: at least one line with its sku"))
            } else {
                if let Some(map) = body.as_object_mut() {
                    map.retain(|_, v| !v.is_null());
                }
                match from_value::<Purchase>(body) {
                    Ok(purchase) => state.records.create(&who, purchase).await.map(|created| created.id),
                    Err(e) => Err(e),
                }
            }
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(id) => Redirect::to(&format!("/purchases/{id}")).into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, &back).await, e),
    }
}
