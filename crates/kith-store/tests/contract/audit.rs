//! The audit log: numbers, chain, checkpoints and alerts.

use super::*;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};

/// A chain the test can recompute: the leaf is the event's number and
/// time, the chain hash folds the leaf into the one before it.
fn test_hasher(event: &AuditEvent, previous: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let mut leaf = [event.seq as u8; 32];
    leaf[1] = event.at as u8;
    let mut chain = *previous;
    for (c, l) in chain.iter_mut().zip(leaf) {
        *c = c.wrapping_mul(31).wrapping_add(l);
    }
    (leaf, chain)
}

fn event(at: i64, actor: &str, action: AuditAction, subject: Option<Uuid>) -> AuditEvent {
    AuditEvent {
        seq: 0,
        at,
        actor: actor.into(),
        action,
        entity: subject.map(|_| "contacts".into()),
        record_id: subject,
        subject_id: subject,
        fields: vec!["name".into(), "email".into()],
        purpose: Some("marketing".into()),
        request_id: Some("req-1".into()),
        client: Some("cli".into()),
        outcome: AuditOutcome::Ok,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_numbers_chains_and_checkpoints_its_events() {
    for engine in engines().await {
        let s = &engine.store;
        // An empty log: the head is number 0 over the zero hash, and there is nothing to read.
        assert_eq!(s.audit_head().await.unwrap(), (0, vec![0; 32]));
        assert!(s.audit_rows(0, 10).await.unwrap().is_empty());
        assert!(s.append_audit(Vec::new(), &test_hasher).await.unwrap().is_empty());
        assert_eq!(s.audit_head().await.unwrap(), (0, vec![0; 32]), "appending nothing moves nothing");
        // Appends number the events on from the head, across calls.
        let person = Uuid::new_v4();
        let pair = vec![
            event(100, "user:a", AuditAction::Read, Some(person)),
            event(200, "user:b", AuditAction::Update, Some(person)),
        ];
        let first = s.append_audit(pair, &test_hasher).await.unwrap();
        assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        let mut denied = event(300, "token:c", AuditAction::Authenticate, None);
        (denied.outcome, denied.fields, denied.purpose, denied.request_id, denied.client) =
            (AuditOutcome::Denied, Vec::new(), None, None, None);
        let second = s.append_audit(vec![denied], &test_hasher).await.unwrap();
        assert_eq!(second.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3]);
        let appended: Vec<AuditEvent> = first.into_iter().chain(second).collect();
        // Read back in order, each event whole, with the hashes the hasher gave along the chain.
        let rows = s.audit_rows(0, 10).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.event.clone()).collect::<Vec<_>>(), appended);
        let mut previous = [0u8; 32];
        for row in &rows {
            let (leaf, chain) = test_hasher(&row.event, &previous);
            assert_eq!((row.leaf_hash.as_slice(), row.chain_hash.as_slice()), (&leaf[..], &chain[..]));
            assert!(row.canonical, "event {} is stored as Kith writes it", row.event.seq);
            previous = chain;
        }
        assert_eq!(s.audit_head().await.unwrap(), (3, previous.to_vec()), "the head is the last event's");
        // Ranges start after a number and stop at the limit; past the end there is nothing.
        let middle = s.audit_rows(1, 1).await.unwrap();
        assert_eq!(middle.iter().map(|r| r.event.seq).collect::<Vec<_>>(), vec![2]);
        assert!(s.audit_rows(3, 10).await.unwrap().is_empty());
        assert!(s.audit_rows(99, 10).await.unwrap().is_empty());
        // Queries filter by subject, actor, action and a half-open time range, in sequence order.
        let all = AuditQuery { limit: 10, ..Default::default() };
        let seqs = |query: AuditQuery| async move {
            s.audit_query(&query).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>()
        };
        assert_eq!(seqs(all.clone()).await, vec![1, 2, 3]);
        assert_eq!(seqs(AuditQuery { subject_id: Some(person), ..all.clone() }).await, vec![1, 2]);
        assert_eq!(seqs(AuditQuery { subject_id: Some(Uuid::new_v4()), ..all.clone() }).await, Vec::<i64>::new());
        assert_eq!(seqs(AuditQuery { actor: Some("token:c".into()), ..all.clone() }).await, vec![3]);
        assert_eq!(seqs(AuditQuery { action: Some("update".into()), ..all.clone() }).await, vec![2]);
        assert_eq!(seqs(AuditQuery { from: Some(200), to: Some(300), ..all.clone() }).await, vec![2]);
        assert_eq!(seqs(AuditQuery { after: Some(1), limit: 1, ..all.clone() }).await, vec![2]);
        assert_eq!(seqs(AuditQuery { after: Some(3), ..all.clone() }).await, Vec::<i64>::new());
        let newest = AuditQuery { newest_first: true, ..all.clone() };
        assert_eq!(seqs(newest.clone()).await, vec![3, 2, 1]);
        assert_eq!(seqs(AuditQuery { after: Some(3), limit: 1, ..newest.clone() }).await, vec![2]);
        assert_eq!(seqs(AuditQuery { subject_id: Some(person), ..newest }).await, vec![2, 1]);
        // Checkpoints: one per size, the first note kept; the latest is the one covering the most events.
        assert_eq!(s.latest_checkpoint().await.unwrap(), None);
        s.insert_checkpoint(2, "two", 10).await.unwrap();
        assert_eq!(s.latest_checkpoint().await.unwrap().as_deref(), Some("two"));
        s.insert_checkpoint(3, "three", 11).await.unwrap();
        s.insert_checkpoint(1, "one", 12).await.unwrap();
        s.insert_checkpoint(3, "three again", 13).await.unwrap();
        assert_eq!(s.latest_checkpoint().await.unwrap().as_deref(), Some("three"));
        // An alert fires once per rule and actor since a time; alerts come newest first.
        let alert = |at: i64, actor: &str| AlertRow {
            id: Uuid::new_v4(),
            at,
            rule: "bulk_read".into(),
            actor: actor.into(),
            detail: "reads:500>100".into(),
        };
        let early = alert(1_000, "user:a");
        assert!(s.raise_alert(&early, 0).await.unwrap());
        assert!(!s.raise_alert(&alert(1_500, "user:a"), 1_000).await.unwrap(), "it fired at 1000");
        let other = alert(1_600, "user:b");
        assert!(s.raise_alert(&other, 1_000).await.unwrap(), "another actor");
        let late = alert(2_000, "user:a");
        assert!(s.raise_alert(&late, 1_001).await.unwrap(), "the last one is before since");
        assert_eq!(s.alerts(10).await.unwrap(), vec![late.clone(), other, early]);
        assert_eq!(s.alerts(1).await.unwrap(), vec![late]);
        engine.cleanup().await;
    }
}
