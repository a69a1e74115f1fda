//! The register of recipients. The SQL, written once for both engines:
//! `impl_accountability!` expands inside `impl_store!` (see `store_impl.rs`).

macro_rules! impl_accountability {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        const RECIPIENT_COLUMNS: &str = "id, document, created_at, updated_at, ended_at";

        fn recipient_from_row(r: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::RecipientRow> {
            use sqlx::Row;
            Ok($crate::RecipientRow {
                id: parse_id(&r.try_get::<String, _>("id")?)?,
                document: r.try_get("document")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                ended_at: r.try_get("ended_at")?,
            })
        }

        #[async_trait::async_trait]
        impl $crate::AccountabilityStore for $store {
            async fn insert_recipient(&self, r: &$crate::RecipientRow) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO recipients (id, document, created_at, updated_at, ended_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(r.id.to_string())
                .bind(r.document.clone())
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(r.ended_at)
                .execute(&self.pool)
                .await
                .map_err(map_unique)?;
                Ok(())
            }

            async fn update_recipient(&self, id: uuid::Uuid, document: &str, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE recipients SET document = $1, updated_at = $2 WHERE id = $3 AND ended_at IS NULL",
                )
                .bind(document.to_string())
                .bind(at)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn end_recipient(&self, id: uuid::Uuid, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE recipients SET ended_at = $1, updated_at = $1 WHERE id = $2 AND ended_at IS NULL",
                )
                .bind(at)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn recipient(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::RecipientRow>> {
                let text = format!("SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE id = $1");
                let row = sqlx::query::<$db>(&text).bind(id.to_string()).fetch_optional(&self.pool).await?;
                row.as_ref().map(recipient_from_row).transpose()
            }

            async fn recipients(&self) -> $crate::Result<Vec<$crate::RecipientRow>> {
                let text = format!("SELECT {RECIPIENT_COLUMNS} FROM recipients ORDER BY created_at, id");
                let rows = sqlx::query::<$db>(&text).fetch_all(&self.pool).await?;
                rows.iter().map(recipient_from_row).collect()
            }
        }
    };
}

pub(crate) use impl_accountability;
