//! `kith bench import-file`: a CSV file of generated contacts through the
//! whole path of `kith import` (decode, map, validate, plan against the
//! blind index and the suppression list, seal, audit, batches), against
//! the plaintext baseline of `kith bench import` with the same contacts
//! and no interactions.

use crate::bench::{generate, plaintext, reset_schema, tempfile_dir, with_schema, Person};
use anyhow::Result;
use clap::Args;
use kith_server::auth::caller::Caller;
use kith_server::config::ServerConfig;
use kith_server::datadir::DataDir;
use kith_server::service::imports::{self, ImportOptions};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct ImportFileArgs {
    /// Rows of the file.
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    /// Directory for the benchmark's databases (default: a new temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run against PostgreSQL instead of SQLite (each side in its own schema).
    #[arg(long, env = "KITH_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

/// The people as a spreadsheet would hold them.
fn as_csv(people: &[Person]) -> Vec<u8> {
    let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
    let mut out = String::from("First Name,Last Name,E-mail Address,Mobile Phone,Job Title,Notes,Categories\n");
    for p in people {
        let c = &p.contact;
        let field = |v: &Option<String>| quote(v.as_deref().unwrap_or_default());
        let line = [
            field(&c.given_name),
            field(&c.family_name),
            quote(&c.emails[0]),
            quote(&c.phones[0]),
            field(&c.job_title),
            field(&c.notes),
            quote(&c.tags.join(";")),
        ];
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

pub async fn run(args: ImportFileArgs) -> Result<()> {
    let temp = tempfile_dir(args.dir.clone())?;
    let root = temp.path().to_path_buf();
    let url = args.database_url.as_deref();
    eprintln!("generating {} contacts", args.contacts);
    let people = generate(args.contacts, 0, 7);
    let file = as_csv(&people);
    let bytes = file.len();
    let plain = plaintext::run(&root, url, &people, 1_000, &[0]).await?;

    let url = url.map(|u| with_schema(u, "kith_bench_file"));
    if let Some(u) = &url {
        reset_schema(u, "kith_bench_file").await?;
    }
    let mut dir = DataDir::new(&root.join("file"), None)?;
    let opened = dir.initialise(url.as_deref()).await?;
    let state = kith_server::AppState::new(
        opened.store.clone(),
        opened.keys.clone(),
        opened.notary.clone(),
        Arc::new(kith_server::auth::AccessPolicy),
        ServerConfig::default(),
    );
    let who = Caller::command("essential.service");
    let quiet = || Box::new(|_: &imports::ImportJob| {}) as imports::OnProgress;
    let api = |e: kith_server::error::ApiError| anyhow::anyhow!("{}: {}", e.code, e.detail);
    let dry = ImportOptions { dry_run: true, ..ImportOptions::default() };
    let started = Instant::now();
    let planned = imports::run(&state, &who, file.clone(), dry, quiet()).await.map_err(api)?;
    let dry_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let done = imports::run(&state, &who, file, ImportOptions::default(), quiet()).await.map_err(api)?;
    let run_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        planned.counts.created == args.contacts && done.counts.created == args.contacts,
        "not every row was imported: {:?}",
        done.counts
    );

    let engine = if args.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    let per_second = |s: f64| args.contacts as f64 / s;
    println!("engine: {engine}; a CSV file of {} contacts ({bytes} bytes)", args.contacts);
    println!("| path | s | contacts/s |");
    println!("| --- | ---: | ---: |");
    println!("| plaintext inserts (bench import) | {:.2} | {:.0} |", plain.insert_seconds, plain.contacts_per_second);
    println!("| kith import --dry-run | {dry_seconds:.2} | {:.0} |", per_second(dry_seconds));
    println!("| kith import | {run_seconds:.2} | {:.0} |", per_second(run_seconds));
    println!("ratio import/plaintext throughput: {:.2}", per_second(run_seconds) / plain.contacts_per_second);
    Ok(())
}
