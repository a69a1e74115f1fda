//! Retention (Art. 5(1)(e)): how long a person's data may be kept, and
//! how long records of a category with a period of its own may be.
//!
//! A person is kept while any purpose their data is held for still runs:
//! every purpose on a basis other than consent, unless they objected to
//! it, and every consent-based purpose they currently consent to. A
//! purpose runs `retention_days` from the person's last relevant activity:
//! the newest of their record's creation or change, an interaction, a
//! purchase, a deal's change and a consent given or withdrawn. Records of
//! a category with its own period (purchases kept ten years for tax law,
//! say) keep the person too, until the newest of them has run its period;
//! on their own they go when their period ends, the person staying.

use crate::purpose::LawfulBasis;
use crate::purpose::Purpose;

pub const DAY_MS: i64 = 86_400_000;

/// Periods of categories that have their own (days), from `[retention]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CategoryPeriods {
    pub interactions_days: Option<u32>,
    pub purchases_days: Option<u32>,
    pub deals_days: Option<u32>,
}

/// What retention needs to know of a person: times (ms) and names, no value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonFacts {
    pub created_at: i64,
    pub updated_at: i64,
    pub last_interaction: Option<i64>,
    pub last_purchase: Option<i64>,
    pub last_deal: Option<i64>,
    pub last_consent: Option<i64>,
    /// Purposes the person currently consents to.
    pub granted: Vec<String>,
    /// Purposes the person objected to (`marketing` stands for all direct marketing).
    pub objected: Vec<String>,
    /// An exception to erasure (a legal hold, an Art. 17(3) ground) is recorded.
    pub held: bool,
}

/// What retention decides about a person at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Kept until this time (ms).
    Keep { until: i64 },
    /// Due since this time, but an exception to erasure holds them.
    Held { since: i64 },
    /// Due since this time: to be erased.
    Due { since: i64 },
}

fn objected_to(facts: &PersonFacts, key: &str) -> bool {
    facts.objected.iter().any(|o| o == key || (o == "marketing" && key.starts_with("marketing.")))
}

/// The purposes the person's data is held for.
pub fn purposes_held_for<'p>(facts: &PersonFacts, purposes: &'p [Purpose]) -> Vec<&'p Purpose> {
    purposes
        .iter()
        .filter(|p| p.lawful_basis != LawfulBasis::Consent || facts.granted.contains(&p.key))
        .filter(|p| !objected_to(facts, &p.key))
        .collect()
}

/// The person's last relevant activity (ms).
pub fn last_activity(facts: &PersonFacts) -> i64 {
    [
        Some(facts.created_at),
        Some(facts.updated_at),
        facts.last_interaction,
        facts.last_purchase,
        facts.last_deal,
        facts.last_consent,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0)
}

fn plus_days(at: i64, days: u32) -> i64 {
    at.saturating_add(i64::from(days) * DAY_MS)
}

/// Until when the person may be kept: the latest end of a purpose held
/// for, and of the newest record of each category with its own period.
pub fn kept_until(facts: &PersonFacts, purposes: &[Purpose], periods: CategoryPeriods) -> i64 {
    let last = last_activity(facts);
    let by_purpose = purposes_held_for(facts, purposes).iter().map(|p| plus_days(last, p.retention_days)).max();
    let by_category = [
        facts.last_interaction.zip(periods.interactions_days),
        facts.last_purchase.zip(periods.purchases_days),
        facts.last_deal.zip(periods.deals_days),
    ]
    .into_iter()
    .flatten()
    .map(|(at, days)| plus_days(at, days));
    // Held for no purpose at all: nothing justifies keeping them past now.
    by_purpose.into_iter().chain(by_category).max().unwrap_or(last)
}

pub fn verdict(facts: &PersonFacts, purposes: &[Purpose], periods: CategoryPeriods, now: i64) -> Verdict {
    let until = kept_until(facts, purposes, periods);
    match (until <= now, facts.held) {
        (false, _) => Verdict::Keep { until },
        (true, true) => Verdict::Held { since: until },
        (true, false) => Verdict::Due { since: until },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purposes() -> Vec<Purpose> {
        crate::purpose::defaults()
    }

    const YEAR: i64 = 365 * DAY_MS;

    #[test]
    fn a_person_goes_when_the_longest_purpose_held_for_has_run_from_the_last_activity() {
        // The defaults: service delivery (contract) runs 2555 days, the longest.
        let facts = PersonFacts { created_at: 0, updated_at: YEAR, ..Default::default() };
        let until = YEAR + 2555 * DAY_MS;
        assert_eq!(verdict(&facts, &purposes(), CategoryPeriods::default(), until - 1), Verdict::Keep { until });
        assert_eq!(verdict(&facts, &purposes(), CategoryPeriods::default(), until), Verdict::Due { since: until });
        let held = PersonFacts { held: true, ..facts.clone() };
        assert_eq!(verdict(&held, &purposes(), CategoryPeriods::default(), until), Verdict::Held { since: until });
        // A later interaction moves the clock.
        let active = PersonFacts { last_interaction: Some(2 * YEAR), ..facts };
        assert_eq!(kept_until(&active, &purposes(), CategoryPeriods::default()), 2 * YEAR + 2555 * DAY_MS);
    }

    #[test]
    fn consent_purposes_count_only_while_granted_and_objections_remove_a_purpose() {
        let only_marketing = vec![purposes().remove(3)];
        assert_eq!(only_marketing[0].key, "marketing.communications.email");
        let facts = PersonFacts { created_at: 0, updated_at: 0, ..Default::default() };
        assert!(purposes_held_for(&facts, &only_marketing).is_empty(), "no consent, not held for it");
        assert_eq!(kept_until(&facts, &only_marketing, CategoryPeriods::default()), 0);
        let granted = PersonFacts { granted: vec!["marketing.communications.email".into()], ..facts.clone() };
        assert_eq!(kept_until(&granted, &only_marketing, CategoryPeriods::default()), 730 * DAY_MS);
        let objected = PersonFacts { objected: vec!["marketing".into()], ..granted };
        assert!(purposes_held_for(&objected, &only_marketing).is_empty());
        let sales = vec![purposes().remove(1)];
        let objected = PersonFacts { objected: vec!["sales".into()], ..facts };
        assert!(purposes_held_for(&objected, &sales).is_empty(), "legitimate interests yield to the objection");
    }

    #[test]
    fn a_category_with_its_own_period_keeps_the_person_until_its_newest_record_has_run() {
        let marketing_only = vec![purposes().remove(3)];
        let facts = PersonFacts {
            created_at: 0,
            updated_at: 0,
            granted: vec!["marketing.communications.email".into()],
            last_purchase: Some(YEAR),
            ..Default::default()
        };
        let tax = CategoryPeriods { purchases_days: Some(3650), ..Default::default() };
        assert_eq!(kept_until(&facts, &marketing_only, tax), YEAR + 3650 * DAY_MS);
        // Without a period of its own, a purchase is activity like any other.
        assert_eq!(kept_until(&facts, &marketing_only, CategoryPeriods::default()), YEAR + 730 * DAY_MS);
    }
}
