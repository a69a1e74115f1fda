//! `kith backup ...`: options, progress and messages around
//! `kith_server::backup`.

use crate::cli::CommonArgs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kith_core::audit::AuditAction;
use kith_server::audit::record_command;
use kith_server::backup::{self, keys};
use kith_server::datadir::DataDir;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write an encrypted backup (age format) of the whole installation while servers keep serving. It is encrypted to the key file's backup key (made on first use), or to --recipient.
    Create(CreateArgs),
    /// Authenticate every chunk of a backup, check its manifest and digests, load it into a scratch database and verify its audit chain. Exit status 1, naming what is wrong, otherwise.
    Verify(FileArgs),
    /// Restore a backup into an empty data directory or database, then erase again everyone the erasure ledger beside the key file names.
    Restore(FileArgs),
    /// List the key file's backup keys (ids and public halves, never secrets).
    Keys(CommonArgs),
    /// Make a new backup key for new backups; older ones stay to open older backups.
    RotateKey(CommonArgs),
    /// Delete an older backup key: every backup encrypted to it can no longer be opened by anyone.
    RetireKey(RetireArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The backup file to write; an existing file is never overwritten.
    #[arg(long)]
    out: PathBuf,
    /// Encrypt to this age public key (age1…) instead of the key file's backup key, so the machine holding backups never holds a secret. Repeatable.
    #[arg(long)]
    recipient: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// A backup file to read, and how to open it.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The backup file.
    file: PathBuf,
    #[command(flatten)]
    common: CommonArgs,
    /// An age identity file (AGE-SECRET-KEY-1… lines) for a backup made with --recipient.
    #[arg(long)]
    identity: Option<PathBuf>,
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The empty database to move to: postgres://… or sqlite://PATH.
    #[arg(long)]
    to: String,
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct RetireArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The backup key's id, from `kith backup keys`.
    id: String,
}

pub async fn run(command: BackupCommand) -> Result<()> {
    match command {
        BackupCommand::Create(args) => create(args).await,
        BackupCommand::Verify(args) => verify(args).await,
        BackupCommand::Restore(args) => restore(args).await,
        BackupCommand::Keys(args) => {
            let dir = DataDir::new(&args.data_dir, args.key_file.clone())?;
            for key in keys::list(&dir.key_file())? {
                println!("{}  created {}  {}", key.id, key.created_at, key.recipient);
            }
            Ok(())
        }
        BackupCommand::RotateKey(args) => {
            let dir = DataDir::new(&args.data_dir, args.key_file.clone())?;
            let opened = dir.open(args.database_url.as_deref()).await?;
            let made = keys::rotate(&dir.key_file())?;
            record_command(&opened.store, AuditAction::KeyRotation, "backup_keys", None, &["created"]).await?;
            println!("new backup key {} ({}); new backups are encrypted to it", made.id, made.recipient);
            Ok(())
        }
        BackupCommand::RetireKey(args) => {
            let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
            let opened = dir.open(args.common.database_url.as_deref()).await?;
            let gone = keys::retire(&dir.key_file(), &args.id)?;
            record_command(&opened.store, AuditAction::KeyRotation, "backup_keys", None, &["retired"]).await?;
            println!("retired backup key {}: backups encrypted to it can no longer be opened", gone.id);
            Ok(())
        }
    }
}

/// A row counter on standard error, hidden with --quiet or off a terminal.
fn progress_bar(quiet: bool, verb: &str) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    let template = format!("{{spinner}} {verb} {{msg}}: {{pos}} rows ({{per_sec}})");
    bar.set_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The callback that moves the bar: the table at hand and the rows so far.
fn advance(bar: &indicatif::ProgressBar) -> impl Fn(&str, u64) + Sync + '_ {
    move |table: &str, rows: u64| {
        bar.set_message(table.to_string());
        bar.set_position(rows);
    }
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn identities(path: &Option<PathBuf>) -> Result<Vec<kith_crypto::backup_key::BackupKey>> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            kith_crypto::backup_key::identities_from_text(&text)
                .with_context(|| format!("{} is not an age identity file", path.display()))
        }
        None => Ok(Vec::new()),
    }
}

async fn create(args: CreateArgs) -> Result<()> {
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let opened = dir.open(args.common.database_url.as_deref()).await?;
    let (recipients, key) = if args.recipient.is_empty() {
        let (key, made) = keys::current(&dir.key_file())?;
        if made {
            record_command(&opened.store, AuditAction::KeyRotation, "backup_keys", None, &["created"]).await?;
            eprintln!("made backup key {} in {}", key.id, dir.key_file().display());
        }
        (vec![key.recipient], key.id)
    } else {
        (args.recipient.clone(), "the given recipient".to_string())
    };
    let bar = progress_bar(args.quiet, "backing up");
    let progress = advance(&bar);
    let engine = backup::engine_of(&dir.database_url(args.common.database_url.as_deref()));
    let report = backup::create(&opened.store, engine, &recipients, &args.out, &progress).await?;
    bar.finish_and_clear();
    let manifest = &report.manifest;
    let fields = manifest.fields();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    record_command(&opened.store, AuditAction::Read, "backup", None, &fields).await?;
    println!(
        "backup written: {} ({} rows in {} tables, {}), encrypted to {key}; audit head at event {}",
        args.out.display(),
        manifest.rows(),
        manifest.tables.len(),
        mebibytes(report.bytes),
        manifest.audit_seq
    );
    Ok(())
}

async fn verify(args: FileArgs) -> Result<()> {
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let mut keys = identities(&args.identity)?;
    if keys.is_empty() && dir.key_file().exists() {
        keys = keys::identities(&dir.key_file())?;
    }
    let bar = progress_bar(args.quiet, "verifying");
    let progress = advance(&bar);
    let outcome = backup::verify(&args.file, &keys, &progress).await;
    bar.finish_and_clear();
    // Recorded in the data directory's audit log when there is one to record in.
    let fields = [if outcome.is_ok() { "outcome:intact" } else { "outcome:damaged" }];
    match dir.open(args.common.database_url.as_deref()).await {
        Ok(opened) => {
            record_command(&opened.store, AuditAction::Read, "backup_verification", None, &fields).await?;
            if let Ok(verified) = &outcome {
                backup::note_verified(&opened.store, backup::taken_at(&verified.manifest)?).await?;
            }
        }
        Err(_) => eprintln!("note: {} has no database to record this verification in", dir.root.display()),
    }
    let verified = outcome.with_context(|| format!("{} did not verify", args.file.display()))?;
    let manifest = &verified.manifest;
    let against = match verified.audit.checkpoint {
        Some(size) => format!("consistent with its signed checkpoint of {size} events"),
        None => "no signed checkpoint in it".to_string(),
    };
    println!(
        "backup intact: {} ({} engine, made {}): {} rows in {} tables, digests match; audit chain of {} events intact, {against}",
        args.file.display(),
        manifest.engine,
        manifest.created_at,
        manifest.rows(),
        manifest.tables.len(),
        verified.audit.events
    );
    Ok(())
}

async fn restore(args: FileArgs) -> Result<()> {
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let given = args.common.database_url.as_deref();
    let request = backup::RestoreRequest {
        file: &args.file,
        key_file: dir.key_file(),
        audit_key_file: dir.audit_key_file(),
        database_url: dir.database_url(given),
        identities: identities(&args.identity)?,
    };
    let bar = progress_bar(args.quiet, "restoring");
    let progress = advance(&bar);
    let report = backup::restore(request, &progress).await;
    bar.finish_and_clear();
    let report = report?;
    dir.remember_database(given)?;
    kith_server::tls::ensure_self_signed(&dir.tls_dir())?;
    println!(
        "restored {} rows in {} tables from a backup of {} into {}; {} erased since the backup: erased again",
        report.manifest.rows(),
        report.manifest.tables.len(),
        report.manifest.created_at,
        report.database,
        match report.replayed {
            0 => "no one".to_string(),
            1 => "1 person".to_string(),
            n => format!("{n} people"),
        }
    );
    Ok(())
}

/// `kith migrate`: copy, check, then switch `kith.toml`.
pub async fn migrate(args: MigrateArgs) -> Result<()> {
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let from = dir.database_url(args.common.database_url.as_deref());
    if from == args.to {
        anyhow::bail!("--to names the database the installation already uses");
    }
    let opened = dir.open(args.common.database_url.as_deref()).await?;
    eprintln!("stop the servers first: what they write after the copy begins stays in {}", opened.database);
    let bar = progress_bar(args.quiet, "copying");
    let progress = advance(&bar);
    let ledger = dir.erasure_ledger_file();
    let done = backup::migrate(&opened.store, &args.to, &opened.notary.verifier(), &ledger, &progress).await;
    bar.finish_and_clear();
    let done = done.with_context(|| format!("{} still uses {}", dir.config_file().display(), opened.database))?;
    dir.remember_database(Some(&args.to))?;
    let target = kith_server::datadir::open_store(&args.to).await?;
    let fields = [format!("rows:{}", done.rows), format!("tables:{}", done.tables)];
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    record_command(&target, AuditAction::Create, "migration", None, &fields).await?;
    record_command(&target, AuditAction::ConfigChange, "kith.toml", None, &["database_url"]).await?;
    println!(
        "migrated {} rows in {} tables to {}; row counts match and the audit chain of {} events is intact. \
         {} now names it; the old database is left as it was.",
        done.rows,
        done.tables,
        kith_server::config::redact_url(&args.to),
        done.audit_events,
        dir.config_file().display()
    );
    Ok(())
}
