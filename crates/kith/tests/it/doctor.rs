//! `kith doctor`: the security self-check finds each planted problem, on
//! both engines, and passes an installation that has none.

use crate::harness::{backends, run_kith, run_kith_async, send_as, token_for, Server, TestDb};
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
