//! Likely duplicate contacts: call `service::duplicates`, answer the pairs.

use crate::auth::caller::Caller;
use crate::error::ApiResult;
use crate::http::api::{json_response, operation, page_schema, problem_response, Api};
use crate::service::duplicates::{self, DuplicatePair, Likeness};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::Ref;
use utoipa::{PartialSchema, ToSchema};

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let pairs = duplicates::find(&state, &who).await?;
    Ok(Json(json!({"items": pairs, "next_cursor": null})))
}

pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <DuplicatePair as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    for (name, schema) in [
        ("DuplicatePair", DuplicatePair::schema()),
        ("Likeness", Likeness::schema()),
        ("DuplicatePairPage", page_schema(Ref::from_schema_name("DuplicatePair")).into()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    api.route(
        HttpMethod::Get,
        "/api/v1/contacts/duplicates",
        list,
        operation(
            "contact_duplicates",
            "contacts",
            "Likely duplicate contacts the caller may see for the request's purpose: the same e-mail address, phone number, or name and company (each contact shown is a read)",
        )
        .response("200", json_response("pairs of contacts with the reasons they look alike", "DuplicatePairPage"))
        .response("403", problem_response("no right to read contacts, or the purpose is not the caller's"))
        .build(),
    )
}
