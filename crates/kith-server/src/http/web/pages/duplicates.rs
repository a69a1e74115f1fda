//! Likely duplicate contacts, pair by pair with the reasons, each side a
//! link to the contact's page, and a merge of the second into the first
//! for whoever may update and delete contacts. The services are the API's.

use super::posted::{first, pairs};
use super::{error, problem_with_detail, render, status_of, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::duplicates::{self, Likeness};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde_json::Value;

/// One side of a pair as the page shows it.
pub struct Side {
    pub id: String,
    pub name: String,
    /// E-mail addresses and phone numbers the reader may see.
    pub reach: String,
}

pub struct Pair {
    pub sides: [Side; 2],
    pub reasons: Vec<String>,
}

#[derive(Template)]
#[template(path = "duplicates.html")]
struct DuplicatesPage {
    chrome: Chrome,
    pairs: Vec<Pair>,
    may_merge: bool,
    problem: Option<String>,
}

fn side(contact: &Value) -> Side {
    let text = |field: &str| contact[field].as_str().unwrap_or_default().to_string();
    let list = |field: &str| {
        contact[field]
            .as_array()
            .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let name = format!("{} {}", text("given_name"), text("family_name")).trim().to_string();
    let reach = [list("emails"), list("phones")].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ");
    Side { id: text("id"), name, reach }
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/contacts/duplicates").await;
    page(&state, chrome, &who, None).await
}

async fn page(state: &AppState, chrome: Chrome, who: &Caller, refusal: Option<ApiError>) -> Response {
    let found = match duplicates::find(state, who).await {
        Ok(found) => found,
        Err(e) => return error(chrome, e),
    };
    let reason = |l: &Likeness| {
        chrome.lang.t(match l {
            Likeness::SameEmail => "duplicates-same-email",
            Likeness::SamePhone => "duplicates-same-phone",
            Likeness::SameNameAndCompany => "duplicates-same-name-company",
        })
    };
    let pairs = found
        .iter()
        .map(|p| Pair {
            sides: [side(&p.contacts[0]), side(&p.contacts[1])],
            reasons: p.reasons.iter().map(reason).collect(),
        })
        .collect();
    let may = |action| state.authorizer.authorize(&who.principal, action, kith_core::EntityKind::Contacts).is_ok();
    let may_merge = may(crate::auth::Action::Update) && may(crate::auth::Action::Delete);
    let status = refusal.as_ref().map_or(StatusCode::OK, status_of);
    let problem = refusal.map(|r| problem_with_detail(&chrome.lang, &r));
    render(status, &DuplicatesPage { chrome, pairs, may_merge, problem })
}

/// Merges the posted `other` into the contact of the path, then shows the survivor.
pub async fn merge(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    let form = pairs(&body);
    let other = first(&form, "other");
    let merged = match (path_id(&raw), path_id(&other)) {
        (Ok(survivor), Ok(other)) => state.records.merge(&who, survivor, other).await.map(|_| survivor),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match merged {
        Ok(survivor) => Redirect::to(&format!("/contacts/{survivor}")).into_response(),
        Err(refusal) => {
            let chrome = Chrome::load(&state, lang, &who, &session, "/contacts/duplicates").await;
            page(&state, chrome, &who, Some(refusal)).await
        }
    }
}
