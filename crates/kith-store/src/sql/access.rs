//! Custom roles, API keys, tokens and teams. The SQL, written once for both engines: `impl_access!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_access {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::AccessStore for $store {
            async fn put_role(&self, name: &str, document: &str, by: &str, at: i64, replace: bool) -> $crate::Result<bool> {
                let text = if replace {
                    "INSERT INTO custom_roles (name, document, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (name) DO UPDATE SET document = excluded.document, updated_by = excluded.updated_by, \
                     updated_at = excluded.updated_at"
                } else {
                    "INSERT INTO custom_roles (name, document, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (name) DO NOTHING"
                };
                let done = sqlx::query::<$db>(text)
                    .bind(name.to_string())
                    .bind(document.to_string())
                    .bind(by.to_string())
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn custom_roles(&self) -> $crate::Result<Vec<(String, String)>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>("SELECT name, document FROM custom_roles ORDER BY name").fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("document")?))).collect()
            }

            async fn custom_role(&self, name: &str) -> $crate::Result<Option<String>> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT document FROM custom_roles WHERE name = $1")
                    .bind(name.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("document")).transpose()?)
            }

            async fn delete_role(&self, name: &str) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("DELETE FROM custom_roles WHERE name = $1")
                    .bind(name.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn team_members(&self, teams: &[String]) -> $crate::Result<Vec<String>> {
                use sqlx::Row;
                if teams.is_empty() {
                    return Ok(Vec::new());
                }
                // Teams are a short JSON list per account; the staff table is small.
                let rows = sqlx::query::<$db>("SELECT id, teams FROM users").fetch_all(&self.pool).await?;
                let mut members = Vec::new();
                for row in rows {
                    let theirs: Vec<String> = serde_json::from_str(row.try_get::<&str, _>("teams")?).unwrap_or_default();
                    if theirs.iter().any(|t| teams.contains(t)) {
                        members.push(row.try_get::<String, _>("id")?);
                    }
                }
                Ok(members)
            }

            async fn insert_api_key(&self, k: &$crate::ApiKeyRow) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO api_keys (id, key_hash, document, created_by, created_at, expires_at, revoked_at, last_used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(k.id.to_string())
                .bind(k.key_hash.clone())
                .bind(k.document.clone())
                .bind(k.created_by.clone())
                .bind(k.created_at)
                .bind(k.expires_at)
                .bind(k.revoked_at)
                .bind(k.last_used_at)
                .execute(&self.pool)
                .await
                .map_err(map_unique)?;
                Ok(())
            }

            async fn api_key_by_hash(&self, hash: &[u8]) -> $crate::Result<Option<$crate::ApiKeyRow>> {
                let text = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
                let row = sqlx::query::<$db>(&text).bind(hash.to_vec()).fetch_optional(&self.pool).await?;
                row.as_ref().map(api_key_from_row).transpose()
            }

            async fn api_keys(&self) -> $crate::Result<Vec<$crate::ApiKeyRow>> {
                let text = format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id");
                let rows = sqlx::query::<$db>(&text).fetch_all(&self.pool).await?;
                rows.iter().map(api_key_from_row).collect()
            }

            async fn revoke_api_key(&self, id: uuid::Uuid, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn touch_api_key(&self, id: uuid::Uuid, at: i64) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
                )
                .bind(at)
                .bind(id.to_string())
                .bind(at - 60_000)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn insert_token(&self, token: &$crate::TokenRow) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO api_tokens (id, name, role, token_hash, created_at, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(token.id.to_string())
                .bind(token.name.clone())
                .bind(token.role.clone())
                .bind(token.token_hash.clone())
                .bind(token.created_at)
                .bind(token.expires_at)
                .bind(token.revoked_at)
                .execute(&self.pool)
                .await
                .map_err(map_unique)?;
                Ok(())
            }

            async fn token_by_hash(&self, hash: &[u8]) -> $crate::Result<Option<$crate::TokenRow>> {
                let row = sqlx::query::<$db>(
                    "SELECT id, name, role, token_hash, created_at, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1",
                )
                .bind(hash.to_vec())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(token_from_row).transpose()
            }

            async fn list_tokens(&self) -> $crate::Result<Vec<$crate::TokenRow>> {
                let rows = sqlx::query::<$db>(
                    "SELECT id, name, role, token_hash, created_at, expires_at, revoked_at FROM api_tokens ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(token_from_row).collect()
            }

            async fn revoke_token(&self, id: uuid::Uuid, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_access;
