//! Companies: the list, and a company's page with its people. As for
//! contacts, what the role may not see is absent, and every read is the
//! record service's, audited.

use super::contacts::{joined, text};
use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::listing::ListParams;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use kith_core::model::{Company, Contact};
use kith_core::EntityKind;
use serde::Deserialize;
use serde_json::Value;

/// A company as the list shows it.
pub struct CompanyRow {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub tags: String,
}

fn row(company: &Value) -> CompanyRow {
    CompanyRow {
        id: text(company, "id"),
        name: text(company, "name"),
        domain: text(company, "domain"),
        tags: joined(company, "tags"),
    }
}

#[derive(Template)]
#[template(path = "companies.html")]
pub struct CompaniesPage {
    pub chrome: Chrome,
    pub may_create: bool,
    pub q: String,
    pub rows: Vec<CompanyRow>,
    pub next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Query(search): Query<Search>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/companies").await;
    let q = search.q.trim();
    let params = ListParams {
        q: (!q.is_empty()).then(|| q.to_string()),
        cursor: search.cursor.clone(),
        sort: Some("-updated_at".into()),
        ..Default::default()
    };
    match state.records.list::<Company>(&who, params).await {
        Ok(page) => {
            let rows = page.items.iter().map(row).collect();
            let may_create = state.authorizer.authorize(&who.principal, Action::Create, EntityKind::Companies).is_ok();
            render(StatusCode::OK, &CompaniesPage { chrome, may_create, q: search.q, rows, next: page.next_cursor })
        }
        Err(e) => error(chrome, e),
    }
}

/// A person of the company, as the reader may see them.
pub struct Person {
    pub id: String,
    pub name: String,
    pub job_title: String,
}

#[derive(Template)]
#[template(path = "company.html")]
pub struct CompanyPage {
    pub chrome: Chrome,
    pub may_edit: bool,
    pub company: CompanyRow,
    pub emails: String,
    pub phones: String,
    pub people: Vec<Person>,
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, &format!("/companies/{raw}")).await;
    let id = match path_id(&raw) {
        Ok(id) => id,
        Err(e) => return error(chrome, e),
    };
    let company = match state.records.get::<Company>(&who, id).await {
        Ok(company) => company,
        Err(e) => return error(chrome, e),
    };
    // Its people, as far as the purpose and the role allow.
    let params = ListParams { company_id: Some(id), limit: Some(200), ..Default::default() };
    let people = match state.records.list::<Contact>(&who, params).await {
        Ok(page) => page.items,
        Err(_) => Vec::new(),
    };
    let people = people
        .iter()
        .map(|p| Person {
            id: text(p, "id"),
            name: [text(p, "given_name"), text(p, "family_name")].join(" ").trim().to_string(),
            job_title: text(p, "job_title"),
        })
        .collect();
    let page = CompanyPage {
        may_edit: state.authorizer.authorize(&who.principal, Action::Update, EntityKind::Companies).is_ok(),
        emails: joined(&company, "emails"),
        phones: joined(&company, "phones"),
        company: row(&company),
        people,
        chrome,
    };
    render(StatusCode::OK, &page)
}
