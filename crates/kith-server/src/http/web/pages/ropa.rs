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

    /// The details: the form's fields over the stored ones, so what only
    /// the API sets (the controller's phone, the DPO's address, the
    /// representative's phone, the controllers processed for) is kept. A
    /// DPO or representative only where a name or an address is given.
    fn details(&self, kept: Option<&ControllerDetails>) -> ControllerDetails {
        let some = |t: &str| (!t.is_empty()).then(|| t.to_string());
        let point =
            |kept: Option<&ContactPoint>, name: &str, email: &str, phone: Option<&str>, address: Option<&str>| {
                ContactPoint {
                    name: name.into(),
                    email: email.into(),
                    phone: phone.map_or_else(|| kept.and_then(|k| k.phone.clone()), some),
                    address: address.map_or_else(|| kept.and_then(|k| k.address.clone()), some),
                }
            };
        let given = |name: &str, email: &str| !(name.is_empty() && email.is_empty());
        ControllerDetails {
            controller: point(kept.map(|k| &k.controller), &self.name, &self.email, None, Some(&self.address)),
            dpo: given(&self.dpo_name, &self.dpo_email).then(|| {
                let before = kept.and_then(|k| k.dpo.as_ref());
                point(before, &self.dpo_name, &self.dpo_email, Some(&self.dpo_phone), None)
            }),
            representative: given(&self.rep_name, &self.rep_email).then(|| {
                let before = kept.and_then(|k| k.representative.as_ref());
                point(before, &self.rep_name, &self.rep_email, None, Some(&self.rep_address))
            }),
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
    let done = match ropa::controller(&state, &who).await {
        Ok(kept) => ropa::set_controller(&state, &who, form.details(kept.as_ref())).await,
        Err(e) => Err(e),
    };
    match after_post(done, |_| "/ropa#controller-heading".to_string()) {
        Ok(response) => response,
        Err(e) => {
            let chrome = Chrome::load(&state, lang, &who, &session, "/ropa").await;
            let problem = problem_with_detail(&chrome.lang, &e);
            page(&state, chrome, &who, Some(form), Some(problem), status_of(&e)).await
        }
    }
}
