//! The segment routes: extract, call `service::segments`, render.

use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{described, id_parameter, json_body, operation, problem_response, Api};
use crate::http::extract::{path_id, path_id_once, ApiJson, ApiQuery};
use crate::listing::{encode_cursor, parse_cursor, DEFAULT_LIMIT, MAX_LIMIT};
use crate::service::segments::{self, Evaluation, Segment};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::purpose::Purpose;
use kith_core::segment::SegmentInput;
use kith_core::EntityKind;
use kith_core::ErrorCode;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::ToSchema;

fn render(segment: &Segment) -> Value {
    json!({
        "id": segment.row.id,
        "name": segment.input.name,
        "description": segment.input.description,
        "filter": segment.input.filter,
        "created_by": segment.row.created_by,
        "created_at": rfc3339_millis(segment.row.created_at),
    })
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(render(&segments::create(&state, &who, input).await?))))
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = segments::list(&state, &who).await?.iter().map(render).collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn get(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(render(
        &segments::get(
            &state,
            &who,
            path_id_once(state.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts), &id)?,
        )
        .await?,
    )))
}

async fn delete(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    segments::delete(&state, &who, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberParams {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The summary every evaluation answers with: no person is named in it.
fn summary(purpose: &Purpose, e: &Evaluation) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    out.insert("purpose".into(), json!(purpose.key));
    out.insert("matched".into(), json!(e.matched));
    out.insert("members".into(), json!(e.members.len()));
    out.insert("excluded".into(), json!(e.excluded));
    out
}

/// A page of the allowed members (full contact records, each audited as
/// read) with the counts of the whole evaluation.
async fn members(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<MemberParams>,
) -> ApiResult<Json<Value>> {
    let id = path_id(&id)?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidQuery, format!("limit: between 1 and {MAX_LIMIT}")));
    }
    let after = params.cursor.as_deref().map(parse_cursor).transpose()?;
    let page = segments::members(&state, &who, id, limit, after).await?;
    let mut body = summary(&page.purpose, &page.evaluation);
    body.insert("items".into(), Value::Array(page.items));
    body.insert("next_cursor".into(), json!(page.last.map(|(at, id)| encode_cursor(at, id))));
    Ok(Json(Value::Object(body)))
}

/// Counts only: the aggregate analytics and planning need, naming nobody.
async fn count(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (purpose, evaluation) = segments::count(&state, &who, path_id(&id)?).await?;
    Ok(Json(Value::Object(summary(&purpose, &evaluation))))
}

/// The segment routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <SegmentInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push(("SegmentInput".into(), <SegmentInput as utoipa::PartialSchema>::schema()));
    api.route(
        HttpMethod::Post,
        "/api/v1/segments",
        create,
        operation("create_segment", "segments", "Save a filter over contacts")
            .request_body(Some(json_body("SegmentInput", true)))
            .response("201", described("saved"))
            .response("422", problem_response("an invalid filter"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/segments",
        list,
        operation("list_segments", "segments", "The saved segments").response("200", described("the segments")).build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/segments/{id}",
        get,
        operation("get_segment", "segments", "One segment")
            .parameter(id_parameter())
            .response("200", described("the segment"))
            .response("404", problem_response("no such segment"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/segments/{id}",
        delete,
        operation("delete_segment", "segments", "Delete a segment")
            .parameter(id_parameter())
            .response("204", described("deleted"))
            .response("404", problem_response("no such segment"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/segments/{id}/members",
        members,
        operation(
            "segment_members",
            "segments",
            "The members the request's purpose allows, with counts of those left out by reason",
        )
        .parameter(id_parameter())
        .response("200", described("a page of members and the counts"))
        .response("404", problem_response("no such segment"))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/segments/{id}/count",
        count,
        operation("segment_count", "segments", "How many people the segment matches, allows and leaves out, by reason")
            .parameter(id_parameter())
            .response("200", described("the counts"))
            .response("404", problem_response("no such segment"))
            .build(),
    )
}
