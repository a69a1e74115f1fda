//! Everything that speaks HTTP: the router and its state, the `Api` builder
//! with the OpenAPI helpers, extractors, middleware (edge rules, deadlines,
//! permissions before the body, rate limits), serving with TLS and the
//! connection limit, and the routes of the features moved here so far.

pub mod api;
pub mod app;
pub mod authenticate;
pub mod connection_limit;
pub mod deadlines;
pub mod edge;
pub mod extract;
pub mod guard;
pub mod ratelimit;
pub mod routes;
pub mod serve;
pub mod web;
