//! The access model, route by route: every operation of the OpenAPI
//! document is called as every built-in role and as a third-party key, and
//! the outcome must be the one this table names. An operation without a
//! rule here fails the test, so a new route cannot slip in unjudged. Values
//! planted in fields a caller may not see must not appear in any answer.

mod grants;

use crate::harness::{backends, mailer_grant, register_mailer, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Who calls: the built-in roles and one API key.
const CALLERS: [&str; 7] = ["admin", "dpo", "sales", "support", "marketing", "auditor", "key"];

/// Markers planted in the fixture contact's fields, by field class.
const BIRTHDAY: &str = "1987-06-05";
const NOTE: &str = "NoteMarkerQ7";
const STREET: &str = "StreetMarkerZ3";
const CUSTOM: &str = "CustomMarkerK9";
const SUBJECT: &str = "SubjectMarkerW2";
const SKU: &str = "SkuMarkerP4";
const DEAL: &str = "DealMarkerV8";
const EVIDENCE: &str = "EvidenceMarkerE5";

/// The markers a caller must never see in any answer.
fn hidden_from(caller: &str) -> Vec<&'static str> {
    match caller {
        "dpo" => vec![],
        "sales" => vec![EVIDENCE],
        "support" => vec![BIRTHDAY, DEAL, EVIDENCE],
        // Marketing and the key: names and contact details only (and, for
        // marketing, purchases).
        "marketing" => vec![BIRTHDAY, NOTE, STREET, CUSTOM, SUBJECT, DEAL, EVIDENCE],
        _ => vec![BIRTHDAY, NOTE, STREET, CUSTOM, SUBJECT, SKU, DEAL, EVIDENCE],
    }
}

/// Who may call each operation; everyone else is refused (403, or 404 for
/// a record outside their scope).
fn rules() -> BTreeMap<&'static str, &'static str> {
    let people_readers = "dpo sales support marketing key";
    BTreeMap::from([
        ("list_contacts", people_readers),
        ("get_contacts", people_readers),
        ("create_contacts", "dpo sales marketing"),
        ("update_contacts", "dpo sales support"),
        ("delete_contacts", "dpo sales"),
        ("list_companies", "dpo sales support marketing"),
        ("get_companies", "dpo sales support marketing"),
        ("create_companies", "dpo sales"),
        ("update_companies", "dpo sales"),
        ("delete_companies", "dpo sales"),
        ("list_interactions", "dpo sales support"),
        ("get_interactions", "dpo sales support"),
        ("create_interactions", "dpo sales support"),
        ("update_interactions", "dpo sales support"),
        ("delete_interactions", "dpo sales support"),
        ("list_deals", "dpo sales"),
        ("get_deals", "dpo sales"),
        ("create_deals", "dpo sales"),
        ("update_deals", "dpo sales"),
        ("delete_deals", "dpo sales"),
        ("list_purchases", "dpo sales support marketing"),
        ("get_purchases", "dpo sales support marketing"),
        ("create_purchases", "dpo sales"),
        ("update_purchases", "dpo sales"),
        ("delete_purchases", "dpo sales"),
        ("list_audit", "admin dpo auditor"),
        ("verify_audit", "admin dpo auditor"),
        ("list_audit_alerts", "admin dpo auditor"),
        ("doctor", "admin dpo"),
        ("retention", "dpo"),
        ("list_recipients", "admin dpo auditor"),
        ("get_recipient", "admin dpo auditor"),
        ("create_recipient", "dpo"),
        ("replace_recipient", "dpo"),
        ("end_recipient", "dpo"),
        ("adequacy_decisions", "admin dpo auditor"),
        ("replace_adequacy_decisions", "dpo"),
        ("contact_recipients", "admin dpo auditor"),
        ("controller_details", "admin dpo auditor"),
        ("set_controller_details", "dpo"),
        ("ropa", "admin dpo auditor"),
        ("ropa_fideslang", "admin dpo auditor"),
        ("export_contacts", "dpo"),
        ("contact_duplicates", people_readers),
        ("merge_contacts", "dpo sales"),
        // Imports need the right to create records of the file's kind (the
        // fixture's is contacts; support may import interactions); a job is its author's
        // (and the DPO's): another's answers 404.
        ("create_import", "dpo sales marketing"),
        ("list_imports", "dpo sales support marketing"),
        ("get_import", "dpo"),
        // Aggregates go to whoever reads the records they count.
        ("analytics_revenue", "dpo sales support marketing"),
        ("analytics_cohorts", "dpo sales support marketing"),
        ("analytics_funnel", "dpo sales"),
        ("analytics_interactions", "dpo sales support"),
        ("list_breaches", "dpo"),
        ("open_breach", "dpo"),
        ("get_breach", "dpo"),
        ("update_breach", "dpo"),
        ("compute_breach_affected", "dpo"),
        ("breach_authority_draft", "dpo"),
        ("breach_people_draft", "dpo"),
        ("send_breach_notices", "dpo"),
        ("breach_from_alert", "dpo"),
        ("contact_access_log", "admin dpo auditor"),
        ("list_purposes", "admin dpo sales support marketing auditor key"),
        ("create_purpose", "admin dpo"),
        ("replace_purpose", "admin dpo"),
        ("list_notices", "admin dpo sales support marketing auditor key"),
        ("add_notice", "admin dpo"),
        ("contact_consents", people_readers),
        ("append_consent", "dpo sales support"),
        ("object_to_purpose", "dpo sales support"),
        ("restriction_state", "admin dpo"),
        ("restrict_processing", "admin dpo"),
        ("lift_restriction", "admin dpo"),
        ("add_legal_claim", "dpo"),
        ("create_segment", "dpo sales marketing"),
        ("list_segments", people_readers),
        ("get_segment", people_readers),
        ("delete_segment", "dpo sales"),
        ("segment_members", people_readers),
        ("segment_count", people_readers),
        ("add_form", "admin dpo"),
        ("list_forms", "admin dpo sales support marketing auditor key"),
        ("disable_form", "admin dpo"),
        ("claim_outbox", "admin dpo"),
        ("issue_api_key", "dpo"),
        ("list_api_keys", "admin dpo"),
        ("revoke_api_key", "admin dpo"),
        ("list_roles", "admin dpo auditor"),
        // A role grants no more than its author holds: the admin holds no
        // personal data, so roles that reach it are the DPO's (the fixture
        // creates one; it replaces one with a role that grants nothing).
        ("create_role", "dpo"),
        ("replace_role", "admin dpo"),
        ("delete_role", "admin dpo"),
        // A session's own routes: no token reaches them, only its cookie.
        ("get_session", ""),
        ("logout", ""),
        ("begin_totp", ""),
        ("confirm_totp", ""),
        ("change_password", ""),
        ("list_users", "admin dpo"),
        ("add_user", "admin dpo"),
        ("get_user", "admin dpo"),
        ("update_user", "admin dpo"),
        ("reset_password", "admin dpo"),
        ("revoke_sessions", "admin dpo"),
        // Support takes data-subject requests in; the DPO handles them.
        ("create_dsr", "dpo support"),
        ("list_dsr", "dpo support"),
        ("get_dsr", "dpo support"),
        ("issue_dsr_token", "dpo"),
        ("verify_dsr", "dpo"),
        ("unlock_dsr", "dpo"),
        ("extend_dsr", "dpo"),
        ("refuse_dsr", "dpo"),
        ("withdraw_dsr", "dpo"),
        ("fulfil_dsr", "dpo"),
        ("issue_dsr_export_link", "dpo"),
        ("export_dsr", "dpo"),
        // Erasure: exceptions, receipts and recipients are the DPO's.
        ("add_erasure_exception", "dpo"),
        ("list_erasure_exceptions", "dpo"),
        ("lift_erasure_exceptions", "dpo"),
        ("get_erasure_receipt", "dpo"),
        ("list_erasure_notifications", "dpo"),
        // The DPO decides which Data Rights Protocol agents are trusted.
        ("add_drp_agent", "dpo"),
        ("list_drp_agents", "dpo"),
        ("remove_drp_agent", "dpo"),
    ])
}

/// Data uses not in the default catalogue.
const UNUSED_PURPOSES: [&str; 7] = [
    "analytics.reporting.campaign_insights",
    "analytics.reporting.ad_performance",
    "analytics.reporting.content_performance",
    "analytics.reporting.system",
    "functional.service",
    "functional.storage",
    "personalize.system",
];

/// Fresh records for one call, made by the DPO, so no call depends on another.
struct Fixture<'a> {
    s: &'a Server,
    dpo: &'a str,
    admin: &'a str,
    /// The recipient the test's keys are issued to.
    recipient: String,
    /// Purpose keys a create may still use (the catalogue takes each once).
    unused_purposes: std::sync::Mutex<Vec<&'static str>>,
}

impl Fixture<'_> {
    async fn make(&self, path: &str, body: Value) -> String {
        let (status, made) = send_as(self.s, self.dpo, Method::POST, path, Some(&body)).await;
        assert!(status.is_success(), "fixture {path}: {made}");
        made["id"].as_str().or(made["key"].as_str()).expect("an id").to_string()
    }

    /// A person with every field set (markers in the sealed ones) and the
    /// consent the marketing purposes need.
    async fn contact(&self) -> String {
        let id = self
            .make(
                "/api/v1/contacts",
                json!({"given_name": "Fixture", "family_name": "Person", "emails": ["fixture@example.org"],
                       "phones": ["+380441234567"], "birthday": BIRTHDAY, "notes": NOTE, "job_title": "Buyer",
                       "addresses": [{"street": STREET, "city": "Kyiv", "postal_code": "01001", "country": "UA"}],
                       "custom": {"k": CUSTOM}, "tags": ["fixture"]}),
            )
            .await;
        for purpose in ["marketing.communications.email", "personalize.content.profiling"] {
            let consent = json!({"purpose": purpose, "granted": true, "notice_version": "1", "method": "web_form",
                                 "evidence": {"user_agent": EVIDENCE}});
            let path = format!("/api/v1/contacts/{id}/consents");
            assert_eq!(send_as(self.s, self.dpo, Method::POST, &path, Some(&consent)).await.0, StatusCode::CREATED);
        }
        id
    }

    /// A fresh data-subject request in the state `operation` acts on: a
    /// verified restriction to fulfil, a verified access request to export,
    /// a locked one to unlock, else a new one.
    async fn request(&self, operation: &str, contact: &str) -> String {
        if matches!(operation, "get_erasure_receipt" | "list_erasure_notifications") {
            return self.erased().await;
        }
        let kind = if operation == "fulfil_dsr" { "restriction" } else { "access" };
        let id = self.make("/api/v1/dsr", json!({"kind": kind, "contact_id": contact})).await;
        let verify = format!("/api/v1/dsr/{id}/verify");
        match operation {
            "fulfil_dsr" | "issue_dsr_export_link" | "export_dsr" => {
                let attestation = json!({"method": "staff_attestation", "note": "called back"});
                assert_eq!(
                    send_as(self.s, self.dpo, Method::POST, &verify, Some(&attestation)).await.0,
                    StatusCode::OK
                );
            }
            "unlock_dsr" => {
                for _ in 0..5 {
                    let guess = json!({"token": "kith_dsr_guess"});
                    assert!(send_as(self.s, self.dpo, Method::POST, &verify, Some(&guess)).await.0.is_client_error());
                }
            }
            _ => {}
        }
        id
    }

    /// A completed erasure request about a person of their own (an erased
    /// address is suppressed, so not the shared fixture person's).
    async fn erased(&self) -> String {
        let email = format!("erased.{}@example.org", uuid::Uuid::new_v4().simple());
        let person = self.make("/api/v1/contacts", json!({"given_name": "Erased", "emails": [email]})).await;
        let id = self.make("/api/v1/dsr", json!({"kind": "erasure", "contact_id": person})).await;
        let attestation = json!({"method": "staff_attestation", "note": "called back"});
        let verify = format!("/api/v1/dsr/{id}/verify");
        assert_eq!(send_as(self.s, self.dpo, Method::POST, &verify, Some(&attestation)).await.0, StatusCode::OK);
        let fulfil = format!("/api/v1/dsr/{id}/fulfil");
        let (status, done) = send_as(self.s, self.dpo, Method::POST, &fulfil, None).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        id
    }

    async fn record(&self, kind: &str, contact: &str) -> String {
        let body = match kind {
            "contacts" => return self.contact().await,
            "companies" => json!({"name": "Fixture Ltd", "notes": NOTE}),
            "interactions" => {
                json!({"contact_id": contact, "kind": "call", "occurred_at": "2026-01-01T00:00:00Z", "subject": SUBJECT})
            }
            "deals" => json!({"title": DEAL, "contact_id": contact, "stage": "lead"}),
            "purchases" => json!({"contact_id": contact, "purchased_at": "2026-01-01T00:00:00Z", "currency": "EUR",
                                  "lines": [{"sku": SKU, "quantity": "1", "unit_price": "2.50"}]}),
            other => panic!("no fixture for {other}"),
        };
        self.make(&format!("/api/v1/{kind}"), body).await
    }
}

/// The path and body of one call of `operation`, with fresh fixtures.
async fn call_for(f: &Fixture<'_>, operation: &str, template: &str) -> (String, Option<Value>) {
    let contact = f.contact().await;
    let kind = template.trim_start_matches("/api/v1/").split('/').next().unwrap().to_string();
    let id = match (kind.as_str(), template.contains('{')) {
        (_, false) => String::new(),
        ("contacts", true) if operation == "lift_erasure_exceptions" => {
            let path = format!("/api/v1/contacts/{contact}/erasure-exceptions");
            let hold = json!({"ground": "legal_claims", "note": "hold"});
            assert_eq!(send_as(f.s, f.dpo, Method::POST, &path, Some(&hold)).await.0, StatusCode::CREATED);
            contact.clone()
        }
        ("contacts", true) if operation == "lift_restriction" || operation == "add_legal_claim" => {
            let path = format!("/api/v1/contacts/{contact}/restriction");
            assert_eq!(send_as(f.s, f.dpo, Method::POST, &path, None).await.0, StatusCode::OK);
            contact.clone()
        }
        ("contacts" | "companies" | "interactions" | "deals" | "purchases", true) => f.record(&kind, &contact).await,
        ("segments", true) => {
            f.make("/api/v1/segments", json!({"name": "All fixtures", "filter": {"tags": ["fixture"]}})).await
        }
        ("forms", true) => {
            f.make(
                "/api/v1/forms",
                json!({"name": "Form", "purposes": ["marketing.communications.email"], "notice_version": "1"}),
            )
            .await
        }
        ("api-keys", true) => f.make("/api/v1/api-keys", mailer_grant(&f.recipient)).await,
        ("recipients", true) => f.make("/api/v1/recipients", fresh_recipient()).await,
        ("breaches", true) => f.make("/api/v1/breaches", fresh_breach()).await,
        ("imports", true) => {
            let (status, job) = send_file(f.s, f.dpo, "/api/v1/imports?dry_run=true", fresh_import()).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{job}");
            job["id"].as_str().unwrap().to_string()
        }
        ("alerts", true) => {
            let alert = kith_store::AlertRow {
                id: uuid::Uuid::new_v4(),
                at: kith_server::now_millis(),
                rule: "mass_read".into(),
                actor: "token:fixture".into(),
                detail: "people:300".into(),
            };
            assert!(f.s.store.raise_alert(&alert, i64::MAX).await.unwrap());
            alert.id.to_string()
        }
        ("dsr", true) => f.request(operation, &contact).await,
        ("drp", true) => {
            let agent = crate::drp::agent_input(&format!("agent-{}", uuid::Uuid::new_v4().simple())).0;
            let (status, made) = send_as(f.s, f.dpo, Method::POST, "/api/v1/drp/agents", Some(&agent)).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
            made["agent_id"].as_str().unwrap().to_string()
        }
        ("purposes", true) => "sales".to_string(),
        ("users", true) => {
            let (status, made) = send_as(f.s, f.admin, Method::POST, "/api/v1/users", Some(&fresh_user())).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
            made["id"].as_str().unwrap().to_string()
        }
        ("roles", true) => {
            let role = fresh_role();
            let (status, made) = send_as(f.s, f.dpo, Method::POST, "/api/v1/roles", Some(&role)).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
            made["name"].as_str().unwrap().to_string()
        }
        other => panic!("no fixture for the path {template} ({other:?})"),
    };
    let mut path = template.replace("{id}", &id).replace("{key}", &id).replace("{name}", &id);
    if operation == "export_dsr" {
        // A download needs a fresh link of its own.
        let (status, link) = send_as(f.s, f.dpo, Method::POST, &format!("/api/v1/dsr/{id}/export-link"), None).await;
        assert_eq!(status, StatusCode::CREATED, "{link}");
        path = format!("{path}?token={}", link["token"].as_str().unwrap());
    }
    let body = match operation {
        "create_contacts" => Some(json!({"given_name": "New", "emails": ["new@example.org"]})),
        "merge_contacts" => Some(json!({"other": f.make("/api/v1/contacts", json!({"given_name": "Twin"})).await})),
        "update_contacts" => Some(json!({"job_title": "Head buyer"})),
        "create_companies" => Some(json!({"name": "New Ltd"})),
        "update_companies" => Some(json!({"domain": "example.org"})),
        "create_interactions" => {
            Some(json!({"contact_id": contact, "kind": "note", "occurred_at": "2026-02-01T00:00:00Z"}))
        }
        "update_interactions" => Some(json!({"body": "more"})),
        "create_deals" => Some(json!({"title": "New deal", "contact_id": contact, "stage": "lead"})),
        "update_deals" => Some(json!({"stage": "won"})),
        "create_purchases" => Some(json!({"contact_id": contact, "purchased_at": "2026-01-02T00:00:00Z",
                                          "currency": "EUR", "lines": [{"sku": "B", "quantity": "1", "unit_price": "1"}]})),
        "update_purchases" => Some(json!({"notes": "paid"})),
        "create_purpose" => Some(json!({"key": f.unused_purposes.lock().unwrap().pop(), "name": "Campaigns",
                                        "lawful_basis": "consent", "data_categories": ["user.contact"],
                                        "retention_days": 30, "roles": ["marketing"]})),
        "replace_purpose" => {
            let (_, p) = send_as(f.s, f.dpo, Method::GET, "/api/v1/purposes", None).await;
            p["items"].as_array().unwrap().iter().find(|p| p["key"] == "sales").cloned()
        }
        "add_notice" => Some(json!({"version": format!("v{}", uuid::Uuid::new_v4().simple()), "text": "New notice"})),
        "append_consent" => Some(json!({"purpose": "sales", "granted": true, "notice_version": "1", "method": "api"})),
        "object_to_purpose" => Some(json!({"purpose": "analytics.reporting"})),
        "add_legal_claim" => Some(json!({"purpose": "sales", "note": "claim"})),
        "add_erasure_exception" => Some(json!({"ground": "legal_obligation", "note": "tax records"})),
        "create_segment" => Some(json!({"name": "New", "filter": {"tags": ["fixture"]}})),
        "add_form" => {
            Some(json!({"name": "New form", "purposes": ["marketing.communications.email"], "notice_version": "1"}))
        }
        "issue_api_key" => Some(mailer_grant(&f.recipient)),
        "create_recipient" | "replace_recipient" => Some(fresh_recipient()),
        "open_breach" => Some(fresh_breach()),
        "update_breach" => Some(json!({"update": "More is known now."})),
        "compute_breach_affected" => {
            let now = kith_server::now_millis();
            Some(
                json!({"from": kith_server::clock::rfc3339_millis(now - 3_600_000), "to": kith_server::clock::rfc3339_millis(now)}),
            )
        }
        "set_controller_details" => Some(json!({"controller": {"name": "Shop GmbH", "email": "privacy@shop.example"}})),
        "replace_adequacy_decisions" => {
            let (_, list) = send_as(f.s, f.dpo, Method::GET, "/api/v1/adequacy", None).await;
            Some(json!({"decisions": list["decisions"]}))
        }
        "create_role" => Some(fresh_role()),
        "add_user" => Some(fresh_user()),
        "update_user" => Some(json!({"display_name": "Renamed"})),
        "reset_password" => Some(json!({"password": "a much longer passphrase 7"})),
        "change_password" => {
            Some(json!({"current_password": "whatever it was", "new_password": "a much longer passphrase 8"}))
        }
        "confirm_totp" => Some(json!({"code": "123456"})),
        "replace_role" => Some(json!({"name": id, "permissions": []})),
        "create_dsr" => Some(json!({"kind": "access", "contact_id": contact})),
        "verify_dsr" => Some(json!({"method": "staff_attestation", "note": "called back"})),
        "extend_dsr" => Some(json!({"months": 1, "reason": "many systems"})),
        "refuse_dsr" => Some(json!({"grounds": "manifestly unfounded"})),
        "fulfil_dsr" => Some(json!({})),
        "add_drp_agent" => Some(crate::drp::agent_input(&format!("agent-{}", uuid::Uuid::new_v4().simple())).0),
        _ => None,
    };
    (path, body)
}

/// A CSV file of one person not imported before.
fn fresh_import() -> String {
    format!("Name,Email\nImported Person,imported.{}@example.org\n", uuid::Uuid::new_v4().simple())
}

/// Posts a CSV file, as imports take it.
async fn send_file(s: &Server, token: &str, path: &str, file: String) -> (StatusCode, Value) {
    let resp = s
        .client
        .post(s.url(path))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A staff account of an address not used before.
fn fresh_user() -> Value {
    let email = format!("staff.{}@example.org", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    json!({"email": email, "roles": ["sales"], "password": "correct horse battery staple 42"})
}

/// A custom role of a name not used before.
fn fresh_role() -> Value {
    let name = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    json!({"name": name, "permissions": [{"actions": ["read"], "entities": ["contacts"], "fields": ["identity"], "scope": "all"}]})
}

/// A breach discovered an hour ago, of high risk.
fn fresh_breach() -> Value {
    let aware = kith_server::clock::rfc3339_millis(kith_server::now_millis() - 3_600_000);
    json!({"title": "Lost laptop", "aware_at": aware, "nature": "A laptop was stolen.", "risk": "high_risk"})
}

/// A recipient outside the EEA on standard contractual clauses.
fn fresh_recipient() -> Value {
    json!({"name": format!("Processor {}", uuid::Uuid::new_v4().simple()), "role": "processor", "country": "IN",
           "contract_reference": "DPA-1", "transfer_mechanism": "scc", "scc_module": 2})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_role_and_a_key_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let mut tokens = BTreeMap::new();
        for role in CALLERS.iter().filter(|c| **c != "key") {
            tokens.insert(*role, token_for(&s, role).await);
        }
        let dpo = tokens["dpo"].clone();
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let recipient = register_mailer(&s, &dpo).await;
        let details = json!({"controller": {"name": "Shop GmbH", "email": "privacy@shop.example"}});
        assert_eq!(send_as(&s, &dpo, Method::PUT, "/api/v1/controller", Some(&details)).await.0, StatusCode::OK);
        let (status, key) = send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&mailer_grant(&recipient))).await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        tokens.insert("key", key["key"].as_str().unwrap().to_string());
        let f = Fixture {
            s: &s,
            dpo: &dpo,
            admin: &tokens["admin"],
            recipient,
            unused_purposes: std::sync::Mutex::new(UNUSED_PURPOSES.to_vec()),
        };

        let (_, document) = s.get("/api/v1/openapi.json").await;
        let rules = rules();
        let mut judged = 0;
        for (template, item) in document["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op["security"].is_null() {
                    continue; // public: health, this document, gpc.json, capture
                }
                let operation = op["operationId"].as_str().unwrap();
                let allowed = rules.get(operation).unwrap_or_else(|| panic!("no access rule for {operation}"));
                for caller in CALLERS {
                    let (path, body) = call_for(&f, operation, template).await;
                    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                    let (status, answer) = match operation {
                        // Marketing's purpose rests on consent, which an import must claim.
                        "create_import" if caller == "marketing" => {
                            send_file(&s, &tokens[caller], &format!("{path}?basis=consent"), fresh_import()).await
                        }
                        "create_import" => send_file(&s, &tokens[caller], &path, fresh_import()).await,
                        _ => send_as(&s, &tokens[caller], method, &path, body.as_ref()).await,
                    };
                    let expected_allowed = allowed.split(' ').any(|c| c == caller);
                    if expected_allowed {
                        assert!(status.is_success(), "{operation} as {caller}: {status} {answer}");
                    } else {
                        assert!(
                            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                            "{operation} as {caller} must be refused: {status} {answer}"
                        );
                    }
                    let text = answer.to_string();
                    for marker in hidden_from(caller) {
                        assert!(!text.contains(marker), "{operation} as {caller} shows {marker}: {text}");
                    }
                    judged += 1;
                }
            }
        }
        assert_eq!(judged, rules.len() * CALLERS.len(), "every rule belongs to a documented operation");
        s.stop().await;
        db.cleanup().await;
    }
}

/// A caller refused an operation on one item is refused whatever the path
/// names: a malformed id tells them nothing (403, never 404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_caller_learns_nothing_from_the_path_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let auditor = token_for(&s, "auditor").await;
        let cases = [
            (Method::GET, "/api/v1/users/not-an-id"),
            (Method::PATCH, "/api/v1/users/not-an-id"),
            (Method::POST, "/api/v1/users/not-an-id/password"),
            (Method::POST, "/api/v1/users/not-an-id/sessions/revoke"),
            (Method::GET, "/api/v1/dsr/not-an-id"),
            (Method::POST, "/api/v1/dsr/not-an-id/unlock"),
            (Method::POST, "/api/v1/dsr/not-an-id/withdraw"),
            (Method::POST, "/api/v1/dsr/not-an-id/verification-token"),
            (Method::POST, "/api/v1/dsr/not-an-id/export-link"),
            (Method::GET, "/api/v1/dsr/not-an-id/export"),
            (Method::GET, "/api/v1/dsr/not-an-id/receipt"),
            (Method::GET, "/api/v1/dsr/not-an-id/notifications"),
            (Method::GET, "/api/v1/segments/not-an-id"),
            (Method::DELETE, "/api/v1/api-keys/not-an-id"),
        ];
        for (method, path) in cases {
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
            let (status, answer) = send_as(&s, &auditor, method.clone(), path, body.as_ref()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
            assert_eq!(answer["code"], "forbidden", "{method} {path}: {answer}");
        }
        s.stop().await;
        db.cleanup().await;
    }
}
