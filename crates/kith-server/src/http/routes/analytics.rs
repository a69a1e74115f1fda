//! The analytics routes: extract the window, call `service::analytics`,
//! answer the report.

use crate::auth::caller::Caller;
use crate::error::ApiResult;
use crate::http::api::{json_response, operation, problem_response, Api};
use crate::http::extract::ApiQuery;
use crate::service::analytics::{self, Basis, CohortReport, FunnelReport, OwnerReport, RevenueReport};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use kith_core::analytics::{CohortRow, Figure, Funnel, OwnerRow, RevenueCell, StageCell};
use serde::Deserialize;
use utoipa::openapi::path::{HttpMethod, ParameterIn};
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// The period a report covers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WindowParams {
    /// RFC 3339: from this time on.
    from: Option<String>,
    /// RFC 3339: before this time.
    to: Option<String>,
}

impl WindowParams {
    pub fn window(&self) -> ApiResult<analytics::Window> {
        analytics::window(self.from.as_deref(), self.to.as_deref())
    }
}

async fn revenue(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(p): ApiQuery<WindowParams>,
) -> ApiResult<Json<RevenueReport>> {
    Ok(Json(analytics::revenue(&state, &who, p.window()?).await?))
}

async fn funnel(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(p): ApiQuery<WindowParams>,
) -> ApiResult<Json<FunnelReport>> {
    Ok(Json(analytics::funnel(&state, &who, p.window()?).await?))
}

async fn cohorts(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(p): ApiQuery<WindowParams>,
) -> ApiResult<Json<CohortReport>> {
    Ok(Json(analytics::cohorts(&state, &who, p.window()?).await?))
}

async fn interactions(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(p): ApiQuery<WindowParams>,
) -> ApiResult<Json<OwnerReport>> {
    Ok(Json(analytics::interactions(&state, &who, p.window()?).await?))
}

pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    for add in [
        <RevenueReport as ToSchema>::schemas,
        <FunnelReport as ToSchema>::schemas,
        <CohortReport as ToSchema>::schemas,
        <OwnerReport as ToSchema>::schemas,
    ] {
        add(&mut nested);
    }
    api.schemas.extend(nested);
    for (name, schema) in [
        ("RevenueReport", RevenueReport::schema()),
        ("FunnelReport", FunnelReport::schema()),
        ("CohortReport", CohortReport::schema()),
        ("OwnerReport", OwnerReport::schema()),
        ("Basis", Basis::schema()),
        ("Figure", Figure::schema()),
        ("RevenueCell", RevenueCell::schema()),
        ("CohortRow", CohortRow::schema()),
        ("Funnel", Funnel::schema()),
        ("StageCell", StageCell::schema()),
        ("OwnerRow", OwnerRow::schema()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let window = || Some(WindowParams::into_params(|| Some(ParameterIn::Query)));
    let refused = "no right to read the records the report counts, or the purpose is not the caller's";
    let small = "; every cell of fewer than 5 people shows \"<5\"";
    api.route(
        HttpMethod::Get,
        "/api/v1/analytics/revenue",
        revenue,
        operation(
            "analytics_revenue",
            "analytics",
            "Revenue by month and currency over the people the purpose allows (read on purchases)",
        )
        .parameters(window())
        .response("200", json_response(&format!("the cells, oldest month first{small}"), "RevenueReport"))
        .response("403", problem_response(refused))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/analytics/funnel",
        funnel,
        operation(
            "analytics_funnel",
            "analytics",
            "The pipeline: deals by stage, how far they got, how long they stand, the win rate (read on deals)",
        )
        .parameters(window())
        .response("200", json_response(&format!("the stages in order{small}"), "FunnelReport"))
        .response("403", problem_response(refused))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/analytics/cohorts",
        cohorts,
        operation(
            "analytics_cohorts",
            "analytics",
            "Customers by the month of their first purchase and how many came back (read on purchases)",
        )
        .parameters(window())
        .response("200", json_response(&format!("the cohorts, oldest first{small}"), "CohortReport"))
        .response("403", problem_response(refused))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/analytics/interactions",
        interactions,
        operation(
            "analytics_interactions",
            "analytics",
            "Interactions per owner, the busiest first (read on interactions)",
        )
        .parameters(window())
        .response("200", json_response(&format!("the owners{small}"), "OwnerReport"))
        .response("403", problem_response(refused))
        .build(),
    )
}
