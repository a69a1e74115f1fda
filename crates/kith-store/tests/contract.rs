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
