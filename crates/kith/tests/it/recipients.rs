//! The register of recipients and the transfer guard: a key works only
//! while data may go to its recipient (inside the EEA, or on a valid
//! mechanism), and stops the moment that ends; what each person's data
//! went to is read back from the audit log.

use crate::harness::{assert_problem, backends, mailer_grant, register_mailer, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn register(s: &Server, dpo: &str, entry: Value) -> Value {
    let (status, made) = send_as(s, dpo, Method::POST, "/api/v1/recipients", Some(&entry)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

/// Issues a key to `recipient` and answers its secret.
async fn key_for(s: &Server, dpo: &str, recipient: &Value) -> String {
    let grant = mailer_grant(recipient["id"].as_str().unwrap());
    let (status, issued) = send_as(s, dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    issued["key"].as_str().unwrap().to_string()
}

async fn put(s: &Server, dpo: &str, recipient: &Value, entry: Value) -> Value {
    let path = format!("/api/v1/recipients/{}", recipient["id"].as_str().unwrap());
    let (status, changed) = send_as(s, dpo, Method::PUT, &path, Some(&entry)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    changed
}

fn today() -> String {
    kith_server::clock::rfc3339_millis(kith_server::now_millis())[..10].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_work_only_while_a_transfer_is_allowed_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let person = s.create("contacts", json!({"given_name": "Olena", "emails": ["olena@example.org"]})).await;
        let consent = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "1", "method": "api"});
        let path = format!("/api/v1/contacts/{person}/consents");
        assert_eq!(send_as(&s, &dpo, Method::POST, &path, Some(&consent)).await.0, StatusCode::CREATED);
        let read = format!("/api/v1/contacts/{person}");

        // Japan has an adequacy decision: the key works.
        let japan = register(
            &s,
            &dpo,
            json!({"name": "Tokyo Mail KK", "role": "processor", "country": "jp", "contract_reference": "DPA-JP",
                   "transfer_mechanism": "adequacy", "purposes": ["marketing.communications.email"]}),
        )
        .await;
        assert_eq!(japan["country"], "JP");
        assert_eq!(japan["transfer"]["allowed"], true, "{japan}");
        assert_eq!(japan["transfer"]["decision"], "(EU) 2019/419", "{japan}");
        let tokyo_key = key_for(&s, &dpo, &japan).await;
        assert_eq!(send_as(&s, &tokyo_key, Method::GET, &read, None).await.0, StatusCode::OK);

        // India without a mechanism: registered, but no key is issued.
        let india =
            register(&s, &dpo, json!({"name": "Pune Analytics", "role": "independent_controller", "country": "IN"}))
                .await;
        assert_eq!(
            (india["transfer"]["allowed"].clone(), india["transfer"]["refusal_code"].clone()),
            (json!(false), json!("no_transfer_mechanism")),
            "{india}"
        );
        let keys_before = s.store.api_keys().await.unwrap().len();
        let grant = mailer_grant(india["id"].as_str().unwrap());
        let refused = send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
        assert_problem(&refused, 403, "no_transfer_mechanism");
        assert_eq!(s.store.api_keys().await.unwrap().len(), keys_before, "no key was issued");
        let (_, report) = send_as(&s, &dpo, Method::GET, "/api/v1/doctor", None).await;
        let refused_finding = report["findings"].as_array().unwrap().iter().find(|f| f["check"] == "transfer_refused");
        assert!(refused_finding.unwrap()["problem"].as_str().unwrap().contains(india["id"].as_str().unwrap()));

        // On standard contractual clauses it may; removing them stops its key at once.
        let clauses = json!({"name": "Pune Analytics", "role": "independent_controller", "country": "IN",
                             "transfer_mechanism": "scc", "scc_module": 1, "purposes": ["marketing.communications.email"]});
        put(&s, &dpo, &india, clauses.clone()).await;
        let pune_key = key_for(&s, &dpo, &india).await;
        assert_eq!(send_as(&s, &pune_key, Method::GET, &read, None).await.0, StatusCode::OK);
        let without = json!({"name": "Pune Analytics", "role": "independent_controller", "country": "IN",
                             "purposes": ["marketing.communications.email"]});
        assert_eq!(put(&s, &dpo, &india, without).await["transfer"]["allowed"], false);
        assert_problem(&send_as(&s, &pune_key, Method::GET, &read, None).await, 403, "no_transfer_mechanism");
        let (_, log) = send_as(&s, &dpo, Method::GET, "/api/v1/audit?action=authenticate", None).await;
        assert!(log["items"].as_array().unwrap().iter().any(|e| e["outcome"] == "denied"), "{log}");

        // A mechanism that ends today stops it too.
        let mut ending = clauses.clone();
        ending["mechanism_expires_on"] = json!(today());
        assert_eq!(put(&s, &dpo, &india, ending).await["transfer"]["refusal_code"], "transfer_mechanism_expired");
        assert_problem(&send_as(&s, &pune_key, Method::GET, &read, None).await, 403, "transfer_mechanism_expired");
        put(&s, &dpo, &india, clauses.clone()).await;
        assert_eq!(send_as(&s, &pune_key, Method::GET, &read, None).await.0, StatusCode::OK);

        // Registered for other purposes now: its key may process for none of them.
        let mut elsewhere = clauses.clone();
        elsewhere["purposes"] = json!(["analytics.reporting"]);
        put(&s, &dpo, &india, elsewhere).await;
        assert_problem(&send_as(&s, &pune_key, Method::GET, &read, None).await, 403, "purpose_not_allowed");
        let off_purpose =
            send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&mailer_grant(india["id"].as_str().unwrap())))
                .await;
        assert_problem(&off_purpose, 422, "invalid_value");
        put(&s, &dpo, &india, clauses).await;
        assert_eq!(send_as(&s, &pune_key, Method::GET, &read, None).await.0, StatusCode::OK);

        // A sub-processor stops with the processor that engaged it.
        let engaged = register(
            &s,
            &dpo,
            json!({"name": "Pune Hosting", "role": "sub_processor", "country": "DE", "contract_reference": "SUB-1",
                   "processor_id": japan["id"], "purposes": ["marketing.communications.email"]}),
        )
        .await;
        let hosting_key = key_for(&s, &dpo, &engaged).await;
        assert_eq!(send_as(&s, &hosting_key, Method::GET, &read, None).await.0, StatusCode::OK);

        // A decision that ends (annulled, say) stops every transfer resting on it.
        let (_, list) = send_as(&s, &dpo, Method::GET, "/api/v1/adequacy", None).await;
        assert_eq!(list["source"], "shipped");
        let mut decisions = list["decisions"].clone();
        for d in decisions.as_array_mut().unwrap() {
            if d["country"] == "JP" {
                d["ends_on"] = json!(today());
            }
        }
        let (status, replaced) =
            send_as(&s, &dpo, Method::PUT, "/api/v1/adequacy", Some(&json!({"decisions": decisions}))).await;
        assert_eq!((status, replaced["source"].clone()), (StatusCode::OK, json!("operator")), "{replaced}");
        assert_problem(&send_as(&s, &tokyo_key, Method::GET, &read, None).await, 403, "no_transfer_mechanism");
        let (status, _) =
            send_as(&s, &dpo, Method::PUT, "/api/v1/adequacy", Some(&json!({"decisions": list["decisions"]}))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(send_as(&s, &tokyo_key, Method::GET, &read, None).await.0, StatusCode::OK);

        // Ending the relationship stops its keys; the entry stays, closed to change.
        let end = format!("/api/v1/recipients/{}", japan["id"].as_str().unwrap());
        assert_eq!(send_as(&s, &dpo, Method::DELETE, &end, None).await.0, StatusCode::NO_CONTENT);
        assert_problem(&send_as(&s, &tokyo_key, Method::GET, &read, None).await, 403, "recipient_ended");
        assert_problem(&send_as(&s, &hosting_key, Method::GET, &read, None).await, 403, "recipient_ended");
        let (_, ended) = send_as(&s, &dpo, Method::GET, &end, None).await;
        assert!(ended["ended_at"].is_string(), "{ended}");
        let again = send_as(
            &s,
            &dpo,
            Method::PUT,
            &end,
            Some(&json!({"name": "Tokyo", "role": "processor",
            "country": "JP", "contract_reference": "x"})),
        )
        .await;
        assert_problem(&again, 409, "invalid_transition");
        assert_problem(&send_as(&s, &dpo, Method::DELETE, &end, None).await, 404, "not_found");

        // Who received the person's data: both recipients, from the audit log.
        let (status, got) = send_as(&s, &dpo, Method::GET, &format!("{read}/recipients"), None).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        let names: Vec<&str> =
            got["items"].as_array().unwrap().iter().map(|d| d["recipient"].as_str().unwrap()).collect();
        assert_eq!(names, ["Pune Analytics", "Pune Hosting", "Tokyo Mail KK"], "{got}");
        let categories = &got["items"][0]["categories"];
        assert_eq!(categories, &json!(["contact_details", "identity"]), "{got}");
        let other = s.create("contacts", json!({"given_name": "Unread"})).await;
        let (_, none) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{other}/recipients"), None).await;
        assert_eq!(none["items"], json!([]), "{none}");

        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_entry_changes_nothing_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let mailer = register_mailer(&s, &dpo).await;
        let base = json!({"name": "Acme Cloud", "role": "processor", "country": "US", "contract_reference": "DPA-9",
                          "transfer_mechanism": "dpf"});
        for (change, status, code) in [
            (json!({"country": "XX"}), 422, "invalid_value"),
            (json!({"country": 49}), 422, "invalid_type"),
            (json!({"country": "IN", "transfer_mechanism": "derogation"}), 422, "missing_field"),
            (json!({"country": "IN", "transfer_mechanism": "scc", "scc_module": 7}), 422, "invalid_value"),
            (json!({"country": "DE"}), 422, "invalid_value"),
            (json!({"contract_reference": null}), 422, "missing_field"),
            (json!({"role": "sub_processor"}), 422, "missing_field"),
            (json!({"role": "sub_processor", "processor_id": uuid::Uuid::new_v4()}), 422, "unknown_reference"),
            (json!({"purposes": ["marketing.mind_reading"]}), 422, "unknown_reference"),
            (json!({"data_categories": ["user.secrets"]}), 422, "invalid_value"),
            (json!({"contract_date": "yesterday"}), 422, "invalid_date"),
            (json!({"name": "'; DROP TABLE recipients; --\u{0}"}), 422, "invalid_value"),
            (json!({"owner": "me"}), 422, "unknown_field"),
        ] {
            let mut entry = base.clone();
            entry.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            let answer = send_as(&s, &dpo, Method::POST, "/api/v1/recipients", Some(&entry)).await;
            assert_problem(&answer, status, code);
        }
        let raw = s
            .client
            .post(s.url("/api/v1/recipients"))
            .bearer_auth(&dpo)
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
        // A derogation with its ground, a sub-processor under a processor: fine.
        let mut derogation = base.clone();
        derogation["country"] = json!("IN");
        derogation["transfer_mechanism"] = json!("derogation");
        derogation["derogation_ground"] = json!("explicit_consent");
        derogation["role"] = json!("sub_processor");
        derogation["processor_id"] = json!(mailer);
        let made = register(&s, &dpo, derogation).await;
        assert_eq!(made["transfer"]["basis"], "derogation", "{made}");
        // Others may read, only the DPO writes.
        for role in ["admin", "auditor"] {
            let token = token_for(&s, role).await;
            assert_eq!(send_as(&s, &token, Method::GET, "/api/v1/recipients", None).await.0, StatusCode::OK);
            let refused = send_as(&s, &token, Method::POST, "/api/v1/recipients", Some(&base)).await;
            assert_problem(&refused, 403, "forbidden");
        }
        let sales = token_for(&s, "sales").await;
        assert_problem(&send_as(&s, &sales, Method::GET, "/api/v1/recipients", None).await, 403, "forbidden");
        let bad_list =
            json!({"decisions": [{"country": "ZZ", "name": "Nowhere", "decision": "x", "adopted_on": "2020-01-01"}]});
        assert_problem(
            &send_as(&s, &dpo, Method::PUT, "/api/v1/adequacy", Some(&bad_list)).await,
            422,
            "invalid_value",
        );
        let (_, list) = send_as(&s, &dpo, Method::GET, "/api/v1/adequacy", None).await;
        assert_eq!(list["source"], "shipped", "a refused list changes nothing");
        let (_, all) = send_as(&s, &dpo, Method::GET, "/api/v1/recipients", None).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 2, "only the good entries: {all}");
        s.stop().await;
        db.cleanup().await;
    }
}
