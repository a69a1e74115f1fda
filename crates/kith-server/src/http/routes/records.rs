//! The record routes (contacts, companies, interactions, deals, purchases):
//! handlers only extract and delegate; the record service authorises,
//! validates and seals.

use crate::auth::caller::Caller;
use crate::error::ApiResult;
use crate::http::api::{id_parameter, json_body, json_content, operation, page_schema, problem_response, Api};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::listing::ListParams;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kith_core::model::{Company, Contact, Deal, Interaction, Purchase};
use kith_core::EntityBody;
use serde_json::{Map, Value};
use utoipa::openapi::path::{HttpMethod, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder, Schema};
use utoipa::IntoParams;

async fn create<B: EntityBody>(
    State(state): State<AppState>,
    who: Caller,
    ApiJson(body): ApiJson<B>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(state.records.create::<B>(&who, body).await?.record)))
}

async fn get<B: EntityBody>(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.records.get::<B>(&who, crate::http::extract::path_id(&id)?).await?))
}

async fn update<B: EntityBody>(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.records.update::<B>(&who, crate::http::extract::path_id(&id)?, patch).await?))
}

async fn delete<B: EntityBody>(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.records.delete::<B>(&who, crate::http::extract::path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list<B: EntityBody>(
    State(state): State<AppState>,
    who: Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let page = state.records.list::<B>(&who, params).await?;
    Ok(Json(serde_json::json!({ "items": page.items, "next_cursor": page.next_cursor })))
}

/// The five routes of one kind of record, with their documentation.
fn entity_routes<B: EntityBody>(mut api: Api) -> Api {
    let name = B::KIND.as_str();
    let schema_name = B::name().to_string();
    let record_name = format!("{schema_name}Record");
    let collection = format!("/api/v1/{name}");
    let item = format!("{collection}/{{id}}");
    let record_ref = || Ref::from_schema_name(record_name.clone());

    let mut nested = Vec::new();
    B::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push((schema_name.clone(), B::schema()));
    api.schemas.push((record_name.clone(), record_schema(B::schema(), B::KIND == kith_core::EntityKind::Purchases)));

    let ok_record = |status: &str| {
        ResponseBuilder::new().description(status).content("application/json", json_content(record_ref())).build()
    };
    let list_schema = page_schema(record_ref());

    api = api.route(
        HttpMethod::Get,
        &collection,
        list::<B>,
        operation(&format!("list_{name}"), name, &format!("List {name}"))
            .parameters(Some(ListParams::into_params(|| Some(ParameterIn::Query))))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("a page")
                    .content("application/json", json_content(list_schema))
                    .build(),
            )
            .response("400", problem_response("a query parameter or cursor is invalid"))
            .build(),
    );
    api = api.route(
        HttpMethod::Post,
        &collection,
        create::<B>,
        operation(&format!("create_{name}"), name, &format!("Create one of {name}"))
            .request_body(Some(json_body(&schema_name, true)))
            .response("201", ok_record("created"))
            .response("400", problem_response("the body is not JSON"))
            .response("413", problem_response("the body is too large"))
            .response("415", problem_response("the body is not application/json"))
            .response("422", problem_response("a field is unknown, missing, of the wrong type or invalid"))
            .build(),
    );
    api = api.route(
        HttpMethod::Get,
        &item,
        get::<B>,
        operation(&format!("get_{name}"), name, &format!("Read one of {name}"))
            .parameter(id_parameter())
            .response("200", ok_record("the record"))
            .response("404", problem_response("no such record"))
            .build(),
    );
    api = api.route(
        HttpMethod::Patch,
        &item,
        update::<B>,
        operation(&format!("update_{name}"), name, &format!("Change fields of one of {name}: each field given replaces the stored one (lists and objects whole); null resets it"))
            .parameter(id_parameter())
            .request_body(Some(json_body(&schema_name, true)))
            .response("200", ok_record("the changed record"))
            .response("404", problem_response("no such record"))
            .response("409", problem_response("changed concurrently"))
            .response("422", problem_response("a field is unknown, of the wrong type or invalid"))
            .build(),
    );
    api = api.route(
        HttpMethod::Delete,
        &item,
        delete::<B>,
        operation(&format!("delete_{name}"), name, &format!("Delete one of {name}"))
            .parameter(id_parameter())
            .response("204", ResponseBuilder::new().description("deleted").build())
            .response("404", problem_response("no such record"))
            .response("409", problem_response("still referenced by other records"))
            .build(),
    );
    api
}

/// A record as returned: its document's fields plus id and times (and a
/// purchase's computed total), in one flat object. The document's fields
/// are all optional here: a field the caller may not see is absent.
fn record_schema(document: RefOr<Schema>, with_total: bool) -> RefOr<Schema> {
    let mut object = match document {
        RefOr::T(Schema::Object(object)) => object,
        other => return other,
    };
    object.required.clear();
    // The document's example is of an input; a record's would lack its id and times.
    object.example = None;
    object.examples.clear();
    for name in ["id", "created_at", "updated_at"].into_iter().chain(with_total.then_some("total")) {
        let format = (name != "id" && name != "total").then_some(SchemaFormat::KnownFormat(KnownFormat::DateTime));
        let property = ObjectBuilder::new().schema_type(Type::String).format(format);
        object.properties.insert(name.to_string(), property.into());
        object.required.push(name.to_string());
    }
    RefOr::T(Schema::Object(object))
}

/// Every record route.
pub fn records(api: Api) -> Api {
    let api = entity_routes::<Contact>(api);
    let api = entity_routes::<Company>(api);
    let api = entity_routes::<Interaction>(api);
    let api = entity_routes::<Deal>(api);
    entity_routes::<Purchase>(api)
}
