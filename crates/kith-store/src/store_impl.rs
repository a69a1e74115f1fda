//! The [`Store`](crate::Store) implementation, written once and expanded for
//! each database. The SQL is the same for both; what differs per database
//! (row locks) comes in as a parameter, and DDL differences live in the
//! migrations.

/// What differs between the databases beyond their migrations.
pub(crate) struct Dialect {
    /// Appended to reads that must keep a row from changing or vanishing
    /// until this transaction ends (a reference, the active KEK).
    pub share_lock: &'static str,
    /// Appended to reads of rows this transaction is about to change or delete.
    pub update_lock: &'static str,
    /// Appended to reads that claim work from a queue: rows another
    /// transaction holds are skipped, not waited for.
    pub claim_lock: &'static str,
    /// `$n` rather than `?` placeholders in generated multi-row inserts
    /// (see `query::multi_insert_sql`).
    pub numbered_params: bool,
    /// Starts a writing transaction.
    pub begin_write: &'static str,
    /// Run after an erasure commits, outside any transaction, so what was
    /// deleted leaves the files too (see `Store::erase_person`).
    pub after_erasure: &'static str,
}

/// SQLite serialises writers: `BEGIN IMMEDIATE` takes the write lock up
/// front, so a transaction that read first cannot fail to upgrade, and no
/// row locks are needed.
///
/// After an erasure the WAL is checkpointed into the main file (where
/// `secure_delete` has zeroed the freed cells) and truncated to nothing.
pub(crate) const SQLITE: Dialect = Dialect {
    share_lock: "",
    update_lock: "",
    claim_lock: "",
    numbered_params: false,
    begin_write: "BEGIN IMMEDIATE",
    after_erasure: "PRAGMA wal_checkpoint(TRUNCATE)",
};

pub(crate) const POSTGRES: Dialect = Dialect {
    share_lock: " FOR SHARE",
    update_lock: " FOR UPDATE",
    claim_lock: " FOR UPDATE SKIP LOCKED",
    numbered_params: true,
    begin_write: "BEGIN",
    // Dead tuples keep deleted rows in the table files until vacuumed.
    after_erasure: "VACUUM contacts, interactions, purchases, deals, blind_index, data_keys, consents, \
                    restrictions, objections, legal_claims, erasure_exceptions, dsr_requests",
};

/// Expands to `impl Store for $store` over a `sqlx::Pool<$db>` in `self.pool`
/// (and `self.audit_pool` for the audit log, which may be the same pool),
/// with the [`Dialect`] `$d`.
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
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

        const API_KEY_COLUMNS: &str =
            "id, key_hash, document, created_by, created_at, expires_at, revoked_at, last_used_at";

        fn api_key_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::ApiKeyRow> {
            use sqlx::Row;
            Ok($crate::ApiKeyRow {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                key_hash: row.try_get("key_hash")?,
                document: row.try_get("document")?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                revoked_at: row.try_get("revoked_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        }

        const AUDIT_COLUMNS: &str =
            "seq, at, actor, action, entity, record_id, subject_id, fields, purpose, request_id, client, outcome";

        fn audit_event_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<kith_core::audit::AuditEvent> {
            use kith_core::audit::{AuditAction, AuditOutcome};
            use sqlx::Row;
            let corrupt = |what: &str| $crate::StoreError::Corrupt(format!("audit event with an unknown {what}"));
            let id = |column: &str| -> $crate::Result<Option<uuid::Uuid>> {
                row.try_get::<Option<String>, _>(column)?.as_deref().map(parse_id).transpose()
            };
            let fields: String = row.try_get("fields")?;
            Ok(kith_core::audit::AuditEvent {
                seq: row.try_get("seq")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: AuditAction::parse(row.try_get("action")?).ok_or_else(|| corrupt("action"))?,
                entity: row.try_get("entity")?,
                record_id: id("record_id")?,
                subject_id: id("subject_id")?,
                // Stored as a JSON array. Anything else was written around Kith:
                // kept as one name, so verification names the event.
                fields: serde_json::from_str(&fields).unwrap_or_else(|_| vec![fields]),
                purpose: row.try_get("purpose")?,
                request_id: row.try_get("request_id")?,
                client: row.try_get("client")?,
                outcome: AuditOutcome::parse(row.try_get("outcome")?).ok_or_else(|| corrupt("outcome"))?,
            })
        }

        /// Whether the stored ids and field list are spelled exactly as Kith
        /// writes the parsed event (see `AuditRow::canonical`).
        fn audit_row_is_canonical(
            row: &<$db as sqlx::Database>::Row,
            event: &kith_core::audit::AuditEvent,
        ) -> $crate::Result<bool> {
            use sqlx::Row;
            let same_id = |column: &str, parsed: Option<uuid::Uuid>| -> $crate::Result<bool> {
                let stored: Option<String> = row.try_get(column)?;
                Ok(stored == parsed.map(|id| id.to_string()))
            };
            let fields: String = row.try_get("fields")?;
            let written = serde_json::to_string(&event.fields).map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
            Ok(same_id("record_id", event.record_id)? && same_id("subject_id", event.subject_id)? && fields == written)
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
                require_row(tx, entity.as_str(), *id).await?;
            }
            Ok(())
        }

        /// Fails with `UnknownReference` unless `table` has the row `id`,
        /// which is then held until the transaction ends: every method that
        /// writes about a row of another table checks that row this way, so
        /// an id of the wrong kind changes nothing.
        async fn require_row(tx: &mut Tx<'_>, table: &'static str, id: uuid::Uuid) -> $crate::Result<()> {
            // Name the missing row; a database error stays what it is.
            match require_key(tx, table, "id", &id.to_string()).await {
                Err($crate::StoreError::UnknownReference(..)) => Err($crate::StoreError::UnknownReference(table, id)),
                other => other,
            }
        }

        /// Holds a person's row exclusively until the transaction ends, or
        /// fails with `UnknownReference` when there is no such person.
        async fn lock_contact(tx: &mut Tx<'_>, contact: uuid::Uuid) -> $crate::Result<()> {
            let text = format!("SELECT id FROM contacts WHERE id = $1{}", $d.update_lock);
            match sqlx::query::<$db>(&text).bind(contact.to_string()).fetch_optional(&mut **tx).await? {
                Some(_) => Ok(()),
                None => Err($crate::StoreError::UnknownReference("contacts", contact)),
            }
        }

        /// The ledgers of these people, each in sequence order, one after
        /// the other; `sealed` (the sealed proof) only when asked for.
        async fn read_ledger<'e, E: sqlx::Executor<'e, Database = $db>>(
            exec: E,
            contacts: &[String],
            with_sealed: bool,
        ) -> $crate::Result<Vec<$crate::ConsentRow>> {
            use sqlx::Row;
            if contacts.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = (1..=contacts.len()).map(|i| format!("${i}")).collect();
            let sealed = if with_sealed { "sealed" } else { "NULL AS sealed" };
            let text = format!(
                "SELECT id, contact_id, purpose, granted, at, notice_version, method, recorded_by, {sealed}, seq, mac \
                 FROM consents WHERE contact_id IN ({}) ORDER BY contact_id, seq",
                list.join(", ")
            );
            let mut query = sqlx::query::<$db>(&text);
            for contact in contacts {
                query = query.bind(contact.clone());
            }
            query
                .fetch_all(exec)
                .await?
                .iter()
                .map(|r| {
                    Ok($crate::ConsentRow {
                        id: parse_id(r.try_get::<&str, _>("id")?)?,
                        contact_id: parse_id(r.try_get::<&str, _>("contact_id")?)?,
                        purpose: r.try_get("purpose")?,
                        granted: r.try_get::<i64, _>("granted")? != 0,
                        at: r.try_get("at")?,
                        notice_version: r.try_get("notice_version")?,
                        method: r.try_get("method")?,
                        recorded_by: r.try_get("recorded_by")?,
                        sealed: r.try_get::<Option<Vec<u8>>, _>("sealed")?.unwrap_or_default(),
                        seq: r.try_get("seq")?,
                        mac: r.try_get::<Option<Vec<u8>>, _>("mac")?.unwrap_or_default(),
                    })
                })
                .collect()
        }

        /// `require_row` for a table whose key column is `column` (text).
        async fn require_key(tx: &mut Tx<'_>, table: &'static str, column: &'static str, value: &str) -> $crate::Result<()> {
            let text = format!("SELECT {column} FROM {table} WHERE {column} = $1{}", $d.share_lock);
            match sqlx::query::<$db>(&text).bind(value.to_string()).fetch_optional(&mut **tx).await? {
                Some(_) => Ok(()),
                None => Err($crate::StoreError::UnknownReference(table, uuid::Uuid::nil())),
            }
        }

        /// Inserts new data keys, then checks under a lock that a rotation's
        /// switch of the active KEK must wait for, that they are wrapped
        /// under the active KEK: a rotation's sweep can never miss them.
        ///
        /// Each key names the table of the row it belongs to (`owner`, a
        /// table name from this file, never from input): see `delete_owned_key`.
        async fn insert_keys(tx: &mut Tx<'_>, keys: &[(&'static str, &$crate::KeyRow)], now: i64) -> $crate::Result<()> {
            use sqlx::Row;
            for chunk in keys.chunks($crate::query::rows_per_statement(5)) {
                let text = $crate::query::multi_insert_sql(
                    "data_keys",
                    &["subject_id", "kek_id", "wrapped", "created_at", "owner"],
                    chunk.len(),
                    $d.numbered_params,
                );
                let mut q = sqlx::query::<$db>(&text);
                for (owner, key) in chunk {
                    q = q
                        .bind(key.subject_id.to_string())
                        .bind(key.kek_id.clone())
                        .bind(key.wrapped.clone())
                        .bind(now)
                        .bind(*owner);
                }
                q.execute(&mut **tx).await.map_err(map_unique)?;
            }
            let text = format!("SELECT value FROM settings WHERE name = $1{}", $d.share_lock);
            let row = sqlx::query::<$db>(&text).bind($crate::ACTIVE_KEK).fetch_optional(&mut **tx).await?;
            let active: Option<String> = row.map(|r| r.try_get("value")).transpose()?;
            match active {
                Some(active) if keys.iter().any(|(_, k)| k.kek_id != active) => Err($crate::StoreError::StaleKek(active)),
                _ => Ok(()),
            }
        }

        async fn insert_terms(tx: &mut Tx<'_>, records: &[&$crate::NewRecord]) -> $crate::Result<()> {
            let mut rows: Vec<(&'static str, String, $crate::Term)> = Vec::new();
            for record in records {
                let id = record.id.to_string();
                rows.extend(record.unique_terms().into_iter().map(|t| (record.entity.as_str(), id.clone(), t)));
            }
            for chunk in rows.chunks($crate::query::rows_per_statement(3)) {
                let text = $crate::query::multi_insert_sql("blind_index", &["entity", "record_id", "term"], chunk.len(), $d.numbered_params);
                let mut q = sqlx::query::<$db>(&text);
                for (entity, id, term) in chunk {
                    q = q.bind(*entity).bind(id.clone()).bind(term.to_vec());
                }
                q.execute(&mut **tx).await?;
            }
            Ok(())
        }

        async fn insert_rows(tx: &mut Tx<'_>, entity: kith_core::EntityKind, records: &[&$crate::NewRecord]) -> $crate::Result<()> {
            let names = $crate::query::record_column_names(entity);
            for chunk in records.chunks($crate::query::rows_per_statement(names.len())) {
                let text = $crate::query::multi_insert_sql(entity.as_str(), &names, chunk.len(), $d.numbered_params);
                let mut q = sqlx::query::<$db>(&text);
                for record in chunk {
                    q = q
                        .bind(record.id.to_string())
                        .bind(record.subject_id.to_string())
                        .bind(record.owner.clone())
                        .bind(record.created_at)
                        .bind(record.created_at)
                        .bind(1_i64)
                        .bind(record.sealed.clone())
                        .bind(record.terms_blob());
                    for (column, value) in entity.columns().iter().zip(&record.columns) {
                        q = bind_column(q, column, value);
                    }
                }
                q.execute(&mut **tx).await.map_err(map_unique)?;
            }
            Ok(())
        }

        /// Inserts records and their new keys with few statements: multi-row
        /// inserts per table, references checked only where they point
        /// outside the batch.
        async fn insert_all(tx: &mut Tx<'_>, items: &[($crate::NewRecord, Option<$crate::KeyRow>)]) -> $crate::Result<()> {
            let inside: std::collections::HashSet<uuid::Uuid> = items.iter().map(|(r, _)| r.id).collect();
            let mut outside: Vec<(kith_core::EntityKind, uuid::Uuid)> = items
                .iter()
                .flat_map(|(r, _)| r.references.iter().copied())
                .filter(|(_, id)| !inside.contains(id))
                .collect();
            outside.sort_by_key(|(entity, id)| (entity.as_str(), *id));
            outside.dedup();
            check_references(tx, &outside).await?;
            let mut keys: Vec<(&'static str, &$crate::KeyRow)> = Vec::new();
            for (record, key) in items {
                if let Some(key) = key {
                    keys.push(own_key(record.entity.as_str(), record.id, key)?);
                }
            }
            if !keys.is_empty() {
                let now = items.iter().map(|(r, _)| r.created_at).max().unwrap_or(0);
                insert_keys(tx, &keys, now).await?;
            }
            for entity in kith_core::EntityKind::ALL {
                let rows: Vec<&$crate::NewRecord> = items.iter().map(|(r, _)| r).filter(|r| r.entity == entity).collect();
                insert_rows(tx, entity, &rows).await?;
            }
            let records: Vec<&$crate::NewRecord> = items.iter().map(|(r, _)| r).collect();
            insert_terms(tx, &records).await
        }

        /// Deletes the index entries a record's stored `terms` name.
        async fn remove_terms(tx: &mut Tx<'_>, entity: kith_core::EntityKind, id: &str, blob: &[u8]) -> $crate::Result<()> {
            if blob.is_empty() {
                return Ok(());
            }
            let terms: Vec<&[u8]> = blob.chunks(16).collect();
            let placeholders: Vec<String> = (0..terms.len()).map(|i| format!("${}", i + 3)).collect();
            let text = format!(
                "DELETE FROM blind_index WHERE entity = $1 AND record_id = $2 AND term IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query::<$db>(&text).bind(entity.as_str()).bind(id.to_string());
            for term in terms {
                q = q.bind(term.to_vec());
            }
            q.execute(&mut **tx).await?;
            Ok(())
        }

        async fn delete_rows(tx: &mut Tx<'_>, entity: kith_core::EntityKind, column: &str, id: uuid::Uuid) -> $crate::Result<u64> {
            use sqlx::Row;
            let table = entity.as_str();
            // Locked, so a concurrent update cannot swap in terms we did not read.
            let select = format!("SELECT id, terms FROM {table} WHERE {column} = $1{}", $d.update_lock);
            for row in sqlx::query::<$db>(&select).bind(id.to_string()).fetch_all(&mut **tx).await? {
                let record: String = row.try_get("id")?;
                let terms: Vec<u8> = row.try_get("terms")?;
                remove_terms(tx, entity, &record, &terms).await?;
            }
            let rows = format!("DELETE FROM {table} WHERE {column} = $1");
            Ok(sqlx::query::<$db>(&rows).bind(id.to_string()).execute(&mut **tx).await?.rows_affected())
        }

        /// Deletes what belongs to a person besides their contact row, with
        /// the index entries; returns how many rows of each kind went.
        async fn delete_person_rows(tx: &mut Tx<'_>, id: uuid::Uuid) -> $crate::Result<Vec<(&'static str, u64)>> {
            use kith_core::EntityKind as E;
            // Interactions and purchases always belong to their contact;
            // deals are sealed under their contact's key when they have one
            // (a company's deal naming the person too).
            let mut counts = vec![
                ("interactions", delete_rows(tx, E::Interactions, "contact_id", id).await?),
                ("purchases", delete_rows(tx, E::Purchases, "contact_id", id).await?),
                ("deals", delete_rows(tx, E::Deals, "subject_id", id).await?),
            ];
            // The ledger's evidence, claims and exceptions are sealed under the
            // person's key; restriction and objections go with the person too.
            for table in ["consents", "restrictions", "objections", "legal_claims", "erasure_exceptions"] {
                let done = sqlx::query::<$db>(&format!("DELETE FROM {table} WHERE contact_id = $1"))
                    .bind(id.to_string())
                    .execute(&mut **tx)
                    .await?;
                counts.push((table, done.rows_affected()));
            }
            Ok(counts)
        }

        /// Erasure's part in the request register: every request about the
        /// person, or giving one of their addresses or numbers (`terms`, as
        /// the suppression list has them), loses its data key, its sealed
        /// details and its term; the request itself stays, with `erased_at`.
        /// Returns how many requests lost details.
        async fn forget_request_details(
            tx: &mut Tx<'_>,
            contact: uuid::Uuid,
            terms: &[$crate::Term],
            at: i64,
        ) -> $crate::Result<u64> {
            use sqlx::Row;
            let mut args = vec![$crate::query::Arg::Text(contact.to_string())];
            args.extend(terms.iter().map(|t| $crate::query::Arg::Bytes(t.to_vec())));
            let given = if terms.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = (2..=terms.len() + 1).map(|n| format!("${n}")).collect();
                format!(" OR given_term IN ({})", list.join(", "))
            };
            let text = format!(
                "SELECT id FROM dsr_requests WHERE (contact_id = $1{given}) AND erased_at IS NULL{}",
                $d.update_lock
            );
            let mut q = sqlx::query::<$db>(&text);
            for arg in args {
                q = bind_arg(q, arg);
            }
            let rows = q.fetch_all(&mut **tx).await?;
            for row in &rows {
                let id = parse_id(row.try_get::<&str, _>("id")?)?;
                delete_owned_key(tx, "dsr_requests", id).await?;
                sqlx::query::<$db>(
                    "UPDATE dsr_requests SET sealed = $1, given_term = NULL, erased_at = $2, version = version + 1 \
                     WHERE id = $3",
                )
                .bind(Vec::<u8>::new())
                .bind(at)
                .bind(id.to_string())
                .execute(&mut **tx)
                .await?;
            }
            Ok(rows.len() as u64)
        }

        fn segment_from_row(r: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::SegmentRow> {
            use sqlx::Row;
            Ok($crate::SegmentRow {
                id: parse_id(r.try_get::<&str, _>("id")?)?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                sealed: r.try_get("sealed")?,
            })
        }

        /// Notification tasks (Art. 19); a task already recorded is left as it is.
        async fn insert_notifications(tx: &mut Tx<'_>, tasks: &[$crate::NotificationRow]) -> $crate::Result<()> {
            for n in tasks {
                require_row(tx, "dsr_requests", n.request_id).await?;
                require_row(tx, "api_keys", n.api_key_id).await?;
                sqlx::query::<$db>(
                    "INSERT INTO erasure_notifications (request_id, api_key_id, recipient, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, api_key_id) DO NOTHING",
                )
                .bind(n.request_id.to_string())
                .bind(n.api_key_id.to_string())
                .bind(n.recipient.clone())
                .bind(n.status.clone())
                .bind(n.created_at)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        /// A new row's own data key, checked to have the row's id as its subject.
        fn own_key<'k>(owner: &'static str, row: uuid::Uuid, key: &'k $crate::KeyRow) -> $crate::Result<(&'static str, &'k $crate::KeyRow)> {
            if key.subject_id != row {
                return Err($crate::StoreError::Corrupt(format!("a new data key of {owner} must belong to its own row")));
            }
            Ok((owner, key))
        }

        /// Deletes the data key that `owner`'s row `subject` holds. Only
        /// ever called in the transaction that deleted (or, for a record
        /// that joined a person, re-keyed) that very row, after checking it
        /// was there: a key of another table's row never matches `owner`.
        async fn delete_owned_key(tx: &mut Tx<'_>, owner: &'static str, subject: uuid::Uuid) -> $crate::Result<()> {
            sqlx::query::<$db>("DELETE FROM data_keys WHERE subject_id = $1 AND owner = $2")
                .bind(subject.to_string())
                .bind(owner)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Deletes the row `id` of `table` and, only if there was one, the
        /// data key it owned; tells whether the row existed.
        async fn delete_row_and_key(tx: &mut Tx<'_>, table: &'static str, id: uuid::Uuid) -> $crate::Result<bool> {
            let done = sqlx::query::<$db>(&format!("DELETE FROM {table} WHERE id = $1"))
                .bind(id.to_string())
                .execute(&mut **tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            delete_owned_key(tx, table, id).await?;
            Ok(true)
        }

        const FORM_COLUMNS: &str = "key, name, purposes, notice_version, source, created_at, created_by, disabled_at";

        fn form_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::FormRow> {
            use sqlx::Row;
            let purposes: String = row.try_get("purposes")?;
            Ok($crate::FormRow {
                key: row.try_get("key")?,
                name: row.try_get("name")?,
                purposes: serde_json::from_str(&purposes)
                    .map_err(|_| $crate::StoreError::Corrupt("a form's purposes are not a JSON list".into()))?,
                notice_version: row.try_get("notice_version")?,
                source: row.try_get("source")?,
                created_at: row.try_get("created_at")?,
                created_by: row.try_get("created_by")?,
                disabled_at: row.try_get("disabled_at")?,
            })
        }

        /// Deletes a pending confirmation, its outbox messages and its data key.
        async fn delete_pending(tx: &mut Tx<'_>, id: uuid::Uuid) -> $crate::Result<()> {
            sqlx::query::<$db>("DELETE FROM outbox WHERE pending_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
            delete_row_and_key(tx, "pending_confirmations", id).await?;
            Ok(())
        }

        const USER_COLUMNS: &str = "id, email_term, sealed, roles, teams, status, password_hash, password_changed_at, \
             totp_sealed, totp_pending, totp_last_step, failed_logins, first_failed_at, locked_until, created_at, updated_at";

        fn user_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::UserRow> {
            use sqlx::Row;
            let list = |column: &str| -> $crate::Result<Vec<String>> {
                let text: String = row.try_get(column)?;
                serde_json::from_str(&text)
                    .map_err(|_| $crate::StoreError::Corrupt(format!("a user's {column} are not a JSON list")))
            };
            Ok($crate::UserRow {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                email_term: row.try_get("email_term")?,
                sealed: row.try_get("sealed")?,
                roles: list("roles")?,
                teams: list("teams")?,
                status: row.try_get("status")?,
                password_hash: row.try_get("password_hash")?,
                password_changed_at: row.try_get("password_changed_at")?,
                totp: row.try_get("totp_sealed")?,
                totp_pending: row.try_get("totp_pending")?,
                totp_last_step: row.try_get("totp_last_step")?,
                failed_logins: row.try_get("failed_logins")?,
                first_failed_at: row.try_get("first_failed_at")?,
                locked_until: row.try_get("locked_until")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn session_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::SessionRow> {
            use sqlx::Row;
            Ok($crate::SessionRow {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                user_id: parse_id(row.try_get::<&str, _>("user_id")?)?,
                secret_hash: row.try_get("secret_hash")?,
                created_at: row.try_get("created_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
                expires_at: row.try_get("expires_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        }

        const DSR_COLUMNS: &str = "id, kind, status, channel, contact_id, purpose, received_at, due_at, extended_months, \
             person_told_at, verified_at, verification_method, failed_attempts, token_hash, token_expires_at, \
             completed_at, closed_at, created_by, created_at, updated_at, version, sealed, given_term, erased_at";

        const DRP_REQUEST_COLUMNS: &str = "id, agent_id, agent_request_id, exercise, dsr_id, status, reason, \
             status_callback, received_at, expected_by";

        fn drp_request_from_row(r: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::DrpRequestRow> {
            use sqlx::Row;
            Ok($crate::DrpRequestRow {
                id: parse_id(r.try_get::<&str, _>("id")?)?,
                agent_id: r.try_get("agent_id")?,
                agent_request_id: r.try_get("agent_request_id")?,
                exercise: r.try_get("exercise")?,
                dsr_id: r.try_get::<Option<&str>, _>("dsr_id")?.map(parse_id).transpose()?,
                status: r.try_get("status")?,
                reason: r.try_get("reason")?,
                status_callback: r.try_get("status_callback")?,
                received_at: r.try_get("received_at")?,
                expected_by: r.try_get("expected_by")?,
            })
        }

        fn drp_agent_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::DrpAgentRow> {
            use sqlx::Row;
            Ok($crate::DrpAgentRow {
                agent_id: row.try_get("agent_id")?,
                name: row.try_get("name")?,
                verify_key: row.try_get("verify_key")?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                callback_hosts: row
                    .try_get::<String, _>("callback_hosts")?
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            })
        }

        fn dsr_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::Result<$crate::DsrRow> {
            use sqlx::Row;
            Ok($crate::DsrRow {
                id: parse_id(row.try_get::<&str, _>("id")?)?,
                kind: row.try_get("kind")?,
                status: row.try_get("status")?,
                channel: row.try_get("channel")?,
                contact_id: row.try_get::<Option<String>, _>("contact_id")?.as_deref().map(parse_id).transpose()?,
                purpose: row.try_get("purpose")?,
                received_at: row.try_get("received_at")?,
                due_at: row.try_get("due_at")?,
                extended_months: row.try_get("extended_months")?,
                person_told_at: row.try_get("person_told_at")?,
                verified_at: row.try_get("verified_at")?,
                verification_method: row.try_get("verification_method")?,
                failed_attempts: row.try_get("failed_attempts")?,
                token_hash: row.try_get("token_hash")?,
                token_expires_at: row.try_get("token_expires_at")?,
                completed_at: row.try_get("completed_at")?,
                closed_at: row.try_get("closed_at")?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                version: row.try_get("version")?,
                sealed: row.try_get("sealed")?,
                given_term: row.try_get("given_term")?,
                erased_at: row.try_get("erased_at")?,
            })
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
                self.insert_batch(vec![(record, new_key)]).await
            }

            async fn insert_batch(&self, records: Vec<($crate::NewRecord, Option<$crate::KeyRow>)>) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_all(&mut tx, &records).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update(&self, update: $crate::RecordUpdate, new_key: Option<$crate::KeyRow>) -> $crate::Result<()> {
                use sqlx::Row;
                let record = &update.record;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                check_references(&mut tx, &record.references).await?;
                if let Some(key) = &new_key {
                    insert_keys(&mut tx, &[own_key(record.entity.as_str(), record.id, key)?], update.updated_at).await?;
                }
                let select =
                    format!("SELECT subject_id, terms FROM {} WHERE id = $1{}", record.entity.as_str(), $d.update_lock);
                let old = sqlx::query::<$db>(&select).bind(record.id.to_string()).fetch_optional(&mut *tx).await?;
                let (old_subject, old_terms): (uuid::Uuid, Vec<u8>) = match old {
                    Some(row) => (parse_id(row.try_get::<&str, _>("subject_id")?)?, row.try_get("terms")?),
                    None => return Err($crate::StoreError::VersionConflict),
                };
                let text = $crate::query::update_sql(record.entity);
                let mut q = sqlx::query::<$db>(&text)
                    .bind(record.id.to_string())
                    .bind(update.expected_version)
                    .bind(record.subject_id.to_string())
                    .bind(record.owner.clone())
                    .bind(update.updated_at)
                    .bind(record.sealed.clone())
                    .bind(record.terms_blob());
                for (column, value) in record.entity.columns().iter().zip(&record.columns) {
                    q = bind_column(q, column, value);
                }
                if q.execute(&mut *tx).await?.rows_affected() != 1 {
                    return Err($crate::StoreError::VersionConflict);
                }
                remove_terms(&mut tx, record.entity, &record.id.to_string(), &old_terms).await?;
                insert_terms(&mut tx, &[record]).await?;
                // A record that had a key of its own and now belongs to a person drops that key.
                if old_subject == record.id && record.subject_id != record.id {
                    delete_owned_key(&mut tx, record.entity.as_str(), record.id).await?;
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
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                // Locking the record first makes writers that reference it
                // (holding it FOR SHARE) finish before, or fail after, this delete.
                let select = format!("SELECT subject_id FROM {} WHERE id = $1{}", entity.as_str(), $d.update_lock);
                let Some(row) = sqlx::query::<$db>(&select).bind(id.to_string()).fetch_optional(&mut *tx).await? else {
                    return Ok(false);
                };
                let subject = parse_id(sqlx::Row::try_get::<&str, _>(&row, "subject_id")?)?;
                // A legal hold keeps the person's data from every deletion.
                // Checked here, under the person's lock: recording an
                // exception holds the contact FOR SHARE, so the two cannot
                // pass each other.
                let person = match entity {
                    E::Contacts => Some(id),
                    E::Interactions | E::Purchases | E::Deals => {
                        let text = format!("SELECT contact_id FROM {} WHERE id = $1", entity.as_str());
                        let row = sqlx::query::<$db>(&text).bind(id.to_string()).fetch_one(&mut *tx).await?;
                        sqlx::Row::try_get::<Option<String>, _>(&row, "contact_id")?.as_deref().map(parse_id).transpose()?
                    }
                    E::Companies => None,
                };
                if let Some(person) = person {
                    let lock = format!("SELECT id FROM contacts WHERE id = $1{}", $d.update_lock);
                    sqlx::query::<$db>(&lock).bind(person.to_string()).fetch_optional(&mut *tx).await?;
                    let held = sqlx::query::<$db>("SELECT id FROM erasure_exceptions WHERE contact_id = $1 LIMIT 1")
                        .bind(person.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                    if held.is_some() {
                        return Err($crate::StoreError::Held);
                    }
                }
                match entity {
                    E::Contacts => {
                        delete_person_rows(&mut tx, id).await?;
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
                if delete_rows(&mut tx, entity, "id", id).await? == 1 && subject == id {
                    delete_owned_key(&mut tx, entity.as_str(), id).await?;
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

            async fn purposes(&self) -> $crate::Result<Vec<String>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>("SELECT document FROM purposes ORDER BY key").fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok(r.try_get("document")?)).collect()
            }

            async fn purpose(&self, key: &str) -> $crate::Result<Option<String>> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT document FROM purposes WHERE key = $1")
                    .bind(key.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("document")).transpose()?)
            }

            async fn put_purpose(&self, key: &str, document: &str, at: i64, replace: bool) -> $crate::Result<bool> {
                let text = if replace {
                    "INSERT INTO purposes (key, document, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at"
                } else {
                    "INSERT INTO purposes (key, document, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING"
                };
                let done = sqlx::query::<$db>(text)
                    .bind(key.to_string())
                    .bind(document.to_string())
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_notice(&self, notice: &$crate::NoticeRow) -> $crate::Result<()> {
                sqlx::query::<$db>("INSERT INTO notices (version, text, sha256, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(notice.version.clone())
                    .bind(notice.text.clone())
                    .bind(notice.sha256.clone())
                    .bind(notice.created_at)
                    .execute(&self.pool)
                    .await
                    .map_err(map_unique)?;
                Ok(())
            }

            async fn notices(&self) -> $crate::Result<Vec<$crate::NoticeRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>("SELECT version, text, sha256, created_at FROM notices ORDER BY created_at, version")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::NoticeRow {
                            version: r.try_get("version")?,
                            text: r.try_get("text")?,
                            sha256: r.try_get("sha256")?,
                            created_at: r.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            async fn append_consent(
                &self,
                e: &$crate::ConsentRow,
                seal: &$crate::LedgerSeal,
            ) -> $crate::Result<$crate::ConsentRow> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                // The person's row, held exclusively: appends to one ledger
                // take their numbers one after the other.
                lock_contact(&mut tx, e.contact_id).await?;
                let last = read_ledger(&mut *tx, &[e.contact_id.to_string()], false).await?.pop();
                let mut entry = e.clone();
                entry.seq = last.as_ref().map_or(1, |l| l.seq + 1);
                entry.mac = seal(&entry, last.as_ref().map_or(&[][..], |l| &l.mac[..]));
                sqlx::query::<$db>(
                    "INSERT INTO consents (id, contact_id, purpose, granted, at, notice_version, method, recorded_by, sealed, seq, mac) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(entry.id.to_string())
                .bind(entry.contact_id.to_string())
                .bind(entry.purpose.clone())
                .bind(i64::from(entry.granted))
                .bind(entry.at)
                .bind(entry.notice_version.clone())
                .bind(entry.method.clone())
                .bind(entry.recorded_by.clone())
                .bind(entry.sealed.clone())
                .bind(entry.seq)
                .bind(entry.mac.clone())
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok(entry)
            }

            async fn consents(&self, contact: uuid::Uuid, seal: &$crate::LedgerSeal) -> $crate::Result<$crate::Ledger> {
                let entries = read_ledger(&self.pool, &[contact.to_string()], true).await?;
                let intact = $crate::ledger_intact(&entries, seal);
                Ok($crate::Ledger { entries, intact })
            }

            async fn seal_unsealed_consents(&self, seal: &$crate::LedgerSeal) -> $crate::Result<u64> {
                use sqlx::Row;
                let people: Vec<String> = sqlx::query::<$db>("SELECT DISTINCT contact_id FROM consents WHERE mac IS NULL")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| r.try_get("contact_id"))
                    .collect::<std::result::Result<_, _>>()?;
                let mut sealed = 0;
                for person in people {
                    let mut tx = self.pool.begin_with($d.begin_write).await?;
                    lock_contact(&mut tx, parse_id(&person)?).await?;
                    let mut previous = Vec::new();
                    for mut entry in read_ledger(&mut *tx, std::slice::from_ref(&person), false).await? {
                        if entry.mac.is_empty() {
                            entry.mac = seal(&entry, &previous);
                            sqlx::query::<$db>("UPDATE consents SET mac = $1 WHERE id = $2 AND mac IS NULL")
                                .bind(entry.mac.clone())
                                .bind(entry.id.to_string())
                                .execute(&mut *tx)
                                .await?;
                            sealed += 1;
                        }
                        previous = entry.mac;
                    }
                    tx.commit().await?;
                }
                Ok(sealed)
            }

            async fn restrict(&self, contact: uuid::Uuid, at: i64, by: &str) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                check_references(&mut tx, &[(kith_core::EntityKind::Contacts, contact)]).await?;
                sqlx::query::<$db>(
                    "INSERT INTO restrictions (contact_id, at, recorded_by) VALUES ($1, $2, $3) ON CONFLICT (contact_id) DO NOTHING",
                )
                .bind(contact.to_string())
                .bind(at)
                .bind(by.to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn lift_restriction(&self, contact: uuid::Uuid) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let done = sqlx::query::<$db>("DELETE FROM restrictions WHERE contact_id = $1")
                    .bind(contact.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query::<$db>("DELETE FROM legal_claims WHERE contact_id = $1")
                    .bind(contact.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn object(&self, id: uuid::Uuid, contact: uuid::Uuid, purpose: &str, at: i64, by: &str) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                check_references(&mut tx, &[(kith_core::EntityKind::Contacts, contact)]).await?;
                sqlx::query::<$db>("INSERT INTO objections (id, contact_id, purpose, at, recorded_by) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id.to_string())
                    .bind(contact.to_string())
                    .bind(purpose.to_string())
                    .bind(at)
                    .bind(by.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn statuses(
                &self,
                contacts: &[uuid::Uuid],
                seal: &$crate::LedgerSeal,
            ) -> $crate::Result<std::collections::HashMap<uuid::Uuid, kith_core::policy::PersonStatus>> {
                use sqlx::Row;
                let mut out: std::collections::HashMap<uuid::Uuid, kith_core::policy::PersonStatus> =
                    contacts.iter().map(|c| (*c, Default::default())).collect();
                if contacts.is_empty() {
                    return Ok(out);
                }
                let ids: Vec<String> = contacts.iter().map(|c| c.to_string()).collect();
                let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
                let list = list.join(", ");
                let queries = [
                    format!("SELECT contact_id, '' AS purpose FROM restrictions WHERE contact_id IN ({list})"),
                    format!("SELECT contact_id, purpose FROM objections WHERE contact_id IN ({list})"),
                    format!("SELECT contact_id, purpose FROM legal_claims WHERE contact_id IN ({list})"),
                ];
                for (kind, text) in queries.iter().enumerate() {
                    let mut q = sqlx::query::<$db>(text);
                    for id in &ids {
                        q = q.bind(id.clone());
                    }
                    for row in q.fetch_all(&self.pool).await? {
                        let contact = parse_id(row.try_get::<&str, _>("contact_id")?)?;
                        let purpose: String = row.try_get("purpose")?;
                        let status = out.entry(contact).or_default();
                        match kind {
                            0 => status.restricted = true,
                            1 => {
                                status.objections.insert(purpose);
                            }
                            _ => {
                                status.legal_claims.insert(purpose);
                            }
                        }
                    }
                }
                let entries = read_ledger(&self.pool, &ids, false).await?;
                for ledger in entries.chunk_by(|a, b| a.contact_id == b.contact_id) {
                    if !$crate::ledger_intact(ledger, seal) {
                        tracing::warn!(contact = %ledger[0].contact_id, "a consent ledger does not verify: none of its consents counts");
                        continue;
                    }
                    let status = out.entry(ledger[0].contact_id).or_default();
                    for entry in ledger {
                        status.consents.insert(entry.purpose.clone(), entry.granted);
                    }
                }
                Ok(out)
            }

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

            async fn add_legal_claim(&self, c: &$crate::LegalClaimRow) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!("SELECT contact_id FROM restrictions WHERE contact_id = $1{}", $d.share_lock);
                let restricted = sqlx::query::<$db>(&text).bind(c.contact_id.to_string()).fetch_optional(&mut *tx).await?;
                if restricted.is_none() {
                    return Ok(false);
                }
                sqlx::query::<$db>(
                    "INSERT INTO legal_claims (id, contact_id, purpose, at, recorded_by, sealed) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(c.id.to_string())
                .bind(c.contact_id.to_string())
                .bind(c.purpose.clone())
                .bind(c.at)
                .bind(c.recorded_by.clone())
                .bind(c.sealed.clone())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn legal_claims(&self, contact: uuid::Uuid) -> $crate::Result<Vec<$crate::LegalClaimRow>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>(
                    "SELECT id, contact_id, purpose, at, recorded_by, sealed FROM legal_claims WHERE contact_id = $1 ORDER BY at, id",
                )
                .bind(contact.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::LegalClaimRow {
                            id: parse_id(r.try_get::<&str, _>("id")?)?,
                            contact_id: parse_id(r.try_get::<&str, _>("contact_id")?)?,
                            purpose: r.try_get("purpose")?,
                            at: r.try_get("at")?,
                            recorded_by: r.try_get("recorded_by")?,
                            sealed: r.try_get("sealed")?,
                        })
                    })
                    .collect()
            }

            async fn insert_segment(&self, s: &$crate::SegmentRow, key: &$crate::KeyRow) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_keys(&mut tx, &[own_key("segments", s.id, key)?], s.created_at).await?;
                sqlx::query::<$db>("INSERT INTO segments (id, created_by, created_at, sealed) VALUES ($1, $2, $3, $4)")
                    .bind(s.id.to_string())
                    .bind(s.created_by.clone())
                    .bind(s.created_at)
                    .bind(s.sealed.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn segments(&self) -> $crate::Result<Vec<$crate::SegmentRow>> {
                let rows = sqlx::query::<$db>("SELECT id, created_by, created_at, sealed FROM segments ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(segment_from_row).collect()
            }

            async fn segment(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::SegmentRow>> {
                let row = sqlx::query::<$db>("SELECT id, created_by, created_at, sealed FROM segments WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(segment_from_row).transpose()
            }

            async fn delete_segment(&self, id: uuid::Uuid) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let existed = delete_row_and_key(&mut tx, "segments", id).await?;
                tx.commit().await?;
                Ok(existed)
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
                let mut conditions = vec!["seq > $1".to_string()];
                let mut args: Vec<$crate::query::Arg> = vec![$crate::query::Arg::Int(query.after.unwrap_or(0))];
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
                    "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE {} ORDER BY seq LIMIT ${}",
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

            async fn add_form(&self, form: &$crate::FormRow) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO capture_forms (key, name, purposes, notice_version, source, created_at, created_by, disabled_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(form.key.clone())
                .bind(form.name.clone())
                .bind(serde_json::to_string(&form.purposes).unwrap_or_default())
                .bind(form.notice_version.clone())
                .bind(form.source.clone())
                .bind(form.created_at)
                .bind(form.created_by.clone())
                .bind(form.disabled_at)
                .execute(&self.pool)
                .await
                .map_err(map_unique)?;
                Ok(())
            }

            async fn forms(&self) -> $crate::Result<Vec<$crate::FormRow>> {
                let rows = sqlx::query::<$db>(&format!("SELECT {FORM_COLUMNS} FROM capture_forms ORDER BY created_at, key"))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(form_from_row).collect()
            }

            async fn form(&self, key: &str) -> $crate::Result<Option<$crate::FormRow>> {
                let row = sqlx::query::<$db>(&format!("SELECT {FORM_COLUMNS} FROM capture_forms WHERE key = $1"))
                    .bind(key.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(form_from_row).transpose()
            }

            async fn disable_form(&self, key: &str, at: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>("UPDATE capture_forms SET disabled_at = $1 WHERE key = $2 AND disabled_at IS NULL")
                    .bind(at)
                    .bind(key.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_pending(
                &self,
                pending: &$crate::PendingRow,
                key: $crate::KeyRow,
                message: &$crate::OutboxRow,
            ) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_keys(&mut tx, &[own_key("pending_confirmations", pending.id, &key)?], pending.submitted_at).await?;
                sqlx::query::<$db>(
                    "INSERT INTO pending_confirmations (id, form_key, token_hash, submitted_at, expires_at, sealed) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(pending.id.to_string())
                .bind(pending.form_key.clone())
                .bind(pending.token_hash.clone())
                .bind(pending.submitted_at)
                .bind(pending.expires_at)
                .bind(pending.sealed.clone())
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                sqlx::query::<$db>("INSERT INTO outbox (id, pending_id, created_at, sealed) VALUES ($1, $2, $3, $4)")
                    .bind(message.id.to_string())
                    .bind(message.pending_id.to_string())
                    .bind(message.created_at)
                    .bind(message.sealed.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn take_pending(
                &self,
                token_hash: &[u8],
            ) -> $crate::Result<Option<($crate::PendingRow, Option<$crate::KeyRow>)>> {
                use sqlx::Row;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!(
                    "SELECT id, form_key, token_hash, submitted_at, expires_at, sealed FROM pending_confirmations \
                     WHERE token_hash = $1{}",
                    $d.update_lock
                );
                let Some(row) = sqlx::query::<$db>(&text).bind(token_hash.to_vec()).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let pending = $crate::PendingRow {
                    id: parse_id(row.try_get::<&str, _>("id")?)?,
                    form_key: row.try_get("form_key")?,
                    token_hash: row.try_get("token_hash")?,
                    submitted_at: row.try_get("submitted_at")?,
                    expires_at: row.try_get("expires_at")?,
                    sealed: row.try_get("sealed")?,
                };
                let key = sqlx::query::<$db>("SELECT subject_id, kek_id, wrapped FROM data_keys WHERE subject_id = $1")
                    .bind(pending.id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                let key = key.as_ref().map(key_from_row).transpose()?;
                delete_pending(&mut tx, pending.id).await?;
                tx.commit().await?;
                Ok(Some((pending, key)))
            }

            async fn sweep_pending(&self, now: i64, limit: u32) -> $crate::Result<u64> {
                use sqlx::Row;
                // A read first: most calls find nothing and need no write lock.
                let expired = sqlx::query::<$db>(
                    "SELECT id FROM pending_confirmations WHERE expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                if expired.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let mut swept = 0;
                for row in &expired {
                    let id = parse_id(row.try_get::<&str, _>("id")?)?;
                    let text = format!("SELECT id FROM pending_confirmations WHERE id = $1 AND expires_at <= $2{}", $d.update_lock);
                    let still = sqlx::query::<$db>(&text).bind(id.to_string()).bind(now).fetch_optional(&mut *tx).await?;
                    if still.is_some() {
                        delete_pending(&mut tx, id).await?;
                        swept += 1;
                    }
                }
                tx.commit().await?;
                Ok(swept)
            }

            async fn claim_outbox(&self, limit: u32) -> $crate::Result<Vec<($crate::OutboxRow, Option<$crate::KeyRow>)>> {
                use sqlx::Row;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let text = format!(
                    "SELECT id, pending_id, created_at, sealed FROM outbox ORDER BY created_at, id LIMIT $1{}",
                    $d.claim_lock
                );
                let rows = sqlx::query::<$db>(&text).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
                let mut claimed = Vec::with_capacity(rows.len());
                for row in &rows {
                    let message = $crate::OutboxRow {
                        id: parse_id(row.try_get::<&str, _>("id")?)?,
                        pending_id: parse_id(row.try_get::<&str, _>("pending_id")?)?,
                        created_at: row.try_get("created_at")?,
                        sealed: row.try_get("sealed")?,
                    };
                    let key = sqlx::query::<$db>("SELECT subject_id, kek_id, wrapped FROM data_keys WHERE subject_id = $1")
                        .bind(message.pending_id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let key = key.as_ref().map(key_from_row).transpose()?;
                    sqlx::query::<$db>("DELETE FROM outbox WHERE id = $1").bind(message.id.to_string()).execute(&mut *tx).await?;
                    claimed.push((message, key));
                }
                tx.commit().await?;
                Ok(claimed)
            }

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

            async fn insert_dsr(&self, r: &$crate::DsrRow, key: &$crate::KeyRow) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_keys(&mut tx, &[own_key("dsr_requests", r.id, key)?], r.created_at).await?;
                sqlx::query::<$db>(&format!(
                    "INSERT INTO dsr_requests ({DSR_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
                      $23, $24)"
                ))
                .bind(r.id.to_string())
                .bind(r.kind.clone())
                .bind(r.status.clone())
                .bind(r.channel.clone())
                .bind(r.contact_id.map(|c| c.to_string()))
                .bind(r.purpose.clone())
                .bind(r.received_at)
                .bind(r.due_at)
                .bind(r.extended_months)
                .bind(r.person_told_at)
                .bind(r.verified_at)
                .bind(r.verification_method.clone())
                .bind(r.failed_attempts)
                .bind(r.token_hash.clone())
                .bind(r.token_expires_at)
                .bind(r.completed_at)
                .bind(r.closed_at)
                .bind(r.created_by.clone())
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(r.version)
                .bind(r.sealed.clone())
                .bind(r.given_term.clone())
                .bind(r.erased_at)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn dsr(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::DsrRow>> {
                let row = sqlx::query::<$db>(&format!("SELECT {DSR_COLUMNS} FROM dsr_requests WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(dsr_from_row).transpose()
            }

            async fn dsrs(&self, query: &$crate::DsrQuery) -> $crate::Result<Vec<$crate::DsrRow>> {
                let mut args: Vec<$crate::query::Arg> = Vec::new();
                let mut next = |arg: $crate::query::Arg| {
                    args.push(arg);
                    format!("${}", args.len())
                };
                let mut conditions: Vec<String> = Vec::new();
                if let Some(contact) = query.contact {
                    conditions.push(format!("contact_id = {}", next($crate::query::Arg::Text(contact.to_string()))));
                }
                if !query.statuses.is_empty() {
                    let list: Vec<String> =
                        query.statuses.iter().map(|s| next($crate::query::Arg::Text(s.clone()))).collect();
                    conditions.push(format!("status IN ({})", list.join(", ")));
                }
                if let Some(from) = query.due_from {
                    conditions.push(format!("due_at >= {}", next($crate::query::Arg::Int(from))));
                }
                if let Some(to) = query.due_to {
                    conditions.push(format!("due_at < {}", next($crate::query::Arg::Int(to))));
                }
                if let Some((due, id)) = &query.after {
                    let (a, b, c) = (
                        next($crate::query::Arg::Int(*due)),
                        next($crate::query::Arg::Int(*due)),
                        next($crate::query::Arg::Text(id.to_string())),
                    );
                    conditions.push(format!("(due_at > {a} OR (due_at = {b} AND id > {c}))"));
                }
                let limit = next($crate::query::Arg::Int(i64::from(query.limit)));
                let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
                let text = format!("SELECT {DSR_COLUMNS} FROM dsr_requests{filter} ORDER BY due_at, id LIMIT {limit}");
                let mut q = sqlx::query::<$db>(&text);
                for arg in args {
                    q = bind_arg(q, arg);
                }
                let rows = q.fetch_all(&self.pool).await?;
                rows.iter().map(dsr_from_row).collect()
            }

            async fn update_dsr(&self, r: &$crate::DsrRow, new_key: Option<&$crate::KeyRow>) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                if let Some(key) = new_key {
                    // Only a request whose key erasure destroyed gets a new one.
                    let text = format!("SELECT id FROM dsr_requests WHERE id = $1 AND erased_at IS NOT NULL{}", $d.update_lock);
                    if sqlx::query::<$db>(&text).bind(r.id.to_string()).fetch_optional(&mut *tx).await?.is_none() {
                        return Ok(false);
                    }
                    delete_owned_key(&mut tx, "dsr_requests", r.id).await?;
                    insert_keys(&mut tx, &[own_key("dsr_requests", r.id, key)?], r.updated_at).await?;
                }
                let done = sqlx::query::<$db>(
                    "UPDATE dsr_requests SET status = $1, contact_id = $2, due_at = $3, extended_months = $4, \
                     person_told_at = $5, verified_at = $6, verification_method = $7, failed_attempts = $8, \
                     token_hash = $9, token_expires_at = $10, completed_at = $11, closed_at = $12, updated_at = $13, \
                     sealed = $14, version = version + 1 WHERE id = $15 AND version = $16",
                )
                .bind(r.status.clone())
                .bind(r.contact_id.map(|c| c.to_string()))
                .bind(r.due_at)
                .bind(r.extended_months)
                .bind(r.person_told_at)
                .bind(r.verified_at)
                .bind(r.verification_method.clone())
                .bind(r.failed_attempts)
                .bind(r.token_hash.clone())
                .bind(r.token_expires_at)
                .bind(r.completed_at)
                .bind(r.closed_at)
                .bind(r.updated_at)
                .bind(r.sealed.clone())
                .bind(r.id.to_string())
                .bind(r.version)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn insert_export_link(
                &self,
                request: uuid::Uuid,
                hash: &[u8],
                created_at: i64,
                expires_at: i64,
            ) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                require_row(&mut tx, "dsr_requests", request).await?;
                sqlx::query::<$db>(
                    "INSERT INTO dsr_export_links (token_hash, request_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(hash.to_vec())
                .bind(request.to_string())
                .bind(created_at)
                .bind(expires_at)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn export_link(&self, hash: &[u8]) -> $crate::Result<Option<$crate::ExportLinkRow>> {
                let row = sqlx::query::<$db>(
                    "SELECT request_id, expires_at, used_at FROM dsr_export_links WHERE token_hash = $1",
                )
                .bind(hash.to_vec())
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    use sqlx::Row;
                    Ok($crate::ExportLinkRow {
                        request_id: parse_id(row.try_get::<&str, _>("request_id")?)?,
                        expires_at: row.try_get("expires_at")?,
                        used_at: row.try_get("used_at")?,
                    })
                })
                .transpose()
            }

            async fn use_export_link(&self, request: uuid::Uuid, hash: &[u8], now: i64) -> $crate::Result<bool> {
                let done = sqlx::query::<$db>(
                    "UPDATE dsr_export_links SET used_at = $1 \
                     WHERE token_hash = $2 AND request_id = $3 AND used_at IS NULL AND expires_at > $4",
                )
                .bind(now)
                .bind(hash.to_vec())
                .bind(request.to_string())
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn last_export(&self, request: uuid::Uuid) -> $crate::Result<Option<i64>> {
                let at: Option<i64> =
                    sqlx::query_scalar::<$db, Option<i64>>("SELECT MAX(used_at) FROM dsr_export_links WHERE request_id = $1")
                        .bind(request.to_string())
                        .fetch_one(&self.pool)
                        .await?;
                Ok(at)
            }

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
                let id = order.contact_id;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                // Locked first, as in `delete`: writers about the person finish
                // before, or fail after, the erasure; an exception being
                // recorded (which holds the contact FOR SHARE) too.
                let select = format!("SELECT id FROM contacts WHERE id = $1{}", $d.update_lock);
                if sqlx::query::<$db>(&select).bind(id.to_string()).fetch_optional(&mut *tx).await?.is_none() {
                    return Ok($crate::Erased::Missing);
                }
                require_row(&mut tx, "dsr_requests", order.request_id).await?;
                let held = sqlx::query::<$db>("SELECT id FROM erasure_exceptions WHERE contact_id = $1 LIMIT 1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                if held.is_some() {
                    return Ok($crate::Erased::Held);
                }
                let mut counts = $crate::ErasureCounts::new();
                for (name, n) in delete_person_rows(&mut tx, id).await? {
                    counts.insert(name.to_string(), n);
                }
                counts.insert("contacts".into(), delete_rows(&mut tx, kith_core::EntityKind::Contacts, "id", id).await?);
                delete_owned_key(&mut tx, "contacts", id).await?;
                for term in &order.suppressions {
                    sqlx::query::<$db>(
                        "INSERT INTO suppressions (term, request_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (term) DO NOTHING",
                    )
                    .bind(term.to_vec())
                    .bind(order.request_id.to_string())
                    .bind(order.at)
                    .execute(&mut *tx)
                    .await?;
                }
                counts.insert("request_details".into(), forget_request_details(&mut tx, id, &order.suppressions, order.at).await?);
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
                if let Err(e) = sqlx::raw_sql($d.after_erasure).execute(&self.pool).await {
                    tracing::warn!(error = %e, "the sweep after an erasure did not run");
                }
                Ok($crate::Erased::Done { counts, receipt })
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

pub(crate) use impl_store;
