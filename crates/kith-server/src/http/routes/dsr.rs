//! The data-subject request routes: extract, call `service::dsr`, render.

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::ApiResult;
use crate::http::api::{described, id_parameter, json_body, operation, problem_response, Api};
use crate::http::extract::{path_id_once, ApiJson, ApiQuery, MaybeJson};
use crate::http::guard::{Guard, ManageRequests, RegisterRequests};
use crate::service::dsr::{
    self, DsrExtendInput, DsrFulfilInput, DsrInput, DsrRefuseInput, DsrVerifyInput, RegisterQuery, Request,
};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::dsr::RequestStatus;
use kith_store::DsrRow;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::ToSchema;
use uuid::Uuid;

/// The register's view of a request: clear columns only.
fn summary(row: &DsrRow, now: i64) -> Value {
    let open = RequestStatus::parse(&row.status).is_some_and(|s| !s.is_closed());
    let at = |t: Option<i64>| t.map(rfc3339_millis);
    json!({
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "channel": row.channel,
        "contact_id": row.contact_id,
        "purpose": row.purpose,
        "received_at": rfc3339_millis(row.received_at),
        "due_at": rfc3339_millis(row.due_at),
        "overdue": open && row.due_at < now,
        "extended_months": row.extended_months,
        "verified_at": at(row.verified_at),
        "verification_method": row.verification_method,
        "failed_attempts": row.failed_attempts,
        "completed_at": at(row.completed_at),
        "closed_at": at(row.closed_at),
        "created_by": row.created_by,
        "created_at": rfc3339_millis(row.created_at),
        "updated_at": rfc3339_millis(row.updated_at),
        "details_erased_at": at(row.erased_at),
    })
}

/// The whole request, opened.
fn render(request: &Request) -> Value {
    let (row, p) = (&request.row, &request.details);
    let mut out = summary(row, crate::now_millis());
    let Value::Object(fields) = &mut out else { return out };
    let extension = (row.extended_months > 0).then(|| {
        json!({
            "months": row.extended_months,
            "reason": p.extension_reason,
            "person_told_at": row.person_told_at.map(rfc3339_millis),
        })
    });
    let refusal = p.grounds.as_ref().map(|g| json!({"grounds": g, "complaint": p.complaint}));
    for (name, value) in [
        ("email", json!(p.email)),
        ("phone", json!(p.phone)),
        ("note", json!(p.note)),
        ("attestation", json!(p.attestation)),
        ("token_expires_at", json!(row.token_expires_at.map(rfc3339_millis))),
        ("extension", json!(extension)),
        ("refusal", json!(refusal)),
        ("changes", json!(p.changes)),
        ("outcome", json!(p.outcome)),
    ] {
        fields.insert(name.into(), value);
    }
    out
}

/// The request id in the path, read only once the caller may use the
/// register (`write`: act on it): a refused caller is answered 403 whatever
/// the path holds, as before the id is looked at.
pub(super) fn request_id(state: &AppState, who: &Caller, raw: &str, write: bool) -> ApiResult<Uuid> {
    path_id_once(state.authorizer.authorize_requests(&who.principal, write), raw)
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<RegisterRequests>,
    ApiJson(input): ApiJson<DsrInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let request = dsr::register_for_staff(&state, &who, &input).await?;
    Ok((StatusCode::CREATED, Json(render(&request))))
}

async fn list(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(params): ApiQuery<RegisterQuery>,
) -> ApiResult<Json<Value>> {
    let listed = dsr::list(&state, &who, params).await?;
    let now = crate::now_millis();
    let items: Vec<Value> = listed.rows.iter().map(|row| summary(row, now)).collect();
    Ok(Json(json!({"items": items, "next_cursor": listed.next_cursor})))
}

async fn get(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(render(&dsr::get(&state, &who, request_id(&state, &who, &id, false)?).await?)))
}

async fn issue_token(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let issued = dsr::issue_token(&state, &who, request_id(&state, &who, &id, true)?).await?;
    let row = &issued.request.row;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": row.id,
            "status": row.status,
            "token": issued.token,
            "expires_at": row.token_expires_at.map(rfc3339_millis),
        })),
    ))
}

async fn verify(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageRequests>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DsrVerifyInput>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(&dsr::verify(&state, &who, request_id(&state, &who, &id, true)?, input).await?)))
}

async fn unlock(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(render(&dsr::unlock(&state, &who, request_id(&state, &who, &id, true)?).await?)))
}

async fn extend(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageRequests>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DsrExtendInput>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(&dsr::extend(&state, &who, request_id(&state, &who, &id, true)?, input).await?)))
}

async fn refuse(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageRequests>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DsrRefuseInput>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(&dsr::refuse(&state, &who, request_id(&state, &who, &id, true)?, input).await?)))
}

async fn withdraw(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(render(&dsr::withdraw(&state, &who, request_id(&state, &who, &id, true)?).await?)))
}

async fn fulfil(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageRequests>,
    Path(id): Path<String>,
    MaybeJson(input): MaybeJson<DsrFulfilInput>,
) -> ApiResult<Json<Value>> {
    let fulfilled = dsr::fulfil(&state, &who, request_id(&state, &who, &id, true)?, input).await?;
    let mut answer = render(&fulfilled.request);
    if let Some(receipt) = fulfilled.receipt {
        answer["receipt"] = receipt;
    }
    Ok(Json(answer))
}

/// The data-subject request routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <DsrInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    for (name, schema) in [
        ("DsrInput", <DsrInput as utoipa::PartialSchema>::schema()),
        ("DsrVerifyInput", <DsrVerifyInput as utoipa::PartialSchema>::schema()),
        ("DsrExtendInput", <DsrExtendInput as utoipa::PartialSchema>::schema()),
        ("DsrRefuseInput", <DsrRefuseInput as utoipa::PartialSchema>::schema()),
        ("DsrFulfilInput", <DsrFulfilInput as utoipa::PartialSchema>::schema()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let step_op = |id: &str, summary: &str| {
        operation(id, "dsr", summary)
            .parameter(id_parameter())
            .response("200", described("the request"))
            .response("404", problem_response("no such request"))
            .response("409", problem_response("the request cannot take this step now"))
    };
    api.route(
        HttpMethod::Post,
        "/api/v1/dsr",
        create,
        operation("create_dsr", "dsr", "Register a data-subject request (dpo, support)")
            .request_body(Some(json_body("DsrInput", true)))
            .response("201", described("registered, with its deadline"))
            .response("422", problem_response("an invalid field, or an unknown contact"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/dsr",
        list,
        operation("list_dsr", "dsr", "The register by due date; status, and due=open|due_soon|overdue (dpo, support)")
            .response("200", described("a page of requests"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/dsr/{id}",
        get,
        operation("get_dsr", "dsr", "One request, opened (dpo, support)")
            .parameter(id_parameter())
            .response("200", described("the request"))
            .response("404", problem_response("no such request"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/verification-token",
        issue_token,
        operation("issue_dsr_token", "dsr", "Issue a single-use verification token for the person, shown once (dpo)")
            .parameter(id_parameter())
            .response("201", described("the token and its expiry"))
            .response("404", problem_response("no such request"))
            .response("409", problem_response("the request is locked, verified or closed"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/verify",
        verify,
        step_op("verify_dsr", "Verify the person's identity by token or staff attestation (dpo)")
            .request_body(Some(json_body("DsrVerifyInput", true)))
            .response("422", problem_response("a wrong, used or expired token"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/unlock",
        unlock,
        step_op("unlock_dsr", "Unlock a request locked by failed verifications (dpo)").build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/extend",
        extend,
        step_op("extend_dsr", "Extend the deadline once by one or two months (Art. 12(3); dpo)")
            .request_body(Some(json_body("DsrExtendInput", true)))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/refuse",
        refuse,
        step_op("refuse_dsr", "Refuse with grounds and the right to complain (Art. 12(4); dpo)")
            .request_body(Some(json_body("DsrRefuseInput", true)))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/withdraw",
        withdraw,
        step_op("withdraw_dsr", "The person withdrew the request (dpo)").build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/fulfil",
        fulfil,
        step_op("fulfil_dsr", "Carry a verified request out (erasure, restriction, objection, rectification; dpo)")
            .request_body(Some(json_body("DsrFulfilInput", false)))
            .build(),
    )
}
