//! Tokens, roles and segments.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_and_segments_come_and_go() {
    for engine in engines().await {
        let s = &engine.store;
        let token = TokenRow {
            id: Uuid::new_v4(),
            name: "ci".into(),
            role: "sales".into(),
            token_hash: vec![4; 32],
            created_at: 1,
            expires_at: None,
            revoked_at: None,
        };
        s.insert_token(&token).await.unwrap();
        assert_eq!(s.token_by_hash(&[4; 32]).await.unwrap().map(|t| t.id), Some(token.id));
        assert!(s.revoke_token(token.id, 2).await.unwrap());
        assert!(!s.revoke_token(token.id, 3).await.unwrap(), "revoked once");
        assert_eq!(s.list_tokens().await.unwrap()[0].revoked_at, Some(2));

        assert!(s.put_role("reviewer", "{}", "admin", 1, false).await.unwrap());
        assert!(!s.put_role("reviewer", "{\"x\":1}", "admin", 2, false).await.unwrap(), "no silent replace");
        assert!(s.put_role("reviewer", "{\"x\":1}", "admin", 2, true).await.unwrap());
        assert_eq!(s.custom_role("reviewer").await.unwrap().as_deref(), Some("{\"x\":1}"));
        assert!(s.delete_role("reviewer").await.unwrap());
        assert!(s.custom_roles().await.unwrap().is_empty());

        let id = Uuid::new_v4();
        let segment = SegmentRow { id, created_by: "admin".into(), created_at: 1, sealed: vec![5] };
        s.insert_segment(&segment, &key(id, "k1")).await.unwrap();
        assert_eq!(s.segment(id).await.unwrap(), Some(segment.clone()));
        assert_eq!(s.segments().await.unwrap(), vec![segment]);
        assert!(s.delete_segment(id).await.unwrap());
        assert!(s.data_key(id).await.unwrap().is_none(), "its key went with it");
        assert!(!s.delete_segment(id).await.unwrap());
        engine.cleanup().await;
    }
}
