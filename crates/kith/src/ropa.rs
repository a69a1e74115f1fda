//! `kith ropa`: the record of processing activities (Art. 30) printed or
//! written as JSON, Markdown, HTML or fideslang system resources.

use crate::cli::CommonArgs;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use kith_core::ropa::{fideslang_systems, html, markdown};
use kith_server::datadir::DataDir;
use kith_server::ropa::{gather, Setup};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RopaFormat {
    Json,
    Md,
    Html,
    Fideslang,
}

#[derive(Debug, Args)]
pub struct RopaArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum, default_value = "json")]
    format: RopaFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(args: RopaArgs) -> Result<()> {
    let dir = DataDir::new(&args.common.data_dir, args.common.key_file.clone())?;
    let setup = Setup {
        tls: None,
        backup_every: dir.settings.backup.as_ref().map(|b| b.every.clone()),
        retention: dir.settings.retention.clone().unwrap_or_default(),
    };
    let opened = dir.open(args.common.database_url.as_deref()).await?;
    let ropa =
        gather(&opened.store, &setup, kith_server::now_millis()).await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let text = match args.format {
        RopaFormat::Json => serde_json::to_string_pretty(&ropa)? + "\n",
        RopaFormat::Md => markdown(&ropa),
        RopaFormat::Html => html(&ropa),
        RopaFormat::Fideslang => serde_json::to_string_pretty(&fideslang_systems(&ropa))? + "\n",
    };
    match args.out {
        Some(path) => std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}
