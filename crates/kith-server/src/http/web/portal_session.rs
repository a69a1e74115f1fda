//! Who is in the privacy portal: the `kith_portal` cookie names a short
//! session bound to one person (`service::portal`). Without a live one the
//! reader is sent back to ask for a link. Forms carry the session's CSRF
//! token, derived from the secret as for staff sessions.

use super::session::PageSession;
use crate::auth::sessions::csrf_for;
use crate::service::portal;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// The cookie's name: over TLS with the `__Secure-` prefix, so no sibling
/// subdomain can plant a session of its choosing.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Secure-kith_portal"
    } else {
        "kith_portal"
    }
}

/// The person a portal page is for, and their session.
#[derive(Clone)]
pub struct PortalPage {
    pub session: portal::PortalSession,
    /// The cookie's secret, to end the session with.
    pub secret: String,
}

/// The cookie of a new portal session: only the portal's paths see it.
pub fn set_cookie(secret: &str, max_age_seconds: u64, secure: bool) -> HeaderValue {
    super::set_cookie(cookie_name(secure), secret, Some(max_age_seconds), "/privacy", secure)
}

pub fn clear_cookie(secure: bool) -> HeaderValue {
    super::clear_cookie(cookie_name(secure), "/privacy", secure)
}

/// Middleware: a live portal session, or back to the portal's first page.
pub async fn subject(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let secret = super::cookie(req.headers(), cookie_name(state.config.tls)).filter(|s| s.len() <= 100);
    let Some(secret) = secret else {
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
