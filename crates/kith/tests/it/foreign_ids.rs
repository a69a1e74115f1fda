//! Ids of the wrong kind change nothing. A segment deletion once took any
//! id and destroyed the data key of whatever row had it (a contact, a staff
//! account). Every store method that takes an id must touch only a row of
//! its own kind: this sweep calls each with the id of every row of every
//! other kind and compares a dump of the whole database before and after.

use crate::harness::{assert_problem, backends, send_as, token_for, Server, TestDb};
use kith_core::EntityKind;
use kith_store::{
    ConsentRow, DynStore, ErasureExceptionRow, ErasureOrder, LegalClaimRow, LockoutRule, NewRecord, NotificationRow,
    RecordUpdate, SessionRow,
};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::{Connection, Row};
use uuid::Uuid;

const PASSWORD: &str = "violet-harbour-lantern-92";

/// Every row of every table of the records database, as text, in a fixed order.
async fn dump(db: &TestDb) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match &db.url {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let tables = sqlx::query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for t in tables {
                let table: String = t.get(0);
                let sql = format!("SELECT COALESCE(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t");
                let rows: String = sqlx::query(&sql).fetch_one(&mut conn).await.unwrap().get(0);
                out.push((table, rows));
            }
        }
        None => {
            let options =
                sqlx::sqlite::SqliteConnectOptions::new().filename(db.data_dir().join("kith.db")).read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
            let tables = sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for t in tables {
                let table: String = t.get(0);
                let columns: Vec<String> = sqlx::query("SELECT name FROM pragma_table_info($1)")
                    .bind(&table)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| format!("quote(\"{}\")", r.get::<String, _>(0)))
                    .collect();
                let sql = format!(
                    "SELECT COALESCE(group_concat(r, char(10)), '') FROM (SELECT {} AS r FROM \"{table}\" ORDER BY 1)",
                    columns.join(" || '|' || ")
                );
                let rows: String = sqlx::query(&sql).fetch_one(&mut conn).await.unwrap().get(0);
                out.push((table, rows));
            }
        }
    }
    out
}

/// The ids of every row of the tables whose rows are addressed by id.
async fn ids(db: &TestDb) -> Vec<(&'static str, Uuid)> {
    let tables = [
        "contacts",
        "companies",
        "deals",
        "interactions",
        "purchases",
        "segments",
        "users",
        "sessions",
        "dsr_requests",
        "api_keys",
        "api_tokens",
        "pending_confirmations",
        "consents",
        "objections",
    ];
    let mut out = Vec::new();
    for table in tables {
        let sql = format!("SELECT id FROM {table}");
        let rows: Vec<String> = match &db.url {
            Some(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query(&sql).fetch_all(&mut conn).await.unwrap().iter().map(|r| r.get(0)).collect()
            }
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db.data_dir().join("kith.db"));
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
                sqlx::query(&sql).fetch_all(&mut conn).await.unwrap().iter().map(|r| r.get(0)).collect()
            }
        };
        out.extend(rows.iter().map(|id| (table, Uuid::parse_str(id).unwrap())));
    }
    out
}

/// One of everything that has an id, made through the API.
async fn populate(s: &Server) -> (Uuid, Uuid) {
    let dpo = token_for(s, "dpo").await;
    let admin = token_for(s, "admin").await;
    let notice = json!({"version": "1", "text": "Notice"});
    assert_eq!(send_as(s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
    let company = s.create("companies", json!({"name": "Acme"})).await;
    let contact = s
        .create("contacts", json!({"given_name": "Olena", "emails": ["olena@example.org"], "company_id": company}))
        .await;
    s.create("deals", json!({"title": "Own key", "stage": "lead"})).await;
    s.create("deals", json!({"title": "Person's", "contact_id": contact, "stage": "lead"})).await;
    s.create(
        "interactions",
        json!({"contact_id": contact, "kind": "call", "occurred_at": "2026-01-31T10:00:00Z", "subject": "Hi"}),
    )
    .await;
    s.create(
        "purchases",
        json!({"contact_id": contact, "purchased_at": "2026-01-31T10:00:00Z", "currency": "EUR",
               "lines": [{"sku": "A", "quantity": "1", "unit_price": "5"}]}),
    )
    .await;
    let (status, _) = s.post("/api/v1/segments", &json!({"name": "All VIPs", "filter": {"tags": ["vip"]}})).await;
    assert_eq!(status, StatusCode::CREATED);
    let consent = json!({"purpose": "sales", "granted": true, "notice_version": "1", "method": "api"});
    let path = format!("/api/v1/contacts/{contact}/consents");
    assert_eq!(send_as(s, &dpo, Method::POST, &path, Some(&consent)).await.0, StatusCode::CREATED);
    let path = format!("/api/v1/contacts/{contact}/objections");
    let objection = json!({"purpose": "marketing.advertising"});
    assert_eq!(send_as(s, &dpo, Method::POST, &path, Some(&objection)).await.0, StatusCode::CREATED);
    let user = json!({"email": "staff@example.org", "display_name": "Staff", "roles": ["sales"], "password": PASSWORD});
    assert_eq!(send_as(s, &admin, Method::POST, "/api/v1/users", Some(&user)).await.0, StatusCode::CREATED);
    let login = json!({"email": "staff@example.org", "password": PASSWORD});
    assert_eq!(s.client.post(s.url("/api/v1/session")).json(&login).send().await.unwrap().status(), StatusCode::OK);
    let (status, request) =
        send_as(s, &dpo, Method::POST, "/api/v1/dsr", Some(&json!({"kind": "access", "contact_id": contact}))).await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let grant = crate::harness::mailer_grant(&crate::harness::register_mailer(s, &dpo).await);
    assert_eq!(send_as(s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await.0, StatusCode::CREATED);
    let form = json!({"name": "newsletter", "purposes": ["marketing.communications.email"], "notice_version": "1"});
    let (status, form) = send_as(s, &dpo, Method::POST, "/api/v1/forms", Some(&form)).await;
    assert_eq!(status, StatusCode::CREATED, "{form}");
    let path = format!("/api/v1/public/forms/{}/submissions", form["key"].as_str().unwrap());
    let submission = json!({"email": "reader@example.org", "purposes": ["marketing.communications.email"]});
    assert_eq!(s.client.post(s.url(&path)).json(&submission).send().await.unwrap().status(), StatusCode::ACCEPTED);
    (Uuid::parse_str(&contact).unwrap(), Uuid::parse_str(request["id"].as_str().unwrap()).unwrap())
}

/// Calls every mutating method that takes an id of `kind` with `id`, which
/// belongs to a row of another table. Errors are fine; changes are not.
async fn call_all(store: &DynStore, kind: &str, id: Uuid, contact: Uuid, request: Uuid) {
    let at = kith_server::now_millis();
    let other = |table: &str| table != kind;
    for entity in EntityKind::ALL {
        if !other(entity.as_str()) {
            continue;
        }
        let _ = store.delete(entity, id).await;
        let record = NewRecord {
            entity,
            id,
            subject_id: id,
            owner: None,
            created_at: at,
            sealed: vec![1, 2, 3],
            columns: entity.columns().iter().map(|_| kith_core::ClearValue::Int(0)).collect(),
            terms: Vec::new(),
            references: Vec::new(),
        };
        let key = kith_store::KeyRow { subject_id: id, kek_id: "k".into(), wrapped: vec![0; 8] };
        let update = RecordUpdate { record, expected_version: 1, updated_at: at };
        let _ = store.update(update, Some(key)).await;
    }
    if other("contacts") {
        let entry = ConsentRow {
            id: Uuid::new_v4(),
            contact_id: id,
            purpose: "sales".into(),
            granted: true,
            at,
            notice_version: "1".into(),
            method: "api".into(),
            recorded_by: "t".into(),
            sealed: vec![1],
            seq: 0,
            mac: Vec::new(),
        };
        let _ = store.append_consent(&entry, &|_: &ConsentRow, _: &[u8]| vec![7]).await;
        let _ = store.restrict(id, at, "t").await;
        let _ = store.lift_restriction(id).await;
        let _ = store.object(Uuid::new_v4(), id, "sales", at, "t").await;
        let claim = LegalClaimRow {
            id: Uuid::new_v4(),
            contact_id: id,
            purpose: "sales".into(),
            at,
            recorded_by: "t".into(),
            sealed: vec![1],
        };
        let _ = store.add_legal_claim(&claim).await;
        let exception = ErasureExceptionRow {
            id: Uuid::new_v4(),
            contact_id: id,
            ground: "legal_claims".into(),
            at,
            recorded_by: "t".into(),
            sealed: vec![1],
        };
        let _ = store.add_erasure_exception(&exception).await;
        let _ = store.lift_erasure_exceptions(id).await;
        let order = ErasureOrder {
            request_id: request,
            contact_id: id,
            suppressions: Vec::new(),
            notifications: Vec::new(),
            at,
        };
        let _ = store.erase_person(&order, &|_| String::new()).await;
    }
    if other("dsr_requests") {
        let order = ErasureOrder {
            request_id: id,
            contact_id: contact,
            suppressions: Vec::new(),
            notifications: Vec::new(),
            at,
        };
        let _ = store.erase_person(&order, &|_| String::new()).await;
        if let Some(mut row) = store.dsr(request).await.unwrap() {
            row.id = id;
            let _ = store.update_dsr(&row, None).await;
        }
        let _ = store.insert_export_link(id, &[9; 32], at, at + 1000).await;
        let _ = store.use_export_link(id, &[9; 32], at).await;
        let task = NotificationRow {
            request_id: id,
            api_key_id: Uuid::new_v4(),
            recipient: "r".into(),
            status: "pending".into(),
            created_at: at,
        };
        let _ = store.add_notifications(&[task]).await;
    }
    if other("api_keys") {
        let _ = store.revoke_api_key(id, at).await;
        let _ = store.touch_api_key(id, at).await;
    }
    if other("segments") {
        let _ = store.delete_segment(id).await;
    }
    if other("api_tokens") {
        let _ = store.revoke_token(id, at).await;
    }
    if other("users") {
        if let Some(mut user) = store.users().await.unwrap().into_iter().next() {
            user.id = id;
            let _ = store.update_user(&user, true).await;
        }
        let _ = store.set_password(id, "hash", at).await;
        let _ = store.set_totp_pending(id, Some(&[1]), at).await;
        let _ = store.enrol_totp(id, &[1], 1, &[vec![2; 32]], at).await;
        let _ = store.accept_totp_step(id, i64::MAX).await;
        let _ = store.use_recovery_code(id, &[2; 32], at).await;
        let rule = LockoutRule { max_failures: 1, window_ms: 1000, lock_ms: 1000 };
        let _ = store.record_login_failure(id, at, rule).await;
        let _ = store.revoke_user_sessions(id, at, None).await;
        let session = SessionRow {
            id: Uuid::new_v4(),
            user_id: id,
            secret_hash: vec![3; 32],
            created_at: at,
            last_seen_at: at,
            expires_at: at + 1000,
            revoked_at: None,
        };
        let _ = store.start_session(&session, at).await;
    }
    if other("sessions") {
        let _ = store.touch_session(id, at).await;
        let _ = store.revoke_session(id, at).await;
    }
    if other("drp_requests") {
        let _ = store.record_drp_callback(id, "open", at, "delivered").await;
        let _ = store.set_drp_request_status(id, "open", None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_methods_given_ids_of_another_kind_change_nothing_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (contact, request) = populate(&s).await;
        let before = dump(&db).await;
        let all = ids(&db).await;
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds.len(), 14, "one row of every kind: {kinds:?}");
        for (kind, id) in &all {
            call_all(&s.store, kind, *id, contact, request).await;
            let after = dump(&db).await;
            for ((table, was), (_, is)) in before.iter().zip(&after) {
                assert_eq!(was, is, "{table} changed by a call with the id of a row of {kind}");
            }
        }
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_deletion_never_reaches_another_rows_key_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let contact = s.create("contacts", json!({"given_name": "Olena", "emails": ["olena@example.org"]})).await;
        let company = s.create("companies", json!({"name": "Acme"})).await;
        for id in [&contact, &company] {
            assert_problem(&s.delete(&format!("/api/v1/segments/{id}")).await, 404, "not_found");
            let (status, _) = send_as(&s, &dpo, Method::DELETE, &format!("/api/v1/segments/{id}"), None).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (status, read) = s.get(&format!("/api/v1/contacts/{contact}")).await;
        assert_eq!((status, read["given_name"].clone()), (StatusCode::OK, json!("Olena")), "{read}");
        assert_eq!(s.get(&format!("/api/v1/companies/{company}")).await.0, StatusCode::OK);
        // The person can still be erased, so the suppression entry is recorded.
        let (_, request) =
            send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&json!({"kind": "erasure", "contact_id": contact})))
                .await;
        let id = request["id"].as_str().unwrap();
        let attest = json!({"method": "staff_attestation", "note": "seen"});
        send_as(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/verify"), Some(&attest)).await;
        let (status, done) = send_as(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/fulfil"), None).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["receipt"]["data_key_destroyed"], true, "{done}");
        let again = json!({"given_name": "Olena", "emails": ["olena@example.org"]});
        assert_problem(&s.post("/api/v1/contacts", &again).await, 409, "suppressed_after_erasure");
        s.stop().await;
        db.cleanup().await;
    }
}
