//! Public consent capture: forms, double opt-in with expiring tokens, the
//! Global Privacy Control signal, rate limits, strict input, and nothing
//! personal in clear while a submission waits.

use crate::canary::{contains, scan_dir, scan_postgres};
use crate::harness::{assert_problem, backends, send_as, token_for, Backend, Server, TestDb};
use kith_server::config::CaptureSettings;
use kith_server::config::Rate;
use kith_server::config::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const EMAIL: &str = "marketing.communications.email";
const ANALYTICS: &str = "analytics.reporting";

/// A server with a notice and a form asking for e-mail marketing and analytics.
struct Capture {
    db: TestDb,
    s: Server,
    dpo: String,
    form: String,
}

impl Capture {
    async fn start(backend: Backend, capture: CaptureSettings) -> Self {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, ServerConfig { capture, ..Default::default() }).await;
        let dpo = token_for(&s, "dpo").await;
        let notice = json!({"version": "n1", "text": "We write to you about offers and count visits."});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let mut c = Self { db, s, dpo, form: String::new() };
        c.form = c.add_form("newsletter", &[EMAIL, ANALYTICS]).await;
        c
    }

    async fn add_form(&self, name: &str, purposes: &[&str]) -> String {
        let body = json!({"name": name, "purposes": purposes, "notice_version": "n1"});
        let (status, form) = send_as(&self.s, &self.dpo, Method::POST, "/api/v1/forms", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{form}");
        form["key"].as_str().unwrap().to_string()
    }

    /// Posts without a token, with one `Sec-GPC` header per value given.
    async fn public(
        &self,
        path: &str,
        body: Option<&Value>,
        gpc: &[&str],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut req = self.s.client.post(self.s.url(path)).header("user-agent", "capture-test/1");
        for value in gpc {
            req = req.header("sec-gpc", *value);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, resp.json().await.unwrap_or(Value::Null), headers)
    }

    async fn submit_to(&self, form: &str, body: &Value, gpc: &[&str]) -> (StatusCode, Value) {
        let (status, value, _) =
            self.public(&format!("/api/v1/public/forms/{form}/submissions"), Some(body), gpc).await;
        (status, value)
    }

    async fn submit(&self, body: &Value, gpc: &[&str]) -> (StatusCode, Value) {
        self.submit_to(&self.form, body, gpc).await
    }

    async fn confirm(&self, token: &str, gpc: &[&str]) -> (StatusCode, Value) {
        let (status, value, _) = self.public(&format!("/api/v1/public/confirmations/{token}"), None, gpc).await;
        (status, value)
    }

    /// Every message waiting in the outbox (which empties it).
    async fn claim(&self) -> Vec<Value> {
        let (status, page) = send_as(&self.s, &self.dpo, Method::POST, "/api/v1/outbox/claim", None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// The token sent to `to`, from one claim.
    async fn token_for(&self, to: &str) -> String {
        let messages = self.claim().await;
        let message = messages.iter().find(|m| m["to"] == to).unwrap_or_else(|| panic!("no message to {to}"));
        message["token"].as_str().unwrap().to_string()
    }

    async fn contact_by_email(&self, email: &str) -> Vec<Value> {
        let (status, page) =
            send_as(&self.s, &self.dpo, Method::GET, &format!("/api/v1/contacts?email={email}"), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    async fn ledger(&self, contact: &str) -> Vec<Value> {
        let (status, ledger) =
            send_as(&self.s, &self.dpo, Method::GET, &format!("/api/v1/contacts/{contact}/consents"), None).await;
        assert_eq!(status, StatusCode::OK, "{ledger}");
        ledger["ledger"].as_array().unwrap().clone()
    }

    async fn keys(&self) -> usize {
        self.s.store.keys_after(None, 100_000).await.unwrap().len()
    }

    async fn stop(self) {
        self.s.stop().await;
        self.db.cleanup().await;
    }
}

fn settings() -> CaptureSettings {
    CaptureSettings { per_client: Rate { per_minute: 600, burst: 200 }, ..Default::default() }
}

fn address(tag: &str) -> String {
    format!("{tag}.{}@example.org", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_opt_in_on_every_backend() {
    for backend in backends() {
        let capture = CaptureSettings { confirm_url: Some("https://example.org/confirm#{token}".into()), ..settings() };
        let c = Capture::start(backend, capture).await;
        let s = &c.s;

        // Forms: admin and DPO manage them; purposes and notice must exist.
        let form = json!({"name": "x", "purposes": [EMAIL], "notice_version": "n1"});
        assert_problem(&s.post("/api/v1/forms", &form).await, 403, "forbidden");
        for (bad, code) in [
            (json!({"name": "x", "purposes": ["marketing.mind_reading"], "notice_version": "n1"}), "unknown_reference"),
            (json!({"name": "x", "purposes": [EMAIL], "notice_version": "1999"}), "unknown_reference"),
            (json!({"name": "x", "purposes": [], "notice_version": "n1"}), "invalid_value"),
            (json!({"name": "x", "purposes": [EMAIL], "notice_version": "n1", "secret": true}), "unknown_field"),
        ] {
            assert_problem(&send_as(s, &c.dpo, Method::POST, "/api/v1/forms", Some(&bad)).await, 422, code);
        }
        assert!(c.form.starts_with("form_") && c.form.len() > 20, "{}", c.form);
        let (_, forms) = send_as(s, &c.dpo, Method::GET, "/api/v1/forms", None).await;
        assert_eq!(forms["items"][0]["key"], c.form.as_str());
        assert_eq!(forms["items"][0]["purposes"], json!([EMAIL, ANALYTICS]));

        // The same answer for a new address and a known one.
        let known = address("known");
        let existing = s.create("contacts", json!({"given_name": "Known", "emails": [known]})).await;
        let new = address("new");
        let keys_before = c.keys().await;
        let answer_new = c.submit(&json!({"email": new, "given_name": "Nova", "purposes": [EMAIL]}), &[]).await;
        let answer_known = c.submit(&json!({"email": known, "given_name": "Other name"}), &[]).await;
        assert_eq!(answer_new.0, StatusCode::ACCEPTED, "{}", answer_new.1);
        assert_eq!(answer_new, answer_known, "a known address is not told apart");
        assert_eq!(answer_new.1, json!({"status": "confirmation_sent"}));
        assert_eq!(c.keys().await, keys_before + 2, "each submission waits under a key of its own");
        assert_eq!(c.contact_by_email(&new).await.len(), 0, "nothing is a contact before confirmation");

        // The outbox hands each message out once, with the token and link.
        let messages = c.claim().await;
        assert_eq!(messages.len(), 2, "{messages:?}");
        let to_new = messages.iter().find(|m| m["to"] == new.as_str()).unwrap();
        let token = to_new["token"].as_str().unwrap().to_string();
        assert!(token.len() >= 43);
        assert_eq!(to_new["confirm_url"], format!("https://example.org/confirm#{token}"));
        assert!(to_new["text"].as_str().unwrap().contains(&format!("https://example.org/confirm#{token}")));
        assert!(to_new["subject"].is_string());
        let token_known =
            messages.iter().find(|m| m["to"] == known.as_str()).unwrap()["token"].as_str().unwrap().to_string();
        assert!(c.claim().await.is_empty(), "claimed messages are deleted");
        assert_problem(&s.post("/api/v1/outbox/claim", &json!({})).await, 403, "forbidden");

        // Confirming a new address creates the person with the chosen purposes.
        assert_eq!(c.confirm(&token, &[]).await, (StatusCode::OK, json!({"status": "confirmed"})));
        assert_eq!(c.keys().await, keys_before + 2, "the used submission's key is gone, the new person has one");
        let created = c.contact_by_email(&new).await;
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["given_name"], "Nova");
        assert_eq!(created[0]["owner"], "capture");
        let person = created[0]["id"].as_str().unwrap();
        let ledger = c.ledger(person).await;
        assert_eq!(ledger.len(), 1, "only the purpose chosen: {ledger:?}");
        let entry = &ledger[0];
        assert_eq!(entry["purpose"], EMAIL);
        assert_eq!(entry["granted"], true);
        assert_eq!(entry["method"], "double_opt_in");
        assert_eq!(entry["notice_version"], "n1");
        assert_eq!(entry["source"], "newsletter");
        assert_eq!(entry["recorded_by"], "capture");
        for field in ["client", "user_agent", "submitted_at", "confirmed_at", "confirm_client", "form"] {
            assert!(!entry["evidence"][field].is_null(), "evidence.{field}: {entry}");
        }
        assert_eq!(entry["evidence"]["user_agent"], "capture-test/1");
        assert_eq!(entry["evidence"]["form"], c.form.as_str());
        assert!(entry["evidence"].get("signal").is_none());

        // Confirming a known address extends that person's ledger; no duplicate, no change to them.
        assert_eq!(c.confirm(&token_known, &[]).await.0, StatusCode::OK);
        assert_eq!(c.keys().await, keys_before + 1, "no key for a person already known");
        let same = c.contact_by_email(&known).await;
        assert_eq!(same.len(), 1, "{same:?}");
        assert_eq!(same[0]["id"], existing.as_str());
        assert_eq!(same[0]["given_name"], "Known", "a form does not overwrite what is known");
        let ledger = c.ledger(&existing).await;
        let purposes: Vec<&str> = ledger.iter().map(|e| e["purpose"].as_str().unwrap()).collect();
        assert_eq!(purposes, [EMAIL, ANALYTICS], "all the form's purposes by default");

        // A token works once; used, unknown and malformed tokens get one answer.
        let used = c.confirm(&token, &[]).await;
        assert_problem(&(used.0, used.1.clone()), 410, "confirmation_expired");
        assert_eq!(c.confirm("unknown-token", &[]).await, used);
        assert_eq!(c.confirm(&"x".repeat(300), &[]).await, used);
        assert_eq!(c.ledger(person).await.len(), 1, "a second confirmation added nothing");

        // Audited under the form's name, never with a value.
        let (_, log) =
            send_as(s, &c.dpo, Method::GET, &format!("/api/v1/audit?actor=public:form:{}", c.form), None).await;
        let actions: Vec<&str> =
            log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        for action in ["create", "consent_change", "read", "delete"] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
        assert!(!log.to_string().contains(&new) && !log.to_string().contains("Nova"));

        // A disabled form takes nothing more, and its pending confirmations stop.
        let later = address("later");
        assert_eq!(c.submit(&json!({"email": later}), &[]).await.0, StatusCode::ACCEPTED);
        let later_token = c.token_for(&later).await;
        let path = format!("/api/v1/forms/{}", c.form);
        assert_eq!(s.delete(&path).await.0, StatusCode::FORBIDDEN);
        assert_eq!(send_as(s, &c.dpo, Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
        assert_problem(&send_as(s, &c.dpo, Method::DELETE, &path, None).await, 404, "not_found");
        assert_problem(&c.submit(&json!({"email": address("x")}), &[]).await, 404, "not_found");
        assert_problem(&c.submit_to("form_nosuchform", &json!({"email": address("x")}), &[]).await, 404, "not_found");
        assert_problem(&c.confirm(&later_token, &[]).await, 410, "confirmation_expired");
        assert!(c.contact_by_email(&later).await.is_empty());
        let (_, forms) = send_as(s, &c.dpo, Method::GET, "/api/v1/forms", None).await;
        assert!(forms["items"][0]["disabled_at"].is_string(), "the form is kept, disabled: {forms}");
        c.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_opt_in_expires_on_every_backend() {
    for backend in backends() {
        let c = Capture::start(backend, CaptureSettings { confirmation_ttl_seconds: 1, ..settings() }).await;
        let keys_before = c.keys().await;
        let (a, b) = (address("a"), address("b"));
        assert_eq!(c.submit(&json!({"email": a}), &[]).await.0, StatusCode::ACCEPTED);
        let token_a = c.token_for(&a).await;
        assert_eq!(c.submit(&json!({"email": b}), &[]).await.0, StatusCode::ACCEPTED);
        assert_eq!(c.keys().await, keys_before + 2);
        tokio::time::sleep(Duration::from_millis(1300)).await;

        // An expired token confirms nothing, and its submission is gone.
        assert_problem(&c.confirm(&token_a, &[]).await, 410, "confirmation_expired");
        assert!(c.contact_by_email(&a).await.is_empty());
        // The next public request sweeps the rest: b's key and unclaimed message go.
        let d = address("d");
        assert_eq!(c.submit(&json!({"email": d}), &[]).await.0, StatusCode::ACCEPTED);
        assert_eq!(c.keys().await, keys_before + 1, "only d's submission is still waiting");
        let waiting: Vec<Value> = c.claim().await;
        assert_eq!(waiting.len(), 1, "{waiting:?}");
        assert_eq!(waiting[0]["to"], d.as_str());
        let (_, log) =
            send_as(&c.s, &c.dpo, Method::GET, "/api/v1/audit?actor=system:expiry&action=delete", None).await;
        assert_eq!(log["items"].as_array().unwrap().len(), 1, "the sweep is audited: {log}");
        // In time, d still confirms.
        let token_d = waiting[0]["token"].as_str().unwrap();
        assert_eq!(c.confirm(token_d, &[]).await.0, StatusCode::OK);
        assert_eq!(c.contact_by_email(&d).await.len(), 1);
        c.stop().await;
    }
}

/// `Sec-GPC: 1` on the submission or the confirmation objects to sale,
/// sharing and marketing; only an exact `1` is the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpc_variants_on_every_backend() {
    for backend in backends() {
        let c = Capture::start(backend, settings()).await;
        // (case, headers on submission, headers on confirmation, whether it is the signal)
        let cases: [(&str, &[&str], &[&str], bool); 9] = [
            ("one", &["1"], &[], true),
            ("zero", &["0"], &[], false),
            ("absent", &[], &[], false),
            ("repeated", &["0", "1"], &[], true),
            ("garbage", &["yes"], &[], false),
            ("true", &["true"], &[], false),
            ("padded", &[" 1 "], &[], true),
            ("zero-one", &["01"], &[], false),
            ("on-confirmation", &[], &["1"], true),
        ];
        let marketing = token_for(&c.s, "marketing").await;
        let mut expected_in_marketing_list = Vec::new();
        for (case, on_submit, on_confirm, signal) in cases {
            let email = address(case);
            assert_eq!(c.submit(&json!({"email": email}), on_submit).await.0, StatusCode::ACCEPTED, "{case}");
            let token = c.token_for(&email).await;
            assert_eq!(c.confirm(&token, on_confirm).await.0, StatusCode::OK, "{case}");
            let person = c.contact_by_email(&email).await[0]["id"].as_str().unwrap().to_string();
            let ledger = c.ledger(&person).await;
            let entry = |purpose: &str| ledger.iter().find(|e| e["purpose"] == purpose).unwrap().clone();
            assert_eq!(entry(EMAIL)["granted"], !signal, "{case}: {ledger:?}");
            assert_eq!(entry(ANALYTICS)["granted"], true, "{case}: the signal does not touch analytics");
            assert_eq!(entry(EMAIL)["method"], "double_opt_in");
            let id = uuid::Uuid::parse_str(&person).unwrap();
            let status =
                c.s.store
                    .statuses(&[id], &*kith_server::consent_seal::sealer(&c.s.keys))
                    .await
                    .unwrap()
                    .remove(&id)
                    .unwrap();
            if signal {
                assert_eq!(entry(EMAIL)["evidence"]["signal"], "Sec-GPC: 1", "{case}");
                let objections: Vec<&str> = status.objections.iter().map(String::as_str).collect();
                assert_eq!(objections, ["marketing", "third_party_sharing"], "{case}");
            } else {
                assert!(entry(EMAIL)["evidence"].get("signal").is_none(), "{case}");
                assert!(status.objections.is_empty(), "{case}");
                expected_in_marketing_list.push(person.clone());
            }
        }
        // Marketing lists leave out everyone who sent the signal.
        let (status, page) = send_as(&c.s, &marketing, Method::GET, "/api/v1/contacts?limit=200", None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut listed: Vec<String> =
            page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
        listed.sort();
        expected_in_marketing_list.sort();
        assert_eq!(listed, expected_in_marketing_list);
        let resp =
            c.s.client
                .get(c.s.url("/api/v1/contacts?limit=200"))
                .bearer_auth(&marketing)
                .header("kith-purpose", EMAIL)
                .send()
                .await
                .unwrap();
        let page: Value = resp.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), expected_in_marketing_list.len());

        // The site says it honours the signal.
        let resp = c.s.client.get(c.s.url("/.well-known/gpc.json")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.json::<Value>().await.unwrap(), json!({"gpc": true, "lastUpdate": "2026-11-29"}));
        c.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_endpoints_are_rate_limited_on_every_backend() {
    for backend in backends() {
        let per_client = CaptureSettings { per_client: Rate { per_minute: 1, burst: 3 }, ..Default::default() };
        let c = Capture::start(backend, per_client).await;
        for _ in 0..3 {
            assert_eq!(c.submit(&json!({"email": address("r")}), &[]).await.0, StatusCode::ACCEPTED);
        }
        let path = format!("/api/v1/public/forms/{}/submissions", c.form);
        let (status, problem, headers) = c.public(&path, Some(&json!({"email": address("r")})), &[]).await;
        assert_problem(&(status, problem), 429, "rate_limited");
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_problem(&c.confirm("anything", &[]).await, 429, "rate_limited");
        assert_eq!(c.claim().await.len(), 3, "the refused submission stored nothing");
        let gpc = c.s.client.get(c.s.url("/.well-known/gpc.json")).send().await.unwrap();
        assert_eq!(gpc.status(), StatusCode::OK, "gpc.json is not limited");
        c.stop().await;

        // Per form: one form's flood does not stop another form.
        let per_form = CaptureSettings { per_form: Rate { per_minute: 1, burst: 2 }, ..settings() };
        let c = Capture::start(backend, per_form).await;
        let other = c.add_form("other", &[EMAIL]).await;
        for _ in 0..2 {
            assert_eq!(c.submit(&json!({"email": address("f")}), &[]).await.0, StatusCode::ACCEPTED);
        }
        assert_problem(&c.submit(&json!({"email": address("f")}), &[]).await, 429, "rate_limited");
        assert_eq!(c.submit_to(&other, &json!({"email": address("f")}), &[]).await.0, StatusCode::ACCEPTED);
        c.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_submissions_store_nothing_on_every_backend() {
    for backend in backends() {
        let c = Capture::start(backend, settings()).await;
        let keys_before = c.keys().await;
        let email = address("bad");
        for (body, code) in [
            (json!({"email": email, "phone": "+380441234567"}), "unknown_field"),
            (json!({"email": format!("not an address {email}")}), "invalid_email"),
            (json!({"given_name": "No address"}), "missing_field"),
            (json!({"email": email, "purposes": ["essential.service"]}), "invalid_value"),
            (json!({"email": email, "purposes": []}), "invalid_value"),
            (json!({"email": email, "given_name": 5}), "invalid_type"),
            (json!([email]), "invalid_type"),
        ] {
            let answer = c.submit(&body, &["1"]).await;
            assert_problem(&answer, 422, code);
            assert!(!answer.1.to_string().contains(&email), "the value is not echoed: {}", answer.1);
        }
        let resp =
            c.s.client
                .post(c.s.url(&format!("/api/v1/public/forms/{}/submissions", c.form)))
                .header("content-type", "text/plain")
                .body(format!("{{\"email\": \"{email}\"}}"))
                .send()
                .await
                .unwrap();
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(c.keys().await, keys_before, "no submission was kept");
        assert!(c.claim().await.is_empty(), "no message was queued");
        c.stop().await;
    }
}

/// Markers submitted in a name and an e-mail address never appear in clear
/// in the data directory or PostgreSQL, while waiting or after confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_submitted_value_in_clear_on_every_backend() {
    for backend in backends() {
        let c = Capture::start(backend, settings()).await;
        let name = format!("Mk{}", uuid::Uuid::new_v4().simple());
        let local = format!("Mk{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let email = format!("{local}@example.org");
        let mut needles = Vec::new();
        for marker in [&name, &local] {
            for form in [marker.clone(), marker.to_lowercase()] {
                let hex: String = form.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
                needles.push((format!("hex of {form}"), hex.into_bytes()));
                needles.push((form.clone(), form.into_bytes()));
            }
        }
        let scan = |stage: &'static str| {
            let (dir, url, needles) = (c.db.data_dir(), c.db.url.clone(), needles.clone());
            async move {
                let mut found = Vec::new();
                scan_dir(&dir, &needles, &mut found, &mut Vec::new());
                if let Some(url) = url {
                    scan_postgres(&url, &needles, &mut found).await;
                }
                assert!(found.is_empty(), "{stage}: personal values in clear: {found:?}");
            }
        };
        let answer = c.submit(&json!({"email": email, "given_name": name}), &["1"]).await;
        assert_eq!(answer.0, StatusCode::ACCEPTED);
        for (label, needle) in &needles {
            assert!(!contains(answer.1.to_string().as_bytes(), needle), "{label} echoed");
        }
        scan("waiting").await;
        let token = c.token_for(&email).await;
        scan("claimed").await;
        assert_eq!(c.confirm(&token, &[]).await.0, StatusCode::OK);
        scan("confirmed").await;
        c.stop().await;
    }
}

/// A web form cannot record a guardian: a known child's grants are not
/// recorded through it, while an adult's are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_records_no_consent_for_a_known_child_on_every_backend() {
    for backend in backends() {
        let c = Capture::start(backend, settings()).await;
        let year = time::OffsetDateTime::now_utc().year();
        let (kid, adult) = (address("kid"), address("adult"));
        let mut ids = Vec::new();
        for (email, born) in [(&kid, year - 11), (&adult, year - 40)] {
            let body = json!({"given_name": "Known", "emails": [email], "birthday": format!("{born}-03-01")});
            let (status, created) = send_as(&c.s, &c.dpo, Method::POST, "/api/v1/contacts", Some(&body)).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            ids.push(created["id"].as_str().unwrap().to_string());
            assert_eq!(c.submit(&json!({"email": email}), &[]).await.0, StatusCode::ACCEPTED);
            let token = c.token_for(email).await;
            assert_eq!(c.confirm(&token, &[]).await.0, StatusCode::OK, "the answer does not tell");
        }
        assert!(c.ledger(&ids[0]).await.is_empty(), "no consent without a guardian");
        assert_eq!(c.ledger(&ids[1]).await.len(), 2, "the adult's two purposes");
        c.stop().await;
    }
}

/// An erased person's address confirming a form: nothing is recorded, and
/// the answers are the ones anybody gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_address_is_not_captured_again_on_every_backend() {
    for backend in backends() {
        let c = Capture::start(backend, settings()).await;
        let s = &c.s;
        let erased = address("erased");
        let person = s.create("contacts", json!({"given_name": "Gone", "emails": [erased]})).await;
        let (status, request) =
            send_as(s, &c.dpo, Method::POST, "/api/v1/dsr", Some(&json!({"kind": "erasure", "contact_id": person})))
                .await;
        assert_eq!(status, StatusCode::CREATED, "{request}");
        let id = request["id"].as_str().unwrap();
        let attest = json!({"method": "staff_attestation", "note": "called back"});
        let verify = format!("/api/v1/dsr/{id}/verify");
        assert_eq!(send_as(s, &c.dpo, Method::POST, &verify, Some(&attest)).await.0, StatusCode::OK);
        let fulfil = format!("/api/v1/dsr/{id}/fulfil");
        assert_eq!(send_as(s, &c.dpo, Method::POST, &fulfil, None).await.0, StatusCode::OK);

        let fresh = address("fresh");
        let submitted = c.submit(&json!({"email": erased, "purposes": [EMAIL]}), &[]).await;
        assert_eq!(submitted, c.submit(&json!({"email": fresh, "purposes": [EMAIL]}), &[]).await);
        let messages = c.claim().await;
        let token = |to: &str| messages.iter().find(|m| m["to"] == to).unwrap()["token"].as_str().unwrap().to_string();
        let confirmed = c.confirm(&token(&erased), &[]).await;
        assert_eq!(confirmed, c.confirm(&token(&fresh), &[]).await, "the same answer");
        assert_eq!(confirmed, (StatusCode::OK, json!({"status": "confirmed"})));
        assert_eq!(c.contact_by_email(&erased).await.len(), 0, "the erased person is not created again");
        assert_eq!(c.contact_by_email(&fresh).await.len(), 1);
        c.stop().await;
    }
}
