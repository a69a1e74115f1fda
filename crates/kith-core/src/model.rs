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

fn text(field: &str, value: &mut Option<String>, max: usize, multiline: bool) -> Result<(), ValidationError> {
    if let Some(v) = value {
        let checked = check_text(v, max, multiline).map_err(|e| e.at(field))?;
        *value = (!checked.is_empty()).then_some(checked);
    }
    Ok(())
}

fn required_text(field: &str, value: &mut String, max: usize) -> Result<(), ValidationError> {
    *value = check_text(value, max, false).map_err(|e| e.at(field))?;
    if value.is_empty() {
        return Err(ValidationError::new(ErrorCode::MissingField, format!("{field}: must not be empty")));
    }
    Ok(())
}

fn list_len<T>(field: &str, list: &[T]) -> Result<(), ValidationError> {
    if list.len() > LIST_MAX {
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("{field}: at most {LIST_MAX} entries")));
    }
    Ok(())
}

fn emails(list: &mut Vec<String>) -> Result<(), ValidationError> {
    list_len("emails", list)?;
    for (i, e) in list.iter_mut().enumerate() {
        *e = parse_email(e).map_err(|err| err.at(&format!("emails[{i}]")))?;
    }
    dedup_by_key(list, |e| email_lookup_key(e));
    Ok(())
}

fn phones(list: &mut Vec<String>) -> Result<(), ValidationError> {
    list_len("phones", list)?;
    for (i, p) in list.iter_mut().enumerate() {
        *p = parse_phone(p).map_err(|err| err.at(&format!("phones[{i}]")))?;
    }
    dedup_by_key(list, |p| p.clone());
    Ok(())
}

fn dedup_by_key(list: &mut Vec<String>, key: impl Fn(&String) -> String) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|v| seen.insert(key(v)));
}

fn addresses(list: &mut [Address]) -> Result<(), ValidationError> {
    list_len("addresses", list)?;
    for (i, a) in list.iter_mut().enumerate() {
        let at = |f: &str| format!("addresses[{i}].{f}");
        text(&at("street"), &mut a.street, NAME_MAX, true)?;
        text(&at("city"), &mut a.city, NAME_MAX, false)?;
        text(&at("postal_code"), &mut a.postal_code, 32, false)?;
        text(&at("region"), &mut a.region, NAME_MAX, false)?;
        if let Some(c) = &a.country {
            a.country = Some(parse_country(c).map_err(|e| e.at(&at("country")))?);
        }
    }
    Ok(())
}

fn tags(list: &mut Vec<String>) -> Result<(), ValidationError> {
    list_len("tags", list)?;
    for (i, t) in list.iter_mut().enumerate() {
        *t = check_text(t, TAG_MAX, false).map_err(|e| e.at(&format!("tags[{i}]")))?;
        if t.is_empty() {
            return Err(ValidationError::new(ErrorCode::InvalidValue, format!("tags[{i}]: must not be empty")));
        }
    }
    dedup_by_key(list, |t| tag_key(t));
    Ok(())
}

fn custom(map: &Map<String, Value>) -> Result<(), ValidationError> {
    fn depth(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    if map.keys().any(|k| k.is_empty() || k.chars().count() > 64 || k.chars().any(char::is_control)) {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "custom: keys have 1 to 64 printable characters"));
    }
    if map.values().map(depth).max().unwrap_or(0) >= CUSTOM_MAX_DEPTH {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "custom: nested too deeply"));
    }
    let size = serde_json::to_vec(map).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > CUSTOM_MAX_BYTES {
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("custom: at most {CUSTOM_MAX_BYTES} bytes")));
    }
    Ok(())
}

fn owner(value: &mut Option<String>) -> Result<(), ValidationError> {
    if let Some(id) = value {
        *id = parse_staff_id(id).map_err(|e| e.at("owner"))?;
    }
    Ok(())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(field: &str, raw: &str) -> Result<Date, ValidationError> {
    Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| ValidationError::new(ErrorCode::InvalidDate, format!("{field}: a date is written YYYY-MM-DD")))
}

/// Parses RFC 3339 and returns it in UTC.
pub fn parse_timestamp(field: &str, raw: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339).map(|t| t.to_offset(time::UtcOffset::UTC)).map_err(|_| {
        ValidationError::new(
            ErrorCode::InvalidDate,
            format!("{field}: a time is written in RFC 3339, like 2026-01-31T09:30:00Z"),
        )
    })
}

fn timestamp_field(field: &str, value: &mut String) -> Result<i64, ValidationError> {
    let t = parse_timestamp(field, value)?;
    *value = t
        .format(&Rfc3339)
        .map_err(|_| ValidationError::new(ErrorCode::InvalidDate, format!("{field}: out of range")))?;
    Ok(unix_millis(t))
}

pub fn unix_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn word_terms(terms: &mut Vec<IndexTerm>, texts: &[&Option<String>]) {
    for text in texts.iter().copied().flatten() {
        terms.extend(name_words(text).into_iter().map(|value| IndexTerm { field: IndexField::NameWord, value }));
    }
}

fn common_terms(terms: &mut Vec<IndexTerm>, emails: &[String], phones: &[String], tags: &[String]) {
    terms.extend(emails.iter().map(|e| IndexTerm { field: IndexField::Email, value: email_lookup_key(e) }));
    terms.extend(phones.iter().map(|p| IndexTerm { field: IndexField::Phone, value: p.clone() }));
    terms.extend(tags.iter().map(|t| IndexTerm { field: IndexField::Tag, value: tag_key(t) }));
    terms.sort_by(|a, b| (a.field.as_str(), &a.value).cmp(&(b.field.as_str(), &b.value)));
    terms.dedup();
}

/// Every document keeps its owner in an `owner` field.
macro_rules! owner_accessors {
    () => {
        fn owner(&self) -> Option<&str> {
            self.owner.as_deref()
        }

        fn set_owner(&mut self, owner: String) {
            self.owner = Some(owner);
        }
    };
}

/// The records a record about a person and a company points at.
fn references(contact: Option<Uuid>, company: Option<Uuid>) -> Vec<(EntityKind, Uuid)> {
    let mut refs: Vec<_> = contact.map(|id| (EntityKind::Contacts, id)).into_iter().collect();
    refs.extend(company.map(|id| (EntityKind::Companies, id)));
    refs
}

/// Index terms of a record whose only indexed values are its tags.
fn tag_terms(tags: &[String]) -> Vec<IndexTerm> {
    let mut terms = Vec::new();
    common_terms(&mut terms, &[], &[], tags);
    terms
}

impl EntityBody for Contact {
    const KIND: EntityKind = EntityKind::Contacts;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        Some(id)
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        text("given_name", &mut self.given_name, NAME_MAX, false)?;
        text("family_name", &mut self.family_name, NAME_MAX, false)?;
        emails(&mut self.emails)?;
        phones(&mut self.phones)?;
        addresses(&mut self.addresses)?;
        if let Some(b) = &self.birthday {
            let date = parse_date("birthday", b)?;
            if date > OffsetDateTime::now_utc().date() || date.year() < 1900 {
                return Err(ValidationError::new(ErrorCode::InvalidDate, "birthday: between 1900 and today"));
            }
            self.birthday = Some(date.to_string());
        }
        text("job_title", &mut self.job_title, NAME_MAX, false)?;
        text("notes", &mut self.notes, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)?;
        if self.given_name.is_none() && self.family_name.is_none() && self.emails.is_empty() && self.phones.is_empty() {
            return Err(ValidationError::new(
                ErrorCode::MissingField,
                "a contact needs at least a name, an e-mail address or a phone number",
            ));
        }
        Ok(())
    }

    fn subject(&self) -> Option<Uuid> {
        None // a contact is its own subject
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        self.company_id.map(|id| (EntityKind::Companies, id)).into_iter().collect()
    }

    fn columns(&self) -> Vec<ClearValue> {
        vec![self.company_id.into()]
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        let mut terms = Vec::new();
        word_terms(&mut terms, &[&self.given_name, &self.family_name]);
        common_terms(&mut terms, &self.emails, &self.phones, &self.tags);
        terms
    }

    owner_accessors!();
}

impl EntityBody for Company {
    const KIND: EntityKind = EntityKind::Companies;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        {
            let _ = id;
            None
        }
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        required_text("name", &mut self.name, NAME_MAX)?;
        text("domain", &mut self.domain, 253, false)?;
        if let Some(d) = &self.domain {
            // A domain is checked the way the part after an e-mail's @ is.
            let checked = parse_email(&format!("x@{d}"))
                .map_err(|_| ValidationError::new(ErrorCode::InvalidValue, "domain: a domain name like example.org"))?;
            self.domain = checked.split_once('@').map(|(_, d)| d.to_string());
        }
        emails(&mut self.emails)?;
        phones(&mut self.phones)?;
        addresses(&mut self.addresses)?;
        text("notes", &mut self.notes, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)
    }

    fn subject(&self) -> Option<Uuid> {
        None
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        Vec::new()
    }

    fn columns(&self) -> Vec<ClearValue> {
        Vec::new()
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        let mut terms = Vec::new();
        word_terms(&mut terms, &[&Some(self.name.clone())]);
        common_terms(&mut terms, &self.emails, &self.phones, &self.tags);
        terms
    }

    owner_accessors!();
}

impl EntityBody for Interaction {
    const KIND: EntityKind = EntityKind::Interactions;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        {
            let _ = id;
            Some(self.contact_id)
        }
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        timestamp_field("occurred_at", &mut self.occurred_at)?;
        if let Some(due) = &mut self.due_at {
            timestamp_field("due_at", due)?;
        }
        if self.kind != InteractionKind::Task && (self.due_at.is_some() || self.done.is_some()) {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "due_at and done: only for tasks"));
        }
        text("subject", &mut self.subject, 500, false)?;
        text("body", &mut self.body, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)
    }

    fn subject(&self) -> Option<Uuid> {
        Some(self.contact_id)
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        references(Some(self.contact_id), self.company_id)
    }

    fn columns(&self) -> Vec<ClearValue> {
        let occurred = parse_timestamp("occurred_at", &self.occurred_at).map(unix_millis).unwrap_or(0);
        vec![
            Some(self.contact_id).into(),
            self.company_id.into(),
            ClearValue::Text(self.kind.as_str().into()),
            ClearValue::Int(occurred),
        ]
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        tag_terms(&self.tags)
    }

    owner_accessors!();
}

impl EntityBody for Deal {
    const KIND: EntityKind = EntityKind::Deals;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        {
            let _ = id;
            self.contact_id
        }
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        required_text("title", &mut self.title, 500)?;
        if let Some(a) = self.amount {
            self.amount = Some(check_decimal(a, false).map_err(|e| e.at("amount"))?);
        }
        if let Some(c) = &self.currency {
            self.currency = Some(parse_currency(c).map_err(|e| e.at("currency"))?);
        }
        if self.amount.is_some() && self.currency.is_none() {
            return Err(ValidationError::new(ErrorCode::MissingField, "currency: required with an amount"));
        }
        if let Some(d) = &self.expected_close {
            self.expected_close = Some(parse_date("expected_close", d)?.to_string());
        }
        text("notes", &mut self.notes, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)
    }

    fn subject(&self) -> Option<Uuid> {
        self.contact_id.or(self.company_id)
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        references(self.contact_id, self.company_id)
    }

    fn columns(&self) -> Vec<ClearValue> {
        vec![
            self.contact_id.into(),
            self.company_id.into(),
            ClearValue::Text(self.stage.as_str().into()),
            ClearValue::Int(self.amount.map(decimal_to_scaled).unwrap_or(0)),
            self.currency.clone().map_or(ClearValue::Null, ClearValue::Text),
            // Sortable columns are never NULL: undated deals sort last.
            ClearValue::Text(self.expected_close.clone().unwrap_or_else(|| "9999-12-31".into())),
        ]
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        tag_terms(&self.tags)
    }

    owner_accessors!();
}

impl EntityBody for Purchase {
    const KIND: EntityKind = EntityKind::Purchases;

    fn person(&self, id: Uuid) -> Option<Uuid> {
        {
            let _ = id;
            Some(self.contact_id)
        }
    }

    fn validate(&mut self) -> Result<(), ValidationError> {
        timestamp_field("purchased_at", &mut self.purchased_at)?;
        self.currency = parse_currency(&self.currency).map_err(|e| e.at("currency"))?;
        if self.lines.is_empty() {
            return Err(ValidationError::new(ErrorCode::MissingField, "lines: a purchase has at least one line"));
        }
        if self.lines.len() > 1000 {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "lines: at most 1000 lines"));
        }
        for (i, line) in self.lines.iter_mut().enumerate() {
            let at = |f: &str| format!("lines[{i}].{f}");
            required_text(&at("sku"), &mut line.sku, 100)?;
            text(&at("description"), &mut line.description, 2000, true)?;
            line.quantity = check_decimal(line.quantity, false).map_err(|e| e.at(&at("quantity")))?;
            if line.quantity.is_zero() {
                return Err(ValidationError::new(
                    ErrorCode::InvalidAmount,
                    format!("{}: must be above zero", at("quantity")),
                ));
            }
            line.unit_price = check_decimal(line.unit_price, false).map_err(|e| e.at(&at("unit_price")))?;
        }
        let total =
            self.checked_total().ok_or_else(|| ValidationError::new(ErrorCode::InvalidAmount, "total: too large"))?;
        check_decimal(total, false).map_err(|e| e.at("total"))?;
        text("notes", &mut self.notes, NOTES_MAX, true)?;
        tags(&mut self.tags)?;
        custom(&self.custom)?;
        owner(&mut self.owner)
    }

    fn subject(&self) -> Option<Uuid> {
        Some(self.contact_id)
    }

    fn references(&self) -> Vec<(EntityKind, Uuid)> {
        references(Some(self.contact_id), self.company_id)
    }

    fn columns(&self) -> Vec<ClearValue> {
        let purchased = parse_timestamp("purchased_at", &self.purchased_at).map(unix_millis).unwrap_or(0);
        vec![
            Some(self.contact_id).into(),
            self.company_id.into(),
            ClearValue::Text(self.currency.clone()),
            ClearValue::Int(decimal_to_scaled(self.total())),
            ClearValue::Int(purchased),
        ]
    }

    fn index_terms(&self) -> Vec<IndexTerm> {
        tag_terms(&self.tags)
    }

    fn computed(&self) -> Map<String, Value> {
        let mut extra = Map::new();
        extra.insert("total".into(), Value::String(self.total().to_string()));
        extra
    }

    owner_accessors!();
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
