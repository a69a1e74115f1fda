//! The register of recipients and the breach register. The SQL, written once for both engines:
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

        const BREACH_COLUMNS: &str =
            "id, document, status, aware_at, authority_due_at, authority_notified_at, created_at, updated_at";

        fn breach_from_row(r: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::BreachRow> {
            use sqlx::Row;
            Ok($crate::BreachRow {
                id: parse_id(&r.try_get::<String, _>("id")?)?,
                document: r.try_get("document")?,
                status: r.try_get("status")?,
                aware_at: r.try_get("aware_at")?,
                authority_due_at: r.try_get("authority_due_at")?,
                authority_notified_at: r.try_get("authority_notified_at")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        /// Appends a change with the next number of its breach.
        async fn record_breach_change(
            tx: &mut sqlx::Transaction<'_, $db>,
            change: &$crate::BreachUpdateRow,
        ) -> $crate::Result<()> {
            use sqlx::Row;
            // The breach's row is the lock that numbers its changes one by one.
            let lock = format!("SELECT id FROM breaches WHERE id = $1{}", $d.update_lock);
            sqlx::query::<$db>(&lock).bind(change.breach_id.to_string()).fetch_one(&mut **tx).await?;
            let next: i64 = sqlx::query::<$db>("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM breach_updates WHERE breach_id = $1")
                .bind(change.breach_id.to_string())
                .fetch_one(&mut **tx)
                .await?
                .try_get("next")?;
            sqlx::query::<$db>(
                "INSERT INTO breach_updates (breach_id, seq, at, actor, fields, note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(change.breach_id.to_string())
            .bind(next)
            .bind(change.at)
            .bind(change.actor.clone())
            .bind(change.fields.clone())
            .bind(change.note.clone())
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Replaces a breach's row if its `updated_at` is still `expected`.
        async fn replace_breach(
            tx: &mut sqlx::Transaction<'_, $db>,
            b: &$crate::BreachRow,
            expected: i64,
        ) -> $crate::Result<bool> {
            let done = sqlx::query::<$db>(
                "UPDATE breaches SET document = $1, status = $2, aware_at = $3, authority_due_at = $4, \
                 authority_notified_at = $5, updated_at = $6 WHERE id = $7 AND updated_at = $8",
            )
            .bind(b.document.clone())
            .bind(b.status.clone())
            .bind(b.aware_at)
            .bind(b.authority_due_at)
            .bind(b.authority_notified_at)
            .bind(b.updated_at)
            .bind(b.id.to_string())
            .bind(expected)
            .execute(&mut **tx)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        #[async_trait::async_trait]
        impl $crate::BreachStore for $store {
            async fn insert_breach(&self, b: &$crate::BreachRow, first: &$crate::BreachUpdateRow) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!("INSERT INTO breaches ({BREACH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
                sqlx::query::<$db>(&text)
                    .bind(b.id.to_string())
                    .bind(b.document.clone())
                    .bind(b.status.clone())
                    .bind(b.aware_at)
                    .bind(b.authority_due_at)
                    .bind(b.authority_notified_at)
                    .bind(b.created_at)
                    .bind(b.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                record_breach_change(&mut tx, first).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_breach(
                &self,
                b: &$crate::BreachRow,
                expected: i64,
                change: &$crate::BreachUpdateRow,
            ) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                if !replace_breach(&mut tx, b, expected).await? {
                    return Ok(false);
                }
                record_breach_change(&mut tx, change).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn breach(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::BreachRow>> {
                let text = format!("SELECT {BREACH_COLUMNS} FROM breaches WHERE id = $1");
                let row = sqlx::query::<$db>(&text).bind(id.to_string()).fetch_optional(&self.pool).await?;
                row.as_ref().map(breach_from_row).transpose()
            }

            async fn breaches(&self) -> $crate::Result<Vec<$crate::BreachRow>> {
                let text = format!("SELECT {BREACH_COLUMNS} FROM breaches ORDER BY aware_at DESC, id");
                let rows = sqlx::query::<$db>(&text).fetch_all(&self.pool).await?;
                rows.iter().map(breach_from_row).collect()
            }

            async fn breach_updates(&self, id: uuid::Uuid) -> $crate::Result<Vec<$crate::BreachUpdateRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>(
                    "SELECT seq, at, actor, fields, note FROM breach_updates WHERE breach_id = $1 ORDER BY seq",
                )
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::BreachUpdateRow {
                            breach_id: id,
                            seq: r.try_get("seq")?,
                            at: r.try_get("at")?,
                            actor: r.try_get("actor")?,
                            fields: r.try_get("fields")?,
                            note: r.try_get("note")?,
                        })
                    })
                    .collect()
            }

            async fn set_breach_affected(
                &self,
                b: &$crate::BreachRow,
                expected: i64,
                people: &[$crate::AffectedRow],
                change: &$crate::BreachUpdateRow,
            ) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                if !replace_breach(&mut tx, b, expected).await? {
                    return Ok(false);
                }
                sqlx::query::<$db>("DELETE FROM breach_affected WHERE breach_id = $1")
                    .bind(b.id.to_string())
                    .execute(&mut *tx)
                    .await?;
                for p in people {
                    sqlx::query::<$db>(
                        "INSERT INTO breach_affected (breach_id, subject_id, categories, events) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(b.id.to_string())
                    .bind(p.subject_id.to_string())
                    .bind(p.categories.clone())
                    .bind(p.events)
                    .execute(&mut *tx)
                    .await?;
                }
                record_breach_change(&mut tx, change).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn breach_affected(&self, id: uuid::Uuid) -> $crate::Result<Vec<$crate::AffectedRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>(
                    "SELECT subject_id, categories, events FROM breach_affected WHERE breach_id = $1 ORDER BY subject_id",
                )
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::AffectedRow {
                            subject_id: parse_id(&r.try_get::<String, _>("subject_id")?)?,
                            categories: r.try_get("categories")?,
                            events: r.try_get("events")?,
                        })
                    })
                    .collect()
            }

            async fn queue_breach_notices(
                &self,
                notices: &[($crate::BreachNoticeRow, $crate::OutboxRow)],
                change: &$crate::BreachUpdateRow,
            ) -> $crate::Result<u64> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let mut queued = 0;
                for (notice, message) in notices {
                    let done = sqlx::query::<$db>(
                        "INSERT INTO breach_notices (breach_id, subject_id, message_id, queued_at, sent_at) \
                         VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (breach_id, subject_id) DO NOTHING",
                    )
                    .bind(notice.breach_id.to_string())
                    .bind(notice.subject_id.to_string())
                    .bind(notice.message_id.to_string())
                    .bind(notice.queued_at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        continue;
                    }
                    sqlx::query::<$db>("INSERT INTO outbox (id, pending_id, created_at, sealed) VALUES ($1, $2, $3, $4)")
                        .bind(message.id.to_string())
                        .bind(message.pending_id.to_string())
                        .bind(message.created_at)
                        .bind(message.sealed.clone())
                        .execute(&mut *tx)
                        .await?;
                    queued += 1;
                }
                record_breach_change(&mut tx, change).await?;
                tx.commit().await?;
                Ok(queued)
            }

            async fn breach_notices(&self, id: uuid::Uuid) -> $crate::Result<Vec<$crate::BreachNoticeRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>(
                    "SELECT subject_id, message_id, queued_at, sent_at FROM breach_notices WHERE breach_id = $1 ORDER BY queued_at, subject_id",
                )
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::BreachNoticeRow {
                            breach_id: id,
                            subject_id: parse_id(&r.try_get::<String, _>("subject_id")?)?,
                            message_id: parse_id(&r.try_get::<String, _>("message_id")?)?,
                            queued_at: r.try_get("queued_at")?,
                            sent_at: r.try_get("sent_at")?,
                        })
                    })
                    .collect()
            }

            async fn mark_notices_sent(&self, message_ids: &[uuid::Uuid], at: i64) -> $crate::Result<()> {
                for id in message_ids {
                    sqlx::query::<$db>("UPDATE breach_notices SET sent_at = $1 WHERE message_id = $2 AND sent_at IS NULL")
                        .bind(at)
                        .bind(id.to_string())
                        .execute(&self.pool)
                        .await?;
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_accountability;
