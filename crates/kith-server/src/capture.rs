//! Public consent capture with double opt-in. Staff define forms (purposes
//! and the notice shown); a web page posts a person's e-mail address to a
//! form without authentication; the person confirms through a token sent
//! to that address; only then is the consent in their ledger, with the
//! evidence of both steps.
//!
//! The submission stores nothing in clear: the details wait sealed under a
//! data key of their own, which is destroyed when the confirmation is used
//! or expires (crypto-shredding, then deletion). The submission never
//! looks the address up, so neither its answer nor its timing tells
//! whether the address is known. The Global Privacy Control signal
//! (`Sec-GPC: 1`) on either request is an objection to sale or sharing and
//! to direct marketing, and recorded as such.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::hash_token;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{json_content, operation, problem_response, Api};
use crate::http::extract::{ApiJson, PublicRequest};
use crate::http::guard::{Guard, WritePurposes};
use crate::http::ratelimit::Rate;
use crate::sealing::to_crypto;
use crate::service::consents::{self, consent_needs_guardian, record_consent, record_objection};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::capture::{gpc_objects_to, FormInput, SubmissionInput, GPC_OBJECTIONS};
use kith_core::consent::{ConsentInput, ConsentMethod};
use kith_core::model::Contact;
use kith_core::ErrorCode;
use kith_crypto::DataKey;
use kith_store::{DynStore, FormRow, OutboxRow, PendingRow};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::{Ref, Required, ResponseBuilder};
use utoipa::ToSchema;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Expired confirmations deleted per request that sweeps (submission,
/// confirmation, outbox claim), so no request pays for a large backlog;
/// `kith serve` also sweeps periodically.
const SWEEP_BATCH: u32 = 100;

/// Outbox messages handed out per claim.
const CLAIM_BATCH: u32 = 100;

/// `[capture]` in `kith.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSettings {
    /// How long a confirmation token stays valid (default 48 hours).
    pub confirmation_ttl_seconds: u64,
    /// The page a confirmation link opens, with `{token}` where the token
    /// goes (e.g. `https://example.org/confirm#{token}`); that page posts
    /// the token to `/api/v1/public/confirmations/{token}`. Without it the
    /// message carries the token alone.
    pub confirm_url: Option<String>,
    /// Public requests per client address (IPv6: per /64).
    pub per_client: Rate,
    /// Submissions per form, whoever sends them.
    pub per_form: Rate,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            confirmation_ttl_seconds: 48 * 3600,
            confirm_url: None,
            per_client: Rate { per_minute: 10, burst: 20 },
            per_form: Rate { per_minute: 300, burst: 600 },
        }
    }
}

impl CaptureSettings {
    pub fn check(&self) -> Result<(), String> {
        if !(60..=30 * 86_400).contains(&self.confirmation_ttl_seconds) {
            return Err("capture.confirmation_ttl_seconds: between 60 (a minute) and 2592000 (30 days)".into());
        }
        if let Some(url) = &self.confirm_url {
            // The token is a credential: it travels in clear only to this machine.
            let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
                .iter()
                .any(|p| url.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/'])));
            if !(url.starts_with("https://") || loopback) || !url.contains("{token}") {
                return Err(
                    "capture.confirm_url: an https URL (http only to loopback) with {token} where the token goes"
                        .into(),
                );
            }
        }
        self.per_client.check("capture.per_client")?;
        self.per_form.check("capture.per_form")
    }
}

/// What a submission keeps until it is confirmed, sealed.
#[derive(Serialize, Deserialize)]
struct Submitted {
    email: String,
    given_name: Option<String>,
    family_name: Option<String>,
    purposes: Vec<String>,
    client: Option<String>,
    user_agent: Option<String>,
    gpc: bool,
}

/// A confirmation message for the mail integration, sealed.
#[derive(Serialize, Deserialize)]
struct Message {
    to: String,
    subject: String,
    text: String,
    token: String,
    confirm_url: Option<String>,
    expires_at: String,
}

fn event(actor: String, action: AuditAction, entity: &str, record: Option<Uuid>, fields: Vec<String>) -> AuditEvent {
    audit_event::event(actor, action, About { entity, record, subject: None }, fields)
}

/// Deletes expired confirmations with their keys and messages, a batch at
/// a time; a failure is logged, never the request's.
pub async fn sweep(store: &DynStore, audit: &crate::audit::AuditLog) {
    match store.sweep_pending(crate::now_millis(), SWEEP_BATCH).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::debug!(n, "expired confirmations deleted");
            let mut swept = event("system:expiry".into(), AuditAction::Delete, "pending_confirmations", None, vec![]);
            swept.fields = vec![format!("expired:{n}")];
            if let Err(e) = audit.record(vec![swept]).await {
                tracing::warn!(code = %e.code, "the expiry sweep could not be audited");
            }
        }
        Err(e) => tracing::warn!(error = %e, "expired confirmations could not be deleted"),
    }
}

/// A new random secret, URL-safe: 16 bytes for a form key (an identifier
/// published in web pages), 32 for a confirmation token.
fn random(bytes: usize) -> String {
    let mut raw = Zeroizing::new(vec![0u8; bytes]);
    rand::rngs::OsRng.fill_bytes(&mut raw);
    B64URL.encode(&*raw)
}

fn render_form(form: &FormRow) -> Value {
    json!({
        "key": form.key,
        "name": form.name,
        "purposes": form.purposes,
        "notice_version": form.notice_version,
        "source": form.source,
        "created_at": rfc3339_millis(form.created_at),
        "created_by": form.created_by,
        "disabled_at": form.disabled_at.map(rfc3339_millis),
        "submit_path": format!("/api/v1/public/forms/{}/submissions", form.key),
    })
}

async fn add_form(
    State(state): State<AppState>,
    who: Caller,
    _allowed: Guard<WritePurposes>,
    ApiJson(mut input): ApiJson<FormInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.authorizer.authorize_purposes(&who.principal, true)?;
    input.validate()?;
    for purpose in &input.purposes {
        if state.store.purpose(purpose).await?.is_none() {
            return Err(ApiError::new(ErrorCode::UnknownReference, "purposes: a key not in the purposes catalogue"));
        }
    }
    if !state.store.notices().await?.iter().any(|n| n.version == input.notice_version) {
        return Err(ApiError::new(ErrorCode::UnknownReference, "notice_version: no such privacy notice version"));
    }
    let form = FormRow {
        key: format!("form_{}", random(16)),
        name: input.name,
        purposes: input.purposes,
        notice_version: input.notice_version,
        source: input.source,
        created_at: crate::now_millis(),
        created_by: who.principal.name.clone(),
        disabled_at: None,
    };
    state.store.add_form(&form).await?;
    let change = AuditEvent {
        request_id: who.request_id.clone(),
        client: who.client.clone(),
        ..event(who.actor(), AuditAction::ConfigChange, "capture_forms", None, vec![form.key.clone()])
    };
    state.audit.record(vec![change]).await?;
    Ok((StatusCode::CREATED, Json(render_form(&form))))
}

async fn list_forms(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_purposes(&who.principal, false)?;
    let items: Vec<Value> = state.store.forms().await?.iter().map(render_form).collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn disable_form(State(state): State<AppState>, who: Caller, Path(key): Path<String>) -> ApiResult<StatusCode> {
    state.authorizer.authorize_purposes(&who.principal, true)?;
    if !state.store.disable_form(&key, crate::now_millis()).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such enabled form"));
    }
    let change = AuditEvent {
        request_id: who.request_id.clone(),
        client: who.client.clone(),
        ..event(who.actor(), AuditAction::ConfigChange, "capture_forms", None, vec![key])
    };
    state.audit.record(vec![change]).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn no_such_form() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such form")
}

/// The confirmation message: what the person asked for, and how to confirm.
fn message(form: &FormRow, to: &str, token: &str, confirm_url: Option<String>, expires_at: i64) -> Message {
    let expires = rfc3339_millis(expires_at);
    let how = match &confirm_url {
        Some(url) => format!("To confirm, open this link before {expires}:\n\n{url}\n"),
        None => format!("To confirm, use this code before {expires}:\n\n{token}\n"),
    };
    let text = format!(
        "Someone, hopefully you, asked through \"{}\" to be contacted for: {}.\n\n{how}\n\
         If it was not you, ignore this message: nothing about you is kept once it expires.\n",
        form.name,
        form.purposes.join(", "),
    );
    Message {
        to: to.into(),
        subject: "Please confirm your request".into(),
        text,
        token: token.into(),
        confirm_url,
        expires_at: expires,
    }
}

async fn submit(
    State(state): State<AppState>,
    Path(form_key): Path<String>,
    request: PublicRequest,
    ApiJson(mut input): ApiJson<SubmissionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    sweep(&state.store, &state.audit).await;
    let form = state.store.form(&form_key).await?.filter(|f| f.disabled_at.is_none()).ok_or_else(no_such_form)?;
    input.validate(&form.purposes)?;
    let settings = &state.config.capture;
    let now = crate::now_millis();
    let ttl = i64::try_from(settings.confirmation_ttl_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl);
    let token = Zeroizing::new(random(32));
    let confirm_url = settings.confirm_url.as_ref().map(|u| u.replace("{token}", &token));
    let id = Uuid::new_v4();
    let key = DataKey::generate();
    let submitted = Submitted {
        email: input.email.clone(),
        given_name: input.given_name.clone(),
        family_name: input.family_name.clone(),
        purposes: input.purposes.clone().unwrap_or_default(),
        client: request.client.clone(),
        user_agent: request.user_agent.clone(),
        gpc: request.gpc,
    };
    let plaintext = Zeroizing::new(serde_json::to_vec(&submitted).map_err(|e| ApiError::internal("capture", e))?);
    let pending = PendingRow {
        id,
        form_key: form.key.clone(),
        token_hash: hash_token(&token),
        submitted_at: now,
        expires_at,
        sealed: key.seal(&crate::sealing::capture_pending(id, &form.key), &plaintext),
    };
    let note = message(&form, &input.email, &token, confirm_url, expires_at);
    let message_id = Uuid::new_v4();
    let plaintext = Zeroizing::new(serde_json::to_vec(&note).map_err(|e| ApiError::internal("capture", e))?);
    let outbox = OutboxRow {
        id: message_id,
        pending_id: id,
        created_at: now,
        sealed: key.seal(&crate::sealing::capture_outbox(message_id, id), &plaintext),
    };
    crate::sealing::write_with_new_key(&state.store, &state.keys, id, &key, |wrapped| {
        let (store, pending, outbox) = (&state.store, &pending, &outbox);
        async move { store.add_pending(pending, wrapped, outbox).await }
    })
    .await??;
    let mut fields = vec!["email".to_string()];
    fields.extend(input.given_name.as_ref().map(|_| "given_name".to_string()));
    fields.extend(input.family_name.as_ref().map(|_| "family_name".to_string()));
    // The audit log, which is never erased, does not keep a member of the
    // public's address: it is in the sealed evidence, which erasure shreds.
    let received = AuditEvent {
        request_id: request.request_id,
        ..event(format!("public:form:{}", form.key), AuditAction::Create, "pending_confirmations", Some(id), fields)
    };
    state.audit.record(vec![received]).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "confirmation_sent"}))))
}

/// One answer for a token that is unknown, used or expired, so a caller
/// cannot tell them apart.
fn expired() -> ApiError {
    ApiError::new(
        ErrorCode::ConfirmationExpired,
        "this confirmation is unknown, was already used or has expired; submit the form again",
    )
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: PublicRequest,
) -> ApiResult<Json<Value>> {
    sweep(&state.store, &state.audit).await;
    if token.len() > 100 {
        return Err(expired());
    }
    let Some((pending, wrapped)) = state.store.take_pending(&hash_token(&token)).await? else {
        return Err(expired());
    };
    let now = crate::now_millis();
    let mut taken = event(
        format!("public:form:{}", pending.form_key),
        AuditAction::Delete,
        "pending_confirmations",
        Some(pending.id),
        Vec::new(),
    );
    taken.request_id = request.request_id.clone();
    state.audit.record(vec![taken]).await?;
    let (Some(wrapped), true) = (wrapped, pending.expires_at > now) else {
        return Err(expired());
    };
    let form = state.store.form(&pending.form_key).await?.filter(|f| f.disabled_at.is_none()).ok_or_else(expired)?;
    let key = state.keys.unwrap(&to_crypto(&wrapped))?;
    let plaintext = key.open(&crate::sealing::capture_pending(pending.id, &form.key), &pending.sealed)?;
    let submitted: Submitted = serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("capture"))?;
    drop(key);

    let who = Caller::public_form(&form.key, request.request_id.clone());
    let contact = match state.records.find_contact_by_email(&who, &submitted.email).await? {
        Some(id) => id,
        None => {
            let person = SubmissionInput {
                email: submitted.email.clone(),
                given_name: submitted.given_name.clone(),
                family_name: submitted.family_name.clone(),
                purposes: None,
            }
            .as_contact(None);
            let created = match state.records.create::<Contact>(&who, person).await {
                // An erased person's address: nothing is recorded (the refusal
                // is audited), and the answer is the one anybody gets.
                Err(e) if e.code == ErrorCode::SuppressedAfterErasure => {
                    return Ok(Json(json!({"status": "confirmed"})));
                }
                result => result?,
            };
            created["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| ApiError::internal("capture", "a created contact has no id"))?
        }
    };
    let (person, known) = consents::person(&state, contact).await?;
    // A child's consent needs a guardian record, which a web form cannot
    // give: their grants are not recorded (objections still are).
    let child = consent_needs_guardian(&state, &known, true);
    let gpc = submitted.gpc || request.gpc;
    let mut evidence = Map::new();
    evidence.insert("form".into(), json!(form.key));
    evidence.insert("client".into(), json!(submitted.client));
    evidence.insert("user_agent".into(), json!(submitted.user_agent));
    evidence.insert("submitted_at".into(), json!(rfc3339_millis(pending.submitted_at)));
    evidence.insert("confirmed_at".into(), json!(rfc3339_millis(now)));
    evidence.insert("confirm_client".into(), json!(request.client));
    evidence.insert("confirm_user_agent".into(), json!(request.user_agent));
    let source = Some(form.source.clone().unwrap_or_else(|| form.name.clone()));
    for purpose in &form.purposes {
        let objected = gpc && gpc_objects_to(purpose);
        if !objected && (child || !submitted.purposes.contains(purpose)) {
            continue;
        }
        let mut proof = evidence.clone();
        if objected {
            proof.insert("signal".into(), json!("Sec-GPC: 1"));
            proof.insert(
                "signal_on".into(),
                json!(match (submitted.gpc, request.gpc) {
                    (true, true) => "submission and confirmation",
                    (true, false) => "submission",
                    _ => "confirmation",
                }),
            );
        }
        let entry = ConsentInput {
            purpose: purpose.clone(),
            granted: !objected,
            notice_version: form.notice_version.clone(),
            method: ConsentMethod::DoubleOptIn,
            source: source.clone(),
            evidence: proof,
            guardian: None,
        };
        record_consent(&state, &who, contact, &person, &entry).await?;
    }
    if gpc {
        let status = state
            .store
            .statuses(&[contact], &*crate::consent_seal::sealer(&state.keys))
            .await?
            .remove(&contact)
            .unwrap_or_default();
        for purpose in GPC_OBJECTIONS {
            if !status.objections.contains(purpose) {
                record_objection(&state, &who, contact, purpose).await?;
            }
        }
    }
    Ok(Json(json!({"status": "confirmed"})))
}

async fn claim_outbox(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize_purposes(&who.principal, true)?;
    sweep(&state.store, &state.audit).await;
    let mut items = Vec::new();
    let mut events = Vec::new();
    for (row, wrapped) in state.store.claim_outbox(CLAIM_BATCH).await? {
        // A message whose confirmation was used or expired meanwhile has no key: it is gone.
        let Some(wrapped) = wrapped else { continue };
        let key = state.keys.unwrap(&to_crypto(&wrapped))?;
        let plaintext = key.open(&crate::sealing::capture_outbox(row.id, row.pending_id), &row.sealed)?;
        let note: Message = serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("outbox"))?;
        events.push(AuditEvent {
            request_id: who.request_id.clone(),
            client: who.client.clone(),
            ..event(who.actor(), AuditAction::Read, "outbox", Some(row.id), vec!["to".into(), "text".into()])
        });
        items.push(json!({
            "id": row.id,
            "to": note.to,
            "subject": note.subject,
            "text": note.text,
            "token": note.token,
            "confirm_url": note.confirm_url,
            "expires_at": note.expires_at,
        }));
    }
    state.audit.record(events).await?;
    Ok(Json(json!({ "items": items })))
}

async fn gpc_json() -> Json<Value> {
    Json(json!({"gpc": true, "lastUpdate": kith_core::capture::GPC_LAST_UPDATE}))
}

fn body(schema: &str) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("application/json", json_content(Ref::from_schema_name(schema)))
        .build()
}

fn path_parameter(name: &str) -> utoipa::openapi::path::Parameter {
    crate::http::api::text_parameter(name, name)
}

fn ok(what: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(what).content("application/json", json_content(ObjectBuilder::new())).build()
}

/// Form management and the outbox, for authenticated staff.
pub fn routes(mut api: Api) -> Api {
    api.schemas.push(("FormInput".into(), <FormInput as utoipa::PartialSchema>::schema()));
    api.route(
        HttpMethod::Post,
        "/api/v1/forms",
        add_form,
        operation("add_form", "capture", "Add a public capture form (admin, dpo); answers its public key")
            .request_body(Some(body("FormInput")))
            .response("201", ok("the form with its key"))
            .response("422", problem_response("unknown purpose or notice version, or an invalid field"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/forms",
        list_forms,
        operation("list_forms", "capture", "Capture forms, disabled ones too").response("200", ok("the forms")).build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/forms/{key}",
        disable_form,
        operation("disable_form", "capture", "Disable a form (admin, dpo): its submissions and confirmations stop")
            .parameter(path_parameter("key"))
            .response("204", ResponseBuilder::new().description("disabled").build())
            .response("404", problem_response("no such enabled form"))
            .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/outbox/claim",
        claim_outbox,
        operation(
            "claim_outbox",
            "capture",
            "Take confirmation messages to deliver (admin, dpo); they are deleted as they are handed out",
        )
        .response("200", ok("the messages"))
        .build(),
    )
}

fn public_operation(id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new()
        .operation_id(Some(id))
        .tag("capture")
        .summary(Some(summary))
        .response("429", problem_response("too many requests; see Retry-After"))
}

/// The endpoints web forms and confirmation pages call without
/// authentication; the caller puts the rate limit in front of them.
pub fn public_routes(mut api: Api) -> Api {
    api.schemas.push(("SubmissionInput".into(), <SubmissionInput as utoipa::PartialSchema>::schema()));
    let mut nested = Vec::new();
    <SubmissionInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.route(
        HttpMethod::Post,
        "/api/v1/public/forms/{form_key}/submissions",
        submit,
        public_operation(
            "submit_form",
            "Submit a capture form: a confirmation message is queued for the address (the same answer whether the address is known or not); Sec-GPC: 1 objects to sale, sharing and marketing",
        )
        .parameter(path_parameter("form_key"))
        .request_body(Some(body("SubmissionInput")))
        .response("202", ok("confirmation_sent"))
        .response("404", problem_response("no such enabled form"))
        .response("415", problem_response("the body is not application/json"))
        .response("422", problem_response("a field is unknown, missing or invalid, or a purpose is not the form's"))
        .build(),
    )
    .route(
        HttpMethod::Post,
        "/api/v1/public/confirmations/{token}",
        confirm,
        public_operation(
            "confirm_submission",
            "Confirm a submission with the token sent to its address (double opt-in): the consent enters the person's ledger",
        )
        .parameter(path_parameter("token"))
        .response("200", ok("confirmed"))
        .response("410", problem_response("the token is unknown, used or expired"))
        .build(),
    )
}

/// `/.well-known/gpc.json`: this site honours the Global Privacy Control.
pub fn gpc_route(api: Api) -> Api {
    api.route(
        HttpMethod::Get,
        "/.well-known/gpc.json",
        gpc_json,
        OperationBuilder::new()
            .operation_id(Some("gpc"))
            .tag("service")
            .summary(Some("The Global Privacy Control support resource"))
            .response("200", ok("{\"gpc\": true, \"lastUpdate\": ...}"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_kith_toml_and_are_checked() {
        let parsed: crate::datadir::FileSettings = toml::from_str(
            "[capture]\nconfirmation_ttl_seconds = 3600\nconfirm_url = \"https://example.org/c#{token}\"\n\
             per_client = { per_minute = 5, burst = 10 }\n",
        )
        .unwrap();
        let capture = parsed.capture.unwrap();
        assert_eq!(capture.confirmation_ttl_seconds, 3600);
        assert_eq!(capture.per_client, Rate { per_minute: 5, burst: 10 });
        assert_eq!(capture.per_form, CaptureSettings::default().per_form, "unnamed settings keep their defaults");
        assert!(capture.check().is_ok());
        assert_eq!(CaptureSettings::default().confirmation_ttl_seconds, 48 * 3600);
        for bad in [
            CaptureSettings { confirmation_ttl_seconds: 1, ..Default::default() },
            CaptureSettings { confirm_url: Some("https://example.org/confirm".into()), ..Default::default() },
            CaptureSettings { confirm_url: Some("javascript:{token}".into()), ..Default::default() },
            CaptureSettings { confirm_url: Some("http://example.org/c#{token}".into()), ..Default::default() },
            CaptureSettings { confirm_url: Some("http://localhost.example.org/{token}".into()), ..Default::default() },
            CaptureSettings { per_form: Rate { per_minute: 0, burst: 1 }, ..Default::default() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        let local =
            CaptureSettings { confirm_url: Some("http://127.0.0.1:8080/c#{token}".into()), ..Default::default() };
        assert!(local.check().is_ok(), "plain HTTP to this machine is fine");
        assert!(
            toml::from_str::<crate::datadir::FileSettings>("[capture]\nttl = 1\n").is_err(),
            "unknown keys refused"
        );
    }
}
