//! `kith bench policy`: what the access check costs per request. The same
//! contact reads run through the router in process with the real policy
//! (a `sales` token: permissions resolved from the role, the grant, the
//! scope, the purpose and its role check, fields redacted) and with a
//! permissive authoriser that grants everything, in the same run. Both use
//! an unaudited log, so the audit append does not hide the difference.

use anyhow::Result;
use clap::Args;
use kith_core::access::{Action, Grant};
use kith_core::EntityKind;
use kith_server::audit::AuditLog;
use kith_server::auth::{new_token, AccessPolicy, Authorizer, Principal};
use kith_server::config::ServerConfig;
use kith_server::datadir::DataDir;
use kith_server::error::ApiResult;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Contacts to read from.
    #[arg(long, default_value_t = 1_000)]
    contacts: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Run against PostgreSQL instead of SQLite.
    #[arg(long, env = "KITH_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

/// Grants every action on every field of every record, and everything else.
struct Permissive;

impl Authorizer for Permissive {
    fn authorize(&self, _: &Principal, _: Action, _: EntityKind) -> ApiResult<Grant> {
        Ok(Grant::everything())
    }
    fn authorize_audit(&self, _: &Principal) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_purposes(&self, _: &Principal, _: bool) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_legal_claims(&self, _: &Principal) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_api_keys(&self, _: &Principal, _: bool) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_roles(&self, _: &Principal, _: bool) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_accounts(&self, _: &Principal) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_requests(&self, _: &Principal, _: bool) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_erasure(&self, _: &Principal) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_agents(&self, _: &Principal) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_doctor(&self, _: &Principal) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_accountability(&self, _: &Principal, _: bool) -> ApiResult<()> {
        Ok(())
    }
    fn authorize_breaches(&self, _: &Principal) -> ApiResult<()> {
        Ok(())
    }
}

pub async fn run(args: PolicyArgs) -> Result<()> {
    let temp = tempfile::tempdir()?;
    let url = match &args.database_url {
        Some(u) => {
            crate::bench::reset_schema(u, "kith_bench_policy").await?;
            Some(crate::bench::with_schema(u, "kith_bench_policy"))
        }
        None => None,
    };
    let mut dir = DataDir::new(&temp.path().join("data"), None)?;
    let opened = dir.initialise(url.as_deref()).await?;
    let (token, row) = new_token("bench", "sales", kith_server::now_millis(), None);
    opened.store.insert_token(&row).await?;
    let app = |authorizer: Arc<dyn Authorizer>| {
        kith_server::build_app(kith_server::AppState::with_audit(
            opened.store.clone(),
            opened.keys.clone(),
            opened.notary.clone(),
            authorizer,
            ServerConfig { tls: false, ..ServerConfig::default() },
            AuditLog::unaudited_for_benchmarks(),
        ))
    };
    let checked = app(Arc::new(AccessPolicy));
    let permissive = app(Arc::new(Permissive));
    let ids = crate::bench_audit::create_contacts(&checked, &token, args.contacts).await?;

    println!("| clients | permissive reads/s | checked reads/s | ratio |");
    println!("| ---: | ---: | ---: | ---: |");
    // One-second turns taken in alternation, so drift in the machine (caches,
    // other load) falls on both sides alike.
    for clients in [1usize, 32] {
        let (mut open, mut with_check) = (0.0, 0.0);
        for _ in 0..args.seconds {
            open += crate::bench_audit::reads_per_second(&permissive, &token, &ids, clients, 1).await?;
            with_check += crate::bench_audit::reads_per_second(&checked, &token, &ids, clients, 1).await?;
        }
        let turns = args.seconds.max(1) as f64;
        println!("| {clients} | {:.0} | {:.0} | {:.2} |", open / turns, with_check / turns, with_check / open);
    }
    Ok(())
}
