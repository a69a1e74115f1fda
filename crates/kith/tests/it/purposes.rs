//! The processing purposes catalogue: defaults from the fideslang taxonomy,
//! rules that explain themselves, edits for admin and DPO only, each audited.

use crate::harness::{assert_problem, backends, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (dpo, admin) = (token_for(&s, "dpo").await, token_for(&s, "admin").await);

        let (status, list) = s.get("/api/v1/purposes").await;
        assert_eq!(status, StatusCode::OK);
        let items = list["items"].as_array().unwrap();
        let keys: Vec<&str> = items.iter().map(|p| p["key"].as_str().unwrap()).collect();
        for key in [
            "essential.service",
            "sales",
            "marketing.communications.email",
            "analytics.reporting",
            "personalize.content.profiling",
        ] {
            assert!(keys.contains(&key), "{keys:?}");
        }
        let email = items.iter().find(|p| p["key"] == "marketing.communications.email").unwrap();
        assert_eq!(email["lawful_basis"], "consent");
        let sales = items.iter().find(|p| p["key"] == "sales").unwrap();
        assert_eq!(sales["lawful_basis"], "legitimate_interests");
        assert!(sales["balancing_note"].is_string());

        let sms = json!({"key": "marketing.communications.sms", "name": "SMS offers", "lawful_basis": "consent",
                         "data_categories": ["user.contact.phone_number", "user.name"], "retention_days": 365});
        assert_eq!(s.post("/api/v1/purposes", &sms).await.0, StatusCode::FORBIDDEN, "sales may not add purposes");
        let (status, created) = send_as(&s, &dpo, Method::POST, "/api/v1/purposes", Some(&sms)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["data_categories"], json!(["user.contact.phone_number", "user.name"]));
        assert_problem(&send_as(&s, &dpo, Method::POST, "/api/v1/purposes", Some(&sms)).await, 409, "conflict");

        let mut changed = sms.clone();
        changed["retention_days"] = json!(90);
        let (status, body) =
            send_as(&s, &admin, Method::PUT, "/api/v1/purposes/marketing.communications.sms", Some(&changed)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, list) = s.get("/api/v1/purposes").await;
        let stored = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == "marketing.communications.sms")
            .cloned()
            .unwrap();
        assert_eq!(stored["retention_days"], 90);
        assert_problem(
            &send_as(&s, &admin, Method::PUT, "/api/v1/purposes/sales", Some(&changed)).await,
            422,
            "invalid_value",
        );

        let with = |patch: Value| {
            let mut p = json!({"key": "functional.storage", "name": "Storage", "lawful_basis": "contract",
                               "data_categories": ["user.contact"], "retention_days": 30});
            for (k, v) in patch.as_object().unwrap() {
                p[k] = v.clone();
            }
            p
        };
        for (patch, status, code) in [
            (json!({"key": "marketing.mind_reading"}), 422, "invalid_value"),
            (json!({"lawful_basis": "because"}), 422, "invalid_value"),
            (json!({"lawful_basis": "legitimate_interests"}), 422, "missing_field"),
            (json!({"special_category": true}), 422, "missing_field"),
            (json!({"special_category_condition": "explicit_consent"}), 422, "invalid_value"),
            (json!({"data_categories": ["user.shoe_size"]}), 422, "invalid_value"),
            (json!({"data_categories": []}), 422, "missing_field"),
            (json!({"retention_days": 0}), 422, "invalid_value"),
            (json!({"retention_days": "forever"}), 422, "invalid_type"),
            (json!({"colour": "red"}), 422, "unknown_field"),
        ] {
            assert_problem(
                &send_as(&s, &dpo, Method::POST, "/api/v1/purposes", Some(&with(patch.clone()))).await,
                status,
                code,
            );
        }
        let (status, ok) = send_as(
            &s,
            &dpo,
            Method::POST,
            "/api/v1/purposes",
            Some(&with(json!({"special_category": true, "special_category_condition": "explicit_consent", "data_categories": ["user.health_and_medical"]}))),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{ok}");

        // Every change and the refused attempt are in the audit log.
        let (_, log) = send_as(&s, &dpo, Method::GET, "/api/v1/audit?action=config_change", None).await;
        let events: Vec<(String, String)> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["entity"] == "purposes")
            .map(|e| {
                (e["fields"][0].as_str().unwrap_or_default().to_string(), e["outcome"].as_str().unwrap().to_string())
            })
            .collect();
        // The refusal came before the body was read: it names no key.
        assert!(events.contains(&(String::new(), "denied".into())), "{events:?}");
        assert_eq!(events.iter().filter(|(_, o)| o == "ok").count(), 3, "{events:?}");
        s.stop().await;
        db.cleanup().await;
    }
}

/// A catalogue written before purposes named their roles gets the default
/// roles when the data directory is opened again; an edited purpose keeps its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_catalogue_gets_default_roles_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let mut sales: Value = serde_json::from_str(&s.store.purpose("sales").await.unwrap().unwrap()).unwrap();
        sales.as_object_mut().unwrap().remove("roles");
        s.store.put_purpose("sales", &sales.to_string(), kith_server::now_millis(), true).await.unwrap();
        let mut email: Value =
            serde_json::from_str(&s.store.purpose("marketing.communications.email").await.unwrap().unwrap()).unwrap();
        email["roles"] = json!(["marketing", "sales"]);
        s.store.put_purpose("marketing.communications.email", &email.to_string(), 0, true).await.unwrap();
        assert_problem(&s.get("/api/v1/contacts").await, 403, "purpose_not_allowed");
        s.stop().await;

        let s = Server::start(&db).await;
        assert_eq!(s.get("/api/v1/contacts").await.0, StatusCode::OK, "sales may use its purpose again");
        let stored = |key: &'static str| {
            let store = s.store.clone();
            async move { serde_json::from_str::<Value>(&store.purpose(key).await.unwrap().unwrap()).unwrap() }
        };
        assert_eq!(stored("sales").await["roles"], json!(["sales"]));
        assert_eq!(stored("marketing.communications.email").await["roles"], json!(["marketing", "sales"]));
        s.stop().await;
        db.cleanup().await;
    }
}
