//! Segments over HTTP: saved filters over contacts, evaluated for the
//! request's purpose. Members are only the people the policy allows; the
//! others are counted by the reason they were left out, never named.
//! Definitions (names, tags) are sealed under a data key of the segment's own.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::http::api::{id_parameter, json_content, operation, problem_response, Api};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::listing::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::records::request_purpose;
use crate::sealing::to_crypto;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use kith_core::access::Grant;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_core::normalize::tag_key;
use kith_core::policy::{may_process, PersonStatus};
use kith_core::purpose::Purpose;
use kith_core::segment::{ConsentState, PurchaseBounds, SegmentFilter, SegmentInput};
use kith_core::{ClearValue, EntityKind, ErrorCode, IndexField};
use kith_crypto::DataKey;
use kith_store::{ListQuery, Range, SegmentRow, StoredRecord};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Ref, Required, ResponseBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

/// Rows fetched per store query while a segment is evaluated.
const SCAN_PAGE: u32 = 500;
/// People whose status is asked for in one store query.
const STATUS_CHUNK: usize = 500;

fn event(who: &Caller, action: AuditAction, record: Option<Uuid>, fields: Vec<String>) -> AuditEvent {
    audit_event::by(who, action, About { entity: "segments", record, subject: None }, fields)
}

/// A stored segment, opened.
struct Segment {
    row: SegmentRow,
    input: SegmentInput,
}

impl Segment {
    fn render(&self) -> Value {
        json!({
            "id": self.row.id,
            "name": self.input.name,
            "description": self.input.description,
            "filter": self.input.filter,
            "created_by": self.row.created_by,
            "created_at": rfc3339_millis(self.row.created_at),
        })
    }
}

async fn open(state: &AppState, row: SegmentRow) -> ApiResult<Segment> {
    let wrapped = state.store.data_key(row.id).await?.ok_or_else(|| ApiError::not_found("segments"))?;
    let key = state.keys.unwrap(&to_crypto(&wrapped))?;
    let plaintext = key.open(&crate::sealing::segment(row.id), &row.sealed)?;
    let input = serde_json::from_slice(&plaintext).map_err(|_| ApiError::undecodable("segment"))?;
    Ok(Segment { row, input })
}

async fn load(state: &AppState, id: Uuid) -> ApiResult<Segment> {
    let row = state.store.segment(id).await?.ok_or_else(|| ApiError::not_found("segments"))?;
    open(state, row).await
}

/// Every row a query matches, fetched page by page.
async fn scan(state: &AppState, mut query: ListQuery) -> ApiResult<Vec<StoredRecord>> {
    query.limit = SCAN_PAGE;
    let mut all = Vec::new();
    loop {
        let rows = state.store.list(&query).await?;
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
async fn people_with_deal_in(state: &AppState, stage: &str, owners: Option<Vec<String>>) -> ApiResult<HashSet<Uuid>> {
    let mut q = query(EntityKind::Deals, "created_at");
    q.owners = owners;
    q.equals.push(("stage", ClearValue::Text(stage.into())));
    Ok(scan(state, q).await?.into_iter().map(|r| r.subject_id).collect())
}

/// The people whose purchases in the window add up to within the bounds.
/// The total is the sort column, so the rows carry it without being opened.
async fn people_by_purchases(
    state: &AppState,
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
    for row in scan(state, q).await? {
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
struct Evaluation {
    /// Allowed members, oldest contact first.
    members: Vec<StoredRecord>,
    /// People the filter matched.
    matched: usize,
    /// Matched people left out, by the code of the reason.
    excluded: BTreeMap<&'static str, u64>,
}

async fn evaluate(state: &AppState, filter: &SegmentFilter, view: &View) -> ApiResult<Evaluation> {
    let ring = state.keys.current();
    let mut contacts = query(EntityKind::Contacts, "created_at");
    contacts.owners = view.owners.clone();
    contacts.terms = filter.tags.iter().map(|t| ring.blind_term(IndexField::Tag.as_str(), &tag_key(t))).collect();
    if let Some(company) = filter.company_id {
        contacts.equals.push(("company_id", ClearValue::Text(company.to_string())));
    }
    let with_deal = match filter.deal_stage {
        Some(stage) => Some(people_with_deal_in(state, stage.as_str(), view.deal_owners.clone()).await?),
        None => None,
    };
    let by_purchases = match &filter.purchases {
        Some(p) => Some(people_by_purchases(state, &p.bounds(), view.purchase_owners.clone()).await?),
        None => None,
    };
    let candidates: Vec<StoredRecord> = scan(state, contacts)
        .await?
        .into_iter()
        .filter(|r| with_deal.as_ref().is_none_or(|set| set.contains(&r.id)))
        .filter(|r| by_purchases.as_ref().is_none_or(|set| set.contains(&r.id)))
        .collect();
    let mut statuses: HashMap<Uuid, PersonStatus> = HashMap::new();
    for chunk in candidates.chunks(STATUS_CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|r| r.id).collect();
        statuses.extend(state.store.statuses(&ids, &*crate::consent_seal::sealer(&state.keys)).await?);
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
async fn view(state: &AppState, who: &Caller, id: Uuid, filter: &SegmentFilter) -> ApiResult<View> {
    let checked = async {
        let grant = state.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts)?;
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
            let grant = state.authorizer.authorize(&who.principal, Action::Read, entity)?;
            if !grant.may_filter_by(entity, field) {
                return Err(refuse(field));
            }
            state.records.grant_owners(who, &grant).await
        };
        let deal_owners = records_owners(EntityKind::Deals, "stage", filter.deal_stage.is_some()).await?;
        let purchase_owners = records_owners(EntityKind::Purchases, "total", filter.purchases.is_some()).await?;
        let purpose = request_purpose(&state.store, who).await?;
        let owners = state.records.grant_owners(who, &grant).await?;
        Ok(View { purpose, grant, deal_owners, purchase_owners, owners, dpo: who.is_dpo() })
    }
    .await;
    if let Err(e) = &checked {
        if matches!(e.code, ErrorCode::Forbidden | ErrorCode::FieldForbidden | ErrorCode::PurposeNotAllowed) {
            let mut refused = event(who, AuditAction::Read, Some(id), vec!["members".into()]);
            refused.outcome = AuditOutcome::Denied;
            state.audit.record(vec![refused]).await?;
        }
    }
    checked
}

async fn create(
    State(state): State<AppState>,
    who: Caller,
    ApiJson(mut input): ApiJson<SegmentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.authorizer.authorize(&who.principal, Action::Create, EntityKind::Contacts)?;
    input.validate()?;
    if let Some(c) = &input.filter.consent {
        if state.store.purpose(&c.purpose).await?.is_none() {
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
    crate::sealing::write_with_new_key(&state.store, &state.keys, id, &key, |wrapped| {
        let (store, row) = (&state.store, &row);
        async move { store.insert_segment(row, &wrapped).await }
    })
    .await??;
    state.audit.record(vec![event(&who, AuditAction::Create, Some(id), Vec::new())]).await?;
    Ok((StatusCode::CREATED, Json(Segment { row, input }.render())))
}

async fn list(State(state): State<AppState>, who: Caller) -> ApiResult<Json<Value>> {
    state.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts)?;
    let mut items = Vec::new();
    for row in state.store.segments().await? {
        items.push(open(&state, row).await?.render());
    }
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn get(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.authorizer.authorize(&who.principal, Action::Read, EntityKind::Contacts)?;
    Ok(Json(load(&state, crate::http::extract::path_id(&id)?).await?.render()))
}

async fn delete(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = crate::http::extract::path_id(&id)?;
    state.authorizer.authorize(&who.principal, Action::Delete, EntityKind::Contacts)?;
    if !state.store.delete_segment(id).await? {
        return Err(ApiError::not_found("segments"));
    }
    state.audit.record(vec![event(&who, AuditAction::Delete, Some(id), Vec::new())]).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberParams {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The summary every evaluation answers with: no person is named in it.
fn summary(purpose: &Purpose, e: &Evaluation) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    out.insert("purpose".into(), json!(purpose.key));
    out.insert("matched".into(), json!(e.matched));
    out.insert("members".into(), json!(e.members.len()));
    out.insert("excluded".into(), json!(e.excluded));
    out
}

/// A page of the allowed members (full contact records, each audited as
/// read) with the counts of the whole evaluation.
async fn members(
    State(state): State<AppState>,
    who: Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<MemberParams>,
) -> ApiResult<Json<Value>> {
    let id = crate::http::extract::path_id(&id)?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidQuery, format!("limit: between 1 and {MAX_LIMIT}")));
    }
    let after = params.cursor.as_deref().map(parse_cursor).transpose()?;
    let segment = load(&state, id).await?;
    let view = view(&state, &who, id, &segment.input.filter).await?;
    let evaluation = evaluate(&state, &segment.input.filter, &view).await?;
    // Members come in (created_at, id) order; the cursor is the last one
    // shown, so a member leaving between pages shifts nothing.
    let rest: Vec<&StoredRecord> = evaluation
        .members
        .iter()
        .filter(|r| after.is_none_or(|(at, last)| (r.created_at, r.id) > (at, last)))
        .collect();
    let page: Vec<StoredRecord> = rest.iter().take(limit as usize).map(|r| (*r).clone()).collect();
    let next_cursor = match page.last() {
        Some(last) if rest.len() > page.len() => Some(cursor_after(last)),
        _ => None,
    };
    let items = state.records.show_contacts(&who, &view.grant, &page).await?;
    state.audit.record(vec![event(&who, AuditAction::Read, Some(id), vec!["members".into()])]).await?;
    let mut body = summary(&view.purpose, &evaluation);
    body.insert("items".into(), Value::Array(items));
    body.insert("next_cursor".into(), json!(next_cursor));
    Ok(Json(Value::Object(body)))
}

fn cursor_after(last: &StoredRecord) -> String {
    encode_cursor(last.created_at, last.id)
}

/// A cursor naming the last item shown by a time and an id; lists ordered
/// by (time, id) continue after it.
pub(crate) fn encode_cursor(at: i64, id: Uuid) -> String {
    B64URL.encode(format!("{at}:{id}"))
}

/// The (time, id) of a cursor [`encode_cursor`] gave out.
pub(crate) fn parse_cursor(raw: &str) -> ApiResult<(i64, Uuid)> {
    let invalid = || ApiError::new(ErrorCode::InvalidCursor, "cursor: not a cursor this list gave out");
    let text = B64URL.decode(raw).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let (at, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, Uuid::parse_str(id).map_err(|_| invalid())?))
}

/// Counts only: the aggregate analytics and planning need, naming nobody.
async fn count(State(state): State<AppState>, who: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = crate::http::extract::path_id(&id)?;
    let segment = load(&state, id).await?;
    let view = view(&state, &who, id, &segment.input.filter).await?;
    let evaluation = evaluate(&state, &segment.input.filter, &view).await?;
    state.audit.record(vec![event(&who, AuditAction::Read, Some(id), vec!["count".into()])]).await?;
    Ok(Json(Value::Object(summary(&view.purpose, &evaluation))))
}

/// The segment routes, added to `api`.
pub fn routes(mut api: Api) -> Api {
    let mut nested = Vec::new();
    <SegmentInput as ToSchema>::schemas(&mut nested);
    api.schemas.extend(nested);
    api.schemas.push(("SegmentInput".into(), <SegmentInput as utoipa::PartialSchema>::schema()));
    let ok = |what: &str| ResponseBuilder::new().description(what).build();
    let body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("application/json", json_content(Ref::from_schema_name("SegmentInput")))
        .build();
    api.route(
        HttpMethod::Post,
        "/api/v1/segments",
        create,
        operation("create_segment", "segments", "Save a filter over contacts")
            .request_body(Some(body))
            .response("201", ok("saved"))
            .response("422", problem_response("an invalid filter"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/segments",
        list,
        operation("list_segments", "segments", "The saved segments").response("200", ok("the segments")).build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/segments/{id}",
        get,
        operation("get_segment", "segments", "One segment")
            .parameter(id_parameter())
            .response("200", ok("the segment"))
            .response("404", problem_response("no such segment"))
            .build(),
    )
    .route(
        HttpMethod::Delete,
        "/api/v1/segments/{id}",
        delete,
        operation("delete_segment", "segments", "Delete a segment")
            .parameter(id_parameter())
            .response("204", ok("deleted"))
            .response("404", problem_response("no such segment"))
            .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/segments/{id}/members",
        members,
        operation(
            "segment_members",
            "segments",
            "The members the request's purpose allows, with counts of those left out by reason",
        )
        .parameter(id_parameter())
        .response("200", ok("a page of members and the counts"))
        .response("404", problem_response("no such segment"))
        .build(),
    )
    .route(
        HttpMethod::Get,
        "/api/v1/segments/{id}/count",
        count,
        operation("segment_count", "segments", "How many people the segment matches, allows and leaves out, by reason")
            .parameter(id_parameter())
            .response("200", ok("the counts"))
            .response("404", problem_response("no such segment"))
            .build(),
    )
}
