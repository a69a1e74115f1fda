//! The capture routes: form management and the outbox for staff, and the
//! public submission and confirmation endpoints; extract, call
//! `service::capture`, render.

use crate::auth::caller::{Caller, PublicRequest};
use crate::clock::rfc3339_millis;
use crate::error::ApiResult;
use crate::http::api::{json_body, json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, WritePurposes};
use crate::service::capture;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::capture::{FormInput, SubmissionInput};
use kith_store::FormRow;
use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::ResponseBuilder;
use utoipa::ToSchema;

fn render_form(form: &FormRow) -> Value {
    json!({
        "key": form.key,
        "name": form.name,
        "purposes": form.purposes,
        "notice_version": form.notice_version,
        "source": form.source,
        "created_at": rfc3339_millis(form.created_at),
        "created_by": form.created_by,
        "disabled_at": form.disabled_at.map(rfc3339_millis),
        "submit_path": format!("/api/v1/public/forms/{}/submissions", form.key),
    })
}

async fn add_form(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WritePurposes>,
    ApiJson(input): ApiJson<FormInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(render_form(&capture::add_form(&state, &who, input).await?))))
}

async fn list_forms(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = capture::forms(&state, &who).await?.iter().map(render_form).collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn disable_form(State(state): State<AppState>, who: Caller, Path(key): Path<String>) -> ApiResult<StatusCode> {
    capture::disable_form(&state, &who, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn submit(
    State(state): State<AppState>,
    Path(form_key): Path<String>,
    request: PublicRequest,
    ApiJson(input): ApiJson<SubmissionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    capture::submit(&state, &form_key, request, input).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "confirmation_sent"}))))
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: PublicRequest,
) -> ApiResult<Json<Value>> {
    capture::confirm(&state, &token, request).await?;
    Ok(Json(json!({"status": "confirmed"})))
}

async fn claim_outbox(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = capture::claim_outbox(&state, &who)
        .await?
        .into_iter()
        .map(|out| {
            let note = out.message;
            json!({
                "id": out.id,
                "to": note.to,
                "subject": note.subject,
                "text": note.text,
                "token": note.token,
                "confirm_url": note.confirm_url,
                "expires_at": note.expires_at,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn gpc_json() -> Json<Value> {
    Json(json!({"gpc": true, "lastUpdate": kith_core::capture::GPC_LAST_UPDATE}))
}

fn path_parameter(name: &str) -> utoipa::openapi::path::Parameter {
    crate::http::api::text_parameter(name, name)
}

fn ok(what: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(what).content("application/json", json_content(ObjectBuilder::new())).build()
}

/// Form management and the outbox, for authenticated staff.
pub fn routes(mut api: Api) -> Api {
    api.schemas.push(("FormInput".into(), <FormInput as utoipa::PartialSchema>::schema()));
    api.route(
        HttpMethod::Post,
        "/api/v1/forms",
        add_form,
        operation("add_form", "capture", "Add a public capture form (admin, dpo); answers its public key")
            .request_body(Some(json_body("FormInput", true)))
            .response("201", ok("the form with its key"))
            .response("422", problem_response("unknown purpose or notice version, or an invalid field"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/forms",
        list_forms,
        operation("list_forms", "capture", "Capture forms, disabled ones too").response("200", ok("the forms")).build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/forms/{key}",
        disable_form,
        operation("disable_form", "capture", "Disable a form (admin, dpo): its submissions and confirmations stop")
            .parameter(path_parameter("key"))
            .response("204", ResponseBuilder::new().description("disabled").build())
            .response("404", problem_response("no such enabled form"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/outbox/claim",
        claim_outbox,
        operation(
            "claim_outbox",
            "capture",
            "Take confirmation messages to deliver (admin, dpo); they are deleted as they are handed out",
        )
        .response("200", ok("the messages"))
        .build(),
    )
}

fn public_operation(id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new()
        .operation_id(Some(id))
        .tag("capture")
        .summary(Some(summary))
        .response("429", problem_response("too many requests; see Retry-After"))
}

/// The endpoints web forms and confirmation pages call without
/// authentication; the caller puts the rate limit in front of them.
pub fn public_routes(mut api: Api) -> Api {
    api.schemas.push(("SubmissionInput".into(), <SubmissionInput as utoipa::PartialSchema>::schema()));
    let mut nested = Vec::new();
    <SubmissionInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.route(
        HttpMethod::Post,
        "/api/v1/public/forms/{form_key}/submissions",
        submit,
        public_operation(
            "submit_form",
            "Submit a capture form: a confirmation message is queued for the address (the same answer whether the address is known or not); Sec-GPC: 1 objects to sale, sharing and marketing",
        )
        .parameter(path_parameter("form_key"))
        .request_body(Some(json_body("SubmissionInput", true)))
        .response("202", ok("confirmation_sent"))
        .response("404", problem_response("no such enabled form"))
        .response("415", problem_response("the body is not application/json"))
        .response("422", problem_response("a field is unknown, missing or invalid, or a purpose is not the form's"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/public/confirmations/{token}",
        confirm,
        public_operation(
            "confirm_submission",
            "Confirm a submission with the token sent to its address (double opt-in): the consent enters the person's ledger",
        )
        .parameter(path_parameter("token"))
        .response("200", ok("confirmed"))
        .response("410", problem_response("the token is unknown, used or expired"))
        .build(),
    )
}

/// `/.well-known/gpc.json`: this site honours the Global Privacy Control.
pub fn gpc_route(api: Api) -> Api {
    api.route(
        HttpMethod::Get,
        "/.well-known/gpc.json",
        gpc_json,
        OperationBuilder::new()
            .operation_id(Some("gpc"))
            .tag("service")
            .summary(Some("The Global Privacy Control support resource"))
            .response("200", ok("{\"gpc\": true, \"lastUpdate\": ...}"))
            .build(),
    )
}
