//! Refused credentials are counted, not logged one by one: a flood of
//! requests without a valid token must not grow the append-only log
//! without bound (each event is fsynced and chained). Per actor (anonymous,
//! or the revoked or expired token), client network (IPv4 address, IPv6
//! /64) and kind of record, the first refusal of a window is recorded at
//! once, with its request id, so a single mistake shows immediately; the
//! rest of the window becomes one event whose field `repeated:N` counts
//! them. A flood thus costs at most two events per key and window, and the
//! keys are capped: beyond `max_keys` refusals fold into one key per kind
//! of record without a network.

use kith_core::audit::AuditEvent;
use std::collections::HashMap;

/// The field that carries how many refusals an event stands for.
pub const REPEATED_PREFIX: &str = "repeated:";

/// How many refusals `event` stands for: its `repeated:N` field, else one.
pub fn refusals_in(event: &AuditEvent) -> i64 {
    event.fields.iter().find_map(|f| f.strip_prefix(REPEATED_PREFIX)?.parse().ok()).unwrap_or(1)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    actor: String,
    network: Option<String>,
    entity: Option<String>,
}

/// The refusals of the current window, per key: the count after the first,
/// and the first event (the summary copies its shape).
pub struct RefusalTally {
    window_ms: i64,
    max_keys: usize,
    started: i64,
    counts: HashMap<Key, (u64, AuditEvent)>,
}

impl RefusalTally {
    pub fn new(window_ms: i64, max_keys: usize) -> Self {
        Self { window_ms: window_ms.max(1), max_keys, started: 0, counts: HashMap::new() }
    }

    fn key_of(&self, event: &AuditEvent) -> Key {
        let network =
            event.client.as_deref().and_then(|c| c.parse().ok()).map(|ip| crate::auth::network::client_key(Some(ip)));
        let key = Key { actor: event.actor.clone(), network, entity: event.entity.clone() };
        if self.counts.len() >= self.max_keys && !self.counts.contains_key(&key) {
            return Key { actor: "anonymous".into(), network: None, entity: event.entity.clone() };
        }
        key
    }

    /// Notes one refusal at `now`; returns what to record now: the summaries
    /// of a window that closed, and this refusal if it is its key's first.
    pub fn note(&mut self, event: AuditEvent, now: i64) -> Vec<AuditEvent> {
        let mut out = self.close(now, false);
        if self.counts.is_empty() {
            self.started = now;
        }
        let key = self.key_of(&event);
        match self.counts.get_mut(&key) {
            Some((extra, _)) => *extra += 1,
            None => {
                let mut first = event;
                if key.network.is_none() {
                    // Folded into the overflow key: no address of its own.
                    (first.actor, first.client) = (key.actor.clone(), None);
                }
                self.counts.insert(key, (0, first.clone()));
                out.push(first);
            }
        }
        out
    }

    /// The summaries of the window if it has run out by `now` (or at once
    /// with `force`, at shutdown), starting a new one.
    pub fn close(&mut self, now: i64, force: bool) -> Vec<AuditEvent> {
        if self.counts.is_empty() || (!force && now < self.started + self.window_ms) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (key, (extra, first)) in self.counts.drain() {
            if extra == 0 {
                continue;
            }
            out.push(AuditEvent {
                at: now,
                client: key.network,
                fields: vec![format!("{REPEATED_PREFIX}{extra}")],
                request_id: None,
                ..first
            });
        }
        out.sort_by(|a, b| (&a.actor, &a.client).cmp(&(&b.actor, &b.client)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kith_core::audit::{AuditAction, AuditOutcome};

    fn refusal(actor: &str, client: &str) -> AuditEvent {
        AuditEvent {
            seq: 0,
            at: 0,
            actor: actor.into(),
            action: AuditAction::Authenticate,
            entity: None,
            record_id: None,
            subject_id: None,
            fields: Vec::new(),
            purpose: None,
            request_id: Some("r".into()),
            client: Some(client.into()),
            outcome: AuditOutcome::Denied,
        }
    }

    #[test]
    fn a_flood_costs_two_events_per_key_and_window() {
        let mut tally = RefusalTally::new(60_000, 100);
        let mut recorded = Vec::new();
        for i in 0..10_000 {
            recorded.extend(tally.note(refusal("anonymous", &format!("203.0.113.{}", i % 2)), i));
        }
        assert_eq!(recorded.len(), 2, "the first of each address at once");
        recorded.extend(tally.note(refusal("anonymous", "198.51.100.7"), 60_000));
        let summaries: Vec<&AuditEvent> = recorded.iter().filter(|e| refusals_in(e) > 1).collect();
        assert_eq!(summaries.len(), 2, "{recorded:?}");
        assert_eq!(summaries.iter().map(|e| refusals_in(e)).sum::<i64>(), 9_998);
        assert!(summaries.iter().all(|e| e.request_id.is_none()));
        assert_eq!(tally.close(60_001, true), Vec::new(), "the new window's only refusal was recorded");
    }

    #[test]
    fn keys_are_capped_and_ipv6_counts_per_64() {
        let mut tally = RefusalTally::new(60_000, 2);
        let mut recorded = Vec::new();
        for i in 0..1000 {
            recorded.extend(tally.note(refusal("anonymous", &format!("2001:db8:0:{}::1", i)), 0));
        }
        recorded.extend(tally.close(1, true));
        assert!(recorded.len() <= 4, "{recorded:?}");
        assert_eq!(recorded.iter().map(refusals_in).sum::<i64>(), 1000);
        let mut same64 = RefusalTally::new(60_000, 100);
        assert_eq!(same64.note(refusal("anonymous", "2001:db8::1"), 0).len(), 1);
        assert_eq!(same64.note(refusal("anonymous", "2001:db8::2"), 0).len(), 0);
    }
}
