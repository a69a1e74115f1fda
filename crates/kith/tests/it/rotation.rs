//! Key rotation while a server is serving: afterwards every record still
//! opens, the old KEK opens no wrapped key, new keys use the new KEK, and
//! requests made during the rotation all succeeded.

use crate::harness::{backends, run_kith_async, Backend, Server, TestDb};
use kith_crypto::{KeyFile, Keyring, WrappedKey};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_rewraps_every_key_without_downtime_on_every_backend() {
    for backend in backends() {
        rotation(backend).await;
    }
}

/// `kith keys rotate` for the test's data directory and database.
fn rotate_args(db: &TestDb) -> Vec<String> {
    let mut args =
        vec!["keys".to_string(), "rotate".into(), "--data-dir".into(), db.data_dir().to_str().unwrap().into()];
    args.extend(db.url_args());
    args
}

async fn rotation(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Arc::new(Server::start(&db).await);
    let mut ids = Vec::new();
    for i in 0..40 {
        let id = server
            .create("contacts", json!({"given_name": format!("Person{i}"), "emails": [format!("p{i}@example.org")]}))
            .await;
        server.create("interactions", json!({"contact_id": id, "kind": "note", "occurred_at": "2026-01-01T00:00:00Z", "body": format!("note {i}")})).await;
        ids.push(id);
    }
    server.create("companies", json!({"name": "Lone Company"})).await;
    let key_path = db.data_dir().join("kith.key");
    let old = KeyFile::load(&key_path).unwrap();
    let old_ring = Keyring::from_file(&old);

    // Traffic during the rotation: reads of old people, creation of new ones.
    let running = Arc::new(AtomicBool::new(true));
    let traffic = {
        let (server, running, ids) = (server.clone(), running.clone(), ids.clone());
        tokio::spawn(async move {
            let mut requests = 0;
            let mut created = Vec::new();
            while running.load(Ordering::Relaxed) || requests < 20 {
                let id = &ids[requests % ids.len()];
                let (status, body) = server.get(&format!("/api/v1/contacts/{id}")).await;
                assert_eq!(status, StatusCode::OK, "read during rotation: {body}");
                created.push(server.create("contacts", json!({"given_name": format!("During{requests}")})).await);
                requests += 1;
            }
            created
        })
    };
    let (ok, out, err) = run_kith_async(rotate_args(&db)).await;
    running.store(false, Ordering::Relaxed);
    assert!(ok, "rotation failed: {err}");
    assert!(out.contains("rewrapped"), "{out}");
    let created_during = traffic.await.unwrap();

    let new = KeyFile::load(&key_path).unwrap();
    assert_eq!(new.keks.len(), 1, "the old KEK left the key file");
    assert_ne!(new.active_kek, old.active_kek);
    assert!(new.kek(&old.active_kek).is_none());

    // The running server keeps serving everything, old and new.
    for id in ids.iter().chain(&created_during) {
        let (status, body) = server.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(server.list_all("/api/v1/interactions?limit=200").await.len(), 40);
    let after = server.create("contacts", json!({"given_name": "After"})).await;
    let key = server.store.data_key(after.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(key.kek_id, new.active_kek, "new data keys are wrapped under the new KEK");

    // No wrapped key is under the old KEK, and the old KEK opens none.
    let mut checked = 0;
    let mut cursor = None;
    loop {
        let batch = server.store.keys_after(cursor, 100).await.unwrap();
        let Some(last) = batch.last() else { break };
        cursor = Some(last.subject_id);
        for k in &batch {
            assert_eq!(k.kek_id, new.active_kek);
            let as_old =
                WrappedKey { subject_id: k.subject_id, kek_id: old.active_kek.clone(), wrapped: k.wrapped.clone() };
            assert!(old_ring.unwrap(&as_old).is_err(), "the old KEK opened a rewrapped key");
            checked += 1;
        }
    }
    assert!(checked >= 41 + created_during.len(), "checked {checked} keys");

    // A second rotation from a fresh process works too (and the server follows again).
    let (ok, _, err) = run_kith_async(rotate_args(&db)).await;
    assert!(ok, "{err}");
    assert_eq!(server.get(&format!("/api/v1/contacts/{}", ids[0])).await.0, StatusCode::OK);

    // Both rotations are in the audit log, attributed to the command line, and the chain holds.
    let query = kith_store::AuditQuery { action: Some("key_rotation".into()), limit: 10, ..Default::default() };
    let rotations = server.store.audit_query(&query).await.unwrap();
    assert_eq!(rotations.len(), 2);
    assert!(rotations.iter().all(|e| e.actor == "system:cli"));
    assert!(kith_server::audit::verify(&server.store, None, &[]).await.unwrap().intact);

    Arc::try_unwrap(server).ok().expect("no other users of the server").stop().await;
    db.cleanup().await;
}
