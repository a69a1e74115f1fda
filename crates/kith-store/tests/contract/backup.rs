//! Backups: a consistent snapshot of every table, loaded into a blank
//! database of either engine, and the erasure ledger replayed.

use super::erasure::about;
use super::requests::request;
use super::*;

/// One table of a snapshot: its name, columns and rows.
type Table = (&'static str, Vec<ColumnSpec>, Vec<Vec<Cell>>);

/// A snapshot kept in memory, table by table.
#[derive(Default)]
struct Collected(Vec<Table>);

#[async_trait::async_trait]
impl SnapshotSink for Collected {
    async fn table(&mut self, name: &'static str, columns: &[ColumnSpec]) -> kith_store::Result<()> {
        self.0.push((name, columns.to_vec(), Vec::new()));
        Ok(())
    }
    async fn rows(&mut self, rows: Vec<Vec<Cell>>) -> kith_store::Result<()> {
        self.0.last_mut().expect("a table first").2.extend(rows);
        Ok(())
    }
    async fn end_table(&mut self) -> kith_store::Result<()> {
        Ok(())
    }
}

async fn load(into: &DynStore, snapshot: &Collected) {
    for (table, columns, rows) in &snapshot.0 {
        into.clear_table(table).await.unwrap();
        for chunk in rows.chunks(3) {
            into.load_rows(table, columns, chunk).await.unwrap();
        }
    }
}

/// The tables each engine's schema has, read from its catalogue.
async fn schema_tables(engine: &Engine) -> Vec<String> {
    use sqlx::Connection;
    let mut names: Vec<String> = match (&engine.schema, &engine._dir) {
        (Some((url, schema)), _) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1")
                .bind(schema)
                .fetch_all(&mut conn)
                .await
                .unwrap()
        }
        (None, Some(dir)) => {
            let mut all = Vec::new();
            for file in ["kith.db", "kith.audit.db"] {
                let url = format!("sqlite://{}", dir.path().join(file).display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                all.extend(
                    sqlx::query_scalar::<_, String>(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                    )
                    .fetch_all(&mut conn)
                    .await
                    .unwrap(),
                );
            }
            all
        }
        _ => unreachable!(),
    };
    names.retain(|n| n != "kith_migrations");
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_table_list_is_exactly_the_schema() {
    for engine in engines().await {
        let mut listed: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
        listed.sort();
        assert_eq!(schema_tables(&engine).await, listed);
        for table in TABLES {
            assert!(!engine.store.table_columns(table).await.unwrap().is_empty(), "{table}");
        }
        assert!(matches!(engine.store.table_columns("kith_migrations").await, Err(StoreError::Corrupt(_))));
        assert!(matches!(engine.store.clear_table("contacts; DROP TABLE users").await, Err(StoreError::Corrupt(_))));
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_loads_into_a_blank_database_of_either_engine() {
    for source in engines().await {
        let s = &source.store;
        assert!(s.is_blank().await.unwrap());
        s.init_setting("active_kek", "k1").await.unwrap();
        let person = Uuid::new_v4();
        s.insert(contact(person, 1), Some(key(person, "k1"))).await.unwrap();
        s.insert(about(EntityKind::Interactions, person), None).await.unwrap();
        assert!(!s.is_blank().await.unwrap());
        let mut snapshot = Collected::default();
        s.snapshot(&mut snapshot, 2).await.unwrap();
        let tables: Vec<&str> = snapshot.0.iter().map(|(t, _, _)| *t).collect();
        assert_eq!(tables, TABLES, "every table, in load order");
        let rows = |name: &str| snapshot.0.iter().find(|(t, _, _)| *t == name).unwrap().2.len();
        assert_eq!((rows("contacts"), rows("interactions"), rows("data_keys"), rows("audit_head")), (1, 1, 1, 1));
        {
            for target in engines().await {
                let t = &target.store;
                load(t, &snapshot).await;
                for table in TABLES {
                    assert_eq!(t.count_rows(table).await.unwrap(), rows(table) as u64, "{table}");
                }
                let sealed = |r: Option<StoredRecord>| r.map(|r| r.sealed);
                assert_eq!(sealed(t.get(EntityKind::Contacts, person).await.unwrap()), Some(vec![1, 2, 3]));
                assert_eq!(t.data_key(person).await.unwrap(), Some(key(person, "k1")));
                assert_eq!(t.setting("active_kek").await.unwrap().as_deref(), Some("k1"));
                // A row whose value has the wrong type, or a column the table lacks, is refused.
                let columns = t.table_columns("settings").await.unwrap();
                let bad = vec![vec![Cell::Int(1); columns.len()]];
                assert!(matches!(t.load_rows("settings", &columns, &bad).await, Err(StoreError::Corrupt(_))));
                let unknown = vec![ColumnSpec { name: "nope".into(), ty: CellType::Text }];
                assert!(matches!(
                    t.load_rows("settings", &unknown, &[vec![Cell::Text("x".into())]]).await,
                    Err(StoreError::Corrupt(_))
                ));
                target.cleanup().await;
            }
        }
        source.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_enters_the_ledger_and_its_replay_erases_again() {
    for engine in engines().await {
        let s = &engine.store;
        let person = Uuid::new_v4();
        s.insert(contact(person, 1), Some(key(person, "k1"))).await.unwrap();
        let ordered = request("erasure", "in_progress", Some(person), 100);
        s.insert_dsr(&ordered, &key(ordered.id, "k1")).await.unwrap();
        let mut snapshot = Collected::default();
        s.snapshot(&mut snapshot, 100).await.unwrap();
        let email: Term = [9; 16];
        let order = ErasureOrder {
            request_id: ordered.id,
            contact_id: person,
            suppressions: vec![email],
            notifications: vec![],
            at: 10,
        };
        let sign = |counts: &ErasureCounts| format!("signed {counts:?}");
        assert!(matches!(s.erase_person(&order, &sign).await.unwrap(), Erased::Done { .. }));
        let ledger = s.erasure_ledger().await.unwrap();
        let entry = LedgerRow { subject_id: person, request_id: ordered.id, erased_at: 10, terms: vec![email] };
        assert_eq!(ledger, vec![entry.clone()]);
        assert!(!s.replay_erasure(&entry).await.unwrap(), "nothing of theirs is left to erase");

        // The snapshot from before the erasure brings the person back, until the ledger is replayed.
        for target in engines().await {
            let t = &target.store;
            load(t, &snapshot).await;
            assert!(t.get(EntityKind::Contacts, person).await.unwrap().is_some());
            assert!(t.erasure_ledger().await.unwrap().is_empty());
            assert!(t.replay_erasure(&entry).await.unwrap());
            assert!(t.get(EntityKind::Contacts, person).await.unwrap().is_none());
            assert!(t.data_key(person).await.unwrap().is_none());
            assert!(t.data_key(ordered.id).await.unwrap().is_none(), "the request's details went too");
            assert!(t.suppressed(&[email]).await.unwrap());
            assert_eq!(t.erasure_ledger().await.unwrap(), vec![entry.clone()]);
            assert!(!t.replay_erasure(&entry).await.unwrap(), "a replay is idempotent");
            target.cleanup().await;
        }
        engine.cleanup().await;
    }
}
