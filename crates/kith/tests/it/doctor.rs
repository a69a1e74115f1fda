//! `kith doctor`: the security self-check finds each planted problem, on
//! both engines, and passes an installation that has none.

use crate::harness::{backends, run_kith, run_kith_async, send_as, token_for, ServeProcess, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_finds_each_planted_problem_and_fails_on_a_high_one() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        // An admin without a second factor, and a request past its deadline.
        let admin = token_for(&s, "admin").await;
        let body = json!({"email": "ada@example.org", "roles": ["admin"], "password": "violet-harbour-lantern-92"});
        assert_eq!(send_as(&s, &admin, Method::POST, "/api/v1/users", Some(&body)).await.0, StatusCode::CREATED);
        let dpo = token_for(&s, "dpo").await;
        let person = s.create("contacts", json!({"given_name": "Olena"})).await;
        let late = json!({"kind": "access", "contact_id": person, "received_at": "2026-01-05T10:00:00Z"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&late)).await.0, StatusCode::CREATED);
        s.stop().await;
        let key_file = db.data_dir().join("kith.key");
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();

        let mut args = vec!["doctor".to_string(), "--data-dir".into(), db.data_dir().to_str().unwrap().into()];
        args.extend(db.url_args());
        // A key file open to others: named, and the store (which refuses it) left unchecked.
        let (ok, out, err) = run_kith_async(args.clone()).await;
        assert!(!ok, "a high finding fails the command: {out}{err}");
        for check in ["key_file_permissions", "store_not_checked", "tls_self_signed"] {
            assert!(out.contains(check), "{check} not found:\n{out}");
        }
        assert!(out.contains("fix: chmod 600"), "each finding says how to fix it:\n{out}");
        // Fixed, the store is checked: the admin without a second factor, the late request.
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (ok, out, _) = run_kith_async(args).await;
        assert!(!ok, "{out}");
        assert!(!out.contains("key_file_permissions") && !out.contains("store_not_checked"), "{out}");
        for check in ["overdue_requests", "second_factor"] {
            assert!(out.contains(check), "{check} not found:\n{out}");
        }
        assert!(!out.contains("ada@example.org") && !out.contains("Olena"), "counts and ids, no personal value");
        db.cleanup().await;
    }
}

#[test]
fn a_fresh_installation_has_no_high_finding() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    assert!(run_kith(&["init", "--data-dir", data]).0);
    let (ok, out, err) = run_kith(&["doctor", "--data-dir", data]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("0 high"), "{out}");
    assert!(out.contains("tls_self_signed"), "the self-signed certificate is named, low: {out}");
}

/// `kith doctor` on `db`, as (succeeded, output).
async fn doctor(db: &TestDb) -> (bool, String) {
    let mut args = vec!["doctor".to_string(), "--data-dir".into(), db.data_dir().to_str().unwrap().into()];
    args.extend(db.url_args());
    let (ok, out, err) = run_kith_async(args).await;
    (ok, format!("{out}{err}"))
}

async fn kith_in(db: &TestDb, command: &[&str]) -> String {
    let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    args.extend(["--data-dir".to_string(), db.data_dir().to_str().unwrap().into()]);
    args.extend(db.url_args());
    let (ok, out, err) = run_kith_async(args.clone()).await;
    assert!(ok, "kith {args:?}: {out}{err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_follows_backups_audit_checks_erasures_since_rotation_and_the_ledger() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let person = s.create("contacts", json!({"given_name": "Olena", "emails": ["olena@example.org"]})).await;
        // The report at the API path, for admin and the DPO alone.
        let admin = token_for(&s, "admin").await;
        let (status, report) = send_as(&s, &admin, Method::GET, "/api/v1/doctor", None).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let checks: Vec<&str> =
            report["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
        assert!(checks.contains(&"backup_missing") && checks.contains(&"audit_not_verified"), "{checks:?}");
        assert_eq!(report["high"], 0, "{report}");
        assert_eq!(send_as(&s, &s.token.clone(), Method::GET, "/api/v1/doctor", None).await.0, StatusCode::FORBIDDEN);
        s.stop().await;

        let (_, out) = doctor(&db).await;
        for check in ["backup_missing", "audit_not_verified", "checkpoint_not_exported"] {
            assert!(out.contains(check), "{check}:\n{out}");
        }
        let file = db.dir.path().join("b.age");
        kith_in(&db, &["backup", "create", "--out", file.to_str().unwrap(), "--quiet"]).await;
        let (_, out) = doctor(&db).await;
        assert!(!out.contains("backup_missing") && out.contains("backup_unverified"), "{out}");
        kith_in(&db, &["backup", "verify", file.to_str().unwrap(), "--quiet"]).await;
        kith_in(&db, &["audit", "verify"]).await;
        kith_in(&db, &["audit", "checkpoint", "--out", db.dir.path().join("cp.note").to_str().unwrap()]).await;
        let (_, out) = doctor(&db).await;
        for gone in ["backup_unverified", "audit_not_verified", "checkpoint_not_exported", "erasures_since_rotation"] {
            assert!(!out.contains(gone), "{gone}:\n{out}");
        }

        // Someone erased after that backup: it still holds their wrapped key until the KEK is rotated.
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let (_, filed) =
            send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&json!({"kind": "erasure", "contact_id": person})))
                .await;
        let id = filed["id"].as_str().unwrap();
        let attest = json!({"method": "staff_attestation", "note": "seen"});
        send_as(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/verify"), Some(&attest)).await;
        assert_eq!(send_as(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/fulfil"), None).await.0, StatusCode::OK);
        s.stop().await;
        let (_, out) = doctor(&db).await;
        assert!(out.contains("erasures_since_rotation") && out.contains("1 people"), "{out}");
        kith_in(&db, &["keys", "rotate"]).await;
        let (_, out) = doctor(&db).await;
        assert!(!out.contains("erasures_since_rotation"), "{out}");

        // The erasure ledger gone from beside the key file: high.
        std::fs::remove_file(db.data_dir().join("erasures.ledger")).unwrap();
        let (ok, out) = doctor(&db).await;
        assert!(!ok && out.contains("erasure_ledger_missing"), "{out}");
        assert!(db.data_dir().join("erasures.ledger").exists(), "opening the data directory wrote it again");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_with_plain_http_is_reported_until_one_starts_with_tls() {
    let db = TestDb::new(crate::harness::Backend::Sqlite).await;
    let data = db.data_dir();
    let args = vec!["--data-dir".to_string(), data.to_str().unwrap().into(), "--listen".into(), "127.0.0.1:0".into()];
    let plain =
        ServeProcess::start(&[args.clone(), vec!["--http".into()]].concat(), "warn", std::process::Stdio::null());
    // Serving (its signal handler in place) before it is asked to stop.
    let health = reqwest::get(format!("{}/healthz", plain.base)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    drop(health);
    assert!(plain.stop());
    let (_, out) = doctor(&db).await;
    assert!(out.contains("plain_http"), "{out}");
    let tls = ServeProcess::start(&args, "warn", std::process::Stdio::null());
    let client = crate::harness::client_trusting(&data.join("tls/cert.pem"));
    assert_eq!(client.get(format!("{}/healthz", tls.base)).send().await.unwrap().status(), StatusCode::OK);
    drop(client);
    assert!(tls.stop());
    let (_, out) = doctor(&db).await;
    assert!(!out.contains("plain_http"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_the_doctor_once_a_day_as_an_audit_event() {
    let db = TestDb::new(crate::harness::Backend::Sqlite).await;
    let s = Server::start(&db).await;
    s.stop().await;
    let dir = kith_server::datadir::DataDir::new(&db.data_dir(), None).unwrap();
    let opened = dir.open(None).await.unwrap();
    let url = dir.database_url(None);
    kith_server::doctor::daily(&dir, &url, &opened.store, None).await.unwrap();
    kith_server::doctor::daily(&dir, &url, &opened.store, None).await.unwrap();
    let query = kith_store::AuditQuery { limit: 1000, ..Default::default() };
    let runs: Vec<_> = opened
        .store
        .audit_query(&query)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entity.as_deref() == Some("doctor") && e.actor == "system:scheduler")
        .collect();
    assert_eq!(runs.len(), 1, "once a day: {runs:?}");
    assert!(runs[0].fields.iter().any(|f| f.starts_with("medium:")), "{:?}", runs[0].fields);
}
