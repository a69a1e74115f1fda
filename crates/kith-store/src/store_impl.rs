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

        const API_KEY_COLUMNS: &str =
            "id, key_hash, document, created_by, created_at, expires_at, revoked_at, last_used_at";

        const AUDIT_COLUMNS: &str =
            "seq, at, actor, action, entity, record_id, subject_id, fields, purpose, request_id, client, outcome";

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
        /// Inserts one numbered and sealed consent entry.
        async fn insert_consent(tx: &mut Tx<'_>, entry: &$crate::ConsentRow) -> $crate::Result<()> {
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
            .execute(&mut **tx)
            .await
            .map_err(map_unique)?;
            Ok(())
        }

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

        /// What an erasure deletes and records, in the caller's
        /// transaction: the person's rows with their index entries, data key
        /// and portal links, the details of their requests; their
        /// suppression terms and their entry in the erasure ledger. Shared
        /// by an erasure and its replay after a restore.
        async fn erase_rows(tx: &mut Tx<'_>, entry: &$crate::LedgerRow) -> $crate::Result<$crate::ErasureCounts> {
            let id = entry.subject_id;
            let mut counts = $crate::ErasureCounts::new();
            for (name, n) in delete_person_rows(tx, id).await? {
                counts.insert(name.to_string(), n);
            }
            counts.insert("contacts".into(), delete_rows(tx, kith_core::EntityKind::Contacts, "id", id).await?);
            delete_owned_key(tx, "contacts", id).await?;
            forget_portal(tx, id).await?;
            for term in &entry.terms {
                sqlx::query::<$db>(
                    "INSERT INTO suppressions (term, request_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (term) DO NOTHING",
                )
                .bind(term.to_vec())
                .bind(entry.request_id.to_string())
                .bind(entry.erased_at)
                .execute(&mut **tx)
                .await?;
            }
            counts.insert("request_details".into(), forget_request_details(tx, id, &entry.terms, entry.erased_at).await?);
            let terms = $crate::terms_to_hex(&entry.terms);
            sqlx::query::<$db>(
                "INSERT INTO erasure_ledger (subject_id, request_id, erased_at, terms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (subject_id) DO NOTHING",
            )
            .bind(id.to_string())
            .bind(entry.request_id.to_string())
            .bind(entry.erased_at)
            .bind(terms)
            .execute(&mut **tx)
            .await?;
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

        /// Queues a message for the mail integration, bound to the pending
        /// confirmation or portal link (`owner`) whose key seals it.
        async fn insert_outbox(tx: &mut Tx<'_>, message: &$crate::OutboxRow, owner: uuid::Uuid) -> $crate::Result<()> {
            sqlx::query::<$db>("INSERT INTO outbox (id, pending_id, created_at, sealed) VALUES ($1, $2, $3, $4)")
                .bind(message.id.to_string())
                .bind(owner.to_string())
                .bind(message.created_at)
                .bind(message.sealed.clone())
                .execute(&mut **tx)
                .await
                .map_err(map_unique)?;
            Ok(())
        }

        /// Deletes a pending confirmation, its outbox messages and its data key.
        async fn delete_pending(tx: &mut Tx<'_>, id: uuid::Uuid) -> $crate::Result<()> {
            sqlx::query::<$db>("DELETE FROM outbox WHERE pending_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
            delete_row_and_key(tx, "pending_confirmations", id).await?;
            Ok(())
        }

        const USER_COLUMNS: &str = "id, email_term, sealed, roles, teams, status, password_hash, password_changed_at, \
             totp_sealed, totp_pending, totp_last_step, failed_logins, first_failed_at, locked_until, created_at, updated_at";

        const DSR_COLUMNS: &str = "id, kind, status, channel, contact_id, purpose, received_at, due_at, extended_months, \
             person_told_at, verified_at, verification_method, failed_attempts, token_hash, token_expires_at, \
             completed_at, closed_at, created_by, created_at, updated_at, version, sealed, given_term, erased_at";

        const DRP_REQUEST_COLUMNS: &str = "id, agent_id, agent_request_id, exercise, dsr_id, status, reason, \
             status_callback, received_at, expected_by";

        $crate::sql::rows::impl_rows!($db);
        $crate::sql::settings::impl_settings!($store, $db, $backend, $d);
        $crate::sql::records::impl_records!($store, $db, $backend, $d);
        $crate::sql::keys::impl_keys!($store, $db, $backend, $d);
        $crate::sql::policy::impl_policy!($store, $db, $backend, $d);
        $crate::sql::access::impl_access!($store, $db, $backend, $d);
        $crate::sql::segments::impl_segments!($store, $db, $backend, $d);
        $crate::sql::audit::impl_audit!($store, $db, $backend, $d);
        $crate::sql::backup::impl_backup!($store, $db, $backend, $d);
        $crate::sql::capture::impl_capture!($store, $db, $backend, $d);
        $crate::sql::accounts::impl_accounts!($store, $db, $backend, $d);
        $crate::sql::requests::impl_requests!($store, $db, $backend, $d);
        $crate::sql::erasure::impl_erasure!($store, $db, $backend, $d);
        $crate::sql::drp::impl_drp!($store, $db, $backend, $d);
        $crate::sql::portal::impl_portal!($store, $db, $backend, $d);
        $crate::sql::retention::impl_retention!($store, $db, $backend, $d);
        $crate::sql::accountability::impl_accountability!($store, $db, $backend, $d);
        $crate::sql::imports::impl_imports!($store, $db, $backend, $d);
    };
}

pub(crate) use impl_store;
