//! Analytics: revenue, the funnel, cohorts and interactions per owner,
//! over the people the request's purpose allows, small cells as "<5",
//! each report audited as an aggregate read.

use crate::harness::{assert_problem, backends, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn purchase(s: &Server, person: &str, currency: &str, at: &str, price: &str) {
    let body = json!({"contact_id": person, "purchased_at": at, "currency": currency,
                      "lines": [{"sku": "A", "quantity": "2", "unit_price": price}]});
    s.create("purchases", body).await;
}

async fn report(s: &Server, token: &str, path: &str) -> Value {
    let (status, answer) = send_as(s, token, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_count_whom_the_purpose_allows_and_hide_small_cells_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let mut people = Vec::new();
        for i in 0..8 {
            people.push(s.create("contacts", json!({"given_name": format!("Buyer{i}")})).await);
        }
        // Seven buy in euros in January (one of them is restricted, one objects to sales); two in dollars.
        for person in &people[..7] {
            purchase(&s, person, "EUR", "2026-01-10T10:00:00Z", "10.50").await;
        }
        for person in &people[..2] {
            purchase(&s, person, "EUR", "2026-02-03T10:00:00Z", "1").await;
            purchase(&s, person, "USD", "2026-01-11T10:00:00Z", "99").await;
        }
        // Deals: six leads and two won, an interaction each by this tester, one by the DPO,
        // all before the restriction, which stops new records about the person.
        for person in &people[..6] {
            s.create(
                "deals",
                json!({"title": "Lead", "contact_id": person, "stage": "lead", "amount": "100", "currency": "EUR"}),
            )
            .await;
        }
        for person in &people[..2] {
            s.create("deals", json!({"title": "Won", "contact_id": person, "stage": "won"})).await;
        }
        for person in &people[..6] {
            s.create(
                "interactions",
                json!({"contact_id": person, "kind": "call", "occurred_at": "2026-03-01T10:00:00Z"}),
            )
            .await;
        }
        let path = "/api/v1/interactions";
        let body = json!({"contact_id": people[0], "kind": "email", "occurred_at": "2026-03-02T10:00:00Z"});
        assert_eq!(send_as(&s, &dpo, Method::POST, path, Some(&body)).await.0, StatusCode::CREATED);
        let restricted = &people[5];
        let path = format!("/api/v1/contacts/{restricted}/restriction");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, None).await.0, StatusCode::OK);
        let objecting = &people[6];
        let path = format!("/api/v1/contacts/{objecting}/objections");
        let (status, objected) = send_as(&s, &dpo, Method::POST, &path, Some(&json!({"purpose": "sales"}))).await;
        assert!(status.is_success(), "{objected}");

        let sales = token_for(&s, "sales").await;
        let revenue = report(&s, &sales, "/api/v1/analytics/revenue").await;
        assert_eq!((revenue["purpose"].as_str(), revenue["people"].as_u64()), (Some("sales"), Some(5)), "{revenue}");
        assert_eq!(revenue["min_people"], 5);
        let cells = revenue["cells"].as_array().unwrap();
        let january_eur = cells.iter().find(|c| c["month"] == "2026-01" && c["currency"] == "EUR").unwrap();
        assert_eq!(
            (january_eur["people"].clone(), january_eur["purchases"].clone(), january_eur["revenue"].clone()),
            (json!(5), json!(5), json!("105.00")),
            "the restricted and the objecting person are left out: {revenue}"
        );
        for small in cells.iter().filter(|c| c["currency"] == "USD" || c["month"] == "2026-02") {
            assert_eq!((small["people"].as_str(), small["revenue"].as_str()), (Some("<5"), Some("<5")), "{small}");
        }
        let cohorts = report(&s, &sales, "/api/v1/analytics/cohorts").await;
        let january = &cohorts["cohorts"][0];
        assert_eq!((january["cohort"].as_str(), january["people"].as_u64()), (Some("2026-01"), Some(5)), "{cohorts}");
        assert_eq!((january["returned"].as_str(), january["repeat_rate"].as_str()), (Some("<5"), Some("<5")));
        // A window leaves February out.
        let window =
            report(&s, &sales, "/api/v1/analytics/revenue?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z").await;
        assert!(window["cells"].as_array().unwrap().iter().all(|c| c["month"] == "2026-01"), "{window}");

        let funnel = report(&s, &sales, "/api/v1/analytics/funnel").await;
        let lead = &funnel["stages"][0];
        assert_eq!(
            (lead["stage"].as_str(), lead["deals"].as_u64(), lead["people"].as_u64()),
            (Some("lead"), Some(5), Some(5)),
            "{funnel}"
        );
        assert_eq!(lead["amounts"]["EUR"], "500.00");
        assert_eq!(funnel["stages"][4]["deals"], "<5");
        assert_eq!(funnel["win_rate"], "<5");
        let owners = report(&s, &dpo, "/api/v1/analytics/interactions").await;
        let rows = owners["owners"].as_array().unwrap();
        assert_eq!(
            (rows[0]["owner"].as_str(), rows[0]["interactions"].as_u64()),
            (Some("tester"), Some(5)),
            "{owners}"
        );
        assert_eq!(rows[1]["interactions"], "<5", "{owners}");

        // Marketing's purpose rests on consent, which nobody gave.
        let marketing = token_for(&s, "marketing").await;
        let revenue = report(&s, &marketing, "/api/v1/analytics/revenue").await;
        assert_eq!((revenue["people"].as_u64(), revenue["cells"].as_array().unwrap().len()), (Some(0), 0));

        // Refusals and bad windows.
        let auditor = token_for(&s, "auditor").await;
        assert_problem(&send_as(&s, &auditor, Method::GET, "/api/v1/analytics/revenue", None).await, 403, "forbidden");
        assert_problem(&send_as(&s, &marketing, Method::GET, "/api/v1/analytics/funnel", None).await, 403, "forbidden");
        for bad in ["?from=yesterday", "?to=2026-01-01T00:00:00Z&from=2026-02-01T00:00:00Z", "?group=month"] {
            let path = format!("/api/v1/analytics/revenue{bad}");
            assert_problem(&send_as(&s, &sales, Method::GET, &path, None).await, 400, "invalid_query");
        }

        // Each report is one aggregate read in the audit log, naming no person.
        let (_, log) = send_as(&s, &dpo, Method::GET, "/api/v1/audit?limit=1000", None).await;
        let reads: Vec<&Value> =
            log["items"].as_array().unwrap().iter().filter(|e| e["entity"] == "analytics").collect();
        assert!(reads.len() >= 6, "{reads:?}");
        assert!(reads.iter().all(|e| e["subject_id"].is_null() && e["fields"][0] == "aggregate"), "{reads:?}");
        s.stop().await;
        db.cleanup().await;
    }
}
