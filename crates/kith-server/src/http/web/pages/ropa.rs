//! The record of processing activities (Art. 30) for admin, auditors and
//! the DPO, with its downloads; the DPO sets the controller's details
//! here. The services are the API's.

use super::posted::{first, pairs, Pairs};
use super::{after_post, error, problem_with_detail, render, status_of, Chrome};
use crate::auth::caller::Caller;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::ropa;
use crate::AppState;
use askama::Template;
use axum::extract::{RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use kith_core::controller::{ContactPoint, ControllerDetails};
use kith_core::ropa::Ropa;

/// The controller's details as the form holds them.
#[derive(Default, Clone)]
pub struct DetailsForm {
    pub name: String,
    pub email: String,
    pub address: String,
    pub dpo_name: String,
    pub dpo_email: String,
    pub dpo_phone: String,
    pub rep_name: String,
    pub rep_email: String,
    pub rep_address: String,
    pub authority: String,
}

impl DetailsForm {
    fn of(d: &ControllerDetails) -> Self {
        let text = |t: &Option<String>| t.clone().unwrap_or_default();
        Self {
            name: d.controller.name.clone(),
            email: d.controller.email.clone(),
            address: text(&d.controller.address),
            dpo_name: d.dpo.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            dpo_email: d.dpo.as_ref().map(|p| p.email.clone()).unwrap_or_default(),
            dpo_phone: d.dpo.as_ref().and_then(|p| p.phone.clone()).unwrap_or_default(),
            rep_name: d.representative.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            rep_email: d.representative.as_ref().map(|p| p.email.clone()).unwrap_or_default(),
            rep_address: d.representative.as_ref().and_then(|p| p.address.clone()).unwrap_or_default(),
            authority: text(&d.supervisory_authority),
        }
    }

    fn posted(form: &Pairs) -> Self {
        Self {
            name: first(form, "name"),
            email: first(form, "email"),
            address: first(form, "address"),
            dpo_name: first(form, "dpo_name"),
            dpo_email: first(form, "dpo_email"),
            dpo_phone: first(form, "dpo_phone"),
            rep_name: first(form, "rep_name"),
            rep_email: first(form, "rep_email"),
            rep_address: first(form, "rep_address"),
            authority: first(form, "authority"),
        }
    }

    /// The details; a DPO or representative only where a name or address is given.
    /// The controllers processed for are kept as they were (set through the API).
    fn details(&self, kept: Option<&ControllerDetails>) -> ControllerDetails {
        let some = |t: &str| (!t.is_empty()).then(|| t.to_string());
        let point = |name: &str, email: &str, phone: &str, address: &str| ContactPoint {
            name: name.into(),
            email: email.into(),
            phone: some(phone),
            address: some(address),
        };
        ControllerDetails {
            controller: point(&self.name, &self.email, "", &self.address),
            dpo: (!(self.dpo_name.is_empty() && self.dpo_email.is_empty()))
                .then(|| point(&self.dpo_name, &self.dpo_email, &self.dpo_phone, "")),
            representative: (!(self.rep_name.is_empty() && self.rep_email.is_empty()))
                .then(|| point(&self.rep_name, &self.rep_email, "", &self.rep_address)),
            supervisory_authority: some(&self.authority),
            processing_for: kept.map(|k| k.processing_for.clone()).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "ropa.html")]
pub struct RopaPage {
    pub chrome: Chrome,
    pub ropa: Ropa,
    /// (label, value) of the controller's details.
    pub controller: Vec<(String, String)>,
    pub bases: Vec<String>,
    pub may_write: bool,
    pub form: DetailsForm,
    pub problem: Option<String>,
}

async fn page(
    state: &AppState,
    chrome: Chrome,
    who: &Caller,
    form: Option<DetailsForm>,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let ropa = match ropa::record(state, who).await {
        Ok(ropa) => ropa,
        Err(e) => return error(chrome, e),
    };
    let lang = &chrome.lang;
    let page = RopaPage {
        controller: super::controller_lines(ropa.controller.as_ref(), lang),
        bases: ropa
            .activities
            .iter()
            .map(|a| {
                let basis = serde_json::to_value(a.lawful_basis).ok().and_then(|v| v.as_str().map(str::to_string));
                let basis = basis.unwrap_or_default();
                lang.try_t(&format!("basis-{basis}")).unwrap_or(basis)
            })
            .collect(),
        may_write: state.authorizer.authorize_accountability(&who.principal, true).is_ok(),
        form: form.unwrap_or_else(|| ropa.controller.as_ref().map(DetailsForm::of).unwrap_or_default()),
        problem,
        ropa,
        chrome,
    };
    render(status, &page)
}

pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/ropa").await;
    page(&state, chrome, &who, None, None, StatusCode::OK).await
}

pub async fn set_controller(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let form = DetailsForm::posted(&pairs(&raw));
    let kept = ropa::controller(&state, &who).await.ok().flatten();
    let done = ropa::set_controller(&state, &who, form.details(kept.as_ref())).await;
    match after_post(done, |_| "/ropa#controller-heading".to_string()) {
        Ok(response) => response,
        Err(e) => {
            let chrome = Chrome::load(&state, lang, &who, &session, "/ropa").await;
            let problem = problem_with_detail(&chrome.lang, &e);
            page(&state, chrome, &who, Some(form), Some(problem), status_of(&e)).await
        }
    }
}
