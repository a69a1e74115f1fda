//! `kith export contacts`: the export the API streams, from the command
//! line, to a file or standard output, audited as `system:cli`.

use crate::cli::CommonArgs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use kith_server::auth::caller::Caller;
use kith_server::service::contact_export::{self, ExportFormat};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The contacts a purpose allows (restricted people never), every field, as CSV, vCard or JSON.
    Contacts(ExportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Vcf,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// The purpose the export processes the data for, e.g. marketing.communications.email.
    #[arg(long)]
    purpose: String,
    /// Write to this file (mode 0600) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(command: ExportCommand) -> Result<()> {
    let ExportCommand::Contacts(args) = command;
    let state = crate::cli::command_state(&args.common).await?;
    let format = match args.format {
        Format::Csv => ExportFormat::Csv,
        Format::Vcf => ExportFormat::Vcf,
        Format::Json => ExportFormat::Json,
    };
    let who = Caller::command(&args.purpose);
    let mut stream =
        contact_export::contacts(&state, &who, format).await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(private_file(path)?),
        None => Box::new(std::io::stdout().lock()),
    };
    while let Some(chunk) = stream.chunks.recv().await {
        out.write_all(&chunk.context("the export stopped half-way")?)?;
    }
    out.flush()?;
    Ok(())
}

/// A new file only its owner may read: an export holds personal data in clear.
fn private_file(path: &PathBuf) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))
}
