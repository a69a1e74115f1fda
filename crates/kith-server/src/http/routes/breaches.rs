//! The breach register's routes: extract, call `service::breaches`, render.

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{
    id_parameter, json_body, json_content, json_response, operation, page_schema, problem_response, Api,
};
use crate::http::extract::{path_id_once, ApiJson, ApiQuery};
use crate::http::guard::{Guard, ManageBreaches};
use crate::service::breaches::{self, Breach, Queued};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kith_core::breach::{AffectedSummary, BreachInput, BreachPatch, BreachScope, BreachStatus, ClockState, Risk};
use kith_core::ErrorCode;
use kith_store::BreachUpdateRow;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{HttpMethod, ParameterIn};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

/// A dated change of a breach.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreachChange {
    pub at: String,
    pub actor: String,
    pub fields: Vec<String>,
    /// Information given in this phase (Art. 33(4)).
    pub note: Option<String>,
}

/// A breach of the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreachOut {
    pub id: Uuid,
    pub status: BreachStatus,
    pub title: String,
    pub aware_at: String,
    /// `aware_at` + 72 hours (Art. 33(1)).
    pub authority_due_at: String,
    pub authority_notified_at: Option<String>,
    pub authority_reference: Option<String>,
    /// Where the 72-hour clock stands.
    pub clock: ClockState,
    /// Whether the authority must be notified (any risk).
    pub authority_notification_due: bool,
    /// Whether the people must be told (a high risk to intelligible data).
    pub people_notification_due: bool,
    pub occurred_from: Option<String>,
    pub occurred_to: Option<String>,
    pub nature: String,
    pub data_categories: Vec<String>,
    pub subject_categories: Vec<String>,
    pub approximate_people: Option<u64>,
    pub approximate_records: Option<u64>,
    pub consequences: String,
    pub measures_taken: String,
    pub measures_proposed: String,
    pub risk: Risk,
    pub data_unintelligible: bool,
    pub delay_reasons: Option<String>,
    /// The alert it was opened from.
    pub alert_id: Option<Uuid>,
    /// The scope the affected people were last computed from.
    pub scope: Option<BreachScope>,
    pub created_at: String,
    pub updated_at: String,
    /// Only on a single breach: its dated changes.
    pub updates: Option<Vec<BreachChange>>,
    /// Only on a single breach: the people computed from the audit log.
    pub affected: Option<AffectedSummary>,
}

fn render(b: &Breach) -> BreachOut {
    let d = b.record.description.clone();
    BreachOut {
        id: b.row.id,
        status: b.status(),
        title: d.title,
        aware_at: rfc3339_millis(b.row.aware_at),
        authority_due_at: rfc3339_millis(b.row.authority_due_at),
        authority_notified_at: b.row.authority_notified_at.map(rfc3339_millis),
        authority_reference: b.record.authority_reference.clone(),
        clock: b.clock,
        authority_notification_due: b.authority_due,
        people_notification_due: b.people_due,
        occurred_from: d.occurred_from,
        occurred_to: d.occurred_to,
        nature: d.nature,
        data_categories: d.data_categories,
        subject_categories: d.subject_categories,
        approximate_people: d.approximate_people,
        approximate_records: d.approximate_records,
        consequences: d.consequences,
        measures_taken: d.measures_taken,
        measures_proposed: d.measures_proposed,
        risk: d.risk,
        data_unintelligible: d.data_unintelligible,
        delay_reasons: d.delay_reasons,
        alert_id: b.record.alert_id,
        scope: b.record.scope.clone(),
        created_at: rfc3339_millis(b.row.created_at),
        updated_at: rfc3339_millis(b.row.updated_at),
        updates: None,
        affected: None,
    }
}

fn change_out(u: &BreachUpdateRow) -> BreachChange {
    BreachChange {
        at: rfc3339_millis(u.at),
        actor: u.actor.clone(),
        fields: u.fields.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect(),
        note: u.note.clone(),
    }
}

#[derive(Debug, Serialize)]
struct BreachPage {
    items: Vec<BreachOut>,
    next_cursor: Option<String>,
}

fn breach_id(state: &AppState, who: &Caller, raw: &str) -> ApiResult<Uuid> {
    path_id_once(state.authorizer.authorize_breaches(&who.principal), raw)
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<BreachPage>> {
    let items = breaches::list(&state, &who).await?.iter().map(render).collect();
    Ok(Json(BreachPage { items, next_cursor: None }))
}

async fn open(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageBreaches>,
    ApiJson(input): ApiJson<BreachInput>,
) -> ApiResult<(StatusCode, Json<BreachOut>)> {
    Ok((StatusCode::CREATED, Json(render(&breaches::open(&state, &who, input).await?))))
}

async fn get(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<BreachOut>> {
    let id = breach_id(&state, &who, &id)?;
    let (breach, updates, affected) = breaches::get(&state, &who, id).await?;
    Ok(Json(BreachOut {
        updates: Some(updates.iter().map(change_out).collect()),
        affected: Some(affected),
        ..render(&breach)
    }))
}

async fn patch(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageBreaches>,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<BreachPatch>,
) -> ApiResult<Json<BreachOut>> {
    let id = breach_id(&state, &who, &id)?;
    Ok(Json(render(&breaches::patch(&state, &who, id, change).await?)))
}

/// The people a scope reached: counts, and their ids (never a value).
#[derive(Debug, Serialize, ToSchema)]
pub struct AffectedOut {
    pub people: u64,
    pub events: u64,
    pub by_category: std::collections::BTreeMap<String, u64>,
    pub subject_ids: Vec<Uuid>,
}

async fn affected(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageBreaches>,
    Path(id): Path<String>,
    ApiJson(scope): ApiJson<BreachScope>,
) -> ApiResult<Json<AffectedOut>> {
    let id = breach_id(&state, &who, &id)?;
    let summary = breaches::affected(&state, &who, id, scope).await?;
    let subject_ids = breaches::affected_people(&state, &who, id).await?.into_iter().map(|p| p.subject_id).collect();
    Ok(Json(AffectedOut {
        people: summary.people,
        events: summary.events,
        by_category: summary.by_category,
        subject_ids,
    }))
}

/// The draft's form.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DraftParams {
    /// `json` (the default) or `md`.
    format: Option<String>,
}

/// The Art. 33(3) notification, with each required item.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorityDraft {
    pub breach_id: Uuid,
    pub aware_at: String,
    pub due_at: String,
    pub late: bool,
    pub delay_reasons: Option<String>,
    pub nature: String,
    pub subject_categories: Vec<String>,
    pub approximate_people: Option<u64>,
    pub data_categories: Vec<String>,
    pub approximate_records: Option<u64>,
    pub affected: AffectedSummary,
    /// The DPO's (or else the controller's) name and contact; null until set.
    pub contact: Option<String>,
    pub consequences: String,
    pub measures_taken: String,
    pub measures_proposed: String,
    /// The whole notification as Markdown.
    pub markdown: String,
}

async fn authority(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<DraftParams>,
) -> ApiResult<Response> {
    let id = breach_id(&state, &who, &id)?;
    let format = params.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "md") {
        return Err(ApiError::new(ErrorCode::InvalidQuery, "format: json or md"));
    }
    let (breach, affected, controller, markdown) = breaches::authority_draft(&state, &who, id).await?;
    if format == "md" {
        return Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], markdown).into_response());
    }
    let d = &breach.record.description;
    let late = match breach.row.authority_notified_at {
        Some(at) => at > breach.row.authority_due_at,
        None => crate::now_millis() > breach.row.authority_due_at,
    };
    Ok(Json(AuthorityDraft {
        breach_id: id,
        aware_at: rfc3339_millis(breach.row.aware_at),
        due_at: rfc3339_millis(breach.row.authority_due_at),
        late,
        delay_reasons: d.delay_reasons.clone(),
        nature: d.nature.clone(),
        subject_categories: d.subject_categories.clone(),
        approximate_people: d.approximate_people,
        data_categories: d.data_categories.clone(),
        approximate_records: d.approximate_records,
        affected,
        contact: controller.map(|c| c.privacy_contact().line()),
        consequences: d.consequences.clone(),
        measures_taken: d.measures_taken.clone(),
        measures_proposed: d.measures_proposed.clone(),
        markdown,
    })
    .into_response())
}

/// Where the notice to one person stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeOut {
    pub contact_id: Uuid,
    pub queued_at: String,
    /// When the mail integration took it.
    pub sent_at: Option<String>,
}

/// The Art. 34 notice and where it stands for each person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeopleDraftOut {
    /// Whether the people must be told (a high risk to intelligible data).
    pub due: bool,
    pub subject: String,
    pub text: String,
    /// People computed for the breach.
    pub people: u64,
    pub items: Vec<NoticeOut>,
}

async fn people(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<PeopleDraftOut>> {
    let id = breach_id(&state, &who, &id)?;
    let d = breaches::people_draft(&state, &who, id).await?;
    Ok(Json(PeopleDraftOut {
        due: d.due,
        subject: d.subject,
        text: d.text,
        people: d.people,
        items: d
            .notices
            .iter()
            .map(|n| NoticeOut {
                contact_id: n.subject_id,
                queued_at: rfc3339_millis(n.queued_at),
                sent_at: n.sent_at.map(rfc3339_millis),
            })
            .collect(),
    }))
}

async fn send(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Queued>> {
    let id = breach_id(&state, &who, &id)?;
    Ok(Json(breaches::send_notices(&state, &who, id).await?))
}

/// A candidate opened from an alert, with the people computed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    pub breach: BreachOut,
    pub affected: AffectedSummary,
}

async fn from_alert(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<CandidateOut>)> {
    let id = breach_id(&state, &who, &id)?;
    let (breach, affected) = breaches::from_alert(&state, &who, id).await?;
    Ok((StatusCode::CREATED, Json(CandidateOut { breach: render(&breach), affected })))
}

/// The routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <BreachInput as ToSchema>::schemas(&mut nested);
    <BreachPatch as ToSchema>::schemas(&mut nested);
    <BreachOut as ToSchema>::schemas(&mut nested);
    <AuthorityDraft as ToSchema>::schemas(&mut nested);
    <CandidateOut as ToSchema>::schemas(&mut nested);
    <PeopleDraftOut as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    for (name, schema) in [
        ("BreachInput", BreachInput::schema()),
        ("BreachPatch", BreachPatch::schema()),
        ("BreachScope", BreachScope::schema()),
        ("Breach", BreachOut::schema()),
        ("BreachPage", page_schema(Ref::from_schema_name("Breach")).into()),
        ("BreachChange", BreachChange::schema()),
        ("AffectedSummary", AffectedSummary::schema()),
        ("AffectedPeople", AffectedOut::schema()),
        ("AuthorityDraft", AuthorityDraft::schema()),
        ("PeopleDraft", PeopleDraftOut::schema()),
        ("NoticeOut", NoticeOut::schema()),
        ("NoticesQueued", Queued::schema()),
        ("BreachCandidate", CandidateOut::schema()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let id = id_parameter;
    let missing = || problem_response("no such breach");
    api.route(
        HttpMethod::Get,
        "/api/v1/breaches",
        list,
        operation("list_breaches", "breaches", "The breach register with each 72-hour clock, newest first (dpo)")
            .response("200", json_response("the register", "BreachPage"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/breaches",
        open,
        operation("open_breach", "breaches", "Record a breach; its authority deadline is aware_at + 72 h (dpo)")
            .request_body(Some(json_body("BreachInput", true)))
            .response("201", json_response("recorded", "Breach"))
            .response("422", problem_response("a rule is broken: aware_at in the future, an unknown category"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/breaches/{id}",
        get,
        operation("get_breach", "breaches", "One breach with its dated changes and the people computed (dpo)")
            .parameter(id())
            .response("200", json_response("the breach", "Breach"))
            .response("404", missing())
            .build(),
    )
    .route(
        HttpMethod::Patch,
        "/api/v1/breaches/{id}",
        patch,
        operation(
            "update_breach",
            "breaches",
            "Change a breach, record the authority's notification or a phase of information (dpo)",
        )
        .parameter(id())
        .request_body(Some(json_body("BreachPatch", true)))
        .response("200", json_response("changed", "Breach"))
        .response("404", missing())
        .response("409", problem_response("a closed breach stays closed; or it changed meanwhile"))
        .response("422", problem_response("a late notification without reasons, a time in the future"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/breaches/{id}/affected",
        affected,
        operation(
            "compute_breach_affected",
            "breaches",
            "The people whose data was read or changed in a scope, from the audit log; kept with the breach (dpo)",
        )
        .parameter(id())
        .request_body(Some(json_body("BreachScope", true)))
        .response("200", json_response("counts and ids", "AffectedPeople"))
        .response("404", missing())
        .response("409", problem_response("the breach changed meanwhile"))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/breaches/{id}/notifications/authority",
        authority,
        operation(
            "breach_authority_draft",
            "breaches",
            "The Art. 33(3) notification to the supervisory authority (dpo)",
        )
        .parameter(id())
        .parameters(Some(DraftParams::into_params(|| Some(ParameterIn::Query))))
        .response(
            "200",
            ResponseBuilder::new()
                .description("the draft: JSON with each item, or Markdown by `format=md`")
                .content("application/json", json_content(Ref::from_schema_name("AuthorityDraft")))
                .content("text/markdown", ContentBuilder::new().build())
                .build(),
        )
        .response("404", missing())
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/breaches/{id}/notifications/people",
        people,
        operation("breach_people_draft", "breaches", "The Art. 34 notice to each person, and where it stands (dpo)")
            .parameter(id())
            .response("200", json_response("the notice", "PeopleDraft"))
            .response("404", missing())
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/breaches/{id}/notifications/people",
        send,
        operation(
            "send_breach_notices",
            "breaches",
            "Queue the notice to every affected person with an address, for the mail integration (dpo)",
        )
        .parameter(id())
        .response("200", json_response("how many were queued", "NoticesQueued"))
        .response("404", missing())
        .response(
            "409",
            problem_response("the breach is not open, no notice is due, or the controller's details are not set"),
        )
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/alerts/{id}/breach",
        from_alert,
        operation(
            "breach_from_alert",
            "breaches",
            "Open a candidate breach from an alert, its scope the alert's actor and window (dpo)",
        )
        .parameter(id())
        .response("201", json_response("the candidate and the people computed", "BreachCandidate"))
        .response("404", problem_response("no such alert"))
        .response("409", problem_response("a breach was opened from this alert already"))
        .response("422", problem_response("the alert's actor names no credential whose reads can be searched"))
        .build(),
    )
}
