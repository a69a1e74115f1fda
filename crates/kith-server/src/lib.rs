//! Kith's server: the HTTP API over TLS, authentication, the record
//! service, and the operations the command line runs (initialisation,
//! tokens, key rotation). Only this crate knows HTTP.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod consent_seal;

pub mod datadir;
pub mod doctor;
pub mod error;
pub mod http;
pub mod input;
pub mod listing;
pub mod retention;
pub mod ropa;
pub mod rotation;
pub mod sealing;
pub mod service;
pub mod tls;
pub mod transfers;

pub use clock::now_millis;
pub use http::app::{build_app, AppState};

#[cfg(test)]
mod layering;
