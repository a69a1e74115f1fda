//! The store's contract, one story per domain, on SQLite and, when
//! `KITH_TEST_POSTGRES_URL` is set, on PostgreSQL (each run in a schema of
//! its own): what every engine must do the same way, below the server.

use kith_core::{ClearValue, EntityKind};
use kith_store::postgres::PgStore;
use kith_store::sqlite::SqliteStore;
use kith_store::*;
use std::sync::Arc;
use uuid::Uuid;

/// A store of each engine, with what must outlive it.
struct Engine {
    store: DynStore,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl Engine {
    async fn cleanup(self) {
        if let Some((url, schema)) = &self.schema {
            admin(url, &format!("DROP SCHEMA {schema} CASCADE")).await;
        }
    }
}

async fn admin(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to PostgreSQL");
    sqlx::raw_sql(sql).execute(&mut conn).await.expect("admin SQL");
}

fn postgres_url() -> Option<String> {
    match std::env::var("KITH_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") => {
            panic!("CI must run the PostgreSQL suite: set KITH_TEST_POSTGRES_URL")
        }
        _ => None,
    }
}

async fn engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("kith.db")).await.unwrap();
    let mut all = vec![Engine { store: Arc::new(sqlite), _dir: Some(dir), schema: None }];
    if let Some(url) = postgres_url() {
        let schema = format!("kith_contract_{}", Uuid::new_v4().simple());
        admin(&url, &format!("CREATE SCHEMA {schema}")).await;
        let store = PgStore::connect(&url, Some(&schema)).await.unwrap();
        all.push(Engine { store: Arc::new(store), _dir: None, schema: Some((url, schema)) });
    }
    all
}

fn key(subject: Uuid, kek: &str) -> KeyRow {
    KeyRow { subject_id: subject, kek_id: kek.into(), wrapped: vec![7; 40] }
}

fn contact(id: Uuid, at: i64) -> NewRecord {
    NewRecord {
        entity: EntityKind::Contacts,
        id,
        subject_id: id,
        owner: Some("owner-1".into()),
        created_at: at,
        sealed: vec![1, 2, 3],
        columns: EntityKind::Contacts.columns().iter().map(|_| ClearValue::Null).collect(),
        terms: Vec::new(),
        references: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_keep_the_first_value_until_set() {
    for engine in engines().await {
        let s = &engine.store;
        assert_eq!(s.setting("colour").await.unwrap(), None);
        assert_eq!(s.init_setting("colour", "blue").await.unwrap(), "blue");
        assert_eq!(s.init_setting("colour", "red").await.unwrap(), "blue", "init keeps the first value");
        s.set_setting("colour", "green").await.unwrap();
        assert_eq!(s.setting("colour").await.unwrap().as_deref(), Some("green"));
        s.ping().await.unwrap();
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_lives_and_dies_with_its_key() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        s.insert(contact(id, 1), Some(key(id, "k1"))).await.unwrap();
        assert!(matches!(s.insert(contact(id, 1), Some(key(id, "k1"))).await, Err(StoreError::Duplicate)));
        let stored = s.get(EntityKind::Contacts, id).await.unwrap().expect("stored");
        assert_eq!(
            (stored.version, stored.sealed.clone(), stored.owner.as_deref()),
            (1, vec![1, 2, 3], Some("owner-1"))
        );
        assert_eq!(stored.key, Some(key(id, "k1")));
        // An update names the version it read; a stale one changes nothing.
        let mut changed = contact(id, 1);
        changed.sealed = vec![9];
        let stale = RecordUpdate { record: changed.clone(), expected_version: 7, updated_at: 2 };
        assert!(matches!(s.update(stale, None).await, Err(StoreError::VersionConflict)));
        s.update(RecordUpdate { record: changed, expected_version: 1, updated_at: 2 }, None).await.unwrap();
        let stored = s.get(EntityKind::Contacts, id).await.unwrap().unwrap();
        assert_eq!((stored.version, stored.sealed), (2, vec![9]));
        // Deleting the row deletes its key; a second delete finds nothing.
        assert!(s.delete(EntityKind::Contacts, id).await.unwrap());
        assert!(s.get(EntityKind::Contacts, id).await.unwrap().is_none());
        assert!(s.data_key(id).await.unwrap().is_none());
        assert!(!s.delete(EntityKind::Contacts, id).await.unwrap());
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_rewraps_each_key_once() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        s.insert(contact(id, 1), Some(key(id, "k1"))).await.unwrap();
        assert_eq!(s.count_keys_not_under("k1").await.unwrap(), 0);
        assert_eq!(s.count_keys_not_under("k2").await.unwrap(), 1);
        let listed = s.keys_after(None, 10).await.unwrap();
        assert_eq!(listed, vec![key(id, "k1")]);
        assert!(s.rewrap(&key(id, "k1"), &key(id, "k2")).await.unwrap());
        assert!(!s.rewrap(&key(id, "k1"), &key(id, "k2")).await.unwrap(), "the old key is gone");
        assert_eq!(s.count_keys_not_under("k2").await.unwrap(), 0);
        assert_eq!(s.data_key(id).await.unwrap(), Some(key(id, "k2")));
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_numbers_and_verifies_and_statuses_follow_it() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        s.insert(contact(id, 1), Some(key(id, "k1"))).await.unwrap();
        let notice = NoticeRow { version: "1".into(), text: "Notice".into(), sha256: "0".repeat(64), created_at: 0 };
        s.add_notice(&notice).await.unwrap();
        assert!(matches!(s.add_notice(&notice).await, Err(StoreError::Duplicate)), "a notice never changes");
        // A seal that chains: the previous MAC and the entry's number.
        let seal = |e: &ConsentRow, previous: &[u8]| {
            let mut mac = previous.to_vec();
            mac.extend_from_slice(&e.seq.to_be_bytes());
            mac.push(u8::from(e.granted));
            mac
        };
        let entry = |granted: bool| ConsentRow {
            id: Uuid::new_v4(),
            contact_id: id,
            purpose: "marketing".into(),
            granted,
            at: 5,
            notice_version: "1".into(),
            method: "api".into(),
            recorded_by: "t".into(),
            sealed: vec![1],
            seq: 0,
            mac: Vec::new(),
        };
        for granted in [true, false, true] {
            s.append_consent(&entry(granted), &seal).await.unwrap();
        }
        let ledger = s.consents(id, &seal).await.unwrap();
        assert!(ledger.intact);
        assert_eq!(ledger.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        let status = s.statuses(&[id], &seal).await.unwrap().remove(&id).unwrap();
        assert_eq!(status.consents.get("marketing"), Some(&true));
        // Restriction, objection and a legal claim show in the status.
        s.restrict(id, 6, "dpo").await.unwrap();
        s.object(Uuid::new_v4(), id, "profiling", 7, "dpo").await.unwrap();
        let status = s.statuses(&[id], &seal).await.unwrap().remove(&id).unwrap();
        assert!(status.restricted && status.objections.contains("profiling"));
        assert!(s.lift_restriction(id).await.unwrap());
        assert!(!s.lift_restriction(id).await.unwrap());
        // Writes about a person who does not exist change nothing.
        let stranger = Uuid::new_v4();
        assert!(matches!(s.restrict(stranger, 1, "dpo").await, Err(StoreError::UnknownReference(..))));
        let mut lost = entry(true);
        lost.contact_id = stranger;
        assert!(matches!(s.append_consent(&lost, &seal).await, Err(StoreError::UnknownReference(..))));
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_and_segments_come_and_go() {
    for engine in engines().await {
        let s = &engine.store;
        let token = TokenRow {
            id: Uuid::new_v4(),
            name: "ci".into(),
            role: "sales".into(),
            token_hash: vec![4; 32],
            created_at: 1,
            expires_at: None,
            revoked_at: None,
        };
        s.insert_token(&token).await.unwrap();
        assert_eq!(s.token_by_hash(&[4; 32]).await.unwrap().map(|t| t.id), Some(token.id));
        assert!(s.revoke_token(token.id, 2).await.unwrap());
        assert!(!s.revoke_token(token.id, 3).await.unwrap(), "revoked once");
        assert_eq!(s.list_tokens().await.unwrap()[0].revoked_at, Some(2));

        assert!(s.put_role("reviewer", "{}", "admin", 1, false).await.unwrap());
        assert!(!s.put_role("reviewer", "{\"x\":1}", "admin", 2, false).await.unwrap(), "no silent replace");
        assert!(s.put_role("reviewer", "{\"x\":1}", "admin", 2, true).await.unwrap());
        assert_eq!(s.custom_role("reviewer").await.unwrap().as_deref(), Some("{\"x\":1}"));
        assert!(s.delete_role("reviewer").await.unwrap());
        assert!(s.custom_roles().await.unwrap().is_empty());

        let id = Uuid::new_v4();
        let segment = SegmentRow { id, created_by: "admin".into(), created_at: 1, sealed: vec![5] };
        s.insert_segment(&segment, &key(id, "k1")).await.unwrap();
        assert_eq!(s.segment(id).await.unwrap(), Some(segment.clone()));
        assert_eq!(s.segments().await.unwrap(), vec![segment]);
        assert!(s.delete_segment(id).await.unwrap());
        assert!(s.data_key(id).await.unwrap().is_none(), "its key went with it");
        assert!(!s.delete_segment(id).await.unwrap());
        engine.cleanup().await;
    }
}

fn user(id: Uuid, term: u8) -> UserRow {
    UserRow {
        id,
        email_term: vec![term; 16],
        sealed: vec![1],
        roles: vec!["sales".into()],
        teams: Vec::new(),
        status: "active".into(),
        password_hash: "$argon2id$test".into(),
        password_changed_at: 1,
        totp: None,
        totp_pending: None,
        totp_last_step: None,
        failed_logins: 0,
        first_failed_at: None,
        locked_until: None,
        created_at: 1,
        updated_at: 1,
    }
}

fn session(user: Uuid, hash: u8) -> SessionRow {
    SessionRow {
        id: Uuid::new_v4(),
        user_id: user,
        secret_hash: vec![hash; 32],
        created_at: 10,
        last_seen_at: 10,
        expires_at: 1_000_000,
        revoked_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_lock_after_failures_and_sessions_start_only_when_allowed() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        s.insert_user(&user(id, 3), &key(id, "k1")).await.unwrap();
        let other = Uuid::new_v4();
        assert!(matches!(s.insert_user(&user(other, 3), &key(other, "k1")).await, Err(StoreError::Duplicate)));
        assert_eq!(s.user_by_email_term(&[3; 16]).await.unwrap().map(|u| u.id), Some(id));
        // Three failures within the window lock the account for the rule's time.
        let rule = LockoutRule { max_failures: 3, window_ms: 1_000, lock_ms: 5_000 };
        assert_eq!(s.record_login_failure(id, 100, rule).await.unwrap(), None);
        assert_eq!(s.record_login_failure(id, 200, rule).await.unwrap(), None);
        assert_eq!(s.record_login_failure(id, 300, rule).await.unwrap(), Some(5_300));
        assert_eq!(s.start_session(&session(id, 1), 1).await.unwrap(), SessionStart::Locked);
        // A password changed since the attempt read the account refuses too.
        let mut unlocked = s.user(id).await.unwrap().unwrap();
        (unlocked.locked_until, unlocked.failed_logins, unlocked.first_failed_at) = (None, 0, None);
        assert!(s.update_user(&unlocked, true).await.unwrap());
        assert!(s.set_password(id, "$argon2id$new", 50).await.unwrap());
        assert_eq!(s.start_session(&session(id, 1), 1).await.unwrap(), SessionStart::PasswordChanged);
        let started = session(id, 2);
        assert_eq!(s.start_session(&started, 50).await.unwrap(), SessionStart::Started);
        assert_eq!(s.session_by_hash(&[2; 32]).await.unwrap().map(|r| r.id), Some(started.id));
        assert_eq!(s.revoke_user_sessions(id, 60, None).await.unwrap(), 1);
        assert!(!s.revoke_session(started.id, 61).await.unwrap(), "revoked already");
        // Enrolment needs a pending secret; then a recovery code and a step work once.
        assert!(!s.enrol_totp(id, &[9], 7, &[vec![5; 32]], 70).await.unwrap(), "nothing pending");
        assert!(s.set_totp_pending(id, Some(&[8]), 70).await.unwrap());
        assert!(s.enrol_totp(id, &[9], 7, &[vec![5; 32]], 71).await.unwrap());
        assert_eq!(s.user(id).await.unwrap().unwrap().totp, Some(vec![9]));
        assert!(s.use_recovery_code(id, &[5; 32], 80).await.unwrap());
        assert!(!s.use_recovery_code(id, &[5; 32], 81).await.unwrap());
        assert!(!s.accept_totp_step(id, 7).await.unwrap(), "the enrolment's step is taken");
        assert!(s.accept_totp_step(id, 8).await.unwrap());
        assert!(!s.accept_totp_step(id, 8).await.unwrap(), "a step is taken once");
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_submission_is_taken_once_with_its_key() {
    for engine in engines().await {
        let s = &engine.store;
        let notice = NoticeRow { version: "1".into(), text: "Notice".into(), sha256: "0".repeat(64), created_at: 0 };
        s.add_notice(&notice).await.unwrap();
        let form = FormRow {
            key: "newsletter".into(),
            name: "Newsletter".into(),
            purposes: vec!["marketing.communications.email".into()],
            notice_version: "1".into(),
            source: None,
            created_at: 1,
            created_by: "admin".into(),
            disabled_at: None,
        };
        s.add_form(&form).await.unwrap();
        assert!(matches!(s.add_form(&form).await, Err(StoreError::Duplicate)));
        let id = Uuid::new_v4();
        let pending = PendingRow {
            id,
            form_key: "newsletter".into(),
            token_hash: vec![6; 32],
            submitted_at: 1,
            expires_at: 100,
            sealed: vec![1],
        };
        let message = OutboxRow { id: Uuid::new_v4(), pending_id: id, created_at: 1, sealed: vec![2] };
        s.add_pending(&pending, key(id, "k1"), &message).await.unwrap();
        let claimed = s.claim_outbox(10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(s.claim_outbox(10).await.unwrap().is_empty(), "a message is handed out once");
        let (taken, taken_key) = s.take_pending(&[6; 32]).await.unwrap().expect("taken");
        assert_eq!((taken, taken_key), (pending, Some(key(id, "k1"))));
        assert!(s.take_pending(&[6; 32]).await.unwrap().is_none(), "a token works once");
        assert!(s.disable_form("newsletter", 5).await.unwrap());
        assert_eq!(s.form("newsletter").await.unwrap().and_then(|f| f.disabled_at), Some(5));
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drp_agents_tokens_requests_and_callbacks() {
    for engine in engines().await {
        let s = &engine.store;
        let agent = DrpAgentRow {
            agent_id: "agent-a".into(),
            name: "Agent".into(),
            verify_key: vec![1; 32],
            created_by: "dpo".into(),
            created_at: 1,
            callback_hosts: vec!["agent.example".into(), "127.0.0.1".into()],
        };
        s.insert_drp_agent(&agent).await.unwrap();
        assert_eq!(s.drp_agent("agent-a").await.unwrap(), Some(agent.clone()), "callback hosts round-trip");
        s.insert_drp_token(&[7; 32], "agent-a", 2).await.unwrap();
        assert_eq!(s.drp_token_agent(&[7; 32]).await.unwrap().as_deref(), Some("agent-a"));
        let request = DrpRequestRow {
            id: Uuid::new_v4(),
            agent_id: "agent-a".into(),
            agent_request_id: "r-1".into(),
            exercise: "sale:opt-out".into(),
            dsr_id: None,
            status: "open".into(),
            reason: None,
            status_callback: Some("https://agent.example/cb".into()),
            received_at: 3,
            expected_by: 4,
        };
        s.insert_drp_request(&request).await.unwrap();
        assert!(s.set_drp_request_status(request.id, "revoked", Some("gone")).await.unwrap());
        s.record_drp_callback(request.id, "revoked", 5, "http_503").await.unwrap();
        s.record_drp_callback(request.id, "revoked", 6, "delivered").await.unwrap();
        assert_eq!(
            s.drp_callbacks(request.id).await.unwrap(),
            vec![("revoked".to_string(), "http_503".to_string()), ("revoked".to_string(), "delivered".to_string())]
        );
        // Removing the agent ends its tokens; its requests stay.
        assert!(s.delete_drp_agent("agent-a").await.unwrap());
        assert!(s.drp_token_agent(&[7; 32]).await.unwrap().is_none());
        assert_eq!(s.drp_request(request.id).await.unwrap().map(|r| r.status), Some("revoked".to_string()));
        engine.cleanup().await;
    }
}
