//! `kith bench backup`: backup, verification and restore of a database of
//! sealed contacts with interactions, against the engine's own tools on
//! the same database: `sqlite3 .backup` and a copy back for SQLite,
//! `pg_dump -Fc` and `pg_restore` for PostgreSQL. Kith's figures include
//! the encryption, the digests and (for verify) a full scratch load with
//! the audit chain checked; the baseline neither encrypts nor checks.

use crate::bench::{generate, insert_sealed, reset_schema, with_schema};
use anyhow::{ensure, Context, Result};
use clap::Args;
use kith_server::backup;
use kith_server::datadir::DataDir;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Contacts in the database.
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    /// Interactions per contact.
    #[arg(long, default_value_t = 3)]
    interactions: usize,
    /// Run against PostgreSQL instead of SQLite (`pg_dump` and `pg_restore` must be on the PATH).
    #[arg(long, env = "KITH_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

fn run(command: &mut Command) -> Result<Duration> {
    let started = Instant::now();
    let out = command.output().with_context(|| format!("cannot run {command:?}"))?;
    ensure!(out.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(started.elapsed())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn quiet(_: &str, _: u64) {}

/// Resets this process's peak resident set (Linux: `clear_refs` 5), so the
/// next reading covers only what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident set since the last reset, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The engine's own backup and restore of the same database: (backup, restore, bytes).
fn baseline(root: &Path, url: Option<&str>) -> Result<(Duration, Duration, u64)> {
    match url {
        None => {
            let db = root.join("source/kith.db");
            let copy = root.join("baseline.db");
            let back = root.join("baseline-restored.db");
            let backup = run(Command::new("sqlite3").arg(&db).arg(format!(".backup '{}'", copy.display())))?;
            let restore = run(Command::new("sqlite3").arg(&back).arg(format!(".restore '{}'", copy.display())))?;
            Ok((backup, restore, std::fs::metadata(&copy)?.len()))
        }
        Some(url) => {
            let dump = root.join("baseline.dump");
            let backup =
                run(Command::new("pg_dump").args(["-Fc", "-n", "kith_bench_backup", "-f"]).arg(&dump).arg(url))?;
            let renamed = root.join("renamed.sql");
            // Restored under another schema name, as Kith's restore goes into a database of its own.
            let restore = {
                let started = Instant::now();
                run(Command::new("pg_restore").arg("-f").arg(&renamed).arg(&dump))?;
                let text = std::fs::read_to_string(&renamed)?.replace("kith_bench_backup", "kith_bench_baseline");
                std::fs::write(&renamed, text)?;
                run(Command::new("psql").args([
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    "DROP SCHEMA IF EXISTS kith_bench_baseline CASCADE",
                    url,
                ]))?;
                run(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", "-f"]).arg(&renamed).arg(url))?;
                started.elapsed()
            };
            Ok((backup, restore, std::fs::metadata(&dump)?.len()))
        }
    }
}

pub async fn run_bench(args: BackupArgs) -> Result<()> {
    let temp = tempfile::tempdir()?;
    let root = temp.path();
    let source_url = match &args.database_url {
        Some(url) => {
            reset_schema(url, "kith_bench_backup").await?;
            reset_schema(url, "kith_bench_restored").await?;
            Some(with_schema(url, "kith_bench_backup"))
        }
        None => None,
    };
    eprintln!("generating {} contacts with {} interactions each", args.contacts, args.interactions);
    let people = generate(args.contacts, args.interactions, 7);
    let mut dir = DataDir::new(&root.join("source"), None)?;
    let opened = dir.initialise(source_url.as_deref()).await?;
    insert_sealed(&opened.store, &opened.keys, &people, 1_000).await?;
    drop(people);
    let recipient = backup::keys::current(&dir.key_file())?.0.recipient;
    let engine = backup::engine_of(&dir.database_url(source_url.as_deref()));

    let file = root.join("kith.age");
    let rss_before = {
        reset_peak_rss();
        peak_rss_mib()
    };
    let started = Instant::now();
    let report = backup::create(&opened.store, engine, &[recipient], &file, &quiet).await?;
    let create = started.elapsed();
    let rss_backup = peak_rss_mib();
    let keys = backup::keys::identities(&dir.key_file())?;
    let started = Instant::now();
    backup::verify(&file, &keys, &quiet).await?;
    let verify = started.elapsed();

    let target = root.join("restored");
    std::fs::create_dir_all(&target)?;
    for name in ["kith.key", "audit.key", "erasures.ledger"] {
        std::fs::copy(root.join("source").join(name), target.join(name))?;
    }
    let target_url = match &args.database_url {
        Some(url) => with_schema(url, "kith_bench_restored"),
        None => format!("sqlite://{}", target.join("kith.db").display()),
    };
    let request = backup::RestoreRequest {
        file: &file,
        key_file: target.join("kith.key"),
        audit_key_file: target.join("audit.key"),
        database_url: target_url,
        identities: Vec::new(),
    };
    let started = Instant::now();
    let restored = backup::restore(request, &quiet).await?;
    let restore = started.elapsed();
    ensure!(restored.manifest.rows() == report.manifest.rows(), "the restore holds every row");

    let (base_backup, base_restore, base_bytes) = baseline(root, args.database_url.as_deref())?;
    let rows = report.manifest.rows();
    let label = if args.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    println!(
        "engine: {label}; {} contacts, {} interactions each; {rows} rows in {} tables",
        args.contacts,
        args.interactions,
        report.manifest.tables.len()
    );
    println!("| step | Kith s | rows/s | baseline s | ratio |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let line = |step: &str, kith: Duration, base: Option<Duration>| {
        let (base_s, ratio) = match base {
            Some(b) => (format!("{:.2}", b.as_secs_f64()), format!("{:.2}x", kith.as_secs_f64() / b.as_secs_f64())),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {step} | {:.2} | {:.0} | {base_s} | {ratio} |",
            kith.as_secs_f64(),
            rows as f64 / kith.as_secs_f64()
        );
    };
    line("backup (snapshot, encrypt, digests)", create, Some(base_backup));
    line("verify (authenticate, scratch load, audit chain)", verify, None);
    line("restore (load, ledger replay)", restore, Some(base_restore));
    println!("backup file {:.1} MiB; baseline {:.1} MiB", mib(report.bytes), mib(base_bytes));
    if let (Some(before), Some(peak)) = (rss_before, rss_backup) {
        println!("resident set: {before:.0} MiB before the backup, peak {peak:.0} MiB during it");
    }
    Ok(())
}
