//! `kith bench pages`: the server time of the staff contacts list page
//! over a large database. The whole request stack runs in process
//! (session cookie, purpose filter, decryption of the page's people, the
//! audit append of one read event per person shown, the template), with
//! the real audit log, one request at a time. The JSON list of the same
//! 50 people through the API, in the same run, is the baseline: the ratio
//! is what the page adds on top of the API.

use crate::bench::{generate, insert_sealed, percentile};
use anyhow::{ensure, Context, Result};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use clap::Args;
use kith_core::account::{LoginInput, NewUserInput};
use kith_crypto::PasswordParams;
use kith_server::auth::AccessPolicy;
use kith_server::config::ServerConfig;
use kith_server::datadir::DataDir;
use kith_server::service::{accounts, login};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[derive(Debug, Args)]
pub struct PagesArgs {
    /// Contacts in the database.
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    /// Requests timed per page.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Run against PostgreSQL instead of SQLite.
    #[arg(long, env = "KITH_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

const PASSWORD: &str = "violet-harbour-lantern-2026";

/// Times `n` sequential GETs of `path` with the session cookie.
async fn timed(app: &axum::Router, cookie: &str, path: &str, n: usize) -> Result<(Vec<Duration>, String)> {
    let mut times = Vec::with_capacity(n);
    let mut last = String::new();
    for _ in 0..n {
        let req = Request::get(path).header(header::COOKIE, cookie).body(Body::empty())?;
        let started = Instant::now();
        let resp = app.clone().oneshot(req).await?;
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
        times.push(started.elapsed());
        ensure!(status == StatusCode::OK, "{path} answered {status}");
        last = String::from_utf8_lossy(&body).into_owned();
    }
    times.sort();
    Ok((times, last))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub async fn run(args: PagesArgs) -> Result<()> {
    let temp = tempfile::tempdir()?;
    let url = match &args.database_url {
        Some(u) => {
            crate::bench::reset_schema(u, "kith_bench_pages").await?;
            Some(crate::bench::with_schema(u, "kith_bench_pages"))
        }
        None => None,
    };
    let mut dir = DataDir::new(&temp.path().join("data"), None)?;
    let opened = dir.initialise(url.as_deref()).await?;
    eprintln!("storing {} contacts", args.contacts);
    insert_sealed(&opened.store, &opened.keys, &generate(args.contacts, 0, 7), 1_000).await?;

    let input = NewUserInput {
        email: "bench@example.org".into(),
        display_name: None,
        roles: vec!["sales".into()],
        teams: Vec::new(),
        password: PASSWORD.into(),
    };
    let params = PasswordParams { m_kib: 64, t: 1, p: 1 };
    accounts::create_user(&opened.store, &opened.keys, params, input, kith_server::now_millis())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let config = ServerConfig { tls: false, ..ServerConfig::default() };
    let state = kith_server::AppState::new(opened.store, opened.keys, opened.notary, Arc::new(AccessPolicy), config);
    let credentials =
        LoginInput { email: "bench@example.org".into(), password: PASSWORD.into(), totp: None, recovery_code: None };
    let session = login::login(&state, None, None, &credentials).await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let cookie = format!("kith_session={}", *session.secret);
    let app = kith_server::build_app(state);

    // Warm the caches (keys, statement cache) before timing.
    timed(&app, &cookie, "/", 10).await?;
    let (first, html) = timed(&app, &cookie, "/", args.requests).await?;
    ensure!(html.matches("<tr").count() > 50, "the first page lists 50 people");
    let cursor = html.split("cursor=").nth(1).and_then(|rest| rest.split('"').next()).context("no next page")?;
    let (next, _) = timed(&app, &cookie, &format!("/?cursor={cursor}"), args.requests).await?;
    let (search, _) = timed(&app, &cookie, "/?q=olena", args.requests).await?;
    let (rare, _) = timed(&app, &cookie, "/?q=kovalenko42", args.requests).await?;
    let (api, json) = timed(&app, &cookie, "/api/v1/contacts?limit=50&sort=-updated_at", args.requests).await?;
    ensure!(json.matches("\"given_name\"").count() == 50, "the API lists 50 people");
    let api_search = "/api/v1/contacts?limit=50&sort=-updated_at&q=olena";
    let (api_search, _) = timed(&app, &cookie, api_search, args.requests).await?;

    let engine = if args.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    println!("engine: {engine}; {} contacts; {} requests per page, one at a time", args.contacts, args.requests);
    println!("| request | p50 ms | p95 ms | p50 vs API |");
    println!("| --- | ---: | ---: | ---: |");
    let row = |name: &str, times: &[Duration], baseline: &[Duration]| {
        let p50 = ms(percentile(times, 0.5));
        let ratio = p50 / ms(percentile(baseline, 0.5));
        println!("| {name} | {p50:.1} | {:.1} | {ratio:.2}x |", ms(percentile(times, 0.95)));
    };
    row("API `GET /api/v1/contacts?limit=50&sort=-updated_at` (baseline)", &api, &api);
    row("page `GET /` (first 50)", &first, &api);
    row("page `GET /?cursor=…` (next 50)", &next, &api);
    row("page `GET /?q=kovalenko42` (a rare name: 2–3 people)", &rare, &api);
    row("API `…&q=olena` (a name 12,500 people share; baseline)", &api_search, &api_search);
    row("page `GET /?q=olena` (the same search)", &search, &api_search);
    Ok(())
}
