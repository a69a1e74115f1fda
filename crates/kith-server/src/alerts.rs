//! Unusual access, noticed as the audit log grows: one actor reading many
//! people, one request reading very many (bulk export), access outside
//! working hours, repeated refusals. Counting rules ask the stored log, so
//! with several servers they see every server's events. An alert is stored
//! once per rule and actor per window, logged at warning level, and listed
//! for the DPO.

use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_store::{AlertRow, DynStore};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Thresholds, set in `kith.toml` under `[alerts]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertRules {
    /// The window the counting rules look back over, in minutes.
    pub window_minutes: u32,
    /// More distinct people read by one actor within the window raises `mass_read`.
    pub max_people_read: i64,
    /// More people in the reads of one request raises `bulk_read` (exports).
    pub max_people_per_request: i64,
    /// More refused requests by one actor within the window raises `repeated_denials`.
    pub max_denied: i64,
    /// Working hours in UTC, `[start, end)` in whole hours; reads outside
    /// raise `out_of_hours`. Absent: no such rule.
    pub working_hours_utc: Option<[u8; 2]>,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            window_minutes: 10,
            max_people_read: 200,
            max_people_per_request: 1000,
            max_denied: 10,
            working_hours_utc: None,
        }
    }
}

fn is_read(e: &AuditEvent) -> bool {
    e.action == AuditAction::Read && e.outcome == AuditOutcome::Ok
}

/// Checks the rules against a committed batch; returns the alerts raised.
pub async fn evaluate(store: &DynStore, rules: &AlertRules, batch: &[AuditEvent]) -> kith_store::Result<Vec<AlertRow>> {
    let now = crate::now_millis();
    let since = now - i64::from(rules.window_minutes) * 60_000;
    let mut candidates: Vec<(&str, String, String)> = Vec::new();

    let readers: BTreeSet<&str> = batch.iter().filter(|e| is_read(e)).map(|e| e.actor.as_str()).collect();
    for actor in readers {
        let people = store.people_read_since(actor, since).await?;
        if people > rules.max_people_read {
            let detail = format!(
                "{people} people read within {} minutes (limit {})",
                rules.window_minutes, rules.max_people_read
            );
            candidates.push(("mass_read", actor.to_string(), detail));
        }
    }

    let mut per_request: BTreeMap<(&str, &str), BTreeSet<Uuid>> = BTreeMap::new();
    for e in batch.iter().filter(|e| is_read(e)) {
        if let (Some(request), Some(subject)) = (&e.request_id, e.subject_id) {
            per_request.entry((e.actor.as_str(), request.as_str())).or_default().insert(subject);
        }
    }
    for ((actor, request), people) in per_request {
        if people.len() as i64 > rules.max_people_per_request {
            let detail =
                format!("{} people read by request {request} (limit {})", people.len(), rules.max_people_per_request);
            candidates.push(("bulk_read", actor.to_string(), detail));
        }
    }

    let refused: BTreeSet<&str> =
        batch.iter().filter(|e| e.outcome == AuditOutcome::Denied).map(|e| e.actor.as_str()).collect();
    for actor in refused {
        let denials = store.denials_since(actor, since).await?;
        if denials > rules.max_denied {
            let detail = format!(
                "{denials} refused requests within {} minutes (limit {})",
                rules.window_minutes, rules.max_denied
            );
            candidates.push(("repeated_denials", actor.to_string(), detail));
        }
    }

    if let Some([start, end]) = rules.working_hours_utc {
        for e in batch.iter().filter(|e| is_read(e)) {
            let hour = ((e.at / 3_600_000) % 24) as u8;
            if hour < start || hour >= end {
                let detail =
                    format!("personal data read at {hour:02}h UTC, outside working hours {start:02}h-{end:02}h");
                candidates.push(("out_of_hours", e.actor.clone(), detail));
            }
        }
    }

    let mut raised = Vec::new();
    for (rule, actor, detail) in candidates {
        let alert = AlertRow { id: Uuid::new_v4(), at: now, rule: rule.to_string(), actor, detail };
        if store.raise_alert(&alert, since).await? {
            tracing::warn!(rule = alert.rule, actor = alert.actor, detail = alert.detail, "unusual access");
            raised.push(alert);
        }
    }
    Ok(raised)
}
