//! The register of recipients, the adequacy decisions and what each
//! person's data went to: extract, call `service::recipients`, render.

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{id_parameter, json_body, json_response, operation, page_schema, problem_response, Api};
use crate::http::extract::{path_id, path_id_once, ApiJson};
use crate::http::guard::{Guard, WriteRecipients};
use crate::service::recipients::{self, Disclosure, RecipientView};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::recipient::{RecipientInput, RecipientRole};
use kith_core::transfer::{countries, AdequacyDecision, Derogation, TransferBasis, TransferMechanism};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::Ref;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

/// Whether data may go to the recipient now, and on what.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferOut {
    pub allowed: bool,
    /// `inside_eea`, or the mechanism (`adequacy`, `dpf`, `scc`, `bcr`, `derogation`).
    pub basis: Option<String>,
    /// The adequacy decision relied on.
    pub decision: Option<String>,
    /// Why not: `no_transfer_mechanism`, `transfer_mechanism_expired` or `recipient_ended`.
    pub refusal_code: Option<String>,
    pub refusal: Option<String>,
}

/// A recipient of the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientOut {
    pub id: Uuid,
    pub name: String,
    pub role: RecipientRole,
    pub country: String,
    pub country_name: Option<String>,
    pub purposes: Vec<String>,
    pub data_categories: Vec<String>,
    pub contact: Option<String>,
    pub contract_reference: Option<String>,
    pub contract_date: Option<String>,
    pub processor_id: Option<Uuid>,
    pub transfer_mechanism: Option<TransferMechanism>,
    pub scc_module: Option<u8>,
    pub derogation_ground: Option<Derogation>,
    pub within_decision_scope: bool,
    pub mechanism_expires_on: Option<String>,
    pub notes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub ended_at: Option<String>,
    pub transfer: TransferOut,
}

fn transfer_out(transfer: &Result<TransferBasis, ApiError>) -> TransferOut {
    match transfer {
        Ok(TransferBasis::InsideEea) => TransferOut {
            allowed: true,
            basis: Some("inside_eea".into()),
            decision: None,
            refusal_code: None,
            refusal: None,
        },
        Ok(TransferBasis::Mechanism { mechanism, decision }) => TransferOut {
            allowed: true,
            basis: serde_json::to_value(mechanism).ok().and_then(|v| v.as_str().map(str::to_string)),
            decision: decision.clone(),
            refusal_code: None,
            refusal: None,
        },
        Err(e) => TransferOut {
            allowed: false,
            basis: None,
            decision: None,
            refusal_code: Some(e.code.as_str().into()),
            refusal: Some(e.detail.clone()),
        },
    }
}

pub fn render(view: &RecipientView) -> RecipientOut {
    let (row, i) = (&view.recipient.row, view.recipient.input.clone());
    RecipientOut {
        id: row.id,
        country_name: countries().get(&i.country).cloned(),
        name: i.name,
        role: i.role,
        country: i.country,
        purposes: i.purposes,
        data_categories: i.data_categories,
        contact: i.contact,
        contract_reference: i.contract_reference,
        contract_date: i.contract_date,
        processor_id: i.processor_id,
        transfer_mechanism: i.transfer_mechanism,
        scc_module: i.scc_module,
        derogation_ground: i.derogation_ground,
        within_decision_scope: i.within_decision_scope,
        mechanism_expires_on: i.mechanism_expires_on,
        notes: i.notes,
        created_at: rfc3339_millis(row.created_at),
        updated_at: rfc3339_millis(row.updated_at),
        ended_at: row.ended_at.map(rfc3339_millis),
        transfer: transfer_out(&view.transfer),
    }
}

#[derive(Debug, Serialize)]
pub struct RecipientPage {
    pub items: Vec<RecipientOut>,
    pub next_cursor: Option<String>,
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<RecipientPage>> {
    let items = recipients::list(&state, &who).await?.iter().map(render).collect();
    Ok(Json(RecipientPage { items, next_cursor: None }))
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WriteRecipients>,
    ApiJson(input): ApiJson<RecipientInput>,
) -> ApiResult<(StatusCode, Json<RecipientOut>)> {
    Ok((StatusCode::CREATED, Json(render(&recipients::create(&state, &who, input).await?))))
}

async fn get(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<RecipientOut>> {
    let id = path_id_once(state.authorizer.authorize_accountability(&who.principal, false), &id)?;
    Ok(Json(render(&recipients::get(&state, &who, id).await?)))
}

async fn replace(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WriteRecipients>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RecipientInput>,
) -> ApiResult<Json<RecipientOut>> {
    Ok(Json(render(&recipients::update(&state, &who, path_id(&id)?, input).await?)))
}

async fn end(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WriteRecipients>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    recipients::end(&state, &who, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The adequacy decisions in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdequacyOut {
    /// `shipped` (the list Kith comes with) or `operator` (replaced by the DPO).
    pub source: String,
    pub decisions: Vec<AdequacyDecision>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdequacyInput {
    pub decisions: Vec<AdequacyDecision>,
}

async fn adequacy(State(state): State<AppState>, who: Caller) -> ApiResult<Json<AdequacyOut>> {
    let (decisions, shipped) = recipients::decisions(&state, &who).await?;
    Ok(Json(AdequacyOut { source: if shipped { "shipped" } else { "operator" }.into(), decisions }))
}

async fn replace_adequacy(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WriteRecipients>,
    ApiJson(input): ApiJson<AdequacyInput>,
) -> ApiResult<Json<AdequacyOut>> {
    recipients::set_decisions(&state, &who, input.decisions).await?;
    adequacy(State(state), who).await
}

/// What one recipient received of one person.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureOut {
    /// Null for a key issued before the register, known by its name alone.
    pub recipient_id: Option<Uuid>,
    pub recipient: String,
    pub role: Option<RecipientRole>,
    pub country: Option<String>,
    /// Field classes: `identity`, `contact_details`, `address`, ...
    pub categories: Vec<String>,
    pub first_at: String,
    pub last_at: String,
    /// How many audited reads and writes.
    pub events: u64,
}

#[derive(Debug, Serialize)]
pub struct DisclosurePage {
    pub items: Vec<DisclosureOut>,
    pub next_cursor: Option<String>,
}

pub fn render_disclosure(d: &Disclosure) -> DisclosureOut {
    DisclosureOut {
        recipient_id: d.recipient_id,
        recipient: d.recipient.clone(),
        role: d.role,
        country: d.country.clone(),
        categories: d.categories.iter().cloned().collect(),
        first_at: rfc3339_millis(d.first_at),
        last_at: rfc3339_millis(d.last_at),
        events: d.events,
    }
}

async fn of_person(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DisclosurePage>> {
    let id = path_id_once(state.authorizer.authorize_accountability(&who.principal, false), &id)?;
    let items = recipients::of_person(&state, &who, id).await?.iter().map(render_disclosure).collect();
    Ok(Json(DisclosurePage { items, next_cursor: None }))
}

/// The routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <RecipientInput as ToSchema>::schemas(&mut nested);
    <RecipientOut as ToSchema>::schemas(&mut nested);
    <AdequacyOut as ToSchema>::schemas(&mut nested);
    <DisclosureOut as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    for (name, schema) in [
        ("RecipientInput", RecipientInput::schema()),
        ("Recipient", RecipientOut::schema()),
        ("RecipientPage", page_schema(Ref::from_schema_name("Recipient")).into()),
        ("TransferOut", TransferOut::schema()),
        ("AdequacyDecision", AdequacyDecision::schema()),
        ("AdequacyDecisions", AdequacyOut::schema()),
        ("AdequacyInput", AdequacyInput::schema()),
        ("Disclosure", DisclosureOut::schema()),
        ("DisclosurePage", page_schema(Ref::from_schema_name("Disclosure")).into()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let unfit = "a rule is broken: unknown country, a processor without contract, a mechanism inside the EEA, \
                 clauses without module, a derogation without ground";
    api.route(
        HttpMethod::Get,
        "/api/v1/recipients",
        list,
        operation("list_recipients", "recipients", "The register of recipients with their transfer state (admin, auditor, dpo)")
            .response("200", json_response("the register", "RecipientPage"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/recipients",
        create,
        operation("create_recipient", "recipients", "Register a processor or third party (dpo)")
            .request_body(Some(json_body("RecipientInput", true)))
            .response("201", json_response("registered", "Recipient"))
            .response("422", problem_response(unfit))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/recipients/{id}",
        get,
        operation("get_recipient", "recipients", "One recipient (admin, auditor, dpo)")
            .parameter(id_parameter())
            .response("200", json_response("the recipient", "Recipient"))
            .response("404", problem_response("no such recipient"))
            .build(),
    )
    .route(
        HttpMethod::Put,
        "/api/v1/recipients/{id}",
        replace,
        operation(
            "replace_recipient",
            "recipients",
            "Change a recipient (dpo); without a valid mechanism its keys stop at once",
        )
        .parameter(id_parameter())
        .request_body(Some(json_body("RecipientInput", true)))
        .response("200", json_response("changed", "Recipient"))
        .response("404", problem_response("no such recipient"))
        .response("409", problem_response("the relationship has ended"))
        .response("422", problem_response(unfit))
        .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/recipients/{id}",
        end,
        operation(
            "end_recipient",
            "recipients",
            "End the relationship (dpo): its keys stop; the entry stays for the record of what it received",
        )
        .parameter(id_parameter())
        .response("204", crate::http::api::described("ended"))
        .response("404", problem_response("no such recipient, or ended already"))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/adequacy",
        adequacy,
        operation("adequacy_decisions", "recipients", "The adequacy decisions in force (admin, auditor, dpo)")
            .response("200", json_response("the decisions", "AdequacyDecisions"))
            .build(),
    )
    .route(
        HttpMethod::Put,
        "/api/v1/adequacy",
        replace_adequacy,
        operation(
            "replace_adequacy_decisions",
            "recipients",
            "Replace the adequacy decisions (dpo), when one is adopted, renewed or annulled",
        )
        .request_body(Some(json_body("AdequacyInput", true)))
        .response("200", json_response("the decisions now in force", "AdequacyDecisions"))
        .response("422", problem_response("an unknown country, a date out of order, a country twice"))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/contacts/{id}/recipients",
        of_person,
        operation(
            "contact_recipients",
            "recipients",
            "Which recipients received this person's data, which categories and when, from the audit log (admin, auditor, dpo)",
        )
        .parameter(id_parameter())
        .response("200", json_response("the recipients", "DisclosurePage"))
        .build(),
    )
}
