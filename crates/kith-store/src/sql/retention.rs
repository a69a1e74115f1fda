//! Retention's reads. The SQL, written once for both engines:
//! `impl_retention!` expands inside `impl_store!` (see `store_impl.rs`).

macro_rules! impl_retention {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        /// `(contact, value)` pairs of a query over a page of contacts whose
        /// ids are bound as `$1…$n`.
        async fn per_contact(
            pool: &sqlx::Pool<$db>,
            sql: &str,
            ids: &[String],
        ) -> $crate::Result<Vec<<$db as sqlx::Database>::Row>> {
            let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let text = sql.replace("{ids}", &list.join(", "));
            let mut q = sqlx::query::<$db>(&text);
            for id in ids {
                q = q.bind(id.clone());
            }
            Ok(q.fetch_all(pool).await?)
        }

        #[async_trait::async_trait]
        impl $crate::RetentionStore for $store {
            async fn retention_facts(
                &self,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> $crate::Result<Vec<(uuid::Uuid, kith_core::retention::PersonFacts)>> {
                use sqlx::Row;
                use std::collections::HashMap;
                let after = after.map(|a| a.to_string()).unwrap_or_default();
                let people = sqlx::query::<$db>(
                    "SELECT id, created_at, updated_at FROM contacts WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                if people.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<String> =
                    people.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<_, _>>()?;
                let mut facts: HashMap<String, kith_core::retention::PersonFacts> = HashMap::new();
                for r in &people {
                    facts.insert(
                        r.try_get("id")?,
                        kith_core::retention::PersonFacts {
                            created_at: r.try_get("created_at")?,
                            updated_at: r.try_get("updated_at")?,
                            ..Default::default()
                        },
                    );
                }
                let newest = [
                    ("SELECT contact_id, max(occurred_at) AS at FROM interactions WHERE contact_id IN ({ids}) GROUP BY contact_id", 0),
                    ("SELECT contact_id, max(purchased_at) AS at FROM purchases WHERE contact_id IN ({ids}) GROUP BY contact_id", 1),
                    ("SELECT contact_id, max(updated_at) AS at FROM deals WHERE contact_id IN ({ids}) GROUP BY contact_id", 2),
                ];
                for (sql, which) in newest {
                    for r in per_contact(&self.pool, sql, &ids).await? {
                        let (Some(contact), Some(at)) =
                            (r.try_get::<Option<String>, _>("contact_id")?, r.try_get::<Option<i64>, _>("at")?)
                        else {
                            continue;
                        };
                        if let Some(f) = facts.get_mut(&contact) {
                            match which {
                                0 => f.last_interaction = Some(at),
                                1 => f.last_purchase = Some(at),
                                _ => f.last_deal = Some(at),
                            }
                        }
                    }
                }
                // The ledger in order: the last entry per purpose says whether it is granted.
                let ledger = per_contact(
                    &self.pool,
                    "SELECT contact_id, purpose, granted, at FROM consents WHERE contact_id IN ({ids}) ORDER BY contact_id, seq",
                    &ids,
                )
                .await?;
                let mut state: HashMap<(String, String), bool> = HashMap::new();
                for r in &ledger {
                    let contact: String = r.try_get("contact_id")?;
                    let at: i64 = r.try_get("at")?;
                    state.insert((contact.clone(), r.try_get("purpose")?), r.try_get::<i64, _>("granted")? != 0);
                    if let Some(f) = facts.get_mut(&contact) {
                        f.last_consent = Some(f.last_consent.map_or(at, |known| known.max(at)));
                    }
                }
                for ((contact, purpose), granted) in state {
                    if let (true, Some(f)) = (granted, facts.get_mut(&contact)) {
                        f.granted.push(purpose);
                    }
                }
                for r in per_contact(&self.pool, "SELECT contact_id, purpose FROM objections WHERE contact_id IN ({ids})", &ids)
                    .await?
                {
                    if let Some(f) = facts.get_mut(&r.try_get::<String, _>("contact_id")?) {
                        f.objected.push(r.try_get("purpose")?);
                    }
                }
                for r in per_contact(
                    &self.pool,
                    "SELECT DISTINCT contact_id FROM erasure_exceptions WHERE contact_id IN ({ids})",
                    &ids,
                )
                .await?
                {
                    if let Some(f) = facts.get_mut(&r.try_get::<String, _>("contact_id")?) {
                        f.held = true;
                    }
                }
                ids.into_iter()
                    .map(|id| {
                        let mut f = facts.remove(&id).ok_or_else(|| {
                            $crate::StoreError::Corrupt("a contact id was read twice in one page".into())
                        })?;
                        f.granted.sort();
                        f.objected.sort();
                        Ok((parse_id(&id)?, f))
                    })
                    .collect()
            }

            async fn expired_records(
                &self,
                entity: kith_core::EntityKind,
                before: i64,
                limit: u32,
            ) -> $crate::Result<Vec<uuid::Uuid>> {
                use sqlx::Row;
                let Some(column) = $crate::dated_by(entity) else {
                    return Err($crate::StoreError::Corrupt(format!("{} has no retention of its own", entity.as_str())));
                };
                let text = format!("SELECT id FROM {} WHERE {column} < $1 ORDER BY {column} LIMIT $2", entity.as_str());
                let rows = sqlx::query::<$db>(&text).bind(before).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                rows.iter().map(|r| parse_id(r.try_get::<&str, _>("id")?)).collect()
            }
        }
    };
}

pub(crate) use impl_retention;
