//! PostgreSQL, for several `kith serve` processes sharing one database.

use crate::migrate::{apply_migrations, POSTGRES};
use crate::store_impl::impl_store;
use crate::Backend;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

pub struct PgStore {
    pool: PgPool,
    /// The same pool: on PostgreSQL the audit log shares the database.
    audit_pool: PgPool,
}

impl PgStore {
    /// Connects, optionally inside a schema (tests give each run its own),
    /// and applies migrations under an advisory lock so that servers
    /// starting together migrate once.
    pub async fn connect(url: &str, schema: Option<&str>) -> crate::Result<Self> {
        let mut options = PgConnectOptions::from_str(url)?;
        if let Some(schema) = schema {
            options = options.options([("search_path", schema)]);
        }
        // One direct connection first: an unreachable server or a refused
        // login fails at once with its reason, instead of after the pool's
        // retries until its acquire timeout.
        sqlx::Connection::close(<sqlx::PgConnection as sqlx::Connection>::connect_with(&options).await?).await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock(hashtext(current_schema()))").execute(&mut *conn).await?;
        let migrated = apply_migrations!(conn, sqlx::Postgres, POSTGRES);
        sqlx::query("SELECT pg_advisory_unlock(hashtext(current_schema()))").execute(&mut *conn).await?;
        migrated?;
        drop(conn);
        Ok(Self { audit_pool: pool.clone(), pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl_store!(PgStore, sqlx::Postgres, Backend::Postgres, crate::store_impl::POSTGRES);
