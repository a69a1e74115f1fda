//! Merging two contacts who are one person: the survivor keeps its data
//! key; the absorbed person's fields fill the survivor's gaps (lists are
//! joined, nothing the survivor has is overwritten), their interactions,
//! deals and purchases are opened and sealed again under the survivor's
//! key, both consent ledgers become one (every entry kept, in time order,
//! numbered and chained again), and the absorbed contact and its key are
//! deleted, all in one transaction of the store. Audited as an update of
//! the survivor naming the absorbed id and a delete of the absorbed naming
//! the survivor, so each one's access log leads to the other.

use super::view::{changed_fields, present_fields};
use super::{render, seal_record, Records};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::error::{ApiError, ApiResult};
use crate::input::from_value;
use crate::sealing::{to_crypto, WRITE_ATTEMPTS};
use kith_core::audit::{AuditAction, AuditOutcome};
use kith_core::model::{Contact, Deal, Interaction, Purchase};
use kith_core::{ClearValue, EntityBody, ErrorCode};
use kith_crypto::DataKey;
use kith_store::{ConsentRow, ListQuery, MergeOrder, Merged, RecordUpdate, StoreError};
use serde_json::Value;
use uuid::Uuid;

/// What a merge did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MergeOutcome {
    /// The survivor, as the caller may see it.
    #[schema(value_type = Object)]
    pub contact: Value,
    pub absorbed: Uuid,
    /// Interactions, deals and purchases now about the survivor.
    pub moved_records: u64,
    /// Entries of the merged consent ledger.
    pub consents: u64,
}

/// The survivor's document with the absorbed one's fields in its gaps.
pub fn merged_contact(survivor: &Contact, absorbed: &Contact) -> Contact {
    let mut c = survivor.clone();
    let fill = |mine: &mut Option<String>, theirs: &Option<String>| {
        if mine.is_none() {
            mine.clone_from(theirs);
        }
    };
    fill(&mut c.given_name, &absorbed.given_name);
    fill(&mut c.family_name, &absorbed.family_name);
    fill(&mut c.birthday, &absorbed.birthday);
    fill(&mut c.job_title, &absorbed.job_title);
    c.notes = match (&survivor.notes, &absorbed.notes) {
        (Some(a), Some(b)) if a != b => Some(format!("{a}\n\n{b}")),
        (a, b) => a.clone().or_else(|| b.clone()),
    };
    if c.company_id.is_none() {
        c.company_id = absorbed.company_id;
    }
    let join = |mine: &mut Vec<String>, theirs: &[String]| {
        for value in theirs {
            if !mine.contains(value) {
                mine.push(value.clone());
            }
        }
    };
    join(&mut c.emails, &absorbed.emails);
    join(&mut c.phones, &absorbed.phones);
    join(&mut c.tags, &absorbed.tags);
    for address in &absorbed.addresses {
        if !c.addresses.contains(address) {
            c.addresses.push(address.clone());
        }
    }
    for (k, v) in &absorbed.custom {
        c.custom.entry(k.clone()).or_insert_with(|| v.clone());
    }
    c
}

impl Records {
    /// Merges `absorbed` into `survivor`. Both must be within the caller's
    /// reach for update and delete, and the policy must allow both people
    /// for the purpose (a restriction stops anyone but the DPO). A person
    /// under a legal hold or claim is never absorbed: merge the other way.
    pub async fn merge(&self, who: &Caller, survivor: Uuid, absorbed: Uuid) -> ApiResult<MergeOutcome> {
        if survivor == absorbed {
            return Err(ApiError::new(ErrorCode::InvalidValue, "other: a contact is merged with another one"));
        }
        let grant = self.authorize::<Contact>(who, Action::Update, Some(survivor)).await?;
        self.authorize::<Contact>(who, Action::Delete, Some(absorbed)).await?;
        self.may_write_about::<Contact>(who, AuditAction::Update, survivor, [survivor, absorbed]).await?;
        for attempt in 1..=WRITE_ATTEMPTS {
            let (a_row, _) = self.visible_row::<Contact>(who, &grant, Action::Update, survivor).await?;
            let (b_row, _) = self.visible_row::<Contact>(who, &grant, Action::Delete, absorbed).await?;
            let held = !self.store.erasure_exceptions(survivor).await?.is_empty();
            if held && !who.is_dpo() {
                let refusal = ApiError::new(
                    ErrorCode::ErasureException,
                    "the survivor is under a legal hold: only the DPO may merge into them",
                );
                return self.refuse::<Contact, _>(who, Action::Update, Some(survivor), refusal).await;
            }
            let key = |row: &kith_store::StoredRecord| -> ApiResult<DataKey> {
                let wrapped = row.key.as_ref().ok_or_else(|| ApiError::not_found("contacts"))?;
                Ok(self.keys.unwrap(&to_crypto(wrapped))?)
            };
            let (a_key, b_key) = (key(&a_row)?, key(&b_row)?);
            let a: Contact = super::open_record(&a_key, &a_row)?;
            let b: Contact = super::open_record(&b_key, &b_row)?;
            let mut body = merged_contact(&a, &b);
            body.validate()?;
            let now = crate::now_millis().max(a_row.updated_at);
            let ring = self.keys.current();
            let record = seal_record(&ring, &a_key, &body, survivor, survivor, a_row.created_at)?;
            let survivor_update = RecordUpdate { record, expected_version: a_row.version, updated_at: now };

            let mut moved = Vec::new();
            moved.extend(self.resealed::<Interaction>(absorbed, survivor, &b_key, &a_key, now).await?);
            moved.extend(self.resealed::<Deal>(absorbed, survivor, &b_key, &a_key, now).await?);
            moved.extend(self.resealed::<Purchase>(absorbed, survivor, &b_key, &a_key, now).await?);
            let ledger = self.merged_ledger(survivor, absorbed, &a_key, &b_key).await?;

            let before = serde_json::to_value(&a).map_err(|e| ApiError::internal("merge", e))?;
            let rendered = render(survivor, a_row.created_at, now, &body)?;
            let mut fields = changed_fields(before.as_object().unwrap_or(&Default::default()), &rendered);
            fields.push(format!("merged:{absorbed}"));
            let mut events = vec![Self::event::<Contact>(
                who,
                AuditAction::Update,
                Some(survivor),
                Some(survivor),
                fields,
                AuditOutcome::Ok,
            )];
            let gone = vec![format!("merged_into:{survivor}")];
            events.push(Self::event::<Contact>(
                who,
                AuditAction::Delete,
                Some(absorbed),
                Some(absorbed),
                gone,
                AuditOutcome::Ok,
            ));
            for m in &moved {
                let about = crate::audit::event::About {
                    entity: m.record.entity.as_str(),
                    record: Some(m.record.id),
                    subject: Some(survivor),
                };
                events.push(crate::audit::event::by(
                    who,
                    AuditAction::Update,
                    about,
                    vec![format!("merged:{absorbed}")],
                ));
            }
            let order =
                MergeOrder { survivor: survivor_update, absorbed, absorbed_version: b_row.version, moved, ledger };
            let seal = crate::consent_seal::sealer(&self.keys);
            match self.audit.intend(events, self.store.merge_people(&order, &*seal)).await? {
                Err(StoreError::VersionConflict) if attempt < WRITE_ATTEMPTS => continue,
                Ok(Merged::Held) => {
                    let refusal = ApiError::new(
                        ErrorCode::ErasureException,
                        "other: this person is under a legal hold or claim and is never absorbed; merge the other way",
                    );
                    return self.refuse::<Contact, _>(who, Action::Delete, Some(absorbed), refusal).await;
                }
                result => {
                    result?;
                }
            }
            let contact = self.shown::<Contact>(who, body.owner(), rendered).await?;
            let read = present_fields(&contact);
            let event =
                Self::event::<Contact>(who, AuditAction::Read, Some(survivor), Some(survivor), read, AuditOutcome::Ok);
            self.audit.record(vec![event]).await?;
            return Ok(MergeOutcome {
                contact,
                absorbed,
                moved_records: order.moved.len() as u64,
                consents: order.ledger.len() as u64,
            });
        }
        Err(ApiError::new(ErrorCode::Conflict, "the contacts kept changing; try again"))
    }

    /// The absorbed person's records of kind `B`, about the survivor now
    /// and sealed under their key.
    async fn resealed<B: EntityBody>(
        &self,
        absorbed: Uuid,
        survivor: Uuid,
        from: &DataKey,
        to: &DataKey,
        now: i64,
    ) -> ApiResult<Vec<RecordUpdate>> {
        let ring = self.keys.current();
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let query = ListQuery {
                entity: B::KIND,
                equals: vec![("contact_id", ClearValue::Text(absorbed.to_string()))],
                ranges: vec![],
                terms: vec![],
                owners: None,
                sort: "created_at",
                descending: false,
                after: after.take(),
                limit: 500,
            };
            let rows = self.store.list(&query).await?;
            let full = rows.len() == 500;
            for row in &rows {
                let body: B = super::open_record(from, row)?;
                let mut document = serde_json::to_value(&body).map_err(|e| ApiError::internal("merge", e))?;
                document["contact_id"] = Value::String(survivor.to_string());
                let body: B = from_value(document)?;
                let record = seal_record(&ring, to, &body, row.id, survivor, row.created_at)?;
                out.push(RecordUpdate { record, expected_version: row.version, updated_at: now.max(row.updated_at) });
            }
            match (full, rows.last()) {
                (true, Some(last)) => after = Some((last.sort_value.clone(), last.id)),
                _ => return Ok(out),
            }
        }
    }

    /// Both ledgers as one, in time order (the survivor's first at the
    /// same moment), the absorbed entries' proofs sealed under the survivor's key.
    async fn merged_ledger(
        &self,
        survivor: Uuid,
        absorbed: Uuid,
        a_key: &DataKey,
        b_key: &DataKey,
    ) -> ApiResult<Vec<ConsentRow>> {
        let seal = crate::consent_seal::sealer(&self.keys);
        let mine = self.store.consents(survivor, &*seal).await?.entries;
        let mut theirs = self.store.consents(absorbed, &*seal).await?.entries;
        for entry in &mut theirs {
            let proof = b_key.open(&crate::sealing::consent(entry.id, absorbed), &entry.sealed)?;
            entry.sealed = a_key.seal(&crate::sealing::consent(entry.id, survivor), &proof);
            entry.contact_id = survivor;
        }
        let mut all: Vec<(usize, ConsentRow)> =
            mine.into_iter().map(|e| (0, e)).chain(theirs.into_iter().map(|e| (1, e))).collect();
        all.sort_by_key(|(side, e)| (e.at, *side));
        Ok(all.into_iter().map(|(_, e)| e).collect())
    }
}
