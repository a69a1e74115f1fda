//! Route groups whose handlers only extract, call a service and map the result.

pub mod accounts;
pub mod analytics;
pub mod api_keys;
pub mod archive;
pub mod audit;
pub mod breaches;
pub mod capture;
pub mod consents;
pub mod doctor;
pub mod drp;
pub mod dsr;
pub mod duplicates;
pub mod erasure;
pub mod export;
pub mod imports;
pub mod purposes;
pub mod recipients;
pub mod records;
pub mod retention;
pub mod roles;
pub mod ropa;
pub mod segments;
