//! Segments: saved filters over contacts (tags, company, deal stage,
//! purchase totals and dates, consent state). A segment is always evaluated
//! for a purpose, and only the people the policy allows are its members.

use crate::error::{ErrorCode, ValidationError};
use crate::model::{parse_timestamp, unix_millis, DealStage};
use crate::values::{check_decimal, check_text, decimal_to_scaled, parse_currency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A segment as written by staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub filter: SegmentFilter,
}

/// Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentFilter {
    /// Contacts carrying every one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
    /// Contacts with at least one deal in this stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_stage: Option<DealStage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchases: Option<PurchaseFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentFilter>,
}

/// Contacts with at least one purchase in `currency` within the window whose
/// totals add up to between `min_total` and `max_total` (inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseFilter {
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub min_total: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub max_total: Option<Decimal>,
    /// RFC 3339, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The current consent state of a person for one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    Granted,
    Withdrawn,
    /// No ledger entry for the purpose.
    None,
}

impl ConsentState {
    /// The state from the latest ledger entry's yes/no, if any.
    pub fn of(latest: Option<bool>) -> Self {
        match latest {
            Some(true) => Self::Granted,
            Some(false) => Self::Withdrawn,
            None => Self::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentFilter {
    pub purpose: String,
    pub state: ConsentState,
}

/// A purchase window in the store's terms: scaled totals and epoch millis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseBounds {
    pub currency: String,
    pub min_scaled: Option<i64>,
    pub max_scaled: Option<i64>,
    pub from_millis: Option<i64>,
    pub to_millis: Option<i64>,
}

impl PurchaseFilter {
    pub fn bounds(&self) -> PurchaseBounds {
        let millis = |t: &Option<String>| t.as_deref().and_then(|t| parse_timestamp("", t).ok()).map(unix_millis);
        PurchaseBounds {
            currency: self.currency.clone(),
            min_scaled: self.min_total.map(decimal_to_scaled),
            max_scaled: self.max_total.map(decimal_to_scaled),
            from_millis: millis(&self.from),
            to_millis: millis(&self.to),
        }
    }
}

impl SegmentInput {
    /// Normalises and checks; purpose keys are checked against the catalogue by the caller.
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        self.name = check_text(&self.name, 200, false).map_err(|e| e.at("name"))?;
        if self.name.is_empty() {
            return Err(ValidationError::new(ErrorCode::MissingField, "name: must not be empty"));
        }
        if let Some(d) = &self.description {
            self.description = Some(check_text(d, 2000, true).map_err(|e| e.at("description"))?);
        }
        let f = &mut self.filter;
        if f.tags.len() > 20 {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "filter.tags: at most 20"));
        }
        for (i, t) in f.tags.iter_mut().enumerate() {
            *t = check_text(t, 100, false).map_err(|e| e.at(&format!("filter.tags[{i}]")))?;
        }
        if let Some(p) = &mut f.purchases {
            p.currency = parse_currency(&p.currency).map_err(|e| e.at("filter.purchases.currency"))?;
            for (name, value) in [("min_total", &mut p.min_total), ("max_total", &mut p.max_total)] {
                if let Some(v) = value {
                    *v = check_decimal(*v, false).map_err(|e| e.at(&format!("filter.purchases.{name}")))?;
                }
            }
            if let (Some(min), Some(max)) = (p.min_total, p.max_total) {
                if min > max {
                    return Err(ValidationError::new(
                        ErrorCode::InvalidValue,
                        "filter.purchases: min_total above max_total",
                    ));
                }
            }
            for (name, value) in [("from", &mut p.from), ("to", &mut p.to)] {
                if let Some(v) = value {
                    let at = parse_timestamp(&format!("filter.purchases.{name}"), v)?;
                    *v = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                }
            }
        }
        if let Some(c) = &mut f.consent {
            c.purpose = c.purpose.trim().to_string();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(filter: serde_json::Value) -> Result<SegmentInput, serde_json::Error> {
        serde_json::from_value(serde_json::json!({"name": "VIP", "filter": filter}))
    }

    #[test]
    fn filters_are_checked() {
        let mut ok = input(serde_json::json!({
            "tags": [" vip "], "deal_stage": "won",
            "purchases": {"currency": "eur", "min_total": "100.5", "from": "2026-01-01T00:00:00+01:00"},
            "consent": {"purpose": "marketing.communications.email", "state": "granted"}
        }))
        .unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.filter.tags, ["vip"]);
        let p = ok.filter.purchases.as_ref().unwrap();
        assert_eq!(p.currency, "EUR");
        assert_eq!(p.from.as_deref(), Some("2025-12-31T23:00:00Z"));
        assert_eq!(p.bounds().min_scaled, Some(1_005_000));
        assert!(input(serde_json::json!({"stage": "won"})).is_err(), "unknown fields are refused");
        assert!(input(serde_json::json!({"deal_stage": "sold"})).is_err());
        let mut bad =
            input(serde_json::json!({"purchases": {"currency": "EUR", "min_total": "5", "max_total": "1"}})).unwrap();
        assert_eq!(bad.validate().unwrap_err().code, ErrorCode::InvalidValue);
        let mut bad = input(serde_json::json!({"purchases": {"currency": "EUR", "to": "yesterday"}})).unwrap();
        assert!(bad.validate().is_err());
    }
}
