//! Staff accounts, their second factor, lockout and sessions. The SQL, written once for both engines: `impl_accounts!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_accounts {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::AccountStore for $store {
            async fn insert_user(&self, u: &$crate::UserRow, key: &$crate::KeyRow) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_keys(&mut tx, &[own_key("users", u.id, key)?], u.created_at).await?;
                sqlx::query::<$db>(&format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                ))
                .bind(u.id.to_string())
                .bind(u.email_term.clone())
                .bind(u.sealed.clone())
                .bind(serde_json::to_string(&u.roles).unwrap_or_default())
                .bind(serde_json::to_string(&u.teams).unwrap_or_default())
                .bind(u.status.clone())
                .bind(u.password_hash.clone())
                .bind(u.password_changed_at)
                .bind(u.totp.clone())
                .bind(u.totp_pending.clone())
                .bind(u.totp_last_step)
                .bind(u.failed_logins)
                .bind(u.first_failed_at)
                .bind(u.locked_until)
                .bind(u.created_at)
                .bind(u.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn user(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::UserRow>> {
                let row = sqlx::query::<$db>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn user_by_email_term(&self, term: &[u8]) -> $crate::Result<Option<$crate::UserRow>> {
                let row = sqlx::query::<$db>(&format!("SELECT {USER_COLUMNS} FROM users WHERE email_term = $1"))
                    .bind(term.to_vec())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn users(&self) -> $crate::Result<Vec<$crate::UserRow>> {
                let rows = sqlx::query::<$db>(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(user_from_row).collect()
            }

            async fn update_user(&self, u: &$crate::UserRow, lift_lockout: bool) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE users SET sealed = $1, roles = $2, teams = $3, status = $4, updated_at = $5, \
                     failed_logins = CASE WHEN $7 = 1 THEN 0 ELSE failed_logins END, \
                     first_failed_at = CASE WHEN $7 = 1 THEN NULL ELSE first_failed_at END, \
                     locked_until = CASE WHEN $7 = 1 THEN NULL ELSE locked_until END \
                     WHERE id = $6",
                )
                .bind(u.sealed.clone())
                .bind(serde_json::to_string(&u.roles).unwrap_or_default())
                .bind(serde_json::to_string(&u.teams).unwrap_or_default())
                .bind(u.status.clone())
                .bind(u.updated_at)
                .bind(u.id.to_string())
                .bind(i64::from(lift_lockout))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_password(&self, id: uuid::Uuid, hash: &str, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2, \
                     failed_logins = 0, first_failed_at = NULL, locked_until = NULL WHERE id = $3",
                )
                .bind(hash.to_string())
                .bind(at)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_totp_pending(&self, id: uuid::Uuid, sealed: Option<&[u8]>, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("UPDATE users SET totp_pending = $1, updated_at = $2 WHERE id = $3")
                    .bind(sealed.map(<[u8]>::to_vec))
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn enrol_totp(
                &self,
                id: uuid::Uuid,
                sealed: &[u8],
                step: i64,
                recovery: &[Vec<u8>],
                at: i64,
            ) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let done = sqlx::query::<$db>(
                    "UPDATE users SET totp_sealed = $1, totp_pending = NULL, totp_last_step = $2, updated_at = $3 \
                     WHERE id = $4 AND totp_pending IS NOT NULL",
                )
                .bind(sealed.to_vec())
                .bind(step)
                .bind(at)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                sqlx::query::<$db>("DELETE FROM recovery_codes WHERE user_id = $1").bind(id.to_string()).execute(&mut *tx).await?;
                for hash in recovery {
                    sqlx::query::<$db>("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                        .bind(id.to_string())
                        .bind(hash.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_unique)?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn accept_totp_step(&self, id: uuid::Uuid, step: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
                )
                .bind(step)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_recovery_code(&self, id: uuid::Uuid, hash: &[u8], at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                )
                .bind(at)
                .bind(id.to_string())
                .bind(hash.to_vec())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_login_failure(
                &self,
                id: uuid::Uuid,
                now: i64,
                rule: $crate::LockoutRule,
            ) -> $crate::Result<Option<i64>> {
                use sqlx::Row;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!(
                    "SELECT failed_logins, first_failed_at, locked_until FROM users WHERE id = $1{}",
                    $d.update_lock
                );
                let Some(row) = sqlx::query::<$db>(&text).bind(id.to_string()).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let locked_until: Option<i64> = row.try_get("locked_until")?;
                if let Some(until) = locked_until.filter(|until| *until > now) {
                    // Failures during a lock neither count nor extend it.
                    return Ok(Some(until));
                }
                let first: Option<i64> = row.try_get("first_failed_at")?;
                let failed: i64 = row.try_get("failed_logins")?;
                let (failed, first) = match first {
                    Some(first) if now - first < rule.window_ms => (failed + 1, first),
                    _ => (1, now),
                };
                let (failed, first, until) = if failed >= rule.max_failures {
                    (0, None, Some(now + rule.lock_ms))
                } else {
                    (failed, Some(first), None)
                };
                sqlx::query::<$db>("UPDATE users SET failed_logins = $1, first_failed_at = $2, locked_until = $3 WHERE id = $4")
                    .bind(failed)
                    .bind(first)
                    .bind(until)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(until)
            }

            async fn start_session(&self, s: &$crate::SessionRow, password_changed_at: i64) -> $crate::Result<$crate::SessionStart> {
                use sqlx::Row;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!(
                    "SELECT status, locked_until, password_changed_at FROM users WHERE id = $1{}",
                    $d.update_lock
                );
                let Some(user) = sqlx::query::<$db>(&text).bind(s.user_id.to_string()).fetch_optional(&mut *tx).await? else {
                    return Err($crate::StoreError::UnknownReference("users", s.user_id));
                };
                if user.try_get::<String, _>("status")? != "active" {
                    return Ok($crate::SessionStart::Disabled);
                }
                if user.try_get::<Option<i64>, _>("locked_until")?.is_some_and(|until| until > s.created_at) {
                    return Ok($crate::SessionStart::Locked);
                }
                if user.try_get::<i64, _>("password_changed_at")? != password_changed_at {
                    return Ok($crate::SessionStart::PasswordChanged);
                }
                sqlx::query::<$db>(
                    "UPDATE users SET failed_logins = 0, first_failed_at = NULL, locked_until = NULL \
                     WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
                )
                .bind(s.user_id.to_string())
                .execute(&mut *tx)
                .await?;
                sqlx::query::<$db>(
                    "INSERT INTO sessions (id, user_id, secret_hash, created_at, last_seen_at, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(s.id.to_string())
                .bind(s.user_id.to_string())
                .bind(s.secret_hash.clone())
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.expires_at)
                .bind(s.revoked_at)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok($crate::SessionStart::Started)
            }

            async fn session_by_hash(&self, hash: &[u8]) -> $crate::Result<Option<$crate::SessionRow>> {
                let row = sqlx::query::<$db>(
                    "SELECT id, user_id, secret_hash, created_at, last_seen_at, expires_at, revoked_at FROM sessions \
                     WHERE secret_hash = $1",
                )
                .bind(hash.to_vec())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(session_from_row).transpose()
            }

            async fn touch_session(&self, id: uuid::Uuid, at: i64) -> $crate::Result<()> {
                sqlx::query::<$db>("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_session(&self, id: uuid::Uuid, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn revoke_user_sessions(&self, user: uuid::Uuid, at: i64, except: Option<uuid::Uuid>) -> $crate::Result<u64> {
                let done = sqlx::query::<$db>(
                    "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3",
                )
                .bind(at)
                .bind(user.to_string())
                .bind(except.map(|id| id.to_string()).unwrap_or_default())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use impl_accounts;
