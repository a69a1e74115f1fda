//! The domain operations, beneath HTTP: each takes the `Services` (store,
//! keys, audit log, authoriser, configuration) and the caller, and returns
//! domain values; none knows the web framework or the HTTP state. Features move here
//! one by one from their mixed modules at the crate root.

use crate::audit::{AuditLog, Notary};
use crate::auth::Authorizer;
use crate::config::ServerConfig;
use kith_crypto::KeyringHandle;
use kith_store::DynStore;
use records::Records;
use std::sync::Arc;

pub mod accounts;
pub mod analytics;
pub mod api_keys;
pub mod archive;
pub mod audit;
pub mod breaches;
pub mod capture;
pub mod consents;
pub mod contact_export;
pub mod doctor;
pub mod drp;
pub mod dsr;
pub mod duplicates;
pub mod erasure;
pub mod imports;
pub mod login;
pub mod portal;
pub mod purposes;
pub mod recipients;
pub mod records;
pub mod retention;
pub mod roles;
pub mod ropa;
pub mod segments;
pub mod users;

#[cfg(test)]
mod tests;

/// A conditional write as `AuditLog::intend` takes it: a write that
/// matched nothing (`false`) becomes `Err(None)`, so its event is followed
/// by a `failed` one like any other write that did not happen.
pub(crate) async fn applied(
    write: impl std::future::Future<Output = Result<bool, kith_store::StoreError>>,
) -> Result<(), Option<kith_store::StoreError>> {
    match write.await {
        Ok(true) => Ok(()),
        Ok(false) => Err(None),
        Err(e) => Err(Some(e)),
    }
}

/// The error of an [`applied`] write: `missed` when it matched nothing.
pub(crate) fn unapplied(
    error: Option<kith_store::StoreError>,
    missed: crate::error::ApiError,
) -> crate::error::ApiError {
    error.map_or(missed, Into::into)
}

/// Everything a domain operation may use; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: DynStore,
    pub keys: KeyringHandle,
    pub records: Records,
    pub audit: AuditLog,
    pub notary: Notary,
    pub authorizer: Arc<dyn Authorizer>,
    pub config: Arc<ServerConfig>,
    /// A hash for logins of unknown addresses to verify against, so they
    /// take as long as those of known ones.
    pub dummy_hash: Arc<tokio::sync::OnceCell<String>>,
}

impl Services {
    pub fn new(
        store: DynStore,
        keys: KeyringHandle,
        notary: Notary,
        authorizer: Arc<dyn Authorizer>,
        config: ServerConfig,
        audit: AuditLog,
    ) -> Self {
        let records = Records::new(store.clone(), keys.clone(), authorizer.clone(), audit.clone());
        Self { store, keys, records, audit, notary, authorizer, config: Arc::new(config), dummy_hash: Arc::default() }
    }
}
