//! Checks every request's path and query before routing: each segment and
//! each query name and value, percent-decoded, must be UTF-8 and hold no
//! control character (`kith_core::text`). So no handler, extractor or
//! database ever sees a NUL or a byte sequence that is not text, on either
//! engine, and the refusal is problem JSON like every other.

use crate::error::ApiError;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kith_core::text::{has_refused, TextKind};
use kith_core::ErrorCode;
use percent_encoding::percent_decode;

/// Whether raw (percent-encoded) URI text decodes to acceptable text.
fn decodes_to_text(raw: &[u8]) -> bool {
    percent_decode(raw).decode_utf8().is_ok_and(|text| !has_refused(&text, TextKind::Strict))
}

/// The refusal a request's path and query earn, if any.
pub fn check_uri(path: &str, query: Option<&str>) -> Option<ApiError> {
    if !path.split('/').all(|segment| decodes_to_text(segment.as_bytes())) {
        return Some(ApiError::new(
            ErrorCode::InvalidPath,
            "path: every segment must be UTF-8 text without control characters",
        ));
    }
    let query = query.unwrap_or("");
    // `+` is a space in a query; it is no control character either way.
    let mut pairs = query.split('&').flat_map(|pair| pair.split('='));
    if !pairs.all(|part| decodes_to_text(part.as_bytes())) {
        return Some(ApiError::new(
            ErrorCode::InvalidQuery,
            "query: every name and value must be UTF-8 text without control characters",
        ));
    }
    None
}

/// The middleware form of [`check_uri`].
pub async fn refuse_bad_text(request: Request, next: Next) -> Response {
    match check_uri(request.uri().path(), request.uri().query()) {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_controls_and_bytes_that_are_not_utf8_are_refused_in_paths_and_queries() {
        assert!(check_uri("/api/v1/contacts/abc", Some("email=a%40b.org&q=Ol%C3%A9na+K")).is_none());
        assert!(check_uri("/api/v1/contacts/%D0%9E", None).is_none());
        for path in ["/api/v1/forms/%00/x", "/v1/agent/%ff", "/a/%0a", "/a/%C3"] {
            assert!(check_uri(path, None).is_some(), "{path}");
        }
        for query in ["owner=%00", "email=%ff%fe", "stage=a%09b", "%00=1", "q=%E2%80"] {
            assert!(check_uri("/api/v1/contacts", Some(query)).is_some(), "{query}");
        }
    }
}
