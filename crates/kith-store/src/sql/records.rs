//! Records of the five kinds with their keys, clear columns and index terms. The SQL, written once for both engines: `impl_records!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_records {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        /// Replaces a record's row and index terms in the caller's
        /// transaction, if it is still at `expected_version`.
        async fn rewrite_record(tx: &mut Tx<'_>, update: &$crate::RecordUpdate) -> $crate::Result<()> {
            use sqlx::Row;
            let record = &update.record;
            check_references(tx, &record.references).await?;
            let select =
                format!("SELECT subject_id, terms FROM {} WHERE id = $1{}", record.entity.as_str(), $d.update_lock);
            let old = sqlx::query::<$db>(&select).bind(record.id.to_string()).fetch_optional(&mut **tx).await?;
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
            if q.execute(&mut **tx).await?.rows_affected() != 1 {
                return Err($crate::StoreError::VersionConflict);
            }
            remove_terms(tx, record.entity, &record.id.to_string(), &old_terms).await?;
            insert_terms(tx, &[record]).await?;
            // A record that had a key of its own and now belongs to a person drops that key.
            if old_subject == record.id && record.subject_id != record.id {
                delete_owned_key(tx, record.entity.as_str(), record.id).await?;
            }
            Ok(())
        }

        #[async_trait::async_trait]
        impl $crate::RecordStore for $store {
            async fn shared_terms(
                &self,
                entity: kith_core::EntityKind,
                most: i64,
            ) -> $crate::Result<Vec<($crate::Term, uuid::Uuid)>> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>(
                    "SELECT term, record_id FROM blind_index WHERE entity = $1 AND term IN \
                     (SELECT term FROM blind_index WHERE entity = $1 GROUP BY term HAVING COUNT(*) BETWEEN 2 AND $2) \
                     ORDER BY term, record_id",
                )
                .bind(entity.as_str())
                .bind(most)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let term: Vec<u8> = row.try_get("term")?;
                        let term = term.try_into().map_err(|_| $crate::StoreError::Corrupt("a blind-index term".into()))?;
                        Ok((term, parse_id(row.try_get::<&str, _>("record_id")?)?))
                    })
                    .collect()
            }

            async fn clear_rows(
                &self,
                entity: kith_core::EntityKind,
                owners: Option<&[String]>,
            ) -> $crate::Result<Vec<$crate::ClearRow>> {
                use sqlx::Row;
                let columns = entity.columns();
                let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
                let extra = if names.is_empty() { String::new() } else { format!(", {}", names.join(", ")) };
                let filter = match owners {
                    Some(owners) if owners.is_empty() => return Ok(Vec::new()),
                    Some(owners) => {
                        let marks: Vec<String> = (1..=owners.len()).map(|i| format!("${i}")).collect();
                        format!(" WHERE owner IN ({})", marks.join(", "))
                    }
                    None => String::new(),
                };
                let text = format!(
                    "SELECT id, subject_id, owner, created_at, updated_at{extra} FROM {}{filter}",
                    entity.as_str()
                );
                let mut q = sqlx::query::<$db>(&text);
                for owner in owners.unwrap_or_default() {
                    q = q.bind(owner.clone());
                }
                let mut out = Vec::new();
                for row in q.fetch_all(&self.pool).await? {
                    let mut values = Vec::with_capacity(columns.len());
                    for c in columns {
                        values.push(match c.ty {
                            kith_core::ColumnType::Int => row
                                .try_get::<Option<i64>, _>(c.name)?
                                .map_or(kith_core::ClearValue::Null, kith_core::ClearValue::Int),
                            kith_core::ColumnType::Text => row
                                .try_get::<Option<String>, _>(c.name)?
                                .map_or(kith_core::ClearValue::Null, kith_core::ClearValue::Text),
                        });
                    }
                    out.push($crate::ClearRow {
                        id: parse_id(row.try_get::<&str, _>("id")?)?,
                        subject_id: parse_id(row.try_get::<&str, _>("subject_id")?)?,
                        owner: row.try_get("owner")?,
                        created_at: row.try_get("created_at")?,
                        updated_at: row.try_get("updated_at")?,
                        columns: values,
                    });
                }
                Ok(out)
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

            async fn insert_batch(
                &self,
                records: Vec<($crate::NewRecord, Option<$crate::KeyRow>)>,
            ) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_all(&mut tx, &records).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update(
                &self,
                update: $crate::RecordUpdate,
                new_key: Option<$crate::KeyRow>,
            ) -> $crate::Result<()> {
                let record = &update.record;
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                if let Some(key) = &new_key {
                    insert_keys(&mut tx, &[own_key(record.entity.as_str(), record.id, key)?], update.updated_at)
                        .await?;
                }
                rewrite_record(&mut tx, &update).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn merge_people(
                &self,
                order: &$crate::MergeOrder,
                seal: &$crate::LedgerSeal,
            ) -> $crate::Result<$crate::Merged> {
                use sqlx::Row;
                let (survivor, absorbed) = (order.survivor.record.id, order.absorbed);
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                // Both people held, in one order, so appends and writes about
                // either wait for the merge (and two merges cannot deadlock).
                for id in [survivor.min(absorbed), survivor.max(absorbed)] {
                    lock_contact(&mut tx, id).await?;
                }
                let b = absorbed.to_string();
                let checks = [
                    ("SELECT contact_id FROM legal_claims WHERE contact_id = $1 LIMIT 1", b.clone(), $crate::Merged::Held),
                    ("SELECT contact_id FROM erasure_exceptions WHERE contact_id = $1 LIMIT 1", b.clone(), $crate::Merged::Held),
                    ("SELECT subject_id FROM breach_notices WHERE subject_id = $1 LIMIT 1", b.clone(), $crate::Merged::NoticesQueued),
                ];
                for (sql, id, outcome) in checks {
                    if sqlx::query::<$db>(sql).bind(id).fetch_optional(&mut *tx).await?.is_some() {
                        return Ok(outcome);
                    }
                }
                if !order.into_held {
                    let held = "SELECT contact_id FROM erasure_exceptions WHERE contact_id = $1 LIMIT 1";
                    if sqlx::query::<$db>(held).bind(survivor.to_string()).fetch_optional(&mut *tx).await?.is_some() {
                        return Ok($crate::Merged::SurvivorHeld);
                    }
                }
                let version = sqlx::query::<$db>("SELECT version FROM contacts WHERE id = $1")
                    .bind(b.clone())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get::<i64, _>("version")?;
                if version != order.absorbed_version {
                    return Err($crate::StoreError::VersionConflict);
                }
                rewrite_record(&mut tx, &order.survivor).await?;
                for moved in &order.moved {
                    rewrite_record(&mut tx, moved).await?;
                }
                // Anything still sealed under the absorbed key was written meanwhile: try again.
                for table in ["interactions", "deals", "purchases"] {
                    let left = format!("SELECT id FROM {table} WHERE subject_id = $1 LIMIT 1");
                    if sqlx::query::<$db>(&left).bind(b.clone()).fetch_optional(&mut *tx).await?.is_some() {
                        return Err($crate::StoreError::VersionConflict);
                    }
                }
                let entries = sqlx::query::<$db>("SELECT COUNT(*) AS n FROM consents WHERE contact_id IN ($1, $2)")
                    .bind(survivor.to_string())
                    .bind(b.clone())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get::<i64, _>("n")?;
                if entries != order.ledger.len() as i64 {
                    return Err($crate::StoreError::VersionConflict);
                }
                sqlx::query::<$db>("DELETE FROM consents WHERE contact_id IN ($1, $2)")
                    .bind(survivor.to_string())
                    .bind(b.clone())
                    .execute(&mut *tx)
                    .await?;
                // Both histories in one ledger, numbered and chained again.
                let mut previous: Vec<u8> = Vec::new();
                for (i, entry) in order.ledger.iter().enumerate() {
                    let mut entry = $crate::ConsentRow { contact_id: survivor, seq: i as i64 + 1, ..entry.clone() };
                    entry.mac = seal(&entry, &previous);
                    insert_consent(&mut tx, &entry).await?;
                    previous = entry.mac;
                }
                let a = survivor.to_string();
                // Objections and a restriction go with the person; requests name the survivor.
                for sql in [
                    "DELETE FROM objections WHERE contact_id = $2 AND purpose IN (SELECT purpose FROM objections WHERE contact_id = $1)",
                    "UPDATE objections SET contact_id = $1 WHERE contact_id = $2",
                    "DELETE FROM restrictions WHERE contact_id = $2 AND EXISTS (SELECT 1 FROM restrictions WHERE contact_id = $1)",
                    "UPDATE restrictions SET contact_id = $1 WHERE contact_id = $2",
                    "UPDATE dsr_requests SET contact_id = $1 WHERE contact_id = $2",
                ] {
                    sqlx::query::<$db>(sql).bind(a.clone()).bind(b.clone()).execute(&mut *tx).await?;
                }
                forget_portal(&mut tx, absorbed).await?;
                delete_rows(&mut tx, kith_core::EntityKind::Contacts, "id", absorbed).await?;
                delete_owned_key(&mut tx, "contacts", absorbed).await?;
                // Gone for good, as an erased person is: a restore replays it.
                sqlx::query::<$db>(
                    "INSERT INTO erasure_ledger (subject_id, request_id, erased_at, terms) VALUES ($1, $2, $3, '') \
                     ON CONFLICT (subject_id) DO NOTHING",
                )
                .bind(b.clone())
                .bind(survivor.to_string())
                .bind(order.at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                // The destroyed key and old ciphertexts leave the WAL and dead rows, as after an erasure.
                if let Err(e) = sqlx::raw_sql($d.after_erasure).execute(&self.pool).await {
                    tracing::warn!(error = %e, "the sweep after a merge did not run");
                }
                Ok($crate::Merged::Done)
            }

            async fn get(
                &self,
                entity: kith_core::EntityKind,
                id: uuid::Uuid,
            ) -> $crate::Result<Option<$crate::StoredRecord>> {
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
                        sqlx::Row::try_get::<Option<String>, _>(&row, "contact_id")?
                            .as_deref()
                            .map(parse_id)
                            .transpose()?
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
                            if sqlx::query::<$db>(&text).bind(id.to_string()).fetch_optional(&mut *tx).await?.is_some()
                            {
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
        }
    };
}

pub(crate) use impl_records;
