//! Merging two contacts who are one person: the survivor keeps its data
//! key; the absorbed person's fields fill the survivor's gaps (lists are
//! joined, nothing the survivor has is overwritten), their interactions,
//! deals and purchases are opened and sealed again under the survivor's
//! key, both consent ledgers become one (every entry kept, in time order,
//! numbered and chained again), and the absorbed contact and its key are
//! deleted, all in one transaction of the store. Audited as an update of
//! the survivor naming the absorbed id and a delete of the absorbed naming
//! the survivor, so each one's access log leads to the other.

use super::view::{changed_fields, hidden_field, present_fields};
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

/// Why the store declined a merge, as the caller reads it.
fn declined_merge(declined: Merged) -> ApiError {
    match declined {
        Merged::SurvivorHeld => ApiError::new(
            ErrorCode::ErasureException,
            "the survivor is under a legal hold: only the DPO may merge into them",
        ),
        Merged::NoticesQueued => ApiError::new(
            ErrorCode::Conflict,
            "other: breach notices are queued to this person; send them before merging",
        ),
        _ => ApiError::new(
            ErrorCode::ErasureException,
            "other: this person is under a legal hold or claim and is never absorbed; merge the other way",
        ),
    }
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
        let delete_grant = self.authorize::<Contact>(who, Action::Delete, Some(absorbed)).await?;
        self.may_write_about::<Contact>(who, AuditAction::Update, survivor, [survivor, absorbed]).await?;
        for attempt in 1..=WRITE_ATTEMPTS {
            let (a_row, reach) = self.visible_row::<Contact>(who, &grant, Action::Update, survivor).await?;
            let (b_row, _) = self.visible_row::<Contact>(who, &delete_grant, Action::Delete, absorbed).await?;
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
            let before = serde_json::to_value(&a).map_err(|e| ApiError::internal("merge", e))?;
            let rendered = render(survivor, a_row.created_at, now, &body)?;
            let mut fields = changed_fields(before.as_object().unwrap_or(&Default::default()), &rendered);
            // What the merge changes, the caller must be able to change.
            let unwritable = |f: &&String| !reach.field(&grant, Contact::KIND, f, a_row.owner.as_deref());
            if let Some(field) = fields.iter().find(unwritable) {
                let refusal = hidden_field(field, "write");
                return self.refuse::<Contact, _>(who, Action::Update, Some(survivor), refusal).await;
            }
            let ring = self.keys.current();
            let record = seal_record(&ring, &a_key, &body, survivor, survivor, a_row.created_at)?;
            let survivor_update = RecordUpdate { record, expected_version: a_row.version, updated_at: now };

            let keys = (&b_key, &a_key);
            let mut moved = Vec::new();
            moved.extend(self.resealed::<Interaction>(who, absorbed, survivor, keys, now).await?);
            moved.extend(self.resealed::<Deal>(who, absorbed, survivor, keys, now).await?);
            moved.extend(self.resealed::<Purchase>(who, absorbed, survivor, keys, now).await?);
            let ledger = self.merged_ledger(survivor, absorbed, &a_key, &b_key).await?;

            fields.push(format!("merged:{absorbed}"));
            let event =
                |action, id, fields| Self::event::<Contact>(who, action, Some(id), Some(id), fields, AuditOutcome::Ok);
            let mut events = vec![
                event(AuditAction::Update, survivor, fields),
                event(AuditAction::Delete, absorbed, vec![format!("merged_into:{survivor}")]),
            ];
            for m in &moved {
                let about = crate::audit::event::About {
                    entity: m.record.entity.as_str(),
                    record: Some(m.record.id),
                    subject: Some(survivor),
                };
                let fields = vec![format!("merged:{absorbed}")];
                events.push(crate::audit::event::by(who, AuditAction::Update, about, fields));
            }
            let order = MergeOrder {
                survivor: survivor_update,
                absorbed,
                absorbed_version: b_row.version,
                into_held: who.is_dpo(),
                at: now,
                moved,
                ledger,
            };
            let seal = crate::consent_seal::sealer(&self.keys);
            // A merge the store declines is a write that did not happen: its
            // events are followed by failed ones, as for any other.
            let write = async {
                match self.store.merge_people(&order, &*seal).await {
                    Ok(Merged::Done) => Ok(()),
                    Ok(declined) => Err(Err(declined)),
                    Err(e) => Err(Ok(e)),
                }
            };
            match self.audit.intend(events, write).await? {
                Ok(()) => {}
                Err(Ok(StoreError::VersionConflict)) if attempt < WRITE_ATTEMPTS => continue,
                Err(Ok(e)) => return Err(e.into()),
                Err(Err(declined)) => {
                    let refusal = declined_merge(declined);
                    return self.refuse::<Contact, _>(who, Action::Delete, Some(absorbed), refusal).await;
                }
            }
            let contact = self.shown::<Contact>(who, body.owner(), rendered).await?;
            let read = present_fields(&contact);
            self.audit.record(vec![event(AuditAction::Read, survivor, read)]).await?;
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
    /// and sealed under their key (`keys`: from, to). Moving any needs the
    /// right to update the kind.
    async fn resealed<B: EntityBody>(
        &self,
        who: &Caller,
        absorbed: Uuid,
        survivor: Uuid,
        keys: (&DataKey, &DataKey),
        now: i64,
    ) -> ApiResult<Vec<RecordUpdate>> {
        let (from, to) = keys;
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
            if !rows.is_empty() && out.is_empty() {
                self.authorize::<B>(who, Action::Update, None).await?;
            }
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

    /// Both ledgers as one (see [`interleaved`]), the absorbed entries'
    /// proofs sealed under the survivor's key.
    async fn merged_ledger(
        &self,
        survivor: Uuid,
        absorbed: Uuid,
        a_key: &DataKey,
        b_key: &DataKey,
    ) -> ApiResult<Vec<ConsentRow>> {
        let seal = crate::consent_seal::sealer(&self.keys);
        let mine = self.store.consents(survivor, &*seal).await?;
        let theirs = self.store.consents(absorbed, &*seal).await?;
        // Chaining a changed ledger again would make its changes count.
        if !mine.intact || !theirs.intact {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "a consent ledger of these people does not verify: the DPO must look at it before any merge",
            ));
        }
        let mut theirs = theirs.entries;
        for entry in &mut theirs {
            let proof = b_key.open(&crate::sealing::consent(entry.id, absorbed), &entry.sealed)?;
            entry.sealed = a_key.seal(&crate::sealing::consent(entry.id, survivor), &proof);
            entry.contact_id = survivor;
        }
        Ok(interleaved(mine.entries, theirs))
    }
}

/// Two ledgers as one, each in its own order (never reordered within
/// itself, whatever the clocks said), the earlier entry first; at the same
/// moment a grant before a withdrawal, so the withdrawal is the last word.
fn interleaved(mine: Vec<ConsentRow>, theirs: Vec<ConsentRow>) -> Vec<ConsentRow> {
    let mut out = Vec::with_capacity(mine.len() + theirs.len());
    let (mut a, mut b) = (mine.into_iter().peekable(), theirs.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => (x.at, !x.granted) <= (y.at, !y.granted),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: i64, granted: bool, n: u128) -> ConsentRow {
        ConsentRow {
            id: Uuid::from_u128(n),
            contact_id: Uuid::nil(),
            purpose: "p".into(),
            granted,
            at,
            notice_version: "1".into(),
            method: "api".into(),
            recorded_by: "t".into(),
            sealed: Vec::new(),
            seq: 0,
            mac: Vec::new(),
        }
    }

    #[test]
    fn ledgers_interleave_by_time_keep_their_own_order_and_withdrawals_come_last() {
        // The survivor's clock stepped back between its two entries: their order stays.
        let mine = vec![entry(10, true, 1), entry(5, false, 2)];
        let theirs = vec![entry(7, true, 3), entry(10, false, 4), entry(10, true, 5)];
        let ids: Vec<u128> = interleaved(mine, theirs).iter().map(|e| e.id.as_u128()).collect();
        assert_eq!(ids, [3, 1, 2, 4, 5]);
        let same = interleaved(vec![entry(10, false, 1)], vec![entry(10, true, 2)]);
        assert_eq!(same.iter().map(|e| e.id.as_u128()).collect::<Vec<_>>(), [2, 1], "the withdrawal is the last word");
    }
}
