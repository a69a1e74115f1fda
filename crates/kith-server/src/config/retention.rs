//! `[retention]` in `kith.toml`: periods of categories with their own, and
//! how often a server applies retention.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// How often a server applies retention (`1d`, `12h`); none: only by
    /// `kith retention run`.
    pub every: Option<String>,
    /// Interactions go this many days after they took place.
    pub interactions_days: Option<u32>,
    /// Purchases are kept this many days after they were made (tax law),
    /// and keep their person until then.
    pub purchases_days: Option<u32>,
    /// Deals go this many days after their last change.
    pub deals_days: Option<u32>,
}

impl RetentionSettings {
    pub fn periods(&self) -> kith_core::retention::CategoryPeriods {
        kith_core::retention::CategoryPeriods {
            interactions_days: self.interactions_days,
            purchases_days: self.purchases_days,
            deals_days: self.deals_days,
        }
    }

    pub fn every_ms(&self) -> Option<i64> {
        self.every.as_deref().and_then(super::parse_every)
    }

    pub fn check(&self) -> Result<(), String> {
        if let Some(every) = &self.every {
            match super::parse_every(every) {
                Some(ms) if ms >= 3_600_000 => {}
                _ => return Err("retention.every: a number and a unit, at least 1h (e.g. \"1d\")".into()),
            }
        }
        for (name, days) in [
            ("interactions_days", self.interactions_days),
            ("purchases_days", self.purchases_days),
            ("deals_days", self.deals_days),
        ] {
            if days.is_some_and(|d| d == 0 || d > 36_500) {
                return Err(format!("retention.{name}: 1 to 36500"));
            }
        }
        Ok(())
    }
}
