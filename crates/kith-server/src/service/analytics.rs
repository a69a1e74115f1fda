//! Aggregates for the business: revenue by month and currency, the
//! pipeline funnel, cohorts by first purchase, interactions per owner.
//! Computed from clear columns (amounts, currencies, stages, times,
//! owners; nothing is opened) of the records the caller's grant reaches,
//! about the people the request's purpose allows (restriction keeps a
//! person out, as in exports), with small cells suppressed
//! (`kith_core::analytics`). Each report is audited as one aggregate read.

use crate::audit::event::{self as audit_event, About};
use crate::auth::caller::Caller;
use crate::auth::purpose::request_purpose;
use crate::auth::Action;
use crate::clock::rfc3339_millis;
use crate::error::{ApiError, ApiResult};
use crate::service::Services;
use kith_core::analytics::{
    self, CohortRow, DealFact, Figure, Funnel, InteractionFact, OwnerRow, PurchaseFact, RevenueCell,
};
use kith_core::audit::AuditAction;
use kith_core::model::DealStage;
use kith_core::policy::may_process;
use kith_core::{ClearValue, EntityKind};
use kith_store::ClearRow;
use serde::Serialize;
use std::collections::HashSet;
use utoipa::ToSchema;
use uuid::Uuid;

/// The time window a report covers (milliseconds; either end open).
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Window {
    fn holds(&self, at: i64) -> bool {
        self.from.is_none_or(|f| at >= f) && self.to.is_none_or(|t| at < t)
    }
}

/// What every report says about itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Basis {
    /// The purpose the people were selected for.
    pub purpose: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// People behind the figures (`"<5"` for one to four).
    pub people: Figure,
    /// Cells of fewer people than this show `"<5"`.
    pub min_people: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevenueReport {
    #[serde(flatten)]
    pub basis: Basis,
    pub cells: Vec<RevenueCell>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortReport {
    #[serde(flatten)]
    pub basis: Basis,
    pub cohorts: Vec<CohortRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelReport {
    #[serde(flatten)]
    pub basis: Basis,
    #[serde(flatten)]
    pub funnel: Funnel,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnerReport {
    #[serde(flatten)]
    pub basis: Basis,
    pub owners: Vec<OwnerRow>,
}

/// A clear column of a row by name.
fn column<'a>(entity: EntityKind, row: &'a ClearRow, name: &str) -> &'a ClearValue {
    let at = entity.columns().iter().position(|c| c.name == name);
    at.and_then(|i| row.columns.get(i)).unwrap_or(&ClearValue::Null)
}

fn person(entity: EntityKind, row: &ClearRow) -> Option<Uuid> {
    match column(entity, row, "contact_id") {
        ClearValue::Text(id) => Uuid::parse_str(id).ok(),
        _ => None,
    }
}

fn int(value: &ClearValue) -> i64 {
    match value {
        ClearValue::Int(i) => *i,
        _ => 0,
    }
}

fn text(value: &ClearValue) -> Option<String> {
    match value {
        ClearValue::Text(t) => Some(t.clone()),
        _ => None,
    }
}

/// The rows of `entity` the caller's grant reaches, the people among them
/// the request's purpose allows, and the purpose.
async fn selected(
    svc: &Services,
    who: &Caller,
    entity: EntityKind,
) -> ApiResult<(Vec<ClearRow>, HashSet<Uuid>, String)> {
    let grant = svc.authorizer.authorize(&who.principal, Action::Read, entity)?;
    let purpose = request_purpose(&svc.store, who).await?;
    let owners = svc.records.grant_owners(who, &grant).await?;
    let rows = svc.store.clear_rows(entity, owners.as_deref()).await?;
    let mut people: Vec<Uuid> = rows.iter().filter_map(|r| person(entity, r)).collect();
    people.sort();
    people.dedup();
    let statuses = svc.store.statuses(&people, &*crate::consent_seal::sealer(&svc.keys)).await?;
    // An aggregate is processing like an export: restriction holds even for the DPO.
    let allowed = people
        .into_iter()
        .filter(|p| may_process(&purpose, &statuses.get(p).cloned().unwrap_or_default(), false).is_ok())
        .collect();
    Ok((rows, allowed, purpose.key))
}

async fn audited(svc: &Services, who: &Caller, report: &str, people: usize) -> ApiResult<()> {
    let fields = vec!["aggregate".to_string(), format!("report:{report}"), format!("people:{people}")];
    svc.audit.record(vec![audit_event::by(who, AuditAction::Read, About::entity("analytics"), fields)]).await
}

fn basis(purpose: String, window: Window, people: usize) -> Basis {
    Basis {
        purpose,
        from: window.from.map(rfc3339_millis),
        to: window.to.map(rfc3339_millis),
        people: analytics::people_figure(people),
        min_people: analytics::MIN_PEOPLE as u64,
    }
}

async fn purchases(svc: &Services, who: &Caller, window: Window) -> ApiResult<(Vec<PurchaseFact>, String)> {
    let kind = EntityKind::Purchases;
    let (rows, allowed, purpose) = selected(svc, who, kind).await?;
    let facts = rows
        .iter()
        .filter_map(|r| {
            let person = person(kind, r).filter(|p| allowed.contains(p))?;
            let at = int(column(kind, r, "purchased_at"));
            window.holds(at).then(|| PurchaseFact {
                person,
                currency: text(column(kind, r, "currency")).unwrap_or_default(),
                total: int(column(kind, r, "total")),
                at,
            })
        })
        .collect();
    Ok((facts, purpose))
}

fn people_in<T>(facts: &[T], of: impl Fn(&T) -> Option<Uuid>) -> usize {
    facts.iter().filter_map(of).collect::<HashSet<_>>().len()
}

pub async fn revenue(svc: &Services, who: &Caller, window: Window) -> ApiResult<RevenueReport> {
    let (facts, purpose) = purchases(svc, who, window).await?;
    let people = people_in(&facts, |f| Some(f.person));
    audited(svc, who, "revenue", people).await?;
    Ok(RevenueReport { basis: basis(purpose, window, people), cells: analytics::revenue(&facts) })
}

pub async fn cohorts(svc: &Services, who: &Caller, window: Window) -> ApiResult<CohortReport> {
    let (facts, purpose) = purchases(svc, who, window).await?;
    let people = people_in(&facts, |f| Some(f.person));
    audited(svc, who, "cohorts", people).await?;
    Ok(CohortReport { basis: basis(purpose, window, people), cohorts: analytics::cohorts(&facts) })
}

/// Deals created in the window.
pub async fn funnel(svc: &Services, who: &Caller, window: Window) -> ApiResult<FunnelReport> {
    let kind = EntityKind::Deals;
    let (rows, allowed, purpose) = selected(svc, who, kind).await?;
    let facts: Vec<DealFact> = rows
        .iter()
        .filter(|r| window.holds(r.created_at))
        .filter_map(|r| {
            // A deal about a person the purpose does not allow is left out;
            // one with a company only is not about a person.
            let person = person(kind, r);
            if person.is_some_and(|p| !allowed.contains(&p)) {
                return None;
            }
            let stage: DealStage = serde_json::from_value(serde_json::json!(text(column(kind, r, "stage"))?)).ok()?;
            Some(DealFact {
                person,
                stage,
                currency: text(column(kind, r, "currency")),
                amount: int(column(kind, r, "amount")),
                changed_at: r.updated_at,
            })
        })
        .collect();
    let people = people_in(&facts, |f| f.person);
    audited(svc, who, "funnel", people).await?;
    Ok(FunnelReport { basis: basis(purpose, window, people), funnel: analytics::funnel(&facts, crate::now_millis()) })
}

/// Interactions that took place in the window.
pub async fn interactions(svc: &Services, who: &Caller, window: Window) -> ApiResult<OwnerReport> {
    let kind = EntityKind::Interactions;
    let (rows, allowed, purpose) = selected(svc, who, kind).await?;
    let facts: Vec<InteractionFact> = rows
        .iter()
        .filter(|r| window.holds(int(column(kind, r, "occurred_at"))))
        .filter_map(|r| {
            Some(InteractionFact {
                person: person(kind, r).filter(|p| allowed.contains(p))?,
                owner: r.owner.clone().unwrap_or_default(),
                kind: text(column(kind, r, "kind")).unwrap_or_default(),
            })
        })
        .collect();
    let people = people_in(&facts, |f| Some(f.person));
    audited(svc, who, "interactions", people).await?;
    Ok(OwnerReport { basis: basis(purpose, window, people), owners: analytics::per_owner(&facts) })
}

/// A window from optional RFC 3339 bounds; `to` after `from`.
pub fn window(from: Option<&str>, to: Option<&str>) -> ApiResult<Window> {
    let window = Window { from: crate::clock::query_time("from", from)?, to: crate::clock::query_time("to", to)? };
    if let (Some(f), Some(t)) = (window.from, window.to) {
        if t <= f {
            return Err(ApiError::new(kith_core::ErrorCode::InvalidQuery, "to: after from"));
        }
    }
    Ok(window)
}
