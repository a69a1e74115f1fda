//! The purpose selector: the reader's choice of purpose, remembered for
//! the session in a cookie and sent on as `Kith-Purpose`, so every list
//! is filtered exactly as the API filters it.

use super::error;
use super::Chrome;
use crate::auth::caller::Caller;
use crate::http::web::session::{purpose_cookie, PageSession};
use crate::http::web::Lang;
use crate::service::purposes;
use crate::AppState;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::ErrorCode;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Choice {
    purpose: String,
    #[serde(default)]
    back: String,
}

/// A path on this site to return to; anything else returns to the start.
fn local(back: &str) -> &str {
    let safe = back.starts_with('/') && !back.starts_with("//") && !back.contains('\\');
    if safe {
        back
    } else {
        "/"
    }
}

pub async fn choose(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Form(choice): Form<Choice>,
) -> Response {
    let usable = match purposes::usable(&state, &who).await {
        Ok(usable) => usable,
        Err(e) => return error(Chrome::load(&state, lang, &who, &session, "/").await, e),
    };
    let key = choice.purpose.trim();
    if !usable.iter().any(|p| p.key == key) {
        let refused = crate::error::ApiError::new(ErrorCode::PurposeNotAllowed, "purpose: not one your role may use");
        return error(Chrome::load(&state, lang, &who, &session, "/").await, refused);
    }
    let cookie = purpose_cookie(Some(key), state.config.tls);
    ([(header::SET_COOKIE, cookie)], Redirect::to(local(&choice.back))).into_response()
}
