//! How long one request may take. A client gets `body` to send its whole
//! body (one that trickles it in is answered 408 and let go, where the
//! header timeout in `serve` only covers the headers); the server gets
//! `response` to answer, after which the client is told 503 and let go.
//! The handler is not cancelled at that point: it runs on to its end, so a
//! write that has begun commits with its audit event or not at all, as it
//! would have, and the answer says it may have happened.

use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kith_core::ErrorCode;
use std::time::Duration;
use tracing::Instrument;

/// The limits, with the body size the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub body: Duration,
    pub response: Duration,
    pub max_body_bytes: usize,
    /// The body size and deadline of the paths that take files.
    pub upload_max_body_bytes: usize,
    pub upload_body: Duration,
}

/// The paths that take whole files (an import): larger bodies, more time.
pub const UPLOAD_PATHS: [&str; 2] = ["/api/v1/imports", "/contacts/import"];

impl Deadlines {
    fn for_request(&self, parts: &axum::http::request::Parts) -> (Duration, usize) {
        match parts.method == axum::http::Method::POST && UPLOAD_PATHS.contains(&parts.uri.path()) {
            true => (self.upload_body, self.upload_max_body_bytes),
            false => (self.body, self.max_body_bytes),
        }
    }
}

/// The middleware: reads the body within its deadline (Kith's bodies are
/// small JSON documents, held in memory anyway), then runs the rest of the
/// stack on a task of its own and waits at most `response` for it.
pub async fn within_deadlines(State(limits): State<Deadlines>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let (body_deadline, max_body_bytes) = limits.for_request(&parts);
    // One byte over the limit is enough to know the body is too large.
    let read = tokio::time::timeout(body_deadline, axum::body::to_bytes(body, max_body_bytes.saturating_add(1)));
    let bytes = match read.await {
        Err(_) => {
            return ApiError::new(
                ErrorCode::RequestTimeout,
                format!("the body did not arrive within {} seconds", body_deadline.as_secs_f32()),
            )
            .into_response()
        }
        Ok(Err(_)) => {
            return ApiError::new(
                ErrorCode::PayloadTooLarge,
                "the body is larger than the server accepts, or was cut off",
            )
            .into_response()
        }
        Ok(Ok(bytes)) if bytes.len() > max_body_bytes => {
            return ApiError::new(ErrorCode::PayloadTooLarge, "the body is larger than the server accepts")
                .into_response()
        }
        Ok(Ok(bytes)) => bytes,
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    let mut handler = tokio::spawn(next.run(request).instrument(tracing::Span::current()));
    match tokio::time::timeout(limits.response, &mut handler).await {
        Ok(Ok(response)) => response,
        Ok(Err(failed)) => ApiError::internal("handler", failed).into_response(),
        Err(_) => {
            tracing::warn!(seconds = limits.response.as_secs_f32(), "a request outlived its response deadline");
            ApiError::new(
                ErrorCode::Unavailable,
                "the server did not answer in time; the request may still complete: check before repeating it",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use axum::Router;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tower::ServiceExt;

    const LIMITS: Deadlines = Deadlines {
        body: Duration::from_millis(200),
        response: Duration::from_millis(200),
        max_body_bytes: 16,
        upload_max_body_bytes: 16,
        upload_body: Duration::from_millis(200),
    };

    fn app(finished: Arc<AtomicBool>) -> Router {
        Router::new()
            .route("/echo", post(|body: axum::body::Bytes| async move { body }))
            .route(
                "/slow",
                get(move || async move {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    finished.store(true, Ordering::SeqCst);
                    "done"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(LIMITS, within_deadlines))
    }

    async fn code_of(response: Response) -> (u16, String) {
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        (status, problem["code"].as_str().unwrap_or_default().to_string())
    }

    #[tokio::test]
    async fn a_body_that_does_not_arrive_in_time_is_answered_408() {
        let never = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
        let request = Request::post("/echo").body(Body::from_stream(never)).unwrap();
        let response = app(Arc::default()).oneshot(request).await.unwrap();
        assert_eq!(code_of(response).await, (408, "request_timeout".into()));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_answered_413_and_one_within_it_passes() {
        let request = Request::post("/echo").body(Body::from(vec![b'x'; 17])).unwrap();
        let response = app(Arc::default()).oneshot(request).await.unwrap();
        assert_eq!(code_of(response).await, (413, "payload_too_large".into()));
        let request = Request::post("/echo").body(Body::from("sixteen bytes ok")).unwrap();
        let response = app(Arc::default()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(&axum::body::to_bytes(response.into_body(), 64).await.unwrap()[..], b"sixteen bytes ok");
    }

    #[tokio::test]
    async fn a_slow_answer_is_a_503_and_the_handler_still_finishes() {
        let finished = Arc::new(AtomicBool::new(false));
        let response = app(finished.clone()).oneshot(Request::get("/slow").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(code_of(response).await, (503, "unavailable".into()));
        assert!(!finished.load(Ordering::SeqCst), "answered before the handler ended");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(finished.load(Ordering::SeqCst), "the handler was not cancelled");
    }
}
