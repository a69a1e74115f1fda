//! The Data Rights Protocol routes: the DPO's configuration of agents
//! (problem JSON), and the protocol's own endpoints, whose refusals are
//! answered as the protocol has them (an empty 403, or `{code, message,
//! fatal}`). Extract, call `service::drp`, render.

use crate::auth::caller::Caller;
use crate::error::ApiResult;
use crate::http::api::{described, json_body, json_content, operation, problem_response, Api};
use crate::http::extract::ApiJson;
use crate::http::guard::{Guard, ManageAgents};
use crate::service::drp::{self, AgentInput, Answer, Refusal};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use kith_core::ErrorCode;
use kith_store::DrpAgentRow;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Required, ResponseBuilder};

fn agent_view(row: &DrpAgentRow) -> Value {
    json!({
        "agent_id": row.agent_id,
        "name": row.name,
        "verify_key": B64.encode(&row.verify_key),
        "created_by": row.created_by,
        "created_at": crate::clock::rfc3339_millis(row.created_at),
        "callback_hosts": row.callback_hosts,
    })
}

async fn add_agent(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<ManageAgents>,
    ApiJson(input): ApiJson<AgentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(agent_view(&drp::add_agent(&state, &who, input).await?))))
}

async fn list_agents(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    let rows = drp::agents(&state, &who).await?;
    Ok(Json(json!({"items": rows.iter().map(agent_view).collect::<Vec<_>>()})))
}

async fn remove_agent(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    drp::remove_agent(&state, &who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A protocol error object: `{code, message, fatal}`.
fn drp_error(status: StatusCode, code: &str, message: &str, fatal: bool) -> Response {
    (status, Json(json!({"code": code, "message": message, "fatal": fatal}))).into_response()
}

/// A protocol answer: the value as JSON, or the refusal as the protocol has it.
fn answer<T: Serialize>(answer: Answer<T>) -> ApiResult<Response> {
    Ok(match answer? {
        Ok(value) => Json(value).into_response(),
        Err(Refusal::Silent) => StatusCode::FORBIDDEN.into_response(),
        Err(Refusal::Forbidden(message)) => drp_error(StatusCode::FORBIDDEN, "forbidden", message, true),
        Err(Refusal::NotFound) => drp_error(StatusCode::NOT_FOUND, "not_found", "no such request", true),
        Err(Refusal::Invalid { code, message }) => drp_error(StatusCode::BAD_REQUEST, &code, &message, true),
        Err(Refusal::Api(e)) => {
            let status = if e.code == ErrorCode::Internal || e.code == ErrorCode::Unavailable {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            drp_error(status, e.code.as_str(), &e.detail, status == StatusCode::BAD_REQUEST)
        }
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `POST /v1/agent/{agent-id}`: signed claims for a new pairwise token,
/// shown once. Every failure is 403 without a body.
async fn register_agent(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    let registered = drp::register_agent(&state, &agent_id, request_id(&headers), &body).await?;
    answer(Ok(registered.map(|r| json!({"agent-id": r.agent_id, "token": r.token}))))
}

/// `GET /v1/agent/{agent-id}`: `{}` when the token is this agent's.
async fn agent_information(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let known = drp::agent_information(&state, &agent_id, bearer(&headers)).await?;
    answer(Ok(known.map(|()| json!({}))))
}

/// `POST /v1/data-rights-request`: a signed request on a person's behalf.
async fn create_request(State(state): State<AppState>, headers: HeaderMap, body: String) -> ApiResult<Response> {
    let may_opt_out = |agent: &str| state.opt_out_limit.take(agent, std::time::Instant::now()).is_ok();
    answer(drp::create_request(&state, bearer(&headers), request_id(&headers), &body, may_opt_out).await)
}

/// `GET /v1/data-rights-request/{id}`: the status, to the agent that filed it.
async fn request_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    answer(drp::request_status(&state, bearer(&headers), &id).await)
}

/// `DELETE /v1/data-rights-request/{id}`: the person revoked the request.
async fn revoke_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    answer(drp::revoke_request(&state, bearer(&headers), request_id(&headers), &id, &body).await)
}

fn path_parameter(name: &str) -> utoipa::openapi::path::Parameter {
    crate::http::api::text_parameter(name, name)
}

fn agent_operation(id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new().operation_id(Some(id)).tag("drp").summary(Some(summary)).response(
        "403",
        ResponseBuilder::new()
            .description(
                "the claims or the token do not hold. As the Data Rights Protocol has it, this answer is \
                     not problem JSON: an empty body when the agent is not known or its signature fails, a \
                     protocol error object (`code`, `message`, `fatal`) otherwise",
            )
            .build(),
    )
}

fn signed_body() -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("text/plain", json_content(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some("base64 of an Ed25519 signature followed by the signed JSON"))
        .build()
}

/// The protocol's endpoints: outside the bearer-token middleware.
pub fn public_routes(api: Api) -> Api {
    let create = |path: &str, id: &str| {
        (
            path.to_string(),
            agent_operation(id, "File a signed data rights request (DRP 1.0)")
                .request_body(Some(signed_body()))
                .response("200", described("the request's status"))
                .response("400", described("an invalid request"))
                .build(),
        )
    };
    let (plain, plain_op) = create("/v1/data-rights-request", "drp_create_request");
    let (slash, slash_op) = create("/v1/data-rights-request/", "drp_create_request_slash");
    api.route(
        HttpMethod::Post,
        "/v1/agent/{agent_id}",
        register_agent,
        agent_operation("drp_register_agent", "Register with signed claims for a pairwise token (DRP 1.0)")
            .parameter(path_parameter("agent_id"))
            .request_body(Some(signed_body()))
            .response("200", described("{agent-id, token}"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/v1/agent/{agent_id}",
        agent_information,
        agent_operation("drp_agent_information", "Check a pairwise token (DRP 1.0)")
            .parameter(path_parameter("agent_id"))
            .response("200", described("{}"))
            .build(),
    )
    .route(HttpMethod::Post, &plain, create_request, plain_op)
    .route(HttpMethod::Post, &slash, create_request, slash_op)
    .route(
        HttpMethod::Get,
        "/v1/data-rights-request/{id}",
        request_status,
        agent_operation("drp_request_status", "A request's status, to the agent that filed it (DRP 1.0)")
            .parameter(path_parameter("id"))
            .response("200", described("the status"))
            .response("404", described("no such request"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/v1/data-rights-request/{id}",
        revoke_request,
        agent_operation("drp_revoke_request", "Revoke a request with a signed reason (DRP 1.0)")
            .parameter(path_parameter("id"))
            .request_body(Some(signed_body()))
            .response("200", described("the status, revoked"))
            .response("404", described("no such request"))
            .build(),
    )
}

/// The DPO's configuration of agents.
pub fn routes(mut api: Api) -> Api {
    api.schemas.push(("AgentInput".into(), <AgentInput as utoipa::PartialSchema>::schema()));
    api.route(
        HttpMethod::Post,
        "/api/v1/drp/agents",
        add_agent,
        operation("add_drp_agent", "drp", "Trust a Data Rights Protocol agent and its verify key (dpo)")
            .request_body(Some(json_body("AgentInput", true)))
            .response("201", described("the agent"))
            .response("409", problem_response("an agent with this id exists"))
            .response("422", problem_response("an invalid id, name or key"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/drp/agents",
        list_agents,
        operation("list_drp_agents", "drp", "The agents trusted (dpo)")
            .response("200", described("the agents"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/drp/agents/{id}",
        remove_agent,
        operation("remove_drp_agent", "drp", "Stop trusting an agent; its tokens stop working (dpo)")
            .parameter(path_parameter("id"))
            .response("204", described("removed"))
            .response("404", problem_response("no such agent"))
            .build(),
    )
}
