//! The application: shared state, the router with its layers, and the
//! OpenAPI document built from the same route table.

use crate::audit::{AuditLog, Notary};
use crate::auth::Authorizer;
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::http::api::Api;
use crate::http::ratelimit::PublicLimits;
use crate::http::routes;
use crate::service::Services;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use kith_core::ErrorCode;
use kith_crypto::KeyringHandle;
use kith_store::DynStore;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApiBuilder, ResponseBuilder, Type,
};

/// What the handlers share: the services, behind `Deref` so a handler
/// reaches them as `state.records`, `state.audit`…, and what only HTTP
/// needs (rate limits, the OpenAPI document).
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    /// Rate limits of the public endpoints (this server's own).
    pub limits: Arc<PublicLimits>,
    /// Login attempts per client address (this server's own).
    pub login_limit: Arc<crate::http::ratelimit::Limiter>,
    /// `sale:opt-out` requests per Data Rights Protocol agent (this server's
    /// own): each answer tells whether an address is known.
    pub opt_out_limit: Arc<crate::http::ratelimit::Limiter>,
    /// Privacy portal links per address (this server's own).
    pub portal_limit: Arc<crate::http::ratelimit::Limiter>,
    openapi: Arc<String>,
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check cannot reach the database");
            ApiError::new(ErrorCode::Unavailable, "the database cannot be reached").into_response()
        }
    }
}

async fn openapi(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi.as_str().to_owned()).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this path does not take this method")
}

fn public_routes(api: Api) -> Api {
    let ok = |what: &str| {
        ResponseBuilder::new().description(what).content("application/json", ContentBuilder::new().build()).build()
    };
    let health = utoipa::openapi::path::OperationBuilder::new()
        .operation_id(Some("healthz"))
        .tag("service")
        .summary(Some("200 when the server can reach its database"))
        .response("200", ok("healthy"))
        .response("503", ok("the database cannot be reached"))
        .build();
    let doc = utoipa::openapi::path::OperationBuilder::new()
        .operation_id(Some("openapi"))
        .tag("service")
        .summary(Some("This OpenAPI document"))
        .response("200", ok("the document"))
        .build();
    let api = api.route(HttpMethod::Get, "/healthz", healthz, health).route(
        HttpMethod::Get,
        "/api/v1/openapi.json",
        openapi,
        doc,
    );
    routes::archive::public_routes(routes::capture::gpc_route(api))
}

/// The least time a client has to send a file to import.
const UPLOAD_BODY_DEADLINE: Duration = Duration::from_secs(120);

fn problem_schema() -> ObjectBuilder {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .description(Some("RFC 9457 problem details with a stable `code`"))
        .property("type", string())
        .property("title", string())
        .property("status", ObjectBuilder::new().schema_type(Type::Integer))
        .property("detail", string())
        .property("code", string())
        .required("type")
        .required("title")
        .required("status")
        .required("code")
}

/// The document of every route: those anyone may call (`public`, without
/// a security requirement) and those behind a token.
fn document(public: &[&Api], protected: &Api) -> String {
    let mut paths = protected.paths.clone();
    let mut schemas = protected.schemas.clone();
    for api in public {
        // Merged per path: login shares `/api/v1/session` with routes behind authentication.
        paths.merge(api.paths.clone());
        schemas.extend(api.schemas.clone());
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .schema("Problem", problem_schema())
        .security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()))
        .build();
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Kith")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("A privacy-first CRM. Errors are application/problem+json with a stable `code`.")),
        )
        .paths(paths)
        .components(Some(components))
        .build();
    doc.to_pretty_json().unwrap_or_default()
}

impl AppState {
    pub fn new(
        store: DynStore,
        keys: KeyringHandle,
        notary: Notary,
        authorizer: Arc<dyn Authorizer>,
        config: ServerConfig,
    ) -> Self {
        let audit = AuditLog::start(store.clone(), config.alerts.clone());
        Self::with_audit(store, keys, notary, authorizer, config, audit)
    }

    /// The state with a given audit log (benchmarks compare against an unaudited one).
    pub fn with_audit(
        store: DynStore,
        keys: KeyringHandle,
        notary: Notary,
        authorizer: Arc<dyn Authorizer>,
        config: ServerConfig,
        audit: AuditLog,
    ) -> Self {
        let limits = Arc::new(PublicLimits::new(config.capture.per_client, config.capture.per_form));
        let login_limit = Arc::new(crate::http::ratelimit::Limiter::new(config.accounts.login_per_client));
        let opt_out_limit = Arc::new(crate::http::ratelimit::Limiter::new(crate::config::DRP_OPT_OUT_RATE));
        let portal_limit = Arc::new(crate::http::ratelimit::Limiter::new(config.portal.per_address));
        Self {
            services: Services::new(store, keys, notary, authorizer, config, audit),
            limits,
            login_limit,
            opt_out_limit,
            portal_limit,
            openapi: Arc::default(),
        }
    }
}

/// Spans name the method and the route template (`/api/v1/contacts/{id}`),
/// never the path as sent nor the query string: either may carry an e-mail
/// address or a phone number.
fn span_for(req: &Request) -> tracing::Span {
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("<unmatched>");
    tracing::info_span!("request", method = %req.method(), route, request_id)
}

/// Request ids are the server's own: one a client sent is free text that
/// would otherwise land in logs and the append-only audit log.
async fn drop_client_request_id(mut req: Request) -> Request {
    req.headers_mut().remove("x-request-id");
    req
}

/// A panic in a handler answers 500 like any internal error; its message is
/// not shown (the panic hook has logged it).
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("handler", "panicked").into_response()
}

pub fn build_app(mut state: AppState) -> Router {
    let public = public_routes(Api::new());
    let capture = routes::capture::public_routes(Api::new());
    let login = crate::http::routes::accounts::public_routes(Api::new());
    // Agents authenticate with their own signed claims and pairwise tokens.
    let agents = routes::drp::public_routes(Api::new());
    // Each group adds its routes (and their OpenAPI operations) to the table.
    let groups: [fn(Api) -> Api; 22] = [
        routes::records::records,
        crate::http::routes::audit::routes,
        crate::http::routes::purposes::routes,
        routes::consents::routes,
        routes::capture::routes,
        routes::segments::routes,
        routes::api_keys::routes,
        routes::roles::routes,
        crate::http::routes::accounts::routes,
        routes::dsr::routes,
        routes::archive::routes,
        routes::erasure::routes,
        routes::drp::routes,
        routes::doctor::routes,
        routes::retention::routes,
        routes::recipients::routes,
        routes::ropa::routes,
        routes::breaches::routes,
        routes::export::routes,
        routes::imports::routes,
        routes::analytics::routes,
        routes::duplicates::routes,
    ];
    let protected = groups.iter().fold(Api::new(), |api, add| add(api));
    let deadlines = crate::http::deadlines::Deadlines {
        body: state.config.body_deadline,
        response: state.config.response_deadline,
        max_body_bytes: state.config.max_body_bytes,
        upload_max_body_bytes: state.config.max_upload_bytes,
        upload_body: state.config.body_deadline.max(UPLOAD_BODY_DEADLINE),
    };
    state.openapi = Arc::new(document(&[&public, &capture, &login, &agents], &protected));
    let protected = protected
        .router
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::authenticate::authenticate));
    let capture =
        capture.router.route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::ratelimit::limit));
    let pages = crate::http::web::routes(&state);
    let mut app = public
        .router
        .merge(pages)
        .merge(capture)
        .merge(login.router)
        .merge(agents.router)
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(deadlines, crate::http::deadlines::within_deadlines))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes.max(state.config.max_upload_bytes)))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")));
    if state.config.tls {
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    app.layer(axum::middleware::from_fn(crate::http::edge::refuse_bad_text))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(span_for))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_client_request_id))
        .with_state(state)
}
