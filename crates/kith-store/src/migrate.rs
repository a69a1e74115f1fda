//! Embedded migrations, applied at start in order, each in its own
//! transaction. An applied migration is never edited: a change is a new file.
//! Versions need not be contiguous: each is applied once when missing, so a
//! number reserved for work merged later is applied when it arrives.

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/sqlite/0001_init.sql") },
    Migration { version: 2, name: "purposes", sql: include_str!("../migrations/sqlite/0002_purposes.sql") },
    Migration { version: 3, name: "consents", sql: include_str!("../migrations/sqlite/0003_consents.sql") },
    Migration { version: 4, name: "restrictions", sql: include_str!("../migrations/sqlite/0004_restrictions.sql") },
    Migration {
        version: 5,
        name: "claims_segments",
        sql: include_str!("../migrations/sqlite/0005_claims_segments.sql"),
    },
    Migration { version: 6, name: "capture", sql: include_str!("../migrations/sqlite/0006_capture.sql") },
    Migration { version: 7, name: "keys_roles", sql: include_str!("../migrations/sqlite/0007_keys_roles.sql") },
    Migration { version: 8, name: "accounts", sql: include_str!("../migrations/sqlite/0008_accounts.sql") },
    Migration { version: 9, name: "dsr", sql: include_str!("../migrations/sqlite/0009_dsr.sql") },
    Migration { version: 10, name: "erasure", sql: include_str!("../migrations/sqlite/0010_erasure.sql") },
    Migration { version: 11, name: "archive", sql: include_str!("../migrations/sqlite/0011_archive.sql") },
    Migration { version: 12, name: "drp", sql: include_str!("../migrations/sqlite/0012_drp.sql") },
    Migration {
        version: 13,
        name: "key_owner_dsr_terms",
        sql: include_str!("../migrations/sqlite/0013_key_owner_dsr_terms.sql"),
    },
    Migration { version: 14, name: "consent_seals", sql: include_str!("../migrations/sqlite/0014_consent_seals.sql") },
    Migration {
        version: 15,
        name: "drp_callback_hosts",
        sql: include_str!("../migrations/sqlite/0015_drp_callback_hosts.sql"),
    },
    Migration { version: 16, name: "portal", sql: include_str!("../migrations/sqlite/0016_portal.sql") },
    Migration {
        version: 17,
        name: "erasure_ledger",
        sql: include_str!("../migrations/sqlite/0017_erasure_ledger.sql"),
    },
    Migration { version: 18, name: "recipients", sql: include_str!("../migrations/sqlite/0018_recipients.sql") },
    Migration { version: 19, name: "breaches", sql: include_str!("../migrations/sqlite/0019_breaches.sql") },
    Migration { version: 20, name: "imports", sql: include_str!("../migrations/sqlite/0020_imports.sql") },
];

/// On SQLite the audit log lives in a database file of its own (see `sqlite.rs`).
pub(crate) const SQLITE_AUDIT: &[Migration] = &[
    Migration { version: 1, name: "audit", sql: include_str!("../migrations/sqlite-audit/0001_audit.sql") },
    Migration {
        version: 2,
        name: "audit_checkpoints",
        sql: include_str!("../migrations/sqlite-audit/0002_audit_checkpoints.sql"),
    },
    Migration {
        version: 3,
        name: "audit_alerts",
        sql: include_str!("../migrations/sqlite-audit/0003_audit_alerts.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/postgres/0001_init.sql") },
    Migration { version: 2, name: "audit", sql: include_str!("../migrations/postgres/0002_audit.sql") },
    Migration {
        version: 3,
        name: "audit_checkpoints",
        sql: include_str!("../migrations/postgres/0003_audit_checkpoints.sql"),
    },
    Migration { version: 4, name: "audit_alerts", sql: include_str!("../migrations/postgres/0004_audit_alerts.sql") },
    Migration { version: 5, name: "purposes", sql: include_str!("../migrations/postgres/0005_purposes.sql") },
    Migration { version: 6, name: "consents", sql: include_str!("../migrations/postgres/0006_consents.sql") },
    Migration { version: 7, name: "restrictions", sql: include_str!("../migrations/postgres/0007_restrictions.sql") },
    Migration {
        version: 8,
        name: "claims_segments",
        sql: include_str!("../migrations/postgres/0008_claims_segments.sql"),
    },
    Migration { version: 9, name: "capture", sql: include_str!("../migrations/postgres/0009_capture.sql") },
    Migration { version: 10, name: "keys_roles", sql: include_str!("../migrations/postgres/0010_keys_roles.sql") },
    Migration { version: 11, name: "accounts", sql: include_str!("../migrations/postgres/0011_accounts.sql") },
    Migration { version: 12, name: "dsr", sql: include_str!("../migrations/postgres/0012_dsr.sql") },
    Migration { version: 13, name: "erasure", sql: include_str!("../migrations/postgres/0013_erasure.sql") },
    Migration { version: 14, name: "archive", sql: include_str!("../migrations/postgres/0014_archive.sql") },
    Migration { version: 15, name: "drp", sql: include_str!("../migrations/postgres/0015_drp.sql") },
    Migration {
        version: 16,
        name: "key_owner_dsr_terms",
        sql: include_str!("../migrations/postgres/0016_key_owner_dsr_terms.sql"),
    },
    Migration {
        version: 17,
        name: "consent_seals",
        sql: include_str!("../migrations/postgres/0017_consent_seals.sql"),
    },
    Migration {
        version: 18,
        name: "drp_callback_hosts",
        sql: include_str!("../migrations/postgres/0018_drp_callback_hosts.sql"),
    },
    Migration { version: 19, name: "portal", sql: include_str!("../migrations/postgres/0019_portal.sql") },
    Migration {
        version: 20,
        name: "erasure_ledger",
        sql: include_str!("../migrations/postgres/0020_erasure_ledger.sql"),
    },
    Migration { version: 21, name: "recipients", sql: include_str!("../migrations/postgres/0021_recipients.sql") },
    Migration { version: 22, name: "breaches", sql: include_str!("../migrations/postgres/0022_breaches.sql") },
    Migration { version: 23, name: "imports", sql: include_str!("../migrations/postgres/0023_imports.sql") },
];

pub(crate) const LEDGER: &str =
    "CREATE TABLE IF NOT EXISTS kith_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Applies what is missing on one connection. The caller serialises
/// concurrent runs (SQLite's write lock, PostgreSQL's advisory lock).
macro_rules! apply_migrations {
    ($conn:expr, $db:ty, $migrations:expr) => {{
        use sqlx::Connection;
        sqlx::raw_sql($crate::migrate::LEDGER).execute(&mut *$conn).await?;
        for m in $migrations {
            let mut tx = $conn.begin().await?;
            let done = sqlx::query::<$db>("SELECT version FROM kith_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await?;
            if done.is_some() {
                continue;
            }
            let fail = |e: sqlx::Error| $crate::StoreError::Migration { version: m.version, reason: e.to_string() };
            sqlx::raw_sql(m.sql).execute(&mut *tx).await.map_err(fail)?;
            sqlx::query::<$db>("INSERT INTO kith_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.name)
                .bind($crate::migrate::now_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "migration applied");
        }
        Ok::<(), $crate::StoreError>(())
    }};
}

pub(crate) use apply_migrations;
