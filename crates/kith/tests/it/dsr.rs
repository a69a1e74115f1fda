//! The data-subject request register, story by story on every backend:
//! each kind from receipt to completion (or to `fulfilment_pending` where
//! the next slices build the archive; erasure in `erasure.rs`), matching, deadlines on
//! month ends, identity verification, refusal, withdrawal, the DPO's lists,
//! bad input, and that what a person gave is sealed at rest.

use crate::harness::{assert_problem, backends, send_as, token_for, Backend, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The DPO, a support agent, and the server's own `sales` token.
struct Desk<'a> {
    s: &'a Server,
    dpo: String,
    support: String,
}

impl Desk<'_> {
    async fn new(s: &Server) -> Desk<'_> {
        Desk { s, dpo: token_for(s, "dpo").await, support: token_for(s, "support").await }
    }

    async fn call(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        send_as(self.s, token, method, path, body.as_ref()).await
    }

    /// Registers a request as the DPO and returns it.
    async fn register(&self, body: Value) -> Value {
        let (status, made) = self.call(&self.dpo, Method::POST, "/api/v1/dsr", Some(body.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{body}: {made}");
        assert_eq!(made["status"], "received");
        made
    }

    /// A step of a request as the DPO.
    async fn step(&self, id: &Value, step: &str, body: Option<Value>) -> (StatusCode, Value) {
        let path = format!("/api/v1/dsr/{}/{step}", id.as_str().unwrap());
        self.call(&self.dpo, Method::POST, &path, body).await
    }

    /// A step that must succeed; the request after it.
    async fn ok(&self, id: &Value, step: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.step(id, step, body).await;
        assert!(status.is_success(), "{step}: {status} {answer}");
        answer
    }

    async fn attest(&self, id: &Value) -> Value {
        let verified = self
            .ok(id, "verify", Some(json!({"method": "staff_attestation", "note": "called back on the number on file"})))
            .await;
        assert_eq!(verified["status"], "in_progress", "{verified}");
        verified
    }

    async fn get(&self, id: &Value) -> Value {
        let (status, request) =
            self.call(&self.dpo, Method::GET, &format!("/api/v1/dsr/{}", id.as_str().unwrap()), None).await;
        assert_eq!(status, StatusCode::OK, "{request}");
        request
    }

    /// The ids a register listing answers.
    async fn listed(&self, query: &str) -> Vec<String> {
        let (status, page) = self.call(&self.dpo, Method::GET, &format!("/api/v1/dsr{query}"), None).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        page["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
    }
}

async fn person(s: &Server, email: &str, phone: &str) -> String {
    s.create("contacts", json!({"given_name": "Dana", "family_name": "Misspelt", "emails": [email], "phones": [phone]}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_from_receipt_to_completion_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let desk = Desk::new(&s).await;
        let restricted = person(&s, "rita@example.org", "+380441110001").await;
        let other = person(&s, "oleg@example.org", "+380441110002").await;

        // Restriction, taken in by support by contact id: the person's data
        // is then refused to sales.
        let (status, request) = desk
            .call(
                &desk.support,
                Method::POST,
                "/api/v1/dsr",
                Some(json!({"kind": "restriction", "contact_id": restricted})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{request}");
        assert_eq!(request["contact_id"], restricted.as_str());
        let id = &request["id"];
        desk.attest(id).await;
        let done = desk.ok(id, "fulfil", None).await;
        assert_eq!((done["status"].as_str(), done["completed_at"].is_string()), (Some("completed"), true), "{done}");
        assert_problem(&s.get(&format!("/api/v1/contacts/{restricted}")).await, 403, "processing_restricted");
        let (_, log) = desk.call(&desk.dpo, Method::GET, &format!("/api/v1/audit?subject_id={restricted}"), None).await;
        let events = log["items"].as_array().unwrap();
        let by_request = format!("dsr:{}", id.as_str().unwrap());
        assert!(
            events.iter().any(|e| e["entity"] == "consents" && e["request_id"] == by_request.as_str()),
            "the restriction names its request: {log}"
        );
        for transition in ["status:received", "status:in_progress", "status:completed"] {
            assert!(
                events
                    .iter()
                    .any(|e| e["entity"] == "dsr" && e["fields"].as_array().unwrap().contains(&json!(transition))),
                "{transition} audited: {log}"
            );
        }

        // Objection, matched by e-mail address (case and spaces aside), verified by the person's token.
        let request =
            desk.register(json!({"kind": "objection", "email": " OLEG@example.org", "purpose": "marketing"})).await;
        assert_eq!(request["contact_id"], other.as_str(), "{request}");
        let id = &request["id"];
        let issued = desk.ok(id, "verification-token", None).await;
        assert_eq!(issued["status"], "identity_verification");
        let token = issued["token"].as_str().unwrap();
        assert!(token.len() >= 43, "256 bits: {token}");
        desk.ok(id, "verify", Some(json!({"token": token}))).await;
        assert_eq!(desk.ok(id, "fulfil", Some(json!({}))).await["status"], "completed");
        let (_, state) =
            desk.call(&desk.dpo, Method::GET, &format!("/api/v1/contacts/{other}/restriction"), None).await;
        assert_eq!(state["objections"], json!(["marketing"]), "{state}");

        // Rectification, matched by phone in another notation, applied as the request's change.
        let request = desk.register(json!({"kind": "rectification", "phone": "+380 44 111 0002"})).await;
        assert_eq!(request["contact_id"], other.as_str(), "{request}");
        let id = &request["id"];
        assert_problem(
            &desk.step(id, "fulfil", Some(json!({"changes": {"family_name": "Right"}}))).await,
            409,
            "not_verified",
        );
        desk.attest(id).await;
        assert_problem(&desk.step(id, "fulfil", Some(json!({}))).await, 422, "missing_field");
        // A processor that has read the person is a recipient to tell
        // (Art. 19); one that read no one of them is not.
        let crm = crate::harness::register_processor(desk.s, &desk.dpo, "CRM Sync GmbH", "sales").await;
        let (status, key) = desk
            .call(&desk.dpo, Method::POST, "/api/v1/api-keys", Some(crate::harness::key_grant(&crm, "sales")))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        let key = key["key"].as_str().unwrap().to_string();
        assert_eq!(desk.call(&key, Method::GET, &format!("/api/v1/contacts/{other}"), None).await.0, StatusCode::OK);
        let idle = crate::harness::mailer_grant(&crate::harness::register_mailer(desk.s, &desk.dpo).await);
        assert_eq!(desk.call(&desk.dpo, Method::POST, "/api/v1/api-keys", Some(idle)).await.0, StatusCode::CREATED);
        let done = desk.ok(id, "fulfil", Some(json!({"changes": {"family_name": "Right"}}))).await;
        assert_eq!(done["changes"], json!({"family_name": "Right"}));
        let notifications = format!("/api/v1/dsr/{}/notifications", id.as_str().unwrap());
        let (status, tasks) = desk.call(&desk.dpo, Method::GET, &notifications, None).await;
        assert_eq!(status, StatusCode::OK, "{tasks}");
        assert_eq!(tasks["items"].as_array().unwrap().len(), 1, "{tasks}");
        assert_eq!(tasks["items"][0]["recipient"], "CRM Sync GmbH", "{tasks}");
        let (_, seen) = desk.call(&desk.dpo, Method::GET, &format!("/api/v1/contacts/{other}"), None).await;
        assert_eq!(seen["family_name"], "Right", "{seen}");
        let (_, log) = desk.call(&desk.dpo, Method::GET, &format!("/api/v1/audit?subject_id={other}"), None).await;
        let by_request = format!("dsr:{}", id.as_str().unwrap());
        assert!(
            log["items"].as_array().unwrap().iter().any(|e| e["action"] == "update"
                && e["entity"] == "contacts"
                && e["request_id"] == by_request.as_str()
                && e["fields"] == json!(["family_name"])),
            "the change names its request: {log}"
        );

        // Access, portability: verified, but not carried out before their
        // slices exist; nothing pretends they were (erasure: tests/it/erasure.rs).
        for kind in ["access", "portability"] {
            let request = desk.register(json!({"kind": kind, "contact_id": other})).await;
            let id = &request["id"];
            desk.attest(id).await;
            let answer = desk.step(id, "fulfil", None).await;
            assert_problem(&answer, 409, "fulfilment_pending");
            assert_eq!(desk.get(id).await["status"], "in_progress");
            assert_problem(&desk.step(id, "fulfil", Some(json!({"outcome": "no_data"}))).await, 422, "invalid_value");
        }
        let (_, seen) = desk.call(&desk.dpo, Method::GET, &format!("/api/v1/contacts/{other}"), None).await;
        assert_eq!(seen["id"], other.as_str(), "nothing was erased");

        // Nobody matches: kept without a person, completed with nothing held.
        for kind in ["access", "portability", "erasure", "restriction"] {
            let request =
                desk.register(json!({"kind": kind, "email": "nobody@example.org", "channel": "portal"})).await;
            assert_eq!((request["contact_id"].clone(), request["channel"].clone()), (Value::Null, json!("portal")));
            assert_eq!(request["email"], "nobody@example.org");
            let id = &request["id"];
            desk.attest(id).await;
            assert_problem(&desk.step(id, "fulfil", None).await, 409, "conflict");
            let done = desk.ok(id, "fulfil", Some(json!({"outcome": "no_data"}))).await;
            assert_eq!((done["status"].as_str(), done["outcome"].as_str()), (Some("completed"), Some("no_data")));
        }
        let request = desk.register(json!({"kind": "access", "phone": "+15550001111", "channel": "agent"})).await;
        assert_eq!(request["contact_id"], Value::Null);
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_on_month_ends_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let desk = Desk::new(&s).await;
        let contact = person(&s, "due@example.org", "+380441110003").await;
        // Received on 31 January: due on 28 February; extended by two: 30 April.
        let request = desk
            .register(json!({"kind": "access", "contact_id": contact, "received_at": "2026-01-31T10:00:00Z"}))
            .await;
        assert_eq!(request["received_at"], "2026-01-31T10:00:00.000Z");
        assert_eq!(request["due_at"], "2026-02-28T10:00:00.000Z");
        assert_eq!(request["overdue"], true);
        let id = &request["id"];
        assert_problem(
            &desk.step(id, "extend", Some(json!({"months": 3, "reason": "complex"}))).await,
            422,
            "invalid_value",
        );
        assert_problem(&desk.step(id, "extend", Some(json!({"months": 1, "reason": " "}))).await, 422, "missing_field");
        let extended = desk
            .ok(
                id,
                "extend",
                Some(
                    json!({"months": 2, "reason": "many systems to search", "person_told_at": "2026-02-10T09:00:00Z"}),
                ),
            )
            .await;
        assert_eq!(extended["due_at"], "2026-04-30T10:00:00.000Z", "{extended}");
        assert_eq!(
            extended["extension"],
            json!({"months": 2, "reason": "many systems to search", "person_told_at": "2026-02-10T09:00:00.000Z"})
        );
        assert_problem(
            &desk.step(id, "extend", Some(json!({"months": 1, "reason": "more"}))).await,
            409,
            "already_extended",
        );

        // 29 February of a leap year: 29 March, extended 29 April. (Dates
        // ahead of today cannot be a receipt; kith-core's unit tests cover
        // 29 February 2028 and 31 December 2026.)
        let request = desk
            .register(json!({"kind": "erasure", "contact_id": contact, "received_at": "2024-02-29T08:00:00Z"}))
            .await;
        assert_eq!(request["due_at"], "2024-03-29T08:00:00.000Z");
        let extended = desk.ok(&request["id"], "extend", Some(json!({"months": 1, "reason": "backlog"}))).await;
        assert_eq!(extended["due_at"], "2024-04-29T08:00:00.000Z");
        assert!(extended["extension"]["person_told_at"].is_string(), "told now by default");

        // 31 December: 31 January; extended, the end of February.
        let request = desk
            .register(json!({"kind": "portability", "contact_id": contact, "received_at": "2025-12-31T23:00:00Z"}))
            .await;
        assert_eq!(request["due_at"], "2026-01-31T23:00:00.000Z");
        let extended = desk.ok(&request["id"], "extend", Some(json!({"months": 1, "reason": "backlog"}))).await;
        assert_eq!(extended["due_at"], "2026-02-28T23:00:00.000Z");

        // A receipt with an offset counts in UTC; one in the future is refused.
        let request = desk
            .register(json!({"kind": "access", "contact_id": contact, "received_at": "2026-01-31T23:30:00-02:00"}))
            .await;
        assert_eq!(
            (request["received_at"].as_str(), request["due_at"].as_str()),
            (Some("2026-02-01T01:30:00.000Z"), Some("2026-03-01T01:30:00.000Z"))
        );
        for future in ["2026-12-31T10:00:00Z", "2028-02-29T10:00:00Z"] {
            let body = json!({"kind": "access", "contact_id": contact, "received_at": future});
            assert_problem(&desk.call(&desk.dpo, Method::POST, "/api/v1/dsr", Some(body)).await, 422, "invalid_value");
        }
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_verification_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let desk = Desk::new(&s).await;
        let contact = person(&s, "who@example.org", "+380441110004").await;

        // Support registers and reads, but neither verifies nor issues tokens.
        let (status, request) = desk
            .call(&desk.support, Method::POST, "/api/v1/dsr", Some(json!({"kind": "access", "contact_id": contact})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{request}");
        let id = request["id"].as_str().unwrap();
        let path = |step: &str| format!("/api/v1/dsr/{id}/{step}");
        let attestation = json!({"method": "staff_attestation", "note": "passport seen"});
        assert_problem(
            &desk.call(&desk.support, Method::POST, &path("verify"), Some(attestation.clone())).await,
            403,
            "forbidden",
        );
        assert_problem(
            &desk.call(&desk.support, Method::POST, &path("verification-token"), None).await,
            403,
            "forbidden",
        );
        assert_eq!(desk.call(&desk.support, Method::GET, &format!("/api/v1/dsr/{id}"), None).await.0, StatusCode::OK);
        assert_problem(&s.get(&format!("/api/v1/dsr/{id}")).await, 403, "forbidden");

        // A new token replaces the pending one; a token works once.
        let id = &request["id"];
        let first = desk.ok(id, "verification-token", None).await["token"].as_str().unwrap().to_string();
        let second = desk.ok(id, "verification-token", None).await["token"].as_str().unwrap().to_string();
        assert_problem(&desk.step(id, "verify", Some(json!({"token": first}))).await, 422, "verification_failed");
        let verified = desk.ok(id, "verify", Some(json!({"token": second}))).await;
        assert_eq!(
            (verified["status"].as_str(), verified["verification_method"].as_str()),
            (Some("in_progress"), Some("token"))
        );
        assert_eq!(verified["failed_attempts"], 0);
        assert_problem(&desk.step(id, "verify", Some(json!({"token": second}))).await, 409, "invalid_transition");
        let stored = s.store.dsr(id.as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
        assert!(stored.token_hash.is_none(), "the used token is gone");

        // An expired token fails like a wrong one.
        let request = desk.register(json!({"kind": "access", "contact_id": contact})).await;
        let id = &request["id"];
        let token = desk.ok(id, "verification-token", None).await["token"].as_str().unwrap().to_string();
        let mut stored = s.store.dsr(id.as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(stored.token_hash.as_deref(), Some(&kith_server::auth::hash_token(&token)[..]), "stored as SHA-256");
        stored.token_expires_at = Some(kith_server::now_millis() - 1);
        assert!(s.store.update_dsr(&stored, None).await.unwrap());
        assert_problem(&desk.step(id, "verify", Some(json!({"token": token}))).await, 422, "verification_failed");
        assert_eq!(desk.get(id).await["failed_attempts"], 1);

        // Five wrong tokens lock the request until the DPO unlocks it.
        for attempt in 2..5 {
            let answer = desk.step(id, "verify", Some(json!({"token": format!("kith_dsr_guess{attempt}")}))).await;
            assert_problem(&answer, 422, "verification_failed");
        }
        assert_problem(
            &desk.step(id, "verify", Some(json!({"token": "kith_dsr_guess5"}))).await,
            409,
            "request_locked",
        );
        assert_eq!(desk.get(id).await["status"], "locked");
        assert_problem(&desk.step(id, "verify", Some(attestation.clone())).await, 409, "request_locked");
        assert_problem(&desk.step(id, "verification-token", None).await, 409, "request_locked");
        assert_problem(&desk.step(id, "fulfil", None).await, 409, "request_locked");
        let (_, log) = desk.call(&desk.dpo, Method::GET, &format!("/api/v1/audit?subject_id={contact}"), None).await;
        assert!(
            log["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["outcome"] == "denied" && e["fields"].as_array().unwrap().contains(&json!("status:locked"))),
            "{log}"
        );
        let unlocked = desk.ok(id, "unlock", None).await;
        assert_eq!((unlocked["status"].as_str(), unlocked["failed_attempts"].as_i64()), (Some("received"), Some(0)));
        assert_problem(&desk.step(id, "unlock", None).await, 409, "invalid_transition");
        let token = desk.ok(id, "verification-token", None).await["token"].as_str().unwrap().to_string();
        desk.ok(id, "verify", Some(json!({"token": token}))).await;

        // Staff attestation: the method and a note saying how.
        let request = desk.register(json!({"kind": "access", "contact_id": contact})).await;
        let id = &request["id"];
        for (body, code) in [
            (json!({"method": "staff_attestation"}), "missing_field"),
            (json!({"method": "vibes", "note": "x"}), "invalid_value"),
            (json!({"method": "staff_attestation", "note": "x", "token": "t"}), "invalid_value"),
            (json!({}), "missing_field"),
            (json!({"token": "t", "extra": 1}), "unknown_field"),
        ] {
            assert_problem(&desk.step(id, "verify", Some(body)).await, 422, code);
        }
        let verified = desk.step(id, "verify", Some(attestation)).await.1;
        assert_eq!(verified["verification_method"], "staff_attestation");
        assert_eq!(verified["attestation"], "passport seen");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_withdrawal_and_invalid_transitions_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let desk = Desk::new(&s).await;
        let contact = person(&s, "no@example.org", "+380441110005").await;

        let request = desk.register(json!({"kind": "erasure", "contact_id": contact})).await;
        let id = &request["id"];
        assert_problem(&desk.step(id, "refuse", Some(json!({"grounds": ""}))).await, 422, "missing_field");
        let refused = desk.ok(id, "refuse", Some(json!({"grounds": "Art. 17(3)(b): records kept by law"}))).await;
        assert_eq!(refused["status"], "refused");
        assert_eq!(refused["refusal"]["grounds"], "Art. 17(3)(b): records kept by law");
        let complaint = refused["refusal"]["complaint"].as_str().unwrap();
        assert!(complaint.contains("supervisory authority") && complaint.contains("judicial remedy"), "{complaint}");
        let stored = desk.get(id).await;
        assert_eq!(stored["refusal"], refused["refusal"]);
        assert!(stored["closed_at"].is_string() && stored["completed_at"].is_null());
        for (step, body) in [
            ("withdraw", None),
            ("refuse", Some(json!({"grounds": "again"}))),
            ("verify", Some(json!({"method": "staff_attestation", "note": "x"}))),
            ("verification-token", None),
            ("extend", Some(json!({"months": 1, "reason": "late"}))),
            ("fulfil", None),
        ] {
            assert_problem(&desk.step(id, step, body).await, 409, "invalid_transition");
        }

        let request = desk.register(json!({"kind": "rectification", "contact_id": contact, "note": "by letter"})).await;
        assert_eq!(request["note"], "by letter");
        let id = &request["id"];
        assert_problem(
            &desk.step(id, "fulfil", Some(json!({"changes": {"family_name": "X"}}))).await,
            409,
            "not_verified",
        );
        assert_problem(&desk.step(id, "unlock", None).await, 409, "invalid_transition");
        let withdrawn = desk.ok(id, "withdraw", None).await;
        assert_eq!(withdrawn["status"], "withdrawn");
        assert_problem(&desk.step(id, "withdraw", None).await, 409, "invalid_transition");
        let missing = serde_json::Value::String(uuid::Uuid::new_v4().to_string());
        assert_problem(&desk.step(&missing, "withdraw", None).await, 404, "not_found");
        assert_problem(&desk.step(&json!("not-a-uuid"), "withdraw", None).await, 404, "not_found");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_due_soon_and_overdue_lists_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let desk = Desk::new(&s).await;
        let contact = person(&s, "list@example.org", "+380441110006").await;
        let ago = |days: i64| {
            let t = time::OffsetDateTime::now_utc() - time::Duration::days(days);
            t.format(&time::format_description::well_known::Rfc3339).unwrap()
        };
        let register = |received: String| {
            let desk = &desk;
            let contact = contact.clone();
            async move {
                let made =
                    desk.register(json!({"kind": "access", "contact_id": contact, "received_at": received})).await;
                made["id"].as_str().unwrap().to_string()
            }
        };
        let overdue = register("2026-01-31T10:00:00Z".into()).await;
        // A month after 25 days ago is three to six days ahead.
        let soon = register(ago(25)).await;
        let later = register(ago(0)).await;
        let closed = register("2026-02-01T10:00:00Z".into()).await;
        desk.ok(&json!(closed), "withdraw", None).await;

        assert_eq!(desk.listed("?due=overdue").await, vec![overdue.clone()]);
        assert_eq!(desk.listed("?due=due_soon").await, vec![soon.clone()]);
        assert_eq!(desk.listed("?due=open").await, vec![overdue.clone(), soon.clone(), later.clone()]);
        assert_eq!(desk.listed("").await, vec![overdue.clone(), closed.clone(), soon.clone(), later.clone()]);
        assert_eq!(desk.listed("?status=withdrawn").await, vec![closed.clone()]);
        assert!(desk.listed("?status=withdrawn&due=open").await.is_empty());
        assert_eq!(desk.listed("?status=received&due=overdue").await, vec![overdue.clone()]);
        // Pages by due date.
        let (_, page) = desk.call(&desk.dpo, Method::GET, "/api/v1/dsr?limit=2", None).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        let cursor = page["next_cursor"].as_str().unwrap();
        assert_eq!(desk.listed(&format!("?limit=2&cursor={cursor}")).await, vec![soon.clone(), later.clone()]);
        let (_, page) = desk.call(&desk.dpo, Method::GET, "/api/v1/dsr?due=overdue", None).await;
        assert_eq!(page["items"][0]["overdue"], true);
        assert!(page["items"][0].get("email").is_none(), "the register shows no sealed value");
        for query in ["?due=someday", "?status=open", "?colour=red", "?limit=0", "?cursor=zzz"] {
            let answer = desk.call(&desk.dpo, Method::GET, &format!("/api/v1/dsr{query}"), None).await;
            assert_problem(&answer, 400, if query.starts_with("?cursor") { "invalid_cursor" } else { "invalid_query" });
        }
        assert_eq!(desk.call(&desk.support, Method::GET, "/api/v1/dsr?due=open", None).await.0, StatusCode::OK);
        assert_problem(&s.get("/api/v1/dsr").await, 403, "forbidden");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_stores_nothing_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let desk = Desk::new(&s).await;
        let contact = person(&s, "bad@example.org", "+380441110007").await;
        let unknown = uuid::Uuid::new_v4().to_string();
        for (body, code) in [
            (json!({"kind": "deletion", "contact_id": contact}), "invalid_value"),
            (json!({"contact_id": contact}), "missing_field"),
            (json!({"kind": "access"}), "missing_field"),
            (json!({"kind": "access", "contact_id": contact, "email": "bad@example.org"}), "invalid_value"),
            (json!({"kind": "access", "email": "a@example.org", "phone": "+380441110007"}), "invalid_value"),
            (json!({"kind": "access", "contact_id": contact, "received_at": "2999-01-01T00:00:00Z"}), "invalid_value"),
            (json!({"kind": "access", "contact_id": contact, "received_at": "yesterday"}), "invalid_date"),
            (json!({"kind": "access", "contact_id": contact, "colour": "red"}), "unknown_field"),
            (json!({"kind": "access", "contact_id": contact, "channel": "pigeon"}), "invalid_value"),
            (json!({"kind": "access", "contact_id": unknown}), "unknown_reference"),
            (json!({"kind": "access", "contact_id": "not-a-uuid"}), "invalid_value"),
            (json!({"kind": "access", "email": "not an address"}), "invalid_email"),
            (json!({"kind": "access", "phone": "12"}), "invalid_phone"),
            (json!({"kind": "objection", "contact_id": contact}), "missing_field"),
            (json!({"kind": "objection", "contact_id": contact, "purpose": "mind.reading"}), "invalid_value"),
            (json!({"kind": "access", "contact_id": contact, "purpose": "marketing"}), "invalid_value"),
            (json!({"kind": "access", "contact_id": contact, "note": ""}), "missing_field"),
        ] {
            let answer = desk.call(&desk.dpo, Method::POST, "/api/v1/dsr", Some(body.clone())).await;
            assert_eq!(answer.0.as_u16(), 422, "{body}: {}", answer.1);
            assert_problem(&answer, 422, code);
            assert!(!answer.1.to_string().contains("bad@example.org"), "no value echoed: {}", answer.1);
        }
        let as_text = s
            .client
            .post(s.url("/api/v1/dsr"))
            .bearer_auth(&desk.dpo)
            .header("content-type", "text/plain")
            .body("{\"kind\": \"access\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(as_text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(desk.listed("").await.is_empty(), "nothing stored");
        assert!(s.store.dsrs(&kith_store::DsrQuery { limit: 10, ..Default::default() }).await.unwrap().is_empty());
        // A sales token registers nothing either.
        let body = json!({"kind": "access", "contact_id": contact});
        assert_problem(&s.post("/api/v1/dsr", &body).await, 403, "forbidden");
        assert!(desk.listed("").await.is_empty());
        s.stop().await;
        db.cleanup().await;
    }
}

/// The e-mail address of a person nobody matched is kept only sealed:
/// it is in no file of the data directory in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmatched_address_is_sealed_at_rest() {
    let db = TestDb::new(Backend::Sqlite).await;
    let s = Server::start(&db).await;
    let desk = Desk::new(&s).await;
    let local = format!("canary{}", uuid::Uuid::new_v4().simple());
    let email = format!("{local}@example.org");
    let request = desk.register(json!({"kind": "erasure", "email": email, "note": format!("note {local}")})).await;
    assert_eq!(request["contact_id"], Value::Null);
    assert_eq!(desk.get(&request["id"]).await["email"], email.as_str());
    desk.attest(&request["id"]).await;
    let mut files = vec![db.data_dir()];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(!crate::canary::contains(&bytes, local.as_bytes()), "{} holds the address in clear", path.display());
        checked += 1;
    }
    assert!(checked >= 2, "the database files were read");
    s.stop().await;
    db.cleanup().await;
}
