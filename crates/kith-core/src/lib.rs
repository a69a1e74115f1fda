//! Kith's domain: the entities a business keeps, parsed and validated into
//! types that cannot hold an invalid value, and the stable error codes every
//! interface (API, CLI, tests) shares. Pure logic: no I/O lives here.

pub mod access;
pub mod account;
pub mod analytics;
pub mod api_key;
pub mod audit;
pub mod breach;
pub mod capture;
pub mod consent;
pub mod controller;
pub mod document;
pub mod drp;
pub mod dsr;
pub mod entity;
pub mod error;
pub mod export;
pub mod import;
pub mod model;
pub mod normalize;
pub mod policy;
pub mod purpose;
pub mod recipient;
pub mod retention;
pub mod ropa;
pub mod segment;
pub mod text;
pub mod transfer;
pub mod values;

/// The built-in staff roles. Custom roles arrive with the access-control model.
pub const ROLES: [&str; 6] = ["admin", "dpo", "sales", "support", "marketing", "auditor"];

pub use entity::{ClearValue, Column, ColumnType, EntityBody, EntityKind, IndexField, IndexTerm};
pub use error::{ErrorCode, ValidationError};
