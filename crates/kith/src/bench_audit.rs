//! `kith bench audit`: what recording every read costs, and how fast the
//! chain verifies.
//!
//! Reads: the whole request stack (authentication, authorisation, store,
//! decryption, rendering, and the audit append with group commit) driven
//! through the router in process, so socket and TLS costs do not blur the
//! comparison. The same server state with an unaudited log is the baseline,
//! in the same run, with 1 and with 32 concurrent clients.
//!
//! Verification: a log of synthetic events appended in large batches, then
//! `audit verify` timed over all of it.

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::Request;
use clap::Args;
use kith_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use kith_server::audit::{hash_event, AuditLog};
use kith_server::auth::{new_token, AccessPolicy};
use kith_server::config::ServerConfig;
use kith_server::datadir::DataDir;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Contacts to read from.
    #[arg(long, default_value_t = 1_000)]
    contacts: usize,
    /// Seconds each read measurement runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Events in the log whose verification is timed.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Run against PostgreSQL instead of SQLite.
    #[arg(long, env = "KITH_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

pub async fn run(args: AuditArgs) -> Result<()> {
    let temp = tempfile::tempdir()?;
    let url = match &args.database_url {
        Some(u) => {
            crate::bench::reset_schema(u, "kith_bench_audit").await?;
            Some(crate::bench::with_schema(u, "kith_bench_audit"))
        }
        None => None,
    };
    let mut dir = DataDir::new(&temp.path().join("data"), None)?;
    let opened = dir.initialise(url.as_deref()).await?;
    let (token, row) = new_token("bench", "sales", kith_server::now_millis(), None);
    opened.store.insert_token(&row).await?;

    let make_state = |audit: AuditLog| {
        kith_server::AppState::with_audit(
            opened.store.clone(),
            opened.keys.clone(),
            opened.notary.clone(),
            Arc::new(AccessPolicy),
            ServerConfig { tls: false, ..ServerConfig::default() },
            audit,
        )
    };
    let audited = kith_server::build_app(make_state(AuditLog::start(opened.store.clone(), Default::default())));
    let unaudited = kith_server::build_app(make_state(AuditLog::unaudited_for_benchmarks()));

    let ids = create_contacts(&unaudited, &token, args.contacts).await?;

    println!("| clients | unaudited reads/s | audited reads/s | ratio |");
    println!("| ---: | ---: | ---: | ---: |");
    for clients in [1usize, 32] {
        let plain = reads_per_second(&unaudited, &token, &ids, clients, args.seconds).await?;
        let with_audit = reads_per_second(&audited, &token, &ids, clients, args.seconds).await?;
        println!("| {clients} | {plain:.0} | {with_audit:.0} | {:.2} |", with_audit / plain);
    }

    let (n, seconds) = verify_rate(&opened.store, args.events).await?;
    println!("verify: {n} events in {seconds:.2} s = {:.0} events/s", n as f64 / seconds);
    Ok(())
}

/// Creates `n` contacts through the router; their ids.
pub async fn create_contacts(app: &axum::Router, token: &str, n: usize) -> Result<Arc<Vec<String>>> {
    eprintln!("creating {n} contacts");
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let body = serde_json::json!({"given_name": format!("Reader{i}"), "emails": [format!("r{i}@example.org")],
                                      "notes": "a note", "birthday": "1990-01-01"});
        let req = Request::post("/api/v1/contacts")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?;
        let resp = app.clone().oneshot(req).await?;
        anyhow::ensure!(resp.status() == 201, "create failed: {}", resp.status());
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        ids.push(v["id"].as_str().context("id")?.to_string());
    }
    Ok(Arc::new(ids))
}

/// Reads of random contacts by `clients` concurrent tasks for `seconds`.
pub async fn reads_per_second(
    app: &axum::Router,
    token: &str,
    ids: &Arc<Vec<String>>,
    clients: usize,
    seconds: u64,
) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (app, token, ids) = (app.clone(), token.to_string(), ids.clone());
            tokio::spawn(async move {
                let mut done = 0u64;
                let mut i = c * 7919;
                while Instant::now() < deadline {
                    i = (i + 104_729) % ids.len();
                    let req = Request::get(format!("/api/v1/contacts/{}", ids[i]))
                        .header("authorization", format!("Bearer {token}"))
                        .body(Body::empty())
                        .expect("request");
                    let resp = app.clone().oneshot(req).await.expect("infallible");
                    assert_eq!(resp.status(), 200, "read failed");
                    let _ = axum::body::to_bytes(resp.into_body(), 1 << 20).await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Appends `n` synthetic events (on top of what the log holds), then times
/// a full verification.
async fn verify_rate(store: &kith_store::DynStore, n: usize) -> Result<(i64, f64)> {
    eprintln!("appending {n} events");
    let batch = 10_000;
    for start in (0..n).step_by(batch) {
        let events: Vec<AuditEvent> = (start..(start + batch).min(n))
            .map(|i| AuditEvent {
                seq: 0,
                at: 1_767_000_000_000 + i as i64,
                actor: "token:bench".into(),
                action: AuditAction::Read,
                entity: Some("contacts".into()),
                record_id: Some(Uuid::from_u128(i as u128)),
                subject_id: Some(Uuid::from_u128(i as u128)),
                fields: vec!["emails".into(), "given_name".into()],
                purpose: None,
                request_id: Some(Uuid::from_u128(i as u128 + 1).to_string()),
                client: Some("127.0.0.1".into()),
                outcome: AuditOutcome::Ok,
            })
            .collect();
        store.append_audit(events, &hash_event).await?;
    }
    let started = Instant::now();
    let verification = kith_server::audit::verify(store, None, &[]).await?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(verification.intact, "the benchmark's log does not verify: {:?}", verification.first_broken);
    Ok((verification.events, seconds))
}
