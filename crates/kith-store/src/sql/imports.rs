//! Import jobs and the batch questions of an import. The SQL, written
//! once for both engines: `impl_imports!` expands inside `impl_store!`
//! (see `store_impl.rs`).

macro_rules! impl_imports {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        const IMPORT_COLUMNS: &str = "id, created_by, created_at, updated_at, status, document";

        fn import_from_row(r: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::ImportJobRow> {
            use sqlx::Row;
            Ok($crate::ImportJobRow {
                id: parse_id(&r.try_get::<String, _>("id")?)?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                status: r.try_get("status")?,
                document: r.try_get("document")?,
            })
        }

        /// `$1, $2, ...` from `first`, one per item; plain `?` on SQLite,
        /// which looks each numbered name up one by one (see `query.rs`).
        fn placeholders(first: usize, count: usize) -> String {
            let mark = |i: usize| if $d.numbered_params { format!("${i}") } else { "?".to_string() };
            (first..first + count).map(mark).collect::<Vec<_>>().join(", ")
        }

        #[async_trait::async_trait]
        impl $crate::ImportStore for $store {
            async fn insert_import(&self, job: &$crate::ImportJobRow) -> $crate::Result<()> {
                let text = format!("INSERT INTO import_jobs ({IMPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
                sqlx::query::<$db>(&text)
                    .bind(job.id.to_string())
                    .bind(job.created_by.clone())
                    .bind(job.created_at)
                    .bind(job.updated_at)
                    .bind(job.status.clone())
                    .bind(job.document.clone())
                    .execute(&self.pool)
                    .await
                    .map_err(map_unique)?;
                Ok(())
            }

            async fn update_import(&self, job: &$crate::ImportJobRow) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE import_jobs SET updated_at = $1, status = $2, document = $3 WHERE id = $4",
                )
                .bind(job.updated_at)
                .bind(job.status.clone())
                .bind(job.document.clone())
                .bind(job.id.to_string())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn import_job(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::ImportJobRow>> {
                let text = format!("SELECT {IMPORT_COLUMNS} FROM import_jobs WHERE id = $1");
                let row = sqlx::query::<$db>(&text).bind(id.to_string()).fetch_optional(&self.pool).await?;
                row.as_ref().map(import_from_row).transpose()
            }

            async fn import_jobs(
                &self,
                limit: i64,
                created_by: Option<&str>,
            ) -> $crate::Result<Vec<$crate::ImportJobRow>> {
                let filter = if created_by.is_some() { "WHERE created_by = $2 " } else { "" };
                let text =
                    format!("SELECT {IMPORT_COLUMNS} FROM import_jobs {filter}ORDER BY created_at DESC, id LIMIT $1");
                let mut q = sqlx::query::<$db>(&text).bind(limit);
                if let Some(author) = created_by {
                    q = q.bind(author.to_string());
                }
                let rows = q.fetch_all(&self.pool).await?;
                rows.iter().map(import_from_row).collect()
            }

            async fn indexed(
                &self,
                entity: kith_core::EntityKind,
                terms: &[$crate::Term],
            ) -> $crate::Result<Vec<($crate::Term, uuid::Uuid)>> {
                use sqlx::Row;
                let mut found = Vec::new();
                for chunk in terms.chunks($crate::query::rows_per_statement(1) - 1) {
                    let text = format!(
                        "SELECT term, record_id FROM blind_index WHERE entity = {} AND term IN ({})",
                        placeholders(1, 1),
                        placeholders(2, chunk.len())
                    );
                    let mut q = sqlx::query::<$db>(&text).bind(entity.as_str());
                    for term in chunk {
                        q = q.bind(term.to_vec());
                    }
                    for row in q.fetch_all(&self.pool).await? {
                        let term: Vec<u8> = row.try_get("term")?;
                        let term =
                            term.try_into().map_err(|_| $crate::StoreError::Corrupt("a blind-index term".into()))?;
                        found.push((term, parse_id(&row.try_get::<String, _>("record_id")?)?));
                    }
                }
                Ok(found)
            }

            async fn suppressed_among(&self, terms: &[$crate::Term]) -> $crate::Result<Vec<$crate::Term>> {
                use sqlx::Row;
                let mut found = Vec::new();
                for chunk in terms.chunks($crate::query::rows_per_statement(1)) {
                    let text =
                        format!("SELECT term FROM suppressions WHERE term IN ({})", placeholders(1, chunk.len()));
                    let mut q = sqlx::query::<$db>(&text);
                    for term in chunk {
                        q = q.bind(term.to_vec());
                    }
                    for row in q.fetch_all(&self.pool).await? {
                        let term: Vec<u8> = row.try_get("term")?;
                        found.push(
                            term.try_into().map_err(|_| $crate::StoreError::Corrupt("a suppressed term".into()))?,
                        );
                    }
                }
                Ok(found)
            }

            async fn insert_with_consents(
                &self,
                records: Vec<($crate::NewRecord, Option<$crate::KeyRow>)>,
                consents: &[$crate::ConsentRow],
                seal: &$crate::LedgerSeal,
            ) -> $crate::Result<()> {
                const COLUMNS: [&str; 11] = [
                    "id",
                    "contact_id",
                    "purpose",
                    "granted",
                    "at",
                    "notice_version",
                    "method",
                    "recorded_by",
                    "sealed",
                    "seq",
                    "mac",
                ];
                // A first entry belongs to a person of this batch: anyone else has a ledger to chain to.
                let people: std::collections::HashSet<uuid::Uuid> = records
                    .iter()
                    .filter(|(r, _)| r.entity == kith_core::EntityKind::Contacts)
                    .map(|(r, _)| r.id)
                    .collect();
                if let Some(stranger) = consents.iter().find(|e| !people.contains(&e.contact_id)) {
                    return Err($crate::StoreError::UnknownReference("contacts", stranger.contact_id));
                }
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_all(&mut tx, &records).await?;
                for chunk in consents.chunks($crate::query::rows_per_statement(COLUMNS.len())) {
                    let text = $crate::query::multi_insert_sql("consents", &COLUMNS, chunk.len(), $d.numbered_params);
                    let mut q = sqlx::query::<$db>(&text);
                    for e in chunk {
                        let first = $crate::ConsentRow { seq: 1, ..e.clone() };
                        let mac = seal(&first, &[]);
                        q = q
                            .bind(e.id.to_string())
                            .bind(e.contact_id.to_string())
                            .bind(e.purpose.clone())
                            .bind(i64::from(e.granted))
                            .bind(e.at)
                            .bind(e.notice_version.clone())
                            .bind(e.method.clone())
                            .bind(e.recorded_by.clone())
                            .bind(e.sealed.clone())
                            .bind(1_i64)
                            .bind(mac);
                    }
                    q.execute(&mut *tx).await.map_err(map_unique)?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_imports;
