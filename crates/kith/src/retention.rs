//! `kith retention plan|run`: options and messages around
//! `kith_server::retention`.

use crate::cli::CommonArgs;
use anyhow::Result;
use clap::{Args, Subcommand};
use kith_core::audit::AuditAction;
use kith_server::audit::record_command;
use kith_server::datadir::DataDir;
use kith_server::retention;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Who retention would erase and which records it would delete, and why: counts only, no value; nothing changes.
    Plan(RetentionArgs),
    /// Erase the people whose retention has run (data key destroyed, receipt, erasure ledger) and delete the records of categories whose own period has run; exceptions to erasure hold both.
    Run(RetentionArgs),
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Decide as of this moment (RFC 3339) instead of now, e.g. to see what a date will bring.
    #[arg(long)]
    at: Option<String>,
}

fn moment(at: &Option<String>) -> Result<i64> {
    match at {
        None => Ok(kith_server::now_millis()),
        Some(text) => kith_core::model::parse_timestamp("--at", text)
            .map(kith_core::model::unix_millis)
            .map_err(|e| anyhow::anyhow!("{}", e.detail)),
    }
}

fn categories(counts: &std::collections::BTreeMap<&'static str, u64>) -> String {
    if counts.is_empty() {
        return "no category has a period of its own ([retention] in kith.toml)".into();
    }
    counts.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
}

pub async fn run(command: RetentionCommand) -> Result<()> {
    let (args, apply) = match command {
        RetentionCommand::Plan(args) => (args, false),
        RetentionCommand::Run(args) => (args, true),
    };
    let now = moment(&args.at)?;
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let settings = dir.settings.retention.clone().unwrap_or_default();
    settings.check().map_err(|e| anyhow::anyhow!("{}: {e}", dir.config_file().display()))?;
    let opened = dir.open(args.common.database_url.as_deref()).await?;
    if apply {
        let ledger = dir.erasure_ledger_file();
        let ran = retention::run(&opened.store, &opened.notary, &settings, Some(&ledger), now).await?;
        println!(
            "erased {} people whose retention had run ({} held by an exception to erasure); records deleted: {}{}",
            ran.people_erased,
            ran.people_held,
            categories(&ran.records_deleted),
            if ran.records_held > 0 { format!(" ({} held)", ran.records_held) } else { String::new() }
        );
    } else {
        let plan = retention::plan(&opened.store, &settings, now).await?;
        let fields = plan.fields();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        record_command(&opened.store, AuditAction::Read, "retention", None, &fields).await?;
        println!(
            "people: {} due for erasure (every purpose and category period has run since their last activity), \
             {} due but held by an exception to erasure, {} kept",
            plan.people_due, plan.people_held, plan.people_kept
        );
        println!("records past their category's period: {}", categories(&plan.records_due));
    }
    Ok(())
}
