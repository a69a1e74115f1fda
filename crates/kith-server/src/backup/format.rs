//! The backup's plaintext, inside the age encryption: a magic line, then
//! frames (a tag byte, a little-endian `u32` length, the payload):
//!
//! ```text
//! KITHBAK1
//! H {header JSON}                 format, engine, version, when
//! T {"name":…, "columns":[…]}     a table starts
//! R rows…                         a batch of its rows (binary, below)
//! E                               the table ends
//! …                               every table of the store, in load order
//! M {manifest JSON}               counts, digests, audit head, checkpoint
//! ```
//!
//! A batch of rows is a `u32` count, then each row's cells: `0` NULL, `1`
//! an `i64`, `2` text and `3` bytes (each a `u32` length and the bytes).
//! A table's digest is the SHA-256 of its batches' payloads in order. The
//! age layer authenticates every 64 KiB chunk and marks the last one; the
//! frames and digests catch what a correct chunk could still hide: a
//! writer cut short before the manifest, or a row lost between engines.

use anyhow::{bail, Context, Result};
use kith_store::{Cell, CellType, ColumnSpec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

const MAGIC: &[u8; 8] = b"KITHBAK1";
/// The format of the frames; a reader refuses a newer one.
pub const FORMAT_VERSION: u32 = 1;
/// A frame larger than this is damage, not data.
const MAX_FRAME: u32 = 256 * 1024 * 1024;

/// What the file says before any table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: u32,
    /// `sqlite` or `postgres`.
    pub engine: String,
    pub kith_version: String,
    pub created_at: String,
}

/// A table as the backup names it, with its columns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableStart {
    pub name: String,
    pub columns: Vec<ColumnEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ColumnEntry {
    pub name: String,
    /// `int`, `text` or `bytes`.
    #[serde(rename = "type")]
    pub ty: String,
}

impl ColumnEntry {
    pub fn of(spec: &ColumnSpec) -> Self {
        let ty = match spec.ty {
            CellType::Int => "int",
            CellType::Text => "text",
            CellType::Bytes => "bytes",
        };
        Self { name: spec.name.clone(), ty: ty.into() }
    }

    pub fn spec(&self) -> Result<ColumnSpec> {
        let ty = match self.ty.as_str() {
            "int" => CellType::Int,
            "text" => CellType::Text,
            "bytes" => CellType::Bytes,
            other => bail!("column {} has the unknown type {other}", self.name),
        };
        Ok(ColumnSpec { name: self.name.clone(), ty })
    }
}

/// One table in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableSummary {
    pub name: String,
    pub rows: u64,
    /// SHA-256 of the table's row batches, hex.
    pub digest: String,
}

/// The last frame: what a reader checks everything against.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub engine: String,
    pub kith_version: String,
    pub created_at: String,
    pub tables: Vec<TableSummary>,
    /// The audit log's head in the backup: its last event and chain hash.
    pub audit_seq: i64,
    pub audit_head: String,
    /// The newest signed checkpoint in the backup, if any.
    pub checkpoint: Option<String>,
    /// People in the erasure ledger the backup carries.
    pub erasures: u64,
}

impl Manifest {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// The audit event's fields for the backup: counts.
    pub fn fields(&self) -> Vec<String> {
        vec![
            format!("rows:{}", self.rows()),
            format!("tables:{}", self.tables.len()),
            format!("erasures:{}", self.erasures),
        ]
    }

    pub fn table_rows(&self, name: &str) -> u64 {
        self.tables.iter().find(|t| t.name == name).map_or(0, |t| t.rows)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes frames and keeps each table's count and digest.
pub struct FrameWriter<W: Write> {
    out: W,
    current: Option<(String, u64, Sha256)>,
    done: Vec<TableSummary>,
    buffer: Vec<u8>,
}

impl<W: Write> FrameWriter<W> {
    pub fn new(mut out: W, header: &Header) -> Result<Self> {
        out.write_all(MAGIC)?;
        let mut writer = Self { out, current: None, done: Vec::new(), buffer: Vec::new() };
        writer.frame(b'H', &serde_json::to_vec(header)?)?;
        Ok(writer)
    }

    fn frame(&mut self, tag: u8, payload: &[u8]) -> Result<()> {
        let len = u32::try_from(payload.len()).ok().filter(|n| *n <= MAX_FRAME).context("a frame is too large")?;
        self.out.write_all(&[tag])?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(payload)?;
        Ok(())
    }

    pub fn table(&mut self, name: &str, columns: &[ColumnSpec]) -> Result<()> {
        let start = TableStart { name: name.into(), columns: columns.iter().map(ColumnEntry::of).collect() };
        self.frame(b'T', &serde_json::to_vec(&start)?)?;
        self.current = Some((name.into(), 0, Sha256::new()));
        Ok(())
    }

    pub fn rows(&mut self, rows: &[Vec<Cell>]) -> Result<()> {
        let mut payload = std::mem::take(&mut self.buffer);
        payload.clear();
        encode_rows(rows, &mut payload);
        let (_, count, digest) = self.current.as_mut().context("rows outside a table")?;
        *count += rows.len() as u64;
        digest.update(&payload);
        self.frame(b'R', &payload)?;
        self.buffer = payload;
        Ok(())
    }

    pub fn end_table(&mut self) -> Result<()> {
        let (name, rows, digest) = self.current.take().context("no table to end")?;
        self.done.push(TableSummary { name, rows, digest: hex(&digest.finalize()) });
        self.frame(b'E', &[])
    }

    /// What was written so far, for the manifest.
    pub fn tables(&self) -> &[TableSummary] {
        &self.done
    }

    pub fn finish(mut self, manifest: &Manifest) -> Result<W> {
        self.frame(b'M', &serde_json::to_vec(manifest)?)?;
        Ok(self.out)
    }
}

fn encode_rows(rows: &[Vec<Cell>], out: &mut Vec<u8>) {
    out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    for row in rows {
        for cell in row {
            match cell {
                Cell::Null => out.push(0),
                Cell::Int(i) => {
                    out.push(1);
                    out.extend_from_slice(&i.to_le_bytes());
                }
                Cell::Text(t) => {
                    out.push(2);
                    out.extend_from_slice(&(t.len() as u32).to_le_bytes());
                    out.extend_from_slice(t.as_bytes());
                }
                Cell::Bytes(b) => {
                    out.push(3);
                    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                    out.extend_from_slice(b);
                }
            }
        }
    }
}

/// Reads `width`-cell rows from one batch payload.
fn decode_rows(payload: &[u8], width: usize) -> Result<Vec<Vec<Cell>>> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let end = at.checked_add(n).filter(|e| *e <= payload.len()).context("a batch of rows is cut short")?;
        let slice = &payload[at..end];
        at = end;
        Ok(slice)
    };
    let count = u32::from_le_bytes(take(4)?.try_into()?) as usize;
    let mut rows = Vec::with_capacity(count.min(payload.len()));
    for _ in 0..count {
        let mut row = Vec::with_capacity(width);
        for _ in 0..width {
            let cell = match take(1)?[0] {
                0 => Cell::Null,
                1 => Cell::Int(i64::from_le_bytes(take(8)?.try_into()?)),
                2 => {
                    let n = u32::from_le_bytes(take(4)?.try_into()?) as usize;
                    Cell::Text(String::from_utf8(take(n)?.to_vec()).context("a text value is not UTF-8")?)
                }
                3 => {
                    let n = u32::from_le_bytes(take(4)?.try_into()?) as usize;
                    Cell::Bytes(take(n)?.to_vec())
                }
                other => bail!("a value has the unknown tag {other}"),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    if at != payload.len() {
        bail!("a batch of rows has bytes after its last row");
    }
    Ok(rows)
}

/// What a reader meets next.
#[derive(Debug)]
pub enum Item {
    Table(TableStart),
    Rows(Vec<Vec<Cell>>),
    EndTable(TableSummary),
    Manifest(Manifest),
}

/// Reads frames, checking their order and recomputing every table's count
/// and digest; the manifest is compared with them before it is returned.
pub struct FrameReader<R: Read> {
    input: R,
    pub header: Header,
    current: Option<(TableStart, u64, Sha256)>,
    done: Vec<TableSummary>,
    finished: bool,
}

impl<R: Read> FrameReader<R> {
    pub fn new(mut input: R) -> Result<Self> {
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic).map_err(damage)?;
        if &magic != MAGIC {
            bail!("the decrypted file is not a Kith backup");
        }
        let mut reader = Self {
            input,
            header: Header { format: 0, engine: String::new(), kith_version: String::new(), created_at: String::new() },
            current: None,
            done: Vec::new(),
            finished: false,
        };
        let (tag, payload) = reader.frame()?.context("the backup ends before its header")?;
        if tag != b'H' {
            bail!("the backup does not start with its header");
        }
        reader.header = serde_json::from_slice(&payload).context("the backup's header is malformed")?;
        if reader.header.format != FORMAT_VERSION {
            bail!(
                "the backup has format {}; this Kith reads format {FORMAT_VERSION}: use the Kith release that wrote it",
                reader.header.format
            );
        }
        Ok(reader)
    }

    /// The next frame, or `None` at a clean end of the input.
    fn frame(&mut self) -> Result<Option<(u8, Vec<u8>)>> {
        let mut tag = [0u8; 1];
        match self.input.read(&mut tag) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(damage(e)),
        }
        let mut len = [0u8; 4];
        self.input.read_exact(&mut len).map_err(damage)?;
        let len = u32::from_le_bytes(len);
        if len > MAX_FRAME {
            bail!("a frame claims {len} bytes: the backup is damaged");
        }
        let mut payload = vec![0u8; len as usize];
        self.input.read_exact(&mut payload).map_err(damage)?;
        Ok(Some((tag[0], payload)))
    }

    /// The next item; after the manifest, `None`.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        if self.finished {
            if self.frame()?.is_some() {
                bail!("the backup has data after its manifest");
            }
            return Ok(None);
        }
        let Some((tag, payload)) = self.frame()? else {
            bail!("the backup ends before its manifest: it is truncated");
        };
        if tag == b'E' {
            let Some((start, rows, digest)) = self.current.take() else {
                bail!("a table ends that did not start: the backup is damaged");
            };
            let summary = TableSummary { name: start.name, rows, digest: hex(&digest.finalize()) };
            self.done.push(summary.clone());
            return Ok(Some(Item::EndTable(summary)));
        }
        match (tag, self.current.as_mut()) {
            (b'T', None) => {
                let start: TableStart = serde_json::from_slice(&payload).context("a table's start is malformed")?;
                self.current = Some((start.clone(), 0, Sha256::new()));
                Ok(Some(Item::Table(start)))
            }
            (b'R', Some((start, count, digest))) => {
                let rows =
                    decode_rows(&payload, start.columns.len()).with_context(|| format!("in table {}", start.name))?;
                digest.update(&payload);
                *count += rows.len() as u64;
                Ok(Some(Item::Rows(rows)))
            }
            (b'M', None) => {
                let manifest: Manifest = serde_json::from_slice(&payload).context("the manifest is malformed")?;
                self.check(&manifest)?;
                self.finished = true;
                Ok(Some(Item::Manifest(manifest)))
            }
            (tag, _) => bail!("a frame of kind {:?} is out of place: the backup is damaged", tag as char),
        }
    }

    fn check(&self, manifest: &Manifest) -> Result<()> {
        if manifest.format != self.header.format || manifest.engine != self.header.engine {
            bail!("the manifest does not match the header");
        }
        if manifest.tables.len() != self.done.len() {
            bail!("the manifest names {} tables, the backup holds {}", manifest.tables.len(), self.done.len());
        }
        for (said, found) in manifest.tables.iter().zip(&self.done) {
            if said.name != found.name {
                bail!("the manifest names table {} where the backup holds {}", said.name, found.name);
            }
            if said.rows != found.rows {
                bail!("table {}: the manifest says {} rows, the backup holds {}", said.name, said.rows, found.rows);
            }
            if said.digest != found.digest {
                bail!("table {}: its rows do not match the manifest's digest", said.name);
            }
        }
        Ok(())
    }
}

/// A read error inside the decrypted stream is a changed, moved or
/// missing chunk: say so rather than print the cipher's words.
fn damage(e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            anyhow::anyhow!("the backup is truncated: it ends in the middle of its data")
        }
        // A file cut inside a chunk makes that chunk fail to authenticate.
        std::io::ErrorKind::InvalidData => anyhow::anyhow!(
            "the backup is damaged or truncated: a chunk does not authenticate (a changed byte, a chunk moved, \
             or the file cut short)"
        ),
        _ => anyhow::Error::new(e).context("cannot read the backup"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header { format: FORMAT_VERSION, engine: "sqlite".into(), kith_version: "0".into(), created_at: "now".into() }
    }

    fn columns() -> Vec<ColumnSpec> {
        vec![
            ColumnSpec { name: "id".into(), ty: CellType::Text },
            ColumnSpec { name: "n".into(), ty: CellType::Int },
            ColumnSpec { name: "b".into(), ty: CellType::Bytes },
        ]
    }

    fn written() -> Vec<u8> {
        let mut w = FrameWriter::new(Vec::new(), &header()).unwrap();
        w.table("contacts", &columns()).unwrap();
        w.rows(&[vec![Cell::Text("a".into()), Cell::Int(-5), Cell::Bytes(vec![0, 1])]]).unwrap();
        w.rows(&[vec![Cell::Text("b".into()), Cell::Null, Cell::Null]]).unwrap();
        w.end_table().unwrap();
        let manifest = Manifest {
            format: FORMAT_VERSION,
            engine: "sqlite".into(),
            kith_version: "0".into(),
            created_at: "now".into(),
            tables: w.tables().to_vec(),
            audit_seq: 0,
            audit_head: String::new(),
            checkpoint: None,
            erasures: 0,
        };
        w.finish(&manifest).unwrap()
    }

    fn read_all(bytes: &[u8]) -> Result<Manifest> {
        let mut r = FrameReader::new(bytes)?;
        let mut rows = 0;
        loop {
            match r.next_item()? {
                Some(Item::Rows(batch)) => rows += batch.len(),
                Some(Item::Manifest(m)) => {
                    assert_eq!(rows as u64, m.rows());
                    assert!(r.next_item()?.is_none());
                    return Ok(m);
                }
                Some(_) => {}
                None => unreachable!(),
            }
        }
    }

    #[test]
    fn frames_round_trip_and_damage_is_named() {
        let bytes = written();
        let manifest = read_all(&bytes).unwrap();
        assert_eq!(manifest.table_rows("contacts"), 2);

        let cut = read_all(&bytes[..bytes.len() - 10]).unwrap_err().to_string();
        assert!(cut.contains("truncated"), "{cut}");
        let no_manifest_at = bytes.len() - (5 + serde_json::to_vec(&manifest).unwrap().len());
        let cut = read_all(&bytes[..no_manifest_at]).unwrap_err().to_string();
        assert!(cut.contains("before its manifest"), "{cut}");
        // A row changed inside a batch: its table's digest no longer matches.
        let mut changed = bytes.clone();
        let value = [3, 2, 0, 0, 0, 0, 1];
        let at = changed.windows(value.len()).position(|w| w == value).unwrap();
        changed[at + value.len() - 1] = 2;
        let err = read_all(&changed).unwrap_err().to_string();
        assert!(err.contains("digest"), "{err}");
        let mut extra = bytes.clone();
        extra.extend_from_slice(&[b'E', 0, 0, 0, 0]);
        assert!(read_all(&extra).unwrap_err().to_string().contains("after its manifest"));
        assert!(FrameReader::new(&b"NOTABACKUP"[..]).is_err());
    }
}
