//! The privacy portal (Art. 12(2): facilitate the exercise of rights). A
//! person gives an e-mail address; a message with a single-use, expiring
//! link goes to the outbox (as capture confirmations do), whether or not
//! the address is known: to an unknown one it says that nothing is held
//! under it. The answer is the same, and so are the writes (one link, one
//! message, one audit write); a known address costs opening one record
//! more. Reading the mailbox is the only proof. The link opens a short
//! session bound to the person (`rights.rs` is what they can do in it).
//!
//! The link's token and the session's secret are stored only as their
//! SHA-256; the message is sealed under a data key of the link's own,
//! destroyed with the link when it is used or expires.

mod rights;

pub use rights::{
    ask_erasure, contact_details, download_archive, held, object_to_direct_marketing, propose_correction, requests,
    set_consent, ConsentChoice, Correction, CORRECTABLE,
};

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::{Caller, PublicRequest};
use crate::clock::{rfc3339_millis, seconds_as_millis};
use crate::error::{ApiError, ApiResult};
use crate::service::capture::Message;
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::values::parse_email;
use kith_core::{EntityKind, ErrorCode};
use kith_crypto::secrets::{hash_secret, random_token};
use kith_crypto::DataKey;
use kith_store::{OutboxRow, PortalLinkRow, PortalSessionRow};
use uuid::Uuid;
use zeroize::Zeroizing;

const LINK_PREFIX: &str = "kith_portal_";
/// Expired links deleted per request that sweeps.
const SWEEP_BATCH: u32 = 100;
/// Where a person enters the token when no link URL is configured.
pub const OPEN_PATH: &str = "/privacy/open";

/// Deletes expired links (with their keys and messages) and expired
/// sessions, auditing how many links went; a failure is logged, never the
/// request's.
pub async fn sweep(svc: &Services) {
    match svc.store.sweep_portal(crate::now_millis(), SWEEP_BATCH).await {
        Ok(0) => {}
        Ok(n) => {
            let mut swept =
                audit_event::event("system:expiry".into(), AuditAction::Delete, About::entity("portal_links"), vec![]);
            swept.fields = vec![format!("expired:{n}")];
            if let Err(e) = svc.audit.record(vec![swept]).await {
                tracing::warn!(code = %e.code, "the portal sweep could not be audited");
            }
        }
        Err(e) => tracing::warn!(error = %e, "expired portal links could not be deleted"),
    }
}

/// The message for the address: the link when a person holds it, else
/// the answer that nothing is held under it.
fn message(svc: &Services, to: &str, token: &str, known: bool, expires_at: i64) -> Message {
    let expires = rfc3339_millis(expires_at);
    let link = svc.config.portal.link_url.as_ref().map(|u| u.replace("{token}", token));
    let text = match (known, &link) {
        (true, Some(url)) => format!(
            "Someone, hopefully you, asked to see what we hold about you.\n\n\
             Open this link before {expires} to see it, download it, correct it, change your consents, \
             object or ask us to erase it:\n\n{url}\n\nThe link works once. If it was not you, ignore this message.\n"
        ),
        (true, None) => format!(
            "Someone, hopefully you, asked to see what we hold about you.\n\n\
             Enter this code on our privacy page ({OPEN_PATH}) before {expires}:\n\n{token}\n\n\
             The code works once. If it was not you, ignore this message.\n"
        ),
        (false, _) => {
            "Someone, hopefully you, asked to see what we hold about this e-mail address.\n\n\
             We hold no personal data under this address. If we know you by another address, ask again with that one.\n"
                .to_string()
        }
    };
    Message {
        to: to.into(),
        subject: "Your personal data".into(),
        text,
        token: if known { token.into() } else { String::new() },
        confirm_url: link.filter(|_| known),
        expires_at: expires,
    }
}

/// Queues a message to the address given; answers the same whether it is
/// known or not. Only the address's format is checked in the answer.
pub async fn request_link(svc: &Services, raw_email: &str, request: &PublicRequest) -> ApiResult<()> {
    sweep(svc).await;
    let email = parse_email(raw_email).map_err(|e| ApiError::from(e.at("email")))?;
    let lookup = Caller::portal(request.request_id.clone());
    // The lookup's read events go into the same audit write as the link's:
    // one durable write whether the address is known or not.
    let (contact, mut events) = svc.records.look_up_email(&lookup, &email).await?;
    let now = crate::now_millis();
    let expires_at = now.saturating_add(seconds_as_millis(svc.config.portal.link_ttl_seconds));
    let token = Zeroizing::new(format!("{LINK_PREFIX}{}", *random_token(32)));
    let link = PortalLinkRow {
        id: Uuid::new_v4(),
        token_hash: hash_secret(&token),
        contact_id: contact,
        created_at: now,
        expires_at,
    };
    let note = message(svc, &email, &token, contact.is_some(), expires_at);
    let plaintext = Zeroizing::new(serde_json::to_vec(&note).map_err(|e| ApiError::internal("portal", e))?);
    let key = DataKey::generate();
    // Bound to its own id and its link's, as a confirmation message is to its submission.
    let message_id = Uuid::new_v4();
    let outbox = OutboxRow {
        id: message_id,
        pending_id: link.id,
        created_at: now,
        sealed: key.seal(&crate::sealing::capture_outbox(message_id, link.id), &plaintext),
    };
    crate::sealing::write_with_new_key(&svc.store, &svc.keys, link.id, &key, |wrapped| {
        let (store, link, outbox) = (&svc.store, &link, &outbox);
        async move { store.add_portal_link(link, wrapped, outbox).await }
    })
    .await??;
    let sent = About { entity: "portal_links", record: Some(link.id), subject: contact };
    events.push(audit_event::by(&lookup, AuditAction::Create, sent, vec!["message".into()]));
    svc.audit.record(events).await?;
    Ok(())
}

/// One answer for a token that is unknown, used or expired.
fn expired() -> ApiError {
    ApiError::new(ErrorCode::LinkExpired, "this link is unknown, was already used or has expired; ask for a new one")
}

/// A portal session just opened: the secret for the cookie, shown once.
pub struct Opened {
    pub secret: Zeroizing<String>,
    pub contact: Uuid,
    pub expires_at: i64,
}

/// Uses a link: it is gone whatever happens next, and a live one for a
/// person who still exists opens a session bound to them.
pub async fn open(svc: &Services, token: &str, request: &PublicRequest) -> ApiResult<Opened> {
    sweep(svc).await;
    let token = token.trim();
    if token.is_empty() || token.len() > 100 {
        return Err(expired());
    }
    let Some(link) = svc.store.take_portal_link(&hash_secret(token)).await? else {
        return Err(expired());
    };
    let lookup = Caller::portal(request.request_id.clone());
    let used = About { entity: "portal_links", record: Some(link.id), subject: link.contact_id };
    svc.audit.record(vec![audit_event::by(&lookup, AuditAction::Delete, used, vec!["used".into()])]).await?;
    let now = crate::now_millis();
    let Some(contact) = link.contact_id.filter(|_| link.expires_at > now) else {
        return Err(expired());
    };
    if svc.store.get(EntityKind::Contacts, contact).await?.is_none() {
        return Err(expired());
    }
    let secret = random_token(32);
    let expires_at = now.saturating_add(seconds_as_millis(svc.config.portal.session_ttl_seconds));
    let session =
        PortalSessionRow { token_hash: hash_secret(&secret), contact_id: contact, created_at: now, expires_at };
    svc.store.add_portal_session(&session).await?;
    let who = Caller::subject(contact, request.request_id.clone());
    let started = About { entity: "portal_sessions", record: None, subject: Some(contact) };
    svc.audit.record(vec![audit_event::by(&who, AuditAction::Create, started, vec!["session".into()])]).await?;
    Ok(Opened { secret, contact, expires_at })
}

/// A live portal session.
#[derive(Debug, Clone)]
pub struct PortalSession {
    pub contact: Uuid,
    pub started_at: i64,
    pub expires_at: i64,
}

/// The live session a cookie's secret names, if any.
pub async fn session(svc: &Services, secret: &str) -> ApiResult<Option<PortalSession>> {
    let found = svc.store.portal_session(&hash_secret(secret), crate::now_millis()).await?;
    Ok(found.map(|row| PortalSession {
        contact: row.contact_id,
        started_at: row.created_at,
        expires_at: row.expires_at,
    }))
}

/// Ends a session (signing out); audited when there was one.
pub async fn sign_out(svc: &Services, secret: &str, who: &Caller) -> ApiResult<()> {
    if svc.store.end_portal_session(&hash_secret(secret)).await? {
        let subject = match who.principal.credential {
            crate::auth::Credential::Subject(contact) => Some(contact),
            _ => None,
        };
        let ended = About { entity: "portal_sessions", record: None, subject };
        svc.audit.record(vec![audit_event::by(who, AuditAction::Delete, ended, vec!["session".into()])]).await?;
    }
    Ok(())
}
