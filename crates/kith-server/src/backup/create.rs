//! Writing a backup: the store's snapshot, framed, encrypted, to a file
//! that appears under its name only once it is complete.

use super::format::{FrameWriter, Header, Manifest, FORMAT_VERSION};
use super::{Progress, BATCH_ROWS};
use anyhow::{bail, Context, Result};
use kith_crypto::backup_key::{encrypt, Encrypting};
use kith_store::{Cell, ColumnSpec, DynStore, SnapshotSink, StoreError};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What `create` wrote.
#[derive(Debug, Clone)]
pub struct CreateReport {
    pub manifest: Manifest,
    pub bytes: u64,
}

/// Frames the snapshot into the encrypted file, and notes on the way the
/// audit head and the newest checkpoint as the snapshot has them.
struct Sink<'a> {
    frames: FrameWriter<Encrypting<BufWriter<File>>>,
    table: &'static str,
    columns: Vec<ColumnSpec>,
    rows: u64,
    audit_head: Option<(i64, String)>,
    checkpoint: Option<(i64, String)>,
    progress: Progress<'a>,
}

fn sink_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Sink(e.to_string())
}

fn column<'c>(columns: &[ColumnSpec], row: &'c [Cell], name: &str) -> Option<&'c Cell> {
    columns.iter().position(|c| c.name == name).and_then(|i| row.get(i))
}

impl Sink<'_> {
    fn note(&mut self, rows: &[Vec<Cell>]) {
        for row in rows {
            match self.table {
                "audit_head" => {
                    if let (Some(Cell::Int(seq)), Some(Cell::Bytes(hash))) =
                        (column(&self.columns, row, "seq"), column(&self.columns, row, "chain_hash"))
                    {
                        self.audit_head = Some((*seq, hash.iter().map(|b| format!("{b:02x}")).collect()));
                    }
                }
                "audit_checkpoints" => {
                    if let (Some(Cell::Int(size)), Some(Cell::Text(note))) =
                        (column(&self.columns, row, "size"), column(&self.columns, row, "note"))
                    {
                        if self.checkpoint.as_ref().is_none_or(|(newest, _)| size > newest) {
                            self.checkpoint = Some((*size, note.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

#[async_trait::async_trait]
impl SnapshotSink for Sink<'_> {
    async fn table(&mut self, name: &'static str, columns: &[ColumnSpec]) -> kith_store::Result<()> {
        self.table = name;
        self.columns = columns.to_vec();
        self.frames.table(name, columns).map_err(sink_error)
    }

    async fn rows(&mut self, rows: Vec<Vec<Cell>>) -> kith_store::Result<()> {
        self.note(&rows);
        self.rows += rows.len() as u64;
        (self.progress)(self.table, self.rows);
        self.frames.rows(&rows).map_err(sink_error)
    }

    async fn end_table(&mut self) -> kith_store::Result<()> {
        self.frames.end_table().map_err(sink_error)
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

fn create_private(path: &Path) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).with_context(|| format!("cannot create {}", path.display()))
}

/// Writes a backup of `store` to `out`, encrypted to `recipients` (age1…).
/// Refuses to overwrite a file. The backup is written to `out.partial`
/// and renamed when complete, so `out` is never a half-written backup.
pub async fn create(
    store: &DynStore,
    engine: &str,
    recipients: &[String],
    out: &Path,
    progress: Progress<'_>,
) -> Result<CreateReport> {
    if out.exists() {
        bail!("{} exists; give the backup a new name (a backup never overwrites a file)", out.display());
    }
    let partial = partial_path(out);
    if partial.exists() {
        std::fs::remove_file(&partial).with_context(|| format!("cannot remove the stale {}", partial.display()))?;
    }
    let file = create_private(&partial)?;
    let result = write(store, engine, recipients, file, progress).await;
    let manifest = match result {
        Ok(manifest) => manifest,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).with_context(|| format!("cannot rename the backup to {}", out.display()))?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent).and_then(|d| d.sync_all()).ok();
    }
    let bytes = std::fs::metadata(out)?.len();
    let taken = super::taken_at(&manifest)?.to_string();
    store.init_setting(super::FIRST_BACKUP_AT, &taken).await?;
    store.set_setting(super::LAST_BACKUP_AT, &taken).await?;
    Ok(CreateReport { manifest, bytes })
}

async fn write(
    store: &DynStore,
    engine: &str,
    recipients: &[String],
    file: File,
    progress: Progress<'_>,
) -> Result<Manifest> {
    let created_at = crate::clock::rfc3339_millis(crate::now_millis());
    let header = Header {
        format: FORMAT_VERSION,
        engine: engine.into(),
        kith_version: env!("CARGO_PKG_VERSION").into(),
        created_at: created_at.clone(),
    };
    let encrypted = encrypt(recipients, BufWriter::with_capacity(1 << 20, file))?;
    let mut sink = Sink {
        frames: FrameWriter::new(encrypted, &header)?,
        table: "",
        columns: Vec::new(),
        rows: 0,
        audit_head: None,
        checkpoint: None,
        progress,
    };
    store.snapshot(&mut sink, BATCH_ROWS).await.context("the snapshot failed")?;
    let (audit_seq, audit_head) = sink.audit_head.clone().context("the snapshot has no audit head")?;
    let tables = sink.frames.tables().to_vec();
    let manifest = Manifest {
        format: FORMAT_VERSION,
        engine: engine.into(),
        kith_version: header.kith_version,
        created_at,
        erasures: tables.iter().find(|t| t.name == "erasure_ledger").map_or(0, |t| t.rows),
        tables,
        audit_seq,
        audit_head,
        checkpoint: sink.checkpoint.map(|(_, note)| note),
    };
    let encrypted = sink.frames.finish(&manifest)?;
    let mut buffered = encrypted.finish()?;
    buffered.flush()?;
    let file = buffered.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(manifest)
}
