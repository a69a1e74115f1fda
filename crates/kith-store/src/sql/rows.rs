//! Rows as the store reads them back: one decoder per row type, written
//! once for both engines. `impl_rows!` expands inside `impl_store!`.

macro_rules! impl_rows {
    ($db:ty) => {
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
                key: match (row.try_get::<Option<String>, _>("kek_id")?, row.try_get::<Option<Vec<u8>>, _>("wrapped")?)
                {
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
            let written =
                serde_json::to_string(&event.fields).map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
            Ok(same_id("record_id", event.record_id)? && same_id("subject_id", event.subject_id)? && fields == written)
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
    };
}

pub(crate) use impl_rows;
