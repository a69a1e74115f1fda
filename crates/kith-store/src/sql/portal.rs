//! The privacy portal's links and sessions. The SQL, written once for both
//! engines: `impl_portal!` expands inside `impl_store!` (see
//! `store_impl.rs`), where the row helpers it uses are in scope.

macro_rules! impl_portal {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        /// Deletes a portal link, its message and its data key.
        async fn delete_portal_link(tx: &mut Tx<'_>, id: uuid::Uuid) -> $crate::Result<()> {
            sqlx::query::<$db>("DELETE FROM outbox WHERE pending_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
            delete_row_and_key(tx, "portal_links", id).await?;
            Ok(())
        }

        /// Erasure's part in the portal: the person's links (with their
        /// keys and messages) and sessions go with them.
        async fn forget_portal(tx: &mut Tx<'_>, contact: uuid::Uuid) -> $crate::Result<()> {
            use sqlx::Row;
            let links = sqlx::query::<$db>("SELECT id FROM portal_links WHERE contact_id = $1")
                .bind(contact.to_string())
                .fetch_all(&mut **tx)
                .await?;
            for row in &links {
                delete_portal_link(tx, parse_id(row.try_get::<&str, _>("id")?)?).await?;
            }
            sqlx::query::<$db>("DELETE FROM portal_sessions WHERE contact_id = $1")
                .bind(contact.to_string())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl $crate::PortalStore for $store {
            async fn add_portal_link(
                &self,
                link: &$crate::PortalLinkRow,
                key: $crate::KeyRow,
                message: &$crate::OutboxRow,
            ) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_keys(&mut tx, &[own_key("portal_links", link.id, &key)?], link.created_at).await?;
                sqlx::query::<$db>(
                    "INSERT INTO portal_links (id, token_hash, contact_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(link.id.to_string())
                .bind(link.token_hash.clone())
                .bind(link.contact_id.map(|c| c.to_string()))
                .bind(link.created_at)
                .bind(link.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                insert_outbox(&mut tx, message, link.id).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn take_portal_link(&self, token_hash: &[u8]) -> $crate::Result<Option<$crate::PortalLinkRow>> {
                use sqlx::Row;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!(
                    "SELECT id, token_hash, contact_id, created_at, expires_at FROM portal_links WHERE token_hash = $1{}",
                    $d.update_lock
                );
                let Some(row) = sqlx::query::<$db>(&text).bind(token_hash.to_vec()).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let link = $crate::PortalLinkRow {
                    id: parse_id(row.try_get::<&str, _>("id")?)?,
                    token_hash: row.try_get("token_hash")?,
                    contact_id: row.try_get::<Option<&str>, _>("contact_id")?.map(parse_id).transpose()?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                };
                delete_portal_link(&mut tx, link.id).await?;
                tx.commit().await?;
                Ok(Some(link))
            }

            async fn sweep_portal(&self, now: i64, limit: u32) -> $crate::Result<u64> {
                use sqlx::Row;
                // A read first: most calls find nothing and need no write lock.
                let expired = sqlx::query::<$db>(
                    "SELECT id FROM portal_links WHERE expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                let stale = sqlx::query::<$db>("SELECT token_hash FROM portal_sessions WHERE expires_at <= $1 LIMIT 1")
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                if expired.is_empty() && stale.is_none() {
                    return Ok(0);
                }
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let mut swept = 0;
                for row in &expired {
                    let id = parse_id(row.try_get::<&str, _>("id")?)?;
                    let text = format!("SELECT id FROM portal_links WHERE id = $1 AND expires_at <= $2{}", $d.update_lock);
                    let still = sqlx::query::<$db>(&text).bind(id.to_string()).bind(now).fetch_optional(&mut *tx).await?;
                    if still.is_some() {
                        delete_portal_link(&mut tx, id).await?;
                        swept += 1;
                    }
                }
                sqlx::query::<$db>("DELETE FROM portal_sessions WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(swept)
            }

            async fn add_portal_session(&self, session: &$crate::PortalSessionRow) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO portal_sessions (token_hash, contact_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(session.token_hash.clone())
                .bind(session.contact_id.to_string())
                .bind(session.created_at)
                .bind(session.expires_at)
                .execute(&self.pool)
                .await
                .map_err(map_unique)?;
                Ok(())
            }

            async fn portal_session(&self, token_hash: &[u8], now: i64) -> $crate::Result<Option<$crate::PortalSessionRow>> {
                use sqlx::Row;
                let row = sqlx::query::<$db>(
                    "SELECT token_hash, contact_id, created_at, expires_at FROM portal_sessions \
                     WHERE token_hash = $1 AND expires_at > $2",
                )
                .bind(token_hash.to_vec())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some($crate::PortalSessionRow {
                    token_hash: row.try_get("token_hash")?,
                    contact_id: parse_id(row.try_get::<&str, _>("contact_id")?)?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                }))
            }

            async fn end_portal_session(&self, token_hash: &[u8]) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("DELETE FROM portal_sessions WHERE token_hash = $1")
                    .bind(token_hash.to_vec())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_portal;
