//! Data Rights Protocol agents, tokens, requests and callbacks.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drp_agents_tokens_requests_and_callbacks() {
    for engine in engines().await {
        let s = &engine.store;
        let agent = DrpAgentRow {
            agent_id: "agent-a".into(),
            name: "Agent".into(),
            verify_key: vec![1; 32],
            created_by: "dpo".into(),
            created_at: 1,
            callback_hosts: vec!["agent.example".into(), "127.0.0.1".into()],
        };
        s.insert_drp_agent(&agent).await.unwrap();
        assert_eq!(s.drp_agent("agent-a").await.unwrap(), Some(agent.clone()), "callback hosts round-trip");
        s.insert_drp_token(&[7; 32], "agent-a", 2).await.unwrap();
        assert_eq!(s.drp_token_agent(&[7; 32]).await.unwrap().as_deref(), Some("agent-a"));
        let request = DrpRequestRow {
            id: Uuid::new_v4(),
            agent_id: "agent-a".into(),
            agent_request_id: "r-1".into(),
            exercise: "sale:opt-out".into(),
            dsr_id: None,
            status: "open".into(),
            reason: None,
            status_callback: Some("https://agent.example/cb".into()),
            received_at: 3,
            expected_by: 4,
        };
        s.insert_drp_request(&request).await.unwrap();
        assert!(s.set_drp_request_status(request.id, "revoked", Some("gone")).await.unwrap());
        s.record_drp_callback(request.id, "revoked", 5, "http_503").await.unwrap();
        s.record_drp_callback(request.id, "revoked", 6, "delivered").await.unwrap();
        assert_eq!(
            s.drp_callbacks(request.id).await.unwrap(),
            vec![("revoked".to_string(), "http_503".to_string()), ("revoked".to_string(), "delivered".to_string())]
        );
        // Removing the agent ends its tokens; its requests stay.
        assert!(s.delete_drp_agent("agent-a").await.unwrap());
        assert!(s.drp_token_agent(&[7; 32]).await.unwrap().is_none());
        assert_eq!(s.drp_request(request.id).await.unwrap().map(|r| r.status), Some("revoked".to_string()));
        engine.cleanup().await;
    }
}
