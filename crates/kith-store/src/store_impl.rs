//! The [`Store`](crate::Store) implementation, written once and expanded for
//! each database. The SQL is the same for both; what differs per database
//! (row locks) comes in as a parameter, and DDL differences live in the
//! migrations.

/// Expands to `impl Store for $store` over a `sqlx::Pool<$db>` in `self.pool`.
/// `$share_lock` is appended to reads that must block a concurrent writer
/// until this transaction ends (PostgreSQL `FOR SHARE`; SQLite transactions
/// are serialised already).
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:expr, $share_lock:expr) => {
        type Query<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>;

        fn bind_arg(q: Query<'_>, arg: $crate::query::Arg) -> Query<'_> {
            match arg {
                $crate::query::Arg::Int(i) => q.bind(i),
                $crate::query::Arg::Text(t) => q.bind(t),
                $crate::query::Arg::Bytes(b) => q.bind(b),
            }
        }

        fn bind_column<'q>(q: Query<'q>, column: &kith_core::Column, value: &kith_core::ClearValue) -> Query<'q> {
            match (value, column.ty) {
                (kith_core::ClearValue::Null, kith_core::ColumnType::Int) => q.bind(Option::<i64>::None),
                (kith_core::ClearValue::Null, kith_core::ColumnType::Text) => q.bind(Option::<String>::None),
                (kith_core::ClearValue::Int(i), _) => q.bind(*i),
                (kith_core::ClearValue::Text(t), _) => q.bind(t.clone()),
            }
        }

        fn parse_id(text: &str) -> $crate::Result<uuid::Uuid> {
            uuid::Uuid::parse_str(text).map_err(|_| $crate::StoreError::Corrupt("an id is not a UUID".into()))
        }

        fn record_from_row(
            row: &<$db as sqlx::Database>::Row,
            sort: Option<kith_core::ColumnType>,
        ) -> $crate::Result<$crate::StoredRecord> {
            use sqlx::Row;
            let sort_value = match sort {
                None => kith_core::ClearValue::Null,
                Some(kith_core::ColumnType::Int) => kith_core::ClearValue::Int(row.try_get("sort_value")?),
                Some(kith_core::ColumnType::Text) => kith_core::ClearValue::Text(row.try_get("sort_value")?),
            };
            Ok($crate::StoredRecord {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                subject_id: parse_id(row.try_get::<&str, _>("subject_id")?)?,
                owner: row.try_get("owner")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                version: row.try_get("version")?,
                sealed: row.try_get("sealed")?,
                key: match (row.try_get::<Option<String>, _>("kek_id")?, row.try_get::<Option<Vec<u8>>, _>("wrapped")?) {
                    (Some(kek_id), Some(wrapped)) => Some($crate::KeyRow {
                        subject_id: parse_id(row.try_get::<&str, _>("subject_id")?)?,
                        kek_id,
                        wrapped,
                    }),
                    _ => None,
                },
                sort_value,
            })
        }

        fn key_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::KeyRow> {
            use sqlx::Row;
            Ok($crate::KeyRow {
                subject_id: parse_id(row.try_get::<&str, _>("subject_id")?)?,
                kek_id: row.try_get("kek_id")?,
                wrapped: row.try_get("wrapped")?,
            })
        }

        fn token_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::TokenRow> {
            use sqlx::Row;
            Ok($crate::TokenRow {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                name: row.try_get("name")?,
                role: row.try_get("role")?,
                token_hash: row.try_get("token_hash")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        }

        fn map_unique(e: sqlx::Error) -> $crate::StoreError {
            match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => $crate::StoreError::Duplicate,
                _ => $crate::StoreError::Database(e),
            }
        }

        type Tx<'c> = sqlx::Transaction<'c, $db>;

        async fn check_references(tx: &mut Tx<'_>, refs: &[(kith_core::EntityKind, uuid::Uuid)]) -> $crate::Result<()> {
            for (entity, id) in refs {
                let text = format!("SELECT id FROM {} WHERE id = $1{}", entity.as_str(), $share_lock);
                let found = sqlx::query::<$db>(&text).bind(id.to_string()).fetch_optional(&mut **tx).await?;
                if found.is_none() {
                    return Err($crate::StoreError::UnknownReference(entity.as_str(), *id));
                }
            }
            Ok(())
        }

        /// Inserts a new data key and checks, under a lock that a rotation's
        /// switch of the active KEK must wait for, that it is wrapped under
        /// the active KEK.
        async fn insert_key(tx: &mut Tx<'_>, key: &$crate::KeyRow, now: i64) -> $crate::Result<()> {
            use sqlx::Row;
            sqlx::query::<$db>("INSERT INTO data_keys (subject_id, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4)")
                .bind(key.subject_id.to_string())
                .bind(key.kek_id.clone())
                .bind(key.wrapped.clone())
                .bind(now)
                .execute(&mut **tx)
                .await
                .map_err(map_unique)?;
            let text = format!("SELECT value FROM settings WHERE name = $1{}", $share_lock);
            let row = sqlx::query::<$db>(&text).bind($crate::ACTIVE_KEK).fetch_optional(&mut **tx).await?;
            let active: Option<String> = row.map(|r| r.try_get("value")).transpose()?;
            match active {
                Some(active) if active != key.kek_id => Err($crate::StoreError::StaleKek(active)),
                _ => Ok(()),
            }
        }

        async fn write_terms(tx: &mut Tx<'_>, entity: kith_core::EntityKind, id: uuid::Uuid, terms: &[$crate::Term]) -> $crate::Result<()> {
            if terms.is_empty() {
                return Ok(());
            }
            let mut unique = terms.to_vec();
            unique.sort();
            unique.dedup();
            let values: Vec<String> = (0..unique.len()).map(|i| format!("($1, $2, ${})", i + 3)).collect();
            let text = format!("INSERT INTO blind_index (entity, record_id, term) VALUES {}", values.join(", "));
            let mut q = sqlx::query::<$db>(&text).bind(entity.as_str()).bind(id.to_string());
            for term in unique {
                q = q.bind(term.to_vec());
            }
            q.execute(&mut **tx).await?;
            Ok(())
        }

        async fn insert_in(tx: &mut Tx<'_>, record: &$crate::NewRecord, new_key: Option<&$crate::KeyRow>) -> $crate::Result<()> {
            check_references(tx, &record.references).await?;
            if let Some(key) = new_key {
                insert_key(tx, key, record.created_at).await?;
            }
            let text = $crate::query::insert_sql(record.entity);
            let mut q = sqlx::query::<$db>(&text)
                .bind(record.id.to_string())
                .bind(record.subject_id.to_string())
                .bind(record.owner.clone())
                .bind(record.created_at)
                .bind(record.created_at)
                .bind(1_i64)
                .bind(record.sealed.clone());
            for (column, value) in record.entity.columns().iter().zip(&record.columns) {
                q = bind_column(q, column, value);
            }
            q.execute(&mut **tx).await.map_err(map_unique)?;
            write_terms(tx, record.entity, record.id, &record.terms).await
        }

        async fn delete_rows(tx: &mut Tx<'_>, entity: kith_core::EntityKind, column: &str, id: uuid::Uuid) -> $crate::Result<u64> {
            let table = entity.as_str();
            let terms = format!("DELETE FROM blind_index WHERE record_id IN (SELECT id FROM {table} WHERE {column} = $1)");
            sqlx::query::<$db>(&terms).bind(id.to_string()).execute(&mut **tx).await?;
            let rows = format!("DELETE FROM {table} WHERE {column} = $1");
            Ok(sqlx::query::<$db>(&rows).bind(id.to_string()).execute(&mut **tx).await?.rows_affected())
        }

        async fn delete_key(tx: &mut Tx<'_>, subject: uuid::Uuid) -> $crate::Result<()> {
            sqlx::query::<$db>("DELETE FROM data_keys WHERE subject_id = $1")
                .bind(subject.to_string())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> $crate::Backend {
                $backend
            }

            async fn ping(&self) -> $crate::Result<()> {
                sqlx::query::<$db>("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn setting(&self, name: &str) -> $crate::Result<Option<String>> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT value FROM settings WHERE name = $1")
                    .bind(name.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("value")).transpose()?)
            }

            async fn init_setting(&self, name: &str, value: &str) -> $crate::Result<String> {
                sqlx::query::<$db>("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name.to_string())
                    .bind(value.to_string())
                    .execute(&self.pool)
                    .await?;
                self.setting(name).await?.ok_or_else(|| $crate::StoreError::Corrupt(format!("setting {name} vanished")))
            }

            async fn set_setting(&self, name: &str, value: &str) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(name.to_string())
                .bind(value.to_string())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn data_key(&self, subject: uuid::Uuid) -> $crate::Result<Option<$crate::KeyRow>> {
                let row = sqlx::query::<$db>("SELECT subject_id, kek_id, wrapped FROM data_keys WHERE subject_id = $1")
                    .bind(subject.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(key_from_row).transpose()
            }

            async fn insert(&self, record: $crate::NewRecord, new_key: Option<$crate::KeyRow>) -> $crate::Result<()> {
                let mut tx = self.pool.begin().await?;
                insert_in(&mut tx, &record, new_key.as_ref()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_batch(&self, records: Vec<($crate::NewRecord, Option<$crate::KeyRow>)>) -> $crate::Result<()> {
                let mut tx = self.pool.begin().await?;
                for (record, key) in &records {
                    insert_in(&mut tx, record, key.as_ref()).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn update(&self, update: $crate::RecordUpdate, new_key: Option<$crate::KeyRow>) -> $crate::Result<()> {
                use sqlx::Row;
                let record = &update.record;
                let mut tx = self.pool.begin().await?;
                check_references(&mut tx, &record.references).await?;
                if let Some(key) = &new_key {
                    insert_key(&mut tx, key, update.updated_at).await?;
                }
                let select = format!("SELECT subject_id FROM {} WHERE id = $1", record.entity.as_str());
                let old = sqlx::query::<$db>(&select).bind(record.id.to_string()).fetch_optional(&mut *tx).await?;
                let old_subject = match old {
                    Some(row) => parse_id(row.try_get::<&str, _>("subject_id")?)?,
                    None => return Err($crate::StoreError::VersionConflict),
                };
                let text = $crate::query::update_sql(record.entity);
                let mut q = sqlx::query::<$db>(&text)
                    .bind(record.id.to_string())
                    .bind(update.expected_version)
                    .bind(record.subject_id.to_string())
                    .bind(record.owner.clone())
                    .bind(update.updated_at)
                    .bind(record.sealed.clone());
                for (column, value) in record.entity.columns().iter().zip(&record.columns) {
                    q = bind_column(q, column, value);
                }
                if q.execute(&mut *tx).await?.rows_affected() != 1 {
                    return Err($crate::StoreError::VersionConflict);
                }
                sqlx::query::<$db>("DELETE FROM blind_index WHERE record_id = $1")
                    .bind(record.id.to_string())
                    .execute(&mut *tx)
                    .await?;
                write_terms(&mut tx, record.entity, record.id, &record.terms).await?;
                // A record that had a key of its own and now belongs to a person drops that key.
                if old_subject == record.id && record.subject_id != record.id {
                    delete_key(&mut tx, record.id).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn get(&self, entity: kith_core::EntityKind, id: uuid::Uuid) -> $crate::Result<Option<$crate::StoredRecord>> {
                let text = format!(
                    "SELECT {} FROM {} WHERE t.id = $1",
                    $crate::query::RECORD_COLUMNS,
                    $crate::query::record_from(entity.as_str())
                );
                let row = sqlx::query::<$db>(&text).bind(id.to_string()).fetch_optional(&self.pool).await?;
                row.as_ref().map(|r| record_from_row(r, None)).transpose()
            }

            async fn delete(&self, entity: kith_core::EntityKind, id: uuid::Uuid) -> $crate::Result<bool> {
                use kith_core::EntityKind as E;
                let mut tx = self.pool.begin().await?;
                let select = format!("SELECT subject_id FROM {} WHERE id = $1", entity.as_str());
                let Some(row) = sqlx::query::<$db>(&select).bind(id.to_string()).fetch_optional(&mut *tx).await? else {
                    return Ok(false);
                };
                let subject = parse_id(sqlx::Row::try_get::<&str, _>(&row, "subject_id")?)?;
                match entity {
                    E::Contacts => {
                        for dependent in [E::Interactions, E::Deals, E::Purchases] {
                            delete_rows(&mut tx, dependent, "subject_id", id).await?;
                        }
                    }
                    E::Companies => {
                        for referrer in [E::Contacts, E::Interactions, E::Deals, E::Purchases] {
                            let text = format!("SELECT id FROM {} WHERE company_id = $1 LIMIT 1", referrer.as_str());
                            if sqlx::query::<$db>(&text).bind(id.to_string()).fetch_optional(&mut *tx).await?.is_some() {
                                return Err($crate::StoreError::InUse(referrer.as_str()));
                            }
                        }
                    }
                    _ => {}
                }
                delete_rows(&mut tx, entity, "id", id).await?;
                if subject == id {
                    delete_key(&mut tx, id).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn list(&self, query: &$crate::ListQuery) -> $crate::Result<Vec<$crate::StoredRecord>> {
                let sql = $crate::query::list_sql(query)?;
                let sort = $crate::query::sort_type(query.entity, query.sort);
                let mut q = sqlx::query::<$db>(&sql.text);
                for arg in sql.args {
                    q = bind_arg(q, arg);
                }
                let rows = q.fetch_all(&self.pool).await?;
                rows.iter().map(|r| record_from_row(r, sort)).collect()
            }

            async fn keys_after(&self, after: Option<uuid::Uuid>, limit: u32) -> $crate::Result<Vec<$crate::KeyRow>> {
                let rows = sqlx::query::<$db>(
                    "SELECT subject_id, kek_id, wrapped FROM data_keys WHERE subject_id > $1 ORDER BY subject_id LIMIT $2",
                )
                .bind(after.map(|a| a.to_string()).unwrap_or_default())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(key_from_row).collect()
            }

            async fn count_keys_not_under(&self, kek_id: &str) -> $crate::Result<u64> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT COUNT(*) AS n FROM data_keys WHERE kek_id <> $1")
                    .bind(kek_id.to_string())
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
            }

            async fn rewrap(&self, old: &$crate::KeyRow, new: &$crate::KeyRow) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE data_keys SET kek_id = $1, wrapped = $2 WHERE subject_id = $3 AND kek_id = $4 AND wrapped = $5",
                )
                .bind(new.kek_id.clone())
                .bind(new.wrapped.clone())
                .bind(old.subject_id.to_string())
                .bind(old.kek_id.clone())
                .bind(old.wrapped.clone())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
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

pub(crate) use impl_store;
