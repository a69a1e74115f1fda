//! The controller's details and the record of processing activities:
//! extract, call `service::ropa`, render (JSON, Markdown, HTML or fideslang).

use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{json_body, json_content, json_response, operation, problem_response, Api};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::guard::{Guard, WriteController};
use crate::service::ropa;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kith_core::controller::ControllerDetails;
use kith_core::ropa::{fideslang_systems, html, markdown, Ropa};
use kith_core::ErrorCode;
use serde::Deserialize;
use utoipa::openapi::path::{HttpMethod, ParameterIn};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{IntoParams, PartialSchema, ToSchema};

async fn controller(State(state): State<AppState>, who: Caller) -> ApiResult<Json<ControllerDetails>> {
    ropa::controller(&state, &who)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "the controller's details are not set yet"))
}

async fn set_controller(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WriteController>,
    ApiJson(details): ApiJson<ControllerDetails>,
) -> ApiResult<Json<ControllerDetails>> {
    Ok(Json(ropa::set_controller(&state, &who, details).await?))
}

/// The record's form.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RopaParams {
    /// `json` (the default), `md` or `html`.
    format: Option<String>,
}

async fn record(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(params): ApiQuery<RopaParams>,
) -> ApiResult<Response> {
    let format = params.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "md" | "html") {
        return Err(ApiError::new(ErrorCode::InvalidQuery, "format: json, md or html"));
    }
    let ropa = ropa::record(&state, &who).await?;
    let text =
        |content_type: &'static str, body: String| ([(header::CONTENT_TYPE, content_type)], body).into_response();
    Ok(match format {
        "md" => text("text/markdown; charset=utf-8", markdown(&ropa)),
        "html" => text("text/html; charset=utf-8", html(&ropa)),
        _ => Json(ropa).into_response(),
    })
}

/// The record as fideslang `system` resources.
async fn fideslang(State(state): State<AppState>, who: Caller) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(fideslang_systems(&ropa::record(&state, &who).await?)))
}

/// The routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <ControllerDetails as ToSchema>::schemas(&mut nested);
    <Ropa as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push(("ControllerDetails".into(), ControllerDetails::schema()));
    api.schemas.push(("Ropa".into(), Ropa::schema()));
    let details = |what: &str| json_response(what, "ControllerDetails");
    api.route(
        HttpMethod::Get,
        "/api/v1/controller",
        controller,
        operation(
            "controller_details",
            "accountability",
            "The controller, its DPO and representative, and the controllers it processes for (admin, auditor, dpo)",
        )
        .response("200", details("the details"))
        .response("404", problem_response("not set yet"))
        .build(),
    )
    .route(
        HttpMethod::Put,
        "/api/v1/controller",
        set_controller,
        operation("set_controller_details", "accountability", "Set the controller's details (dpo)")
            .request_body(Some(json_body("ControllerDetails", true)))
            .response("200", details("the details now set"))
            .response("422", problem_response("a name missing, an address malformed"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/ropa",
        record,
        operation(
            "ropa",
            "accountability",
            "The record of processing activities (Art. 30), generated from the installation (admin, auditor, dpo)",
        )
        .parameters(Some(RopaParams::into_params(|| Some(ParameterIn::Query))))
        .response(
            "200",
            ResponseBuilder::new()
                .description("the record: JSON, or Markdown or HTML by `format`")
                .content("application/json", json_content(Ref::from_schema_name("Ropa")))
                .content("text/markdown", ContentBuilder::new().build())
                .content("text/html", ContentBuilder::new().build())
                .build(),
        )
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/ropa/fideslang",
        fideslang,
        operation(
            "ropa_fideslang",
            "accountability",
            "The record as fideslang system resources: this installation and each recipient (admin, auditor, dpo)",
        )
        .response(
            "200",
            ResponseBuilder::new()
                .description("`{\"system\": [...]}`, valid against the fideslang System model")
                .content("application/json", ContentBuilder::new().build())
                .build(),
        )
        .build(),
    )
}
