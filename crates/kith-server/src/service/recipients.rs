//! The register of recipients and the adequacy decisions: the DPO writes,
//! admin and auditors read; every change audited. What each person's data
//! went to is read back from the audit log ([`disclosures`]).

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::{applied, unapplied, Services};
use crate::transfers::{self, Recipient};
use kith_core::access::field_class;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::recipient::{RecipientInput, RecipientRole};
use kith_core::transfer::{validate_decisions, AdequacyDecision, TransferBasis};
use kith_core::{EntityKind, ErrorCode};
use kith_store::{AuditQuery, RecipientRow};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A recipient with what a transfer to it rests on now.
#[derive(Debug)]
pub struct RecipientView {
    pub recipient: Recipient,
    pub transfer: Result<TransferBasis, ApiError>,
}

fn event(who: &Caller, action: AuditAction, id: Uuid, fields: Vec<String>) -> AuditEvent {
    audit_event::by(who, action, About::record("recipients", id), fields)
}

async fn view(svc: &Services, rows: Vec<RecipientRow>) -> ApiResult<Vec<RecipientView>> {
    let decisions = transfers::decisions(&svc.store).await?;
    let now = crate::now_millis();
    rows.into_iter()
        .map(|row| {
            let recipient = Recipient::parse(row)?;
            let transfer = recipient.assess(&decisions, now);
            Ok(RecipientView { recipient, transfer })
        })
        .collect()
}

/// Every recipient, ended ones included, by name.
pub async fn list(svc: &Services, who: &Caller) -> ApiResult<Vec<RecipientView>> {
    svc.authorizer.authorize_accountability(&who.principal, false)?;
    let mut all = view(svc, svc.store.recipients().await?).await?;
    all.sort_by_key(|r| r.recipient.input.name.to_lowercase());
    Ok(all)
}

pub async fn get(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<RecipientView> {
    svc.authorizer.authorize_accountability(&who.principal, false)?;
    let row = svc.store.recipient(id).await?.ok_or_else(not_found)?;
    Ok(view(svc, vec![row]).await?.remove(0))
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such recipient")
}

fn ended() -> ApiError {
    ApiError::new(ErrorCode::InvalidTransition, "the relationship with this recipient has ended")
}

/// Checks what the register knows: the purposes are in the catalogue and
/// a sub-processor's processor is a current processor.
async fn check_references(svc: &Services, input: &mut RecipientInput, itself: Option<Uuid>) -> ApiResult<()> {
    input.validate(&transfers::decisions(&svc.store).await?)?;
    for purpose in &input.purposes {
        if svc.store.purpose(purpose).await?.is_none() {
            return Err(ApiError::new(
                ErrorCode::UnknownReference,
                format!("purposes: {purpose} is not in the purposes catalogue"),
            ));
        }
    }
    if let Some(processor) = input.processor_id {
        let unknown =
            || ApiError::new(ErrorCode::UnknownReference, "processor_id: a current processor of the register");
        if Some(processor) == itself {
            return Err(unknown());
        }
        let row = svc.store.recipient(processor).await?.ok_or_else(unknown)?;
        let parent = Recipient::parse(row)?;
        if parent.row.ended_at.is_some() || parent.input.role != RecipientRole::Processor {
            return Err(unknown());
        }
    }
    Ok(())
}

/// Registers a recipient.
pub async fn create(svc: &Services, who: &Caller, mut input: RecipientInput) -> ApiResult<RecipientView> {
    svc.authorizer.authorize_accountability(&who.principal, true)?;
    check_references(svc, &mut input, None).await?;
    let now = crate::now_millis();
    let row = RecipientRow {
        id: Uuid::new_v4(),
        document: serde_json::to_string(&input).map_err(|e| ApiError::internal("recipient", e))?,
        created_at: now,
        updated_at: now,
        ended_at: None,
    };
    let created = event(who, AuditAction::Create, row.id, changed_fields(None, &input));
    svc.audit.intend(vec![created], svc.store.insert_recipient(&row)).await??;
    Ok(view(svc, vec![row]).await?.remove(0))
}

/// Replaces a recipient's entry. Removing its mechanism, or one that
/// expires, stops its keys at once.
pub async fn update(svc: &Services, who: &Caller, id: Uuid, mut input: RecipientInput) -> ApiResult<RecipientView> {
    svc.authorizer.authorize_accountability(&who.principal, true)?;
    let before = Recipient::parse(svc.store.recipient(id).await?.ok_or_else(not_found)?)?;
    if before.row.ended_at.is_some() {
        return Err(ended());
    }
    check_references(svc, &mut input, Some(id)).await?;
    let document = serde_json::to_string(&input).map_err(|e| ApiError::internal("recipient", e))?;
    let changed = event(who, AuditAction::Update, id, changed_fields(Some(&before.input), &input));
    let write = applied(svc.store.update_recipient(id, &document, crate::now_millis()));
    svc.audit.intend(vec![changed], write).await?.map_err(|e| unapplied(e, ended()))?;
    get(svc, who, id).await
}

/// Ends the relationship: its keys stop, its entry stays for the record
/// of what it received.
pub async fn end(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<()> {
    svc.authorizer.authorize_accountability(&who.principal, true)?;
    let event = event(who, AuditAction::Delete, id, vec!["ended".into()]);
    let missed = ApiError::new(ErrorCode::NotFound, "no such recipient, or it ended already");
    let write = applied(svc.store.end_recipient(id, crate::now_millis()));
    svc.audit.intend(vec![event], write).await?.map_err(|e| unapplied(e, missed))?;
    Ok(())
}

/// The names of the entry's fields that differ (all of them for a new one).
fn changed_fields(before: Option<&RecipientInput>, after: &RecipientInput) -> Vec<String> {
    let as_map =
        |i: &RecipientInput| serde_json::to_value(i).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let old = before.map(as_map).unwrap_or_default();
    as_map(after).into_iter().filter(|(k, v)| old.get(k) != Some(v)).map(|(k, _)| k).collect()
}

/// The adequacy decisions in force, and whether they are the shipped list.
pub async fn decisions(svc: &Services, who: &Caller) -> ApiResult<(Vec<AdequacyDecision>, bool)> {
    svc.authorizer.authorize_accountability(&who.principal, false)?;
    let shipped = svc.store.setting(transfers::DECISIONS_SETTING).await?.is_none();
    Ok((transfers::decisions(&svc.store).await?, shipped))
}

/// Replaces the adequacy decisions (the DPO, when the Commission adopts,
/// renews or a court annuls one). Recipients relying on a decision that
/// no longer applies stop receiving data at once.
pub async fn set_decisions(svc: &Services, who: &Caller, mut list: Vec<AdequacyDecision>) -> ApiResult<()> {
    svc.authorizer.authorize_accountability(&who.principal, true)?;
    validate_decisions(&mut list)?;
    let json = serde_json::to_string(&list).map_err(|e| ApiError::internal("adequacy decisions", e))?;
    let fields = vec![format!("decisions:{}", list.len())];
    let changed = audit_event::by(who, AuditAction::ConfigChange, About::entity("adequacy_decisions"), fields);
    svc.audit.intend(vec![changed], svc.store.set_setting(transfers::DECISIONS_SETTING, &json)).await??;
    Ok(())
}

/// What one recipient received of one person, from the audit log (Art. 15(1)(c), 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// The recipient of the register; `None` for a key issued before the
    /// register, known by the name it was issued to.
    pub recipient_id: Option<Uuid>,
    pub recipient: String,
    pub country: Option<String>,
    pub role: Option<RecipientRole>,
    /// The API keys it used.
    pub keys: BTreeSet<Uuid>,
    /// Field classes, snake_case (`contact_details`).
    pub categories: BTreeSet<String>,
    pub first_at: i64,
    pub last_at: i64,
    pub events: u64,
}

/// Who holds an API key: a recipient of the register, or, for a key
/// issued before the register, the name it was issued to.
#[derive(Debug, Clone)]
struct KeyOwner {
    id: Option<Uuid>,
    name: String,
    country: Option<String>,
    role: Option<RecipientRole>,
}

const AUDIT_PAGE: u32 = 1000;

/// Every recipient whose key read or wrote this person's data, with the
/// categories and when, from the audit log; no authorisation of its own
/// (the staff view, the archive and erasure ask theirs).
pub(crate) async fn disclosures(svc: &Services, person: Uuid) -> ApiResult<Vec<Disclosure>> {
    let mut by_key: BTreeMap<Uuid, (BTreeSet<String>, i64, i64, u64)> = BTreeMap::new();
    let mut after = None;
    loop {
        let query = AuditQuery { subject_id: Some(person), after, limit: AUDIT_PAGE, ..AuditQuery::default() };
        let events = svc.store.audit_query(&query).await?;
        for e in events.iter().filter(|e| e.outcome == AuditOutcome::Ok) {
            let Some(key) = e.actor.strip_prefix("key:").and_then(|k| Uuid::parse_str(k).ok()) else { continue };
            let entry = by_key.entry(key).or_insert((BTreeSet::new(), e.at, e.at, 0));
            entry.0.extend(categories_of(e));
            entry.1 = entry.1.min(e.at);
            entry.2 = entry.2.max(e.at);
            entry.3 += 1;
        }
        match events.last() {
            Some(last) if events.len() == AUDIT_PAGE as usize => after = Some(last.seq),
            _ => break,
        }
    }
    if by_key.is_empty() {
        return Ok(Vec::new());
    }
    let owners = key_owners(svc).await?;
    // One disclosure per recipient (or per name, for keys older than the register).
    let mut out: BTreeMap<String, Disclosure> = BTreeMap::new();
    for (key, (categories, first, last, events)) in by_key {
        let Some(owner) = owners.get(&key) else { continue };
        let group = owner.id.map_or_else(|| format!("name:{}", owner.name), |id| id.to_string());
        let d = out.entry(group).or_insert_with(|| Disclosure {
            recipient_id: owner.id,
            recipient: owner.name.clone(),
            country: owner.country.clone(),
            role: owner.role,
            keys: BTreeSet::new(),
            categories: BTreeSet::new(),
            first_at: first,
            last_at: last,
            events: 0,
        });
        d.keys.insert(key);
        d.categories.extend(categories);
        d.first_at = d.first_at.min(first);
        d.last_at = d.last_at.max(last);
        d.events += events;
    }
    let mut list: Vec<Disclosure> = out.into_values().collect();
    list.sort_by(|a, b| a.recipient.cmp(&b.recipient));
    Ok(list)
}

/// The field classes an event names (the kind of record alone when it names no field).
pub(crate) fn categories_of(e: &AuditEvent) -> BTreeSet<String> {
    let Some(kind) = EntityKind::ALL.into_iter().find(|k| e.entity.as_deref() == Some(k.as_str())) else {
        return BTreeSet::new();
    };
    let named: BTreeSet<String> =
        e.fields.iter().filter_map(|f| field_class(kind, f)).map(|c| c.as_str().to_string()).collect();
    if !named.is_empty() {
        return named;
    }
    match kind {
        EntityKind::Contacts | EntityKind::Companies => BTreeSet::from(["identity".to_string()]),
        other => field_class(other, "").map(|c| BTreeSet::from([c.as_str().to_string()])).unwrap_or_default(),
    }
}

/// Who holds each API key.
async fn key_owners(svc: &Services) -> ApiResult<BTreeMap<Uuid, KeyOwner>> {
    let recipients: BTreeMap<Uuid, Recipient> = svc
        .store
        .recipients()
        .await?
        .into_iter()
        .map(|row| Recipient::parse(row).map(|r| (r.row.id, r)))
        .collect::<ApiResult<_>>()?;
    let mut owners = BTreeMap::new();
    for key in svc.store.api_keys().await? {
        let grant: serde_json::Value =
            serde_json::from_str(&key.document).map_err(|e| ApiError::internal("api key", e))?;
        let registered = grant["recipient_id"].as_str().and_then(|id| Uuid::parse_str(id).ok());
        let owner = match (registered.and_then(|id| recipients.get(&id)), grant["recipient"].as_str()) {
            (Some(r), _) => KeyOwner {
                id: Some(r.row.id),
                name: r.input.name.clone(),
                country: Some(r.input.country.clone()),
                role: Some(r.input.role),
            },
            (None, Some(name)) => KeyOwner { id: None, name: name.to_string(), country: None, role: None },
            (None, None) => continue,
        };
        owners.insert(key.id, owner);
    }
    Ok(owners)
}

/// Who received a person's data, for the staff view (Art. 15(1)(c)):
/// for those who read the register, as the access log is for those who
/// read the audit log.
pub async fn of_person(svc: &Services, who: &Caller, person: Uuid) -> ApiResult<Vec<Disclosure>> {
    svc.authorizer.authorize_accountability(&who.principal, false)?;
    let read = audit_event::by(who, AuditAction::Read, About::person("audit", person), vec!["recipients".into()]);
    svc.audit.record(vec![read]).await?;
    disclosures(svc, person).await
}
