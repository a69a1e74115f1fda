//! Erasure (Art. 17) on every backend, as a canary: markers planted in
//! every kind of record about one person are gone after the erasure from
//! the database files (WAL included), PostgreSQL's tables and the audit
//! storage; no index entry and no data key of the person remains; the
//! person cannot be created again without the DPO's audited override; an
//! exception to erasure blocks it until lifted; the receipt is signed with
//! the audit key and holds no value.

use crate::canary::{contains, scan_dir, scan_postgres};
use crate::harness::{assert_problem, backends, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Rows in the records database matching `sql` with one bound id.
async fn count(db: &TestDb, sql: &str, id: &str) -> i64 {
    use sqlx::{Connection, Row};
    match &db.url {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).bind(id).fetch_one(&mut conn).await.unwrap().get::<i64, _>(0)
        }
        None => {
            let options =
                sqlx::sqlite::SqliteConnectOptions::new().filename(db.data_dir().join("kith.db")).read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
            sqlx::query(sql).bind(id).fetch_one(&mut conn).await.unwrap().get::<i64, _>(0)
        }
    }
}

/// Each marker as written, lower-cased (the blind index normalises) and
/// as PostgreSQL prints bytes (hex).
fn needles(markers: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for m in markers {
        for form in [m.clone(), m.to_lowercase()] {
            out.push((form.clone(), form.as_bytes().to_vec()));
            let hex: String = form.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            out.push((format!("hex of {form}"), hex.into_bytes()));
        }
    }
    out
}

async fn call(s: &Server, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    send_as(s, token, method, path, body.as_ref()).await
}

/// Creates a contact with the override header; the answer.
async fn create_overriding(s: &Server, token: &str, body: &Value) -> (StatusCode, Value) {
    let resp = s
        .client
        .post(s.url("/api/v1/contacts"))
        .bearer_auth(token)
        .header("Kith-Override-Suppression", "the person asked to be a customer again")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_leaves_no_trace_and_suppresses_the_person_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let m: Vec<String> = (0..20).map(|i| format!("Er{i}x{}", &tag[..12])).collect();
        let digits = format!("{}", 1_000_000 + (u128::from_str_radix(&tag[..8], 16).unwrap() % 8_999_999) as u64);
        let mut markers = m.clone();
        markers.push(digits.clone());
        let email = format!("{}@example.org", m[2]);
        let phone = format!("+38044{digits}");

        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(call(&s, &dpo, Method::POST, "/api/v1/notices", Some(notice)).await.0, StatusCode::CREATED);
        // A recipient: a processor whose key reads the person (below).
        let crm = crate::harness::register_processor(&s, &dpo, "CRM Sync GmbH", "sales").await;
        let (status, key) =
            call(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(crate::harness::key_grant(&crm, "sales"))).await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        let key = key["key"].as_str().unwrap().to_string();
        // A request by the address before anyone held it: it matches no one.
        let unmatched = json!({"kind": "access", "email": email, "note": m[19]});
        let (status, unmatched) = call(&s, &dpo, Method::POST, "/api/v1/dsr", Some(unmatched)).await;
        assert_eq!((status, unmatched["contact_id"].clone()), (StatusCode::CREATED, Value::Null), "{unmatched}");

        let contact = s
            .create(
                "contacts",
                json!({"given_name": m[0], "family_name": m[1], "emails": [email], "phones": [phone],
                       "addresses": [{"street": m[3], "city": m[4]}], "job_title": m[5], "notes": m[6],
                       "tags": [m[7].to_lowercase()], "custom": {"hobby": m[8]}}),
            )
            .await;
        assert_eq!(call(&s, &key, Method::GET, &format!("/api/v1/contacts/{contact}"), None).await.0, StatusCode::OK);
        let interaction = s
            .create(
                "interactions",
                json!({"contact_id": contact, "kind": "email", "occurred_at": "2026-01-31T10:00:00Z",
                       "subject": m[9], "body": m[10]}),
            )
            .await;
        let deal = s.create("deals", json!({"contact_id": contact, "title": m[11], "stage": "lead"})).await;
        let purchase = s
            .create(
                "purchases",
                json!({"contact_id": contact, "purchased_at": "2026-01-31T10:00:00Z", "currency": "EUR",
                       "lines": [{"sku": "S1", "description": m[12], "quantity": 1, "unit_price": "5"}]}),
            )
            .await;
        // A rectification carried out: the request keeps the changes.
        let rectify = json!({"kind": "rectification", "contact_id": contact});
        let (_, rectification) = call(&s, &dpo, Method::POST, "/api/v1/dsr", Some(rectify)).await;
        let rectification = rectification["id"].as_str().unwrap().to_string();
        let attest = json!({"method": "staff_attestation", "note": "seen in person"});
        let path = format!("/api/v1/dsr/{rectification}/verify");
        assert_eq!(call(&s, &dpo, Method::POST, &path, Some(attest)).await.0, StatusCode::OK);
        let changes = json!({"changes": {"job_title": m[18]}});
        let path = format!("/api/v1/dsr/{rectification}/fulfil");
        let (status, fixed) = call(&s, &dpo, Method::POST, &path, Some(changes)).await;
        assert_eq!((status, fixed["changes"]["job_title"].clone()), (StatusCode::OK, json!(m[18])), "{fixed}");

        let consent = json!({"purpose": "sales", "granted": true, "notice_version": "1", "method": "api",
                             "evidence": {"note": m[13]}});
        let path = format!("/api/v1/contacts/{contact}/consents");
        assert_eq!(call(&s, &dpo, Method::POST, &path, Some(consent)).await.0, StatusCode::CREATED);
        let path = format!("/api/v1/contacts/{contact}/restriction");
        assert_eq!(call(&s, &dpo, Method::POST, &path, None).await.0, StatusCode::OK);
        let claim = json!({"purpose": "sales", "note": m[14]});
        let path = format!("/api/v1/contacts/{contact}/restriction/legal-claims");
        assert_eq!(call(&s, &dpo, Method::POST, &path, Some(claim)).await.0, StatusCode::CREATED);

        // The erasure request, and an earlier one by the person's address.
        let (status, earlier) =
            call(&s, &dpo, Method::POST, "/api/v1/dsr", Some(json!({"kind": "access", "email": email}))).await;
        assert_eq!(status, StatusCode::CREATED, "{earlier}");
        assert_eq!(earlier["contact_id"], contact.as_str());
        let register = json!({"kind": "erasure", "contact_id": contact, "note": m[15]});
        let (status, request) = call(&s, &dpo, Method::POST, "/api/v1/dsr", Some(register)).await;
        assert_eq!(status, StatusCode::CREATED, "{request}");
        let id = request["id"].as_str().unwrap().to_string();
        let attest = json!({"method": "staff_attestation", "note": m[16]});
        let (status, verified) = call(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/verify"), Some(attest)).await;
        assert_eq!(status, StatusCode::OK, "{verified}");

        // A legal hold stops the erasure until the DPO lifts it.
        let holds = format!("/api/v1/contacts/{contact}/erasure-exceptions");
        let hold = json!({"ground": "legal_claims", "note": m[17]});
        assert_problem(&call(&s, &s.token, Method::POST, &holds, Some(hold.clone())).await, 403, "forbidden");
        let bad = json!({"ground": "because", "note": "x"});
        assert_eq!(call(&s, &dpo, Method::POST, &holds, Some(bad)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, held) = call(&s, &dpo, Method::POST, &holds, Some(hold)).await;
        assert_eq!(status, StatusCode::CREATED, "{held}");
        let (status, listed) = call(&s, &dpo, Method::GET, &holds, None).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        assert_eq!(
            (listed["items"][0]["ground"].clone(), listed["items"][0]["note"].clone()),
            (json!("legal_claims"), json!(m[17]))
        );
        assert_eq!(call(&s, &s.token, Method::GET, &holds, None).await.0, StatusCode::FORBIDDEN);
        let fulfil = format!("/api/v1/dsr/{id}/fulfil");
        assert_problem(&call(&s, &dpo, Method::POST, &fulfil, None).await, 409, "erasure_exception");
        let (status, seen) = call(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{contact}"), None).await;
        assert_eq!(status, StatusCode::OK, "nothing was erased: {seen}");
        // The hold keeps the data from a plain deletion too, the DPO's included,
        // of the person and of what is about them.
        let plain = format!("/api/v1/contacts/{contact}");
        assert_problem(&call(&s, &dpo, Method::DELETE, &plain, None).await, 409, "erasure_exception");
        let about = format!("/api/v1/interactions/{interaction}");
        assert_problem(&call(&s, &dpo, Method::DELETE, &about, None).await, 409, "erasure_exception");
        assert_eq!(call(&s, &s.token, Method::DELETE, &holds, None).await.0, StatusCode::FORBIDDEN);
        assert_eq!(call(&s, &dpo, Method::DELETE, &holds, None).await.0, StatusCode::NO_CONTENT);

        let (status, done) = call(&s, &dpo, Method::POST, &fulfil, None).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["status"], "completed");
        let receipt = &done["receipt"];
        let categories = &receipt["categories"];
        for (category, n) in [
            ("contacts", 1),
            ("interactions", 1),
            ("deals", 1),
            ("purchases", 1),
            ("consents", 1),
            ("restrictions", 1),
            ("legal_claims", 1),
        ] {
            assert_eq!(categories[category], n, "{category}: {receipt}");
        }
        assert_eq!(receipt["data_key_destroyed"], true);
        assert_eq!(receipt["suppressed_terms"], 2);
        assert_eq!(receipt["request_id"], id.as_str());

        // The receipt verifies with the audit key and holds no value.
        let (status, stored) = call(&s, &dpo, Method::GET, &format!("/api/v1/dsr/{id}/receipt"), None).await;
        assert_eq!(status, StatusCode::OK, "{stored}");
        let note = stored["note"].as_str().unwrap();
        let verifier = kith_crypto::audit_key::load(&db.data_dir().join("audit.key")).unwrap().verifier();
        let body = verifier.open(note).expect("the receipt is signed with the audit key");
        assert!(body.starts_with("kith erasure receipt v1\n"), "{body}");
        let signed: Value = serde_json::from_str(body.lines().nth(1).unwrap()).unwrap();
        assert_eq!(signed["categories"], *categories);
        assert!(verifier.open(&note.replace("\"contacts\":1", "\"contacts\":0")).is_err(), "a changed receipt fails");
        assert_eq!(call(&s, &s.token, Method::GET, &format!("/api/v1/dsr/{id}/receipt"), None).await.0, 403);

        // Art. 19: the key's recipient is to be told.
        let (status, tasks) = call(&s, &dpo, Method::GET, &format!("/api/v1/dsr/{id}/notifications"), None).await;
        assert_eq!(status, StatusCode::OK, "{tasks}");
        assert_eq!(tasks["items"].as_array().unwrap().len(), 1, "{tasks}");
        assert_eq!(
            (tasks["items"][0]["recipient"].clone(), tasks["items"][0]["status"].clone()),
            (json!("CRM Sync GmbH"), json!("pending"))
        );

        // The requests stay, without anything the person gave: every request
        // about them or by their address lost its key and its details.
        assert_eq!(categories["request_details"], 4, "{receipt}");
        let requests = [unmatched["id"].as_str().unwrap(), earlier["id"].as_str().unwrap(), &rectification, &id];
        for request in requests {
            let (status, kept) = call(&s, &dpo, Method::GET, &format!("/api/v1/dsr/{request}"), None).await;
            assert_eq!(status, StatusCode::OK, "{kept}");
            assert!(kept["details_erased_at"].is_string(), "{kept}");
            for field in ["email", "phone", "note", "attestation", "changes"] {
                assert_eq!(kept[field], Value::Null, "{field}: {kept}");
            }
            assert_eq!(count(&db, "SELECT COUNT(*) FROM data_keys WHERE subject_id = $1", request).await, 0);
            let sql = "SELECT COUNT(*) FROM dsr_requests WHERE id = $1 AND given_term IS NULL";
            assert_eq!(count(&db, sql, request).await, 1, "no term is left");
        }
        // Staff may still write on such a request: it gets a new key.
        let refuse = json!({"grounds": "manifestly unfounded"});
        let path = format!("/api/v1/dsr/{}/refuse", unmatched["id"].as_str().unwrap());
        let (status, refused) = call(&s, &dpo, Method::POST, &path, Some(refuse)).await;
        assert_eq!((status, refused["refusal"]["grounds"].clone()), (StatusCode::OK, json!("manifestly unfounded")));
        let path = format!("/api/v1/dsr/{}", unmatched["id"].as_str().unwrap());
        let (_, again) = call(&s, &dpo, Method::GET, &path, None).await;
        assert_eq!(
            (again["refusal"]["grounds"].clone(), again["note"].clone()),
            (json!("manifestly unfounded"), Value::Null)
        );

        // Nothing about the person is left.
        assert_eq!(call(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{contact}"), None).await.0, 404);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM data_keys WHERE subject_id = $1", &contact).await, 0);
        for record in [&contact, &interaction, &deal, &purchase] {
            assert_eq!(count(&db, "SELECT COUNT(*) FROM blind_index WHERE record_id = $1", record).await, 0);
        }
        for table in ["consents", "restrictions", "legal_claims", "erasure_exceptions"] {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE contact_id = $1");
            assert_eq!(count(&db, &sql, &contact).await, 0, "{table}");
        }

        if db.url.is_some() {
            // VACUUM ran after the erasure: dead tuples do not keep the rows.
            let sql = "SELECT COUNT(*) FROM pg_stat_user_tables \
                       WHERE schemaname = current_schema() AND relname = $1 AND last_vacuum IS NOT NULL";
            assert_eq!(count(&db, sql, "data_keys").await, 1, "data_keys was vacuumed");
            assert_eq!(count(&db, sql, "dsr_requests").await, 1, "dsr_requests was vacuumed");
        }

        // The audit log names the categories, never a value.
        let (_, log) =
            call(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={contact}&limit=500"), None).await;
        let erased =
            log["items"].as_array().unwrap().iter().find(|e| {
                e["action"] == "delete" && e["entity"] == "contacts" && e["request_id"] == format!("dsr:{id}")
            });
        let erased = erased.unwrap_or_else(|| panic!("an erasure event: {log}"));
        assert!(erased["fields"].as_array().unwrap().contains(&json!("contacts:1")), "{erased}");
        assert_eq!(erased["outcome"], "ok");

        // Not created again: by e-mail, by phone; only the DPO may override, audited.
        let again = json!({"given_name": "Again", "emails": [email.to_uppercase()]});
        assert_problem(&s.post("/api/v1/contacts", &again).await, 409, "suppressed_after_erasure");
        let by_phone = json!({"given_name": "Again", "phones": [phone]});
        assert_problem(&s.post("/api/v1/contacts", &by_phone).await, 409, "suppressed_after_erasure");
        // Nor as a company's address or number.
        let company = json!({"name": "Front Ltd", "emails": [email], "phones": [phone]});
        assert_problem(&s.post("/api/v1/companies", &company).await, 409, "suppressed_after_erasure");
        let other = s.create("contacts", json!({"given_name": "Other", "emails": ["other@example.org"]})).await;
        let patch = json!({"phones": [phone]});
        assert_problem(&s.patch(&format!("/api/v1/contacts/{other}"), &patch).await, 409, "suppressed_after_erasure");
        assert_problem(&create_overriding(&s, &s.token, &again).await, 403, "forbidden");
        let (status, back) = create_overriding(&s, &dpo, &again).await;
        assert_eq!(status, StatusCode::CREATED, "{back}");
        let back_id = back["id"].as_str().unwrap();
        let (_, log) = call(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={back_id}"), None).await;
        assert!(
            log["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "create"
                    && e["fields"].as_array().unwrap().contains(&json!("override:suppression"))),
            "{log}"
        );
        assert!(!log.to_string().contains("asked to be a customer"), "the reason is not audited: {log}");

        // Scans: the data directory (database, WAL, audit database) and
        // PostgreSQL's tables, the audit log included.
        let needles = needles(&markers);
        for text in [receipt.to_string(), note.to_string(), log.to_string()] {
            for (name, needle) in &needles {
                assert!(!contains(text.as_bytes(), needle), "{name} in {text}");
            }
        }
        let (mut found, mut scanned) = (Vec::new(), Vec::new());
        scan_dir(db.dir.path(), &needles, &mut found, &mut scanned);
        if backend == crate::harness::Backend::Sqlite {
            assert!(scanned.iter().any(|f| f == "kith.db"), "{scanned:?}");
        }
        if let Some(url) = &db.url {
            scan_postgres(url, &needles, &mut found).await;
        }
        assert!(found.is_empty(), "markers left: {found:?}");
        s.stop().await;
        // After the server stopped too (the WAL checkpointed into the file).
        let (mut found, mut scanned) = (Vec::new(), Vec::new());
        scan_dir(db.dir.path(), &needles, &mut found, &mut scanned);
        assert!(found.is_empty(), "markers left: {found:?}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_variants_of_an_erased_address_stay_suppressed_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        // Stored in NFD, found in NFC and full-width.
        let contact =
            s.create("contacts", json!({"given_name": "Olena", "emails": ["Ole\u{301}na@Example.org"]})).await;
        for lookup in
            ["ol%C3%A9na%40example.org", "%EF%BC%AFl%C3%A9na%40example.org", "OL%C3%89NA%40EXAMPLE%EF%BC%8EORG"]
        {
            let (status, found) = s.get(&format!("/api/v1/contacts?email={lookup}")).await;
            assert_eq!(status, StatusCode::OK, "{found}");
            assert_eq!(found["items"].as_array().unwrap().len(), 1, "{lookup}: {found}");
        }
        let (_, request) =
            call(&s, &dpo, Method::POST, "/api/v1/dsr", Some(json!({"kind": "erasure", "contact_id": contact}))).await;
        let id = request["id"].as_str().unwrap();
        let attest = json!({"method": "staff_attestation", "note": "seen"});
        call(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/verify"), Some(attest)).await;
        let (status, done) = call(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/fulfil"), None).await;
        assert_eq!(status, StatusCode::OK, "{done}");

        for variant in [
            "ol\u{e9}na@example.org",
            "Ole\u{301}na@example.org",
            "OL\u{c9}NA@EXAMPLE.ORG",
            "\u{ff2f}l\u{e9}na@example.org",
            "ol\u{e9}na@\u{ff45}xample.org",
            "ol\u{e9}na@example\u{ff0e}org",
        ] {
            let again = json!({"given_name": "Again", "emails": [variant]});
            assert_problem(&s.post("/api/v1/contacts", &again).await, 409, "suppressed_after_erasure");
        }
        for invisible in [
            "ol\u{200b}\u{e9}na@example.org",
            "ol\u{e9}\u{ad}na@example.org",
            "\u{feff}ol\u{e9}na@example.org",
            "ol\u{e9}na\u{200d}@example.org",
            "ol\u{e9}na@exa\u{200e}mple.org",
        ] {
            let again = json!({"given_name": "Again", "emails": [invisible]});
            assert_problem(&s.post("/api/v1/contacts", &again).await, 422, "invalid_email");
        }
        s.stop().await;
        db.cleanup().await;
    }
}
