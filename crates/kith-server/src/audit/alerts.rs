//! Unusual access, noticed as the audit log grows: one actor reading many
//! people, one request reading very many (bulk export), access outside
//! working hours, repeated refusals. An alert is stored once per rule and
//! actor per window (across servers: the store checks), logged at warning
//! level, and listed for the DPO.

use crate::config::AlertRules;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_store::{AlertRow, DynStore};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use uuid::Uuid;

/// Whether `hour` falls in `[start, end)`, which may run past midnight (`[22, 6]`).
fn within([start, end]: [u8; 2], hour: u8) -> bool {
    if start <= end {
        (start..end).contains(&hour)
    } else {
        hour >= start || hour < end
    }
}

fn is_read(e: &AuditEvent) -> bool {
    e.action == AuditAction::Read && e.outcome == AuditOutcome::Ok
}

/// What the counting rules remember of one actor's recent events.
#[derive(Default)]
struct ActorWindow {
    /// Reads in time order, for expiry.
    reads: VecDeque<(i64, Uuid)>,
    /// The latest read of each person still in the window.
    people: HashMap<Uuid, i64>,
    /// Refusals in time order, with how many each event stands for.
    denials: VecDeque<(i64, i64)>,
}

impl ActorWindow {
    fn forget_before(&mut self, since: i64) {
        while let Some(&(at, person)) = self.reads.front() {
            if at >= since {
                break;
            }
            self.reads.pop_front();
            if self.people.get(&person) == Some(&at) {
                self.people.remove(&person);
            }
        }
        while self.denials.front().is_some_and(|&(at, _)| at < since) {
            self.denials.pop_front();
        }
    }
}

/// The alert rules and their memory of recent events. Counts are kept in
/// memory, so each costs O(1) per event however busy an actor is; with
/// several servers each counts the events it recorded itself.
pub struct Watcher {
    rules: AlertRules,
    actors: HashMap<String, ActorWindow>,
}

impl Watcher {
    pub fn new(rules: AlertRules) -> Self {
        Self { rules, actors: HashMap::new() }
    }

    fn window_ms(&self) -> i64 {
        i64::from(self.rules.window_minutes) * 60_000
    }

    /// Updates the counts with a batch and returns the (rule, actor, detail) it breaks.
    fn observe(&mut self, batch: &[AuditEvent], now: i64) -> Vec<(&'static str, String, String)> {
        let since = now - self.window_ms();
        let rules = self.rules.clone();
        let mut found = Vec::new();
        let mut touched = BTreeSet::new();
        for e in batch {
            let window = self.actors.entry(e.actor.clone()).or_default();
            if is_read(e) {
                if let Some(person) = e.subject_id {
                    window.reads.push_back((e.at, person));
                    window.people.insert(person, e.at);
                }
            } else if e.outcome == AuditOutcome::Denied {
                window.denials.push_back((e.at, crate::audit::refusals::refusals_in(e)));
            }
            touched.insert(e.actor.clone());
        }
        for actor in touched {
            let Some(window) = self.actors.get_mut(&actor) else { continue };
            window.forget_before(since);
            let people = window.people.len() as i64;
            if people > rules.max_people_read {
                let detail = format!(
                    "{people} people read within {} minutes (limit {})",
                    rules.window_minutes, rules.max_people_read
                );
                found.push(("mass_read", actor.clone(), detail));
            }
            let denials: i64 = window.denials.iter().map(|(_, n)| n).sum();
            if denials > rules.max_denied {
                let detail = format!(
                    "{denials} refused requests within {} minutes (limit {})",
                    rules.window_minutes, rules.max_denied
                );
                found.push(("repeated_denials", actor.clone(), detail));
            }
            if window.reads.is_empty() && window.denials.is_empty() {
                self.actors.remove(&actor);
            }
        }
        found.extend(per_request_and_hours(&rules, batch));
        found
    }

    /// Checks a committed batch; stores, logs and returns the alerts raised.
    pub async fn check(&mut self, store: &DynStore, batch: &[AuditEvent]) -> kith_store::Result<Vec<AlertRow>> {
        let now = crate::now_millis();
        let since = now - self.window_ms();
        let mut raised = Vec::new();
        let mut seen = BTreeSet::new();
        for (rule, actor, detail) in self.observe(batch, now) {
            // One alert per rule and actor per batch; the store keeps it to one per window.
            if !seen.insert((rule, actor.clone())) {
                continue;
            }
            let alert = AlertRow { id: Uuid::new_v4(), at: now, rule: rule.to_string(), actor, detail };
            match store.raise_alert(&alert, since).await {
                Ok(true) => {
                    tracing::warn!(rule = alert.rule, actor = alert.actor, detail = alert.detail, "unusual access");
                    raised.push(alert);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(rule = alert.rule, error = %e, "an alert could not be stored"),
            }
        }
        Ok(raised)
    }
}

/// The rules that look at one batch alone: bulk reads by one request, and
/// reads outside working hours.
fn per_request_and_hours(rules: &AlertRules, batch: &[AuditEvent]) -> Vec<(&'static str, String, String)> {
    let mut found = Vec::new();
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
            found.push(("bulk_read", actor.to_string(), detail));
        }
    }
    if let Some(hours) = rules.working_hours_utc {
        let [start, end] = hours;
        for e in batch.iter().filter(|e| is_read(e)) {
            let hour = ((e.at / 3_600_000) % 24) as u8;
            if !within(hours, hour) {
                let detail =
                    format!("personal data read at {hour:02}h UTC, outside working hours {start:02}h-{end:02}h");
                found.push(("out_of_hours", e.actor.clone(), detail));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(actor: &str, at: i64, person: u128) -> AuditEvent {
        AuditEvent {
            seq: 0,
            at,
            actor: actor.into(),
            action: AuditAction::Read,
            entity: Some("contacts".into()),
            record_id: Some(Uuid::from_u128(person)),
            subject_id: Some(Uuid::from_u128(person)),
            fields: vec![],
            purpose: None,
            request_id: Some(format!("r{at}")),
            client: None,
            outcome: AuditOutcome::Ok,
        }
    }

    #[test]
    fn counts_distinct_people_within_the_window() {
        let mut w = Watcher::new(AlertRules { max_people_read: 2, window_minutes: 1, ..Default::default() });
        let minute = 60_000;
        assert!(
            w.observe(&[read("a", 0, 1), read("a", 1, 1), read("a", 2, 2)], 10).is_empty(),
            "two people, twice one"
        );
        assert_eq!(w.observe(&[read("a", 3, 3)], 10)[0].0, "mass_read");
        assert!(w.observe(&[read("b", 4, 1)], 10).is_empty(), "actors count apart");
        // A minute later the early reads have left the window.
        assert!(w.observe(&[read("a", minute + 5, 4)], minute + 5).is_empty());
        assert!(!w.actors.contains_key("b") || w.actors["b"].people.len() == 1);
    }

    #[test]
    fn hours_and_bulk_reads() {
        let rules = AlertRules { working_hours_utc: Some([8, 18]), max_people_per_request: 1, ..Default::default() };
        let night = 2 * 3_600_000;
        let mut batch = vec![read("a", night, 1)];
        let mut second = read("a", night, 2);
        second.request_id = batch[0].request_id.clone();
        batch.push(second);
        assert!(within([22, 6], 23) && within([22, 6], 2) && !within([22, 6], 12));
        assert!(AlertRules { working_hours_utc: Some([9, 9]), ..Default::default() }.check().is_err());
        let found: Vec<&str> = per_request_and_hours(&rules, &batch).iter().map(|f| f.0).collect();
        assert_eq!(found, ["bulk_read", "out_of_hours", "out_of_hours"]);
        let noon = 12 * 3_600_000;
        assert!(per_request_and_hours(&rules, &[read("a", noon, 1)]).is_empty());
    }
}
