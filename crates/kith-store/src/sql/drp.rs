//! Data Rights Protocol agents, tokens, requests and callbacks. The SQL, written once for both engines: `impl_drp!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_drp {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::DrpStore for $store {
            async fn insert_drp_agent(&self, a: &$crate::DrpAgentRow) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO drp_agents (agent_id, name, verify_key, created_by, created_at, callback_hosts) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(a.agent_id.clone())
                .bind(a.name.clone())
                .bind(a.verify_key.clone())
                .bind(a.created_by.clone())
                .bind(a.created_at)
                .bind(a.callback_hosts.join(" "))
                .execute(&self.pool)
                .await
                .map_err(map_unique)?;
                Ok(())
            }

            async fn drp_agent(&self, agent_id: &str) -> $crate::Result<Option<$crate::DrpAgentRow>> {
                let row = sqlx::query::<$db>(
                    "SELECT agent_id, name, verify_key, created_by, created_at, callback_hosts FROM drp_agents WHERE agent_id = $1",
                )
                .bind(agent_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(drp_agent_from_row).transpose()
            }

            async fn drp_agents(&self) -> $crate::Result<Vec<$crate::DrpAgentRow>> {
                let rows = sqlx::query::<$db>(
                    "SELECT agent_id, name, verify_key, created_by, created_at, callback_hosts FROM drp_agents ORDER BY agent_id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(drp_agent_from_row).collect()
            }

            async fn delete_drp_agent(&self, agent_id: &str) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                sqlx::query::<$db>("DELETE FROM drp_tokens WHERE agent_id = $1")
                    .bind(agent_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query::<$db>("DELETE FROM drp_agents WHERE agent_id = $1")
                    .bind(agent_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_drp_token(&self, hash: &[u8], agent_id: &str, at: i64) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                require_key(&mut tx, "drp_agents", "agent_id", agent_id).await?;
                sqlx::query::<$db>("INSERT INTO drp_tokens (token_hash, agent_id, created_at) VALUES ($1, $2, $3)")
                    .bind(hash.to_vec())
                    .bind(agent_id.to_string())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn drp_token_agent(&self, hash: &[u8]) -> $crate::Result<Option<String>> {
                let agent = sqlx::query_scalar::<$db, String>("SELECT agent_id FROM drp_tokens WHERE token_hash = $1")
                    .bind(hash.to_vec())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(agent)
            }

            async fn insert_drp_request(&self, r: &$crate::DrpRequestRow) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                require_key(&mut tx, "drp_agents", "agent_id", &r.agent_id).await?;
                if let Some(dsr) = r.dsr_id {
                    require_row(&mut tx, "dsr_requests", dsr).await?;
                }
                sqlx::query::<$db>(
                    "INSERT INTO drp_requests (id, agent_id, agent_request_id, exercise, dsr_id, status, reason, \
                     status_callback, received_at, expected_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(r.id.to_string())
                .bind(r.agent_id.clone())
                .bind(r.agent_request_id.clone())
                .bind(r.exercise.clone())
                .bind(r.dsr_id.map(|d| d.to_string()))
                .bind(r.status.clone())
                .bind(r.reason.clone())
                .bind(r.status_callback.clone())
                .bind(r.received_at)
                .bind(r.expected_by)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn drp_request(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::DrpRequestRow>> {
                let row = sqlx::query::<$db>(&format!("SELECT {DRP_REQUEST_COLUMNS} FROM drp_requests WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(drp_request_from_row).transpose()
            }

            async fn drp_request_by_dsr(&self, dsr: uuid::Uuid) -> $crate::Result<Option<$crate::DrpRequestRow>> {
                let row =
                    sqlx::query::<$db>(&format!("SELECT {DRP_REQUEST_COLUMNS} FROM drp_requests WHERE dsr_id = $1"))
                        .bind(dsr.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                row.as_ref().map(drp_request_from_row).transpose()
            }

            async fn record_drp_callback(
                &self,
                request: uuid::Uuid,
                status: &str,
                at: i64,
                outcome: &str,
            ) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                require_row(&mut tx, "drp_requests", request).await?;
                sqlx::query::<$db>(
                    "INSERT INTO drp_callbacks (request_id, status, attempted_at, outcome) VALUES ($1, $2, $3, $4)",
                )
                .bind(request.to_string())
                .bind(status.to_string())
                .bind(at)
                .bind(outcome.to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn drp_callbacks(&self, request: uuid::Uuid) -> $crate::Result<Vec<(String, String)>> {
                let rows = sqlx::query_as::<$db, (String, String)>(
                    "SELECT status, outcome FROM drp_callbacks WHERE request_id = $1 ORDER BY attempted_at",
                )
                .bind(request.to_string())
                .fetch_all(&self.pool)
                .await?;
                Ok(rows)
            }

            async fn set_drp_request_status(
                &self,
                id: uuid::Uuid,
                status: &str,
                reason: Option<&str>,
            ) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("UPDATE drp_requests SET status = $1, reason = $2 WHERE id = $3")
                    .bind(status.to_string())
                    .bind(reason.map(str::to_string))
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_drp;
