//! The data-subject request register and archive links. The SQL, written once for both engines: `impl_requests!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_requests {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::RequestStore for $store {
            async fn insert_dsr(&self, r: &$crate::DsrRow, key: &$crate::KeyRow) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_keys(&mut tx, &[own_key("dsr_requests", r.id, key)?], r.created_at).await?;
                sqlx::query::<$db>(&format!(
                    "INSERT INTO dsr_requests ({DSR_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
                      $23, $24)"
                ))
                .bind(r.id.to_string())
                .bind(r.kind.clone())
                .bind(r.status.clone())
                .bind(r.channel.clone())
                .bind(r.contact_id.map(|c| c.to_string()))
                .bind(r.purpose.clone())
                .bind(r.received_at)
                .bind(r.due_at)
                .bind(r.extended_months)
                .bind(r.person_told_at)
                .bind(r.verified_at)
                .bind(r.verification_method.clone())
                .bind(r.failed_attempts)
                .bind(r.token_hash.clone())
                .bind(r.token_expires_at)
                .bind(r.completed_at)
                .bind(r.closed_at)
                .bind(r.created_by.clone())
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(r.version)
                .bind(r.sealed.clone())
                .bind(r.given_term.clone())
                .bind(r.erased_at)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn dsr(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::DsrRow>> {
                let row = sqlx::query::<$db>(&format!("SELECT {DSR_COLUMNS} FROM dsr_requests WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(dsr_from_row).transpose()
            }

            async fn dsrs(&self, query: &$crate::DsrQuery) -> $crate::Result<Vec<$crate::DsrRow>> {
                let mut args: Vec<$crate::query::Arg> = Vec::new();
                let mut next = |arg: $crate::query::Arg| {
                    args.push(arg);
                    format!("${}", args.len())
                };
                let mut conditions: Vec<String> = Vec::new();
                if let Some(contact) = query.contact {
                    conditions.push(format!("contact_id = {}", next($crate::query::Arg::Text(contact.to_string()))));
                }
                if !query.statuses.is_empty() {
                    let list: Vec<String> =
                        query.statuses.iter().map(|s| next($crate::query::Arg::Text(s.clone()))).collect();
                    conditions.push(format!("status IN ({})", list.join(", ")));
                }
                if let Some(from) = query.due_from {
                    conditions.push(format!("due_at >= {}", next($crate::query::Arg::Int(from))));
                }
                if let Some(to) = query.due_to {
                    conditions.push(format!("due_at < {}", next($crate::query::Arg::Int(to))));
                }
                let (past, order) = if query.latest_first { ("<", " DESC") } else { (">", "") };
                if let Some((due, id)) = &query.after {
                    let (a, b, c) = (
                        next($crate::query::Arg::Int(*due)),
                        next($crate::query::Arg::Int(*due)),
                        next($crate::query::Arg::Text(id.to_string())),
                    );
                    conditions.push(format!("(due_at {past} {a} OR (due_at = {b} AND id {past} {c}))"));
                }
                let limit = next($crate::query::Arg::Int(i64::from(query.limit)));
                let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
                let text = format!(
                    "SELECT {DSR_COLUMNS} FROM dsr_requests{filter} ORDER BY due_at{order}, id{order} LIMIT {limit}"
                );
                let mut q = sqlx::query::<$db>(&text);
                for arg in args {
                    q = bind_arg(q, arg);
                }
                let rows = q.fetch_all(&self.pool).await?;
                rows.iter().map(dsr_from_row).collect()
            }

            async fn update_dsr(&self, r: &$crate::DsrRow, new_key: Option<&$crate::KeyRow>) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                if let Some(key) = new_key {
                    // Only a request whose key erasure destroyed gets a new one.
                    let text = format!("SELECT id FROM dsr_requests WHERE id = $1 AND erased_at IS NOT NULL{}", $d.update_lock);
                    if sqlx::query::<$db>(&text).bind(r.id.to_string()).fetch_optional(&mut *tx).await?.is_none() {
                        return Ok(false);
                    }
                    delete_owned_key(&mut tx, "dsr_requests", r.id).await?;
                    insert_keys(&mut tx, &[own_key("dsr_requests", r.id, key)?], r.updated_at).await?;
                }
                let done = sqlx::query::<$db>(
                    "UPDATE dsr_requests SET status = $1, contact_id = $2, due_at = $3, extended_months = $4, \
                     person_told_at = $5, verified_at = $6, verification_method = $7, failed_attempts = $8, \
                     token_hash = $9, token_expires_at = $10, completed_at = $11, closed_at = $12, updated_at = $13, \
                     sealed = $14, version = version + 1 WHERE id = $15 AND version = $16",
                )
                .bind(r.status.clone())
                .bind(r.contact_id.map(|c| c.to_string()))
                .bind(r.due_at)
                .bind(r.extended_months)
                .bind(r.person_told_at)
                .bind(r.verified_at)
                .bind(r.verification_method.clone())
                .bind(r.failed_attempts)
                .bind(r.token_hash.clone())
                .bind(r.token_expires_at)
                .bind(r.completed_at)
                .bind(r.closed_at)
                .bind(r.updated_at)
                .bind(r.sealed.clone())
                .bind(r.id.to_string())
                .bind(r.version)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn insert_export_link(
                &self,
                request: uuid::Uuid,
                hash: &[u8],
                created_at: i64,
                expires_at: i64,
            ) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                require_row(&mut tx, "dsr_requests", request).await?;
                sqlx::query::<$db>(
                    "INSERT INTO dsr_export_links (token_hash, request_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(hash.to_vec())
                .bind(request.to_string())
                .bind(created_at)
                .bind(expires_at)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn export_link(&self, hash: &[u8]) -> $crate::Result<Option<$crate::ExportLinkRow>> {
                let row = sqlx::query::<$db>(
                    "SELECT request_id, expires_at, used_at FROM dsr_export_links WHERE token_hash = $1",
                )
                .bind(hash.to_vec())
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    use sqlx::Row;
                    Ok($crate::ExportLinkRow {
                        request_id: parse_id(row.try_get::<&str, _>("request_id")?)?,
                        expires_at: row.try_get("expires_at")?,
                        used_at: row.try_get("used_at")?,
                    })
                })
                .transpose()
            }

            async fn use_export_link(&self, request: uuid::Uuid, hash: &[u8], now: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE dsr_export_links SET used_at = $1 \
                     WHERE token_hash = $2 AND request_id = $3 AND used_at IS NULL AND expires_at > $4",
                )
                .bind(now)
                .bind(hash.to_vec())
                .bind(request.to_string())
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn last_export(&self, request: uuid::Uuid) -> $crate::Result<Option<i64>> {
                let at: Option<i64> =
                    sqlx::query_scalar::<$db, Option<i64>>("SELECT MAX(used_at) FROM dsr_export_links WHERE request_id = $1")
                        .bind(request.to_string())
                        .fetch_one(&self.pool)
                        .await?;
                Ok(at)
            }
        }
    };
}

pub(crate) use impl_requests;
