//! Writing what the plan decided: new people in batches, each batch one
//! transaction with its audit events (a create per person, a consent
//! change per first consent) and the ledgers it opens; then the merges,
//! each through the record service like any change by the caller.

use super::plan::{ConsentClaim, Planned};
use super::{save, ImportJob, BATCH};
use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::sealing::{NewKeyWrapper, WRITE_ATTEMPTS};
use crate::service::consents::{consent_entry, person, record_consent};
use crate::service::records::{present_fields, seal_record};
use crate::service::Services;
use kith_core::audit::AuditAction;
use kith_core::consent::{ConsentInput, ConsentMethod};
use kith_core::import::RowProblem;
use kith_core::model::Contact;
use kith_core::ErrorCode;
use kith_crypto::DataKey;
use kith_store::StoreError;
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Merges between two saves of a job's progress.
const MERGES_PER_SAVE: usize = 50;

pub(super) async fn write(
    svc: &Services,
    who: &Caller,
    planned: Planned,
    job: &mut ImportJob,
    tell: &(dyn Fn(&ImportJob) + Send + Sync),
) -> ApiResult<()> {
    if job.dry_run {
        return Ok(());
    }
    let source = planned.source.clone();
    // A failed batch is started again from its first row; merges come
    // after every batch, so an earlier merge row is where to resume then.
    let first_merge = planned.merges.first().map(|(row, _, _)| *row);
    for batch in planned.new.chunks(BATCH) {
        let written = write_batch(svc, who, batch, &planned, source.as_deref(), job.id).await;
        if let Err(e) = written {
            job.resume_from_row = Some(first_merge.map_or(batch[0].0, |m| m.min(batch[0].0)));
            return Err(e);
        }
        job.counts.created += batch.len();
        job.progress.done += batch.len();
        save(svc, job).await?;
        tell(job);
    }
    for (n, (row, existing, contact)) in planned.merges.into_iter().enumerate() {
        match merge(svc, who, existing, &contact, planned.consent.as_ref(), source.as_deref(), job.id, row).await {
            Ok(()) => job.counts.merged += 1,
            // The database failing ends the job; a refusal is the row's.
            Err(e) if matches!(e.code, ErrorCode::Internal | ErrorCode::Unavailable) => {
                job.resume_from_row = Some(row);
                return Err(e);
            }
            Err(refusal) => {
                job.counts.duplicate += 1;
                job.problem(RowProblem {
                    row,
                    column: None,
                    code: refusal.code.as_str().into(),
                    rule: format!("not merged into the existing contact: {}", refusal.detail),
                });
            }
        }
        job.progress.done += 1;
        if (n + 1) % MERGES_PER_SAVE == 0 {
            save(svc, job).await?;
            tell(job);
        }
    }
    Ok(())
}

/// The consent an imported person's ledger records: the importer's claim,
/// with the job and row as evidence.
fn claimed(claim: &ConsentClaim, source: Option<&str>, job: Uuid, row: usize) -> ConsentInput {
    let mut evidence = Map::new();
    evidence.insert("import".into(), json!(job));
    evidence.insert("row".into(), json!(row));
    ConsentInput {
        purpose: claim.purpose.clone(),
        granted: true,
        notice_version: claim.notice_version.clone(),
        method: ConsentMethod::Import,
        source: source.map(str::to_string),
        evidence,
        guardian: None,
    }
}

fn with_source(mut contact: Contact, source: Option<&str>, owner: &str) -> Contact {
    if let Some(source) = source {
        contact.custom.entry("source").or_insert_with(|| Value::String(source.to_string()));
    }
    contact.owner = Some(owner.to_string());
    contact
}

async fn write_batch(
    svc: &Services,
    who: &Caller,
    batch: &[(usize, Contact)],
    planned: &Planned,
    source: Option<&str>,
    job: Uuid,
) -> ApiResult<()> {
    let ring = svc.keys.current();
    let seal = crate::consent_seal::sealer(&svc.keys);
    for attempt in 1..=WRITE_ATTEMPTS {
        // Wrapped again on each attempt: a key rotation may have switched the active KEK.
        let wrapper = NewKeyWrapper::active(&svc.store, &svc.keys).await?;
        let now = crate::now_millis();
        let (mut records, mut events, mut consents) = (Vec::new(), Vec::new(), Vec::new());
        for (row, contact) in batch {
            let (id, key) = (Uuid::new_v4(), DataKey::generate());
            let body = with_source(contact.clone(), source, &planned.owner);
            let fields = present_fields(&serde_json::to_value(&body).map_err(|e| ApiError::internal("import", e))?);
            records.push((seal_record(&ring, &key, &body, id, id, now)?, Some(wrapper.wrap(id, &key)?)));
            let about = About { entity: "contacts", record: Some(id), subject: Some(id) };
            events.push(audit_event::by(who, AuditAction::Create, about, fields));
            if let Some(claim) = &planned.consent {
                let (entry, event) = consent_entry(who, id, &key, &claimed(claim, source, job, *row))?;
                consents.push(entry);
                events.push(event);
            }
        }
        match svc.audit.intend(events, svc.store.insert_with_consents(records, &consents, &*seal)).await? {
            Err(StoreError::StaleKek(_)) if attempt < WRITE_ATTEMPTS => continue,
            result => return Ok(result?),
        }
    }
    Err(ApiError::internal("import", "the active key kept changing"))
}

/// Adds to an existing contact what the row has and it lacks, through the
/// record service (which reads, checks the policy about the person, and
/// audits), and records the claimed consent in the person's ledger.
#[allow(clippy::too_many_arguments)]
async fn merge(
    svc: &Services,
    who: &Caller,
    existing: Uuid,
    row_contact: &Contact,
    claim: Option<&ConsentClaim>,
    source: Option<&str>,
    job: Uuid,
    row: usize,
) -> ApiResult<()> {
    let current = svc.records.get::<Contact>(who, existing).await?;
    let incoming = serde_json::to_value(row_contact).map_err(|e| ApiError::internal("import", e))?;
    let patch = merge_patch(&current, &incoming);
    if !patch.is_empty() {
        svc.records.update::<Contact>(who, existing, patch).await?;
    }
    if let Some(claim) = claim {
        let (key, _) = person(svc, existing).await?;
        record_consent(svc, who, existing, &key, &claimed(claim, source, job, row)).await?;
    }
    Ok(())
}

/// The fields to change: those the caller sees (present in `current`)
/// and the row fills where the contact is empty, lists with the row's new
/// entries added, custom keys the contact lacks.
fn merge_patch(current: &Value, incoming: &Value) -> Map<String, Value> {
    let mut patch = Map::new();
    let (Value::Object(current), Value::Object(incoming)) = (current, incoming) else { return patch };
    for (field, new) in incoming {
        let Some(old) = current.get(field) else { continue };
        match (old, new) {
            (_, Value::Null) => {}
            (Value::Null, new) => {
                patch.insert(field.clone(), new.clone());
            }
            (Value::Array(old), Value::Array(new)) => {
                let added: Vec<&Value> = new.iter().filter(|v| !old.contains(v)).collect();
                if !added.is_empty() {
                    let mut all = old.clone();
                    all.extend(added.into_iter().cloned());
                    patch.insert(field.clone(), Value::Array(all));
                }
            }
            (Value::Object(old), Value::Object(new)) if field == "custom" => {
                let mut all = old.clone();
                for (k, v) in new {
                    all.entry(k.clone()).or_insert_with(|| v.clone());
                }
                if all.len() > old.len() {
                    patch.insert(field.clone(), Value::Object(all));
                }
            }
            _ => {}
        }
    }
    patch.remove("owner");
    patch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_fills_gaps_and_adds_to_lists_never_overwrites() {
        let current = json!({"given_name": "Olena", "family_name": null, "emails": ["a@x.org"], "tags": [],
            "custom": {"k": 1}, "owner": "alice", "job_title": "Buyer"});
        let incoming = json!({"given_name": "Helen", "family_name": "Kovalenko", "emails": ["a@x.org", "b@x.org"],
            "tags": ["fair"], "custom": {"k": 2, "source": "fair"}, "owner": "bob", "job_title": null,
            "notes": "hidden from this caller"});
        let patch = merge_patch(&current, &incoming);
        assert_eq!(
            Value::Object(patch),
            json!({"family_name": "Kovalenko", "emails": ["a@x.org", "b@x.org"], "tags": ["fair"],
                "custom": {"k": 1, "source": "fair"}})
        );
    }
}
