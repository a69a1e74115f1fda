//! The audit log: every read path and write leaves events with the right
//! field names and no personal value; tampering with the stored log is
//! caught and the first broken event named.

use crate::harness::{backends, run_kith_async, send_as, token_for, Backend, Server, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn get_as(s: &Server, token: &str, path: &str) -> (StatusCode, Value) {
    send_as(s, token, reqwest::Method::GET, path, None).await
}

fn fields(event: &Value) -> Vec<&str> {
    event["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_is_recorded_with_field_names_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        access_story(&s).await;
        s.stop().await;
        db.cleanup().await;
    }
}

async fn access_story(s: &Server) {
    let marker = format!("Mk{}", uuid::Uuid::new_v4().simple());
    let id = s
        .create(
            "contacts",
            json!({"given_name": marker, "family_name": "Audited", "emails": [format!("{marker}@example.org")], "notes": marker}),
        )
        .await;
    let other = s.create("contacts", json!({"given_name": "Unrelated"})).await;
    assert_eq!(s.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
    assert_eq!(s.list_all("/api/v1/contacts?q=audited").await.len(), 1);
    assert_eq!(s.list_all(&format!("/api/v1/contacts?email={marker}@example.org")).await.len(), 1);
    assert_eq!(s.list_all("/api/v1/contacts").await.len(), 2);
    let (status, _) =
        s.patch(&format!("/api/v1/contacts/{id}"), &json!({"job_title": "Buyer", "family_name": "Audited"})).await;
    assert_eq!(status, StatusCode::OK);
    let interaction = s
        .create(
            "interactions",
            json!({"contact_id": id, "kind": "call", "occurred_at": "2026-01-31T10:00:00Z", "subject": marker}),
        )
        .await;
    assert_eq!(s.get(&format!("/api/v1/interactions/{interaction}")).await.0, StatusCode::OK);

    let sales = s.token.clone();
    let auditor = token_for(s, "auditor").await;
    let (status, denied) = get_as(s, &auditor, &format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{denied}");
    let (status, _) = get_as(s, &sales, &format!("/api/v1/contacts/{id}/access-log")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "sales may not read the audit log");

    let (status, log) = get_as(s, &auditor, &format!("/api/v1/contacts/{id}/access-log")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let events = log["items"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["entity"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, &str)> = vec![
        ("create", "contacts", "ok"),
        ("read", "contacts", "ok"), // get
        ("read", "contacts", "ok"), // name search
        ("read", "contacts", "ok"), // e-mail lookup
        ("read", "contacts", "ok"), // plain list
        ("update", "contacts", "ok"),
        ("read", "contacts", "ok"), // the PATCH answer shows the record
        ("create", "interactions", "ok"),
        ("read", "interactions", "ok"),
        ("read", "contacts", "denied"),     // the auditor's refused read
        ("read", "audit_events", "denied"), // sales asking for the access log
        ("read", "audit_events", "ok"),     // this very query
    ];
    let got: Vec<(&str, &str, &str)> = summary.iter().map(|(a, e, o)| (a.as_str(), e.as_str(), o.as_str())).collect();
    assert_eq!(got, expected, "{log}");
    assert_eq!(fields(&events[0]), ["emails", "family_name", "given_name", "notes", "owner"]);
    assert_eq!(fields(&events[1]), ["emails", "family_name", "given_name", "notes", "owner"]);
    assert_eq!(fields(&events[5]), ["job_title"], "only the fields that changed");
    assert_eq!(fields(&events[6]), ["emails", "family_name", "given_name", "job_title", "notes", "owner"]);
    assert_eq!(fields(&events[8]), ["contact_id", "kind", "occurred_at", "owner", "subject"]);
    for e in events {
        assert!(e["actor"].as_str().unwrap().starts_with("token:"));
        assert!(e["request_id"].is_string() && e["client"] == "127.0.0.1", "{e}");
        assert_eq!(e["subject_id"], id.as_str());
    }
    assert_eq!(events[8]["record_id"], interaction.as_str());

    // The refused read is in the log, attributed to the auditor, without a subject.
    let (_, all) = get_as(s, &auditor, "/api/v1/audit?action=read&limit=1000").await;
    let denials: Vec<&Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "denied" && e["entity"] == "contacts")
        .collect();
    assert_eq!(denials.len(), 1, "{all}");
    assert_eq!(denials[0]["record_id"], id.as_str());
    // The other person's log holds only their own events.
    let (_, theirs) = get_as(s, &auditor, &format!("/api/v1/contacts/{other}/access-log")).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 3, "created, listed once, and this query: {theirs}");

    // A search that finds nobody is recorded with the filters it used.
    assert!(s.list_all("/api/v1/contacts?email=nobody@example.org&tag=x").await.is_empty());
    let (_, empty) = get_as(s, &auditor, "/api/v1/audit?action=read&limit=1000").await;
    let probe =
        empty["items"].as_array().unwrap().iter().rev().find(|e| e["entity"] == "contacts" && e["record_id"].is_null());
    assert_eq!(probe.map(fields), Some(vec!["email", "tag"]), "{empty}");

    // Paging through the whole log, and no personal value anywhere in it.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = get_as(s, &auditor, &format!("/api/v1/audit?limit=3{cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=seen.len() as i64).collect::<Vec<_>>(), "every event once, in order");
    let (_, everything) = get_as(s, &auditor, "/api/v1/audit?limit=1000").await;
    assert!(
        !everything.to_string().to_lowercase().contains(&marker.to_lowercase()),
        "a personal value reached the audit log"
    );
    let (status, verified) = get_as(s, &auditor, "/api/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verified["intact"], true, "{verified}");
    // Reading the log is recorded too: the query for everything and this verification.
    assert_eq!(verified["events"].as_i64().unwrap(), seen.len() as i64 + 2);

    // Refused credentials are in the log too, without any token material.
    let anonymous = s.client.get(s.url("/api/v1/contacts")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let forged = s.client.get(s.url("/api/v1/contacts")).bearer_auth("kith_guess").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let (revoked, row) = kith_server::auth::new_token("gone", "sales", kith_server::now_millis(), None);
    s.store.insert_token(&row).await.unwrap();
    s.store.revoke_token(row.id, kith_server::now_millis()).await.unwrap();
    let reused = s.client.get(s.url("/api/v1/contacts")).bearer_auth(&revoked).send().await.unwrap();
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
    let (_, refused) = get_as(s, &auditor, "/api/v1/audit?action=authenticate").await;
    let refused = refused["items"].as_array().unwrap().clone();
    // The second anonymous refusal from the same address in the window is
    // counted, not logged (see the flood test below).
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|e| e["outcome"] == "denied" && e["client"] == "127.0.0.1"));
    assert_eq!(refused[0]["actor"], "anonymous");
    assert_eq!(refused[1]["actor"], format!("token:{}", row.id), "a revoked token's use is attributed to it");
    assert!(!serde_json::to_string(&refused).unwrap().contains("kith_guess"));

    for bad in ["action=peek", "from=yesterday", "cursor=abc", "limit=0", "colour=red"] {
        let (status, problem) = get_as(s, &auditor, &format!("/api/v1/audit?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
    }
    let resp = s
        .client
        .get(s.url("/api/v1/contacts"))
        .bearer_auth(&sales)
        .header("kith-purpose", "Not A Key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "a malformed purpose is refused");
}

/// Runs SQL against the audit log directly, as someone with database
/// access but no keys would.
async fn tamper(db: &TestDb, statements: &[&str]) {
    crate::harness::run_sql(db, "kith.audit.db", statements).await;
}

async fn verify_cli(db: &TestDb) -> (bool, String) {
    let mut args =
        vec!["audit".to_string(), "verify".into(), "--data-dir".into(), db.data_dir().to_str().unwrap().into()];
    args.extend(db.url_args());
    let (ok, out, err) = run_kith_async(args).await;
    (ok, format!("{out}{err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_the_log_is_caught_on_every_backend() {
    let zeros = "x'0000000000000000000000000000000000000000000000000000000000000000'";
    let pg_zeros = "decode(repeat('00', 32), 'hex')";
    for backend in backends() {
        let z = if backend == Backend::Postgres { pg_zeros } else { zeros };
        // `{next}` is one past the last event, `{keep}` the last event kept when the tail is cut.
        let forged = format!(
            "INSERT INTO audit_events (seq, at, actor, action, fields, outcome, leaf_hash, chain_hash) \
             VALUES ({{next}}, 0, 'token:forger', 'read', '', 'ok', {z}, {z})"
        );
        let scenarios: Vec<(&str, Vec<String>, &str, &str)> = vec![
            ("untouched", vec![], "", ""),
            (
                "a field changed",
                vec!["UPDATE audit_events SET actor = 'token:someone-else' WHERE seq = 3".into()],
                "3",
                "modified",
            ),
            (
                "fields renamed",
                vec!["UPDATE audit_events SET fields = 'given_name' WHERE seq = 5".into()],
                "5",
                "modified",
            ),
            (
                "an id in capitals",
                vec!["UPDATE audit_events SET subject_id = upper(subject_id) WHERE seq = {last}".into()],
                "{last}",
                "not in the form Kith writes",
            ),
            (
                "an id in braces",
                vec!["UPDATE audit_events SET record_id = '{' || record_id || '}' WHERE seq = {last}".into()],
                "{last}",
                "not in the form Kith writes",
            ),
            (
                "the field list spelled with spaces",
                vec!["UPDATE audit_events SET fields = '[ ' || substr(fields, 2) WHERE seq = {last}".into()],
                "{last}",
                "not in the form Kith writes",
            ),
            ("an event deleted", vec!["DELETE FROM audit_events WHERE seq = 4".into()], "4", "missing"),
            (
                "two events swapped",
                vec![
                    "UPDATE audit_events SET seq = -1 WHERE seq = 2".into(),
                    "UPDATE audit_events SET seq = 2 WHERE seq = 3".into(),
                    "UPDATE audit_events SET seq = 3 WHERE seq = -1".into(),
                ],
                "2",
                "modified",
            ),
            ("a forged event appended", vec![forged], "{next}", "beyond the head"),
            ("the tail cut off", vec!["DELETE FROM audit_events WHERE seq > {keep}".into()], "{keep+1}", "cut off"),
        ];
        for (name, statements, broken_at, reason) in scenarios {
            let db = TestDb::new(backend).await;
            let s = Server::start(&db).await;
            // Ten events: five creations, five reads (after any of initialisation's own).
            for i in 0..5 {
                let id = s.create("contacts", json!({"given_name": format!("P{i}")})).await;
                assert_eq!(s.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
            }
            let events = s.store.audit_head().await.unwrap().0;
            assert!(events >= 10);
            s.stop().await;
            let (ok, out) = verify_cli(&db).await;
            assert!(ok, "{name}: the untouched log verifies: {out}");
            assert!(out.contains(&format!("{events} events")), "{out}");
            let fill = |text: &str| {
                text.replace("{next}", &(events + 1).to_string())
                    .replace("{last}", &events.to_string())
                    .replace("{keep+1}", &(events - 1).to_string())
                    .replace("{keep}", &(events - 2).to_string())
            };
            let statements: Vec<String> = statements.iter().map(|t| fill(t)).collect();
            let broken_at = fill(broken_at);
            let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
            tamper(&db, &statements).await;
            let (ok, out) = verify_cli(&db).await;
            if broken_at.is_empty() {
                assert!(ok, "{name}: {out}");
            } else {
                assert!(!ok, "{name}: tampering went unnoticed: {out}");
                assert!(out.contains(&format!("broken at event {broken_at}:")), "{name}: {out}");
                assert!(out.contains(reason), "{name}: {out}");
            }
            db.cleanup().await;
        }
    }
}

/// What someone with write access to the database could do with unkeyed
/// hashes: change an event, then recompute every hash after it and the head.
async fn rewrite_history(db: &TestDb, store: &kith_store::DynStore, victim: i64) {
    let rows = store.audit_rows(0, 100_000).await.unwrap();
    let mut previous = kith_crypto::audit_chain::GENESIS;
    let mut statements: Vec<(String, i64, Vec<u8>, Vec<u8>)> = Vec::new();
    for row in rows {
        let mut event = row.event.clone();
        if event.seq == victim {
            event.actor = "token:innocent-bystander".into();
        }
        let (leaf, chain) = kith_server::audit::hash_event(&event, &previous);
        statements.push((event.actor.clone(), event.seq, leaf.to_vec(), chain.to_vec()));
        previous = chain;
    }
    let update = "UPDATE audit_events SET actor = $1, leaf_hash = $3, chain_hash = $4 WHERE seq = $2";
    let head = "UPDATE audit_head SET chain_hash = $1 WHERE id = 1";
    macro_rules! apply {
        ($conn:expr) => {{
            for (actor, seq, leaf, chain) in &statements {
                sqlx::query(update).bind(actor).bind(seq).bind(leaf).bind(chain).execute(&mut $conn).await.unwrap();
            }
            sqlx::query(head).bind(previous.to_vec()).execute(&mut $conn).await.unwrap();
        }};
    }
    use sqlx::Connection;
    match &db.url {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            apply!(conn)
        }
        None => {
            let path = db.data_dir().join("kith.audit.db");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            apply!(conn)
        }
    }
}

/// Signs a checkpoint; returns the note and the verifier key printed with it.
async fn checkpoint_cli(db: &TestDb, out: &std::path::Path) -> (String, String) {
    let mut args =
        vec!["audit".to_string(), "checkpoint".into(), "--data-dir".into(), db.data_dir().to_str().unwrap().into()];
    args.extend(db.url_args());
    args.extend(["--out".to_string(), out.to_str().unwrap().into()]);
    let (ok, note, err) = run_kith_async(args).await;
    assert!(ok, "{err}");
    let verifier =
        err.lines().find_map(|l| l.strip_prefix("verifier key: ")).expect("verifier key printed").to_string();
    (note, verifier)
}

async fn verify_with(db: &TestDb, checkpoint: &std::path::Path) -> (bool, String) {
    let mut args =
        vec!["audit".to_string(), "verify".into(), "--data-dir".into(), db.data_dir().to_str().unwrap().into()];
    args.extend(db.url_args());
    args.extend(["--checkpoint".to_string(), checkpoint.to_str().unwrap().into()]);
    let (ok, out, err) = run_kith_async(args).await;
    (ok, format!("{out}{err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_checkpoints_catch_rewritten_and_truncated_logs_on_every_backend() {
    for backend in backends() {
        for attack in ["rewrite", "truncate", "forge-checkpoint"] {
            let db = TestDb::new(backend).await;
            let s = Server::start(&db).await;
            for i in 0..4 {
                let id = s.create("contacts", json!({"given_name": format!("P{i}")})).await;
                assert_eq!(s.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
            }
            let events = s.store.audit_head().await.unwrap().0;
            let exported = db.dir.path().join("exported.note");
            let (note, verifier) = checkpoint_cli(&db, &exported).await;
            let lines: Vec<&str> = note.lines().collect();
            assert!(lines[0].starts_with("kith/audit/"), "{note}");
            assert_eq!(lines[1], events.to_string(), "the checkpoint covers every event: {note}");
            assert_eq!(lines[3], "", "{note}");
            assert!(lines[4].starts_with("\u{2014} kith/audit/"), "{note}");
            assert!(db.data_dir().join("audit-checkpoint.note").exists());
            let (ok, out) = verify_with(&db, &exported).await;
            assert!(ok && out.contains(&format!("consistent with the signed checkpoint of {events} events")), "{out}");
            // The DPO's own copy of the verifier key works; another key does not.
            let kept = db.dir.path().join("verifier.key");
            std::fs::write(&kept, &verifier).unwrap();
            let mut args =
                vec!["audit".to_string(), "verify".into(), "--data-dir".into(), db.data_dir().to_str().unwrap().into()];
            args.extend(db.url_args());
            args.extend(["--verifier-key".to_string(), kept.to_str().unwrap().into()]);
            let (ok, out, err) = run_kith_async(args.clone()).await;
            assert!(ok, "{out}{err}");
            let stranger =
                kith_crypto::signed_note::NoteSigner::from_seed(lines[0], &zeroize::Zeroizing::new([9u8; 32]));
            std::fs::write(&kept, stranger.verifier().encoded()).unwrap();
            let (ok, out, err) = run_kith_async(args).await;
            assert!(!ok && format!("{out}{err}").contains("not signed by the audit key"), "{out}{err}");
            // More activity after the checkpoint is fine.
            s.create("contacts", json!({"given_name": "Later"})).await;
            let store = s.store.clone();
            s.stop().await;

            match attack {
                "rewrite" => {
                    rewrite_history(&db, &store, 3).await;
                    // The chain alone cannot tell: every hash was recomputed.
                    assert!(kith_server::audit::verify(&store, None, &[]).await.unwrap().intact);
                    let (ok, out) = verify_with(&db, &exported).await;
                    assert!(!ok, "{out}");
                    assert!(out.contains("no longer match the checkpoint") && out.contains("rewritten"), "{out}");
                    // Nor will the server sign a new checkpoint over the rewritten log.
                    let mut args = vec!["audit".to_string(), "checkpoint".into(), "--data-dir".into()];
                    args.push(db.data_dir().to_str().unwrap().into());
                    args.extend(db.url_args());
                    let (ok, _, err) = run_kith_async(args).await;
                    assert!(!ok && err.contains("no checkpoint signed"), "{err}");
                }
                "truncate" => {
                    // Cut the last four events and make the head agree, then wipe the
                    // database's and the data directory's copies of the checkpoint.
                    tamper(
                        &db,
                        &[
                            "DELETE FROM audit_events WHERE seq > 5",
                            "UPDATE audit_head SET seq = 5, chain_hash = (SELECT chain_hash FROM audit_events WHERE seq = 5) WHERE id = 1",
                            "DELETE FROM audit_checkpoints",
                        ],
                    )
                    .await;
                    std::fs::remove_file(db.data_dir().join("audit-checkpoint.note")).unwrap();
                    let (ok, out) = verify_cli(&db).await;
                    assert!(ok, "without a checkpoint the cut is invisible: {out}");
                    let (ok, out) = verify_with(&db, &exported).await;
                    assert!(!ok, "{out}");
                    assert!(
                        out.contains("broken at event 6:") && out.contains(&format!("vouches for {events}")),
                        "{out}"
                    );
                }
                _ => {
                    let forged =
                        kith_crypto::signed_note::NoteSigner::from_seed(lines[0], &zeroize::Zeroizing::new([42u8; 32]))
                            .sign(&format!("{}\n{events}\n{}\n", lines[0], lines[2]));
                    std::fs::write(&exported, forged).unwrap();
                    let (ok, out) = verify_with(&db, &exported).await;
                    assert!(!ok, "{out}");
                    assert!(out.contains("not signed by the audit key"), "{out}");
                }
            }
            db.cleanup().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusual_access_raises_alerts_once_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let hour = ((kith_server::now_millis() / 3_600_000) % 24) as u8;
        let closed = [(hour + 1) % 24, (hour + 2) % 24];
        let rules = kith_server::config::AlertRules {
            max_people_read: 3,
            max_denied: 2,
            max_people_per_request: 4,
            working_hours_utc: Some(if closed[0] < closed[1] { closed } else { [0, 0] }),
            ..Default::default()
        };
        let config = kith_server::config::ServerConfig { alerts: rules, ..Default::default() };
        let s = Server::start_with(&db, config).await;
        let mut ids = Vec::new();
        for i in 0..6 {
            ids.push(s.create("contacts", json!({"given_name": format!("Watched{i}")})).await);
        }
        for id in &ids {
            assert_eq!(s.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
        }
        assert_eq!(s.list_all("/api/v1/contacts?limit=200").await.len(), 6, "one request reading six people");
        let auditor = token_for(&s, "auditor").await;
        for id in ids.iter().take(4) {
            assert_eq!(get_as(&s, &auditor, &format!("/api/v1/contacts/{id}")).await.0, StatusCode::FORBIDDEN);
        }

        // Rules run after the commit, off the request path: wait for them.
        let mut rules_seen = Vec::new();
        for _ in 0..400 {
            let (status, alerts) = get_as(&s, &auditor, "/api/v1/audit/alerts").await;
            assert_eq!(status, StatusCode::OK, "{alerts}");
            rules_seen =
                alerts["items"].as_array().unwrap().iter().map(|a| a["rule"].as_str().unwrap().to_string()).collect();
            rules_seen.sort();
            rules_seen.dedup();
            if rules_seen.len() >= 4 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(rules_seen, ["bulk_read", "mass_read", "out_of_hours", "repeated_denials"]);
        // More of the same within the window raises nothing new.
        for id in &ids {
            assert_eq!(s.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (_, before) = get_as(&s, &auditor, "/api/v1/audit/alerts").await;
        for id in &ids {
            assert_eq!(s.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (_, alerts) = get_as(&s, &auditor, "/api/v1/audit/alerts").await;
        assert_eq!(alerts["items"].as_array().unwrap().len(), before["items"].as_array().unwrap().len(), "{alerts}");
        assert!(!alerts.to_string().contains("Watched"), "alerts hold counts, not values");
        let (status, _) = get_as(&s, &s.token, "/api/v1/audit/alerts").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "alerts are for the DPO, auditors and admins");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refused_credentials_costs_a_bounded_number_of_events_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let rules = kith_server::config::AlertRules { refusal_window_seconds: 2, max_denied: 50, ..Default::default() };
        let config = kith_server::config::ServerConfig { alerts: rules, ..Default::default() };
        let s = Server::start_with(&db, config).await;
        let before = s.store.audit_head().await.unwrap().0;
        let started = std::time::Instant::now();
        let flood = 300;
        for i in 0..flood {
            let token = if i % 2 == 0 { "kith_not-a-token" } else { "" };
            let resp = s.client.get(s.url("/api/v1/contacts")).bearer_auth(token).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        }
        let during = s.store.audit_head().await.unwrap().0 - before;
        let within_one_window = started.elapsed() < std::time::Duration::from_secs(2);
        if within_one_window {
            assert_eq!(during, 1, "the first refusal at once, the rest counted");
        }
        // The window runs out: its count is recorded as one event.
        let dpo = token_for(&s, "dpo").await;
        let (mut counted, mut events) = (0, 0);
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let (_, log) =
                send_as(&s, &dpo, reqwest::Method::GET, "/api/v1/audit?actor=anonymous&limit=200", None).await;
            let items = log["items"].as_array().unwrap().clone();
            // Each event stands for one refusal, or for `repeated:N`.
            let stands_for = |e: &Value| {
                let repeated =
                    e["fields"].as_array().unwrap().iter().find_map(|f| f.as_str()?.strip_prefix("repeated:"));
                repeated.map_or(1, |n| n.parse::<i64>().unwrap())
            };
            counted = items.iter().map(stands_for).sum::<i64>();
            events = items.len();
            if counted == flood {
                break;
            }
        }
        assert_eq!(counted, flood, "every refusal is counted");
        // One at once and one count per window the flood spanned.
        let windows = 1 + started.elapsed().as_secs() as usize / 2;
        assert!(events <= 2 * windows, "{flood} refusals cost {events} events over {windows} windows");
        s.stop().await;
        db.cleanup().await;
    }
}
