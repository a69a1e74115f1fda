//! The store's contract, one story per domain, on SQLite and, when
//! `KITH_TEST_POSTGRES_URL` is set, on PostgreSQL (each run in a schema of
//! its own): what every engine must do the same way, below the server.

mod access;
mod accountability;
mod accounts;
mod audit;
mod backup;
mod capture;
mod drp;
mod erasure;
mod imports;
mod policy;
mod portal;
mod records;
mod requests;
mod retention;

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
