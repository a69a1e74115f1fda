//! Kith's server: the HTTP API over TLS, authentication, the record
//! service, and the operations the command line runs (initialisation,
//! tokens, key rotation). Only this crate knows HTTP.

pub mod account_routes;
pub mod accounts;
pub mod alerts;
pub mod api_keys;
pub mod app;
pub mod archive;
pub mod audit;
pub mod audit_event;
pub mod audit_routes;
pub mod auth;
pub mod caller;
pub mod capture;
pub mod clock;
pub mod connection_limit;
pub mod consent_seal;
pub mod consents;
pub mod datadir;
pub mod deadlines;
pub mod drp;
pub mod drp_callback;
pub mod dsr;
pub mod edge;
pub mod erasure;
pub mod error;
pub mod extract;
pub mod guard;
pub mod listing;
pub mod purpose_routes;
pub mod ratelimit;
pub mod records;
pub mod refusals;
pub mod roles;
pub mod rotation;
pub mod routes;
pub mod sealing;
pub mod segments;
pub mod serve;
pub mod sessions;
pub mod tls;

pub use app::{build_app, AppState};
pub use clock::now_millis;
