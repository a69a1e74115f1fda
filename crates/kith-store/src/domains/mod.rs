//! The store's interface per domain, with the rows each one speaks in;
//! `Store` is their sum. Each trait's SQL is in `sql/<domain>.rs`.

mod access;
mod accountability;
mod accounts;
mod audit;
mod backup;
mod capture;
mod drp;
mod erasure;
mod imports;
mod keys;
mod policy;
mod portal;
mod records;
mod requests;
mod retention;
mod segments;
mod settings;

pub use access::*;
pub use accountability::*;
pub use accounts::*;
pub use audit::*;
pub use backup::*;
pub use capture::*;
pub use drp::*;
pub use erasure::*;
pub use imports::*;
pub use keys::*;
pub use policy::*;
pub use portal::*;
pub use records::*;
pub use requests::*;
pub use retention::*;
pub use segments::*;
pub use settings::*;
