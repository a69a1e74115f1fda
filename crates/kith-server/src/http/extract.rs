//! Request extraction that answers bad input with problem JSON. Error
//! details name the field path and the rule; they never echo a value.

use crate::error::ApiError;
use crate::input::describe;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::IntoResponse;
use kith_core::text::{has_refused, TextKind};
use kith_core::ErrorCode;
use serde::de::DeserializeOwned;

/// A JSON body, parsed strictly.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.into_response().status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "the body is larger than the server accepts")
            } else {
                ApiError::new(ErrorCode::MalformedJson, "the body could not be read")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out (a `POST` that usually carries nothing):
/// no body at all is `T::default()`; a body must be JSON like for [`ApiJson`].
pub struct MaybeJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for MaybeJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.headers().contains_key(header::CONTENT_TYPE) {
            return ApiJson::<T>::from_request(req, state).await.map(|ApiJson(value)| MaybeJson(value));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::new(ErrorCode::MalformedJson, "the body could not be read"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(MaybeJson(T::default()))
        } else {
            Err(ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as application/json"))
        }
    }
}

/// Parses JSON into `T`, classifying the failure.
/// Every body Kith takes is a JSON object; derived deserialisers would also
/// take an array of the fields in order, which no client means to send.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
            return Err(ApiError::new(ErrorCode::InvalidType, "body: expected a JSON object"));
        }
        return Err(ApiError::new(ErrorCode::MalformedJson, "the body is not a JSON object"));
    }
    if let Some(refusal) = scan_text(bytes) {
        return Err(refusal);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(describe)?;
    de.end().map_err(|_| ApiError::new(ErrorCode::MalformedJson, "there is text after the JSON value"))?;
    Ok(value)
}

/// Walks a body once before it is parsed into its type: every string may
/// hold only what free text may (`kith_core::text`), every key no control
/// character, and no object may name a key twice at any depth (a derived
/// type would catch that only at its top level). `None` when the body
/// passes or is not JSON at all (the typed parse then says why).
fn scan_text(bytes: &[u8]) -> Option<ApiError> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let err = TextScan { path: "body".into() }.deserialize(&mut de).err()?;
    if err.classify() != serde_json::error::Category::Data {
        return None;
    }
    let message = err.to_string();
    let detail = message.split(" at line ").next().unwrap_or(&message).to_string();
    Some(ApiError::new(ErrorCode::InvalidValue, detail))
}

/// The visitor behind [`scan_text`]; `path` names where it is, for errors.
struct TextScan {
    path: String,
}

impl TextScan {
    fn at(&self, step: impl std::fmt::Display) -> Self {
        Self { path: if self.path == "body" { step.to_string() } else { format!("{}.{step}", self.path) } }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for TextScan {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TextScan {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        if has_refused(text, TextKind::Free) {
            return Err(E::custom(format!("{}: holds a control character", self.path)));
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq.next_element_seed(self.at(index))?.is_some() {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error;
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if has_refused(&key, TextKind::Strict) {
                return Err(A::Error::custom(format!("{}: a key holds a control character", self.path)));
            }
            if !seen.insert(key.clone()) {
                return Err(A::Error::custom(format!("{}: a key appears twice", self.path)));
            }
            map.next_value_seed(self.at(&key))?;
        }
        Ok(())
    }
}

/// The raw query string parsed into `T`, strictly.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.into_inner().to_string();
            let detail = match msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
                Some(name) => format!("{name}: unknown query parameter"),
                None => format!("{path}: invalid query parameter"),
            };
            ApiError::new(ErrorCode::InvalidQuery, detail)
        })
    }
}

/// The id in the path, read only once `allowed` holds: a caller refused
/// the operation gets that refusal whatever the path holds, so a malformed
/// id tells them nothing either.
pub fn path_id_once<T>(allowed: Result<T, ApiError>, raw: &str) -> Result<uuid::Uuid, ApiError> {
    allowed?;
    path_id(raw)
}

/// An id from the path: not a UUID, nothing is there (404).
pub fn path_id(raw: &str) -> crate::error::ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::new(ErrorCode::NotFound, "an id is a UUID"))
}

/// `PublicRequest` (see `auth::caller`) from a request's headers and connection.
impl<S: Send + Sync> FromRequestParts<S> for crate::auth::caller::PublicRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        Ok(Self {
            request_id: parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string),
            client: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            user_agent: text(header::USER_AGENT).map(|ua| ua.chars().take(500).collect()),
            gpc: kith_core::capture::gpc_signal(
                parts.headers.get_all(kith_core::capture::GPC_HEADER).iter().map(|v| v.as_bytes()),
            ),
        })
    }
}
