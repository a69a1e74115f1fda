//! Aggregates over the people a purpose allows: revenue by month and
//! currency, the pipeline funnel, customer cohorts by first purchase
//! month, interactions per owner. Every cell that counts between one and
//! four people is suppressed (`"<5"`), with every figure that comes from
//! it, so no figure singles out a person. Pure: the caller selects the
//! rows (clear columns only: amounts, currencies, stages, times, owners).

use crate::model::DealStage;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Cells of fewer people than this are suppressed.
pub const MIN_PEOPLE: usize = 5;
/// What a suppressed figure shows.
pub const SUPPRESSED: &str = "<5";

/// A count, an amount or a rate, or `"<5"` where fewer than five people are behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Figure {
    Count(u64),
    Text(String),
}

impl Figure {
    fn suppressed() -> Self {
        Self::Text(SUPPRESSED.into())
    }

    pub fn is_suppressed(&self) -> bool {
        matches!(self, Self::Text(t) if t == SUPPRESSED)
    }
}

/// Whether a cell of `people` must be hidden: zero people single out no
/// one; one to four might.
fn hidden(people: usize) -> bool {
    (1..MIN_PEOPLE).contains(&people)
}

/// How many people are behind a report, or `"<5"`.
pub fn people_figure(people: usize) -> Figure {
    count(people, hidden(people))
}

fn count(n: usize, hide: bool) -> Figure {
    if hide {
        Figure::suppressed()
    } else {
        Figure::Count(n as u64)
    }
}

fn amount(scaled: i128, hide: bool) -> Figure {
    if hide {
        return Figure::suppressed();
    }
    let value = i64::try_from(scaled).map(|s| Decimal::new(s, crate::values::DECIMAL_SCALE)).unwrap_or(Decimal::MAX);
    Figure::Text(value.round_dp(2).to_string())
}

/// A share in percent, one decimal place; suppressed with either count.
fn rate(part: usize, whole: usize, hide: bool) -> Figure {
    if hide || whole == 0 {
        return if hide { Figure::suppressed() } else { Figure::Text("0.0".into()) };
    }
    Figure::Text(format!("{:.1}", part as f64 * 100.0 / whole as f64))
}

/// `2026-11` for a time in milliseconds.
pub fn month_of(millis: i64) -> String {
    let t =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

/// Months from `from` to `to` (`2026-01` to `2026-03` is 2).
fn months_between(from: &str, to: &str) -> i64 {
    let parse = |m: &str| {
        let (y, mo) = m.split_once('-').unwrap_or(("0", "0"));
        y.parse::<i64>().unwrap_or(0) * 12 + mo.parse::<i64>().unwrap_or(0)
    };
    parse(to) - parse(from)
}

/// A purchase as analytics sees it.
#[derive(Debug, Clone)]
pub struct PurchaseFact {
    pub person: Uuid,
    pub currency: String,
    /// The total in ten-thousandths.
    pub total: i64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevenueCell {
    pub month: String,
    pub currency: String,
    pub people: Figure,
    pub purchases: Figure,
    pub revenue: Figure,
}

/// Revenue by month and currency, oldest month first.
pub fn revenue(facts: &[PurchaseFact]) -> Vec<RevenueCell> {
    let mut cells: BTreeMap<(String, String), (HashSet<Uuid>, usize, i128)> = BTreeMap::new();
    for f in facts {
        let cell = cells.entry((month_of(f.at), f.currency.clone())).or_default();
        cell.0.insert(f.person);
        cell.1 += 1;
        cell.2 += i128::from(f.total);
    }
    cells
        .into_iter()
        .map(|((month, currency), (people, purchases, total))| {
            let hide = hidden(people.len());
            RevenueCell {
                month,
                currency,
                people: count(people.len(), hide),
                purchases: count(purchases, hide),
                revenue: amount(total, hide),
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CohortRow {
    /// The month of the people's first purchase.
    pub cohort: String,
    pub people: Figure,
    /// People who bought again in a later month, and their share.
    pub returned: Figure,
    pub repeat_rate: Figure,
    /// People buying in each month after the first (1 to 12 months on), as far as the data reaches.
    pub months_after: Vec<Figure>,
}

/// Customers by the month of their first purchase, with how many came back.
pub fn cohorts(facts: &[PurchaseFact]) -> Vec<CohortRow> {
    let mut months: BTreeMap<Uuid, BTreeSet<String>> = BTreeMap::new();
    for f in facts {
        months.entry(f.person).or_default().insert(month_of(f.at));
    }
    let last = facts.iter().map(|f| month_of(f.at)).max().unwrap_or_default();
    let mut cohorts: BTreeMap<String, Vec<&BTreeSet<String>>> = BTreeMap::new();
    for bought in months.values() {
        if let Some(first) = bought.iter().next() {
            cohorts.entry(first.clone()).or_default().push(bought);
        }
    }
    cohorts
        .into_iter()
        .map(|(cohort, people)| {
            let size = people.len();
            let hide = hidden(size);
            let returned = people.iter().filter(|m| m.len() > 1).count();
            let reach = months_between(&cohort, &last).clamp(0, 12);
            let months_after = (1..=reach)
                .map(|k| {
                    let active =
                        people.iter().filter(|bought| bought.iter().any(|m| months_between(&cohort, m) == k)).count();
                    count(active, hide || hidden(active))
                })
                .collect();
            let hide_returned = hide || hidden(returned);
            CohortRow {
                cohort,
                people: count(size, hide),
                returned: count(returned, hide_returned),
                repeat_rate: rate(returned, size, hide_returned),
                months_after,
            }
        })
        .collect()
}

/// A deal as analytics sees it.
#[derive(Debug, Clone)]
pub struct DealFact {
    pub person: Option<Uuid>,
    pub stage: DealStage,
    pub currency: Option<String>,
    /// The amount in ten-thousandths (0 when none).
    pub amount: i64,
    /// When it last changed, in milliseconds.
    pub changed_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StageCell {
    pub stage: String,
    pub deals: Figure,
    pub people: Figure,
    /// The amounts by currency.
    pub amounts: BTreeMap<String, Figure>,
    /// Open or won deals at this stage or a later one. Lost deals are left
    /// out: where they were lost is not kept, and counting them here would
    /// let their number be read off as a difference.
    pub reached: Figure,
    /// The share of the previous stage's deals that reached this one.
    pub conversion: Figure,
    /// Median days since the deals of this stage last changed: how long they have stood here.
    pub median_days_in_stage: Figure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Funnel {
    pub stages: Vec<StageCell>,
    /// Won among closed deals (won and lost).
    pub win_rate: Figure,
}

const OPEN_ORDER: [DealStage; 5] =
    [DealStage::Lead, DealStage::Qualified, DealStage::Proposal, DealStage::Negotiation, DealStage::Won];

/// The pipeline: deals by stage, how far they got, how long they stand.
pub fn funnel(facts: &[DealFact], now: i64) -> Funnel {
    let people_of = |deals: &[&DealFact]| deals.iter().filter_map(|d| d.person).collect::<HashSet<_>>().len();
    let at = |stage: DealStage| facts.iter().filter(|d| d.stage == stage).collect::<Vec<_>>();
    let rank = |s: DealStage| OPEN_ORDER.iter().position(|o| *o == s);
    let reached = |stage: DealStage| {
        let r = rank(stage);
        facts
            .iter()
            .filter(|d| match (rank(d.stage), r) {
                (Some(have), Some(want)) => have >= want,
                (None, None) => d.stage == stage,
                _ => false,
            })
            .collect::<Vec<_>>()
    };
    // A stage's own count is the difference of two reach figures: with
    // any stage hidden, every reach and conversion figure is too.
    let any_hidden = OPEN_ORDER.iter().chain([DealStage::Lost].iter()).any(|s| hidden(people_of(&at(*s))));
    let mut stages = Vec::new();
    let mut previous: Option<usize> = None;
    for stage in OPEN_ORDER.iter().copied().chain([DealStage::Lost]) {
        let here = at(stage);
        let hide = hidden(people_of(&here));
        let mut amounts: BTreeMap<String, (i128, HashSet<Uuid>)> = BTreeMap::new();
        for d in &here {
            if let Some(currency) = &d.currency {
                let cell = amounts.entry(currency.clone()).or_default();
                cell.0 += i128::from(d.amount);
                cell.1.extend(d.person);
            }
        }
        let mut days: Vec<i64> = here.iter().map(|d| (now - d.changed_at).max(0) / 86_400_000).collect();
        days.sort_unstable();
        let reach = reached(stage);
        let conversion = match (stage, previous) {
            (DealStage::Lost, _) | (_, None) if !any_hidden => Figure::Text("100.0".into()),
            (_, Some(before)) if stage != DealStage::Lost => rate(reach.len(), before, any_hidden),
            _ => Figure::suppressed(),
        };
        if stage != DealStage::Lost {
            previous = Some(reach.len());
        }
        stages.push(StageCell {
            stage: stage.as_str().into(),
            deals: count(here.len(), hide),
            people: count(people_of(&here), hide),
            // One currency's amount among a few people is their amount.
            amounts: amounts.into_iter().map(|(c, (a, people))| (c, amount(a, hide || hidden(people.len())))).collect(),
            reached: count(reach.len(), any_hidden),
            conversion,
            median_days_in_stage: match days.get(days.len() / 2) {
                Some(median) if !hide => Figure::Count(*median as u64),
                Some(_) => Figure::suppressed(),
                None => Figure::Count(0),
            },
        });
    }
    let won = at(DealStage::Won);
    let lost = at(DealStage::Lost);
    // The rate and the won count would give the lost count away: both cells must show.
    let hide = hidden(people_of(&won)) || hidden(people_of(&lost));
    Funnel { stages, win_rate: rate(won.len(), won.len() + lost.len(), hide) }
}

/// An interaction as analytics sees it.
#[derive(Debug, Clone)]
pub struct InteractionFact {
    pub person: Uuid,
    pub owner: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnerRow {
    pub owner: String,
    pub interactions: Figure,
    pub people: Figure,
    /// Interactions by kind (call, email, meeting, note, task).
    pub kinds: BTreeMap<String, Figure>,
}

/// Interactions per owner, the busiest first.
pub fn per_owner(facts: &[InteractionFact]) -> Vec<OwnerRow> {
    /// One owner's people, interactions and interactions by kind.
    #[derive(Default)]
    struct Tally {
        people: HashSet<Uuid>,
        n: usize,
        kinds: BTreeMap<String, (usize, HashSet<Uuid>)>,
    }
    let mut owners: BTreeMap<&str, Tally> = BTreeMap::new();
    for f in facts {
        let row = owners.entry(&f.owner).or_default();
        row.people.insert(f.person);
        row.n += 1;
        let kind = row.kinds.entry(f.kind.clone()).or_default();
        kind.0 += 1;
        kind.1.insert(f.person);
    }
    let mut rows: Vec<(usize, OwnerRow)> = owners
        .into_iter()
        .map(|(owner, Tally { people, n, kinds })| {
            let hide = hidden(people.len());
            // A hidden kind would be the total less the others: one hides them all.
            let hide_kinds = hide || kinds.values().any(|(_, p)| hidden(p.len()));
            let row = OwnerRow {
                owner: owner.to_string(),
                interactions: count(n, hide),
                people: count(people.len(), hide),
                kinds: kinds.into_iter().map(|(k, (c, _))| (k, count(c, hide_kinds))).collect(),
            };
            (n, row)
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.owner.cmp(&b.1.owner)));
    rows.into_iter().map(|(_, row)| row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    /// 2026-01-15 and the same day in later months.
    fn month(k: i64) -> i64 {
        1_768_435_200_000 + k * 31 * DAY
    }

    fn people(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    fn purchase(person: Uuid, currency: &str, total: i64, at: i64) -> PurchaseFact {
        PurchaseFact { person, currency: currency.into(), total, at }
    }

    #[test]
    fn revenue_cells_of_fewer_than_five_people_are_suppressed_whole() {
        let mut facts: Vec<PurchaseFact> =
            people(6).into_iter().map(|p| purchase(p, "EUR", 100_000, month(0))).collect();
        facts.push(purchase(Uuid::from_u128(1), "EUR", 50_000, month(0)));
        facts.extend(people(2).into_iter().map(|p| purchase(p, "USD", 990_000, month(0))));
        let cells = revenue(&facts);
        assert_eq!(cells.len(), 2);
        assert_eq!(
            cells[0],
            RevenueCell {
                month: "2026-01".into(),
                currency: "EUR".into(),
                people: Figure::Count(6),
                purchases: Figure::Count(7),
                revenue: Figure::Text("65.00".into()),
            }
        );
        let usd = &cells[1];
        assert!(usd.people.is_suppressed() && usd.purchases.is_suppressed() && usd.revenue.is_suppressed());
        assert_eq!(serde_json::to_value(&usd.revenue).unwrap(), serde_json::json!("<5"));
    }

    #[test]
    fn cohorts_count_who_came_back_and_hide_small_groups() {
        let cohort = people(10);
        let mut facts: Vec<PurchaseFact> = cohort.iter().map(|p| purchase(*p, "EUR", 1, month(0))).collect();
        // Six came back a month later, two of them again two months later.
        facts.extend(cohort.iter().take(6).map(|p| purchase(*p, "EUR", 1, month(1))));
        facts.extend(cohort.iter().take(2).map(|p| purchase(*p, "EUR", 1, month(2))));
        // A later cohort of three.
        facts.extend((100..103).map(|i| purchase(Uuid::from_u128(i), "EUR", 1, month(1))));
        let rows = cohorts(&facts);
        assert_eq!(rows[0].cohort, "2026-01");
        assert_eq!((&rows[0].people, &rows[0].returned), (&Figure::Count(10), &Figure::Count(6)));
        assert_eq!(rows[0].repeat_rate, Figure::Text("60.0".into()));
        assert_eq!(rows[0].months_after, vec![Figure::Count(6), Figure::suppressed()], "two people are a small cell");
        assert!(rows[1].people.is_suppressed() && rows[1].repeat_rate.is_suppressed());
    }

    #[test]
    fn the_funnel_counts_stages_reach_conversion_and_win_rate() {
        let now = month(3);
        let deal = |i: u128, stage| DealFact {
            person: Some(Uuid::from_u128(i)),
            stage,
            currency: Some("EUR".into()),
            amount: 10_000_000,
            changed_at: now - 10 * DAY,
        };
        let mut facts: Vec<DealFact> = (0..10).map(|i| deal(i, DealStage::Lead)).collect();
        facts.extend((10..16).map(|i| deal(i, DealStage::Qualified)));
        facts.extend((16..21).map(|i| deal(i, DealStage::Won)));
        facts.extend((21..23).map(|i| deal(i, DealStage::Lost)));
        let f = funnel(&facts, now);
        let lead = &f.stages[0];
        assert_eq!(lead.deals, Figure::Count(10));
        assert_eq!(lead.amounts["EUR"], Figure::Text("10000.00".into()));
        assert_eq!(lead.median_days_in_stage, Figure::Count(10));
        assert_eq!(f.stages[2].deals, Figure::Count(0), "an empty stage singles out no one");
        let lost = f.stages.iter().find(|s| s.stage == "lost").unwrap();
        assert!(lost.deals.is_suppressed() && lost.amounts["EUR"].is_suppressed());
        assert!(f.win_rate.is_suppressed(), "with the won count it would tell the two lost deals");
        assert!(
            f.stages.iter().all(|s| s.reached.is_suppressed() && s.conversion.is_suppressed()),
            "with a stage hidden, reach figures would give it away as a difference"
        );
        // Without the lost deals nothing is hidden: reach and conversion show.
        facts.retain(|d| d.stage != DealStage::Lost);
        let f = funnel(&facts, now);
        assert_eq!((f.stages[0].reached.clone(), f.stages[1].reached.clone()), (Figure::Count(21), Figure::Count(11)));
        assert_eq!(f.stages[1].conversion, Figure::Text("52.4".into()));
        // One deal in another currency among many: its amount is that person's.
        facts.push(DealFact { currency: Some("GBP".into()), ..deal(99, DealStage::Lead) });
        let f = funnel(&facts, now);
        assert!(f.stages[0].amounts["GBP"].is_suppressed() && !f.stages[0].amounts["EUR"].is_suppressed());
    }

    #[test]
    fn interactions_per_owner_hide_owners_of_few_people() {
        let mut facts: Vec<InteractionFact> = (0..12)
            .map(|i| InteractionFact { person: Uuid::from_u128(i % 6), owner: "ann".into(), kind: "call".into() })
            .collect();
        facts.push(InteractionFact { person: Uuid::from_u128(1), owner: "bob".into(), kind: "email".into() });
        facts.push(InteractionFact { person: Uuid::from_u128(1), owner: "ann".into(), kind: "note".into() });
        let rows = per_owner(&facts);
        assert!(
            rows[0].kinds["call"].is_suppressed() && rows[0].kinds["note"].is_suppressed(),
            "one note would be the total less the calls"
        );
        assert_eq!(
            (rows[0].owner.as_str(), &rows[0].interactions, &rows[0].people),
            ("ann", &Figure::Count(13), &Figure::Count(6))
        );
        assert!(rows[1].interactions.is_suppressed() && rows[1].kinds["email"].is_suppressed());
    }
}
