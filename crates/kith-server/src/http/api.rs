//! The `Api` builder: every route is registered together with its OpenAPI
//! operation, so the document cannot miss a route; and the helpers the
//! operations share (content, problems, parameters, pages).

use crate::AppState;
use axum::routing::{on, MethodFilter};
use axum::Router;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder, Schema};

/// A router that documents each route as it adds it.
pub struct Api {
    pub router: Router<AppState>,
    pub paths: utoipa::openapi::Paths,
    pub schemas: Vec<(String, RefOr<Schema>)>,
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl Api {
    pub fn new() -> Self {
        Self { router: Router::new(), paths: utoipa::openapi::Paths::new(), schemas: Vec::new() }
    }

    /// Adds `handler` for `method` on `path` and documents it with `operation`.
    pub fn route<H, T>(
        mut self,
        method: HttpMethod,
        path: &str,
        handler: H,
        operation: utoipa::openapi::path::Operation,
    ) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, on(filter(&method), handler));
        self.paths.add_path_operation(path, vec![method], with_edge_answers(operation));
        self
    }
}

/// Adds the answers every operation may give before its handler runs, where
/// the operation does not describe them itself: 400 from the edge's text
/// rule (`edge.rs`) and the query parser, 404 for a path naming nothing,
/// 422 for a filter value or body field no record can hold, and for a body
/// 413 and 415 from its extractor.
fn with_edge_answers(mut operation: utoipa::openapi::path::Operation) -> utoipa::openapi::path::Operation {
    let has_path = operation.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Path);
    let has_query = operation.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query);
    let has_body = operation.request_body.is_some();
    let answers = [
        (true, "400", "the path or query is not valid text, a query parameter is invalid, or the body is not JSON"),
        (has_path, "404", "nothing is at this path"),
        (has_body, "413", "the body is larger than the server accepts"),
        (has_body, "415", "the body is not application/json"),
        (has_body || has_query, "422", "a field or filter value is unknown, missing, of the wrong type or invalid"),
        (has_body, "408", "the body did not arrive within the body deadline"),
        (true, "414", "the path and query are longer than the server accepts"),
        (true, "431", "the headers are larger than the server accepts"),
        (true, "503", "the server did not answer within its deadline (the request may still complete)"),
    ];
    for (applies, status, description) in answers {
        if applies && !operation.responses.responses.contains_key(status) {
            operation.responses.responses.insert(status.to_string(), problem_response(description).into());
        }
    }
    operation
}

fn filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}

pub(crate) fn json_content(schema: impl Into<RefOr<Schema>>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

pub(crate) fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", json_content(Ref::from_schema_name("Problem")))
        .build()
}

/// A path parameter that is text (a key or a name), with its description.
pub(crate) fn text_parameter(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

pub(crate) fn id_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid))),
        ))
        .build()
}

/// A JSON request body of the named schema.
pub fn json_body(schema: &str, required: bool) -> utoipa::openapi::request_body::RequestBody {
    utoipa::openapi::request_body::RequestBodyBuilder::new()
        .required(Some(if required { Required::True } else { Required::False }))
        .content("application/json", json_content(Ref::from_schema_name(schema)))
        .build()
}

/// A JSON response of the named schema.
pub fn json_response(what: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(what)
        .content("application/json", json_content(Ref::from_schema_name(schema)))
        .build()
}

/// A response known by its description alone.
pub fn described(what: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(what).build()
}

/// The operation skeleton every authenticated route shares.
pub fn operation(id: &str, tag: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new()
        .operation_id(Some(id))
        .tag(tag)
        .summary(Some(summary))
        .security(utoipa::openapi::security::SecurityRequirement::new::<&str, [&str; 0], &str>("bearer", []))
        .response("401", problem_response("missing, unknown, expired or revoked token"))
        .response("403", problem_response("the caller's role may not do this"))
}

/// A page of a list: `items` of `item`, and the cursor of the next page or null.
pub fn page_schema(item: impl Into<RefOr<Schema>>) -> ObjectBuilder {
    ObjectBuilder::new()
        .property("items", utoipa::openapi::schema::ArrayBuilder::new().items(item.into()))
        .required("items")
        .property(
            "next_cursor",
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])),
        )
        .required("next_cursor")
}
