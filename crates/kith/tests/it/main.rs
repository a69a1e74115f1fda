//! Kith's integration tests: one binary, so the 2-core CI links once.
//! Every story runs on SQLite, and on PostgreSQL when
//! `KITH_TEST_POSTGRES_URL` is set (CI sets it and fails without it).

mod access;
mod accounts;
mod analytics;
mod archive;
mod audit;
mod backup;
mod bad_text;
mod breaches;
mod browser;
mod canary;
mod capture;
mod cli;
mod consents;
mod doctor;
mod drp;
mod dsr;
mod duplicates;
mod erasure;
mod export;
mod foreign_ids;
mod harness;
mod imports;
mod ledger_seal;
mod multi;
mod openapi;
mod policy_property;
mod portal;
mod purposes;
mod recipients;
mod refused_text;
mod retention;
mod ropa;
mod rotation;
mod segments;
mod story;
mod tls;
