//! Who is in the privacy portal: the `kith_portal` cookie names a short
//! session bound to one person (`service::portal`). Without a live one the
//! reader is sent back to ask for a link. Forms carry the session's CSRF
//! token, derived from the secret as for staff sessions.

use super::session::PageSession;
use crate::auth::sessions::csrf_for;
use crate::service::portal;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

const COOKIE: &str = "kith_portal";

/// The person a portal page is for, and their session.
#[derive(Clone)]
pub struct PortalPage {
    pub session: portal::PortalSession,
    /// The cookie's secret, to end the session with.
    pub secret: String,
}

fn secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty() && value.len() <= 100)
}

/// The cookie of a new portal session: only the portal's paths see it.
pub fn set_cookie(secret: &str, max_age_seconds: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Max-Age={max_age_seconds}; Path=/privacy; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| clear_cookie(false))
}

pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}=; Max-Age=0; Path=/privacy; HttpOnly; SameSite=Strict{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("kith_portal=; Max-Age=0; Path=/privacy"))
}

/// Middleware: a live portal session, or back to the portal's first page.
pub async fn subject(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(secret) = secret(req.headers()) else {
        return Redirect::to("/privacy?ended=1").into_response();
    };
    match portal::session(&state, &secret).await {
        Ok(Some(session)) => {
            req.extensions_mut().insert(PageSession { csrf: csrf_for(&secret), name: None });
            req.extensions_mut().insert(PortalPage { session, secret });
            next.run(req).await
        }
        Ok(None) => {
            ([(header::SET_COOKIE, clear_cookie(state.config.tls))], Redirect::to("/privacy?ended=1")).into_response()
        }
        Err(e) => e.into_response(),
    }
}
