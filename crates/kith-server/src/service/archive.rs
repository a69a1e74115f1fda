//! The access and portability archive (Art. 15, 20): the DPO
//! gets a single-use link for a verified access or portability request,
//! and the archive is built in memory when it is downloaded (never a file
//! on disk) for the route to send as `application/zip`.
//!
//! The archive is the person's, complete: their records are opened
//! directly, without the DPO's field grant, scope or purposes, and every
//! read is audited as an `export` read with the person as subject.

use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::service::dsr::{event, kind_of, load, status_of, Request, DAY_MS};
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::dsr::{RequestKind, RequestStatus};
use kith_core::export::{self, AccessEntry, Received, Recipient, Subject};
use kith_core::model::{Deal, Interaction, Purchase};
use kith_core::ErrorCode;
use kith_crypto::secrets::{hash_secret, random_token};
use kith_store::AuditQuery;
use serde_json::Value;
use std::io::Write as _;
use uuid::Uuid;

/// How long a download link works, in days.
pub const LINK_TTL_DAYS: i64 = 1;
const LINK_PREFIX: &str = "kith_export_";
/// Audit events read per query for the access log.
const AUDIT_PAGE: u32 = 1000;

/// The request's person, if the request may have an archive now: an
/// access or portability request, verified and open, matched to a person.
fn archive_person(request: &Request) -> ApiResult<Uuid> {
    let kind = kind_of(&request.row)?;
    if !matches!(kind, RequestKind::Access | RequestKind::Portability) {
        return Err(ApiError::new(ErrorCode::InvalidValue, "only an access or portability request has an archive"));
    }
    match status_of(&request.row)? {
        RequestStatus::InProgress => {}
        status if status.is_closed() => {
            return Err(ApiError::new(ErrorCode::InvalidTransition, "the request is closed"));
        }
        _ => return Err(ApiError::new(ErrorCode::NotVerified, "verify the person's identity first")),
    }
    request
        .row
        .contact_id
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "no person matched this request: there is nothing to export"))
}

/// A download link: its token, shown once, and when it expires.
pub struct Link {
    pub token: String,
    pub expires_at: i64,
}

/// Issues a download link: a single-use token, stored as its SHA-256,
/// valid for a day.
pub async fn issue_link(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<Link> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    let request = load(svc, id).await?;
    archive_person(&request)?;
    let token = format!("{LINK_PREFIX}{}", *random_token(32));
    let now = crate::now_millis();
    let expires_at = now + LINK_TTL_DAYS * DAY_MS;
    svc.store.insert_export_link(id, &hash_secret(&token), now, expires_at).await?;
    svc.audit.record(vec![event(who, AuditAction::Update, &request.row, vec!["export_link".into()])]).await?;
    Ok(Link { token, expires_at })
}

fn link_expired() -> ApiError {
    ApiError::new(ErrorCode::LinkExpired, "token: unknown, used or expired; get a new link")
}

/// An archive, built.
pub struct Archive {
    /// The request's kind: `access` or `portability`.
    pub kind: String,
    pub zip: Vec<u8>,
}

/// Builds the archive for a download. The DPO's own authenticated call
/// needs nothing more (the contract's path); a call with a link's token
/// must present a live one, which is used up atomically — the link is
/// what a portal hands on, so it expires and works once.
pub async fn download(svc: &Services, who: &Caller, id: Uuid, token: Option<&str>) -> ApiResult<Archive> {
    svc.authorizer.authorize_requests(&who.principal, true)?;
    let request = load(svc, id).await?;
    let person = archive_person(&request)?;
    let hash = token.map(|t| hash_secret(t.trim()));
    if let Some(hash) = &hash {
        let now = crate::now_millis();
        let usable = svc
            .store
            .export_link(hash)
            .await?
            .is_some_and(|link| link.request_id == id && link.used_at.is_none() && link.expires_at > now);
        if !usable {
            return refuse(svc, who, &request).await;
        }
    }
    let zip = build(svc, who, person).await?;
    match &hash {
        Some(hash) if !svc.store.use_export_link(id, hash, crate::now_millis()).await? => {
            return refuse(svc, who, &request).await;
        }
        Some(_) => {}
        None => record_download(svc, id).await?,
    }
    let kind = request.row.kind.clone();
    svc.audit
        .record(vec![event(who, AuditAction::Read, &request.row, vec!["export".into(), format!("kind:{kind}")])])
        .await?;
    Ok(Archive { kind, zip })
}

/// A download without a link (the DPO's own, or the person's in the
/// portal) is recorded as a link used at once, so fulfilment sees one
/// download however it happened.
async fn record_download(svc: &Services, id: Uuid) -> ApiResult<()> {
    let (hash, now) = (hash_secret(&random_token(32)), crate::now_millis());
    svc.store.insert_export_link(id, &hash, now, now + 1).await?;
    svc.store.use_export_link(id, &hash, now).await?;
    Ok(())
}

/// Records that the person downloaded the archive of the access request
/// the portal filed for them.
pub(crate) async fn downloaded_in_portal(svc: &Services, who: &Caller, request: &Request) -> ApiResult<()> {
    archive_person(request)?;
    record_download(svc, request.row.id).await?;
    let fields = vec!["export".into(), format!("kind:{}", request.row.kind)];
    svc.audit.record(vec![event(who, AuditAction::Read, &request.row, fields)]).await?;
    Ok(())
}

/// What is held about the person, opened, as the archive has it; every
/// read audited as an `export` read by `who`.
pub(crate) async fn subject(svc: &Services, who: &Caller, person: Uuid) -> ApiResult<Subject> {
    let records = &svc.records;
    let (contact, company_name) = records.person_for_export(who, person).await?;
    let interactions = records.of_person::<Interaction>(who, person).await?;
    let deals = records.of_person::<Deal>(who, person).await?;
    let purchases = records.of_person::<Purchase>(who, person).await?;
    let consents = crate::service::consents::ledger_for_export(svc, who, person).await?;
    let status = svc
        .store
        .statuses(&[person], &*crate::consent_seal::sealer(&svc.keys))
        .await?
        .remove(&person)
        .unwrap_or_default();
    Ok(Subject {
        generated_at: rfc3339_millis(crate::now_millis()),
        contact,
        company_name,
        interactions,
        deals,
        purchases,
        consents,
        restricted: status.restricted,
        objections: status.objections.into_iter().collect(),
        // Read last, so the reads for this archive are in it.
        access_log: access_log(svc, person).await?,
        purposes: crate::service::purposes::catalogue(svc).await?,
        recipients: recipients(svc, person).await?,
        controller: crate::ropa::controller(&svc.store).await?,
    })
}

/// A refused link is audited as denied against the request, then refused.
async fn refuse<T>(svc: &Services, who: &Caller, request: &Request) -> ApiResult<T> {
    let fields = vec!["export".into(), "link:refused".into()];
    let refused = crate::audit::event::denied(event(who, AuditAction::Read, &request.row, fields));
    svc.audit.record(vec![refused]).await?;
    Err(link_expired())
}

/// Opens everything held about the person and packs the archive in memory.
pub(crate) async fn build(svc: &Services, who: &Caller, person: Uuid) -> ApiResult<Vec<u8>> {
    pack(&export::files(&subject(svc, who, person).await?))
}

/// Who read or changed the person's data: every audit event about them.
async fn access_log(svc: &Services, person: Uuid) -> ApiResult<Vec<AccessEntry>> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let query = AuditQuery { subject_id: Some(person), after, limit: AUDIT_PAGE, ..AuditQuery::default() };
        let events = svc.store.audit_query(&query).await?;
        let name = |v: Result<Value, _>| v.ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        for e in &events {
            entries.push(AccessEntry {
                at: rfc3339_millis(e.at),
                actor: e.actor.clone(),
                action: name(serde_json::to_value(e.action)),
                entity: e.entity.clone(),
                fields: e.fields.clone(),
                purpose: e.purpose.clone(),
                outcome: name(serde_json::to_value(e.outcome)),
            });
        }
        match events.last() {
            Some(last) if events.len() == AUDIT_PAGE as usize => after = Some(last.seq),
            _ => break,
        }
    }
    Ok(entries)
}

/// The recipients of the register (Art. 15(1)(c)): the current ones, and
/// ended ones that received this person's data, with what each received.
async fn recipients(svc: &Services, person: Uuid) -> ApiResult<Vec<Recipient>> {
    let received = crate::service::recipients::disclosures(svc, person).await?;
    let mut out = Vec::new();
    for row in svc.store.recipients().await? {
        let r = crate::transfers::Recipient::parse(row)?;
        let got = received.iter().find(|d| d.recipient_id == Some(r.row.id));
        if r.row.ended_at.is_some() && got.is_none() {
            continue;
        }
        let snake = |v: Result<Value, _>| v.ok().and_then(|v| v.as_str().map(str::to_string));
        out.push(Recipient {
            name: r.input.name.clone(),
            role: r.input.role.as_str().into(),
            country: r.input.country.clone(),
            purposes: r.input.purposes.clone(),
            transfer_mechanism: r.input.transfer_mechanism.and_then(|m| snake(serde_json::to_value(m))),
            received: got.map(|d| Received {
                categories: d.categories.iter().cloned().collect(),
                first_at: rfc3339_millis(d.first_at),
                last_at: rfc3339_millis(d.last_at),
            }),
        });
    }
    // Keys issued before the register: known by the name they were issued to.
    for d in received.iter().filter(|d| d.recipient_id.is_none()) {
        out.push(Recipient {
            name: d.recipient.clone(),
            role: "unregistered".into(),
            country: String::new(),
            purposes: Vec::new(),
            transfer_mechanism: None,
            received: Some(Received {
                categories: d.categories.iter().cloned().collect(),
                first_at: rfc3339_millis(d.first_at),
                last_at: rfc3339_millis(d.last_at),
            }),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Zips the files in memory (deflate).
fn pack(files: &[(&str, Vec<u8>)]) -> ApiResult<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let fail = |e: &dyn std::fmt::Display| ApiError::internal("archive", e.to_string());
    for (name, bytes) in files {
        zip.start_file(*name, options).map_err(|e| fail(&e))?;
        zip.write_all(bytes).map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}
