//! The notice and consent routes: extract, call `service::consents`, render.

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{described, id_parameter, json_body, json_content, operation, problem_response, Api};
use crate::http::extract::{path_id, ApiJson};
use crate::http::guard::{Guard, RecordLegalClaims, WritePurposes};
use crate::service::consents::{self, LegalClaim, LegalClaimInput, ObjectionInput};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::consent::{current_state, ConsentEntry, ConsentInput, NoticeInput};
use kith_store::NoticeRow;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{Ref, ResponseBuilder};
use utoipa::ToSchema;

/// A ledger entry as a caller may see it: the proof (source, evidence,
/// guardian) only when the caller may see it.
fn entry_for(entry: &ConsentEntry, proof_visible: bool) -> ApiResult<Value> {
    let mut value = serde_json::to_value(entry).map_err(|e| ApiError::internal("consent", e))?;
    if !proof_visible {
        if let Value::Object(fields) = &mut value {
            for proof in ["source", "evidence", "guardian"] {
                fields.remove(proof);
            }
        }
    }
    Ok(value)
}

fn render_notice(n: &NoticeRow) -> Value {
    json!({"version": n.version, "text": n.text, "sha256": n.sha256, "created_at": rfc3339_millis(n.created_at)})
}

fn render_claim(claim: &LegalClaim) -> Value {
    let row = &claim.row;
    let mut value =
        json!({"id": row.id, "purpose": row.purpose, "at": rfc3339_millis(row.at), "recorded_by": row.recorded_by});
    if let Some(note) = &claim.note {
        value["note"] = json!(note);
    }
    value
}

async fn ledger(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let view = consents::ledger(&state, &who, path_id(&id)?).await?;
    let shown: Vec<Value> = view.entries.iter().map(|e| entry_for(e, view.proof_visible)).collect::<ApiResult<_>>()?;
    // A ledger that does not verify grants nothing, and says so.
    let counted: &[ConsentEntry] = if view.intact { &view.entries } else { &[] };
    let current: Map<String, Value> = current_state(counted)
        .into_iter()
        .map(|(purpose, e)| {
            (purpose, json!({"granted": e.granted, "at": e.at, "notice_version": e.notice_version, "method": e.method}))
        })
        .collect();
    Ok(Json(json!({ "ledger": shown, "current": current, "intact": view.intact })))
}

async fn append(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConsentInput>,
) -> ApiResult<(StatusCode, Json<ConsentEntry>)> {
    let contact = path_id(&id)?;
    Ok((StatusCode::CREATED, Json(consents::append(&state, &who, contact, input).await?)))
}

async fn list_notices(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = consents::notices(&state, &who).await?.iter().map(render_notice).collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn add_notice(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WritePurposes>,
    ApiJson(input): ApiJson<NoticeInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let row = consents::add_notice(&state, &who, input).await?;
    Ok((StatusCode::CREATED, Json(render_notice(&row))))
}

async fn restrict(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    consents::restrict(&state, &who, path_id(&id)?).await?;
    Ok(Json(json!({"restricted": true})))
}

async fn lift(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    consents::lift(&state, &who, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn object(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ObjectionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let purpose = consents::object(&state, &who, path_id(&id)?, input).await?;
    let absolute = kith_core::policy::is_direct_marketing(&purpose);
    Ok((StatusCode::CREATED, Json(json!({"purpose": purpose, "absolute": absolute}))))
}

/// The DPO allows one purpose for a restricted person (Art. 18(2)).
async fn add_legal_claim(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<RecordLegalClaims>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<LegalClaimInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let contact = path_id(&id)?;
    let claim = consents::add_legal_claim(&state, &who, contact, input).await?;
    Ok((StatusCode::CREATED, Json(render_claim(&claim))))
}

/// Whether a person is restricted, and the legal-claims exceptions.
async fn restriction_state(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let current = consents::restriction_state(&state, &who, path_id(&id)?).await?;
    let claims: Vec<Value> = current.legal_claims.iter().map(render_claim).collect();
    Ok(Json(json!({"restricted": current.restricted, "objections": current.objections, "legal_claims": claims})))
}

/// The notice and consent routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    for (name, schema) in [
        ("ConsentInput", <ConsentInput as utoipa::PartialSchema>::schema()),
        ("ConsentEntry", <ConsentEntry as utoipa::PartialSchema>::schema()),
        ("NoticeInput", <NoticeInput as utoipa::PartialSchema>::schema()),
        ("ObjectionInput", <ObjectionInput as utoipa::PartialSchema>::schema()),
        ("LegalClaimInput", <LegalClaimInput as utoipa::PartialSchema>::schema()),
    ] {
        api.schemas.push((name.into(), schema));
    }
    let mut nested = Vec::new();
    <ConsentInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.route(
        HttpMethod::Get,
        "/api/v1/contacts/{id}/consents",
        ledger,
        operation("contact_consents", "consents", "A person's consent ledger and the current state per purpose")
            .parameter(id_parameter())
            .response(
                "200",
                described(
                    "the ledger in the order written, and the current state per purpose; `intact` false when \
                    the ledger's seals do not verify (it was changed outside Kith), and then no consent in it \
                    counts and `current` is empty",
                ),
            )
            .response("404", problem_response("no such person"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/consents",
        append,
        operation("append_consent", "consents", "Append to a person's consent ledger (granted false withdraws)")
            .parameter(id_parameter())
            .request_body(Some(json_body("ConsentInput", true)))
            .response(
                "201",
                ResponseBuilder::new()
                    .description("recorded")
                    .content("application/json", json_content(Ref::from_schema_name("ConsentEntry")))
                    .build(),
            )
            .response("404", problem_response("no such person"))
            .response("422", problem_response("unknown purpose or notice version, or an invalid field"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/restriction",
        restrict,
        operation("restrict_processing", "consents", "Restrict processing of a person (Art. 18; admin, dpo)")
            .parameter(id_parameter())
            .response("200", described("restricted"))
            .response("404", problem_response("no such person"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/contacts/{id}/restriction",
        restriction_state,
        operation(
            "restriction_state",
            "consents",
            "Whether a person is restricted, their objections and legal-claims exceptions (admin, dpo)",
        )
        .parameter(id_parameter())
        .response("200", described("the state"))
        .response("404", problem_response("no such person"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/restriction/legal-claims",
        add_legal_claim,
        operation(
            "add_legal_claim",
            "consents",
            "Allow one purpose for a restricted person for a legal claim (Art. 18(2); dpo)",
        )
        .parameter(id_parameter())
        .request_body(Some(json_body("LegalClaimInput", true)))
        .response("201", described("recorded"))
        .response("404", problem_response("no such person"))
        .response("409", problem_response("the person is not restricted"))
        .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/contacts/{id}/restriction",
        lift,
        operation("lift_restriction", "consents", "Lift a restriction (admin, dpo)")
            .parameter(id_parameter())
            .response("204", described("lifted"))
            .response("404", problem_response("not restricted"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/contacts/{id}/objections",
        object,
        operation(
            "object_to_purpose",
            "consents",
            "Record a person's objection to a purpose (Art. 21); marketing is absolute",
        )
        .parameter(id_parameter())
        .request_body(Some(json_body("ObjectionInput", true)))
        .response("201", described("recorded"))
        .response("404", problem_response("no such person"))
        .response("422", problem_response("not a purpose key"))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/notices",
        list_notices,
        operation("list_notices", "consents", "Privacy notice versions with their full text and SHA-256")
            .response("200", described("the versions"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/notices",
        add_notice,
        operation("add_notice", "consents", "Add a privacy notice version (admin, dpo); versions never change")
            .request_body(Some(json_body("NoticeInput", true)))
            .response("201", described("added"))
            .response("409", problem_response("the version exists"))
            .build(),
    )
}
