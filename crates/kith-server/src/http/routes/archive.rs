//! The access and portability archive routes: a download link, the
//! archive as `application/zip`, and the published schema of `data.json`.

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::ApiResult;
use crate::http::api::{described, id_parameter, operation, problem_response, Api};
use crate::http::extract::ApiQuery;
use crate::http::routes::dsr::request_id;
use crate::service::archive;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kith_core::export;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, ParameterIn};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};
use utoipa::IntoParams;

/// Issues a download link, shown once in this answer.
async fn issue_link(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = request_id(&state, &who, &id, true)?;
    let link = archive::issue_link(&state, &who, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "url": format!("/api/v1/dsr/{id}/export?token={}", link.token),
            "token": link.token,
            "expires_at": rfc3339_millis(link.expires_at),
        })),
    ))
}

/// The download link's query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// The token `export-link` answered (single use, valid a day).
    token: Option<String>,
}

/// Downloads the archive, built in memory and sent, never stored.
async fn download(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let id = request_id(&state, &who, &id, true)?;
    let archive = archive::download(&state, &who, id, params.token.as_deref()).await?;
    let disposition = format!("attachment; filename=\"kith-{}-{id}.zip\"", archive.kind);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        archive.zip,
    )
        .into_response())
}

/// The published schema of `data.json`.
async fn schema() -> Response {
    ([(header::CONTENT_TYPE, "application/schema+json")], export::SCHEMA).into_response()
}

/// The public schema route, added to `api`.
pub fn public_routes(api: Api) -> Api {
    let doc = utoipa::openapi::path::OperationBuilder::new()
        .operation_id(Some("subject_export_schema"))
        .tag("service")
        .summary(Some("The JSON Schema of data.json in the access and portability archive"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("the schema")
                .content("application/schema+json", ContentBuilder::new().build())
                .build(),
        )
        .build();
    api.route(HttpMethod::Get, "/schemas/subject-export-v1.json", schema, doc)
}

/// The archive routes, added to `api`.
pub fn routes(api: Api) -> Api {
    let zip = ResponseBuilder::new()
        .description("the archive")
        .content("application/zip", ContentBuilder::new().build())
        .build();
    api.route(
        HttpMethod::Post,
        "/api/v1/dsr/{id}/export-link",
        issue_link,
        operation("issue_dsr_export_link", "dsr", "A single-use download link of the archive, valid a day (dpo)")
            .parameter(id_parameter())
            .response("201", described("the link, its token (shown once) and expiry"))
            .response("404", problem_response("no such request"))
            .response("409", problem_response("the request is not verified, closed or matched no person"))
            .response("422", problem_response("not an access or portability request"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/dsr/{id}/export",
        download,
        operation(
            "export_dsr",
            "dsr",
            "The access/portability archive (application/zip): the DPO's call, or a link's token (single use)",
        )
        .parameter(id_parameter())
        .parameters(Some(ExportParams::into_params(|| Some(ParameterIn::Query))))
        .response("200", zip)
        .response("404", problem_response("no such request"))
        .response("409", problem_response("the request is not verified, closed or matched no person"))
        .response("410", problem_response("the link is unknown, used or expired"))
        .response("422", problem_response("not an access or portability request"))
        .build(),
    )
}
