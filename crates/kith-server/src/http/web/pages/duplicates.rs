//! Likely duplicate contacts, pair by pair with the reasons, each side a
//! link to the contact's page. The service is the API's.

use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::duplicates::{self, Likeness};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
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
    let found = match duplicates::find(&state, &who).await {
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
    render(StatusCode::OK, &DuplicatesPage { chrome, pairs })
}
