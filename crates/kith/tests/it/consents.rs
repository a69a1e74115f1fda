//! Privacy notices and the consent ledger: append-only, the current state
//! derived from it, evidence sealed under the person's key, every change
//! audited.

use crate::harness::{assert_problem, backends, send_as, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_ledger_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (dpo, row) = kith_server::auth::new_token("dpo", "dpo", kith_server::now_millis(), None);
        s.store.insert_token(&row).await.unwrap();

        // Notices: versions with their text and hash, added once.
        let notice = json!({"version": "2026-11", "text": "We use your e-mail address to send offers."});
        assert_eq!(s.post("/api/v1/notices", &notice).await.0, StatusCode::FORBIDDEN, "sales may not add notices");
        let (status, added) = send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        assert_eq!(added["sha256"].as_str().unwrap().len(), 64);
        assert_problem(&send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await, 409, "conflict");
        let (_, notices) = s.get("/api/v1/notices").await;
        assert_eq!(notices["items"][0]["text"], notice["text"]);

        let id = s.create("contacts", json!({"given_name": "Consenting", "emails": ["c@example.org"]})).await;
        let path = format!("/api/v1/contacts/{id}/consents");
        let (status, empty) = s.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{empty}");
        assert_eq!(empty, json!({"ledger": [], "current": {}, "intact": true}));

        let marker = format!("Mk{}", uuid::Uuid::new_v4().simple());
        let given = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "2026-11",
                           "method": "web_form", "source": "newsletter form",
                           "evidence": {"client_address": "203.0.113.9", "user_agent": marker}});
        let (status, entry) = s.post(&path, &given).await;
        assert_eq!(status, StatusCode::CREATED, "{entry}");
        assert_eq!(entry["evidence"]["user_agent"], marker.as_str());
        assert_eq!(entry["recorded_by"], "tester");
        let withdrawal = json!({"purpose": "marketing.communications.email", "granted": false, "notice_version": "2026-11", "method": "api"});
        assert_eq!(s.post(&path, &withdrawal).await.0, StatusCode::CREATED, "withdrawal is one call");
        let (_, state) = s.get(&path).await;
        assert_eq!(state["ledger"].as_array().unwrap().len(), 2, "the ledger keeps both");
        assert_eq!(state["current"]["marketing.communications.email"]["granted"], false);
        assert!(
            state["ledger"][0].get("evidence").is_none() && !state.to_string().contains(&marker),
            "sales sees no proof"
        );
        let (_, state) = send_as(&s, &dpo, Method::GET, &path, None).await;
        assert_eq!(state["ledger"][0]["source"], "newsletter form", "the DPO sees the proof");
        assert_eq!(state["ledger"][0]["evidence"]["user_agent"], marker.as_str());

        for (body, status, code) in [
            (
                json!({"purpose": "marketing.mind_reading", "granted": true, "notice_version": "2026-11", "method": "api"}),
                422,
                "unknown_reference",
            ),
            (
                json!({"purpose": "sales", "granted": true, "notice_version": "1999", "method": "api"}),
                422,
                "unknown_reference",
            ),
            (
                json!({"purpose": "sales", "granted": true, "notice_version": "2026-11", "method": "telepathy"}),
                422,
                "invalid_value",
            ),
            (
                json!({"purpose": "sales", "granted": "yes", "notice_version": "2026-11", "method": "api"}),
                422,
                "invalid_type",
            ),
            (
                json!({"purpose": "sales", "granted": true, "notice_version": "2026-11", "method": "api", "when": "now"}),
                422,
                "unknown_field",
            ),
        ] {
            assert_problem(&s.post(&path, &body).await, status, code);
        }
        assert_problem(
            &s.post("/api/v1/contacts/00000000-0000-4000-8000-000000000000/consents", &withdrawal).await,
            404,
            "not_found",
        );
        for method in [Method::PUT, Method::PATCH, Method::DELETE] {
            assert_problem(&s.send(method, &path, Some(&given)).await, 405, "method_not_allowed");
        }
        let (_, state) = s.get(&path).await;
        assert_eq!(state["ledger"].as_array().unwrap().len(), 2, "refused entries wrote nothing");

        // Evidence is sealed: the marker is nowhere in the database in clear.
        if db.url.is_none() {
            for file in ["kith.db", "kith.db-wal"] {
                let bytes = std::fs::read(db.data_dir().join(file)).unwrap_or_default();
                assert!(!bytes.windows(marker.len()).any(|w| w == marker.as_bytes()), "{file}");
            }
        }
        // Every change is audited against the person.
        let (_, log) =
            send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={id}&action=consent_change"), None).await;
        assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");
        assert!(!log.to_string().contains(&marker));
        // The ledger goes with the person.
        assert_eq!(s.delete(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::NO_CONTENT);
        assert_problem(&s.get(&path).await, 404, "not_found");
        s.stop().await;
        db.cleanup().await;
    }
}

/// Restriction, objection and consent decide what each purpose may see:
/// a single read is refused with a code naming the reason, lists leave the
/// person out, and the DPO's view is not stopped by restriction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restriction_objection_and_consent_are_enforced_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let mut tokens = std::collections::HashMap::new();
        for role in ["dpo", "marketing", "support"] {
            let (token, row) = kith_server::auth::new_token(role, role, kith_server::now_millis(), None);
            s.store.insert_token(&row).await.unwrap();
            tokens.insert(role, token);
        }
        let (status, _) = send_as(
            &s,
            &tokens["dpo"],
            Method::POST,
            "/api/v1/notices",
            Some(&json!({"version": "1", "text": "Notice"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let anna = s.create("contacts", json!({"given_name": "Anna", "tags": ["t"]})).await;
        let ben = s.create("contacts", json!({"given_name": "Ben", "tags": ["t"]})).await;
        let call = s
            .create("interactions", json!({"contact_id": anna, "kind": "call", "occurred_at": "2026-01-01T00:00:00Z"}))
            .await;
        let listed = |token: &str, path: &str| {
            let (s, token, path) = (&s, token.to_string(), path.to_string());
            async move {
                let (status, page) = send_as(s, &token, Method::GET, &path, None).await;
                assert_eq!(status, StatusCode::OK, "{page}");
                let mut ids: Vec<String> =
                    page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
                ids.sort();
                ids
            }
        };
        let both = {
            let mut v = vec![anna.clone(), ben.clone()];
            v.sort();
            v
        };

        // Marketing (consent basis) sees nobody until someone consents.
        assert!(listed(&tokens["marketing"], "/api/v1/contacts?tag=t").await.is_empty());
        assert_problem(
            &send_as(&s, &tokens["marketing"], Method::GET, &format!("/api/v1/contacts/{anna}"), None).await,
            403,
            "no_consent",
        );
        let consent = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "1", "method": "api"});
        assert_eq!(s.post(&format!("/api/v1/contacts/{anna}/consents"), &consent).await.0, StatusCode::CREATED);
        assert_eq!(listed(&tokens["marketing"], "/api/v1/contacts?tag=t").await, vec![anna.clone()]);
        // Withdrawal takes effect on the next request.
        let withdraw = json!({"purpose": "marketing.communications.email", "granted": false, "notice_version": "1", "method": "api"});
        assert_eq!(s.post(&format!("/api/v1/contacts/{anna}/consents"), &withdraw).await.0, StatusCode::CREATED);
        assert!(listed(&tokens["marketing"], "/api/v1/contacts?tag=t").await.is_empty());
        // Consent again, then an objection to direct marketing: absolute.
        assert_eq!(s.post(&format!("/api/v1/contacts/{anna}/consents"), &consent).await.0, StatusCode::CREATED);
        let (status, objection) =
            s.post(&format!("/api/v1/contacts/{anna}/objections"), &json!({"purpose": "marketing"})).await;
        assert_eq!(status, StatusCode::CREATED, "{objection}");
        assert_eq!(objection["absolute"], true);
        assert_problem(
            &send_as(&s, &tokens["marketing"], Method::GET, &format!("/api/v1/contacts/{anna}"), None).await,
            403,
            "objected_purpose",
        );
        assert!(listed(&tokens["marketing"], "/api/v1/contacts?tag=t").await.is_empty());
        // Sales (legitimate interests) still sees both: the objection was to marketing.
        assert_eq!(listed(&s.token, "/api/v1/contacts?tag=t").await, both);

        // Restriction: only stored. Every purpose refuses, the DPO still sees.
        assert_eq!(
            s.post(&format!("/api/v1/contacts/{ben}/restriction"), &json!({})).await.0,
            StatusCode::FORBIDDEN,
            "sales may not restrict"
        );
        let (status, _) =
            send_as(&s, &tokens["dpo"], Method::POST, &format!("/api/v1/contacts/{ben}/restriction"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_problem(&s.get(&format!("/api/v1/contacts/{ben}")).await, 403, "processing_restricted");
        assert_eq!(listed(&s.token, "/api/v1/contacts?tag=t").await, vec![anna.clone()]);
        assert!(listed(&tokens["support"], "/api/v1/contacts?tag=t").await.iter().all(|id| *id != ben));
        let (status, _) = send_as(&s, &tokens["dpo"], Method::GET, &format!("/api/v1/contacts/{ben}"), None).await;
        assert_eq!(status, StatusCode::OK, "the DPO's own view");
        // A person's interactions follow the person.
        let (status, _) =
            send_as(&s, &tokens["marketing"], Method::GET, &format!("/api/v1/interactions/{call}"), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) =
            send_as(&s, &tokens["dpo"], Method::DELETE, &format!("/api/v1/contacts/{ben}/restriction"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(listed(&s.token, "/api/v1/contacts?tag=t").await, both);

        // A named purpose must be in the catalogue.
        let resp = s
            .client
            .get(s.url("/api/v1/contacts"))
            .bearer_auth(&s.token)
            .header("kith-purpose", "functional.storage")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_problem(
            &s.post(&format!("/api/v1/contacts/{anna}/objections"), &json!({"purpose": "nonsense"})).await,
            422,
            "invalid_value",
        );
        s.stop().await;
        db.cleanup().await;
    }
}
