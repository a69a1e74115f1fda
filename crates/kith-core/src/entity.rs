//! What the storage and the API need to know about every kind of record,
//! without knowing any one kind: its clear columns (ids, amounts, times,
//! stages that may stay unencrypted), the terms its blind indexes hold, the
//! records it refers to, and the person whose key seals it.

use crate::error::ValidationError;
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Contacts,
    Companies,
    Interactions,
    Deals,
    Purchases,
}

impl EntityKind {
    pub const ALL: [EntityKind; 5] =
        [Self::Contacts, Self::Companies, Self::Interactions, Self::Deals, Self::Purchases];

    /// The table name and the path segment under `/api/v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
            Self::Interactions => "interactions",
            Self::Deals => "deals",
            Self::Purchases => "purchases",
        }
    }

    /// The clear columns each kind has besides id, key owner, owner and
    /// timestamps. Migrations create exactly these.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Contacts => CONTACT_COLUMNS,
            Self::Companies => &[],
            Self::Interactions => INTERACTION_COLUMNS,
            Self::Deals => DEAL_COLUMNS,
            Self::Purchases => PURCHASE_COLUMNS,
        }
    }

    pub fn column(self, name: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.name == name)
    }
}

const fn col(name: &'static str, ty: ColumnType, sortable: bool) -> Column {
    Column { name, ty, sortable }
}
const CONTACT_COLUMNS: &[Column] = &[col("company_id", ColumnType::Text, false)];
const INTERACTION_COLUMNS: &[Column] = &[
    col("contact_id", ColumnType::Text, false),
    col("company_id", ColumnType::Text, false),
    col("kind", ColumnType::Text, false),
    col("occurred_at", ColumnType::Int, true),
];
const DEAL_COLUMNS: &[Column] = &[
    col("contact_id", ColumnType::Text, false),
    col("company_id", ColumnType::Text, false),
    col("stage", ColumnType::Text, false),
    col("amount", ColumnType::Int, true),
    col("currency", ColumnType::Text, false),
    col("expected_close", ColumnType::Text, true),
];
const PURCHASE_COLUMNS: &[Column] = &[
    col("contact_id", ColumnType::Text, false),
    col("company_id", ColumnType::Text, false),
    col("currency", ColumnType::Text, false),
    col("total", ColumnType::Int, true),
    col("purchased_at", ColumnType::Int, true),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    /// Sortable columns are never NULL, so keyset pagination over them is total.
    pub sortable: bool,
}

/// A value of a clear column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ClearValue {
    Null,
    Int(i64),
    Text(String),
}

impl From<Option<Uuid>> for ClearValue {
    fn from(id: Option<Uuid>) -> Self {
        id.map_or(Self::Null, |id| Self::Text(id.to_string()))
    }
}

/// The fields that have a blind index. Each has its own HMAC key, so equal
/// values in two fields give unrelated terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexField {
    Email,
    Phone,
    NameWord,
    Tag,
}

impl IndexField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::NameWord => "name_word",
            Self::Tag => "tag",
        }
    }
}

/// A normalised value to be blind-indexed. Holds personal data: it only
/// lives in memory until kith-crypto turns it into an HMAC.
#[derive(Clone, PartialEq, Eq)]
pub struct IndexTerm {
    pub field: IndexField,
    pub value: String,
}

impl std::fmt::Debug for IndexTerm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IndexTerm({}, <redacted>)", self.field.as_str())
    }
}

/// A record's editable document. The whole document is sealed under the key
/// of its data subject; `columns` copies the non-personal parts out in clear
/// for filtering and sorting.
pub trait EntityBody: Serialize + DeserializeOwned + utoipa::ToSchema + Send + Sync + 'static {
    const KIND: EntityKind;

    /// Normalises the document in place or says which rule it breaks.
    fn validate(&mut self) -> Result<(), ValidationError>;

    /// The record whose data key seals this one: the person it is about
    /// (or for a deal with no person, its company). `None` means the record
    /// is its own subject and has a key of its own (contacts, companies).
    fn subject(&self) -> Option<Uuid>;

    /// Records this one points at, which must exist.
    fn references(&self) -> Vec<(EntityKind, Uuid)>;

    /// The clear column values, in the order of `KIND.columns()`.
    fn columns(&self) -> Vec<ClearValue>;

    /// Terms for the blind indexes.
    fn index_terms(&self) -> Vec<IndexTerm>;

    /// The person this record is about, if any: the one whose restriction,
    /// objections and consents decide whether it may be processed.
    fn person(&self, id: Uuid) -> Option<Uuid>;

    /// Values derived from the document that responses show beside it
    /// (a purchase's total).
    fn computed(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }

    /// The staff member who owns the record, if set.
    fn owner(&self) -> Option<&str>;
    fn set_owner(&mut self, owner: String);
}
