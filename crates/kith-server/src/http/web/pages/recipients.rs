//! The register of recipients: each processor or third party with its
//! country, contract and transfer mechanism, and whether data may go to it
//! now; the DPO registers, changes and ends them. The adequacy decisions
//! in force are listed beneath. The services are the API's.

use super::posted::{all, first, listed, pairs, Pairs};
use super::{after_post, error, problem_with_detail, render, status_of, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::input::from_value;
use crate::service::recipients::{self, RecipientView};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::recipient::RecipientInput;
use kith_core::transfer::countries;
use serde_json::{json, Map, Value};

const ROLES: [&str; 4] = ["processor", "sub_processor", "independent_controller", "joint_controller"];
const MECHANISMS: [&str; 5] = ["adequacy", "dpf", "scc", "bcr", "derogation"];
const DEROGATIONS: [&str; 8] = [
    "explicit_consent",
    "contract_with_subject",
    "contract_in_subject_interest",
    "public_interest",
    "legal_claims",
    "vital_interests",
    "public_register",
    "compelling_legitimate_interests",
];

/// A recipient's entry as the form holds it: text as typed.
#[derive(Default, Clone)]
pub struct RecipientForm {
    pub name: String,
    pub role: String,
    pub country: String,
    pub purposes: Vec<String>,
    pub data_categories: String,
    pub contact: String,
    pub contract_reference: String,
    pub contract_date: String,
    pub processor_id: String,
    pub transfer_mechanism: String,
    pub scc_module: String,
    pub derogation_ground: String,
    pub within_decision_scope: bool,
    pub mechanism_expires_on: String,
    pub notes: String,
}

impl RecipientForm {
    fn posted(form: &Pairs) -> Self {
        Self {
            name: first(form, "name"),
            role: first(form, "role"),
            country: first(form, "country"),
            purposes: all(form, "purposes"),
            data_categories: first(form, "data_categories"),
            contact: first(form, "contact"),
            contract_reference: first(form, "contract_reference"),
            contract_date: first(form, "contract_date"),
            processor_id: first(form, "processor_id"),
            transfer_mechanism: first(form, "transfer_mechanism"),
            scc_module: first(form, "scc_module"),
            derogation_ground: first(form, "derogation_ground"),
            within_decision_scope: !first(form, "within_decision_scope").is_empty(),
            mechanism_expires_on: first(form, "mechanism_expires_on"),
            notes: first(form, "notes"),
        }
    }

    fn of(input: &RecipientInput) -> Self {
        let snake = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let text = |t: &Option<String>| t.clone().unwrap_or_default();
        Self {
            name: input.name.clone(),
            role: input.role.as_str().into(),
            country: input.country.clone(),
            purposes: input.purposes.clone(),
            data_categories: input.data_categories.join(", "),
            contact: text(&input.contact),
            contract_reference: text(&input.contract_reference),
            contract_date: text(&input.contract_date),
            processor_id: input.processor_id.map(|id| id.to_string()).unwrap_or_default(),
            transfer_mechanism: snake(input.transfer_mechanism.and_then(|m| serde_json::to_value(m).ok())),
            scc_module: input.scc_module.map(|m| m.to_string()).unwrap_or_default(),
            derogation_ground: snake(input.derogation_ground.and_then(|g| serde_json::to_value(g).ok())),
            within_decision_scope: input.within_decision_scope,
            mechanism_expires_on: text(&input.mechanism_expires_on),
            notes: text(&input.notes),
        }
    }

    /// The entry in the API's shape, checked by its types.
    fn input(&self) -> Result<RecipientInput, ApiError> {
        let mut entry = Map::new();
        entry.insert("name".into(), json!(self.name));
        entry.insert("role".into(), json!(self.role));
        entry.insert("country".into(), json!(self.country));
        entry.insert("purposes".into(), json!(self.purposes));
        entry.insert("data_categories".into(), json!(listed(&self.data_categories)));
        entry.insert("within_decision_scope".into(), json!(self.within_decision_scope));
        for (field, value) in [
            ("contact", &self.contact),
            ("contract_reference", &self.contract_reference),
            ("contract_date", &self.contract_date),
            ("processor_id", &self.processor_id),
            ("transfer_mechanism", &self.transfer_mechanism),
            ("derogation_ground", &self.derogation_ground),
            ("mechanism_expires_on", &self.mechanism_expires_on),
            ("notes", &self.notes),
        ] {
            if !value.is_empty() {
                entry.insert(field.into(), json!(value));
            }
        }
        if !self.scc_module.is_empty() {
            entry.insert(
                "scc_module".into(),
                self.scc_module.parse::<u8>().map(|m| json!(m)).unwrap_or(json!(self.scc_module)),
            );
        }
        from_value(Value::Object(entry))
    }
}

/// A recipient as a line of the register.
pub struct Line {
    pub id: String,
    pub name: String,
    pub role: String,
    pub country: String,
    pub mechanism: String,
    pub allowed: bool,
    /// Why data may not go to it, in the reader's words.
    pub refusal: String,
    pub ended: bool,
}

fn line_of(lang: &Lang, view: &RecipientView) -> Line {
    let i = &view.recipient.input;
    let mechanism = i
        .transfer_mechanism
        .and_then(|m| serde_json::to_value(m).ok())
        .and_then(|v| v.as_str().map(|m| lang.t(&format!("mechanism-{m}"))))
        .unwrap_or_else(|| lang.t("mechanism-none"));
    Line {
        id: view.recipient.row.id.to_string(),
        name: i.name.clone(),
        role: lang.t(&format!("recipient-role-{}", i.role.as_str())),
        country: countries().get(&i.country).map(|n| format!("{n} ({})", i.country)).unwrap_or(i.country.clone()),
        mechanism,
        allowed: view.transfer.is_ok(),
        refusal: view.transfer.as_ref().err().map(|e| problem_with_detail(lang, e)).unwrap_or_default(),
        ended: view.recipient.row.ended_at.is_some(),
    }
}

/// The choices a recipient's form offers.
pub struct Choices {
    /// (value, words)
    pub roles: Vec<(String, String)>,
    pub mechanisms: Vec<(String, String)>,
    pub derogations: Vec<(String, String)>,
    pub purposes: Vec<(String, String)>,
    /// Current processors a sub-processor may name (id, name).
    pub processors: Vec<(String, String)>,
}

async fn choices(state: &AppState, lang: &Lang, all: &[RecipientView]) -> Choices {
    let words = |prefix: &str, keys: &[&str]| -> Vec<(String, String)> {
        keys.iter().map(|k| (k.to_string(), lang.t(&format!("{prefix}-{k}")))).collect()
    };
    Choices {
        roles: words("recipient-role", &ROLES),
        mechanisms: words("mechanism", &MECHANISMS),
        derogations: words("derogation", &DEROGATIONS),
        purposes: crate::service::purposes::catalogue(state)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.key, p.name))
            .collect(),
        processors: all
            .iter()
            .filter(|r| r.recipient.row.ended_at.is_none() && r.recipient.input.role.as_str() == "processor")
            .map(|r| (r.recipient.row.id.to_string(), r.recipient.input.name.clone()))
            .collect(),
    }
}

/// A decision of the list in force, as shown.
pub struct DecisionLine {
    pub country: String,
    pub name: String,
    pub decision: String,
    pub adopted_on: String,
    pub ends_on: String,
    pub scope: String,
}

#[derive(Template)]
#[template(path = "recipients.html")]
pub struct RecipientsPage {
    pub chrome: Chrome,
    pub lines: Vec<Line>,
    pub decisions: Vec<DecisionLine>,
    pub shipped: bool,
    pub may_write: bool,
    pub form: RecipientForm,
    pub choices: Choices,
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "recipient.html")]
pub struct RecipientPage {
    pub chrome: Chrome,
    pub entry: Line,
    pub contract: String,
    pub decision: String,
    pub may_write: bool,
    pub form: RecipientForm,
    pub choices: Choices,
    pub problem: Option<String>,
}

async fn register(
    state: &AppState,
    chrome: Chrome,
    who: &Caller,
    form: RecipientForm,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let all = match recipients::list(state, who).await {
        Ok(all) => all,
        Err(e) => return error(chrome, e),
    };
    let (decisions, shipped) = match recipients::decisions(state, who).await {
        Ok(found) => found,
        Err(e) => return error(chrome, e),
    };
    let lang = &chrome.lang;
    let page = RecipientsPage {
        lines: all.iter().map(|r| line_of(lang, r)).collect(),
        decisions: decisions
            .iter()
            .map(|d| DecisionLine {
                country: d.country.clone(),
                name: d.name.clone(),
                decision: d.decision.clone(),
                adopted_on: d.adopted_on.clone(),
                ends_on: d.ends_on.clone().unwrap_or_default(),
                scope: d
                    .scope
                    .and_then(|s| serde_json::to_value(s).ok())
                    .and_then(|v| v.as_str().map(|s| lang.t(&format!("adequacy-scope-{s}"))))
                    .unwrap_or_default(),
            })
            .collect(),
        shipped,
        may_write: state.authorizer.authorize_accountability(&who.principal, true).is_ok(),
        choices: choices(state, lang, &all).await,
        form,
        problem,
        chrome,
    };
    render(status, &page)
}

pub async fn list(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/recipients").await;
    let form = RecipientForm { role: "processor".into(), ..RecipientForm::default() };
    register(&state, chrome, &who, form, None, StatusCode::OK).await
}

pub async fn create(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let form = RecipientForm::posted(&pairs(&raw));
    let done = match form.input() {
        Ok(input) => recipients::create(&state, &who, input).await,
        Err(e) => Err(e),
    };
    match after_post(done, |view| format!("/recipients/{}", view.recipient.row.id)) {
        Ok(response) => response,
        Err(e) => {
            let chrome = Chrome::load(&state, lang, &who, &session, "/recipients").await;
            let problem = problem_with_detail(&chrome.lang, &e);
            register(&state, chrome, &who, form, Some(problem), status_of(&e)).await
        }
    }
}

async fn one(
    state: &AppState,
    chrome: Chrome,
    who: &Caller,
    id: uuid::Uuid,
    form: Option<RecipientForm>,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let view = match recipients::get(state, who, id).await {
        Ok(view) => view,
        Err(e) => return error(chrome, e),
    };
    let all = recipients::list(state, who).await.unwrap_or_default();
    let lang = &chrome.lang;
    let i = &view.recipient.input;
    let contract = match (&i.contract_reference, &i.contract_date) {
        (Some(r), Some(d)) => format!("{r} ({d})"),
        (Some(r), None) => r.clone(),
        _ => String::new(),
    };
    let decision = match &view.transfer {
        Ok(kith_core::transfer::TransferBasis::Mechanism { decision: Some(d), .. }) => d.clone(),
        _ => String::new(),
    };
    let page = RecipientPage {
        entry: line_of(lang, &view),
        contract,
        decision,
        may_write: view.recipient.row.ended_at.is_none()
            && state.authorizer.authorize_accountability(&who.principal, true).is_ok(),
        form: form.unwrap_or_else(|| RecipientForm::of(i)),
        choices: choices(state, lang, &all).await,
        problem,
        chrome,
    };
    render(status, &page)
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(id): Path<String>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/recipients").await;
    match path_id(&id) {
        Ok(id) => one(&state, chrome, &who, id, None, None, StatusCode::OK).await,
        Err(e) => error(chrome, e),
    }
}

pub async fn update(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/recipients").await;
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return error(chrome, e),
    };
    let form = RecipientForm::posted(&pairs(&raw));
    let done = match form.input() {
        Ok(input) => recipients::update(&state, &who, id, input).await,
        Err(e) => Err(e),
    };
    match after_post(done, |_| format!("/recipients/{id}")) {
        Ok(response) => response,
        Err(e) => {
            let problem = problem_with_detail(&chrome.lang, &e);
            one(&state, chrome, &who, id, Some(form), Some(problem), status_of(&e)).await
        }
    }
}

pub async fn end(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(id): Path<String>,
) -> Response {
    let done = match path_id(&id) {
        Ok(id) => recipients::end(&state, &who, id).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => Redirect::to("/recipients").into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, "/recipients").await, e),
    }
}
