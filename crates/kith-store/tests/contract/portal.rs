//! The privacy portal: single-use links with their messages, and sessions.

use super::requests::request;
use super::*;

fn link(contact: Option<Uuid>, hash: u8, expires_at: i64) -> PortalLinkRow {
    PortalLinkRow { id: Uuid::new_v4(), token_hash: vec![hash; 32], contact_id: contact, created_at: 1, expires_at }
}

fn message(link: &PortalLinkRow) -> OutboxRow {
    OutboxRow { id: Uuid::new_v4(), pending_id: link.id, created_at: 1, sealed: vec![7] }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_link_is_taken_once_and_expired_ones_are_swept_with_their_keys_and_messages() {
    for engine in engines().await {
        let s = &engine.store;
        let person = Uuid::new_v4();
        let (known, unknown) = (link(Some(person), 1, 100), link(None, 2, 50));
        s.add_portal_link(&known, key(known.id, "k1"), &message(&known)).await.unwrap();
        s.add_portal_link(&unknown, key(unknown.id, "k1"), &message(&unknown)).await.unwrap();
        assert!(matches!(
            s.add_portal_link(&known, key(known.id, "k1"), &message(&known)).await,
            Err(StoreError::Duplicate)
        ));
        let claimed = s.claim_outbox(10).await.unwrap();
        assert_eq!(claimed.len(), 2, "both messages wait for delivery");
        assert!(claimed.iter().all(|(m, k)| k.as_ref().is_some_and(|k| k.subject_id == m.pending_id)));
        // Expired at 60: the unknown address's link goes with its key; the other stays.
        assert_eq!(s.sweep_portal(60, 10).await.unwrap(), 1);
        assert!(s.data_key(unknown.id).await.unwrap().is_none());
        assert!(s.take_portal_link(&[2; 32]).await.unwrap().is_none());
        assert_eq!(s.take_portal_link(&[1; 32]).await.unwrap(), Some(known.clone()));
        assert!(s.take_portal_link(&[1; 32]).await.unwrap().is_none(), "a link works once");
        assert!(s.data_key(known.id).await.unwrap().is_none(), "its key went with it");
        assert_eq!(s.sweep_portal(1_000, 10).await.unwrap(), 0);
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_sessions_live_until_they_expire_or_end_and_erasure_takes_them() {
    for engine in engines().await {
        let s = &engine.store;
        let person = Uuid::new_v4();
        s.insert(contact(person, 1), Some(key(person, "k1"))).await.unwrap();
        let session = PortalSessionRow { token_hash: vec![3; 32], contact_id: person, created_at: 1, expires_at: 100 };
        s.add_portal_session(&session).await.unwrap();
        assert_eq!(s.portal_session(&[3; 32], 99).await.unwrap(), Some(session.clone()));
        assert!(s.portal_session(&[3; 32], 100).await.unwrap().is_none(), "expired at its time");
        assert!(s.portal_session(&[4; 32], 50).await.unwrap().is_none());
        assert!(s.end_portal_session(&[3; 32]).await.unwrap());
        assert!(!s.end_portal_session(&[3; 32]).await.unwrap());
        // Erasing the person ends their sessions and voids their links.
        s.add_portal_session(&session).await.unwrap();
        let pending = link(Some(person), 5, 1_000);
        s.add_portal_link(&pending, key(pending.id, "k1"), &message(&pending)).await.unwrap();
        let ordered = request("erasure", "in_progress", Some(person), 100);
        s.insert_dsr(&ordered, &key(ordered.id, "k1")).await.unwrap();
        let order = ErasureOrder {
            request_id: ordered.id,
            contact_id: person,
            suppressions: Vec::new(),
            notifications: Vec::new(),
            at: 10,
        };
        let sign = |counts: &ErasureCounts| format!("signed {counts:?}");
        assert!(matches!(s.erase_person(&order, &sign).await.unwrap(), Erased::Done { .. }));
        assert!(s.portal_session(&[3; 32], 50).await.unwrap().is_none());
        assert!(s.take_portal_link(&[5; 32]).await.unwrap().is_none());
        assert!(s.data_key(pending.id).await.unwrap().is_none());
        assert!(s.claim_outbox(10).await.unwrap().is_empty(), "the link's message went too");
        engine.cleanup().await;
    }
}
