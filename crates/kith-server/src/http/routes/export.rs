//! The contacts export route: extract, call `service::contact_export`,
//! stream the chunks it produces.

use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{operation, problem_response, Api};
use crate::http::extract::ApiQuery;
use crate::service::contact_export::{self, ExportFormat, ExportStream};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kith_core::ErrorCode;
use serde::Deserialize;
use utoipa::openapi::path::{HttpMethod, ParameterIn};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};
use utoipa::IntoParams;

/// The export's format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// `csv` (the default), `vcf` (vCard 4.0) or `json`.
    format: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let format = ExportFormat::parse(params.format.as_deref().unwrap_or("csv"))
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "format: csv, vcf or json"))?;
    Ok(streamed(contact_export::contacts(&state, &who, format).await?))
}

/// The response that streams an export, as a download.
pub fn streamed(stream: ExportStream) -> Response {
    let (content_type, extension) = match stream.format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Vcf => ("text/vcard; charset=utf-8", "vcf"),
        ExportFormat::Json => ("application/json", "json"),
    };
    let chunks = futures_util::stream::unfold(stream.chunks, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let disposition = format!("attachment; filename=\"kith-contacts.{extension}\"");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// The route, added to `api`.
pub fn routes(api: Api) -> Api {
    api.route(
        HttpMethod::Get,
        "/api/v1/contacts/export",
        export,
        operation(
            "export_contacts",
            "contacts",
            "Every contact the request's purpose allows, with the fields the caller may see, streamed as CSV, vCard or JSON (export permission; the dpo)",
        )
        .parameters(Some(ExportParams::into_params(|| Some(ParameterIn::Query))))
        .response(
            "200",
            ResponseBuilder::new()
                .description("the contacts; CSV cells that a spreadsheet would run as formulas begin with '")
                .content("text/csv", ContentBuilder::new().build())
                .content("text/vcard", ContentBuilder::new().build())
                .content("application/json", ContentBuilder::new().build())
                .build(),
        )
        .response("403", problem_response("no export permission, or the purpose is not the caller's"))
        .build(),
    )
}
