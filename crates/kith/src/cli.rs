//! The command line: options, their help, and the calls they make.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use kith_core::audit::AuditAction;
use kith_server::audit::record_command;
use kith_server::auth::{new_token, AccessPolicy, ROLES};
use kith_server::clock::rfc3339_millis;
use kith_server::config::ServerConfig;
use kith_server::datadir::DataDir;
use kith_server::tls::{ensure_self_signed, rustls_config, TlsFiles};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(name = "kith", version, about = "Kith, the privacy-first CRM", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server, initialising the data directory on first use.
    Serve(ServeArgs),
    /// Initialise a data directory (database, key file, TLS certificate) without serving. Idempotent; never overwrites a key.
    Init(CommonArgs),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Staff accounts.
    #[command(subcommand)]
    User(crate::users::UserCommand),
    /// Key-encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Measure import and lookup throughput against a plaintext baseline.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Encrypted online backups: create, verify, restore, and the backup keys.
    #[command(subcommand)]
    Backup(crate::backup::BackupCommand),
    /// Retention: who would go and why (plan), and doing it (run).
    #[command(subcommand)]
    Retention(crate::retention::RetentionCommand),
    /// Copy the installation into an empty database of another engine (postgres://… or sqlite://PATH), check row counts and the audit chain, then switch kith.toml to it.
    Migrate(crate::backup::MigrateArgs),
    /// The security self-check: findings with their severity and fix. Exit status 1 when any is high, so cron can alert.
    Doctor(CommonArgs),
    /// Exports of personal data: the contacts a purpose allows.
    #[command(subcommand)]
    Export(crate::export::ExportCommand),
    /// Imports: contacts from CSV or vCard files, with duplicate and suppression checks.
    #[command(subcommand)]
    Import(crate::import::ImportCommand),
    /// The record of processing activities (Art. 30): purposes, recipients, transfers, retention and measures, as JSON, Markdown, HTML or fideslang.
    Ropa(crate::ropa::RopaArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// Data directory: SQLite database, key file, TLS certificate, kith.toml.
    #[arg(long, env = "KITH_DATA_DIR", default_value = "./kith-data")]
    pub data_dir: PathBuf,
    /// Database to use instead of the embedded SQLite file, e.g. postgres://user@host/db. Remembered in kith.toml at initialisation.
    #[arg(long, env = "KITH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Key file holding the key-encryption keys (default DATA_DIR/kith.key). Keep it off the database's disk and its backups.
    #[arg(long, env = "KITH_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to listen on [default: 127.0.0.1:8443].
    #[arg(long, env = "KITH_LISTEN")]
    listen: Option<String>,
    /// Serve plain HTTP instead of TLS. Refused unless the listen address is a loopback address.
    #[arg(long, env = "KITH_HTTP")]
    http: bool,
    /// PEM certificate chain to serve instead of the self-signed one (with --tls-key).
    #[arg(long, env = "KITH_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "KITH_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest request body accepted, in bytes [default: 1048576].
    #[arg(long, env = "KITH_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Minutes between signed checkpoints of the audit log (one is also signed at shutdown).
    #[arg(long, env = "KITH_CHECKPOINT_EVERY", default_value_t = 5)]
    checkpoint_every: u64,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token and print it on standard output, alone on its line. It is shown only this once.
    Create(TokenCreateArgs),
    /// List tokens: id, name, role, creation, expiry and whether revoked (never the tokens themselves).
    List(CommonArgs),
    /// Revoke a token by its id (from `kith token list`); it stops working at once.
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
struct TokenRevokeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The token's id.
    id: uuid::Uuid,
}

#[derive(Debug, Args)]
struct TokenCreateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Who or what the token is for, e.g. "billing-sync".
    #[arg(long)]
    name: String,
    /// The token's role: admin, dpo, sales, support, marketing or auditor.
    #[arg(long)]
    role: String,
    /// Days until the token expires (default: never).
    #[arg(long)]
    expires: Option<u32>,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Install a new key-encryption key and rewrap every data key under it while servers keep running; the old key is then removed from the key file.
    Rotate(CommonArgs),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the audit log's hash chain and check it against the newest signed checkpoint (the database's, the data directory's, or --checkpoint). Exit status 0 when intact; otherwise the first modified, deleted, inserted or reordered event, or a truncation, is named and the status is 1.
    Verify(AuditVerifyArgs),
    /// Sign a checkpoint of the audit log now and print it (a C2SP signed note) for safekeeping outside the database.
    Checkpoint(AuditCheckpointArgs),
}

#[derive(Debug, Args)]
struct AuditVerifyArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// A checkpoint kept elsewhere (printed by `kith audit checkpoint`).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// A file holding the verifier key kept apart (printed by `kith audit checkpoint`); checkpoints must verify under it instead of the data directory's audit.key.
    #[arg(long)]
    verifier_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct AuditCheckpointArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Also write the checkpoint to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Import generated contacts with interactions through the storage layer, then look contacts up by e-mail; the same workload runs on plaintext tables for comparison.
    Import(crate::bench::ImportArgs),
    /// A CSV file of generated contacts through `kith import` (dry run, then the import), against plaintext inserts of the same contacts.
    ImportFile(crate::bench_import_file::ImportFileArgs),
    /// Read throughput with and without auditing (1 and 32 clients), and audit verification speed.
    Audit(crate::bench_audit::AuditArgs),
    /// The access check per request: the real policy against a permissive one.
    Policy(crate::bench_policy::PolicyArgs),
    /// The server time of the contacts list page over a large database.
    Pages(crate::bench_pages::PagesArgs),
    /// Backup, verification and restore of a large database, against sqlite3 .backup or pg_dump and pg_restore.
    Backup(crate::bench_backup::BackupArgs),
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Init(args) => {
            let mut dir = DataDir::new(&args.data_dir, args.key_file.clone())?;
            let opened = dir.initialise(args.database_url.as_deref()).await?;
            println!("initialised {} (database {})", args.data_dir.display(), opened.database);
            Ok(())
        }
        Command::Token(TokenCommand::Create(args)) => token_create(args).await,
        Command::Token(TokenCommand::List(args)) => token_list(args).await,
        Command::Token(TokenCommand::Revoke(args)) => token_revoke(args).await,
        Command::User(command) => crate::users::run(command).await,
        Command::Keys(KeysCommand::Rotate(args)) => keys_rotate(args).await,
        Command::Audit(AuditCommand::Verify(args)) => audit_verify(args).await,
        Command::Audit(AuditCommand::Checkpoint(args)) => audit_checkpoint(args).await,
        Command::Bench(BenchCommand::Import(args)) => crate::bench::import(args).await,
        Command::Bench(BenchCommand::ImportFile(args)) => crate::bench_import_file::run(args).await,
        Command::Bench(BenchCommand::Audit(args)) => crate::bench_audit::run(args).await,
        Command::Bench(BenchCommand::Policy(args)) => crate::bench_policy::run(args).await,
        Command::Bench(BenchCommand::Pages(args)) => crate::bench_pages::run(args).await,
        Command::Bench(BenchCommand::Backup(args)) => crate::bench_backup::run_bench(args).await,
        Command::Doctor(args) => doctor(args).await,
        Command::Backup(command) => crate::backup::run(command).await,
        Command::Migrate(args) => crate::backup::migrate(args).await,
        Command::Retention(command) => crate::retention::run(command).await,
        Command::Ropa(args) => crate::ropa::run(args).await,
        Command::Export(command) => crate::export::run(command).await,
        Command::Import(command) => crate::import::run(command).await,
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let mut dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let listen = args.listen.clone().or_else(|| dir.settings.listen.clone()).unwrap_or_else(|| "127.0.0.1:8443".into());
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen} is not an address like 127.0.0.1:8443 or [::1]:8443"))?;
    if args.http && !addr.ip().is_loopback() {
        bail!("--http serves plain, unencrypted HTTP and is only allowed on a loopback address (127.0.0.1 or ::1), not {addr}; drop --http to serve TLS");
    }
    let opened = dir.initialise(args.common.database_url.as_deref()).await?;
    // The generated certificate's folder, when that is what is served: it is renewed while serving.
    let mut self_signed = None;
    let tls = if args.http {
        None
    } else {
        let files = match (
            args.tls_cert.clone().or(dir.settings.tls_cert.clone()),
            args.tls_key.clone().or(dir.settings.tls_key.clone()),
        ) {
            (Some(cert), Some(key)) => TlsFiles { cert, key },
            (None, None) => {
                self_signed = Some(dir.tls_dir());
                ensure_self_signed(&dir.tls_dir())?
            }
            _ => bail!(
                "TLS needs a certificate and its key together: give both --tls-cert and --tls-key \
                 (or tls_cert and tls_key in {})",
                dir.config_file().display()
            ),
        };
        Some(rustls_config(&files).await?)
    };
    // The doctor reports plain HTTP until a server of this database starts with TLS again.
    match tls {
        None => {
            opened
                .store
                .set_setting(kith_server::doctor::PLAIN_HTTP_SINCE, &rfc3339_millis(kith_server::now_millis()))
                .await?
        }
        Some(_) => opened.store.remove_setting(kith_server::doctor::PLAIN_HTTP_SINCE).await?,
    }
    let listener = std::net::TcpListener::bind(addr).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("cannot listen on {addr}: the port is already in use")
        }
        std::io::ErrorKind::PermissionDenied => {
            anyhow::anyhow!("cannot listen on {addr}: permission denied")
        }
        _ => anyhow::anyhow!("cannot listen on {addr}: {e}"),
    })?;
    if let Some(backup) = &dir.settings.backup {
        backup.check().map_err(|e| anyhow::anyhow!("{}: {e}", dir.config_file().display()))?;
    }
    if let Some(retention) = &dir.settings.retention {
        retention.check().map_err(|e| anyhow::anyhow!("{}: {e}", dir.config_file().display()))?;
    }
    let config = ServerConfig {
        max_body_bytes: args.max_body_bytes.or(dir.settings.max_body_bytes).unwrap_or(1024 * 1024),
        max_upload_bytes: dir.settings.max_upload_bytes.unwrap_or(ServerConfig::default().max_upload_bytes),
        body_deadline: kith_server::config::BODY_DEADLINE,
        response_deadline: kith_server::config::RESPONSE_DEADLINE,
        tls: tls.is_some(),
        alerts: {
            let rules = dir.settings.alerts.clone().unwrap_or_default();
            rules.check().map_err(|e| anyhow::anyhow!("{}: {e}", dir.config_file().display()))?;
            rules
        },
        digital_consent_age: match dir.settings.digital_consent_age {
            Some(age @ 13..=16) => age,
            Some(other) => {
                bail!("{}: digital_consent_age {other} is not between 13 and 16", dir.config_file().display())
            }
            None => kith_server::config::DEFAULT_DIGITAL_CONSENT_AGE,
        },
        capture: {
            let capture = dir.settings.capture.clone().unwrap_or_default();
            capture.check().map_err(|e| anyhow::anyhow!("{}: {e}", dir.config_file().display()))?;
            capture
        },
        accounts: {
            let accounts = dir.settings.accounts.clone().unwrap_or_default();
            accounts.check().map_err(|e| anyhow::anyhow!("{}: {e}", dir.config_file().display()))?;
            accounts
        },
        portal: {
            let portal = dir.settings.portal.clone().unwrap_or_default();
            portal.check().map_err(|e| anyhow::anyhow!("{}: {e}", dir.config_file().display()))?;
            portal
        },
        drp_business_id: dir
            .settings
            .drp_business_id
            .clone()
            .unwrap_or_else(|| kith_server::config::DEFAULT_DRP_BUSINESS_ID.to_string()),
        drp_callbacks: Default::default(),
        erasure_ledger: Some(dir.erasure_ledger_file()),
        installation: Some(kith_server::config::Installation {
            data_dir: dir.root.clone(),
            key_file: args.common.key_file.clone(),
            database_url: dir.database_url(args.common.database_url.as_deref()),
            backup_every_ms: dir.settings.backup.as_ref().map(|b| b.every_ms()),
        }),
        retention: dir.settings.retention.clone().unwrap_or_default(),
    };
    let (store, notary) = (opened.store.clone(), opened.notary.clone());
    let state = kith_server::AppState::new(opened.store, opened.keys, opened.notary, Arc::new(AccessPolicy), config);
    let audit = state.audit.clone();
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("Kith serving on {scheme}://{local} (database {})", opened.database);
    if let Some(expiry) = self_signed.as_deref().and_then(kith_server::tls::self_signed_expiry) {
        let until = expiry.date();
        println!(
            "TLS: a self-signed certificate for localhost, valid until {until} and renewed before then; \
             to serve your own, give --tls-cert FILE --tls-key FILE (or tls_cert and tls_key in {})",
            dir.config_file().display()
        );
    }
    tracing::info!(%local, scheme, "listening");
    let every = std::time::Duration::from_secs(60 * args.checkpoint_every.max(1));
    // The periodic work runs beside serving in this task rather than a
    // spawned one: a scheduled backup borrows across awaits in ways a
    // spawned task cannot be proven `Send` for.
    let periodic = {
        let (store, notary, audit, tls, dir) = (store.clone(), notary.clone(), audit.clone(), tls.clone(), dir.clone());
        let url = dir.database_url(args.common.database_url.as_deref());
        async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let (Some(dir), Some(tls)) = (&self_signed, &tls) {
                    kith_server::tls::renew_self_signed(dir, tls).await;
                }
                if let Err(e) = notary.checkpoint(&store).await {
                    tracing::warn!(error = %e, "audit checkpoint failed");
                }
                // Expired confirmations go even when no form is submitted.
                kith_server::service::capture::sweep(&store, &audit).await;
                // Other servers' erasures reach this data directory's ledger file.
                dir.reconcile_ledger(&store).await;
                if let Some(schedule) = &dir.settings.backup {
                    let engine = kith_server::backup::engine_of(&url);
                    let now = kith_server::now_millis();
                    match kith_server::backup::schedule::run_if_due(&store, schedule, &dir.key_file(), engine, now)
                        .await
                    {
                        Ok(Some(done)) => {
                            tracing::info!(file = %done.file.display(), verified = done.verified, "scheduled backup written")
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!(error = %format!("{e:#}"), "the scheduled backup failed"),
                    }
                }
                if let Some(retention) = &dir.settings.retention {
                    let (ledger, now) = (dir.erasure_ledger_file(), kith_server::now_millis());
                    match kith_server::retention::run_if_due(&store, &notary, retention, &ledger, now).await {
                        Ok(Some(ran)) => {
                            tracing::info!(erased = ran.people_erased, held = ran.people_held, "retention applied")
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!(error = %format!("{e:#}"), "retention did not run"),
                    }
                }
                let every = dir.settings.backup.as_ref().map(|b| b.every_ms());
                if let Err(e) = kith_server::doctor::daily(&dir, &url, &store, every).await {
                    tracing::warn!(error = %e, "the daily self-check did not run");
                }
            }
        }
    };
    let serving = kith_server::http::serve::serve(
        kith_server::build_app(state),
        listener,
        tls,
        kith_server::http::serve::shutdown_signal(),
    );
    tokio::pin!(periodic);
    tokio::select! {
        served = serving => served?,
        _ = &mut periodic => unreachable!("the periodic work never ends"),
    }
    if let Err(e) = audit.close_refusals(true).await {
        tracing::warn!(error = %e.detail, "refusal counts could not be recorded at shutdown");
    }
    match notary.checkpoint(&store).await {
        Ok((size, _)) => tracing::info!(size, "audit checkpoint signed at shutdown"),
        Err(e) => tracing::warn!(error = %e, "audit checkpoint at shutdown failed"),
    }
    Ok(())
}

async fn token_create(args: TokenCreateArgs) -> Result<()> {
    let name = kith_core::values::parse_staff_id(&args.name).map_err(|e| anyhow::anyhow!("--name: {}", e.detail))?;
    let name = name.as_str();
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let opened = dir.open(args.common.database_url.as_deref()).await?;
    if !kith_server::auth::roles::role_exists(&opened.store, &args.role)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?
    {
        bail!("--role {} is not a role; use one of {} or a custom role", args.role, ROLES.join(", "));
    }
    let now = kith_server::now_millis();
    let expires_at = args.expires.map(|days| now + i64::from(days) * 86_400_000);
    let (token, row) = new_token(name, &args.role, now, expires_at);
    opened.store.insert_token(&row).await?;
    let fields: &[&str] = if expires_at.is_some() { &["name", "role", "expires_at"] } else { &["name", "role"] };
    record_command(&opened.store, AuditAction::TokenIssue, "api_tokens", Some(row.id), fields).await?;
    println!("{token}");
    Ok(())
}

async fn token_list(args: CommonArgs) -> Result<()> {
    let dir = DataDir::new(&args.data_dir, args.key_file.clone())?;
    let opened = dir.open(args.database_url.as_deref()).await?;
    let now = kith_server::now_millis();
    println!("{:<36}  {:<24}  {:<9}  {:<24}  {:<24}  status", "id", "name", "role", "created", "expires");
    for t in opened.store.list_tokens().await? {
        let status = match (t.revoked_at, t.expires_at) {
            (Some(_), _) => "revoked",
            (None, Some(at)) if at <= now => "expired",
            _ => "active",
        };
        let expires = t.expires_at.map(rfc3339_millis).unwrap_or_else(|| "never".into());
        println!(
            "{:<36}  {:<24}  {:<9}  {:<24}  {:<24}  {status}",
            t.id,
            t.name,
            t.role,
            rfc3339_millis(t.created_at),
            expires
        );
    }
    Ok(())
}

async fn token_revoke(args: TokenRevokeArgs) -> Result<()> {
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let opened = dir.open(args.common.database_url.as_deref()).await?;
    if !opened.store.revoke_token(args.id, kith_server::now_millis()).await? {
        bail!("no active token has the id {}", args.id);
    }
    record_command(&opened.store, AuditAction::TokenRevoke, "api_tokens", Some(args.id), &["revoked_at"]).await?;
    println!("revoked {}", args.id);
    Ok(())
}

/// Prints the findings, most severe first; any high one fails the command.
async fn doctor(args: CommonArgs) -> Result<()> {
    use kith_server::doctor;
    let dir = DataDir::new(&args.data_dir, args.key_file.clone())?;
    let url = dir.database_url(args.database_url.as_deref());
    // The files are checked before opening: opening refuses a key file open to others.
    let files_first = doctor::files(&dir, time::OffsetDateTime::now_utc());
    let opened = dir.open(args.database_url.as_deref()).await;
    let store = opened.as_ref().map(|o| &o.store).map_err(|e| format!("{e:#}"));
    let every = dir.settings.backup.as_ref().map(|b| b.every_ms());
    let mut found = doctor::examine(&dir, &url, store, every).await?;
    // What opening changed (it writes a missing erasure ledger) was found before it.
    for early in files_first {
        if !found.iter().any(|f| f.check == early.check) {
            found.push(early);
        }
    }
    doctor::sort(&mut found);
    let report = doctor::Report::of(found);
    let (found, high, medium, low) = (&report.findings, report.high, report.medium, report.low);
    if let Ok(opened) = &opened {
        let fields = report.fields();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        kith_server::audit::record_command(&opened.store, AuditAction::Read, "doctor", None, &fields).await?;
    }
    if found.is_empty() {
        println!("No findings.");
    }
    for f in found {
        println!("{:<6}  {}: {}\n        fix: {}", f.severity.as_str(), f.check, f.problem, f.fix);
    }
    println!("{high} high, {medium} medium, {low} low");
    if high > 0 {
        std::process::exit(1);
    }
    Ok(())
}

async fn audit_verify(args: AuditVerifyArgs) -> Result<()> {
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let opened = dir.open(args.common.database_url.as_deref()).await?;
    let extra = match &args.checkpoint {
        Some(path) => Some(kith_server::audit::CheckpointNote {
            source: path.display().to_string(),
            note: std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the checkpoint {}", path.display()))?,
        }),
        None => None,
    };
    let report = match &args.verifier_key {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let key = kith_crypto::signed_note::NoteVerifier::parse(&text)
                .map_err(|_| anyhow::anyhow!("{} does not hold a verifier key (name+id+key)", path.display()))?;
            opened.notary.verify_with_key(&opened.store, extra, &key).await?
        }
        None => opened.notary.verify(&opened.store, extra).await?,
    };
    match report.first_broken {
        None => {
            opened.store.set_setting(kith_server::audit::VERIFIED_AT, &kith_server::now_millis().to_string()).await?;
            let against = match report.checkpoint {
                Some(size) => format!("consistent with the signed checkpoint of {size} events"),
                None => "no signed checkpoint yet".to_string(),
            };
            println!("audit log intact: {} events, chain head {}; {against}", report.events, report.head);
            Ok(())
        }
        Some(broken) => bail!(
            "audit log broken at event {}: {} ({} events verified before it)",
            broken.seq,
            broken.reason,
            report.events
        ),
    }
}

async fn audit_checkpoint(args: AuditCheckpointArgs) -> Result<()> {
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let opened = dir.open(args.common.database_url.as_deref()).await?;
    let (_, note) = opened.notary.checkpoint(&opened.store).await?;
    if let Some(out) = &args.out {
        std::fs::write(out, &note).with_context(|| format!("cannot write {}", out.display()))?;
    }
    let now = kith_server::now_millis().to_string();
    opened.store.set_setting(kith_server::audit::CHECKPOINT_EXPORTED_AT, &now).await?;
    print!("{note}");
    eprintln!("verifier key: {}", opened.notary.verifier().encoded());
    Ok(())
}

async fn keys_rotate(args: CommonArgs) -> Result<()> {
    let dir = DataDir::new(&args.data_dir, args.key_file.clone())?;
    let opened = dir.open(args.database_url.as_deref()).await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("rewrapping data keys {bar:40} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let report = kith_server::rotation::rotate(&opened.store, &dir.key_file(), &progress).await?;
    record_command(&opened.store, AuditAction::KeyRotation, "data_keys", None, &["kek_id", "wrapped"]).await?;
    bar.finish_and_clear();
    println!(
        "rotated: {} data keys rewrapped under {}; retired {}",
        report.rewrapped,
        report.active,
        if report.retired.is_empty() { "none".to_string() } else { report.retired.join(", ") }
    );
    Ok(())
}

/// The server's state for a command that works on the data itself
/// (exports, imports): the data directory's store and keys, its alert rules.
pub async fn command_state(common: &CommonArgs) -> Result<kith_server::AppState> {
    let dir = DataDir::new(&common.data_dir, common.key_file.clone())?;
    let opened = dir.open(common.database_url.as_deref()).await?;
    Ok(kith_server::AppState::new(
        opened.store.clone(),
        opened.keys.clone(),
        opened.notary.clone(),
        std::sync::Arc::new(kith_server::auth::AccessPolicy),
        ServerConfig { alerts: dir.settings.alerts.clone().unwrap_or_default(), ..ServerConfig::default() },
    ))
}
