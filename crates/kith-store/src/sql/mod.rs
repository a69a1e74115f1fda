//! The store's SQL per domain; each file holds one macro that implements
//! its domain's trait for both engines.

pub(crate) mod access;
pub(crate) mod accountability;
pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod capture;
pub(crate) mod drp;
pub(crate) mod erasure;
pub(crate) mod imports;
pub(crate) mod keys;
pub(crate) mod policy;
pub(crate) mod portal;
pub(crate) mod records;
pub(crate) mod requests;
pub(crate) mod retention;
pub(crate) mod rows;
pub(crate) mod segments;
pub(crate) mod settings;
