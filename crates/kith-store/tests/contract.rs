//! The store's contract, one story per domain, on SQLite and, when
//! `KITH_TEST_POSTGRES_URL` is set, on PostgreSQL (each run in a schema of
//! its own): what every engine must do the same way, below the server.

use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::{ClearValue, ColumnType, EntityKind};
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

/// A chain the test can recompute: the leaf is the event's number and
/// time, the chain hash folds the leaf into the one before it.
fn test_hasher(event: &AuditEvent, previous: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let mut leaf = [event.seq as u8; 32];
    leaf[1] = event.at as u8;
    let mut chain = *previous;
    for (c, l) in chain.iter_mut().zip(leaf) {
        *c = c.wrapping_mul(31).wrapping_add(l);
    }
    (leaf, chain)
}

fn event(at: i64, actor: &str, action: AuditAction, subject: Option<Uuid>) -> AuditEvent {
    AuditEvent {
        seq: 0,
        at,
        actor: actor.into(),
        action,
        entity: subject.map(|_| "contacts".into()),
        record_id: subject,
        subject_id: subject,
        fields: vec!["name".into(), "email".into()],
        purpose: Some("marketing".into()),
        request_id: Some("req-1".into()),
        client: Some("cli".into()),
        outcome: AuditOutcome::Ok,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_numbers_chains_and_checkpoints_its_events() {
    for engine in engines().await {
        let s = &engine.store;
        // An empty log: the head is number 0 over the zero hash, and there is nothing to read.
        assert_eq!(s.audit_head().await.unwrap(), (0, vec![0; 32]));
        assert!(s.audit_rows(0, 10).await.unwrap().is_empty());
        assert!(s.append_audit(Vec::new(), &test_hasher).await.unwrap().is_empty());
        assert_eq!(s.audit_head().await.unwrap(), (0, vec![0; 32]), "appending nothing moves nothing");
        // Appends number the events on from the head, across calls.
        let person = Uuid::new_v4();
        let pair = vec![
            event(100, "user:a", AuditAction::Read, Some(person)),
            event(200, "user:b", AuditAction::Update, Some(person)),
        ];
        let first = s.append_audit(pair, &test_hasher).await.unwrap();
        assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        let mut denied = event(300, "token:c", AuditAction::Authenticate, None);
        (denied.outcome, denied.fields, denied.purpose, denied.request_id, denied.client) =
            (AuditOutcome::Denied, Vec::new(), None, None, None);
        let second = s.append_audit(vec![denied], &test_hasher).await.unwrap();
        assert_eq!(second.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3]);
        let appended: Vec<AuditEvent> = first.into_iter().chain(second).collect();
        // Read back in order, each event whole, with the hashes the hasher gave along the chain.
        let rows = s.audit_rows(0, 10).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.event.clone()).collect::<Vec<_>>(), appended);
        let mut previous = [0u8; 32];
        for row in &rows {
            let (leaf, chain) = test_hasher(&row.event, &previous);
            assert_eq!((row.leaf_hash.as_slice(), row.chain_hash.as_slice()), (&leaf[..], &chain[..]));
            assert!(row.canonical, "event {} is stored as Kith writes it", row.event.seq);
            previous = chain;
        }
        assert_eq!(s.audit_head().await.unwrap(), (3, previous.to_vec()), "the head is the last event's");
        // Ranges start after a number and stop at the limit; past the end there is nothing.
        let middle = s.audit_rows(1, 1).await.unwrap();
        assert_eq!(middle.iter().map(|r| r.event.seq).collect::<Vec<_>>(), vec![2]);
        assert!(s.audit_rows(3, 10).await.unwrap().is_empty());
        assert!(s.audit_rows(99, 10).await.unwrap().is_empty());
        // Queries filter by subject, actor, action and a half-open time range, in sequence order.
        let all = AuditQuery { limit: 10, ..Default::default() };
        let seqs = |query: AuditQuery| async move {
            s.audit_query(&query).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>()
        };
        assert_eq!(seqs(all.clone()).await, vec![1, 2, 3]);
        assert_eq!(seqs(AuditQuery { subject_id: Some(person), ..all.clone() }).await, vec![1, 2]);
        assert_eq!(seqs(AuditQuery { subject_id: Some(Uuid::new_v4()), ..all.clone() }).await, Vec::<i64>::new());
        assert_eq!(seqs(AuditQuery { actor: Some("token:c".into()), ..all.clone() }).await, vec![3]);
        assert_eq!(seqs(AuditQuery { action: Some("update".into()), ..all.clone() }).await, vec![2]);
        assert_eq!(seqs(AuditQuery { from: Some(200), to: Some(300), ..all.clone() }).await, vec![2]);
        assert_eq!(seqs(AuditQuery { after: Some(1), limit: 1, ..all.clone() }).await, vec![2]);
        assert_eq!(seqs(AuditQuery { after: Some(3), ..all.clone() }).await, Vec::<i64>::new());
        // Checkpoints: one per size, the first note kept; the latest is the one covering the most events.
        assert_eq!(s.latest_checkpoint().await.unwrap(), None);
        s.insert_checkpoint(2, "two", 10).await.unwrap();
        assert_eq!(s.latest_checkpoint().await.unwrap().as_deref(), Some("two"));
        s.insert_checkpoint(3, "three", 11).await.unwrap();
        s.insert_checkpoint(1, "one", 12).await.unwrap();
        s.insert_checkpoint(3, "three again", 13).await.unwrap();
        assert_eq!(s.latest_checkpoint().await.unwrap().as_deref(), Some("three"));
        // An alert fires once per rule and actor since a time; alerts come newest first.
        let alert = |at: i64, actor: &str| AlertRow {
            id: Uuid::new_v4(),
            at,
            rule: "bulk_read".into(),
            actor: actor.into(),
            detail: "reads:500>100".into(),
        };
        let early = alert(1_000, "user:a");
        assert!(s.raise_alert(&early, 0).await.unwrap());
        assert!(!s.raise_alert(&alert(1_500, "user:a"), 1_000).await.unwrap(), "it fired at 1000");
        let other = alert(1_600, "user:b");
        assert!(s.raise_alert(&other, 1_000).await.unwrap(), "another actor");
        let late = alert(2_000, "user:a");
        assert!(s.raise_alert(&late, 1_001).await.unwrap(), "the last one is before since");
        assert_eq!(s.alerts(10).await.unwrap(), vec![late.clone(), other, early]);
        assert_eq!(s.alerts(1).await.unwrap(), vec![late]);
        engine.cleanup().await;
    }
}

fn request(kind: &str, status: &str, contact: Option<Uuid>, due_at: i64) -> DsrRow {
    DsrRow {
        id: Uuid::new_v4(),
        kind: kind.into(),
        status: status.into(),
        channel: "portal".into(),
        contact_id: contact,
        purpose: None,
        received_at: 1,
        due_at,
        extended_months: 0,
        person_told_at: None,
        verified_at: None,
        verification_method: None,
        failed_attempts: 0,
        token_hash: None,
        token_expires_at: None,
        completed_at: None,
        closed_at: None,
        created_by: "dpo".into(),
        created_at: 1,
        updated_at: 1,
        version: 1,
        sealed: vec![3],
        given_term: None,
        erased_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_register_lists_by_due_date_and_refuses_stale_updates() {
    for engine in engines().await {
        let s = &engine.store;
        let person = Uuid::new_v4();
        // Every column round-trips, the optional ones too; the request has a key of its own.
        let mut objection = request("objection", "identity_verification", Some(person), 300);
        objection.purpose = Some("marketing".into());
        (objection.failed_attempts, objection.token_hash, objection.token_expires_at) =
            (2, Some(vec![8; 32]), Some(50));
        objection.given_term = Some(vec![4; 16]);
        s.insert_dsr(&objection, &key(objection.id, "k1")).await.unwrap();
        assert_eq!(s.dsr(objection.id).await.unwrap(), Some(objection.clone()));
        assert_eq!(s.data_key(objection.id).await.unwrap(), Some(key(objection.id, "k1")));
        assert!(matches!(s.insert_dsr(&objection, &key(objection.id, "k1")).await, Err(StoreError::Duplicate)));
        let stray = request("access", "received", None, 1);
        assert!(matches!(s.insert_dsr(&stray, &key(person, "k1")).await, Err(StoreError::Corrupt(_))), "not its key");
        assert!(s.dsr(stray.id).await.unwrap().is_none());
        assert!(s.data_key(person).await.unwrap().is_none());
        // More requests: two due at the same time (then in id order), one about someone else.
        let access = request("access", "received", Some(person), 100);
        let erasure = request("erasure", "completed", Some(person), 200);
        let unmatched = request("erasure", "received", None, 200);
        let other = request("access", "in_progress", Some(Uuid::new_v4()), 400);
        for r in [&access, &erasure, &unmatched, &other] {
            s.insert_dsr(r, &key(r.id, "k1")).await.unwrap();
        }
        let mut ordered = vec![objection.clone(), access.clone(), erasure.clone(), unmatched.clone(), other.clone()];
        ordered.sort_by_key(|r| (r.due_at, r.id));
        let ids = |rows: &[DsrRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        let all = DsrQuery { limit: 10, ..Default::default() };
        assert_eq!(s.dsrs(&all).await.unwrap(), ordered);
        let listed = |query: DsrQuery| async move { ids(&s.dsrs(&query).await.unwrap()) };
        assert_eq!(
            listed(DsrQuery { contact: Some(person), ..all.clone() }).await,
            vec![access.id, erasure.id, objection.id]
        );
        let open = vec!["received".to_string(), "in_progress".to_string()];
        let mut received = vec![access.id, unmatched.id, other.id];
        assert_eq!(listed(DsrQuery { statuses: open.clone(), ..all.clone() }).await, received);
        let both = DsrQuery { contact: Some(person), statuses: open.clone(), ..all.clone() };
        assert_eq!(listed(both).await, vec![access.id]);
        let window = DsrQuery { due_from: Some(200), due_to: Some(400), ..all.clone() };
        assert_eq!(listed(window).await, ids(&ordered[1..4]), "from inclusive, to exclusive");
        assert_eq!(listed(DsrQuery { limit: 2, ..all.clone() }).await, ids(&ordered[..2]));
        // Pages of two, each after the last one seen, cover the register once, in order.
        let (mut seen, mut after) = (Vec::new(), None);
        loop {
            let page = s.dsrs(&DsrQuery { after, limit: 2, ..all.clone() }).await.unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some((last.due_at, last.id));
            seen.extend(ids(&page));
        }
        assert_eq!(seen, ids(&ordered));
        // An update names the version it read and bumps it; only the changing columns change.
        let mut done = s.dsr(access.id).await.unwrap().unwrap();
        (done.status, done.verified_at, done.verification_method) =
            ("completed".into(), Some(40), Some("staff_attestation".into()));
        (done.due_at, done.extended_months, done.person_told_at) = (1_000, 1, Some(45));
        (done.completed_at, done.closed_at, done.updated_at, done.sealed) = (Some(50), Some(50), 50, vec![4, 5]);
        done.kind = "erasure".into();
        assert!(s.update_dsr(&done, None).await.unwrap());
        let stored = s.dsr(access.id).await.unwrap().unwrap();
        assert_eq!(stored, DsrRow { version: 2, kind: "access".into(), ..done.clone() }, "the kind never changes");
        // A stale version, or a request that does not exist, changes nothing.
        assert!(!s.update_dsr(&DsrRow { status: "refused".into(), ..done.clone() }, None).await.unwrap());
        assert_eq!(s.dsr(access.id).await.unwrap().as_ref(), Some(&stored));
        assert!(!s.update_dsr(&request("access", "received", None, 1), None).await.unwrap());
        // Only a request whose key erasure destroyed is given a new one.
        assert!(!s.update_dsr(&stored, Some(&key(access.id, "k2"))).await.unwrap());
        assert_eq!(s.data_key(access.id).await.unwrap(), Some(key(access.id, "k1")));
        assert_eq!(s.dsr(access.id).await.unwrap().map(|r| r.version), Some(2));
        received.retain(|id| *id != access.id);
        assert_eq!(listed(DsrQuery { statuses: open, ..all.clone() }).await, received, "listed as it is now");
        // An archive link works once, for its own request, until it expires.
        s.insert_export_link(access.id, &[1; 32], 60, 1_000).await.unwrap();
        s.insert_export_link(access.id, &[2; 32], 60, 100).await.unwrap();
        assert!(matches!(s.insert_export_link(access.id, &[1; 32], 60, 1_000).await, Err(StoreError::Duplicate)));
        let unknown = s.insert_export_link(Uuid::new_v4(), &[3; 32], 60, 1_000).await;
        assert!(matches!(unknown, Err(StoreError::UnknownReference("dsr_requests", _))));
        let link = ExportLinkRow { request_id: access.id, expires_at: 1_000, used_at: None };
        assert_eq!(s.export_link(&[1; 32]).await.unwrap(), Some(link.clone()));
        assert_eq!(s.last_export(access.id).await.unwrap(), None);
        assert!(!s.use_export_link(other.id, &[1; 32], 70).await.unwrap(), "another request's link");
        assert!(s.use_export_link(access.id, &[1; 32], 70).await.unwrap());
        assert!(!s.use_export_link(access.id, &[1; 32], 71).await.unwrap(), "used already");
        assert!(!s.use_export_link(access.id, &[2; 32], 100).await.unwrap(), "expired");
        assert_eq!(s.export_link(&[1; 32]).await.unwrap(), Some(ExportLinkRow { used_at: Some(70), ..link }));
        assert_eq!(s.last_export(access.id).await.unwrap(), Some(70));
        engine.cleanup().await;
    }
}

/// A record of `entity` about `contact`, sealed under the contact's key.
fn about(entity: EntityKind, contact: Uuid) -> NewRecord {
    let columns = entity
        .columns()
        .iter()
        .map(|c| match (c.name, c.ty) {
            ("contact_id", _) => ClearValue::Text(contact.to_string()),
            (_, ColumnType::Int) => ClearValue::Int(1),
            (_, ColumnType::Text) if c.sortable => ClearValue::Text("2030-01-01".into()),
            _ => ClearValue::Null,
        })
        .collect();
    NewRecord {
        entity,
        id: Uuid::new_v4(),
        subject_id: contact,
        owner: Some("owner-1".into()),
        created_at: 2,
        sealed: vec![4],
        columns,
        terms: Vec::new(),
        references: vec![(EntityKind::Contacts, contact)],
    }
}

fn task(request: Uuid, api_key: Uuid, at: i64) -> NotificationRow {
    NotificationRow {
        request_id: request,
        api_key_id: api_key,
        recipient: "Partner".into(),
        status: "pending".into(),
        created_at: at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_takes_the_person_and_their_key_and_leaves_suppression_and_a_receipt() {
    for engine in engines().await {
        let s = &engine.store;
        let (person, bystander) = (Uuid::new_v4(), Uuid::new_v4());
        s.insert(contact(person, 1), Some(key(person, "k1"))).await.unwrap();
        s.insert(contact(bystander, 1), Some(key(bystander, "k1"))).await.unwrap();
        let (interaction, purchase) = (about(EntityKind::Interactions, person), about(EntityKind::Purchases, person));
        s.insert_batch(vec![(interaction.clone(), None), (purchase.clone(), None)]).await.unwrap();
        let kept = about(EntityKind::Interactions, bystander);
        s.insert(kept.clone(), None).await.unwrap();
        s.restrict(person, 3, "dpo").await.unwrap();
        // The erasure request; one that gave the person's address but matched no one; one about someone else.
        let email: Term = [5; 16];
        let ordered = request("erasure", "in_progress", Some(person), 100);
        let mut unmatched = request("access", "received", None, 100);
        unmatched.given_term = Some(email.to_vec());
        let unrelated = request("access", "received", Some(bystander), 100);
        for r in [&ordered, &unmatched, &unrelated] {
            s.insert_dsr(r, &key(r.id, "k1")).await.unwrap();
        }
        let recipient = ApiKeyRow {
            id: Uuid::new_v4(),
            key_hash: vec![6; 32],
            document: "{}".into(),
            created_by: "admin".into(),
            created_at: 1,
            expires_at: 1_000_000,
            revoked_at: None,
            last_used_at: Some(2),
        };
        s.insert_api_key(&recipient).await.unwrap();
        let order = ErasureOrder {
            request_id: ordered.id,
            contact_id: person,
            suppressions: vec![email],
            notifications: vec![task(ordered.id, recipient.id, 10)],
            at: 10,
        };
        let sign = |counts: &ErasureCounts| format!("signed {counts:?}");
        // No such person, or no such request: nothing happens.
        let nobody = ErasureOrder { contact_id: Uuid::new_v4(), ..order.clone() };
        assert_eq!(s.erase_person(&nobody, &sign).await.unwrap(), Erased::Missing);
        let unfiled = ErasureOrder { request_id: Uuid::new_v4(), ..order.clone() };
        assert!(matches!(s.erase_person(&unfiled, &sign).await, Err(StoreError::UnknownReference("dsr_requests", _))));
        assert!(s.get(EntityKind::Contacts, person).await.unwrap().is_some());
        // An exception holds the erasure, changing nothing, until it is lifted.
        let hold = ErasureExceptionRow {
            id: Uuid::new_v4(),
            contact_id: person,
            ground: "legal_obligation".into(),
            at: 4,
            recorded_by: "dpo".into(),
            sealed: vec![1],
        };
        s.add_erasure_exception(&hold).await.unwrap();
        let stranger = ErasureExceptionRow { id: Uuid::new_v4(), contact_id: Uuid::new_v4(), ..hold.clone() };
        assert!(matches!(s.add_erasure_exception(&stranger).await, Err(StoreError::UnknownReference(..))));
        assert_eq!(s.erasure_exceptions(person).await.unwrap(), vec![hold]);
        assert_eq!(s.erase_person(&order, &sign).await.unwrap(), Erased::Held);
        assert!(s.get(EntityKind::Interactions, interaction.id).await.unwrap().is_some(), "held: nothing erased");
        assert_eq!(s.data_key(person).await.unwrap(), Some(key(person, "k1")));
        assert!(!s.suppressed(&[email]).await.unwrap());
        assert_eq!(s.erasure_receipt(ordered.id).await.unwrap(), None);
        assert_eq!(s.dsr(ordered.id).await.unwrap().as_ref(), Some(&ordered));
        assert_eq!(s.lift_erasure_exceptions(person).await.unwrap(), 1);
        assert_eq!(s.lift_erasure_exceptions(person).await.unwrap(), 0);
        // Erased: the records, the key, the restriction; the counts go into the signed receipt.
        let Erased::Done { counts, receipt } = s.erase_person(&order, &sign).await.unwrap() else {
            panic!("the erasure was carried out")
        };
        assert_eq!(receipt, sign(&counts));
        let count = |name: &str| counts.get(name).copied();
        assert_eq!(
            [count("contacts"), count("interactions"), count("purchases"), count("deals")],
            [Some(1), Some(1), Some(1), Some(0)]
        );
        assert_eq!(
            [count("restrictions"), count("consents"), count("erasure_exceptions"), count("request_details")],
            [Some(1), Some(0), Some(0), Some(2)]
        );
        for (entity, id) in [
            (EntityKind::Contacts, person),
            (EntityKind::Interactions, interaction.id),
            (EntityKind::Purchases, purchase.id),
        ] {
            assert!(s.get(entity, id).await.unwrap().is_none(), "{entity:?} erased");
        }
        assert!(s.data_key(person).await.unwrap().is_none(), "the key is destroyed");
        assert!(!s.lift_restriction(person).await.unwrap(), "the restriction went with the person");
        // What is not the person's stays.
        assert!(s.get(EntityKind::Contacts, bystander).await.unwrap().is_some());
        assert!(s.get(EntityKind::Interactions, kept.id).await.unwrap().is_some());
        assert_eq!(s.data_key(bystander).await.unwrap(), Some(key(bystander, "k1")));
        // The address is suppressed; the receipt and the Art. 19 tasks are kept with the request.
        assert!(s.suppressed(&[[9; 16], email]).await.unwrap());
        assert!(!s.suppressed(&[[9; 16]]).await.unwrap());
        assert!(!s.suppressed(&[]).await.unwrap());
        assert_eq!(s.erasure_receipt(ordered.id).await.unwrap(), Some(receipt));
        assert_eq!(s.erasure_receipt(unrelated.id).await.unwrap(), None);
        assert_eq!(s.erasure_notifications(ordered.id).await.unwrap(), order.notifications);
        // The register keeps the requests about the person, without their details or keys.
        for r in [&ordered, &unmatched] {
            let stored = s.dsr(r.id).await.unwrap().expect("the request stays");
            let forgotten =
                DsrRow { erased_at: Some(10), sealed: Vec::new(), given_term: None, version: 2, ..r.clone() };
            assert_eq!(stored, forgotten);
            assert!(s.data_key(r.id).await.unwrap().is_none());
        }
        assert_eq!(s.dsr(unrelated.id).await.unwrap().as_ref(), Some(&unrelated));
        assert_eq!(s.data_key(unrelated.id).await.unwrap(), Some(key(unrelated.id, "k1")));
        // Erased once: the person is gone now. A request carries out one erasure:
        // a second under it fails whole, the bystander and their request untouched.
        assert_eq!(s.erase_person(&order, &sign).await.unwrap(), Erased::Missing);
        let again = ErasureOrder {
            contact_id: bystander,
            suppressions: Vec::new(),
            notifications: Vec::new(),
            ..order.clone()
        };
        assert!(matches!(s.erase_person(&again, &sign).await, Err(StoreError::Duplicate)));
        assert!(s.get(EntityKind::Contacts, bystander).await.unwrap().is_some());
        assert_eq!(s.data_key(bystander).await.unwrap(), Some(key(bystander, "k1")));
        assert_eq!(s.dsr(unrelated.id).await.unwrap().as_ref(), Some(&unrelated));
        // Staff writing on an erased request give it a new key, naming the version erasure left.
        let mut noted = s.dsr(ordered.id).await.unwrap().unwrap();
        (noted.status, noted.completed_at, noted.sealed, noted.updated_at) =
            ("completed".into(), Some(11), vec![7], 11);
        let stale = DsrRow { version: 1, ..noted.clone() };
        assert!(!s.update_dsr(&stale, Some(&key(ordered.id, "k2"))).await.unwrap(), "erasure bumped the version");
        assert!(s.data_key(ordered.id).await.unwrap().is_none(), "the refused update left no key behind");
        assert!(s.update_dsr(&noted, Some(&key(ordered.id, "k2"))).await.unwrap());
        assert_eq!(s.data_key(ordered.id).await.unwrap(), Some(key(ordered.id, "k2")));
        assert_eq!(s.dsr(ordered.id).await.unwrap().map(|r| (r.version, r.sealed)), Some((3, vec![7])));
        // Art. 19 tasks of a rectification: one per recipient, a repeat ignored, only for what exists.
        let rectification = request("rectification", "completed", Some(bystander), 100);
        s.insert_dsr(&rectification, &key(rectification.id, "k1")).await.unwrap();
        let second = ApiKeyRow { id: Uuid::new_v4(), key_hash: vec![7; 32], ..recipient.clone() };
        s.insert_api_key(&second).await.unwrap();
        let tasks = vec![task(rectification.id, recipient.id, 20), task(rectification.id, second.id, 21)];
        s.add_notifications(&tasks).await.unwrap();
        let repeat = NotificationRow { status: "done".into(), created_at: 30, ..tasks[0].clone() };
        s.add_notifications(&[repeat]).await.unwrap();
        assert_eq!(s.erasure_notifications(rectification.id).await.unwrap(), tasks, "the repeat changed nothing");
        let no_key = s.add_notifications(&[task(rectification.id, Uuid::new_v4(), 22)]).await;
        assert!(matches!(no_key, Err(StoreError::UnknownReference("api_keys", _))));
        let no_request = s.add_notifications(&[task(Uuid::new_v4(), recipient.id, 22)]).await;
        assert!(matches!(no_request, Err(StoreError::UnknownReference("dsr_requests", _))));
        assert_eq!(s.erasure_notifications(ordered.id).await.unwrap(), order.notifications);
        engine.cleanup().await;
    }
}
