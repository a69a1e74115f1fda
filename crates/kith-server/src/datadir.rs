//! The data directory: where the SQLite database, the key file, the TLS
//! certificate and `kith.toml` live, and how it is initialised and opened.

use crate::audit::Notary;
use crate::backup::RESTORE_MARKER;
use anyhow::{bail, Context, Result};
use kith_core::audit::AuditAction;
use kith_crypto::{KeyFile, KeyringHandle};
use kith_store::{DynStore, ACTIVE_KEK};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `kith.toml`: settings that flags and `KITH_*` variables override.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub max_body_bytes: Option<usize>,
    /// The largest file an import takes (64 MiB by default).
    pub max_upload_bytes: Option<usize>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Thresholds for unusual-access alerts.
    pub alerts: Option<crate::config::AlertRules>,
    /// The age of digital consent, 13 to 16 (default 16).
    pub digital_consent_age: Option<u8>,
    /// Public capture: confirmation lifetime and link, rate limits.
    pub capture: Option<crate::config::CaptureSettings>,
    /// Staff accounts: lockout, session lifetimes, login rate.
    pub accounts: Option<crate::config::AccountSettings>,
    /// The privacy portal: link and session lifetimes, the link, rates.
    pub portal: Option<crate::config::PortalSettings>,
    /// The business id Data Rights Protocol agents address (default `kith`).
    pub drp_business_id: Option<String>,
    /// Scheduled backups: how often, how many to keep, where.
    pub backup: Option<crate::config::BackupSettings>,
    /// Retention: periods of categories with their own, and its schedule.
    pub retention: Option<crate::config::RetentionSettings>,
}

#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
    pub settings: FileSettings,
    /// A key file named on the command line, before `kith.toml`.
    key_file_override: Option<PathBuf>,
}

/// A store and keyring that belong together.
pub struct Opened {
    pub store: DynStore,
    pub keys: KeyringHandle,
    pub notary: Notary,
    pub database: String,
}

pub use crate::config::redact_url;

impl DataDir {
    pub fn new(root: &Path, key_file: Option<PathBuf>) -> Result<Self> {
        let mut dir = Self { root: root.to_path_buf(), settings: FileSettings::default(), key_file_override: key_file };
        let config = dir.config_file();
        if config.exists() {
            let text = std::fs::read_to_string(&config).with_context(|| format!("cannot read {}", config.display()))?;
            dir.settings = toml::from_str(&text).with_context(|| format!("{} is not valid", config.display()))?;
        }
        Ok(dir)
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join("kith.toml")
    }

    pub fn key_file(&self) -> PathBuf {
        self.key_file_override
            .clone()
            .or_else(|| self.settings.key_file.clone())
            .unwrap_or_else(|| self.root.join("kith.key"))
    }

    pub fn audit_key_file(&self) -> PathBuf {
        self.root.join("audit.key")
    }

    /// The erasure ledger's copy, beside the key file.
    pub fn erasure_ledger_file(&self) -> PathBuf {
        crate::backup::ledger::path_beside(&self.key_file())
    }

    pub fn checkpoint_file(&self) -> PathBuf {
        self.root.join("audit-checkpoint.note")
    }

    /// The audit notary, its signing key created on first use and named
    /// after this installation (kept in the database, shared by its servers).
    async fn notary(&self, store: &DynStore) -> Result<Notary> {
        let install = store.init_setting("install_id", &uuid::Uuid::new_v4().to_string()).await?;
        let signer = kith_crypto::audit_key::load_or_create(&self.audit_key_file(), &format!("kith/audit/{install}"))?;
        // Every server of one database signs with the same key: the first
        // one's public half is kept, and a different key is refused.
        let ours = signer.verifier().encoded();
        let pinned = store.init_setting("audit_verifier_key", &ours).await?;
        if pinned != ours {
            bail!(
                "{} is not the key this database's audit checkpoints are signed with ({pinned}); \
                 copy audit.key from the data directory of the first server",
                self.audit_key_file().display()
            );
        }
        Ok(Notary::new(signer, self.checkpoint_file()))
    }

    pub fn tls_dir(&self) -> PathBuf {
        self.root.join("tls")
    }

    /// The URL given, else the one in `kith.toml`, else the embedded SQLite file.
    pub fn database_url(&self, given: Option<&str>) -> String {
        given
            .map(str::to_string)
            .or_else(|| self.settings.database_url.clone())
            .unwrap_or_else(|| format!("sqlite://{}", self.root.join("kith.db").display()))
    }

    fn create_root(&self) -> Result<()> {
        if !self.root.exists() {
            std::fs::create_dir_all(&self.root)
                .with_context(|| format!("cannot create the data directory {}", self.root.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        Ok(())
    }

    /// Remembers a database URL given at initialisation, so later commands
    /// on this directory reach the same database without repeating it.
    /// Returns whether `kith.toml` changed.
    pub fn remember_database(&self, given: Option<&str>) -> Result<bool> {
        let Some(url) = given else { return Ok(false) };
        if self.settings.database_url.as_deref() == Some(url) {
            return Ok(false);
        }
        let mut settings = self.settings.clone();
        settings.database_url = Some(url.to_string());
        let text = toml::to_string(&settings)?;
        crate::tls::write_private(&self.config_file(), text.as_bytes())?;
        Ok(true)
    }

    /// Creates what is missing (directory, key file, database schema, TLS
    /// certificate); never overwrites a key. Safe to run again.
    pub async fn initialise(&mut self, database_url: Option<&str>) -> Result<Opened> {
        if let (Some(given), Some(remembered)) = (database_url, &self.settings.database_url) {
            if given != remembered {
                bail!(
                    "{} names another database ({}); a data directory belongs to one database: \
                     drop --database-url or edit the file",
                    self.config_file().display(),
                    redact_url(remembered)
                );
            }
        }
        self.create_root()?;
        let url = self.database_url(database_url);
        let store = open_store(&url).await?;
        refuse_unfinished_restore(&store, &url).await?;
        let key_path = self.key_file();
        if !key_path.exists() {
            if let Some(active) = store.setting(ACTIVE_KEK).await? {
                bail!(
                    "the database was initialised with key-encryption key {active}, but the key file {} is missing; \
                     restore it from your key backup (a new key could not read any existing data)",
                    key_path.display()
                );
            }
            KeyFile::generate(crate::clock::rfc3339_millis(crate::now_millis())).save(&key_path)?;
        }
        let keys = KeyringHandle::open(&key_path)?;
        let active = store.init_setting(ACTIVE_KEK, keys.current().active_kek()).await?;
        if !keys.current().has_kek(&active) {
            bail!(
                "the database expects key-encryption key {active}, which the key file {} does not hold",
                key_path.display()
            );
        }
        if self.remember_database(database_url)? {
            self.settings.database_url = database_url.map(str::to_string);
            crate::audit::record_command(&store, AuditAction::ConfigChange, "kith.toml", None, &["database_url"])
                .await?;
        }
        crate::tls::ensure_self_signed(&self.tls_dir())?;
        let notary = self.notary(&store).await?;
        seed_purposes(&store).await?;
        crate::consent_seal::seal_legacy_entries(&store, &keys).await?;
        self.reconcile_ledger(&store).await;
        Ok(Opened { store, keys, notary, database: redact_url(&url) })
    }

    /// Opens a directory that `kith init` (or `kith serve`) set up before.
    pub async fn open(&self, database_url: Option<&str>) -> Result<Opened> {
        if !self.root.is_dir() {
            bail!(
                "the data directory {} does not exist; run `kith init --data-dir {}` first",
                self.root.display(),
                self.root.display()
            );
        }
        let key_path = self.key_file();
        if !key_path.exists() {
            bail!("{} has no key file ({}); run `kith init` first", self.root.display(), key_path.display());
        }
        let keys = KeyringHandle::open(&key_path)?;
        let url = self.database_url(database_url);
        let store = open_store(&url).await?;
        refuse_unfinished_restore(&store, &url).await?;
        let Some(active) = store.setting(ACTIVE_KEK).await? else {
            bail!("the database {} is not initialised; run `kith init` first", redact_url(&url));
        };
        if !keys.current().has_kek(&active) {
            bail!(
                "the database expects key-encryption key {active}, which the key file {} does not hold",
                key_path.display()
            );
        }
        let notary = self.notary(&store).await?;
        seed_purposes(&store).await?;
        crate::consent_seal::seal_legacy_entries(&store, &keys).await?;
        self.reconcile_ledger(&store).await;
        Ok(Opened { store, keys, notary, database: redact_url(&url) })
    }
}

async fn refuse_unfinished_restore(store: &DynStore, url: &str) -> Result<()> {
    if let Some(since) = store.setting(RESTORE_MARKER).await? {
        bail!(
            "a restore or migration into {} began at {since} and did not finish; drop that database and run it again",
            redact_url(url)
        );
    }
    Ok(())
}

impl DataDir {
    /// Brings the erasure ledger's file and the database together (see
    /// `backup::ledger::reconcile`). A file that cannot be written is
    /// logged, not fatal: the database keeps the ledger, and `kith doctor`
    /// reports the missing file.
    pub async fn reconcile_ledger(&self, store: &DynStore) {
        match crate::backup::ledger::reconcile(store, &self.erasure_ledger_file()).await {
            Ok(done) if done.replayed > 0 => {
                tracing::warn!(replayed = done.replayed, "people the erasure ledger names were erased again")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the erasure ledger file could not be reconciled"),
        }
    }
}

/// A new catalogue starts with Kith's default purposes. A catalogue from
/// before purposes named their roles gets the default roles of the default
/// purposes (without them only the DPO could use any purpose); a purpose
/// whose document names roles is left as the admins made it.
async fn seed_purposes(store: &DynStore) -> Result<()> {
    let stored = store.purposes().await?;
    if stored.is_empty() {
        for purpose in kith_core::purpose::defaults() {
            store.put_purpose(&purpose.key, &serde_json::to_string(&purpose)?, crate::now_millis(), false).await?;
        }
        return Ok(());
    }
    for document in stored {
        let mut value: serde_json::Value = serde_json::from_str(&document)?;
        if value.get("roles").is_some() {
            continue;
        }
        let key = value["key"].as_str().unwrap_or_default().to_string();
        if let Some(default) = kith_core::purpose::defaults().into_iter().find(|p| p.key == key) {
            value["roles"] = serde_json::json!(default.roles);
            store.put_purpose(&key, &value.to_string(), crate::now_millis(), true).await?;
        }
    }
    Ok(())
}

pub async fn open_store(url: &str) -> Result<DynStore> {
    kith_store::open(url).await.with_context(|| format!("cannot open the database {}", redact_url(url)))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://kith:s3cret@db:5432/kith"), "postgres://kith:***@db:5432/kith");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/x"), "postgres://postgres@127.0.0.1/x");
        assert_eq!(redact_url("sqlite:///tmp/kith.db"), "sqlite:///tmp/kith.db");
    }
}
