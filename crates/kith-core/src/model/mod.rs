//! The documents of each kind of record, as the API takes and returns them.
//! `validate` normalises them (e-mail domains lower-cased, phones to E.164,
//! currencies upper-cased) and checks every rule, naming the field at fault.

use crate::entity::{ClearValue, EntityBody, EntityKind, IndexField, IndexTerm};
use crate::error::{ErrorCode, ValidationError};
use crate::normalize::{name_words, tag_key};
use crate::values::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

mod bodies;
mod checks;

pub use checks::{parse_date, parse_timestamp, unix_millis};

const NAME_MAX: usize = 200;
const NOTES_MAX: usize = 65_536;
const LIST_MAX: usize = 50;
const TAG_MAX: usize = 64;
const CUSTOM_MAX_BYTES: usize = 16_384;
const CUSTOM_MAX_DEPTH: usize = 6;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
}

/// A person the business knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "given_name": "Olena", "family_name": "Kovalenko", "emails": ["olena@example.org"],
    "phones": ["+380 44 123 4567"], "addresses": [{"city": "Kyiv", "country": "UA"}],
    "birthday": "1990-04-12", "job_title": "Buyer", "tags": ["newsletter"]
}))]
pub struct Contact {
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    /// International form, `+` and country code.
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub birthday: Option<String>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    /// The staff member responsible; defaults to the caller.
    #[serde(default)]
    pub owner: Option<String>,
}

/// An organisation the business deals with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Acme GmbH", "domain": "acme.example", "emails": ["info@acme.example"],
    "phones": ["+49 30 1234567"], "tags": ["supplier"]
}))]
pub struct Company {
    pub name: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Call,
    Email,
    Meeting,
    Note,
    Task,
}

impl InteractionKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Email => "email",
            Self::Meeting => "meeting",
            Self::Note => "note",
            Self::Task => "task",
        }
    }
}

/// A call, e-mail, meeting, note or task with a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    pub contact_id: Uuid,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    pub kind: InteractionKind,
    /// RFC 3339; stored in UTC.
    pub occurred_at: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// For tasks: when it is due (RFC 3339).
    #[serde(default)]
    pub due_at: Option<String>,
    /// For tasks: whether it is done.
    #[serde(default)]
    pub done: Option<bool>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DealStage {
    Lead,
    Qualified,
    Proposal,
    Negotiation,
    Won,
    Lost,
}

impl DealStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Qualified => "qualified",
            Self::Proposal => "proposal",
            Self::Negotiation => "negotiation",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }
}

/// An opportunity in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deal {
    pub title: String,
    /// A decimal with at most four places, as a string or a number.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "1200.00")]
    pub amount: Option<Decimal>,
    #[serde(default)]
    pub currency: Option<String>,
    pub stage: DealStage,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub expected_close: Option<String>,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseLine {
    pub sku: String,
    #[serde(default)]
    pub description: Option<String>,
    #[schema(value_type = String, example = "2")]
    pub quantity: Decimal,
    #[schema(value_type = String, example = "19.99")]
    pub unit_price: Decimal,
}

/// An order: lines with amounts; the total is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    pub contact_id: Uuid,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    /// RFC 3339; stored in UTC.
    pub purchased_at: String,
    pub currency: String,
    pub lines: Vec<PurchaseLine>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    #[serde(default)]
    pub owner: Option<String>,
}

impl Purchase {
    /// The sum of quantity × unit price over the lines, to as many decimal
    /// places as the most precise unit price ("4.50" × 2 gives "9.00").
    /// Zero only for a purchase whose total overflows, which validation refuses.
    pub fn total(&self) -> Decimal {
        self.checked_total().unwrap_or_default()
    }

    /// The total, or `None` where the arithmetic would overflow.
    pub fn checked_total(&self) -> Option<Decimal> {
        let places = self.lines.iter().map(|l| l.unit_price.scale()).max().unwrap_or(0);
        let mut total = Decimal::ZERO;
        for line in &self.lines {
            total = total.checked_add(line.quantity.checked_mul(line.unit_price)?)?;
        }
        let mut total = total.round_dp(places);
        total.rescale(places);
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(json: Value) -> Result<Contact, ValidationError> {
        let mut c: Contact =
            serde_json::from_value(json).map_err(|e| ValidationError::new(ErrorCode::InvalidType, e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn contact_normalises_and_indexes() {
        let c = contact(serde_json::json!({
            "given_name": " Olena ", "family_name": "Kovalenko",
            "emails": ["Olena@Example.org", "olena@example.ORG"], "phones": ["+380 44 123 4567"],
            "tags": ["VIP", "vip"], "birthday": "1990-04-01"
        }))
        .unwrap();
        assert_eq!(c.given_name.as_deref(), Some("Olena"));
        assert_eq!(c.emails, ["Olena@example.org"]);
        assert_eq!(c.phones, ["+380441234567"]);
        assert_eq!(c.tags, ["VIP"]);
        let fields: Vec<_> = c.index_terms().iter().map(|t| (t.field, t.value.clone())).collect();
        assert!(fields.contains(&(IndexField::Email, "olena@example.org".into())));
        assert!(fields.contains(&(IndexField::NameWord, "kovalenko".into())));
        assert!(fields.contains(&(IndexField::Tag, "vip".into())));
    }

    #[test]
    fn contact_rules() {
        assert_eq!(contact(serde_json::json!({})).unwrap_err().code, ErrorCode::MissingField);
        assert_eq!(contact(serde_json::json!({"emails": ["nope"]})).unwrap_err().code, ErrorCode::InvalidEmail);
        assert_eq!(contact(serde_json::json!({"phones": ["123"]})).unwrap_err().code, ErrorCode::InvalidPhone);
        assert_eq!(
            contact(serde_json::json!({"given_name": "A", "birthday": "2999-01-01"})).unwrap_err().code,
            ErrorCode::InvalidDate
        );
        let err = contact(serde_json::json!({"given_name": "A", "emails": ["a@b.org", "bad"]})).unwrap_err();
        assert!(err.detail.starts_with("emails[1]"), "{}", err.detail);
        assert!(!err.detail.contains("bad"), "details never echo values");
    }

    #[test]
    fn purchase_total_and_rules() {
        let mut p: Purchase = serde_json::from_value(serde_json::json!({
            "contact_id": Uuid::new_v4(), "purchased_at": "2026-01-31T10:00:00+02:00", "currency": "eur",
            "lines": [{"sku": "A", "quantity": "2", "unit_price": "19.99"}, {"sku": "B", "quantity": 1, "unit_price": 0.5}]
        }))
        .unwrap();
        p.validate().unwrap();
        assert_eq!(p.total().to_string(), "40.48");
        p.lines[1].unit_price = "0.5".parse().unwrap();
        assert_eq!(p.total().to_string(), "40.48");
        assert_eq!(p.purchased_at, "2026-01-31T08:00:00Z");
        assert_eq!(p.currency, "EUR");
        let huge: Decimal = "800000000000000".parse().unwrap();
        p.lines[1] = PurchaseLine { sku: "X".into(), description: None, quantity: huge, unit_price: huge };
        assert_eq!(p.validate().unwrap_err().code, ErrorCode::InvalidAmount, "overflow is refused, not a panic");
        p.lines.truncate(1);
        p.lines[0].quantity = Decimal::ZERO;
        assert_eq!(p.validate().unwrap_err().code, ErrorCode::InvalidAmount);
    }

    #[test]
    fn deal_needs_currency_with_amount() {
        let mut d: Deal =
            serde_json::from_value(serde_json::json!({"title": "T", "stage": "lead", "amount": "10"})).unwrap();
        assert_eq!(d.validate().unwrap_err().code, ErrorCode::MissingField);
    }
}
