//! Likely duplicates: found through the blind index, judged on the
//! opened records, only among the people the caller may see for the purpose.

use crate::harness::{assert_problem, backends, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn pair_of(items: &[Value], a: &str, b: &str) -> Option<Vec<String>> {
    items.iter().find_map(|p| {
        let ids: Vec<&str> = p["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        (ids.contains(&a) && ids.contains(&b))
            .then(|| p["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likely_duplicates_by_address_number_and_name_at_a_company_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let acme = s.create("companies", json!({"name": "Acme"})).await;
        let c = |body: Value| {
            let s = &s;
            async move { s.create("contacts", body).await }
        };
        let olena = c(json!({"given_name": "Olena", "family_name": "Kovalenko", "emails": ["olena@example.org"], "tags": ["common"], "company_id": acme})).await;
        let olena_again = c(json!({"given_name": "O.", "emails": ["OLENA@example.org"], "tags": ["common"]})).await;
        let phone_a = c(json!({"given_name": "Ivan", "phones": ["+380501112233"], "tags": ["common"]})).await;
        let phone_b = c(json!({"given_name": "Ivan P.", "phones": ["+380 50 111 22 33"], "tags": ["common"]})).await;
        let named =
            c(json!({"given_name": "olena", "family_name": "KOVALENKO", "company_id": acme, "tags": ["common"]})).await;
        let namesake = c(json!({"given_name": "Olena", "family_name": "Kovalenko", "tags": ["common"]})).await;
        let restricted = c(json!({"given_name": "Rest", "emails": ["rest@example.org"]})).await;
        let restricted_twin = c(json!({"given_name": "Rest", "emails": ["rest@example.org"]})).await;
        let path = format!("/api/v1/contacts/{restricted}/restriction");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, None).await.0, StatusCode::OK);

        let sales = token_for(&s, "sales").await;
        let (status, found) = send_as(&s, &sales, Method::GET, "/api/v1/contacts/duplicates", None).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let items = found["items"].as_array().unwrap();
        assert_eq!(pair_of(items, &olena, &olena_again), Some(vec!["same_email".to_string()]), "{found}");
        assert_eq!(pair_of(items, &phone_a, &phone_b), Some(vec!["same_phone".to_string()]));
        assert_eq!(pair_of(items, &olena, &named), Some(vec!["same_name_and_company".to_string()]));
        assert_eq!(pair_of(items, &olena, &namesake), None, "a name without the company is not enough");
        assert_eq!(pair_of(items, &phone_a, &olena), None, "a shared tag is not a likeness");
        assert_eq!(pair_of(items, &restricted, &restricted_twin), None, "a restricted person is not proposed");
        assert_eq!(items.len(), 3, "{found}");
        // Each contact shown was a read in the audit log.
        let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={olena_again}"), None).await;
        assert!(log["items"].as_array().unwrap().iter().any(|e| e["action"] == "read"), "{log}");

        let auditor = token_for(&s, "auditor").await;
        assert_problem(
            &send_as(&s, &auditor, Method::GET, "/api/v1/contacts/duplicates", None).await,
            403,
            "forbidden",
        );
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_keeps_one_key_moves_records_and_both_consent_histories_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let a = s
            .create(
                "contacts",
                json!({"given_name": "Olena", "emails": ["a@example.org"], "tags": ["vip"], "notes": "First"}),
            )
            .await;
        let b = s
            .create(
                "contacts",
                json!({"given_name": "O.", "family_name": "Kovalenko", "emails": ["b@example.org"],
                       "phones": ["+380441234567"], "notes": "Second", "birthday": "1990-04-12"}),
            )
            .await;
        let consent = |person: &str, granted: bool, source: &str| {
            let (s, dpo, person, source) = (&s, dpo.clone(), person.to_string(), source.to_string());
            async move {
                let body = json!({"purpose": "marketing.communications.email", "granted": granted, "notice_version": "1",
                                  "method": "web_form", "source": source});
                let path = format!("/api/v1/contacts/{person}/consents");
                assert_eq!(send_as(s, &dpo, Method::POST, &path, Some(&body)).await.0, StatusCode::CREATED);
            }
        };
        consent(&a, true, "form A").await;
        consent(&b, true, "form B").await;
        consent(&b, false, "unsubscribe B").await;
        s.create(
            "interactions",
            json!({"contact_id": b, "kind": "call", "occurred_at": "2026-03-01T10:00:00Z", "subject": "Call B"}),
        )
        .await;
        s.create(
            "purchases",
            json!({"contact_id": b, "purchased_at": "2026-03-02T10:00:00Z", "currency": "EUR",
                                     "lines": [{"sku": "A", "quantity": "1", "unit_price": "5"}]}),
        )
        .await;
        s.create("deals", json!({"title": "Deal B", "contact_id": b, "stage": "lead"})).await;

        // Refusals first: itself, nobody, support (no delete), a restricted person for sales.
        let merge = |token: &str, survivor: &str, other: Value| {
            let (s, token, path) = (&s, token.to_string(), format!("/api/v1/contacts/{survivor}/merge"));
            async move { send_as(s, &token, Method::POST, &path, Some(&json!({"other": other}))).await }
        };
        let sales = s.token.clone();
        assert_problem(&merge(&sales, &a, json!(a)).await, 422, "invalid_value");
        assert_problem(&merge(&sales, &a, json!(uuid::Uuid::new_v4())).await, 404, "not_found");
        assert_problem(&merge(&sales, &a, json!("not-an-id")).await, 422, "invalid_value");
        let support = token_for(&s, "support").await;
        assert_problem(&merge(&support, &a, json!(b)).await, 403, "forbidden");
        let held = s.create("contacts", json!({"given_name": "Held"})).await;
        let hold = json!({"ground": "legal_claims", "note": "court case"});
        let path = format!("/api/v1/contacts/{held}/erasure-exceptions");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, Some(&hold)).await.0, StatusCode::CREATED);
        assert_problem(&merge(&dpo, &a, json!(held)).await, 409, "erasure_exception");
        let path = format!("/api/v1/contacts/{b}/restriction");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, None).await.0, StatusCode::OK);
        assert_problem(&merge(&sales, &a, json!(b)).await, 403, "processing_restricted");

        // The DPO decides across the restriction.
        let (status, done) = merge(&dpo, &a, json!(b)).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!((done["moved_records"].as_u64(), done["consents"].as_u64()), (Some(3), Some(3)), "{done}");
        let c = &done["contact"];
        assert_eq!(c["emails"], json!(["a@example.org", "b@example.org"]));
        assert_eq!((c["given_name"].as_str(), c["family_name"].as_str()), (Some("Olena"), Some("Kovalenko")));
        assert_eq!((c["notes"].as_str(), c["birthday"].as_str()), (Some("First\n\nSecond"), Some("1990-04-12")));
        assert_eq!(c["phones"], json!(["+380441234567"]));
        let (status, _) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{b}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the absorbed contact is gone");
        let absorbed: uuid::Uuid = b.parse().unwrap();
        assert!(s.store.data_key(absorbed).await.unwrap().is_none(), "and its key with it");

        // Its records open under the survivor's key, about the survivor.
        for kind in ["interactions", "purchases", "deals"] {
            let (status, page) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/{kind}?contact_id={a}"), None).await;
            assert_eq!((status, page["items"].as_array().unwrap().len()), (StatusCode::OK, 1), "{kind}: {page}");
        }
        // Both consent histories, in time order, the last decision counting; the restriction came along.
        let (_, state) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{a}/consents"), None).await;
        let sources: Vec<&str> =
            state["ledger"].as_array().unwrap().iter().map(|e| e["source"].as_str().unwrap()).collect();
        assert_eq!(sources, ["form A", "form B", "unsubscribe B"], "{state}");
        assert_eq!(state["current"]["marketing.communications.email"]["granted"], false, "{state}");
        let (_, restriction) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{a}/restriction"), None).await;
        assert_eq!(restriction["restricted"], true, "{restriction}");

        // The audit log names both ids on both sides.
        let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={a}&limit=1000"), None).await;
        assert!(
            log["items"].as_array().unwrap().iter().any(|e| e["fields"].to_string().contains(&format!("merged:{b}"))),
            "{log}"
        );
        let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={b}&limit=1000"), None).await;
        assert!(
            log["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["fields"].to_string().contains(&format!("merged_into:{a}"))),
            "{log}"
        );
        s.stop().await;
        db.cleanup().await;
    }
}
