//! The audit log, its checkpoints and alerts. The SQL, written once for both engines: `impl_audit!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_audit {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::AuditStore for $store {
            async fn append_audit(
                &self,
                mut events: Vec<kith_core::audit::AuditEvent>,
                hasher: &$crate::AuditHasher,
            ) -> $crate::Result<Vec<kith_core::audit::AuditEvent>> {
                use sqlx::Row;
                if events.is_empty() {
                    return Ok(events);
                }
                let mut tx = self.audit_pool.begin_with($d.begin_write).await?;
                // The head row is the chain's lock: one appender at a time, across servers.
                let text = format!("SELECT seq, chain_hash FROM audit_head WHERE id = 1{}", $d.update_lock);
                let head = sqlx::query::<$db>(&text).fetch_one(&mut *tx).await?;
                let mut seq: i64 = head.try_get("seq")?;
                let previous: Vec<u8> = head.try_get("chain_hash")?;
                let mut previous: [u8; 32] =
                    previous.try_into().map_err(|_| $crate::StoreError::Corrupt("audit head hash".into()))?;
                let mut hashes = Vec::with_capacity(events.len());
                for event in &mut events {
                    seq += 1;
                    event.seq = seq;
                    let (leaf, chain) = hasher(event, &previous);
                    hashes.push((leaf, chain));
                    previous = chain;
                }
                let columns = [
                    "seq", "at", "actor", "action", "entity", "record_id", "subject_id", "fields", "purpose",
                    "request_id", "client", "outcome", "leaf_hash", "chain_hash",
                ];
                let rows: Vec<_> = events.iter().zip(&hashes).collect();
                for chunk in rows.chunks($crate::query::rows_per_statement(columns.len())) {
                    let text = $crate::query::multi_insert_sql("audit_events", &columns, chunk.len(), $d.numbered_params);
                    let mut q = sqlx::query::<$db>(&text);
                    for (e, (leaf, chain)) in chunk {
                        q = q
                            .bind(e.seq)
                            .bind(e.at)
                            .bind(e.actor.clone())
                            .bind(e.action.as_str())
                            .bind(e.entity.clone())
                            .bind(e.record_id.map(|id| id.to_string()))
                            .bind(e.subject_id.map(|id| id.to_string()))
                            .bind(serde_json::to_string(&e.fields).unwrap_or_default())
                            .bind(e.purpose.clone())
                            .bind(e.request_id.clone())
                            .bind(e.client.clone())
                            .bind(e.outcome.as_str())
                            .bind(leaf.to_vec())
                            .bind(chain.to_vec());
                    }
                    q.execute(&mut *tx).await?;
                }
                sqlx::query::<$db>("UPDATE audit_head SET seq = $1, chain_hash = $2 WHERE id = 1")
                    .bind(seq)
                    .bind(previous.to_vec())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(events)
            }

            async fn audit_rows(&self, after: i64, limit: u32) -> $crate::Result<Vec<$crate::AuditRow>> {
                let rows = sqlx::query::<$db>(&format!(
                    "SELECT {AUDIT_COLUMNS}, leaf_hash, chain_hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
                ))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.audit_pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        use sqlx::Row;
                        let event = audit_event_from_row(r)?;
                        Ok($crate::AuditRow {
                            canonical: audit_row_is_canonical(r, &event)?,
                            event,
                            leaf_hash: r.try_get("leaf_hash")?,
                            chain_hash: r.try_get("chain_hash")?,
                        })
                    })
                    .collect()
            }

            async fn audit_head(&self) -> $crate::Result<(i64, Vec<u8>)> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT seq, chain_hash FROM audit_head WHERE id = 1").fetch_one(&self.audit_pool).await?;
                Ok((row.try_get("seq")?, row.try_get("chain_hash")?))
            }

            async fn audit_query(&self, query: &$crate::AuditQuery) -> $crate::Result<Vec<kith_core::audit::AuditEvent>> {
                let (past, order, start) = match query.newest_first {
                    false => (">", "", 0),
                    true => ("<", " DESC", i64::MAX),
                };
                let mut conditions = vec![format!("seq {past} $1")];
                let mut args: Vec<$crate::query::Arg> = vec![$crate::query::Arg::Int(query.after.unwrap_or(start))];
                let mut add = |condition: &str, arg: $crate::query::Arg| {
                    args.push(arg);
                    conditions.push(format!("{condition} ${}", args.len()));
                };
                if let Some(subject) = query.subject_id {
                    add("subject_id =", $crate::query::Arg::Text(subject.to_string()));
                }
                if let Some(actor) = &query.actor {
                    add("actor =", $crate::query::Arg::Text(actor.clone()));
                }
                if let Some(action) = &query.action {
                    add("action =", $crate::query::Arg::Text(action.clone()));
                }
                if let Some(from) = query.from {
                    add("at >=", $crate::query::Arg::Int(from));
                }
                if let Some(to) = query.to {
                    add("at <", $crate::query::Arg::Int(to));
                }
                let text = format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE {} ORDER BY seq{order} LIMIT ${}",
                    conditions.join(" AND "),
                    args.len() + 1
                );
                let mut q = sqlx::query::<$db>(&text);
                for arg in args {
                    q = bind_arg(q, arg);
                }
                q = q.bind(i64::from(query.limit));
                let rows = q.fetch_all(&self.audit_pool).await?;
                rows.iter().map(audit_event_from_row).collect()
            }

            async fn insert_checkpoint(&self, size: i64, note: &str, at: i64) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO audit_checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING",
                )
                .bind(size)
                .bind(note.to_string())
                .bind(at)
                .execute(&self.audit_pool)
                .await?;
                Ok(())
            }

            async fn latest_checkpoint(&self) -> $crate::Result<Option<String>> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
                    .fetch_optional(&self.audit_pool)
                    .await?;
                Ok(row.map(|r| r.try_get("note")).transpose()?)
            }

            async fn raise_alert(&self, alert: &$crate::AlertRow, since: i64) -> $crate::Result<bool> {
                let mut tx = self.audit_pool.begin_with($d.begin_write).await?;
                // The chain's head row doubles as the lock that keeps two servers
                // from raising the same alert at once.
                let lock = format!("SELECT seq FROM audit_head WHERE id = 1{}", $d.update_lock);
                sqlx::query::<$db>(&lock).fetch_one(&mut *tx).await?;
                let recent = sqlx::query::<$db>("SELECT id FROM audit_alerts WHERE rule = $1 AND actor = $2 AND at >= $3")
                    .bind(alert.rule.clone())
                    .bind(alert.actor.clone())
                    .bind(since)
                    .fetch_optional(&mut *tx)
                    .await?;
                if recent.is_some() {
                    return Ok(false);
                }
                sqlx::query::<$db>("INSERT INTO audit_alerts (id, at, rule, actor, detail) VALUES ($1, $2, $3, $4, $5)")
                    .bind(alert.id.to_string())
                    .bind(alert.at)
                    .bind(alert.rule.clone())
                    .bind(alert.actor.clone())
                    .bind(alert.detail.clone())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn alerts(&self, limit: u32) -> $crate::Result<Vec<$crate::AlertRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>("SELECT id, at, rule, actor, detail FROM audit_alerts ORDER BY at DESC, id LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(&self.audit_pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::AlertRow {
                            id: parse_id(r.try_get::<&str, _>("id")?)?,
                            at: r.try_get("at")?,
                            rule: r.try_get("rule")?,
                            actor: r.try_get("actor")?,
                            detail: r.try_get("detail")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_audit;
