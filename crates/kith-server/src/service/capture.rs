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
use crate::auth::caller::{Caller, PublicRequest};
use crate::auth::hash_token;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::sealing::to_crypto;
use crate::service::consents::{self, consent_needs_guardian, record_consent, record_objection};
use crate::service::Services;
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
use serde_json::{json, Map};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Expired confirmations deleted per request that sweeps (submission,
/// confirmation, outbox claim), so no request pays for a large backlog;
/// `kith serve` also sweeps periodically.
const SWEEP_BATCH: u32 = 100;

/// Outbox messages handed out per claim.
const CLAIM_BATCH: u32 = 100;

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
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub token: String,
    pub confirm_url: Option<String>,
    pub expires_at: String,
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

/// Adds a capture form for purposes in the catalogue and a notice that exists.
pub async fn add_form(svc: &Services, who: &Caller, mut input: FormInput) -> ApiResult<FormRow> {
    svc.authorizer.authorize_purposes(&who.principal, true)?;
    input.validate()?;
    for purpose in &input.purposes {
        if svc.store.purpose(purpose).await?.is_none() {
            return Err(ApiError::new(ErrorCode::UnknownReference, "purposes: a key not in the purposes catalogue"));
        }
    }
    if !svc.store.notices().await?.iter().any(|n| n.version == input.notice_version) {
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
    svc.store.add_form(&form).await?;
    let change =
        audit_event::in_request(who, AuditAction::ConfigChange, About::entity("capture_forms"), vec![form.key.clone()]);
    svc.audit.record(vec![change]).await?;
    Ok(form)
}

/// Every form, disabled ones too.
pub async fn forms(svc: &Services, who: &Caller) -> ApiResult<Vec<FormRow>> {
    svc.authorizer.authorize_purposes(&who.principal, false)?;
    Ok(svc.store.forms().await?)
}

/// Disables a form: its submissions and confirmations stop.
pub async fn disable_form(svc: &Services, who: &Caller, key: String) -> ApiResult<()> {
    svc.authorizer.authorize_purposes(&who.principal, true)?;
    if !svc.store.disable_form(&key, crate::now_millis()).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such enabled form"));
    }
    let change = audit_event::in_request(who, AuditAction::ConfigChange, About::entity("capture_forms"), vec![key]);
    svc.audit.record(vec![change]).await?;
    Ok(())
}

/// What a form's own page shows: its purposes by name and the notice's text.
pub struct Hosted {
    pub form: FormRow,
    /// (key, name) of each purpose the form asks for.
    pub purposes: Vec<(String, String)>,
    pub notice: String,
}

/// An enabled form with what its page shows, for anyone (a form is public).
pub async fn hosted(svc: &Services, form_key: &str) -> ApiResult<Hosted> {
    let form = svc.store.form(form_key).await?.filter(|f| f.disabled_at.is_none()).ok_or_else(no_such_form)?;
    let catalogue = crate::service::purposes::catalogue(svc).await?;
    let purposes = form
        .purposes
        .iter()
        .map(|key| (key.clone(), catalogue.iter().find(|p| &p.key == key).map_or(key.clone(), |p| p.name.clone())))
        .collect();
    let notices = svc.store.notices().await?;
    let notice = notices.into_iter().find(|n| n.version == form.notice_version).map(|n| n.text).unwrap_or_default();
    Ok(Hosted { form, purposes, notice })
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

/// Takes a submission: the details wait sealed for the confirmation, a
/// message with the token is queued, and nothing is looked up.
pub async fn submit(
    svc: &Services,
    form_key: &str,
    request: PublicRequest,
    mut input: SubmissionInput,
) -> ApiResult<()> {
    sweep(&svc.store, &svc.audit).await;
    let form = svc.store.form(form_key).await?.filter(|f| f.disabled_at.is_none()).ok_or_else(no_such_form)?;
    input.validate(&form.purposes)?;
    let settings = &svc.config.capture;
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
    crate::sealing::write_with_new_key(&svc.store, &svc.keys, id, &key, |wrapped| {
        let (store, pending, outbox) = (&svc.store, &pending, &outbox);
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
    svc.audit.record(vec![received]).await?;
    Ok(())
}

/// One answer for a token that is unknown, used or expired, so a caller
/// cannot tell them apart.
fn expired() -> ApiError {
    ApiError::new(
        ErrorCode::ConfirmationExpired,
        "this confirmation is unknown, was already used or has expired; submit the form again",
    )
}

/// Confirms a submission with its token: the person is found or created,
/// and the consents (or the GPC objections) enter their ledger.
pub async fn confirm(svc: &Services, token: &str, request: PublicRequest) -> ApiResult<()> {
    sweep(&svc.store, &svc.audit).await;
    if token.len() > 100 {
        return Err(expired());
    }
    let Some((pending, wrapped)) = svc.store.take_pending(&hash_token(token)).await? else {
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
    svc.audit.record(vec![taken]).await?;
    let (Some(wrapped), true) = (wrapped, pending.expires_at > now) else {
        return Err(expired());
    };
    let form = svc.store.form(&pending.form_key).await?.filter(|f| f.disabled_at.is_none()).ok_or_else(expired)?;
    let key = svc.keys.unwrap(&to_crypto(&wrapped))?;
    let plaintext = key.open(&crate::sealing::capture_pending(pending.id, &form.key), &pending.sealed)?;
    let submitted: Submitted = serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("capture"))?;
    drop(key);

    let who = Caller::public_form(&form.key, request.request_id.clone());
    let contact = match svc.records.find_contact_by_email(&who, &submitted.email).await? {
        Some(id) => id,
        None => {
            let person = SubmissionInput {
                email: submitted.email.clone(),
                given_name: submitted.given_name.clone(),
                family_name: submitted.family_name.clone(),
                purposes: None,
            }
            .as_contact(None);
            match svc.records.create::<Contact>(&who, person).await {
                // An erased person's address: nothing is recorded (the refusal
                // is audited), and the answer is the one anybody gets.
                Err(e) if e.code == ErrorCode::SuppressedAfterErasure => {
                    return Ok(());
                }
                result => result?.id,
            }
        }
    };
    let (person, known) = consents::person(svc, contact).await?;
    // A child's consent needs a guardian record, which a web form cannot
    // give: their grants are not recorded (objections still are).
    let child = consent_needs_guardian(svc, &known, true);
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
        record_consent(svc, &who, contact, &person, &entry).await?;
    }
    if gpc {
        let status = svc
            .store
            .statuses(&[contact], &*crate::consent_seal::sealer(&svc.keys))
            .await?
            .remove(&contact)
            .unwrap_or_default();
        for purpose in GPC_OBJECTIONS {
            if !status.objections.contains(purpose) {
                record_objection(svc, &who, contact, purpose).await?;
            }
        }
    }
    Ok(())
}

/// A confirmation message handed out for delivery.
pub struct Outgoing {
    pub id: Uuid,
    pub message: Message,
}

/// Takes confirmation messages to deliver; they are deleted as they are handed out.
pub async fn claim_outbox(svc: &Services, who: &Caller) -> ApiResult<Vec<Outgoing>> {
    svc.authorizer.authorize_purposes(&who.principal, true)?;
    sweep(&svc.store, &svc.audit).await;
    let mut items = Vec::new();
    let mut events = Vec::new();
    for (row, wrapped) in svc.store.claim_outbox(CLAIM_BATCH).await? {
        // A message whose confirmation was used or expired meanwhile has no key: it is gone.
        let Some(wrapped) = wrapped else { continue };
        let key = svc.keys.unwrap(&to_crypto(&wrapped))?;
        let plaintext = key.open(&crate::sealing::capture_outbox(row.id, row.pending_id), &row.sealed)?;
        let note: Message = serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("outbox"))?;
        let fields = vec!["to".into(), "text".into()];
        events.push(audit_event::in_request(who, AuditAction::Read, About::record("outbox", row.id), fields));
        items.push(Outgoing { id: row.id, message: note });
    }
    svc.audit.record(events).await?;
    // A breach notice among them is sent now, as far as Kith can know.
    let handed: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    svc.store.mark_notices_sent(&handed, crate::now_millis()).await?;
    Ok(items)
}
