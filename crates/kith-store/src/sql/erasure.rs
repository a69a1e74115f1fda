//! Erasure, its exceptions, the suppression list, receipts and notification tasks. The SQL, written once for both engines: `impl_erasure!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_erasure {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
    /// An erasure, asked for by a request (which must be registered) or
    /// by retention (`requested` false: the receipt's id stands alone).
    async fn erase_with(
        pool: &sqlx::Pool<$db>,
        order: &$crate::ErasureOrder,
        sign: &$crate::ReceiptSigner,
        requested: bool,
    ) -> $crate::Result<$crate::Erased> {
            let id = order.contact_id;
            let mut tx = pool.begin_with($d.begin_write).await?;
            // Locked first, as in `delete`: writers about the person finish
            // before, or fail after, the erasure; an exception being
            // recorded (which holds the contact FOR SHARE) too.
            let select = format!("SELECT id FROM contacts WHERE id = $1{}", $d.update_lock);
            if sqlx::query::<$db>(&select).bind(id.to_string()).fetch_optional(&mut *tx).await?.is_none() {
                return Ok($crate::Erased::Missing);
            }
            if requested {
                require_row(&mut tx, "dsr_requests", order.request_id).await?;
            }
            let held = sqlx::query::<$db>("SELECT id FROM erasure_exceptions WHERE contact_id = $1 LIMIT 1")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            if held.is_some() {
                return Ok($crate::Erased::Held);
            }
            let entry = $crate::LedgerRow {
                subject_id: id,
                request_id: order.request_id,
                erased_at: order.at,
                terms: order.suppressions.clone(),
            };
            let counts = erase_rows(&mut tx, &entry).await?;
            insert_notifications(&mut tx, &order.notifications).await?;
            let receipt = sign(&counts);
            sqlx::query::<$db>("INSERT INTO erasure_receipts (request_id, note, created_at) VALUES ($1, $2, $3)")
                .bind(order.request_id.to_string())
                .bind(receipt.clone())
                .bind(order.at)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
            tx.commit().await?;
            // The erasure stands either way; a sweep that could not run
            // (a long reader on SQLite, a lock on PostgreSQL) is logged and
            // the next one, or autovacuum, catches up.
            if let Err(e) = sqlx::raw_sql($d.after_erasure).execute(pool).await {
                tracing::warn!(error = %e, "the sweep after an erasure did not run");
            }
            Ok($crate::Erased::Done { counts, receipt })
        }

        #[async_trait::async_trait]
        impl $crate::ErasureStore for $store {
            async fn add_erasure_exception(&self, e: &$crate::ErasureExceptionRow) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                check_references(&mut tx, &[(kith_core::EntityKind::Contacts, e.contact_id)]).await?;
                sqlx::query::<$db>(
                    "INSERT INTO erasure_exceptions (id, contact_id, ground, at, recorded_by, sealed) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(e.id.to_string())
                .bind(e.contact_id.to_string())
                .bind(e.ground.clone())
                .bind(e.at)
                .bind(e.recorded_by.clone())
                .bind(e.sealed.clone())
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn erasure_exceptions(&self, contact: uuid::Uuid) -> $crate::Result<Vec<$crate::ErasureExceptionRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>(
                    "SELECT id, contact_id, ground, at, recorded_by, sealed FROM erasure_exceptions \
                     WHERE contact_id = $1 ORDER BY at, id",
                )
                .bind(contact.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::ErasureExceptionRow {
                            id: parse_id(r.try_get::<&str, _>("id")?)?,
                            contact_id: parse_id(r.try_get::<&str, _>("contact_id")?)?,
                            ground: r.try_get("ground")?,
                            at: r.try_get("at")?,
                            recorded_by: r.try_get("recorded_by")?,
                            sealed: r.try_get("sealed")?,
                        })
                    })
                    .collect()
            }

            async fn lift_erasure_exceptions(&self, contact: uuid::Uuid) -> $crate::Result<u64> {
                let done = sqlx::query::<$db>("DELETE FROM erasure_exceptions WHERE contact_id = $1")
                    .bind(contact.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn erase_person(&self, order: &$crate::ErasureOrder, sign: &$crate::ReceiptSigner) -> $crate::Result<$crate::Erased> {
                erase_with(&self.pool, order, sign, true).await
            }

            async fn expire_person(&self, order: &$crate::ErasureOrder, sign: &$crate::ReceiptSigner) -> $crate::Result<$crate::Erased> {
                erase_with(&self.pool, order, sign, false).await
            }

            async fn suppressed(&self, terms: &[$crate::Term]) -> $crate::Result<bool> {
                if terms.is_empty() {
                    return Ok(false);
                }
                let placeholders: Vec<String> = (1..=terms.len()).map(|i| format!("${i}")).collect();
                let text = format!("SELECT term FROM suppressions WHERE term IN ({}) LIMIT 1", placeholders.join(", "));
                let mut q = sqlx::query::<$db>(&text);
                for term in terms {
                    q = q.bind(term.to_vec());
                }
                Ok(q.fetch_optional(&self.pool).await?.is_some())
            }

            async fn erasure_receipt(&self, request: uuid::Uuid) -> $crate::Result<Option<String>> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT note FROM erasure_receipts WHERE request_id = $1")
                    .bind(request.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("note")).transpose()?)
            }

            async fn add_notifications(&self, tasks: &[$crate::NotificationRow]) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_notifications(&mut tx, tasks).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn erasure_notifications(&self, request: uuid::Uuid) -> $crate::Result<Vec<$crate::NotificationRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>(
                    "SELECT request_id, api_key_id, recipient, status, created_at FROM erasure_notifications \
                     WHERE request_id = $1 ORDER BY created_at, api_key_id",
                )
                .bind(request.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::NotificationRow {
                            request_id: parse_id(r.try_get::<&str, _>("request_id")?)?,
                            api_key_id: parse_id(r.try_get::<&str, _>("api_key_id")?)?,
                            recipient: r.try_get("recipient")?,
                            status: r.try_get("status")?,
                            created_at: r.try_get("created_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_erasure;
