//! Likely duplicate contacts and merging two of them: call
//! `service::duplicates` or `Records::merge`, answer the result.

use crate::auth::caller::Caller;
use crate::error::ApiResult;
use crate::http::api::{id_parameter, json_body, json_response, operation, page_schema, problem_response, Api};
use crate::http::extract::{path_id_once, ApiJson};
use crate::service::duplicates::{self, DuplicatePair, Likeness};
use crate::service::records::MergeOutcome;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::Ref;
use utoipa::{PartialSchema, ToSchema};

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let pairs = duplicates::find(&state, &who).await?;
    Ok(Json(json!({"items": pairs, "next_cursor": null})))
}

/// The contact to merge into the one in the path.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The contact absorbed: its fields fill the survivor's gaps, its records and consents move, it is deleted.
    pub other: uuid::Uuid,
}

async fn merge(
    State(state): State<AppState>,
    who: Caller,
    Path(raw): Path<String>,
    ApiJson(input): ApiJson<MergeInput>,
) -> ApiResult<Json<MergeOutcome>> {
    let allowed =
        state.authorizer.authorize(&who.principal, crate::auth::Action::Update, kith_core::EntityKind::Contacts);
    let survivor = path_id_once(allowed, &raw)?;
    Ok(Json(state.records.merge(&who, survivor, input.other).await?))
}

pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <DuplicatePair as ToSchema>::schemas(&mut nested);
    <MergeOutcome as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    for (name, schema) in [
        ("DuplicatePair", DuplicatePair::schema()),
        ("Likeness", Likeness::schema()),
        ("MergeInput", MergeInput::schema()),
        ("MergeOutcome", MergeOutcome::schema()),
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
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/merge",
        merge,
        operation(
            "merge_contacts",
            "contacts",
            "Merge another contact into this one: gaps filled, records and both consent histories moved under this one's key, the other and its key deleted (update and delete on contacts)",
        )
        .parameter(id_parameter())
        .request_body(Some(json_body("MergeInput", true)))
        .response("200", json_response("the merged contact", "MergeOutcome"))
        .response("403", problem_response("no right to update and delete contacts, the purpose, or a restricted person (only the DPO merges them)"))
        .response("404", problem_response("either contact does not exist or is outside the caller's scope"))
        .response("409", problem_response("a person under a legal hold or claim is never absorbed, or the contacts kept changing"))
        .response("422", problem_response("a contact is merged with another one"))
        .build(),
    )
}
