//! Purposes, notices, the consent ledger, restriction, objections and legal claims. The SQL, written once for both engines: `impl_policy!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_policy {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::PolicyStore for $store {
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
                insert_consent(&mut tx, &entry).await?;
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

            async fn add_legal_claim(&self, c: &$crate::LegalClaimRow) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                // The person held first, as merges and erasures hold them.
                lock_contact(&mut tx, c.contact_id).await?;
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
        }
    };
}

pub(crate) use impl_policy;
