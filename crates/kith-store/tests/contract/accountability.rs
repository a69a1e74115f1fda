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
