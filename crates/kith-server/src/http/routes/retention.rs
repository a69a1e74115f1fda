//! Retention's route: extract, call `service::retention`, render.

use crate::auth::caller::Caller;
use crate::error::ApiResult;
use crate::http::api::{json_content, operation, Api};
use crate::retention::Plan;
use crate::service::retention::{self, PurposePeriod, RetentionOverview};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{Ref, ResponseBuilder};

async fn overview(State(state): State<AppState>, who: Caller) -> ApiResult<Json<RetentionOverview>> {
    Ok(Json(retention::overview(&state, &who).await?))
}

/// The route, added to `api`.
pub fn routes(mut api: Api) -> Api {
    for (name, schema) in [
        ("RetentionOverview", <RetentionOverview as utoipa::PartialSchema>::schema()),
        ("RetentionPlan", <Plan as utoipa::PartialSchema>::schema()),
        ("PurposePeriod", <PurposePeriod as utoipa::PartialSchema>::schema()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let mut nested = Vec::new();
    <RetentionOverview as utoipa::ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.route(
        HttpMethod::Get,
        "/api/v1/retention",
        overview,
        operation(
            "retention",
            "retention",
            "The retention rules in force and what they would erase and delete now, in counts (the DPO)",
        )
        .response(
            "200",
            ResponseBuilder::new()
                .description("the rules and the plan")
                .content("application/json", json_content(Ref::from_schema_name("RetentionOverview")))
                .build(),
        )
        .build(),
    )
}
