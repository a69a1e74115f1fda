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

/// The longest path and query taken, in bytes: far beyond any Kith URL,
/// far below the HTTP layer's own limit (which answers without a body).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) taken; the same reasoning.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The refusal a request's size earns, if any.
pub fn check_size(request: &Request) -> Option<ApiError> {
    let uri = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(ApiError::new(
            ErrorCode::UriTooLong,
            format!("the path and query are longer than {MAX_URI_BYTES} bytes"),
        ));
    }
    let headers: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers > MAX_HEADER_BYTES {
        return Some(ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!("the headers are larger than {MAX_HEADER_BYTES} bytes"),
        ));
    }
    None
}

/// The middleware form of [`check_size`] and [`check_uri`].
pub async fn refuse_bad_text(request: Request, next: Next) -> Response {
    let refusal = check_size(&request).or_else(|| check_uri(request.uri().path(), request.uri().query()));
    match refusal {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_uris_and_large_headers_are_refused_with_their_own_codes() {
        let at = |uri: String| Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let long = format!("/api/v1/contacts?q={}", "a".repeat(MAX_URI_BYTES));
        assert_eq!(check_size(&at(long)).map(|e| e.code), Some(ErrorCode::UriTooLong));
        assert!(check_size(&at(format!("/api/v1/contacts?q={}", "a".repeat(1000)))).is_none());
        let mut large = at("/healthz".into());
        for i in 0..40 {
            large.headers_mut().insert(
                format!("x-filler-{i}").parse::<axum::http::HeaderName>().unwrap(),
                "b".repeat(1000).parse().unwrap(),
            );
        }
        assert_eq!(check_size(&large).map(|e| e.code), Some(ErrorCode::HeadersTooLarge));
    }

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
