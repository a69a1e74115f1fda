//! Data keys as a key rotation sweeps them. The SQL, written once for both engines: `impl_keys!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_keys {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::KeyStore for $store {
            async fn keys_after(&self, after: Option<uuid::Uuid>, limit: u32) -> $crate::Result<Vec<$crate::KeyRow>> {
                let rows = sqlx::query::<$db>(
                    "SELECT subject_id, kek_id, wrapped FROM data_keys WHERE subject_id > $1 ORDER BY subject_id LIMIT $2",
                )
                .bind(after.map(|a| a.to_string()).unwrap_or_default())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(key_from_row).collect()
            }

            async fn count_keys_not_under(&self, kek_id: &str) -> $crate::Result<u64> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT COUNT(*) AS n FROM data_keys WHERE kek_id <> $1")
                    .bind(kek_id.to_string())
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
            }

            async fn rewrap(&self, old: &$crate::KeyRow, new: &$crate::KeyRow) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE data_keys SET kek_id = $1, wrapped = $2 WHERE subject_id = $3 AND kek_id = $4 AND wrapped = $5",
                )
                .bind(new.kek_id.clone())
                .bind(new.wrapped.clone())
                .bind(old.subject_id.to_string())
                .bind(old.kek_id.clone())
                .bind(old.wrapped.clone())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_keys;
