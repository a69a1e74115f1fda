//! Restoring a backup into a blank database, then erasing again whoever
//! the erasure ledger beside the key file names, before any server can
//! read the data.

use super::format::Manifest;
use super::ledger;
use super::load::{load_into, open, Settings};
use super::Progress;
use super::RESTORE_MARKER;
use crate::config::redact_url;
use anyhow::{bail, Context, Result};
use kith_core::audit::AuditAction;
use kith_crypto::backup_key::BackupKey;
use kith_crypto::KeyFile;
use kith_store::{DynStore, ACTIVE_KEK};
use std::path::{Path, PathBuf};

pub struct RestoreRequest<'a> {
    pub file: &'a Path,
    pub key_file: PathBuf,
    pub audit_key_file: PathBuf,
    /// The database to restore into.
    pub database_url: String,
    /// Keys from `--identity`; without them, the key file's backup keys.
    pub identities: Vec<BackupKey>,
}

#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Manifest,
    /// People erased after the backup was taken, erased again.
    pub replayed: usize,
    pub database: String,
}

/// What must be at hand before anything is loaded: the key file, the
/// erasure ledger beside it, and the audit signing key.
fn preflight(request: &RestoreRequest<'_>) -> Result<KeyFile> {
    let key_file = &request.key_file;
    if !key_file.exists() {
        bail!(
            "{} is missing: a restore needs the key file the backup's data keys are wrapped under; \
             copy it (and erasures.ledger, audit.key) from where you keep them",
            key_file.display()
        );
    }
    let keys = KeyFile::load(key_file)?;
    let ledger_file = ledger::path_beside(key_file);
    if !ledger_file.exists() {
        bail!(
            "{} is missing: without the erasure ledger a restore could bring back people erased after the \
             backup was taken; copy it from beside the old key file",
            ledger_file.display()
        );
    }
    ledger::read(&ledger_file)?;
    if !request.audit_key_file.exists() {
        bail!(
            "{} is missing: the restored audit log is signed with the old installation's audit.key; copy it",
            request.audit_key_file.display()
        );
    }
    Ok(keys)
}

/// The backup's settings must fit the keys at hand: its active KEK in
/// the key file, its audit verifier the public half of `audit.key`.
fn settings_fit(keys: &KeyFile, request: &RestoreRequest<'_>, settings: &Settings) -> Result<()> {
    let get = |name: &str| settings.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let Some(kek) = get(ACTIVE_KEK) else { bail!("the backup names no active key-encryption key") };
    if keys.kek(kek).is_none() {
        bail!(
            "the backup's data keys are wrapped under {kek}, which the key file {} does not hold \
             (a key rotation since the backup retired it, or this is another installation's key file)",
            request.key_file.display()
        );
    }
    if let Some(pinned) = get("audit_verifier_key") {
        let ours = kith_crypto::audit_key::load(&request.audit_key_file)?.verifier().encoded();
        if ours != pinned {
            bail!("{} is not the audit key of the backup's installation", request.audit_key_file.display());
        }
    }
    Ok(())
}

/// Opens a database to fill, refusing one that holds anything or that an
/// earlier restore or migration left half-filled, and marks it as being
/// filled: every command and server refuses it until the marker goes.
pub(super) async fn open_blank(url: &str) -> Result<DynStore> {
    let store = kith_store::open(url).await.with_context(|| format!("cannot open the database {}", redact_url(url)))?;
    if store.setting(RESTORE_MARKER).await?.is_some() {
        bail!(
            "a restore or migration into {} did not finish; drop that database (or delete its kith.db files) \
             and run it again",
            redact_url(url)
        );
    }
    if !store.is_blank().await? {
        bail!("{} already holds data; Kith fills only an empty data directory or database", redact_url(url));
    }
    store.set_setting(RESTORE_MARKER, &crate::clock::rfc3339_millis(crate::now_millis())).await?;
    Ok(store)
}

/// Restores into an empty data directory or database only. The database
/// carries a marker until the restore has finished, so a restore cut
/// short leaves a database no server opens.
pub async fn restore(request: RestoreRequest<'_>, progress: Progress<'_>) -> Result<RestoreReport> {
    let keys = preflight(&request)?;
    let identities = if request.identities.is_empty() { &keys.backup_keys } else { &request.identities };
    let mut reader = open(request.file, identities)?;
    let store = open_blank(&request.database_url).await?;
    let manifest =
        load_into(&mut reader, &store, &|settings| settings_fit(&keys, &request, settings), progress).await?;
    let reconciled = ledger::reconcile(&store, &ledger::path_beside(&request.key_file)).await?;
    store.remove_setting(RESTORE_MARKER).await?;
    let fields = [
        format!("rows:{}", manifest.rows()),
        format!("tables:{}", manifest.tables.len()),
        format!("erasures_replayed:{}", reconciled.replayed),
    ];
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    crate::audit::record_command(&store, AuditAction::Create, "restore", None, &fields)
        .await
        .context("the restore is done but its audit event could not be recorded")?;
    Ok(RestoreReport { manifest, replayed: reconciled.replayed, database: redact_url(&request.database_url) })
}
