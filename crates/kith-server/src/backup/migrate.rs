//! Moving an installation to another engine: the source's snapshot loaded
//! straight into an empty database, checked, and only then named in
//! `kith.toml`.

use super::load::LOAD_ROWS;
use super::restore::open_blank;
use super::{Progress, BATCH_ROWS, RESTORE_MARKER};
use crate::config::redact_url;
use anyhow::{bail, Context, Result};
use kith_crypto::signed_note::NoteVerifier;
use kith_store::{Cell, ColumnSpec, DynStore, SnapshotSink, StoreError};
use std::collections::BTreeMap;
use std::path::Path;

/// Loads the snapshot into the target as it comes, `LOAD_ROWS` to a
/// transaction, and counts what it loaded.
struct LoadSink<'a> {
    target: &'a DynStore,
    table: &'static str,
    columns: Vec<ColumnSpec>,
    pending: Vec<Vec<Cell>>,
    loaded: BTreeMap<&'static str, u64>,
    rows: u64,
    progress: Progress<'a>,
}

impl LoadSink<'_> {
    async fn flush(&mut self) -> kith_store::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.target.load_rows(self.table, &self.columns, &self.pending).await?;
        let n = self.pending.len() as u64;
        self.pending.clear();
        *self.loaded.entry(self.table).or_default() += n;
        self.rows += n;
        (self.progress)(self.table, self.rows);
        Ok(())
    }
}

#[async_trait::async_trait]
impl SnapshotSink for LoadSink<'_> {
    async fn table(&mut self, name: &'static str, columns: &[ColumnSpec]) -> kith_store::Result<()> {
        // The target's own columns must take the source's.
        self.target.table_columns(name).await?;
        if name != "settings" {
            self.target.clear_table(name).await?;
        }
        self.table = name;
        self.columns = columns.to_vec();
        self.loaded.insert(name, 0);
        Ok(())
    }

    async fn rows(&mut self, rows: Vec<Vec<Cell>>) -> kith_store::Result<()> {
        self.pending.extend(rows);
        if self.pending.len() >= LOAD_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    async fn end_table(&mut self) -> kith_store::Result<()> {
        self.flush().await
    }
}

/// What a migration copied.
#[derive(Debug, Clone)]
pub struct Migrated {
    pub tables: usize,
    pub rows: u64,
    pub audit_events: i64,
}

/// Copies `source` into the empty database at `to`, then checks every
/// table's row count and the audit chain there (under `verifier`, against
/// the checkpoint kept in the data directory) and replays the erasure
/// ledger's file. The caller switches `kith.toml` only after this returns.
pub async fn migrate(
    source: &DynStore,
    to: &str,
    verifier: &NoteVerifier,
    ledger_file: &Path,
    progress: Progress<'_>,
) -> Result<Migrated> {
    let target = open_blank(to).await?;
    let mut sink = LoadSink {
        target: &target,
        table: "",
        columns: Vec::new(),
        pending: Vec::new(),
        loaded: BTreeMap::new(),
        rows: 0,
        progress,
    };
    source.snapshot(&mut sink, BATCH_ROWS).await.map_err(|e| match e {
        StoreError::Sink(reason) => anyhow::anyhow!("loading into {} failed: {reason}", redact_url(to)),
        other => anyhow::Error::new(other).context("reading the source failed"),
    })?;
    for (table, copied) in &sink.loaded {
        let found = target.count_rows(table).await?;
        let expected = copied + u64::from(*table == "settings");
        if found != expected {
            bail!("table {table}: {copied} rows copied, {found} found in {}; nothing switched", redact_url(to));
        }
    }
    let audit = crate::audit::verify(&target, Some(verifier), &[]).await?;
    if let Some(broken) = audit.first_broken {
        bail!("the copied audit log is broken at event {}: {}; nothing switched", broken.seq, broken.reason);
    }
    super::ledger::reconcile(&target, ledger_file).await.context("replaying the erasure ledger")?;
    target.remove_setting(RESTORE_MARKER).await?;
    Ok(Migrated { tables: sink.loaded.len(), rows: sink.rows, audit_events: audit.events })
}
