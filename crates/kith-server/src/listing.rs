//! List requests: query parameters turned into a store query over clear
//! columns and blind-index terms, and the opaque cursor of keyset paging.

use crate::clock::query_time;
use crate::error::{ApiError, ApiResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use kith_core::model::{DealStage, InteractionKind};
use kith_core::normalize::{name_words, tag_key};
use kith_core::values::{email_lookup_key, parse_currency, parse_email, parse_phone, parse_staff_id};
use kith_core::{ClearValue, ColumnType, EntityKind, ErrorCode, IndexField};
use kith_crypto::Keyring;
use kith_store::{ListQuery, Range, StoredRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Query parameters of every list. Filters a kind of record does not have
/// are refused, not ignored.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Sort column, `-` in front for descending: `created_at` (default),
    /// `updated_at`, and per kind `occurred_at`, `amount`, `expected_close`,
    /// `total`, `purchased_at`.
    pub sort: Option<String>,
    /// Name words, all of which must match (whole words, any case or accent).
    pub q: Option<String>,
    /// Exact e-mail address.
    pub email: Option<String>,
    /// Exact phone number.
    pub phone: Option<String>,
    pub tag: Option<String>,
    pub owner: Option<String>,
    pub company_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// Interactions: call, email, meeting, note, task.
    pub kind: Option<String>,
    /// Deals: lead, qualified, proposal, negotiation, won, lost.
    pub stage: Option<String>,
    pub currency: Option<String>,
    /// RFC 3339, inclusive.
    pub created_from: Option<String>,
    /// RFC 3339, exclusive.
    pub created_to: Option<String>,
    pub updated_from: Option<String>,
    pub updated_to: Option<String>,
}

impl ListParams {
    /// Names of the filters and lookups this list used (never their values).
    pub fn used_filters(&self) -> Vec<String> {
        let given = [
            ("q", self.q.is_some()),
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("tag", self.tag.is_some()),
            ("owner", self.owner.is_some()),
            ("company_id", self.company_id.is_some()),
            ("contact_id", self.contact_id.is_some()),
            ("kind", self.kind.is_some()),
            ("stage", self.stage.is_some()),
            ("currency", self.currency.is_some()),
            ("created_from", self.created_from.is_some()),
            ("created_to", self.created_to.is_some()),
            ("updated_from", self.updated_from.is_some()),
            ("updated_to", self.updated_to.is_some()),
        ];
        given.iter().filter(|(_, used)| *used).map(|(name, _)| name.to_string()).collect()
    }
}

impl ListParams {
    /// The document fields this list filters or sorts by: a caller may not
    /// learn through a filter what a field rule hides from them.
    pub fn fields_touched(&self, entity: EntityKind) -> Vec<&'static str> {
        let name = if entity == EntityKind::Companies { "name" } else { "given_name" };
        let mut fields: Vec<&'static str> = [
            (self.q.is_some(), name),
            (self.email.is_some(), "emails"),
            (self.phone.is_some(), "phones"),
            (self.tag.is_some(), "tags"),
            (self.owner.is_some(), "owner"),
            (self.company_id.is_some(), "company_id"),
            (self.contact_id.is_some(), "contact_id"),
            (self.kind.is_some(), "kind"),
            (self.stage.is_some(), "stage"),
            (self.currency.is_some(), "currency"),
        ]
        .into_iter()
        .filter_map(|(used, field)| used.then_some(field))
        .collect();
        if let Some(sort) = self.sort.as_deref().and_then(|s| sort_column(entity, s.trim_start_matches('-'))) {
            fields.push(sort);
        }
        fields
    }
}

#[derive(Debug, Serialize)]
pub struct Page {
    pub items: Vec<serde_json::Value>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: String,
    d: bool,
    v: ClearValue,
    id: Uuid,
}

pub struct Plan {
    pub query: ListQuery,
    pub limit: u32,
}

impl Plan {
    pub fn cursor_after(&self, last: &StoredRecord) -> String {
        let cursor = Cursor {
            s: self.query.sort.to_string(),
            d: self.query.descending,
            v: last.sort_value.clone(),
            id: last.id,
        };
        B64URL.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }
}

/// A filter value from a closed set (`T`'s snake_case names), as stored.
fn closed_value<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str, raw: &str) -> ApiResult<String> {
    let parsed: T = serde_json::from_value(serde_json::Value::String(raw.to_string()))
        .map_err(|_| ApiError::new(ErrorCode::InvalidValue, format!("{name}: not a known value")))?;
    match serde_json::to_value(parsed) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        _ => Err(ApiError::internal("listing", "a closed value is not a string")),
    }
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, detail)
}

fn sort_column(entity: EntityKind, name: &str) -> Option<&'static str> {
    match name {
        "created_at" => Some("created_at"),
        "updated_at" => Some("updated_at"),
        _ => entity.column(name).filter(|c| c.sortable).map(|c| c.name),
    }
}

/// Turns parameters into a store query; filters and lookups become blind
/// terms under the keyring's index keys.
pub fn plan(entity: EntityKind, p: ListParams, ring: &Keyring) -> ApiResult<Plan> {
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad(format!("limit: between 1 and {MAX_LIMIT}")));
    }
    let sort_spec = p.sort.as_deref().unwrap_or("created_at");
    let (descending, sort_name) = match sort_spec.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sort_spec),
    };
    let sort = sort_column(entity, sort_name)
        .ok_or_else(|| bad(format!("sort: {} cannot be sorted by this column", entity.as_str())))?;

    let mut equals = Vec::new();
    let mut column_filter = |name: &'static str, value: Option<ClearValue>| -> ApiResult<()> {
        if let Some(value) = value {
            if entity.column(name).is_none() && name != "owner" {
                return Err(bad(format!("{name}: {} cannot be filtered by this", entity.as_str())));
            }
            equals.push((name, value));
        }
        Ok(())
    };
    // A value no record can hold is refused, not answered with nothing.
    let owner = p.owner.as_deref().map(|o| parse_staff_id(o).map_err(|e| ApiError::from(e.at("owner")))).transpose()?;
    let kind = p.kind.as_deref().map(|k| closed_value::<InteractionKind>("kind", k)).transpose()?;
    let stage = p.stage.as_deref().map(|v| closed_value::<DealStage>("stage", v)).transpose()?;
    let currency = p.currency.as_deref().map(|c| parse_currency(c).map_err(|e| ApiError::from(e.at("currency"))));
    column_filter("owner", owner.map(ClearValue::Text))?;
    column_filter("company_id", p.company_id.map(|id| ClearValue::Text(id.to_string())))?;
    column_filter("contact_id", p.contact_id.map(|id| ClearValue::Text(id.to_string())))?;
    column_filter("kind", kind.map(ClearValue::Text))?;
    column_filter("stage", stage.map(ClearValue::Text))?;
    column_filter("currency", currency.transpose()?.map(ClearValue::Text))?;

    let mut ranges = Vec::new();
    for (column, from, to) in [
        (
            "created_at",
            query_time("created_from", p.created_from.as_deref())?,
            query_time("created_to", p.created_to.as_deref())?,
        ),
        (
            "updated_at",
            query_time("updated_from", p.updated_from.as_deref())?,
            query_time("updated_to", p.updated_to.as_deref())?,
        ),
    ] {
        if from.is_some() || to.is_some() {
            ranges.push((column, Range { from, to }));
        }
    }

    let mut terms = Vec::new();
    let mut term = |field: IndexField, value: &str| terms.push(ring.blind_term(field.as_str(), value));
    let indexes_contact_details = matches!(entity, EntityKind::Contacts | EntityKind::Companies);
    if let Some(email) = &p.email {
        if !indexes_contact_details {
            return Err(bad(format!("email: {} cannot be looked up by e-mail", entity.as_str())));
        }
        let email = parse_email(email).map_err(|e| bad(format!("email: {}", e.detail)))?;
        term(IndexField::Email, &email_lookup_key(&email));
    }
    if let Some(phone) = &p.phone {
        if !indexes_contact_details {
            return Err(bad(format!("phone: {} cannot be looked up by phone", entity.as_str())));
        }
        let phone = parse_phone(phone).map_err(|e| bad(format!("phone: {}", e.detail)))?;
        term(IndexField::Phone, &phone);
    }
    if let Some(q) = &p.q {
        if !indexes_contact_details {
            return Err(bad(format!("q: {} have no names to search", entity.as_str())));
        }
        let words = name_words(q);
        if words.is_empty() || words.len() > 10 {
            return Err(bad("q: one to ten words"));
        }
        words.iter().for_each(|w| term(IndexField::NameWord, w));
    }
    if let Some(tag) = &p.tag {
        term(IndexField::Tag, &tag_key(tag));
    }

    let after = match &p.cursor {
        None => None,
        Some(raw) => {
            let invalid = || ApiError::new(ErrorCode::InvalidCursor, "cursor: not a cursor this list gave out");
            let bytes = B64URL.decode(raw).map_err(|_| invalid())?;
            let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
            let expected = match sort {
                "created_at" | "updated_at" => Some(ColumnType::Int),
                other => entity.column(other).map(|c| c.ty),
            };
            let type_matches = matches!(
                (&cursor.v, expected),
                (ClearValue::Int(_), Some(ColumnType::Int)) | (ClearValue::Text(_), Some(ColumnType::Text))
            );
            if cursor.s != sort || cursor.d != descending || !type_matches {
                return Err(ApiError::new(ErrorCode::InvalidCursor, "cursor: it belongs to a list with another sort"));
            }
            Some((cursor.v, cursor.id))
        }
    };

    let query = ListQuery { entity, equals, ranges, terms, owners: None, sort, descending, after, limit };
    Ok(Plan { query, limit })
}

/// A cursor naming the last item shown by a time and an id; lists ordered
/// by (time, id) continue after it.
pub fn encode_cursor(at: i64, id: Uuid) -> String {
    B64URL.encode(format!("{at}:{id}"))
}

/// The (time, id) of a cursor [`encode_cursor`] gave out.
pub fn parse_cursor(raw: &str) -> ApiResult<(i64, Uuid)> {
    let invalid = || ApiError::new(ErrorCode::InvalidCursor, "cursor: not a cursor this list gave out");
    let text = B64URL.decode(raw).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let (at, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, Uuid::parse_str(id).map_err(|_| invalid())?))
}
