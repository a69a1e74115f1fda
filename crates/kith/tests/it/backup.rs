//! `kith backup`: a backup taken while a writer adds contacts restores
//! every contact acknowledged before it began; damage and a wrong key are
//! named by `verify` and stop `restore`; a person erased after a backup
//! stays erased (and suppressed) when the backup is restored; a SQLite
//! backup restores into PostgreSQL and back.

use crate::harness::{assert_problem, backends, run_kith_async, send_as, token_for, Backend, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// `kith <command...> --data-dir DIR [--database-url URL] <extra...>`.
fn args(command: &[&str], db: &TestDb, extra: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    all.extend(["--data-dir".to_string(), db.data_dir().to_str().unwrap().to_string()]);
    all.extend(db.url_args());
    all.extend(extra.iter().map(|s| s.to_string()));
    all
}

async fn kith_ok(args: Vec<String>) -> String {
    let (ok, out, err) = run_kith_async(args.clone()).await;
    assert!(ok, "kith {args:?} failed:\n{out}{err}");
    out
}

async fn kith_err(args: Vec<String>) -> String {
    let (ok, out, err) = run_kith_async(args.clone()).await;
    assert!(!ok, "kith {args:?} should have failed:\n{out}");
    err
}

async fn create_backup(db: &TestDb, out: &Path) {
    let said = kith_ok(args(&["backup", "create"], db, &["--out", out.to_str().unwrap(), "--quiet"])).await;
    assert!(said.contains("backup written"), "{said}");
}

/// What an operator keeps apart from the database, copied into a new data directory.
fn carry_keys(from: &TestDb, to: &TestDb) {
    std::fs::create_dir_all(to.data_dir()).unwrap();
    for file in ["kith.key", "audit.key", "erasures.ledger"] {
        std::fs::copy(from.data_dir().join(file), to.data_dir().join(file)).unwrap();
    }
}

async fn restore(file: &Path, target: &TestDb) -> String {
    kith_ok(args(&["backup", "restore", file.to_str().unwrap()], target, &["--quiet"])).await
}

fn backup_path(db: &TestDb, name: &str) -> PathBuf {
    db.dir.path().join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_a_writer_adds_contacts_restores_every_contact_acknowledged_before_it() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (client, base, token) = (s.client.clone(), s.base.clone(), s.token.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = json!({"given_name": format!("Writer{n}"), "emails": [format!("w{n}@example.org")]});
                    let resp =
                        client.post(format!("{base}/api/v1/contacts")).bearer_auth(&token).json(&body).send().await;
                    let resp = resp.expect("create");
                    assert_eq!(resp.status(), StatusCode::CREATED);
                    let created: serde_json::Value = resp.json().await.unwrap();
                    acknowledged.lock().unwrap().push(created["id"].as_str().unwrap().to_string());
                    n += 1;
                }
            })
        };
        while acknowledged.lock().unwrap().len() < 20 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let before: Vec<String> = acknowledged.lock().unwrap().clone();
        let file = backup_path(&db, "online.age");
        create_backup(&db, &file).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.await.unwrap();
        assert!(acknowledged.lock().unwrap().len() > before.len(), "the writer went on during the backup");
        s.stop().await;
        let verified = kith_ok(args(&["backup", "verify", file.to_str().unwrap()], &db, &["--quiet"])).await;
        assert!(verified.contains("backup intact") && verified.contains("audit chain"), "{verified}");

        let target = TestDb::new(backend).await;
        carry_keys(&db, &target);
        let said = restore(&file, &target).await;
        assert!(said.contains("restored"), "{said}");
        kith_ok(args(&["audit", "verify"], &target, &[])).await;
        let restored = Server::start(&target).await;
        for (n, id) in before.iter().enumerate() {
            let (status, contact) = restored.get(&format!("/api/v1/contacts/{id}")).await;
            assert_eq!(status, StatusCode::OK, "contact {n} acknowledged before the backup: {contact}");
            assert!(contact["given_name"].as_str().unwrap().starts_with("Writer"), "{contact}");
        }
        restored.stop().await;
        // A restore goes only into an empty database.
        let again = kith_err(args(&["backup", "restore", file.to_str().unwrap()], &target, &["--quiet"])).await;
        assert!(again.contains("already holds data"), "{again}");
        target.cleanup().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_byte_a_truncated_file_and_a_wrong_key_fail_verify_and_restore() {
    let db = TestDb::new(Backend::Sqlite).await;
    let s = Server::start(&db).await;
    for n in 0..30 {
        s.create("contacts", json!({"given_name": format!("Person{n}"), "notes": "x".repeat(4000)})).await;
    }
    s.stop().await;
    let file = backup_path(&db, "good.age");
    create_backup(&db, &file).await;
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 150_000, "several chunks: {}", bytes.len());

    let mut changed = bytes.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x01;
    // The payload's chunks (64 KiB and a tag each) follow the header and a 16-byte nonce.
    let header_end = bytes.windows(4).position(|w| w == b"\n---").unwrap();
    let payload = header_end + 1 + bytes[header_end + 1..].iter().position(|b| *b == b'\n').unwrap() + 1 + 16;
    let chunk = 65536 + 16;
    let mut moved = bytes.clone();
    let (first, second) = moved[payload..payload + 2 * chunk].split_at_mut(chunk);
    first.swap_with_slice(second);
    let cases = [
        ("changed.age", changed, "damaged"),
        ("moved.age", moved, "a chunk moved"),
        ("truncated.age", bytes[..bytes.len() - 70_000].to_vec(), "truncated"),
        ("cut-at-chunk.age", bytes[..bytes.len() / 2].to_vec(), ""),
    ];
    for (name, content, says) in cases {
        let path = backup_path(&db, name);
        std::fs::write(&path, content).unwrap();
        let err = kith_err(args(&["backup", "verify", path.to_str().unwrap()], &db, &["--quiet"])).await;
        assert!(err.contains(says) && err.contains("did not verify"), "{name}: {err}");
        let target = TestDb::new(Backend::Sqlite).await;
        carry_keys(&db, &target);
        let err = kith_err(args(&["backup", "restore", path.to_str().unwrap()], &target, &["--quiet"])).await;
        assert!(err.contains(says), "{name}: {err}");
        // A restore cut short leaves a database no command or server opens.
        if target.data_dir().join("kith.db").exists() {
            let err = kith_err(args(&["audit", "verify"], &target, &[])).await;
            assert!(err.contains("did not finish"), "{name}: {err}");
        }
    }

    // Another installation's backup key does not open it.
    let stranger = TestDb::new(Backend::Sqlite).await;
    kith_ok(args(&["init"], &stranger, &[])).await;
    create_backup(&stranger, &backup_path(&stranger, "theirs.age")).await;
    let err = kith_err(args(&["backup", "verify", file.to_str().unwrap()], &stranger, &["--quiet"])).await;
    assert!(err.contains("no key at hand opens this backup"), "{err}");
    let target = TestDb::new(Backend::Sqlite).await;
    carry_keys(&stranger, &target);
    let err = kith_err(args(&["backup", "restore", file.to_str().unwrap()], &target, &["--quiet"])).await;
    assert!(err.contains("no key at hand"), "{err}");
    assert!(!target.data_dir().join("kith.db").exists(), "nothing was touched");

    // Retiring the backup key puts the backups made with it beyond use.
    kith_ok(args(&["backup", "rotate-key"], &db, &[])).await;
    let listed = kith_ok(args(&["backup", "keys"], &db, &[])).await;
    let old = listed.lines().next().unwrap().split_whitespace().next().unwrap().to_string();
    kith_ok(args(&["backup", "retire-key", &old], &db, &[])).await;
    let err = kith_err(args(&["backup", "verify", file.to_str().unwrap()], &db, &["--quiet"])).await;
    assert!(err.contains("no key at hand"), "{err}");
    for cleanup in [db, stranger, target] {
        cleanup.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_for_a_recipient_opens_only_with_its_identity() {
    let db = TestDb::new(Backend::Sqlite).await;
    kith_ok(args(&["init"], &db, &[])).await;
    // The backup machine's key, made elsewhere: here, another key file's backup key.
    let elsewhere = TestDb::new(Backend::Sqlite).await;
    kith_ok(args(&["init"], &elsewhere, &[])).await;
    create_backup(&elsewhere, &backup_path(&elsewhere, "x.age")).await;
    let key_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(elsewhere.data_dir().join("kith.key")).unwrap()).unwrap();
    let identity = backup_path(&db, "backup-machine.txt");
    std::fs::write(
        &identity,
        format!("# a backup machine's key\n{}\n", key_file["backup_keys"][0]["secret"].as_str().unwrap()),
    )
    .unwrap();
    let listed = kith_ok(args(&["backup", "keys"], &elsewhere, &[])).await;
    let recipient = listed.split_whitespace().find(|w| w.starts_with("age1")).unwrap().to_string();

    let file = backup_path(&db, "for-recipient.age");
    kith_ok(args(&["backup", "create"], &db, &["--out", file.to_str().unwrap(), "--recipient", &recipient, "--quiet"]))
        .await;
    let own: serde_json::Value =
        serde_json::from_slice(&std::fs::read(db.data_dir().join("kith.key")).unwrap()).unwrap();
    assert!(own.get("backup_keys").is_none(), "no backup key was made for a recipient's backup");
    let err = kith_err(args(&["backup", "verify", file.to_str().unwrap()], &db, &["--quiet"])).await;
    assert!(err.contains("no backup key at hand"), "{err}");
    let ok = kith_ok(args(
        &["backup", "verify", file.to_str().unwrap()],
        &db,
        &["--identity", identity.to_str().unwrap(), "--quiet"],
    ))
    .await;
    assert!(ok.contains("backup intact"), "{ok}");
    let bad = kith_err(args(&["backup", "create"], &db, &["--out", "/tmp/never.age", "--recipient", "age1nope"])).await;
    assert!(bad.contains("not an age recipient"), "{bad}");
    assert!(!Path::new("/tmp/never.age").exists());
    // A backup never overwrites a file.
    let err =
        kith_err(args(&["backup", "create"], &db, &["--out", file.to_str().unwrap(), "--recipient", &recipient])).await;
    assert!(err.contains("exists"), "{err}");
    db.cleanup().await;
    elsewhere.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_erased_after_a_backup_stays_erased_and_suppressed_when_it_is_restored() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let kept = s.create("contacts", json!({"given_name": "Mykola", "emails": ["mykola@example.org"]})).await;
        let person = s.create("contacts", json!({"given_name": "Olena", "emails": ["olena@example.org"]})).await;
        s.create("interactions", json!({"contact_id": person, "kind": "call", "occurred_at": "2026-05-01T10:00:00Z"}))
            .await;
        let file = backup_path(&db, "before-erasure.age");
        create_backup(&db, &file).await;

        let dpo = token_for(&s, "dpo").await;
        let filed = json!({"kind": "erasure", "contact_id": person});
        let (_, request) = send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&filed)).await;
        let id = request["id"].as_str().unwrap();
        let attest = json!({"method": "staff_attestation", "note": "seen"});
        send_as(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/verify"), Some(&attest)).await;
        let (status, done) = send_as(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/fulfil"), None).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        s.stop().await;
        let ledger = std::fs::read_to_string(db.data_dir().join("erasures.ledger")).unwrap();
        assert!(ledger.contains(&person), "the erasure reached the ledger file: {ledger}");
        assert!(!ledger.contains("olena"), "ids and keyed hashes only");

        // Without the ledger the restore refuses to run.
        let bare = TestDb::new(backend).await;
        carry_keys(&db, &bare);
        std::fs::remove_file(bare.data_dir().join("erasures.ledger")).unwrap();
        let err = kith_err(args(&["backup", "restore", file.to_str().unwrap()], &bare, &["--quiet"])).await;
        assert!(err.contains("erasures.ledger") && err.contains("missing"), "{err}");

        let target = TestDb::new(backend).await;
        carry_keys(&db, &target);
        let said = restore(&file, &target).await;
        assert!(said.contains("1 person erased since the backup"), "{said}");
        let restored = Server::start(&target).await;
        assert_eq!(restored.get(&format!("/api/v1/contacts/{person}")).await.0, StatusCode::NOT_FOUND);
        assert_eq!(restored.get(&format!("/api/v1/contacts/{kept}")).await.0, StatusCode::OK);
        let again = json!({"given_name": "Olena", "emails": ["Olena@Example.org"]});
        assert_problem(&restored.post("/api/v1/contacts", &again).await, 409, "suppressed_after_erasure");
        let found = restored.list_all(&format!("/api/v1/interactions?contact_id={person}")).await;
        assert!(found.is_empty(), "the person's interactions went too: {found:?}");
        restored.stop().await;
        kith_ok(args(&["audit", "verify"], &target, &[])).await;
        for cleanup in [db, bare, target] {
            cleanup.cleanup().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_restores_into_postgresql_and_back() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let sqlite = TestDb::new(Backend::Sqlite).await;
    let s = Server::start(&sqlite).await;
    let id = s.create("contacts", json!({"given_name": "Taras", "phones": ["+380441234567"]})).await;
    s.stop().await;
    let file = backup_path(&sqlite, "from-sqlite.age");
    create_backup(&sqlite, &file).await;

    let postgres = TestDb::new(Backend::Postgres).await;
    carry_keys(&sqlite, &postgres);
    restore(&file, &postgres).await;
    let toml = std::fs::read_to_string(postgres.data_dir().join("kith.toml")).unwrap();
    assert!(toml.contains("postgres://"), "the data directory now names the database: {toml}");
    let served = Server::start(&postgres).await;
    let (status, contact) = served.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!((status, contact["given_name"].as_str()), (StatusCode::OK, Some("Taras")), "{contact}");
    served.stop().await;
    let back = backup_path(&postgres, "from-postgres.age");
    create_backup(&postgres, &back).await;

    let sqlite_again = TestDb::new(Backend::Sqlite).await;
    carry_keys(&postgres, &sqlite_again);
    restore(&back, &sqlite_again).await;
    kith_ok(args(&["audit", "verify"], &sqlite_again, &[])).await;
    let served = Server::start(&sqlite_again).await;
    assert_eq!(served.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);
    served.stop().await;
    for cleanup in [sqlite, postgres, sqlite_again] {
        cleanup.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_a_sqlite_installation_to_postgresql_and_back_and_refuses_a_used_target() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let sqlite = TestDb::new(Backend::Sqlite).await;
    let s = Server::start(&sqlite).await;
    let id = s.create("contacts", json!({"given_name": "Iryna", "emails": ["iryna@example.org"]})).await;
    s.stop().await;
    let postgres = TestDb::new(Backend::Postgres).await;
    let to = postgres.url.clone().unwrap();

    // A target that holds data, or that a cut-short copy left marked, is refused and nothing switches.
    let used = sqlite.dir.path().join("used.db");
    let used_url = format!("sqlite://{}", used.display());
    let other = kith_store::open(&used_url).await.unwrap();
    other.set_setting("active_kek", "kek-x").await.unwrap();
    let err = kith_err(args(&["migrate"], &sqlite, &["--to", &used_url])).await;
    assert!(err.contains("already holds data"), "{err}");
    let half = sqlite.dir.path().join("half.db");
    let half_url = format!("sqlite://{}", half.display());
    kith_store::open(&half_url).await.unwrap().set_setting("restore_incomplete", "earlier").await.unwrap();
    let err = kith_err(args(&["migrate"], &sqlite, &["--to", &half_url])).await;
    assert!(err.contains("did not finish"), "{err}");
    assert!(!sqlite.data_dir().join("kith.toml").exists(), "nothing switched");

    let said = kith_ok(args(&["migrate"], &sqlite, &["--to", &to, "--quiet"])).await;
    assert!(said.contains("row counts match"), "{said}");
    let toml = std::fs::read_to_string(sqlite.data_dir().join("kith.toml")).unwrap();
    assert!(toml.contains("postgres://"), "{toml}");
    let err = kith_err(args(&["migrate"], &sqlite, &["--to", &to])).await;
    assert!(err.contains("already uses"), "{err}");

    // The data directory now serves from PostgreSQL.
    let moved = TestDb { dir: sqlite.dir, url: Some(to.clone()), schema: None };
    let served = Server::start(&moved).await;
    let (status, contact) = served.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!((status, contact["given_name"].as_str()), (StatusCode::OK, Some("Iryna")), "{contact}");
    served.stop().await;
    let moved = TestDb { url: None, ..moved };
    kith_ok(args(&["audit", "verify"], &moved, &[])).await;

    // And back to a SQLite file.
    let back = format!("sqlite://{}", moved.dir.path().join("back.db").display());
    kith_ok(args(&["migrate"], &moved, &["--to", &back, "--quiet"])).await;
    kith_ok(args(&["audit", "verify"], &moved, &[])).await;
    let toml = std::fs::read_to_string(moved.data_dir().join("kith.toml")).unwrap();
    assert!(toml.contains("back.db"), "{toml}");
    moved.cleanup().await;
    postgres.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_run_when_due_are_verified_and_the_oldest_beyond_keep_go() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        s.create("contacts", json!({"given_name": "Scheduled"})).await;
        let dir = kith_server::datadir::DataDir::new(&db.data_dir(), None).unwrap();
        let settings = kith_server::config::BackupSettings {
            every: "1h".into(),
            keep: 2,
            dir: db.dir.path().join("scheduled"),
            recipients: vec![],
        };
        assert!(settings.check().is_ok());
        let engine = kith_server::backup::engine_of(&dir.database_url(db.url.as_deref()));
        let run = |now: i64| {
            let (store, settings, key_file) = (s.store.clone(), settings.clone(), dir.key_file());
            async move { kith_server::backup::schedule::run_if_due(&store, &settings, &key_file, engine, now).await }
        };
        let start = kith_server::now_millis();
        let hour = 3_600_000;
        let first = run(start).await.unwrap().expect("no backup yet: one is due");
        assert!(first.verified && first.file.exists(), "{first:?}");
        assert!(run(start + 1_000).await.unwrap().is_none(), "not due within the hour");
        let second = run(start + hour).await.unwrap().expect("due after an hour");
        let third = run(start + 2 * hour).await.unwrap().expect("due again");
        assert_eq!(third.deleted, 1, "keep = 2");
        assert!(!first.file.exists() && second.file.exists() && third.file.exists());
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&settings.dir).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o700);
        let query = kith_store::AuditQuery {
            actor: Some("system:scheduler".into()),
            limit: 100,
            subject_id: None,
            action: None,
            from: None,
            to: None,
            after: None,
            newest_first: false,
        };
        let events = s.store.audit_query(&query).await.unwrap();
        let entities: Vec<&str> = events.iter().filter_map(|e| e.entity.as_deref()).collect();
        assert_eq!(entities.iter().filter(|e| **e == "backup").count(), 3, "{entities:?}");
        assert_eq!(entities.iter().filter(|e| **e == "backup_verification").count(), 3, "{entities:?}");
        s.stop().await;
        let said = kith_ok(args(&["backup", "verify", third.file.to_str().unwrap()], &db, &["--quiet"])).await;
        assert!(said.contains("backup intact"), "{said}");
        let (_, out, _) = run_kith_async(args(&["doctor"], &db, &[])).await;
        assert!(!out.contains("backup_missing") && !out.contains("backup_unverified"), "{out}");
        db.cleanup().await;
    }
}
