//! Accountability: the register of recipients, whose ended entries stay.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipients_are_registered_changed_and_ended_never_deleted() {
    for engine in engines().await {
        let s = &engine.store;
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        let row = |id, document: &str, at| RecipientRow {
            id,
            document: document.into(),
            created_at: at,
            updated_at: at,
            ended_at: None,
        };
        s.insert_recipient(&row(first, r#"{"name":"B"}"#, 1)).await.unwrap();
        s.insert_recipient(&row(second, r#"{"name":"A"}"#, 2)).await.unwrap();
        assert!(matches!(s.insert_recipient(&row(first, "{}", 3)).await, Err(StoreError::Duplicate)));

        assert!(s.update_recipient(first, r#"{"name":"B2"}"#, 5).await.unwrap());
        let changed = s.recipient(first).await.unwrap().unwrap();
        assert_eq!((changed.document.as_str(), changed.created_at, changed.updated_at), (r#"{"name":"B2"}"#, 1, 5));
        assert!(!s.update_recipient(Uuid::new_v4(), "{}", 5).await.unwrap());

        assert!(s.end_recipient(first, 7).await.unwrap());
        assert!(!s.end_recipient(first, 8).await.unwrap(), "ended once");
        assert!(!s.update_recipient(first, "{}", 9).await.unwrap(), "an ended entry is closed");
        let ended = s.recipient(first).await.unwrap().unwrap();
        assert_eq!((ended.ended_at, ended.document.as_str()), (Some(7), r#"{"name":"B2"}"#));

        let all = s.recipients().await.unwrap();
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [first, second], "by creation, ended ones too");
        assert!(s.recipient(Uuid::new_v4()).await.unwrap().is_none());
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaches_keep_their_changes_people_and_notices() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        let row = BreachRow {
            id,
            document: "{}".into(),
            status: "open".into(),
            aware_at: 10,
            authority_due_at: 10 + 72 * 3_600_000,
            authority_notified_at: None,
            created_at: 20,
            updated_at: 20,
        };
        let change = |at, fields: &str, note: Option<&str>| BreachUpdateRow {
            breach_id: id,
            seq: 0,
            at,
            actor: "user:dpo".into(),
            fields: fields.into(),
            note: note.map(str::to_string),
        };
        s.insert_breach(&row, &change(20, "status:open", None)).await.unwrap();
        let notified = BreachRow { authority_notified_at: Some(30), updated_at: 30, ..row.clone() };
        assert!(s.update_breach(&notified, 20, &change(30, "authority_notified_at", Some("phase 2"))).await.unwrap());
        assert!(!s.update_breach(&notified, 20, &change(31, "stale", None)).await.unwrap(), "a stale write is refused");
        assert_eq!(s.breach(id).await.unwrap().unwrap().authority_notified_at, Some(30));
        let updates = s.breach_updates(id).await.unwrap();
        assert_eq!(updates.iter().map(|u| u.seq).collect::<Vec<_>>(), [1, 2], "the stale one left no trace");
        assert_eq!(updates[1].note.as_deref(), Some("phase 2"));

        let (ann, ben) = (Uuid::new_v4(), Uuid::new_v4());
        let person = |id, categories: &str| AffectedRow { subject_id: id, categories: categories.into(), events: 2 };
        let scoped = |at| BreachRow { document: r#"{"scope":1}"#.into(), updated_at: at, ..notified.clone() };
        let both = [person(ann, "identity"), person(ben, "identity,notes")];
        assert!(s.set_breach_affected(&scoped(40), 30, &both, &change(40, "affected:2", None)).await.unwrap());
        let one = [person(ann, "identity")];
        assert!(s.set_breach_affected(&scoped(41), 40, &one, &change(41, "affected:1", None)).await.unwrap());
        assert!(!s.set_breach_affected(&scoped(42), 40, &both, &change(42, "stale", None)).await.unwrap());
        assert_eq!(s.breach_affected(id).await.unwrap(), one, "replaced, not added, and a stale write changed nothing");
        assert_eq!(s.breach_updates(id).await.unwrap().len(), 4, "one change per computation");

        s.insert(contact(ann, 1), Some(key(ann, "k1"))).await.unwrap();
        let notice = |message| {
            let n =
                BreachNoticeRow { breach_id: id, subject_id: ann, message_id: message, queued_at: 50, sent_at: None };
            let m = OutboxRow { id: message, pending_id: ann, created_at: 50, sealed: vec![7] };
            (n, m)
        };
        let first = Uuid::new_v4();
        assert_eq!(s.queue_breach_notices(&[notice(first)], &change(50, "notices:1", None)).await.unwrap(), 1);
        assert_eq!(s.queue_breach_notices(&[notice(Uuid::new_v4())], &change(51, "notices:0", None)).await.unwrap(), 0);
        let claimed = s.claim_outbox(10).await.unwrap();
        assert_eq!(claimed.len(), 1, "one message per person");
        assert_eq!((claimed[0].0.id, claimed[0].1.as_ref().map(|k| k.subject_id)), (first, Some(ann)));
        s.mark_notices_sent(&[first], 60).await.unwrap();
        assert_eq!(s.breach_notices(id).await.unwrap()[0].sent_at, Some(60));
        assert_eq!(s.breaches().await.unwrap().len(), 1);
        engine.cleanup().await;
    }
}
