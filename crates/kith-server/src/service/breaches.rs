//! The breach register for the DPO (Art. 33, 34): opened by hand or from
//! a mass-read alert, the 72-hour clock, dated changes and phases, the
//! affected people computed from the audit log, the drafts to the
//! authority and to each person, and the notices queued to the outbox.
//! Every change is audited.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::{applied, unapplied, Services};
use kith_core::api_key::parse_network;
use kith_core::audit::{AuditAction, AuditOutcome};
use kith_core::breach::{
    authority_due, check_notification, clock_state, notifications_due, AffectedSummary, BreachInput, BreachPatch,
    BreachScope, BreachStatus, ClockState, DraftFacts, Risk,
};
use kith_core::controller::ControllerDetails;
use kith_core::ErrorCode;
use kith_store::{AffectedRow, AuditQuery, BreachNoticeRow, BreachRow, BreachUpdateRow, OutboxRow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// What the register keeps of a breach beside its columns.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreachRecord {
    pub description: BreachInput,
    /// The scope the affected people were last computed from.
    #[serde(default)]
    pub scope: Option<BreachScope>,
    #[serde(default)]
    pub authority_reference: Option<String>,
    /// The alert it was opened from.
    #[serde(default)]
    pub alert_id: Option<Uuid>,
}

/// A breach as the register shows it.
#[derive(Debug, Clone)]
pub struct Breach {
    pub row: BreachRow,
    pub record: BreachRecord,
    pub clock: ClockState,
    /// Whether the authority must be notified, and the people told.
    pub authority_due: bool,
    pub people_due: bool,
}

impl Breach {
    fn parse(row: BreachRow, now: i64) -> ApiResult<Self> {
        let record: BreachRecord = serde_json::from_str(&row.document).map_err(|_| ApiError::undecodable("breach"))?;
        let status = row.status.as_str();
        let clock = match clock_state(&record.description, row.authority_due_at, row.authority_notified_at, now) {
            ClockState::Open | ClockState::DueSoon | ClockState::Overdue if status == "closed" => {
                ClockState::NotRequired
            }
            state => state,
        };
        let (authority_due, people_due) = notifications_due(&record.description);
        Ok(Self { row, record, clock, authority_due, people_due })
    }

    pub fn status(&self) -> BreachStatus {
        match self.row.status.as_str() {
            "candidate" => BreachStatus::Candidate,
            "closed" => BreachStatus::Closed,
            _ => BreachStatus::Open,
        }
    }
}

fn status_name(status: BreachStatus) -> &'static str {
    match status {
        BreachStatus::Candidate => "candidate",
        BreachStatus::Open => "open",
        BreachStatus::Closed => "closed",
    }
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such breach")
}

fn change(who: &Caller, id: Uuid, fields: &[String], note: Option<String>) -> BreachUpdateRow {
    BreachUpdateRow {
        breach_id: id,
        seq: 0,
        at: crate::now_millis(),
        actor: who.actor(),
        fields: fields.join(","),
        note,
    }
}

fn audited(who: &Caller, action: AuditAction, id: Uuid, fields: Vec<String>) -> kith_core::audit::AuditEvent {
    audit_event::in_request(who, action, About::record("breaches", id), fields)
}

async fn load(svc: &Services, id: Uuid) -> ApiResult<Breach> {
    Breach::parse(svc.store.breach(id).await?.ok_or_else(not_found)?, crate::now_millis())
}

fn document(record: &BreachRecord) -> ApiResult<String> {
    serde_json::to_string(record).map_err(|e| ApiError::internal("breach", e))
}

async fn create(
    svc: &Services,
    who: &Caller,
    record: BreachRecord,
    aware_at: i64,
    status: BreachStatus,
) -> ApiResult<Breach> {
    let now = crate::now_millis();
    let row = BreachRow {
        id: Uuid::new_v4(),
        document: document(&record)?,
        status: status_name(status).into(),
        aware_at,
        authority_due_at: authority_due(aware_at),
        authority_notified_at: None,
        created_at: now,
        updated_at: now,
    };
    let fields = vec![format!("status:{}", row.status), format!("risk:{}", risk_name(record.description.risk))];
    let first = change(who, row.id, &fields, None);
    let opened = audited(who, AuditAction::Create, row.id, fields);
    svc.audit.intend(vec![opened], svc.store.insert_breach(&row, &first)).await??;
    Breach::parse(row, now)
}

fn risk_name(risk: Risk) -> &'static str {
    match risk {
        Risk::None => "none",
        Risk::Risk => "risk",
        Risk::HighRisk => "high_risk",
    }
}

/// Opens a breach from the DPO's description.
pub async fn open(svc: &Services, who: &Caller, mut input: BreachInput) -> ApiResult<Breach> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let aware_at = input.validate(crate::now_millis())?;
    let record = BreachRecord { description: input, scope: None, authority_reference: None, alert_id: None };
    create(svc, who, record, aware_at, BreachStatus::Open).await
}

/// Opens a candidate from an alert of unusual reads: aware when the alert
/// was raised, its scope the actor over the alert's window, the people
/// computed at once.
pub async fn from_alert(svc: &Services, who: &Caller, alert: Uuid) -> ApiResult<(Breach, AffectedSummary)> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let found = svc.store.alerts(500).await?.into_iter().find(|a| a.id == alert);
    let alert_row = found.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such alert among the latest 500"))?;
    let window = i64::from(svc.config.alerts.window_minutes.max(1)) * 60_000;
    let time = crate::clock::rfc3339_millis;
    let input = BreachInput {
        title: format!("Candidate: {} by {}", alert_row.rule, alert_row.actor),
        aware_at: time(alert_row.at),
        occurred_from: Some(time(alert_row.at - window)),
        occurred_to: Some(time(alert_row.at)),
        nature: format!(
            "Opened from the alert {} ({}): {}. To be confirmed or closed by the DPO.",
            alert_row.rule, alert_row.id, alert_row.detail
        ),
        data_categories: Vec::new(),
        subject_categories: vec!["customer".into()],
        approximate_people: None,
        approximate_records: None,
        consequences: String::new(),
        measures_taken: String::new(),
        measures_proposed: String::new(),
        risk: Risk::Risk,
        data_unintelligible: false,
        delay_reasons: None,
    };
    let scope = BreachScope {
        actor: Some(alert_row.actor.clone()),
        from: time(alert_row.at - window),
        to: time(alert_row.at + 1),
        ..BreachScope::default()
    };
    if let Err(e) = scope.clone().validate(crate::now_millis()) {
        let detail = format!("the alert's actor names no credential whose reads can be searched ({})", e.detail);
        return Err(ApiError::new(ErrorCode::InvalidValue, detail));
    }
    for earlier in svc.store.breaches().await? {
        if Breach::parse(earlier.clone(), crate::now_millis())?.record.alert_id == Some(alert) {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("breach {} was opened from this alert", earlier.id),
            ));
        }
    }
    let record = BreachRecord { description: input, scope: None, authority_reference: None, alert_id: Some(alert) };
    let breach = create(svc, who, record, alert_row.at, BreachStatus::Candidate).await?;
    let summary = affected(svc, who, breach.row.id, scope).await?;
    Ok((load(svc, breach.row.id).await?, summary))
}

/// Every breach, the most recently discovered first.
pub async fn list(svc: &Services, who: &Caller) -> ApiResult<Vec<Breach>> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let now = crate::now_millis();
    svc.store.breaches().await?.into_iter().map(|row| Breach::parse(row, now)).collect()
}

/// One breach with its dated changes and the people computed for it.
pub async fn get(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<(Breach, Vec<BreachUpdateRow>, AffectedSummary)> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let breach = load(svc, id).await?;
    let updates = svc.store.breach_updates(id).await?;
    let summary = summary(&svc.store.breach_affected(id).await?);
    Ok((breach, updates, summary))
}

fn summary(people: &[AffectedRow]) -> AffectedSummary {
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    for p in people {
        for c in p.categories.split(',').filter(|c| !c.is_empty()) {
            *by_category.entry(c.to_string()).or_default() += 1;
        }
    }
    AffectedSummary {
        people: people.len() as u64,
        events: people.iter().map(|p| p.events.max(0) as u64).sum(),
        by_category,
    }
}

/// Changes a breach: its description, status, the authority's
/// notification, and phased information, as one dated, audited change.
pub async fn patch(svc: &Services, who: &Caller, id: Uuid, patch: BreachPatch) -> ApiResult<Breach> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let before = load(svc, id).await?;
    let now = crate::now_millis();
    let mut record = before.record.clone();
    record.description.apply(&patch);
    let aware_at = record.description.validate(now)?;
    let mut row = before.row.clone();
    row.aware_at = aware_at;
    row.authority_due_at = authority_due(aware_at);
    if let Some(status) = patch.status {
        let allowed = matches!(
            (before.status(), status),
            (BreachStatus::Candidate, BreachStatus::Open | BreachStatus::Closed)
                | (BreachStatus::Open, BreachStatus::Closed)
        ) || before.status() == status;
        if !allowed {
            return Err(ApiError::new(ErrorCode::InvalidTransition, "status: a closed breach stays closed"));
        }
        row.status = status_name(status).into();
    }
    if let Some(at) = &patch.authority_notified_at {
        let at = kith_core::model::unix_millis(kith_core::model::parse_timestamp("authority_notified_at", at)?);
        row.authority_notified_at = Some(at);
    }
    if let Some(at) = row.authority_notified_at {
        check_notification(&record.description, row.authority_due_at, at, now)?;
    }
    if let Some(reference) = &patch.authority_reference {
        let checked = kith_core::values::check_text(reference, 200, false).map_err(|e| e.at("authority_reference"))?;
        record.authority_reference = Some(checked).filter(|r| !r.is_empty());
    }
    let note = match &patch.update {
        Some(text) => {
            Some(kith_core::values::check_text(text, 8000, true).map_err(|e| e.at("update"))?).filter(|t| !t.is_empty())
        }
        None => None,
    };
    let fields = patched_fields(&patch);
    if fields.is_empty() {
        return Err(ApiError::new(ErrorCode::MissingField, "body: at least one field to change"));
    }
    row.document = document(&record)?;
    row.updated_at = now.max(before.row.updated_at + 1);
    let changed = change(who, id, &fields, note);
    let event = audited(who, AuditAction::Update, id, fields);
    let write = applied(svc.store.update_breach(&row, before.row.updated_at, &changed));
    let raced = ApiError::new(ErrorCode::Conflict, "the breach changed meanwhile: read it again");
    svc.audit.intend(vec![event], write).await?.map_err(|e| unapplied(e, raced))?;
    Breach::parse(row, now)
}

/// The names of the fields a patch gives.
fn patched_fields(patch: &BreachPatch) -> Vec<String> {
    let value = serde_json::to_value(patch).unwrap_or_default();
    let mut names: Vec<String> = value
        .as_object()
        .map(|o| o.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Finds the people whose data was read or changed in `scope`, from the
/// audit log (successful events only), keeps them with the breach, and
/// answers the counts. No value is read: ids and category names.
pub async fn affected(svc: &Services, who: &Caller, id: Uuid, mut scope: BreachScope) -> ApiResult<AffectedSummary> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let before = load(svc, id).await?;
    let (actors, from, to) = scope.validate(crate::now_millis())?;
    let network = scope.network.as_deref().and_then(parse_network);
    let mut people: BTreeMap<Uuid, (BTreeSet<String>, i64)> = BTreeMap::new();
    let mut after = None;
    const PAGE: u32 = 1000;
    loop {
        let query = AuditQuery {
            actor: actors.first().cloned(),
            from: Some(from),
            to: Some(to),
            after,
            limit: PAGE,
            ..AuditQuery::default()
        };
        let events = svc.store.audit_query(&query).await?;
        for e in &events {
            let touches_data =
                matches!(e.action, AuditAction::Read | AuditAction::Create | AuditAction::Update | AuditAction::Delete);
            let Some(subject) = e.subject_id.filter(|_| touches_data && e.outcome == AuditOutcome::Ok) else {
                continue;
            };
            // Companies are not people.
            if e.entity.as_deref().is_none_or(|k| k == "companies") {
                continue;
            }
            if scope.entity.as_ref().is_some_and(|k| e.entity.as_ref() != Some(k)) {
                continue;
            }
            if let Some(net) = &network {
                let client = e.client.as_deref().and_then(|c| c.parse::<std::net::IpAddr>().ok());
                if !client.is_some_and(|c| kith_core::api_key::address_allowed(&[net.to_string()], Some(c))) {
                    continue;
                }
            }
            let entry = people.entry(subject).or_default();
            entry.0.extend(crate::service::recipients::categories_of(e));
            entry.1 += 1;
        }
        match events.last() {
            Some(last) if events.len() == PAGE as usize => after = Some(last.seq),
            _ => break,
        }
    }
    let rows: Vec<AffectedRow> = people
        .into_iter()
        .map(|(subject_id, (categories, events))| AffectedRow {
            subject_id,
            categories: categories.into_iter().collect::<Vec<_>>().join(","),
            events,
        })
        .collect();
    let summary = summary(&rows);
    let fields = vec![format!("affected:{}", summary.people)];
    let mut record = before.record.clone();
    record.scope = Some(scope);
    let mut row = before.row.clone();
    row.document = document(&record)?;
    row.updated_at = crate::now_millis().max(before.row.updated_at + 1);
    let computed = change(who, id, &fields, None);
    let events = vec![
        audit_event::in_request(who, AuditAction::Read, About::entity("audit"), vec![format!("breach:{id}")]),
        audited(who, AuditAction::Update, id, fields),
    ];
    let write = applied(svc.store.set_breach_affected(&row, before.row.updated_at, &rows, &computed));
    let raced = ApiError::new(ErrorCode::Conflict, "the breach changed meanwhile: compute again");
    svc.audit.intend(events, write).await?.map_err(|e| unapplied(e, raced))?;
    Ok(summary)
}

/// The people computed for a breach (ids).
pub async fn affected_people(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<Vec<AffectedRow>> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    load(svc, id).await?;
    Ok(svc.store.breach_affected(id).await?)
}

/// What the drafts need, read once.
struct Facts {
    breach: Breach,
    people: Vec<AffectedRow>,
    summary: AffectedSummary,
    controller: Option<ControllerDetails>,
    /// The phases given (Art. 33(4)): (time, text).
    updates: Vec<(String, String)>,
}

impl Facts {
    fn draft(&self) -> DraftFacts<'_> {
        draft(&self.breach, &self.summary, self.controller.as_ref(), self.updates.clone())
    }
}

async fn facts(svc: &Services, id: Uuid) -> ApiResult<Facts> {
    let breach = load(svc, id).await?;
    let people = svc.store.breach_affected(id).await?;
    let summary = summary(&people);
    let controller = crate::ropa::controller(&svc.store).await?;
    let updates = svc
        .store
        .breach_updates(id)
        .await?
        .into_iter()
        .filter_map(|u| u.note.map(|n| (crate::clock::rfc3339_millis(u.at), n)))
        .collect();
    Ok(Facts { breach, people, summary, controller, updates })
}

fn draft<'a>(
    breach: &'a Breach,
    summary: &'a AffectedSummary,
    controller: Option<&'a ControllerDetails>,
    updates: Vec<(String, String)>,
) -> DraftFacts<'a> {
    DraftFacts {
        id: breach.row.id,
        input: &breach.record.description,
        aware_at: crate::clock::rfc3339_millis(breach.row.aware_at),
        due_at: crate::clock::rfc3339_millis(breach.row.authority_due_at),
        notified_late: breach.row.authority_notified_at.is_some_and(|at| at > breach.row.authority_due_at)
            || (breach.row.authority_notified_at.is_none() && crate::now_millis() > breach.row.authority_due_at),
        affected: summary,
        controller,
        updates,
    }
}

/// The Art. 33(3) notification to the authority, as Markdown, with the facts it holds.
pub async fn authority_draft(
    svc: &Services,
    who: &Caller,
    id: Uuid,
) -> ApiResult<(Breach, AffectedSummary, Option<ControllerDetails>, String)> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let f = facts(svc, id).await?;
    let text = kith_core::breach::authority_notification(&f.draft());
    Ok((f.breach, f.summary, f.controller, text))
}

/// The Art. 34 notice to each person, and where it stands for each.
pub struct PeopleDraft {
    pub due: bool,
    pub subject: String,
    pub text: String,
    pub people: u64,
    pub notices: Vec<BreachNoticeRow>,
}

pub async fn people_draft(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<PeopleDraft> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let f = facts(svc, id).await?;
    let (subject, text) = kith_core::breach::people_notice(&f.draft());
    let notices = svc.store.breach_notices(id).await?;
    Ok(PeopleDraft { due: f.breach.people_due, subject, text, people: f.summary.people, notices })
}

/// How many notices were queued, and why others were not.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Queued {
    pub queued: u64,
    /// Queued before.
    pub already: u64,
    /// Erased since, or holding no e-mail address.
    pub unreachable: u64,
}

/// Queues the Art. 34 notice to every affected person with an e-mail
/// address, each message sealed under the person's own data key, for the
/// mail integration to take from the outbox (`sent_at` is recorded then).
pub async fn send_notices(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<Queued> {
    svc.authorizer.authorize_breaches(&who.principal)?;
    let f = facts(svc, id).await?;
    if f.breach.status() != BreachStatus::Open {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            "notices go out for an open breach only: confirm a candidate first; a closed one is done",
        ));
    }
    if !f.breach.people_due {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            "no notice to people is due: only a high risk to data intelligible to others needs one (Art. 34(1), 34(3)(a))",
        ));
    }
    if f.controller.is_none() {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            "set the controller's details first: the notice names who to contact",
        ));
    }
    let (subject, text) = kith_core::breach::people_notice(&f.draft());
    let already: BTreeSet<Uuid> = svc.store.breach_notices(id).await?.into_iter().map(|n| n.subject_id).collect();
    let now = crate::now_millis();
    let mut outcome = Queued::default();
    let mut batch = Vec::new();
    let mut events = Vec::new();
    for person in &f.people {
        if already.contains(&person.subject_id) {
            outcome.already += 1;
            continue;
        }
        let (key, contact) = match crate::service::consents::person(svc, person.subject_id).await {
            Ok(found) => found,
            // Erased since the breach: no one to write to.
            Err(e) if e.code == ErrorCode::NotFound => {
                outcome.unreachable += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(to) = contact.emails.first() else {
            outcome.unreachable += 1;
            continue;
        };
        let message_id = Uuid::new_v4();
        let message = crate::service::capture::Message {
            to: to.clone(),
            subject: subject.clone(),
            text: text.clone(),
            token: String::new(),
            confirm_url: None,
            expires_at: crate::clock::rfc3339_millis(now + 7 * 86_400_000),
        };
        let plaintext = serde_json::to_vec(&message).map_err(|e| ApiError::internal("breach notice", e))?;
        let sealed = key.seal(&crate::sealing::capture_outbox(message_id, person.subject_id), &plaintext);
        let outbox = OutboxRow { id: message_id, pending_id: person.subject_id, created_at: now, sealed };
        let notice =
            BreachNoticeRow { breach_id: id, subject_id: person.subject_id, message_id, queued_at: now, sent_at: None };
        batch.push((notice, outbox));
        events.push(audit_event::in_request(
            who,
            AuditAction::Read,
            About::person("contacts", person.subject_id),
            vec!["emails".into(), format!("breach:{id}")],
        ));
    }
    let fields = vec![format!("notices:{}", batch.len())];
    events.push(audited(who, AuditAction::Update, id, fields.clone()));
    let queued = change(who, id, &fields, None);
    outcome.queued = svc.audit.intend(events, svc.store.queue_breach_notices(&batch, &queued)).await??;
    Ok(outcome)
}
