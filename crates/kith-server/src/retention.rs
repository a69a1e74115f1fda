//! Retention on a schedule (Art. 5(1)(e)): `plan` says who and what would
//! go and why, in counts; `run` does it. A person whose purposes' and
//! categories' periods have all run (`kith_core::retention`) is erased
//! with the machinery of an erasure: rows, index entries and data key in
//! one transaction, a signed receipt, an entry in the erasure ledger (so
//! no restore brings them back), but no suppression: they did not ask to
//! be forgotten and may come back as a customer. Records of a category
//! with its own period go on their own when it has run. An exception to
//! erasure (a legal hold, an Art. 17(3) ground) holds both.

use crate::audit::event::{self as audit_event, About};
use crate::audit::{hash_event, Notary};
use crate::config::RetentionSettings;
use anyhow::Result;
use kith_core::audit::AuditAction;
use kith_core::purpose::Purpose;
use kith_core::retention::{verdict, Verdict, DAY_MS};
use kith_core::EntityKind;
use kith_store::{DynStore, Erased, ErasureCounts, ErasureOrder, LedgerRow, StoreError};
use std::collections::BTreeMap;
use std::path::Path;
use uuid::Uuid;

const ACTOR: &str = "system:retention";
/// People read per page.
const PAGE: u32 = 500;
/// Records of one category handled per run.
const RECORDS_PER_RUN: u32 = 100_000;
/// When a server last applied retention on its schedule (ms).
pub const RAN_AT: &str = "retention_ran_at";

/// Who and what retention finds, by count only.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Plan {
    /// People whose retention has run, and who will be erased.
    pub people_due: u64,
    /// People whose retention has run but an exception to erasure holds.
    pub people_held: u64,
    pub people_kept: u64,
    /// Records of categories with their own period whose period has run.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub records_due: BTreeMap<&'static str, u64>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ran {
    pub people_erased: u64,
    pub people_held: u64,
    pub records_deleted: BTreeMap<&'static str, u64>,
    /// Records whose period ran but whose person is held.
    pub records_held: u64,
}

async fn purposes(store: &DynStore) -> Result<Vec<Purpose>> {
    store.purposes().await?.iter().map(|doc| Ok(serde_json::from_str(doc)?)).collect()
}

/// Every person's verdict at `now`, page by page.
async fn verdicts(store: &DynStore, settings: &RetentionSettings, now: i64) -> Result<Vec<(Uuid, Verdict)>> {
    let purposes = purposes(store).await?;
    let periods = settings.periods();
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.retention_facts(after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        all.extend(page.iter().map(|(id, facts)| (*id, verdict(facts, &purposes, periods, now))));
    }
    Ok(all)
}

/// The categories with a period of their own, and the time before which
/// their records have run it.
fn categories(settings: &RetentionSettings, now: i64) -> Vec<(EntityKind, i64)> {
    [
        (EntityKind::Interactions, settings.interactions_days),
        (EntityKind::Purchases, settings.purchases_days),
        (EntityKind::Deals, settings.deals_days),
    ]
    .into_iter()
    .filter_map(|(entity, days)| days.map(|d| (entity, now - i64::from(d) * DAY_MS)))
    .collect()
}

fn counts(fields: &[(&str, u64)]) -> Vec<String> {
    fields.iter().map(|(name, n)| format!("{name}:{n}")).collect()
}

async fn record(store: &DynStore, action: AuditAction, about: About<'_>, fields: Vec<String>) -> Result<()> {
    let event = audit_event::event(ACTOR.into(), action, about, fields);
    store.append_audit(vec![event], &hash_event).await?;
    Ok(())
}

/// Who and what would go at `now`. The caller records the reading.
pub async fn plan(store: &DynStore, settings: &RetentionSettings, now: i64) -> Result<Plan> {
    let mut plan = Plan::default();
    for (_, v) in verdicts(store, settings, now).await? {
        match v {
            Verdict::Due { .. } => plan.people_due += 1,
            Verdict::Held { .. } => plan.people_held += 1,
            Verdict::Keep { .. } => plan.people_kept += 1,
        }
    }
    for (entity, before) in categories(settings, now) {
        let due = store.expired_records(entity, before, RECORDS_PER_RUN).await?.len() as u64;
        plan.records_due.insert(entity.as_str(), due);
    }
    Ok(plan)
}

impl Plan {
    /// The audit event's fields: counts.
    pub fn fields(&self) -> Vec<String> {
        let mut fields = counts(&[("due", self.people_due), ("held", self.people_held), ("kept", self.people_kept)]);
        fields.extend(self.records_due.iter().map(|(k, n)| format!("{k}:{n}")));
        fields
    }
}

/// The signed receipt of a retention erasure: categories and counts.
fn receipt(notary: &Notary, receipt: Uuid, contact: Uuid, at: i64, counts: &ErasureCounts) -> String {
    let body = serde_json::json!({
        "receipt_id": receipt,
        "contact_id": contact,
        "erased_at": crate::clock::rfc3339_millis(at),
        "reason": "retention",
        "categories": counts,
        "data_key_destroyed": true,
    });
    notary.sign(&format!("kith retention receipt v1\n{body}\n"))
}

/// Applies retention at `now`: erases the people due, deletes the records
/// of categories whose period ran, appends each erasure to the ledger's
/// file, and records every erasure and the run's counts in the audit log.
pub async fn run(
    store: &DynStore,
    notary: &Notary,
    settings: &RetentionSettings,
    ledger_file: Option<&Path>,
    now: i64,
) -> Result<Ran> {
    let mut ran = Ran::default();
    for (contact, v) in verdicts(store, settings, now).await? {
        match v {
            Verdict::Keep { .. } => {}
            Verdict::Held { .. } => ran.people_held += 1,
            Verdict::Due { .. } => {
                let id = Uuid::new_v4();
                let order = ErasureOrder {
                    request_id: id,
                    contact_id: contact,
                    suppressions: Vec::new(),
                    notifications: Vec::new(),
                    at: now,
                };
                let notary = notary.clone();
                let sign = move |counts: &ErasureCounts| receipt(&notary, id, contact, now, counts);
                match store.expire_person(&order, &sign).await? {
                    Erased::Done { counts, .. } => {
                        ran.people_erased += 1;
                        if let Some(path) = ledger_file {
                            let entry =
                                LedgerRow { subject_id: contact, request_id: id, erased_at: now, terms: Vec::new() };
                            if let Err(e) = crate::backup::ledger::append(path, &[entry]) {
                                tracing::warn!(error = %e, "a retention erasure could not be added to the ledger file");
                            }
                        }
                        let mut fields: Vec<String> = counts.iter().map(|(k, n)| format!("{k}:{n}")).collect();
                        fields.extend(["data_key:destroyed".to_string(), "reason:retention".to_string()]);
                        let about = About { entity: "contacts", record: Some(contact), subject: Some(contact) };
                        record(store, AuditAction::Delete, about, fields).await?;
                    }
                    // An exception recorded since the facts were read, or gone meanwhile.
                    Erased::Held => ran.people_held += 1,
                    Erased::Missing => {}
                }
            }
        }
    }
    for (entity, before) in categories(settings, now) {
        let mut deleted = 0;
        for id in store.expired_records(entity, before, RECORDS_PER_RUN).await? {
            match store.delete(entity, id).await {
                Ok(true) => deleted += 1,
                Ok(false) => {}
                Err(StoreError::Held) => ran.records_held += 1,
                Err(e) => return Err(e.into()),
            }
        }
        ran.records_deleted.insert(entity.as_str(), deleted);
    }
    let mut fields =
        counts(&[("erased", ran.people_erased), ("held", ran.people_held), ("records_held", ran.records_held)]);
    fields.extend(ran.records_deleted.iter().map(|(k, n)| format!("{k}:{n}")));
    record(store, AuditAction::Delete, About { entity: "retention", record: None, subject: None }, fields).await?;
    Ok(ran)
}

/// Run from a server's periodic tick when `[retention] every` has passed
/// since the last scheduled run (across the servers of one database).
pub async fn run_if_due(
    store: &DynStore,
    notary: &Notary,
    settings: &RetentionSettings,
    ledger_file: &Path,
    now: i64,
) -> Result<Option<Ran>> {
    let Some(every) = settings.every_ms() else { return Ok(None) };
    let last = store.setting(RAN_AT).await?.and_then(|v| v.parse::<i64>().ok());
    if last.is_some_and(|at| now - at < every) {
        return Ok(None);
    }
    store.set_setting(RAN_AT, &now.to_string()).await?;
    Ok(Some(run(store, notary, settings, Some(ledger_file), now).await?))
}
