//! The one error type of the API: RFC 9457 problem JSON with a stable
//! `code`. Internal failures are logged with the request id and shown only
//! as "internal error": their text may name tables, never a client's data,
//! but it is still none of the client's business.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kith_core::{ErrorCode, ValidationError};
use kith_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    /// An internal failure: logged in full, answered without detail.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(context, error = %err, "internal error");
        Self::new(
            ErrorCode::Internal,
            "the server could not complete the request; the request id is in the x-request-id header",
        )
    }

    /// Opened data that does not decode. The decoder's message may quote
    /// the opened (personal) value, so only its kind is logged.
    pub fn undecodable(context: &str) -> Self {
        Self::internal(context, "opened data does not decode")
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::new(e.code, e.detail)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownReference(entity, id) => {
                Self::new(ErrorCode::UnknownReference, format!("{entity} {id} does not exist"))
            }
            StoreError::VersionConflict => {
                Self::new(ErrorCode::Conflict, "the record was changed at the same time; read it again and retry")
            }
            StoreError::InUse(by) => Self::new(ErrorCode::InUse, format!("the record is still referenced by {by}")),
            StoreError::Duplicate => Self::new(ErrorCode::Conflict, "a record with this id already exists"),
            StoreError::Held => Self::new(
                ErrorCode::ErasureException,
                "an exception to erasure is recorded for this person: their data is kept",
            ),
            other => Self::internal("store", other),
        }
    }
}

impl From<kith_crypto::CryptoError> for ApiError {
    fn from(e: kith_crypto::CryptoError) -> Self {
        Self::internal("crypto", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({
            "type": format!("urn:kith:problem:{}", self.code.as_str()),
            "title": self.code.title(),
            "status": status.as_u16(),
            "detail": self.detail,
            "code": self.code.as_str(),
        });
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
