//! Capture forms, pending confirmations and the outbox. The SQL, written once for both engines: `impl_capture!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_capture {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::CaptureStore for $store {
            async fn add_form(&self, form: &$crate::FormRow) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO capture_forms (key, name, purposes, notice_version, source, created_at, created_by, disabled_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(form.key.clone())
                .bind(form.name.clone())
                .bind(serde_json::to_string(&form.purposes).unwrap_or_default())
                .bind(form.notice_version.clone())
                .bind(form.source.clone())
                .bind(form.created_at)
                .bind(form.created_by.clone())
                .bind(form.disabled_at)
                .execute(&self.pool)
                .await
                .map_err(map_unique)?;
                Ok(())
            }

            async fn forms(&self) -> $crate::Result<Vec<$crate::FormRow>> {
                let rows = sqlx::query::<$db>(&format!("SELECT {FORM_COLUMNS} FROM capture_forms ORDER BY created_at, key"))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(form_from_row).collect()
            }

            async fn form(&self, key: &str) -> $crate::Result<Option<$crate::FormRow>> {
                let row = sqlx::query::<$db>(&format!("SELECT {FORM_COLUMNS} FROM capture_forms WHERE key = $1"))
                    .bind(key.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(form_from_row).transpose()
            }

            async fn disable_form(&self, key: &str, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("UPDATE capture_forms SET disabled_at = $1 WHERE key = $2 AND disabled_at IS NULL")
                    .bind(at)
                    .bind(key.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_pending(
                &self,
                pending: &$crate::PendingRow,
                key: $crate::KeyRow,
                message: &$crate::OutboxRow,
            ) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_keys(&mut tx, &[own_key("pending_confirmations", pending.id, &key)?], pending.submitted_at).await?;
                sqlx::query::<$db>(
                    "INSERT INTO pending_confirmations (id, form_key, token_hash, submitted_at, expires_at, sealed) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(pending.id.to_string())
                .bind(pending.form_key.clone())
                .bind(pending.token_hash.clone())
                .bind(pending.submitted_at)
                .bind(pending.expires_at)
                .bind(pending.sealed.clone())
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                insert_outbox(&mut tx, message, message.pending_id).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn take_pending(
                &self,
                token_hash: &[u8],
            ) -> $crate::Result<Option<($crate::PendingRow, Option<$crate::KeyRow>)>> {
                use sqlx::Row;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!(
                    "SELECT id, form_key, token_hash, submitted_at, expires_at, sealed FROM pending_confirmations \
                     WHERE token_hash = $1{}",
                    $d.update_lock
                );
                let Some(row) = sqlx::query::<$db>(&text).bind(token_hash.to_vec()).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let pending = $crate::PendingRow {
                    id: parse_id(row.try_get::<&str, _>("id")?)?,
                    form_key: row.try_get("form_key")?,
                    token_hash: row.try_get("token_hash")?,
                    submitted_at: row.try_get("submitted_at")?,
                    expires_at: row.try_get("expires_at")?,
                    sealed: row.try_get("sealed")?,
                };
                let key = sqlx::query::<$db>("SELECT subject_id, kek_id, wrapped FROM data_keys WHERE subject_id = $1")
                    .bind(pending.id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                let key = key.as_ref().map(key_from_row).transpose()?;
                delete_pending(&mut tx, pending.id).await?;
                tx.commit().await?;
                Ok(Some((pending, key)))
            }

            async fn sweep_pending(&self, now: i64, limit: u32) -> $crate::Result<u64> {
                use sqlx::Row;
                // A read first: most calls find nothing and need no write lock.
                let expired = sqlx::query::<$db>(
                    "SELECT id FROM pending_confirmations WHERE expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                if expired.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let mut swept = 0;
                for row in &expired {
                    let id = parse_id(row.try_get::<&str, _>("id")?)?;
                    let text = format!("SELECT id FROM pending_confirmations WHERE id = $1 AND expires_at <= $2{}", $d.update_lock);
                    let still = sqlx::query::<$db>(&text).bind(id.to_string()).bind(now).fetch_optional(&mut *tx).await?;
                    if still.is_some() {
                        delete_pending(&mut tx, id).await?;
                        swept += 1;
                    }
                }
                tx.commit().await?;
                Ok(swept)
            }

            async fn claim_outbox(&self, limit: u32) -> $crate::Result<Vec<($crate::OutboxRow, Option<$crate::KeyRow>)>> {
                use sqlx::Row;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!(
                    "SELECT id, pending_id, created_at, sealed FROM outbox ORDER BY created_at, id LIMIT $1{}",
                    $d.claim_lock
                );
                let rows = sqlx::query::<$db>(&text).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
                let mut claimed = Vec::with_capacity(rows.len());
                for row in &rows {
                    let message = $crate::OutboxRow {
                        id: parse_id(row.try_get::<&str, _>("id")?)?,
                        pending_id: parse_id(row.try_get::<&str, _>("pending_id")?)?,
                        created_at: row.try_get("created_at")?,
                        sealed: row.try_get("sealed")?,
                    };
                    let key = sqlx::query::<$db>("SELECT subject_id, kek_id, wrapped FROM data_keys WHERE subject_id = $1")
                        .bind(message.pending_id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let key = key.as_ref().map(key_from_row).transpose()?;
                    sqlx::query::<$db>("DELETE FROM outbox WHERE id = $1").bind(message.id.to_string()).execute(&mut *tx).await?;
                    claimed.push((message, key));
                }
                tx.commit().await?;
                Ok(claimed)
            }
        }
    };
}

pub(crate) use impl_capture;
