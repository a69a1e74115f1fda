//! One person's records, opened in full for their own archive.

use super::view::present_fields;
use super::Records;
use crate::auth::caller::Caller;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::export::Record;
use kith_core::model::{Company, Contact};
use kith_core::{ClearValue, EntityBody, EntityKind};
use kith_store::ListQuery;
use std::collections::HashMap;
use uuid::Uuid;

/// Records read per query when one person's records are gathered for their archive.
const EXPORT_PAGE: u32 = 500;

impl Records {
    /// The person's contact record and their company's name, opened in
    /// full for their archive (see [`Records::of_person`]).
    pub async fn person_for_export(&self, who: &Caller, person: Uuid) -> ApiResult<(Record<Contact>, Option<String>)> {
        let row = self.store.get(EntityKind::Contacts, person).await?.ok_or_else(|| ApiError::not_found("contacts"))?;
        let mut keys = HashMap::new();
        let body: Contact = self.open(&row, &mut keys)?;
        let contact = Record {
            id: row.id,
            created_at: rfc3339_millis(row.created_at),
            updated_at: rfc3339_millis(row.updated_at),
            body,
        };
        let mut events = vec![Self::export_event::<Contact>(who, person, Some(person), &contact.body)?];
        let company = match contact.body.company_id {
            Some(id) => match self.store.get(EntityKind::Companies, id).await? {
                Some(row) if row.key.is_some() => {
                    let company: Company = self.open(&row, &mut keys)?;
                    events.push(Self::event::<Company>(
                        who,
                        AuditAction::Read,
                        Some(id),
                        Some(person),
                        vec!["export".into(), "name".into()],
                        AuditOutcome::Ok,
                    ));
                    Some(company.name)
                }
                _ => None,
            },
            None => None,
        };
        self.audit.record(events).await?;
        Ok((contact, company))
    }

    /// Every record of kind `B` about one person (by `contact_id`), opened
    /// in full: no field grant, scope or purpose applies, because the
    /// access and portability archive is the person's own and complete
    /// (Art. 15, 20). Audited as one `export` read of the kind, with the
    /// person as subject and the fields held, never a value.
    pub async fn of_person<B: EntityBody>(&self, who: &Caller, person: Uuid) -> ApiResult<Vec<Record<B>>> {
        let mut records = Vec::new();
        let mut keys = HashMap::new();
        let mut after = None;
        loop {
            let query = ListQuery {
                entity: B::KIND,
                equals: vec![("contact_id", ClearValue::Text(person.to_string()))],
                ranges: Vec::new(),
                terms: Vec::new(),
                owners: None,
                sort: "created_at",
                descending: false,
                after,
                limit: EXPORT_PAGE,
            };
            let rows = self.store.list(&query).await?;
            for row in rows.iter().filter(|row| row.key.is_some()) {
                let body: B = self.open(row, &mut keys)?;
                let (created_at, updated_at) = (rfc3339_millis(row.created_at), rfc3339_millis(row.updated_at));
                records.push(Record { id: row.id, created_at, updated_at, body });
            }
            match rows.last() {
                Some(last) if rows.len() == EXPORT_PAGE as usize => after = Some((last.sort_value.clone(), last.id)),
                _ => break,
            }
        }
        let mut held: Vec<String> = Vec::new();
        for record in &records {
            let event = Self::export_event::<B>(who, person, None, &record.body)?;
            for field in event.fields {
                if !held.contains(&field) {
                    held.push(field);
                }
            }
        }
        let mut fields = vec!["export".to_string()];
        fields.extend(held.into_iter().filter(|f| f != "export"));
        let event = Self::event::<B>(who, AuditAction::Read, None, Some(person), fields, AuditOutcome::Ok);
        self.audit.record(vec![event]).await?;
        Ok(records)
    }

    /// An `export` read of one record: the fields it holds, never a value.
    fn export_event<B: EntityBody>(
        who: &Caller,
        person: Uuid,
        record: Option<Uuid>,
        body: &B,
    ) -> ApiResult<AuditEvent> {
        let rendered = serde_json::to_value(body).map_err(|e| ApiError::internal("export", e))?;
        let mut fields = vec!["export".to_string()];
        fields.extend(present_fields(&rendered));
        Ok(Self::event::<B>(who, AuditAction::Read, record, Some(person), fields, AuditOutcome::Ok))
    }
}
