//! The erasure routes: extract, call `service::erasure`, render.

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::ApiResult;
use crate::http::api::{described, id_parameter, json_body, operation, problem_response, Api};
use crate::http::extract::{path_id, path_id_once, ApiJson};
use crate::http::guard::{Guard, ManageErasure};
use crate::service::erasure::{self, ErasureExceptionInput, Exception, Ground};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::ToSchema;

fn render_exception(exception: &Exception) -> Value {
    let row = &exception.row;
    json!({
        "id": row.id,
        "ground": row.ground,
        "note": exception.note,
        "at": rfc3339_millis(row.at),
        "recorded_by": row.recorded_by,
    })
}

/// The DPO records a legal hold or an Art. 17(3) ground.
async fn add_exception(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageErasure>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ErasureExceptionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let contact = path_id(&id)?;
    let exception = erasure::add_exception(&state, &who, contact, input).await?;
    Ok((StatusCode::CREATED, Json(render_exception(&exception))))
}

/// The exceptions recorded for a person, with the DPO's notes.
async fn list_exceptions(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let contact = path_id(&id)?;
    let items: Vec<Value> = erasure::exceptions(&state, &who, contact).await?.iter().map(render_exception).collect();
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// The DPO lifts every exception to the person's erasure.
async fn lift_exceptions(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let contact = path_id(&id)?;
    erasure::lift_exceptions(&state, &who, contact).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed receipt of an erasure request.
async fn receipt(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(
        erasure::receipt(&state, &who, path_id_once(state.authorizer.authorize_erasure(&who.principal), &id)?).await?,
    ))
}

/// The recipients to tell of an erasure (Art. 19), with their status.
async fn notifications(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let items: Vec<Value> =
        erasure::notifications(&state, &who, path_id_once(state.authorizer.authorize_erasure(&who.principal), &id)?)
            .await?
            .iter()
            .map(|n| {
                json!({
                    "api_key_id": n.api_key_id,
                    "recipient": n.recipient,
                    "status": n.status,
                    "created_at": rfc3339_millis(n.created_at),
                })
            })
            .collect();
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// The erasure routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <ErasureExceptionInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push(("Ground".into(), <Ground as utoipa::PartialSchema>::schema()));
    api.schemas.push(("ErasureExceptionInput".into(), <ErasureExceptionInput as utoipa::PartialSchema>::schema()));
    api.route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/erasure-exceptions",
        add_exception,
        operation("add_erasure_exception", "dsr", "Record a legal hold or an Art. 17(3) exception to erasure (dpo)")
            .parameter(id_parameter())
            .request_body(Some(json_body("ErasureExceptionInput", true)))
            .response("201", described("the exception"))
            .response("404", problem_response("no such contact"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/contacts/{id}/erasure-exceptions",
        list_exceptions,
        operation("list_erasure_exceptions", "dsr", "The exceptions to a person's erasure, with their notes (dpo)")
            .parameter(id_parameter())
            .response("200", described("the exceptions"))
            .response("404", problem_response("no such contact"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/contacts/{id}/erasure-exceptions",
        lift_exceptions,
        operation("lift_erasure_exceptions", "dsr", "Lift the exceptions to a person's erasure (dpo)")
            .parameter(id_parameter())
            .response("204", described("lifted"))
            .response("404", problem_response("no exception recorded"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/dsr/{id}/receipt",
        receipt,
        operation("get_erasure_receipt", "dsr", "The erasure receipt, a note signed with the audit key (dpo)")
            .parameter(id_parameter())
            .response("200", described("the receipt and its signed note"))
            .response("404", problem_response("no erasure was carried out for this request"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/dsr/{id}/notifications",
        notifications,
        operation(
            "list_erasure_notifications",
            "dsr",
            "Recipients to tell of an erasure, rectification or restriction (Art. 19; dpo)",
        )
        .parameter(id_parameter())
        .response("200", described("the notification tasks"))
        .build(),
    )
}
