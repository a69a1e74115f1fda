//! Snapshots, loads and the erasure ledger. The SQL, written once for both
//! engines: `impl_backup!` expands inside `impl_store!` (see
//! `store_impl.rs`), where the row helpers it uses are in scope.
//!
//! Table and column names reach SQL only after they were found in
//! [`TABLES`](crate::TABLES) and in the database's own catalogue, never
//! as a backup file spells them.

macro_rules! impl_backup {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        /// A table of `TABLES`, as the static name.
        fn known_table(table: &str) -> $crate::Result<&'static str> {
            $crate::TABLES
                .iter()
                .find(|t| **t == table)
                .copied()
                .ok_or_else(|| $crate::StoreError::Corrupt(format!("{table} is not a table Kith keeps")))
        }

        /// Called for every value read, so it compares without allocating.
        fn cell_type(declared: &str) -> $crate::Result<$crate::CellType> {
            let is = |name: &str| declared.eq_ignore_ascii_case(name);
            if is("integer") || is("bigint") || is("int8") {
                Ok($crate::CellType::Int)
            } else if is("text") {
                Ok($crate::CellType::Text)
            } else if is("blob") || is("bytea") {
                Ok($crate::CellType::Bytes)
            } else {
                Err($crate::StoreError::Corrupt(format!("a column of type {declared}")))
            }
        }

        async fn columns_of<'e, E: sqlx::Executor<'e, Database = $db>>(
            exec: E,
            table: &'static str,
        ) -> $crate::Result<Vec<$crate::ColumnSpec>> {
            use sqlx::Row;
            let text = match $backend {
                $crate::Backend::Postgres => {
                    "SELECT column_name AS name, data_type AS ty FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
                }
                $crate::Backend::Sqlite => "SELECT name, type AS ty FROM pragma_table_info($1) ORDER BY cid",
            };
            let rows = sqlx::query::<$db>(text).bind(table).fetch_all(exec).await?;
            rows.iter()
                .map(|r| Ok($crate::ColumnSpec { name: r.try_get("name")?, ty: cell_type(r.try_get::<&str, _>("ty")?)? }))
                .collect()
        }

        fn read_cell(row: &<$db as sqlx::Database>::Row, i: usize) -> $crate::Result<$crate::Cell> {
            use sqlx::{Row, TypeInfo, ValueRef};
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                return Ok($crate::Cell::Null);
            }
            let ty = cell_type(raw.type_info().name())?;
            Ok(match ty {
                $crate::CellType::Int => $crate::Cell::Int(row.try_get(i)?),
                $crate::CellType::Text => $crate::Cell::Text(row.try_get(i)?),
                $crate::CellType::Bytes => $crate::Cell::Bytes(row.try_get(i)?),
            })
        }

        /// Streams one table to the sink in batches of `batch` rows.
        async fn dump_table(
            conn: &mut <$db as sqlx::Database>::Connection,
            table: &'static str,
            sink: &mut dyn $crate::SnapshotSink,
            batch: usize,
        ) -> $crate::Result<()> {
            use futures_util::TryStreamExt;
            let columns = columns_of(&mut *conn, table).await?;
            sink.table(table, &columns).await?;
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            let text = format!("SELECT {} FROM {table}", names.join(", "));
            let mut rows = sqlx::query::<$db>(&text).fetch(&mut *conn);
            let mut pending = Vec::with_capacity(batch);
            while let Some(row) = rows.try_next().await? {
                pending.push((0..columns.len()).map(|i| read_cell(&row, i)).collect::<$crate::Result<Vec<_>>>()?);
                if pending.len() == batch {
                    sink.rows(std::mem::replace(&mut pending, Vec::with_capacity(batch))).await?;
                }
            }
            if !pending.is_empty() {
                sink.rows(pending).await?;
            }
            sink.end_table().await
        }

        #[async_trait::async_trait]
        impl $crate::BackupStore for $store {
            async fn snapshot(&self, sink: &mut dyn $crate::SnapshotSink, batch: usize) -> $crate::Result<()> {
                let mut records = self.pool.begin().await?;
                if $backend == $crate::Backend::Postgres {
                    sqlx::query::<$db>("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                        .execute(&mut *records)
                        .await?;
                }
                // A read fixes the transaction's snapshot; the records' first,
                // then the audit file's, which can only be newer.
                sqlx::query::<$db>("SELECT count(*) FROM settings").fetch_one(&mut *records).await?;
                let mut audit = match $backend {
                    $crate::Backend::Sqlite => {
                        let mut tx = self.audit_pool.begin().await?;
                        sqlx::query::<$db>("SELECT seq FROM audit_head").fetch_one(&mut *tx).await?;
                        Some(tx)
                    }
                    $crate::Backend::Postgres => None,
                };
                for table in $crate::TABLES {
                    let conn = match audit.as_mut() {
                        Some(tx) if $crate::AUDIT_TABLES.contains(table) => &mut **tx,
                        _ => &mut *records,
                    };
                    dump_table(conn, table, sink, batch.max(1)).await?;
                }
                Ok(())
            }

            async fn is_blank(&self) -> $crate::Result<bool> {
                use sqlx::Row;
                let settings: i64 = sqlx::query::<$db>("SELECT count(*) AS n FROM settings")
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                let contacts = sqlx::query::<$db>("SELECT id FROM contacts LIMIT 1").fetch_optional(&self.pool).await?;
                let events = sqlx::query::<$db>("SELECT seq FROM audit_events LIMIT 1")
                    .fetch_optional(&self.audit_pool)
                    .await?;
                Ok(settings == 0 && contacts.is_none() && events.is_none())
            }

            async fn table_columns(&self, table: &str) -> $crate::Result<Vec<$crate::ColumnSpec>> {
                let table = known_table(table)?;
                let pool = if $crate::AUDIT_TABLES.contains(&table) { &self.audit_pool } else { &self.pool };
                columns_of(pool, table).await
            }

            async fn clear_table(&self, table: &str) -> $crate::Result<()> {
                let table = known_table(table)?;
                let pool = if $crate::AUDIT_TABLES.contains(&table) { &self.audit_pool } else { &self.pool };
                sqlx::query::<$db>(&format!("DELETE FROM {table}")).execute(pool).await?;
                Ok(())
            }

            async fn load_rows(
                &self,
                table: &str,
                columns: &[$crate::ColumnSpec],
                rows: &[Vec<$crate::Cell>],
            ) -> $crate::Result<()> {
                let table = known_table(table)?;
                let pool = if $crate::AUDIT_TABLES.contains(&table) { &self.audit_pool } else { &self.pool };
                let actual = columns_of(pool, table).await?;
                if let Some(unknown) = columns.iter().find(|c| !actual.contains(c)) {
                    return Err($crate::StoreError::Corrupt(format!("{table} has no column {} of that type", unknown.name)));
                }
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                let mut tx = pool.begin_with($d.begin_write).await?;
                for chunk in rows.chunks($crate::query::rows_per_statement(columns.len().max(1))) {
                    let text = $crate::query::multi_insert_sql(table, &names, chunk.len(), $d.numbered_params);
                    let mut q = sqlx::query::<$db>(&text);
                    for row in chunk {
                        if row.len() != columns.len() {
                            return Err($crate::StoreError::Corrupt(format!("a row of {table} has the wrong width")));
                        }
                        for (cell, column) in row.iter().zip(columns) {
                            q = match (cell, column.ty) {
                                ($crate::Cell::Null, $crate::CellType::Int) => q.bind(Option::<i64>::None),
                                ($crate::Cell::Null, $crate::CellType::Text) => q.bind(Option::<String>::None),
                                ($crate::Cell::Null, $crate::CellType::Bytes) => q.bind(Option::<Vec<u8>>::None),
                                ($crate::Cell::Int(i), $crate::CellType::Int) => q.bind(*i),
                                ($crate::Cell::Text(t), $crate::CellType::Text) => q.bind(t.clone()),
                                ($crate::Cell::Bytes(b), $crate::CellType::Bytes) => q.bind(b.clone()),
                                _ => {
                                    return Err($crate::StoreError::Corrupt(format!(
                                        "a value of {table}.{} does not have the column's type",
                                        column.name
                                    )))
                                }
                            };
                        }
                    }
                    q.execute(&mut *tx).await.map_err(map_unique)?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn count_rows(&self, table: &str) -> $crate::Result<u64> {
                use sqlx::Row;
                let table = known_table(table)?;
                let pool = if $crate::AUDIT_TABLES.contains(&table) { &self.audit_pool } else { &self.pool };
                let n: i64 = sqlx::query::<$db>(&format!("SELECT count(*) AS n FROM {table}"))
                    .fetch_one(pool)
                    .await?
                    .try_get("n")?;
                Ok(n as u64)
            }

            async fn erasure_ledger(&self) -> $crate::Result<Vec<$crate::LedgerRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>(
                    "SELECT subject_id, request_id, erased_at, terms FROM erasure_ledger ORDER BY erased_at, subject_id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::LedgerRow {
                            subject_id: parse_id(r.try_get::<&str, _>("subject_id")?)?,
                            request_id: parse_id(r.try_get::<&str, _>("request_id")?)?,
                            erased_at: r.try_get("erased_at")?,
                            terms: $crate::terms_from_hex(r.try_get::<&str, _>("terms")?).ok_or_else(|| {
                                $crate::StoreError::Corrupt("an erasure ledger entry has malformed terms".into())
                            })?,
                        })
                    })
                    .collect()
            }

            async fn replay_erasure(&self, entry: &$crate::LedgerRow) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let counts = erase_rows(&mut tx, entry).await?;
                tx.commit().await?;
                let found = counts.iter().any(|(name, n)| name != "request_details" && *n > 0);
                if found {
                    if let Err(e) = sqlx::raw_sql($d.after_erasure).execute(&self.pool).await {
                        tracing::warn!(error = %e, "the sweep after a replayed erasure did not run");
                    }
                }
                Ok(found)
            }
        }
    };
}

pub(crate) use impl_backup;
