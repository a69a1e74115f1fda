//! Segments: saved filters over contacts, evaluated for the request's
//! purpose. Members are only the people the policy allows; the others are
//! counted by the reason they were left out, never named. Definitions
//! (names, tags) are sealed under a data key of the segment's own.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::purpose::request_purpose;
use crate::auth::Action;
use crate::error::{ApiError, ApiResult};
use crate::sealing::to_crypto;
use crate::service::Services;
use kith_core::access::Grant;
use kith_core::audit::{AuditAction, AuditEvent};
use kith_core::normalize::tag_key;
use kith_core::policy::{may_process, PersonStatus};
use kith_core::purpose::Purpose;
use kith_core::segment::{ConsentState, PurchaseBounds, SegmentFilter, SegmentInput};
use kith_core::{ClearValue, EntityKind, ErrorCode, IndexField};
use kith_crypto::DataKey;
use kith_store::{ListQuery, Range, SegmentRow, StoredRecord};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// Rows fetched per store query while a segment is evaluated.
const SCAN_PAGE: u32 = 500;
/// People whose status is asked for in one store query.
const STATUS_CHUNK: usize = 500;

fn event(who: &Caller, action: AuditAction, record: Option<Uuid>, fields: Vec<String>) -> AuditEvent {
    audit_event::by(who, action, About { entity: "segments", record, subject: None }, fields)
}

/// A stored segment, opened.
pub struct Segment {
    pub row: SegmentRow,
    pub input: SegmentInput,
}

async fn open(svc: &Services, row: SegmentRow) -> ApiResult<Segment> {
    let wrapped = svc.store.data_key(row.id).await?.ok_or_else(|| ApiError::not_found("segments"))?;
    let key = svc.keys.unwrap(&to_crypto(&wrapped))?;
    let plaintext = key.open(&crate::sealing::segment(row.id), &row.sealed)?;
    let input = serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("segment"))?;
    Ok(Segment { row, input })
}

async fn load(svc: &Services, id: Uuid) -> ApiResult<Segment> {
    let row = svc.store.segment(id).await?.ok_or_else(|| ApiError::not_found("segments"))?;
    open(svc, row).await
}

/// Every row a query matches, fetched page by page.
async fn scan(svc: &Services, mut query: ListQuery) -> ApiResult<Vec<StoredRecord>> {
    query.limit = SCAN_PAGE;
    let mut all = Vec::new();
    loop {
        let rows = svc.store.list(&query).await?;
        let done = rows.len() < SCAN_PAGE as usize;
        query.after = rows.last().map(|r| (r.sort_value.clone(), r.id));
        all.extend(rows);
        if done {
            return Ok(all);
        }
    }
}

fn query(entity: EntityKind, sort: &'static str) -> ListQuery {
    ListQuery {
        entity,
        equals: Vec::new(),
        ranges: Vec::new(),
        terms: Vec::new(),
        owners: None,
        sort,
        descending: false,
        after: None,
        limit: SCAN_PAGE,
    }
}

/// The people with at least one deal in `stage`.
async fn people_with_deal_in(svc: &Services, stage: &str, owners: Option<Vec<String>>) -> ApiResult<HashSet<Uuid>> {
    let mut q = query(EntityKind::Deals, "created_at");
    q.owners = owners;
    q.equals.push(("stage", ClearValue::Text(stage.into())));
    Ok(scan(svc, q).await?.into_iter().map(|r| r.subject_id).collect())
}

/// The people whose purchases in the window add up to within the bounds.
/// The total is the sort column, so the rows carry it without being opened.
async fn people_by_purchases(
    svc: &Services,
    bounds: &PurchaseBounds,
    owners: Option<Vec<String>>,
) -> ApiResult<HashSet<Uuid>> {
    let mut q = query(EntityKind::Purchases, "total");
    q.owners = owners;
    q.equals.push(("currency", ClearValue::Text(bounds.currency.clone())));
    if bounds.from_millis.is_some() || bounds.to_millis.is_some() {
        q.ranges.push(("purchased_at", Range { from: bounds.from_millis, to: bounds.to_millis }));
    }
    let mut totals: HashMap<Uuid, i64> = HashMap::new();
    for row in scan(svc, q).await? {
        let ClearValue::Int(total) = row.sort_value else { continue };
        let sum = totals.entry(row.subject_id).or_default();
        *sum = sum.saturating_add(total);
    }
    Ok(totals
        .into_iter()
        .filter(|(_, sum)| bounds.min_scaled.is_none_or(|min| *sum >= min))
        .filter(|(_, sum)| bounds.max_scaled.is_none_or(|max| *sum <= max))
        .map(|(person, _)| person)
        .collect())
}

/// The outcome of evaluating a segment for a purpose.
pub struct Evaluation {
    /// Allowed members, oldest contact first.
    pub members: Vec<StoredRecord>,
    /// People the filter matched.
    pub matched: usize,
    /// Matched people left out, by the code of the reason.
    pub excluded: BTreeMap<&'static str, u64>,
}

async fn evaluate(svc: &Services, filter: &SegmentFilter, view: &View) -> ApiResult<Evaluation> {
    let ring = svc.keys.current();
    let mut contacts = query(EntityKind::Contacts, "created_at");
    contacts.owners = view.owners.clone();
    contacts.terms = filter.tags.iter().map(|t| ring.blind_term(IndexField::Tag.as_str(), &tag_key(t))).collect();
    if let Some(company) = filter.company_id {
        contacts.equals.push(("company_id", ClearValue::Text(company.to_string())));
    }
    let with_deal = match filter.deal_stage {
        Some(stage) => Some(people_with_deal_in(svc, stage.as_str(), view.deal_owners.clone()).await?),
        None => None,
    };
    let by_purchases = match &filter.purchases {
        Some(p) => Some(people_by_purchases(svc, &p.bounds(), view.purchase_owners.clone()).await?),
        None => None,
    };
    let candidates: Vec<StoredRecord> = scan(svc, contacts)
        .await?
        .into_iter()
        .filter(|r| with_deal.as_ref().is_none_or(|set| set.contains(&r.id)))
        .filter(|r| by_purchases.as_ref().is_none_or(|set| set.contains(&r.id)))
        .collect();
    let mut statuses: HashMap<Uuid, PersonStatus> = HashMap::new();
    for chunk in candidates.chunks(STATUS_CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|r| r.id).collect();
        statuses.extend(svc.store.statuses(&ids, &*crate::consent_seal::sealer(&svc.keys)).await?);
    }
    let mut evaluation = Evaluation { members: Vec::new(), matched: 0, excluded: BTreeMap::new() };
    for row in candidates {
        let status = statuses.remove(&row.id).unwrap_or_default();
        if let Some(c) = &filter.consent {
            if ConsentState::of(status.consents.get(&c.purpose).copied()) != c.state {
                continue;
            }
        }
        evaluation.matched += 1;
        match may_process(&view.purpose, &status, view.dpo) {
            Ok(()) => evaluation.members.push(row),
            Err(denial) => *evaluation.excluded.entry(denial.code().as_str()).or_default() += 1,
        }
    }
    Ok(evaluation)
}

/// Who evaluates a segment: for which purpose, over which contacts, with
/// which fields shown.
struct View {
    purpose: Purpose,
    grant: Grant,
    /// Whose deals and purchases a filter on them may look at (the caller's
    /// read scope over those records); `None` for all.
    deal_owners: Option<Vec<String>>,
    purchase_owners: Option<Vec<String>>,
    /// The owners the caller's scope reaches; `None` for all.
    owners: Option<Vec<String>>,
    dpo: bool,
}

/// The caller may read contacts, and what the filter looks at (tags and
/// company are contact fields; deal stages and purchases are records of
/// their own); the purpose is theirs to use. A refusal is audited.
async fn view(svc: &Services, who: &Caller, id: Uuid, filter: &SegmentFilter) -> ApiResult<View> {
    let checked = async {
        let grant = svc.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts)?;
        let refuse = |field: &str| {
            ApiError::new(ErrorCode::FieldForbidden, format!("{field}: your role may not filter by this field"))
        };
        let contact_fields = [(!filter.tags.is_empty(), "tags"), (filter.company_id.is_some(), "company_id")];
        if let Some((_, field)) =
            contact_fields.iter().find(|(used, f)| *used && !grant.may_filter_by(EntityKind::Contacts, f))
        {
            return Err(refuse(field));
        }
        // A filter on deals or purchases looks only at those the caller may
        // read, and only at a field that reaches all of them.
        let records_owners = |entity: EntityKind, field: &'static str, used: bool| async move {
            if !used {
                return Ok(None);
            }
            let grant = svc.authorizer.authorize(&who.principal, Action::Read, entity)?;
            if !grant.may_filter_by(entity, field) {
                return Err(refuse(field));
            }
            svc.records.grant_owners(who, &grant).await
        };
        let deal_owners = records_owners(EntityKind::Deals, "stage", filter.deal_stage.is_some()).await?;
        let purchase_owners = records_owners(EntityKind::Purchases, "total", filter.purchases.is_some()).await?;
        let purpose = request_purpose(&svc.store, who).await?;
        let owners = svc.records.grant_owners(who, &grant).await?;
        Ok(View { purpose, grant, deal_owners, purchase_owners, owners, dpo: who.is_dpo() })
    }
    .await;
    if let Err(e) = &checked {
        if matches!(e.code, ErrorCode::Forbidden | ErrorCode::FieldForbidden | ErrorCode::PurposeNotAllowed) {
            let refused = crate::audit::event::denied(event(who, AuditAction::Read, Some(id), vec!["members".into()]));
            svc.audit.record(vec![refused]).await?;
        }
    }
    checked
}

/// Saves a segment, its definition sealed under a key of its own.
pub async fn create(svc: &Services, who: &Caller, mut input: SegmentInput) -> ApiResult<Segment> {
    svc.authorizer.authorize(&who.principal, Action::Create, EntityKind::Contacts)?;
    input.validate()?;
    if let Some(c) = &input.filter.consent {
        if svc.store.purpose(&c.purpose).await?.is_none() {
            return Err(ApiError::new(
                ErrorCode::UnknownReference,
                "filter.consent.purpose: not in the purposes catalogue",
            ));
        }
    }
    let id = Uuid::new_v4();
    let key = DataKey::generate();
    let plaintext = serde_json::to_vec(&input).map_err(|e| ApiError::internal("segment", e))?;
    let row = SegmentRow {
        id,
        created_by: who.principal.name.clone(),
        created_at: crate::now_millis(),
        sealed: key.seal(&crate::sealing::segment(id), &plaintext),
    };
    crate::sealing::write_with_new_key(&svc.store, &svc.keys, id, &key, |wrapped| {
        let (store, row) = (&svc.store, &row);
        async move { store.insert_segment(row, &wrapped).await }
    })
    .await??;
    svc.audit.record(vec![event(who, AuditAction::Create, Some(id), Vec::new())]).await?;
    Ok(Segment { row, input })
}

/// Every saved segment.
pub async fn list(svc: &Services, who: &Caller) -> ApiResult<Vec<Segment>> {
    svc.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts)?;
    let mut segments = Vec::new();
    for row in svc.store.segments().await? {
        segments.push(open(svc, row).await?);
    }
    Ok(segments)
}

/// One saved segment.
pub async fn get(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<Segment> {
    svc.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts)?;
    load(svc, id).await
}

/// Deletes a segment, with its key.
pub async fn delete(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<()> {
    svc.authorizer.authorize(&who.principal, Action::Delete, EntityKind::Contacts)?;
    if !svc.store.delete_segment(id).await? {
        return Err(ApiError::not_found("segments"));
    }
    svc.audit.record(vec![event(who, AuditAction::Delete, Some(id), Vec::new())]).await?;
    Ok(())
}

/// A page of the allowed members, with the counts of the whole evaluation.
pub struct Members {
    pub purpose: Purpose,
    pub evaluation: Evaluation,
    /// The page's contacts as the caller may see them, each audited as read.
    pub items: Vec<Value>,
    /// The last member shown, when more follow.
    pub last: Option<(i64, Uuid)>,
}

/// Members in (created_at, id) order after `after`; the cursor is the last
/// one shown, so a member leaving between pages shifts nothing.
pub async fn members(
    svc: &Services,
    who: &Caller,
    id: Uuid,
    limit: u32,
    after: Option<(i64, Uuid)>,
) -> ApiResult<Members> {
    let segment = load(svc, id).await?;
    let view = view(svc, who, id, &segment.input.filter).await?;
    let evaluation = evaluate(svc, &segment.input.filter, &view).await?;
    let rest: Vec<&StoredRecord> = evaluation
        .members
        .iter()
        .filter(|r| after.is_none_or(|(at, last)| (r.created_at, r.id) > (at, last)))
        .collect();
    let page: Vec<StoredRecord> = rest.iter().take(limit as usize).map(|r| (*r).clone()).collect();
    let last = match page.last() {
        Some(last) if rest.len() > page.len() => Some((last.created_at, last.id)),
        _ => None,
    };
    let items = svc.records.show_contacts(who, &view.grant, &page).await?;
    svc.audit.record(vec![event(who, AuditAction::Read, Some(id), vec!["members".into()])]).await?;
    Ok(Members { purpose: view.purpose, evaluation, items, last })
}

/// Counts for a filter not saved yet (building a segment): the same
/// evaluation as a saved one's, naming nobody; audited as a preview.
pub async fn preview(svc: &Services, who: &Caller, filter: SegmentFilter) -> ApiResult<(Purpose, Evaluation)> {
    let mut input = SegmentInput { name: "preview".into(), description: None, filter };
    input.validate()?;
    let view = view(svc, who, Uuid::nil(), &input.filter).await?;
    let evaluation = evaluate(svc, &input.filter, &view).await?;
    svc.audit.record(vec![event(who, AuditAction::Read, None, vec!["preview".into(), "count".into()])]).await?;
    Ok((view.purpose, evaluation))
}

/// Counts only: the aggregate analytics and planning need, naming nobody.
pub async fn count(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<(Purpose, Evaluation)> {
    let segment = load(svc, id).await?;
    let view = view(svc, who, id, &segment.input.filter).await?;
    let evaluation = evaluate(svc, &segment.input.filter, &view).await?;
    svc.audit.record(vec![event(who, AuditAction::Read, Some(id), vec!["count".into()])]).await?;
    Ok((view.purpose, evaluation))
}
