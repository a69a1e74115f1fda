//! Segments: build a filter and see how many people it matches for the
//! purpose chosen, how many are left out and why, then save it; a saved
//! segment's page shows its counts and its members as far as the reader
//! may see them. The services are the API's, with its purpose rule.

use super::contacts::text;
use super::deals::{stage_name, STAGES};
use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::input::from_value;
use crate::service::segments::{self, Evaluation};
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::segment::{SegmentFilter, SegmentInput};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Members shown on a segment's page.
const MEMBERS_SHOWN: u32 = 50;

/// The filter as typed.
#[derive(Deserialize, Default, Clone)]
pub struct FilterForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub deal_stage: String,
    #[serde(default)]
    pub consent_purpose: String,
    #[serde(default)]
    pub consent_state: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub min_total: String,
    /// Set by the button that counts.
    #[serde(default)]
    pub count: Option<String>,
}

/// Counts of an evaluation, as shown.
pub struct Counts {
    pub purpose: String,
    pub matched: usize,
    pub allowed: usize,
    /// (reason in words, people)
    pub excluded: Vec<(String, u64)>,
}

#[derive(Template)]
#[template(path = "segments.html")]
pub struct SegmentsPage {
    pub chrome: Chrome,
    pub saved: Vec<(String, String)>,
    pub form: FilterForm,
    pub counts: Option<Counts>,
    pub stages: Vec<(String, String)>,
    pub purposes: Vec<(String, String)>,
    /// The consent states a filter may ask for (key, words).
    pub states: Vec<(&'static str, String)>,
    pub problem: Option<String>,
    pub may_save: bool,
}

#[derive(Template)]
#[template(path = "segment.html")]
pub struct SegmentPage {
    pub chrome: Chrome,
    pub id: String,
    pub name: String,
    pub description: String,
    pub counts: Counts,
    /// (contact id, name) of the members shown.
    pub members: Vec<(String, String)>,
}

fn counts(lang: &Lang, purpose: &str, e: &Evaluation) -> Counts {
    Counts {
        purpose: purpose.to_string(),
        matched: e.matched,
        allowed: e.members.len(),
        excluded: e
            .excluded
            .iter()
            .map(|(code, n)| (lang.try_t(&format!("excluded-{code}")).unwrap_or_else(|| code.to_string()), *n))
            .collect(),
    }
}

/// The filter in the API's shape, checked by its types.
fn filter_of(form: &FilterForm) -> Result<SegmentFilter, ApiError> {
    let mut filter = Map::new();
    let tags: Vec<&str> = form.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    if !tags.is_empty() {
        filter.insert("tags".into(), json!(tags));
    }
    if !form.deal_stage.is_empty() {
        filter.insert("deal_stage".into(), json!(form.deal_stage));
    }
    if !form.consent_purpose.is_empty() {
        let state = if form.consent_state.is_empty() { "granted" } else { form.consent_state.as_str() };
        filter.insert("consent".into(), json!({"purpose": form.consent_purpose, "state": state}));
    }
    if !form.currency.trim().is_empty() {
        let mut purchases = Map::new();
        purchases.insert("currency".into(), json!(form.currency.trim()));
        if !form.min_total.trim().is_empty() {
            purchases.insert("min_total".into(), json!(form.min_total.trim()));
        }
        filter.insert("purchases".into(), Value::Object(purchases));
    }
    from_value(Value::Object(filter))
}

async fn builder(
    state: &AppState,
    chrome: Chrome,
    who: &Caller,
    form: FilterForm,
    counts: Option<Counts>,
    problem: Option<String>,
) -> Response {
    let saved = match segments::list(state, who).await {
        Ok(list) => list.into_iter().map(|s| (s.row.id.to_string(), s.input.name)).collect(),
        Err(e) => return error(chrome, e),
    };
    let catalogue = crate::service::purposes::catalogue(state).await.unwrap_or_default();
    let page = SegmentsPage {
        saved,
        form,
        counts,
        stages: STAGES.iter().map(|s| (s.as_str().to_string(), stage_name(&chrome.lang, *s))).collect(),
        purposes: catalogue.into_iter().map(|p| (p.key, p.name)).collect(),
        states: ["granted", "withdrawn", "none"]
            .into_iter()
            .map(|s| (s, chrome.lang.t(&format!("segments-state-{s}"))))
            .collect(),
        may_save: state
            .authorizer
            .authorize(&who.principal, crate::auth::Action::Create, kith_core::EntityKind::Contacts)
            .is_ok(),
        problem,
        chrome,
    };
    render(if page.problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK }, &page)
}

/// The list of saved segments and the builder; `?count=…` evaluates the filter.
pub async fn list(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Query(form): Query<FilterForm>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/segments").await;
    if form.count.is_none() {
        return builder(&state, chrome, &who, form, None, None).await;
    }
    let evaluated = match filter_of(&form) {
        Ok(filter) => segments::preview(&state, &who, filter).await,
        Err(e) => Err(e),
    };
    match evaluated {
        Ok((purpose, evaluation)) => {
            let shown = counts(&chrome.lang, &purpose.name, &evaluation);
            builder(&state, chrome, &who, form, Some(shown), None).await
        }
        Err(e) if e.code.status() >= 500 => e.into_response(),
        Err(e) => {
            let problem = Some(super::problem_with_detail(&chrome.lang, &e));
            builder(&state, chrome, &who, form, None, problem).await
        }
    }
}

/// Saves the filter under its name.
pub async fn save(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Form(form): Form<FilterForm>,
) -> Response {
    let saved = match filter_of(&form) {
        Ok(filter) => {
            let input = SegmentInput { name: form.name.trim().to_string(), description: None, filter };
            segments::create(&state, &who, input).await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(segment) => Redirect::to(&format!("/segments/{}", segment.row.id)).into_response(),
        Err(e) if e.code.status() >= 500 => e.into_response(),
        Err(e) => {
            let chrome = Chrome::load(&state, lang, &who, &session, "/segments").await;
            let problem = Some(super::problem_with_detail(&chrome.lang, &e));
            builder(&state, chrome, &who, form, None, problem).await
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, &format!("/segments/{raw}")).await;
    let id = match path_id(&raw) {
        Ok(id) => id,
        Err(e) => return error(chrome, e),
    };
    let segment = match segments::get(&state, &who, id).await {
        Ok(segment) => segment,
        Err(e) => return error(chrome, e),
    };
    let members = match segments::members(&state, &who, id, MEMBERS_SHOWN, None).await {
        Ok(members) => members,
        Err(e) => return error(chrome, e),
    };
    let name_of = |m: &Value| {
        let name = [text(m, "given_name"), text(m, "family_name")].join(" ").trim().to_string();
        if name.is_empty() {
            chrome.lang.t("unnamed")
        } else {
            name
        }
    };
    let page = SegmentPage {
        id: raw.clone(),
        name: segment.input.name.clone(),
        description: segment.input.description.clone().unwrap_or_default(),
        counts: counts(&chrome.lang, &members.purpose.name, &members.evaluation),
        members: members.items.iter().map(|m| (text(m, "id"), name_of(m))).collect(),
        chrome,
    };
    render(StatusCode::OK, &page)
}

pub async fn delete(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
) -> Response {
    let deleted = match path_id(&raw) {
        Ok(id) => segments::delete(&state, &who, id).await,
        Err(e) => Err(e),
    };
    match deleted {
        Ok(()) => Redirect::to("/segments").into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, "/segments").await, e),
    }
}
