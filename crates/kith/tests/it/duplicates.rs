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
