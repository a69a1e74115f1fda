//! Who is reading a page: the session cookie, as for the API. A page
//! without a live session sends the reader to sign in; a refused cookie is
//! audited as any refused credential. A form that changes something must
//! carry the session's CSRF token in its `csrf` field, checked here before
//! any handler runs, so no page can forget it.

use crate::audit::event as audit_event;
use crate::auth::caller::PURPOSE_HEADER;
use crate::auth::sessions::{self, csrf_for};
use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use kith_crypto::secrets::constant_time_eq;
use std::net::SocketAddr;

/// The cookie remembering the purpose a reader chose.
const PURPOSE_COOKIE: &str = "kith_purpose";

/// The purpose cookie (`None`: removed). Not secret, but only this site's.
pub fn purpose_cookie(purpose: Option<&str>, secure: bool) -> HeaderValue {
    match purpose {
        Some(key) => super::set_cookie(PURPOSE_COOKIE, key, None, "/", secure),
        None => super::clear_cookie(PURPOSE_COOKIE, "/", secure),
    }
}

/// The purpose a reader chose, from its cookie.
fn chosen_purpose(req: &Request) -> Option<HeaderValue> {
    super::cookie(req.headers(), PURPOSE_COOKIE).and_then(|key| HeaderValue::from_str(&key).ok())
}

/// The largest form a page posts.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// What a page needs of the reader's session besides the principal.
#[derive(Clone)]
pub struct PageSession {
    /// The token every form of this session carries.
    pub csrf: String,
    /// How the header names the reader (their display name or address),
    /// from the cookie set at sign-in; the account id without it.
    pub name: Option<String>,
}

/// The cookie carrying the reader's own name to the header, so no page
/// opens (and audits) their sealed profile again.
const NAME_COOKIE: &str = "kith_name";

/// The name cookie (`None`: removed), percent-encoded.
pub fn name_cookie(name: Option<&str>, secure: bool) -> HeaderValue {
    match name {
        Some(name) => {
            let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
            super::set_cookie(NAME_COOKIE, &encoded, None, "/", secure)
        }
        None => super::clear_cookie(NAME_COOKIE, "/", secure),
    }
}

fn reader_name(req: &Request) -> Option<String> {
    let found = super::cookie(req.headers(), NAME_COOKIE)?;
    let decoded: String = form_urlencoded::parse(format!("n={found}").as_bytes()).next()?.1.into_owned();
    Some(decoded.chars().take(200).collect()).filter(|n: &String| !n.trim().is_empty())
}

/// To the sign-in page, forgetting the name of whoever was signed in.
fn to_sign_in(secure: bool) -> Response {
    ([(header::SET_COOKIE, name_cookie(None, secure))], Redirect::to("/login")).into_response()
}

/// Middleware: a live session, or a redirect to the sign-in page.
pub async fn staff(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(secret) = sessions::cookie_secret(req.headers()) else {
        return to_sign_in(state.config.tls);
    };
    let now = crate::now_millis();
    // Safe-method check: the form token is this module's to verify.
    let checked = sessions::principal_for_session(
        &state.store,
        &state.config.accounts,
        &secret,
        &Method::GET,
        req.headers(),
        now,
    )
    .await;
    match checked {
        Ok(principal) => {
            // The chosen purpose travels as the API's header; the caller
            // extractor checks its form and the services its use.
            if let Some(purpose) = chosen_purpose(&req) {
                req.headers_mut().insert(PURPOSE_HEADER, purpose);
            }
            req.extensions_mut().insert(principal);
            let name = reader_name(&req);
            req.extensions_mut().insert(PageSession { csrf: csrf_for(&secret), name });
            next.run(req).await
        }
        Err(refused) => {
            let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
            let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
            let event = audit_event::authentication_refused(refused.actor, request_id, client);
            if let Err(e) = state.audit.record_refusal(event).await {
                return e.into_response();
            }
            to_sign_in(state.config.tls)
        }
    }
}

/// Middleware: a state-changing form carries the session's CSRF token.
pub async fn form_token(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let expected = req.extensions().get::<PageSession>().map(|s| s.csrf.clone());
    let (parts, body) = req.into_parts();
    // A file upload's body was already bounded by the deadlines' upload limit.
    let upload = crate::http::deadlines::UPLOAD_PATHS.contains(&parts.uri.path());
    let Ok(bytes) = axum::body::to_bytes(body, if upload { usize::MAX } else { MAX_FORM_BYTES }).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let sent = match multipart_boundary(&parts.headers) {
        Some(_) => multipart_token(&parts, bytes.clone()).await,
        None => form_urlencoded::parse(&bytes).find(|(name, _)| name == "csrf").map(|(_, value)| value.into_owned()),
    };
    let valid =
        matches!((&expected, &sent), (Some(want), Some(got)) if constant_time_eq(want.as_bytes(), got.as_bytes()));
    if !valid {
        return (StatusCode::FORBIDDEN, "the form is missing this session's token: reload the page and try again")
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn multipart_boundary(headers: &axum::http::HeaderMap) -> Option<&str> {
    let kind = headers.get(axum::http::header::CONTENT_TYPE)?.to_str().ok()?;
    kind.trim().to_ascii_lowercase().starts_with("multipart/form-data").then_some(kind)
}

/// The `csrf` field of a multipart form (a file upload), read from a copy
/// of the body. The copy keeps the request's extensions, so the body limit
/// the router set for uploads holds for it too (not the extractor's 2 MiB).
async fn multipart_token(parts: &axum::http::request::Parts, bytes: axum::body::Bytes) -> Option<String> {
    use axum::extract::FromRequest;
    let mut copy = Request::new(Body::from(bytes));
    *copy.headers_mut() = parts.headers.clone();
    *copy.extensions_mut() = parts.extensions.clone();
    let mut form = axum::extract::Multipart::from_request(copy, &()).await.ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("csrf") {
            return field.text().await.ok();
        }
    }
    None
}
