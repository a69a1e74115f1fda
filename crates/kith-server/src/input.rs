//! JSON input into typed values, refused with an error that names the
//! field and what it expected.

use crate::error::ApiError;
use kith_core::ErrorCode;
use serde::de::DeserializeOwned;

/// A parsed JSON value into `T` (merged patches), refused like a body.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(describe)
}

pub(crate) fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let at = if path == "." || path.is_empty() { "body".to_string() } else { path };
    let message = inner.to_string();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
            ApiError::new(
                ErrorCode::MalformedJson,
                format!("not valid JSON (line {}, column {})", inner.line(), inner.column()),
            )
        }
        serde_json::error::Category::Data => {
            if let Some(name) = message.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
                ApiError::new(ErrorCode::UnknownField, format!("{}: unknown field", field_path(&at, name)))
            } else if let Some(name) = message.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
                ApiError::new(ErrorCode::MissingField, format!("{}: required", field_path(&at, name)))
            } else if message.starts_with("invalid type") {
                let expected = message.rsplit_once("expected ").map(|(_, e)| e.split(" at line").next().unwrap_or(e));
                ApiError::new(ErrorCode::InvalidType, format!("{at}: expected {}", expected.unwrap_or("another type")))
            } else if message.starts_with("unknown variant") {
                let expected = message.rsplit_once("expected ").map(|(_, e)| e.split(" at line").next().unwrap_or(e));
                ApiError::new(
                    ErrorCode::InvalidValue,
                    format!("{at}: expected {}", expected.unwrap_or("a known value")),
                )
            } else {
                ApiError::new(ErrorCode::InvalidValue, format!("{at}: invalid value"))
            }
        }
    }
}

fn field_path(at: &str, name: &str) -> String {
    // serde_path_to_error reports the containing object; add the field itself.
    if at == "body" {
        name.to_string()
    } else if at == name || at.ends_with(&format!(".{name}")) {
        at.to_string()
    } else {
        format!("{at}.{name}")
    }
}
