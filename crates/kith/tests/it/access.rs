//! The access model, route by route: every operation of the OpenAPI
//! document is called as every built-in role and as a third-party key, and
//! the outcome must be the one this table names. An operation without a
//! rule here fails the test, so a new route cannot slip in unjudged. Values
//! planted in fields a caller may not see must not appear in any answer.

use crate::harness::{backends, send_as, token_for, Server, TestDb};
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
        ("api-keys", true) => f.make("/api/v1/api-keys", key_grant()).await,
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
        "issue_api_key" => Some(key_grant()),
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

/// What the test's third party may do: read names and contact details of
/// contacts for e-mail marketing.
fn key_grant() -> Value {
    json!({"recipient": "Mailer Ltd", "purposes": ["marketing.communications.email"],
           "permissions": [{"actions": ["read"], "entities": ["contacts"], "fields": ["identity", "contact_details"], "scope": "all"}],
           "expires_in_days": 30})
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
        let (status, key) = send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&key_grant())).await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        tokens.insert("key", key["key"].as_str().unwrap().to_string());
        let f = Fixture {
            s: &s,
            dpo: &dpo,
            admin: &tokens["admin"],
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
                    let (status, answer) = send_as(&s, &tokens[caller], method, &path, body.as_ref()).await;
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

/// Fields a role may not see are absent (not null); writing, filtering or
/// sorting by them is refused with `field_forbidden`; a marketing user
/// changes only the records they own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_rules_and_scope_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (dpo, marketing) = (token_for(&s, "dpo").await, token_for(&s, "marketing").await);
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let admin = token_for(&s, "admin").await;
        let f = Fixture { s: &s, dpo: &dpo, admin: &admin, unused_purposes: Default::default() };
        let id = f.contact().await;
        let (status, seen) = send_as(&s, &marketing, Method::GET, &format!("/api/v1/contacts/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        for absent in ["birthday", "notes", "addresses", "custom"] {
            assert!(seen.get(absent).is_none(), "{absent} is absent, not null: {seen}");
        }
        for present in ["given_name", "emails", "phones", "tags", "id"] {
            assert!(seen.get(present).is_some(), "{present}: {seen}");
        }
        let refused = |body: Value| {
            let (s, marketing) = (&s, marketing.clone());
            async move { send_as(s, &marketing, Method::POST, "/api/v1/contacts", Some(&body)).await }
        };
        let (status, answer) = refused(json!({"given_name": "X", "notes": "hidden"})).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("field_forbidden")), "{answer}");
        for query in ["phone=%2B380441234567", "sort=-updated_at"] {
            let (status, _) = send_as(&s, &marketing, Method::GET, &format!("/api/v1/contacts?{query}"), None).await;
            assert_eq!(status, StatusCode::OK, "{query} uses fields marketing sees");
        }
        // A key that sees contact details only: names and tags are absent,
        // and filtering by them is refused rather than silently answered.
        let mut grant = key_grant();
        grant["permissions"][0]["fields"] = json!(["contact_details"]);
        let (status, issued) = send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        let details_only = issued["key"].as_str().unwrap();
        let (status, seen) = send_as(&s, details_only, Method::GET, &format!("/api/v1/contacts/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        assert!(seen.get("given_name").is_none() && seen.get("tags").is_none() && seen.get("emails").is_some());
        for query in ["tag=fixture", "q=Fixture", "owner=dpo"] {
            let (status, answer) =
                send_as(&s, details_only, Method::GET, &format!("/api/v1/contacts?{query}"), None).await;
            assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("field_forbidden")), "{query}");
        }
        let (status, page) =
            send_as(&s, details_only, Method::GET, "/api/v1/contacts?email=fixture%40example.org", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        // A marketing user's own lead: changed; someone else's: not found.
        let (status, lead) = refused(json!({"given_name": "Lead", "emails": ["lead@example.org"]})).await;
        assert_eq!(status, StatusCode::CREATED, "{lead}");
        assert!(lead.get("notes").is_none());
        let consent = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "1", "method": "api"});
        let lead_id = lead["id"].as_str().unwrap();
        let (status, _) =
            send_as(&s, &marketing, Method::POST, &format!("/api/v1/contacts/{lead_id}/consents"), Some(&consent))
                .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) =
            send_as(&s, &marketing, Method::POST, &format!("/api/v1/contacts/{id}/consents"), Some(&consent)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the ledger of a person outside the scope is not theirs to write");
        let rename = json!({"family_name": "Renamed"});
        let (status, answer) =
            send_as(&s, &marketing, Method::PATCH, &format!("/api/v1/contacts/{lead_id}"), Some(&rename)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, _) =
            send_as(&s, &marketing, Method::PATCH, &format!("/api/v1/contacts/{id}"), Some(&rename)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "outside marketing's scope");
        let (status, answer) = send_as(
            &s,
            &marketing,
            Method::PATCH,
            &format!("/api/v1/contacts/{lead_id}"),
            Some(&json!({"notes": "x"})),
        )
        .await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("field_forbidden")));
        let (status, answer) = send_as(
            &s,
            &marketing,
            Method::PATCH,
            &format!("/api/v1/contacts/{lead_id}"),
            Some(&json!({"owner": "someone-else"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "giving a record away leaves the scope: {answer}");
        s.stop().await;
        db.cleanup().await;
    }
}

/// Keys: shown once, stored hashed, limited to their purposes, actions and
/// addresses; revocation and expiry end them at once; use is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_keys_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (dpo, admin) = (token_for(&s, "dpo").await, token_for(&s, "admin").await);
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let f = Fixture { s: &s, dpo: &dpo, admin: &admin, unused_purposes: Default::default() };
        let person = f.contact().await;
        let issue = |grant: Value| {
            let (s, dpo) = (&s, dpo.clone());
            async move {
                let (status, issued) = send_as(s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
                assert_eq!(status, StatusCode::CREATED, "{issued}");
                (issued["id"].as_str().unwrap().to_string(), issued["key"].as_str().unwrap().to_string())
            }
        };
        let (id, key) = issue(key_grant()).await;
        let read = format!("/api/v1/contacts/{person}");
        assert_eq!(send_as(&s, &key, Method::GET, &read, None).await.0, StatusCode::OK);
        let (status, answer) = crate::segments::send_for(&s, &key, Method::GET, &read, Some("sales"), None).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("purpose_not_allowed")));
        let create = json!({"given_name": "Not yours"});
        assert_eq!(send_as(&s, &key, Method::POST, "/api/v1/contacts", Some(&create)).await.0, StatusCode::FORBIDDEN);

        // Listed with its grant and last use, never with the key or its hash.
        let (_, keys) = send_as(&s, &admin, Method::GET, "/api/v1/api-keys", None).await;
        let listed = keys["items"].as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap().clone();
        assert!(listed["last_used_at"].is_string(), "{listed}");
        assert_eq!(listed["recipient"], "Mailer Ltd");
        assert!(!keys.to_string().contains(&key) && listed.get("key").is_none() && listed.get("key_hash").is_none());
        let stored = s.store.api_keys().await.unwrap();
        assert!(stored.iter().all(|k| !k.document.contains(&key) && k.key_hash.len() == 32));

        // Addresses: the test client is 127.0.0.1.
        let mut elsewhere = key_grant();
        elsewhere["allowed_addresses"] = json!(["192.0.2.0/24"]);
        let (far_id, far) = issue(elsewhere).await;
        let (status, answer) = send_as(&s, &far, Method::GET, &read, None).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("address_not_allowed")));
        let mut here = key_grant();
        here["allowed_addresses"] = json!(["127.0.0.1", "::1"]);
        let (_, near) = issue(here).await;
        assert_eq!(send_as(&s, &near, Method::GET, &read, None).await.0, StatusCode::OK);
        let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?actor=key:{far_id}"), None).await;
        assert_eq!(log["items"][0]["outcome"], "denied", "{log}");

        // Revoked: refused at once, like an unknown key.
        assert_eq!(
            send_as(&s, &admin, Method::DELETE, &format!("/api/v1/api-keys/{id}"), None).await.0,
            StatusCode::NO_CONTENT
        );
        let (status, answer) = send_as(&s, &key, Method::GET, &read, None).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        let (_, unknown) = send_as(&s, "kith_key_nonsense", Method::GET, &read, None).await;
        assert_eq!(answer, unknown, "a revoked key is answered like an unknown one");
        assert_eq!(
            send_as(&s, &admin, Method::DELETE, &format!("/api/v1/api-keys/{id}"), None).await.0,
            StatusCode::NOT_FOUND
        );

        // Expired: a key whose time has passed.
        let mut row = s.store.api_keys().await.unwrap().into_iter().find(|k| k.id.to_string() == far_id).unwrap();
        let expired = "kith_key_expired_for_this_test";
        (row.id, row.key_hash, row.expires_at) =
            (uuid::Uuid::new_v4(), kith_server::auth::hash_token(expired), kith_server::now_millis() - 1);
        s.store.insert_api_key(&row).await.unwrap();
        assert_eq!(send_as(&s, expired, Method::GET, &read, None).await.0, StatusCode::UNAUTHORIZED);

        // Bad grants are refused and issue nothing.
        let before = s.store.api_keys().await.unwrap().len();
        for (change, code) in [
            (
                json!({"permissions": [{"actions": ["delete"], "entities": ["contacts"], "fields": ["identity"], "scope": "all"}]}),
                "invalid_value",
            ),
            (json!({"purposes": ["marketing.mind_reading"]}), "unknown_reference"),
            (json!({"expires_in_days": 1000}), "invalid_value"),
            (json!({"allowed_addresses": ["the office"]}), "invalid_value"),
            (json!({"scope": "all"}), "unknown_field"),
        ] {
            let mut grant = key_grant();
            grant.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            let (status, answer) = send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
            assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some(code)), "{grant}");
        }
        let sales = token_for(&s, "sales").await;
        assert_eq!(
            send_as(&s, &sales, Method::POST, "/api/v1/api-keys", Some(&key_grant())).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(s.store.api_keys().await.unwrap().len(), before);
        s.stop().await;
        db.cleanup().await;
    }
}

/// A custom role: defined by the DPO (an admin may not grant personal data
/// it does not hold), usable once a purpose names it,
/// changed or deleted with effect from the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_roles_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (dpo, admin) = (token_for(&s, "dpo").await, token_for(&s, "admin").await);
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let f = Fixture { s: &s, dpo: &dpo, admin: &admin, unused_purposes: Default::default() };
        let person = f.contact().await;
        let mut role = json!({"name": "analyst", "description": "Reads names for reports",
            "permissions": [{"actions": ["read"], "entities": ["contacts"], "fields": ["identity"], "scope": "all"}]});
        let refused = send_as(&s, &admin, Method::POST, "/api/v1/roles", Some(&role)).await;
        assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
        let (status, made) = send_as(&s, &dpo, Method::POST, "/api/v1/roles", Some(&role)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        for (bad, code) in [
            (json!({"name": "sales", "permissions": []}), "conflict"),
            (json!({"name": "Bad Name", "permissions": []}), "invalid_value"),
        ] {
            let (status, answer) = send_as(&s, &admin, Method::POST, "/api/v1/roles", Some(&bad)).await;
            assert_eq!(answer["code"], code, "{status} {answer}");
        }
        let analyst = token_for(&s, "analyst").await;
        let read = format!("/api/v1/contacts/{person}");
        let as_analyst =
            || crate::segments::send_for(&s, &analyst, Method::GET, &read, Some("analytics.reporting"), None);
        assert_eq!(as_analyst().await.1["code"], "purpose_not_allowed", "no purpose names the role yet");

        // The DPO lets analysts use analytics; a role that does not exist cannot be named.
        let (_, purposes) = send_as(&s, &dpo, Method::GET, "/api/v1/purposes", None).await;
        let mut analytics =
            purposes["items"].as_array().unwrap().iter().find(|p| p["key"] == "analytics.reporting").unwrap().clone();
        analytics["roles"] = json!(["analyst", "ghost"]);
        let path = "/api/v1/purposes/analytics.reporting";
        let (status, answer) = send_as(&s, &dpo, Method::PUT, path, Some(&analytics)).await;
        assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("unknown_reference")));
        analytics["roles"] = json!(["analyst", "marketing", "sales"]);
        assert_eq!(send_as(&s, &dpo, Method::PUT, path, Some(&analytics)).await.0, StatusCode::OK);
        let (status, seen) = as_analyst().await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        assert!(seen.get("given_name").is_some() && seen.get("emails").is_none(), "{seen}");

        // Changed: contact details too, from the next request.
        role["permissions"][0]["fields"] = json!(["identity", "contact_details"]);
        assert_eq!(
            send_as(&s, &admin, Method::PUT, "/api/v1/roles/analyst", Some(&role)).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(send_as(&s, &dpo, Method::PUT, "/api/v1/roles/analyst", Some(&role)).await.0, StatusCode::OK);
        assert!(as_analyst().await.1.get("emails").is_some());
        let (_, roles) = send_as(&s, &dpo, Method::GET, "/api/v1/roles", None).await;
        let names: Vec<&str> = roles["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"analyst") && names.contains(&"sales"), "{names:?}");
        // Deleted: whoever holds it has nothing.
        assert_eq!(send_as(&s, &admin, Method::DELETE, "/api/v1/roles/analyst", None).await.0, StatusCode::NO_CONTENT);
        assert_eq!(as_analyst().await.0, StatusCode::FORBIDDEN);
        let (_, log) = send_as(&s, &dpo, Method::GET, "/api/v1/audit?action=config_change", None).await;
        let changes =
            log["items"].as_array().unwrap().iter().filter(|e| e["entity"] == "roles" && e["outcome"] == "ok").count();
        assert_eq!(changes, 3, "defined, changed, deleted: {log}");
        s.stop().await;
        db.cleanup().await;
    }
}
