//! What staff send about a request.

use kith_core::dsr::{Channel, RequestKind};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// A new request:
/// the person by `contact_id`, or by exact `email` or `phone` (one of them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrInput {
    pub kind: RequestKind,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// RFC 3339; for a request that arrived earlier by another channel. Not in the future.
    #[serde(default)]
    pub received_at: Option<String>,
    /// Default `staff`.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// The purpose key an objection is about (objections only).
    #[serde(default)]
    pub purpose: Option<String>,
    /// Staff notes about the request (sealed).
    #[serde(default)]
    pub note: Option<String>,
}

/// Identity verification: a token the person received, or a staff
/// attestation (`method` `staff_attestation`) with how it was checked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrVerifyInput {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// An extension of the deadline by one or two months (Art. 12(3)).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrExtendInput {
    pub months: u8,
    pub reason: String,
    /// When the person was told of the extension and why (RFC 3339; default now).
    #[serde(default)]
    pub person_told_at: Option<String>,
}

/// A refusal and its grounds (Art. 12(4), 12(5)).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrRefuseInput {
    pub grounds: String,
}

/// Carrying a request out: `changes` for a rectification (contact fields,
/// as in a `PATCH`; without them, the changes the person proposed in the
/// privacy portal), or `outcome` `no_data` when no person matched.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrFulfilInput {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Map<String, Value>>,
    #[serde(default)]
    pub outcome: Option<String>,
}

/// The register's filters: a status, or the DPO's lists, and a page.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    pub status: Option<String>,
    /// `open`, `due_soon` (open and due within seven days) or `overdue`.
    pub due: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}
