//! Retention on a clock the test controls (`--at`): the plan counts and
//! changes nothing; the run erases the people whose purposes and
//! categories have all run (key, receipt, ledger, no suppression), deletes
//! records of a category past its own period while their person stays,
//! and holds both for a person with an exception to erasure.

use crate::harness::{backends, run_kith_async, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn retention(db: &TestDb, step: &str, at: &str) -> String {
    let mut args =
        vec!["retention".to_string(), step.into(), "--data-dir".into(), db.data_dir().to_str().unwrap().into()];
    args.extend(db.url_args());
    args.extend(["--at".to_string(), at.into()]);
    let (ok, out, err) = run_kith_async(args).await;
    assert!(ok, "kith retention {step}: {out}{err}");
    out
}

/// RFC 3339 for `years` from now.
fn years_ahead(years: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(365 * years);
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_erases_whom_no_purpose_or_category_keeps_and_holds_the_held() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        // Interactions go after two years; purchases are kept ten (and keep their person).
        let toml_path = db.data_dir().join("kith.toml");
        let mut toml = std::fs::read_to_string(&toml_path).unwrap_or_default();
        toml.push_str("\n[retention]\ninteractions_days = 730\npurchases_days = 3650\n");
        std::fs::write(&toml_path, toml).unwrap();

        let gone = s.create("contacts", json!({"given_name": "Olena", "emails": ["olena@example.org"]})).await;
        let taxed = s.create("contacts", json!({"given_name": "Taras"})).await;
        let held = s.create("contacts", json!({"given_name": "Mariam"})).await;
        let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
        let interaction = s
            .create(
                "interactions",
                json!({"contact_id": taxed, "kind": "call", "occurred_at": now, "subject": "Quote"}),
            )
            .await;
        let purchase = json!({"contact_id": taxed, "purchased_at": now, "currency": "EUR",
            "lines": [{"sku": "S1", "description": "Chair", "quantity": 1, "unit_price": "5"}]});
        let purchase = s.create("purchases", purchase).await;
        let dpo = token_for(&s, "dpo").await;
        // The rules and the plan now, for the DPO alone: everyone is kept today.
        let (status, overview) = send_as(&s, &dpo, Method::GET, "/api/v1/retention", None).await;
        assert_eq!(status, StatusCode::OK, "{overview}");
        assert_eq!(
            (overview["plan"]["people_due"].as_u64(), overview["plan"]["people_kept"].as_u64()),
            (Some(0), Some(3))
        );
        assert!(overview["purposes"].as_array().unwrap().iter().any(|p| p["retention_days"] == 2555), "{overview}");
        assert_eq!(s.get("/api/v1/retention").await.0, StatusCode::FORBIDDEN, "not for sales");
        let hold = json!({"ground": "legal_claims", "note": "pending litigation"});
        let path = format!("/api/v1/contacts/{held}/erasure-exceptions");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, Some(&hold)).await.0, StatusCode::CREATED);
        s.stop().await;

        // In a year nothing has run; in eight, service delivery's seven years have.
        let soon = retention(&db, "plan", &years_ahead(1)).await;
        assert!(soon.contains("0 due for erasure") && soon.contains("interactions 0"), "{soon}");
        let later = retention(&db, "plan", &years_ahead(8)).await;
        assert!(later.contains("1 due for erasure") && later.contains("1 due but held"), "{later}");
        assert!(later.contains("interactions 1") && later.contains("purchases 0"), "{later}");
        assert!(!later.contains("Olena") && !later.contains("Quote"), "counts, no values: {later}");

        let ran = retention(&db, "run", &years_ahead(8)).await;
        assert!(ran.contains("erased 1 people") && ran.contains("1 held"), "{ran}");
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let get = |id: &str, kind: &str| format!("/api/v1/{kind}/{id}");
        assert_eq!(send_as(&s, &dpo, Method::GET, &get(&gone, "contacts"), None).await.0, StatusCode::NOT_FOUND);
        assert_eq!(send_as(&s, &dpo, Method::GET, &get(&taxed, "contacts"), None).await.0, StatusCode::OK);
        assert_eq!(
            send_as(&s, &dpo, Method::GET, &get(&interaction, "interactions"), None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(send_as(&s, &dpo, Method::GET, &get(&purchase, "purchases"), None).await.0, StatusCode::OK);
        assert_eq!(send_as(&s, &dpo, Method::GET, &get(&held, "contacts"), None).await.0, StatusCode::OK);
        // Not suppressed: they may come back as a customer.
        let back = json!({"given_name": "Olena", "emails": ["olena@example.org"]});
        assert_eq!(s.post("/api/v1/contacts", &back).await.0, StatusCode::CREATED);
        // Audited as retention's, with the counts; in the ledger, so no restore brings them back.
        let log = s
            .store
            .audit_query(&kith_store::AuditQuery {
                actor: Some("system:retention".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            log.iter().any(|e| e.subject_id.map(|x| x.to_string()) == Some(gone.clone())
                && e.fields.contains(&"reason:retention".to_string())),
            "{log:?}"
        );
        assert!(log
            .iter()
            .any(|e| e.entity.as_deref() == Some("retention") && e.fields.contains(&"erased:1".to_string())));
        let ledger = std::fs::read_to_string(db.data_dir().join("erasures.ledger")).unwrap();
        assert!(ledger.contains(&gone), "{ledger}");
        s.stop().await;
        // Twelve years on, the purchase's ten have run: Taras goes with it (and
        // so does Olena's new record, seven years past its last activity).
        let last = retention(&db, "run", &years_ahead(12)).await;
        assert!(last.contains("erased 2 people") && last.contains("1 held"), "{last}");
        db.cleanup().await;
    }
}
