//! Several servers on one database: records written through one are read
//! through the other, and concurrent partial updates of one record from both
//! lose nothing.

use crate::harness::{backends, Backend, Server, TestDb};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_database_on_every_backend() {
    for backend in backends() {
        two_servers(backend).await;
    }
}

/// PATCHes until the server answers something other than a conflict, as a
/// client that meets `409 conflict` is told to.
async fn patch_retrying(s: &Server, path: &str, body: serde_json::Value) {
    for _ in 0..20 {
        let (status, answer) = s.patch(path, &body).await;
        match status {
            StatusCode::OK => return,
            StatusCode::CONFLICT => continue,
            other => panic!("{other}: {answer}"),
        }
    }
    panic!("still conflicting after 20 attempts");
}

async fn two_servers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let a = Arc::new(Server::start(&db).await);
    let b = Arc::new(Server::start(&db).await);

    let writers: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(n, s)| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..15 {
                    ids.push(
                        s.create(
                            "contacts",
                            json!({"given_name": format!("S{n}P{i}"), "emails": [format!("s{n}p{i}@example.org")]}),
                        )
                        .await,
                    );
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in writers {
        all.extend(w.await.unwrap());
    }
    assert_eq!(all.len(), 30);
    for id in &all {
        assert_eq!(a.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
        assert_eq!(b.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
    }
    assert_eq!(b.list_all("/api/v1/contacts?email=s0p7@example.org").await.len(), 1);
    assert_eq!(a.list_all("/api/v1/contacts?limit=7").await.len(), 30);

    let target = all[0].clone();
    let path = format!("/api/v1/contacts/{target}");
    let (pa, pb) = (path.clone(), path.clone());
    let (sa, sb) = (a.clone(), b.clone());
    let left = tokio::spawn(async move {
        for i in 0..10 {
            patch_retrying(&sa, &pa, json!({"job_title": format!("title {i}")})).await;
        }
    });
    let right = tokio::spawn(async move {
        for i in 0..10 {
            patch_retrying(&sb, &pb, json!({"notes": format!("note {i}")})).await;
        }
    });
    left.await.unwrap();
    right.await.unwrap();
    let (_, merged) = a.get(&path).await;
    assert_eq!(merged["job_title"], "title 9", "{merged}");
    assert_eq!(merged["notes"], "note 9", "{merged}");
    assert_eq!(merged["given_name"], "S0P0");

    // Both servers appended to one chain, which verifies and holds every request.
    let verification = kith_server::audit::verify(&a.store, None, &[]).await.unwrap();
    assert!(verification.intact, "{verification:?}");
    let query = kith_store::AuditQuery { action: Some("create".into()), limit: 1000, ..Default::default() };
    let creations = a.store.audit_query(&query).await.unwrap();
    assert_eq!(creations.len(), 30, "every creation from both servers is in the log");
    // An update's event is written before it; each attempt that lost a race
    // is followed by a `failed` event: what took effect is the difference.
    let updates = kith_store::AuditQuery { action: Some("update".into()), limit: 1000, ..Default::default() };
    let updates = a.store.audit_query(&updates).await.unwrap();
    let failed = updates.iter().filter(|e| e.outcome == kith_core::audit::AuditOutcome::Failed).count();
    assert_eq!(updates.len() - 2 * failed, 20, "{} updates, {failed} failed", updates.len());

    for s in [a, b] {
        Arc::try_unwrap(s).ok().expect("sole owner").stop().await;
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_person_while_another_server_writes_leaves_nothing_behind() {
    for backend in backends() {
        delete_during_writes(backend).await;
    }
}

/// Rows in `table` (and blind-index entries) that outlive their contact.
async fn leftovers(db: &TestDb, contact: &str) -> (i64, i64) {
    use sqlx::Row;
    let interactions = "SELECT COUNT(*) AS n FROM interactions WHERE contact_id = $1";
    let orphans = "SELECT COUNT(*) AS n FROM blind_index b WHERE b.entity = 'interactions' \
                   AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.id = b.record_id)";
    match &db.url {
        Some(url) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let a: i64 = sqlx::query(interactions).bind(contact).fetch_one(&mut conn).await.unwrap().get("n");
            let b: i64 = sqlx::query(orphans).fetch_one(&mut conn).await.unwrap().get("n");
            (a, b)
        }
        None => {
            use sqlx::Connection;
            let path = db.data_dir().join("kith.db");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            let a: i64 = sqlx::query(interactions).bind(contact).fetch_one(&mut conn).await.unwrap().get("n");
            let b: i64 = sqlx::query(orphans).fetch_one(&mut conn).await.unwrap().get("n");
            (a, b)
        }
    }
}

async fn delete_during_writes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let a = Arc::new(Server::start(&db).await);
    let b = Arc::new(Server::start(&db).await);
    let contact = a.create("contacts", json!({"given_name": "Short-lived"})).await;
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let (b, contact, written) = (b.clone(), contact.clone(), written.clone());
        tokio::spawn(async move {
            // Writes until a few have been refused after the deletion.
            let mut refused = 0;
            for i in 0..2000 {
                if refused >= 3 {
                    break;
                }
                let body = json!({"contact_id": contact, "kind": "note", "occurred_at": "2026-01-01T00:00:00Z", "tags": [format!("t{i}")]});
                let (status, answer) = b.post("/api/v1/interactions", &body).await;
                match status.as_u16() {
                    201 => {
                        written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    422 if answer["code"] == "unknown_reference" => refused += 1,
                    other => panic!("{other}: {answer}"),
                }
            }
            refused
        })
    };
    while written.load(std::sync::atomic::Ordering::Relaxed) < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(a.delete(&format!("/api/v1/contacts/{contact}")).await.0, StatusCode::NO_CONTENT);
    let refused = writer.await.unwrap();
    assert!(refused > 0, "some writes came after the deletion");
    assert_eq!(leftovers(&db, &contact).await, (0, 0), "no interaction and no index entry outlived the person");
    for s in [a, b] {
        Arc::try_unwrap(s).ok().expect("sole owner").stop().await;
    }
    db.cleanup().await;
}

/// A write's audit event is durable before the write: killing the server
/// (SIGKILL) while many creations are in flight leaves no contact without
/// its `create` event (an event without its contact is allowed: the
/// crash came between the two).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_leaves_no_write_without_its_event_on_every_backend() {
    use crate::harness::{run_kith, ServeProcess};
    use sqlx::{Connection, Row};
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let data = db.data_dir();
        let mut args = vec!["--data-dir".to_string(), data.to_str().unwrap().to_string()];
        args.extend(db.url_args());
        let mut init = vec!["init".to_string()];
        init.extend(args.clone());
        let refs: Vec<&str> = init.iter().map(String::as_str).collect();
        assert!(run_kith(&refs).0);
        let mut token = vec!["token", "create", "--name", "crash", "--role", "sales"];
        token.extend(args.iter().map(String::as_str));
        let (ok, token, err) = run_kith(&token);
        assert!(ok, "{err}");
        let token = token.trim().to_string();
        let mut serve = args.clone();
        serve.extend(["--listen".to_string(), "127.0.0.1:0".to_string(), "--http".to_string()]);
        let server = ServeProcess::start(&serve, "warn", std::process::Stdio::null());
        let client = reqwest::Client::new();
        let mut writers = Vec::new();
        for w in 0..6 {
            let (client, url, token) = (client.clone(), format!("{}/api/v1/contacts", server.base), token.clone());
            writers.push(tokio::spawn(async move {
                let mut made = 0;
                for i in 0..100_000 {
                    let body = serde_json::json!({"given_name": format!("Crash{w}x{i}")});
                    match client.post(&url).bearer_auth(&token).json(&body).send().await {
                        Ok(r) if r.status().is_success() => made += 1,
                        _ => break,
                    }
                }
                made
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        server.kill();
        let mut acknowledged = 0;
        for w in writers {
            acknowledged += w.await.unwrap();
        }
        assert!(acknowledged > 0, "the server took writes before the crash");

        let (contacts, created): (Vec<String>, Vec<String>) = match &db.url {
            Some(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let contacts = sqlx::query("SELECT id FROM contacts").fetch_all(&mut conn).await.unwrap();
                let events = sqlx::query(
                    "SELECT record_id FROM audit_events WHERE action = 'create' AND entity = 'contacts' AND outcome = 'ok'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                (contacts.iter().map(|r| r.get(0)).collect(), events.iter().map(|r| r.get(0)).collect())
            }
            None => {
                let open = |file: &str| sqlx::sqlite::SqliteConnectOptions::new().filename(data.join(file));
                let mut records = sqlx::SqliteConnection::connect_with(&open("kith.db")).await.unwrap();
                let mut audit = sqlx::SqliteConnection::connect_with(&open("kith.audit.db")).await.unwrap();
                let contacts = sqlx::query("SELECT id FROM contacts").fetch_all(&mut records).await.unwrap();
                let events = sqlx::query(
                    "SELECT record_id FROM audit_events WHERE action = 'create' AND entity = 'contacts' AND outcome = 'ok'",
                )
                .fetch_all(&mut audit)
                .await
                .unwrap();
                (contacts.iter().map(|r| r.get(0)).collect(), events.iter().map(|r| r.get(0)).collect())
            }
        };
        assert!(contacts.len() >= acknowledged, "no acknowledged write was lost");
        let created: std::collections::HashSet<String> = created.into_iter().collect();
        let orphans: Vec<&String> = contacts.iter().filter(|c| !created.contains(*c)).collect();
        assert!(orphans.is_empty(), "{} of {} contacts have no create event", orphans.len(), contacts.len());
        db.cleanup().await;
    }
}
