//! The authentication middleware: a bearer token, an API key or a
//! session cookie becomes the request's `Principal`.

use crate::audit::event as audit_event;
use crate::auth::{principal_for, Refused};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use kith_core::ErrorCode;
use std::net::SocketAddr;

/// Middleware: requires a valid bearer token or session cookie (see
/// `sessions.rs`; a bearer token wins when both are sent) and records the
/// principal. A refused authentication is audited (actor `anonymous`, or
/// the token or user when a revoked or expired credential was used, with
/// the client address and request id), so repeated guessing shows in the
/// log and its alerts.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let now = crate::now_millis();
    let outcome = match (token, crate::auth::sessions::cookie_secret(req.headers())) {
        (Some(token), _) if token.starts_with(crate::auth::api_keys::KEY_PREFIX) => {
            crate::auth::api_keys::principal_for_key(&state.store, token, client, now).await
        }
        (Some(token), _) => principal_for(&state.store, token, now).await,
        (None, Some(secret)) => {
            let settings = &state.config.accounts;
            crate::auth::sessions::principal_for_session(
                &state.store,
                settings,
                &secret,
                req.method(),
                req.headers(),
                now,
            )
            .await
        }
        (None, None) => Err(Refused {
            error: ApiError::new(ErrorCode::Unauthenticated, "send Authorization: Bearer <token>, or log in"),
            actor: None,
        }),
    };
    match outcome {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            Ok(next.run(req).await)
        }
        Err(Refused { error, actor })
            if matches!(
                error.code,
                ErrorCode::Unauthenticated
                    | ErrorCode::AddressNotAllowed
                    | ErrorCode::CsrfFailed
                    | ErrorCode::NoTransferMechanism
                    | ErrorCode::TransferMechanismExpired
                    | ErrorCode::RecipientEnded
                    | ErrorCode::PurposeNotAllowed
            ) =>
        {
            let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
            let event = audit_event::authentication_refused(actor, request_id, client.map(|ip| ip.to_string()));
            state.audit.record_refusal(event).await?;
            Err(error)
        }
        Err(Refused { error, .. }) => Err(error),
    }
}
