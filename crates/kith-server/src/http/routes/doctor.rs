//! The security self-check's route: extract, call `service::doctor`, render.

use crate::auth::caller::Caller;
use crate::doctor::{Finding, Report, Severity};
use crate::error::ApiResult;
use crate::http::api::{json_content, operation, Api};
use crate::service::doctor;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{Ref, ResponseBuilder};
use utoipa::ToSchema;

async fn report(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Report>> {
    Ok(Json(doctor::report(&state, &who).await?))
}

/// The route, added to `api`.
pub fn routes(mut api: Api) -> Api {
    for (name, schema) in [
        ("DoctorReport", <Report as utoipa::PartialSchema>::schema()),
        ("Finding", <Finding as utoipa::PartialSchema>::schema()),
        ("Severity", <Severity as utoipa::PartialSchema>::schema()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let mut nested = Vec::new();
    <Report as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.route(
        HttpMethod::Get,
        "/api/v1/doctor",
        report,
        operation(
            "doctor",
            "doctor",
            "The security self-check of this installation: findings with their severity and fix (admin and DPO)",
        )
        .response(
            "200",
            ResponseBuilder::new()
                .description("the findings, most severe first, and their counts")
                .content("application/json", json_content(Ref::from_schema_name("DoctorReport")))
                .build(),
        )
        .build(),
    )
}
