//! `kith import contacts`: a CSV or vCard file through the same import
//! as the API's, awaited, with a progress bar on the terminal, as
//! `system:cli` with the DPO's permissions.

use crate::cli::CommonArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use kith_core::purpose::LawfulBasis;
use kith_server::auth::caller::Caller;
use kith_server::service::imports::{self, ImportJob, ImportKind, ImportOptions, JobStatus, OnDuplicate};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Contacts from a CSV file (any delimiter; headers of HubSpot, Salesforce, Pipedrive, Zoho, Google Contacts and Outlook exports are recognised) or a vCard file.
    Contacts(ImportArgs),
    /// Companies from a CSV file; one whose e-mail address or phone number is known is a duplicate.
    Companies(ImportArgs),
    /// Interactions (calls, e-mails, meetings, notes, tasks) from a CSV file; each row names its contact by e-mail address.
    Interactions(ImportArgs),
    /// Purchases from a CSV file of order lines; each row names its contact by e-mail address, rows of one order number are one purchase.
    Purchases(ImportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Duplicates {
    Skip,
    Merge,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: .csv (or .txt, .tsv), or .vcf for contacts.
    file: PathBuf,
    #[command(flatten)]
    common: CommonArgs,
    /// Show what would happen (new, duplicate, suppressed, invalid, with row reasons); write nothing.
    #[arg(long)]
    dry_run: bool,
    /// A column's field, "Header=field" (repeat it): emails, phones, given_name, family_name, name, address.city, custom.NAME, ignore...
    #[arg(long = "map", value_name = "HEADER=FIELD")]
    map: Vec<String>,
    /// The purpose the people are imported for (default essential.service).
    #[arg(long)]
    purpose: Option<String>,
    /// Contacts only: the lawful basis you declare (consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests); consent is required for a purpose that rests on it.
    #[arg(long, value_parser = lawful_basis)]
    basis: Option<LawfulBasis>,
    /// Contacts only: where the data came from, e.g. "trade fair 2026": kept with each person.
    #[arg(long)]
    source: Option<String>,
    /// Contacts only: the privacy notice version people consented under (default the latest).
    #[arg(long)]
    notice_version: Option<String>,
    /// A row whose e-mail or phone is an existing contact's: skip it, or merge it in (contacts only).
    #[arg(long, value_enum, default_value = "skip")]
    on_duplicate: Duplicates,
    /// The staff member who owns the new records (default cli).
    #[arg(long)]
    owner: Option<String>,
    /// The file's encoding (utf-8, windows-1251, windows-1252...); detected when absent.
    #[arg(long)]
    encoding: Option<String>,
    /// The delimiter (one character, or "tab"); recognised from the header when absent.
    #[arg(long)]
    delimiter: Option<String>,
    /// Start at this row (the header is row 1): to resume an import that failed.
    #[arg(long)]
    from_row: Option<usize>,
}

/// A lawful basis by its name in the purposes catalogue.
fn lawful_basis(name: &str) -> Result<LawfulBasis, String> {
    serde_json::from_value(serde_json::json!(name)).map_err(|_| {
        "one of consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests".to_string()
    })
}

pub async fn run(command: ImportCommand) -> Result<()> {
    let (kind, args) = match command {
        ImportCommand::Contacts(args) => (ImportKind::Contacts, args),
        ImportCommand::Companies(args) => (ImportKind::Companies, args),
        ImportCommand::Interactions(args) => (ImportKind::Interactions, args),
        ImportCommand::Purchases(args) => (ImportKind::Purchases, args),
    };
    let file = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut options = ImportOptions {
        kind,
        dry_run: args.dry_run,
        purpose: args.purpose.clone(),
        basis: args.basis,
        source: args.source.clone(),
        notice_version: args.notice_version.clone(),
        on_duplicate: match args.on_duplicate {
            Duplicates::Skip => OnDuplicate::Skip,
            Duplicates::Merge => OnDuplicate::Merge,
        },
        owner: args.owner.clone(),
        encoding: args.encoding.clone(),
        delimiter: args.delimiter.clone(),
        from_row: args.from_row,
        ..ImportOptions::default()
    };
    options.map(&args.map).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let state = crate::cli::command_state(&args.common).await?;
    let purpose = args.purpose.clone().unwrap_or_else(|| kith_server::auth::purpose::default_purpose("dpo").into());
    let who = Caller::command(&purpose);
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(if args.dry_run { "planning" } else { "importing" });
    let progress_bar = bar.clone();
    let progress = Box::new(move |job: &ImportJob| {
        progress_bar.set_length(job.progress.total as u64);
        progress_bar.set_position(job.progress.done as u64);
    });
    let job = imports::run(&state, &who, file, options, progress).await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    bar.finish_and_clear();
    print!("{}", summary(&job));
    if job.status == JobStatus::Failed {
        let from = job.resume_from_row.map(|r| format!("; resume with --from-row {r}")).unwrap_or_default();
        bail!("the import stopped: {}{from}", job.error.as_deref().unwrap_or("unknown error"));
    }
    Ok(())
}

/// The counts and the reasons, as a person reads them.
fn summary(job: &ImportJob) -> String {
    let c = &job.counts;
    let mode = if job.dry_run { " (dry run: nothing written)" } else { "" };
    let verb = |done: &str, would: &str| if job.dry_run { would.to_string() } else { done.to_string() };
    let mut out = format!("import {}{mode}\n{} rows read ({:?}, {})\n", job.id, c.rows, job.format, job.encoding);
    for (label, n) in [
        (verb("created", "new"), c.created),
        (verb("merged", "to merge"), c.merged),
        ("duplicate".to_string(), c.duplicate),
        ("suppressed".to_string(), c.suppressed),
        ("invalid".to_string(), c.invalid),
        ("skipped".to_string(), c.skipped),
    ] {
        out.push_str(&format!("  {label:<12}{n:>8}\n"));
    }
    let ignored: Vec<&str> = job.columns.iter().filter(|c| c.field.is_none()).map(|c| c.column.as_str()).collect();
    if !ignored.is_empty() {
        out.push_str(&format!("columns left out: {}\n", ignored.join(", ")));
    }
    if !job.problems.is_empty() {
        out.push_str("rows not imported:\n");
        for p in &job.problems {
            let column = p.column.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
            out.push_str(&format!("  row {}{column} {}: {}\n", p.row, p.code, p.rule));
        }
        if job.problems_truncated {
            out.push_str("  … (the counts above are complete)\n");
        }
    }
    if job.dry_run {
        out.push_str("run again without --dry-run to import\n");
    }
    out
}
