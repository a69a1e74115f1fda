//! Reading a backup into a database: the restore's load, and `verify`,
//! which loads into a scratch SQLite database to check what only a
//! loaded backup can show (the audit chain and its checkpoint).

use super::format::{FrameReader, Item, Manifest};
use super::Progress;
use crate::audit::{CheckpointNote, Verification};
use anyhow::{bail, Context, Result};
use kith_crypto::backup_key::{decrypt, BackupKey};
use kith_crypto::signed_note::NoteVerifier;
use kith_store::{Cell, ColumnSpec, DynStore};
use std::io::BufReader;
use std::path::Path;

/// Settings as a backup holds them, name and value.
pub(super) type Settings = Vec<(String, String)>;

/// Opens a backup file with any of `keys`.
pub(super) fn open(file: &Path, keys: &[BackupKey]) -> Result<FrameReader<impl std::io::Read>> {
    if keys.is_empty() {
        bail!("no backup key at hand: the key file has none (no backup was made with it) and no --identity was given");
    }
    let input = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let plain = decrypt(keys, BufReader::with_capacity(1 << 20, input))?;
    FrameReader::new(BufReader::with_capacity(1 << 16, plain))
}

fn settings_of(columns: &[ColumnSpec], rows: &[Vec<Cell>], into: &mut Settings) {
    let at = |name: &str| columns.iter().position(|c| c.name == name);
    let (Some(name), Some(value)) = (at("name"), at("value")) else { return };
    for row in rows {
        if let (Some(Cell::Text(n)), Some(Cell::Text(v))) = (row.get(name), row.get(value)) {
            into.push((n.clone(), v.clone()));
        }
    }
}

/// Rows loaded per transaction: each commit of a file database waits for
/// the disk, so fewer, larger ones make the load several times faster.
pub(super) const LOAD_ROWS: usize = 20_000;

/// Loads what is pending in one transaction; returns how many rows.
async fn flush(store: &DynStore, table: &str, columns: &[ColumnSpec], pending: &mut Vec<Vec<Cell>>) -> Result<u64> {
    if pending.is_empty() {
        return Ok(0);
    }
    store.load_rows(table, columns, pending).await.with_context(|| format!("loading table {table}"))?;
    let loaded = pending.len() as u64;
    pending.clear();
    Ok(loaded)
}

/// Loads every table of the backup into `store` (blank but for what its
/// migrations seeded, which is cleared table by table; `settings` is kept
/// as it is so a restore's marker survives). `check_settings` sees the
/// backup's settings as soon as they are loaded, to stop early. Every
/// count and digest is checked against the manifest, which is returned.
pub(super) async fn load_into(
    reader: &mut FrameReader<impl std::io::Read>,
    store: &DynStore,
    check_settings: &(dyn Fn(&Settings) -> Result<()> + Sync),
    progress: Progress<'_>,
) -> Result<Manifest> {
    let mut table: Option<(String, Vec<ColumnSpec>)> = None;
    let mut settings = Settings::new();
    let mut rows_done = 0u64;
    let mut pending: Vec<Vec<Cell>> = Vec::new();
    loop {
        match reader.next_item()? {
            Some(Item::Table(start)) => {
                let columns = start.columns.iter().map(|c| c.spec()).collect::<Result<Vec<_>>>()?;
                store.table_columns(&start.name).await.with_context(|| format!("table {}", start.name))?;
                if start.name != "settings" {
                    store.clear_table(&start.name).await?;
                }
                table = Some((start.name, columns));
            }
            Some(Item::Rows(rows)) => {
                let (name, columns) = table.as_ref().context("rows outside a table")?;
                if name == "settings" {
                    settings_of(columns, &rows, &mut settings);
                }
                pending.extend(rows);
                if pending.len() >= LOAD_ROWS {
                    rows_done += flush(store, name, columns, &mut pending).await?;
                    progress(name, rows_done);
                }
            }
            Some(Item::EndTable(summary)) => {
                let (name, columns) = table.take().context("a table ends that did not start")?;
                rows_done += flush(store, &name, &columns, &mut pending).await?;
                progress(&name, rows_done);
                if summary.name == "settings" {
                    check_settings(&settings)?;
                }
            }
            Some(Item::Manifest(manifest)) => {
                let (seq, hash) = store.audit_head().await?;
                let hash: String = hash.iter().map(|b| format!("{b:02x}")).collect();
                if (seq, hash.as_str()) != (manifest.audit_seq, manifest.audit_head.as_str()) {
                    bail!("the audit head loaded is not the one the manifest names");
                }
                return Ok(manifest);
            }
            None => bail!("the backup ends before its manifest"),
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Manifest,
    pub audit: Verification,
}

/// Authenticates every chunk, checks every frame, count and digest, loads
/// the backup into a scratch SQLite database (deleted afterwards) and
/// verifies its audit chain against the checkpoint it carries, under the
/// verifier key the backup's installation pinned.
pub async fn verify(file: &Path, keys: &[BackupKey], progress: Progress<'_>) -> Result<Verified> {
    let mut reader = open(file, keys)?;
    let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
    let path = scratch.path().join("verify.db");
    let sqlite = kith_store::sqlite::SqliteStore::open(&path).await?;
    let store: DynStore = std::sync::Arc::new(sqlite);
    let loaded = load_into(&mut reader, &store, &|_| Ok(()), progress).await;
    let result = match loaded {
        Ok(manifest) => check_audit(&store, manifest).await,
        Err(e) => Err(e),
    };
    drop(store);
    drop(scratch);
    result
}

async fn check_audit(store: &DynStore, manifest: Manifest) -> Result<Verified> {
    let verifier = match store.setting("audit_verifier_key").await? {
        Some(text) => {
            Some(NoteVerifier::parse(&text).map_err(|_| anyhow::anyhow!("the backup's verifier key is malformed"))?)
        }
        None => None,
    };
    let notes: Vec<CheckpointNote> = manifest
        .checkpoint
        .iter()
        .map(|note| CheckpointNote { source: "the backup's manifest".into(), note: note.clone() })
        .collect();
    let audit = crate::audit::verify(store, verifier.as_ref(), &notes).await?;
    if let Some(broken) = &audit.first_broken {
        bail!("the audit log inside the backup is broken at event {}: {}", broken.seq, broken.reason);
    }
    if manifest.checkpoint.is_some() && audit.checkpoint.is_none() {
        bail!("the backup's checkpoint could not be checked: its installation pinned no verifier key");
    }
    Ok(Verified { manifest, audit })
}
