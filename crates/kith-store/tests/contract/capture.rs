//! Public capture: pending submissions and their messages.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_submission_is_taken_once_with_its_key() {
    for engine in engines().await {
        let s = &engine.store;
        let notice = NoticeRow { version: "1".into(), text: "Notice".into(), sha256: "0".repeat(64), created_at: 0 };
        s.add_notice(&notice).await.unwrap();
        let form = FormRow {
            key: "newsletter".into(),
            name: "Newsletter".into(),
            purposes: vec!["marketing.communications.email".into()],
            notice_version: "1".into(),
            source: None,
            created_at: 1,
            created_by: "admin".into(),
            disabled_at: None,
        };
        s.add_form(&form).await.unwrap();
        assert!(matches!(s.add_form(&form).await, Err(StoreError::Duplicate)));
        let id = Uuid::new_v4();
        let pending = PendingRow {
            id,
            form_key: "newsletter".into(),
            token_hash: vec![6; 32],
            submitted_at: 1,
            expires_at: 100,
            sealed: vec![1],
        };
        let message = OutboxRow { id: Uuid::new_v4(), pending_id: id, created_at: 1, sealed: vec![2] };
        s.add_pending(&pending, key(id, "k1"), &message).await.unwrap();
        let claimed = s.claim_outbox(10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(s.claim_outbox(10).await.unwrap().is_empty(), "a message is handed out once");
        let (taken, taken_key) = s.take_pending(&[6; 32]).await.unwrap().expect("taken");
        assert_eq!((taken, taken_key), (pending, Some(key(id, "k1"))));
        assert!(s.take_pending(&[6; 32]).await.unwrap().is_none(), "a token works once");
        assert!(s.disable_form("newsletter", 5).await.unwrap());
        assert_eq!(s.form("newsletter").await.unwrap().and_then(|f| f.disabled_at), Some(5));
        engine.cleanup().await;
    }
}
