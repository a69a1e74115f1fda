//! The record of processing activities gathered from the installation:
//! the controller's details in settings, the purposes catalogue, the
//! register of recipients with each transfer assessed today, the retention
//! periods and the measures this installation applies. `kith ropa` and
//! `GET /api/v1/ropa` both call [`gather`].

use crate::config::RetentionSettings;
use crate::error::{ApiError, ApiResult};
use crate::transfers::{self, Recipient};
use kith_core::controller::ControllerDetails;
use kith_core::purpose::Purpose;
use kith_core::ropa::{record, CategoryRetention, Measure, Ropa, RopaFacts, RopaRecipient, RopaTransfer};
use kith_core::transfer::{countries, in_eea, TransferBasis};
use kith_store::DynStore;

/// The setting that holds the controller's details (JSON).
pub const CONTROLLER_SETTING: &str = "controller_details";

/// The controller's details, if set.
pub async fn controller(store: &DynStore) -> ApiResult<Option<ControllerDetails>> {
    match store.setting(CONTROLLER_SETTING).await? {
        Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| ApiError::internal("controller details", e)),
        None => Ok(None),
    }
}

/// How this installation runs, as far as its measures depend on it.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Whether the server speaks TLS; `None` when not known (a command).
    pub tls: Option<bool>,
    /// `[backup] every`, when backups are scheduled.
    pub backup_every: Option<String>,
    pub retention: RetentionSettings,
}

/// The record as of `now`.
pub async fn gather(store: &DynStore, setup: &Setup, now: i64) -> ApiResult<Ropa> {
    let purposes: Vec<Purpose> = store
        .purposes()
        .await?
        .iter()
        .map(|d| serde_json::from_str(d).map_err(|e| ApiError::internal("purposes", e)))
        .collect::<ApiResult<_>>()?;
    let decisions = transfers::decisions(store).await?;
    let mut recipients = Vec::new();
    let mut transfer_list = Vec::new();
    for row in store.recipients().await? {
        let r = Recipient::parse(row)?;
        if r.row.ended_at.is_some() {
            continue;
        }
        let i = &r.input;
        let country_name = countries().get(&i.country).cloned();
        if !in_eea(&i.country) {
            let assessed = r.assess(&decisions, now);
            let snake = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_string));
            let safeguard = match (&assessed, i.scc_module, i.derogation_ground) {
                (Ok(TransferBasis::Mechanism { decision: Some(d), .. }), _, _) => Some(d.clone()),
                (_, Some(module), _) => Some(format!("standard contractual clauses 2021/914, module {module}")),
                (_, _, Some(ground)) => snake(serde_json::to_value(ground).ok()).map(|g| format!("Art. 49: {g}")),
                _ => None,
            };
            transfer_list.push(RopaTransfer {
                recipient: i.name.clone(),
                country: i.country.clone(),
                country_name: country_name.clone(),
                mechanism: snake(i.transfer_mechanism.and_then(|m| serde_json::to_value(m).ok())),
                safeguard,
                allowed: assessed.is_ok(),
                refusal: assessed.err().map(|e| e.detail),
            });
        }
        recipients.push(RopaRecipient {
            id: r.row.id.to_string(),
            name: i.name.clone(),
            role: i.role.as_str().into(),
            country: i.country.clone(),
            country_name,
            purposes: i.purposes.clone(),
            data_categories: i.data_categories.clone(),
            contract_reference: i.contract_reference.clone(),
            contract_date: i.contract_date.clone(),
            contact: i.contact.clone(),
        });
    }
    recipients.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(record(RopaFacts {
        generated_at: crate::clock::rfc3339_millis(now),
        controller: controller(store).await?,
        purposes,
        recipients,
        transfers: transfer_list,
        category_retention: CategoryRetention {
            interactions_days: setup.retention.interactions_days,
            purchases_days: setup.retention.purchases_days,
            deals_days: setup.retention.deals_days,
        },
        security_measures: measures(store, setup).await?,
    }))
}

/// The measures Kith applies, stated as this installation runs them.
async fn measures(store: &DynStore, setup: &Setup) -> ApiResult<Vec<Measure>> {
    let m = |key: &str, title: &str, detail: String| Measure { key: key.into(), title: title.into(), detail };
    let last_backup = store.setting(crate::backup::LAST_VERIFIED_BACKUP).await?;
    let backups = match (&setup.backup_every, last_backup) {
        (Some(every), _) => format!("encrypted (age, X25519) backups every {every}, each verified by a full restore into a scratch database; restores never bring back a person erased since"),
        (None, Some(_)) => "encrypted (age, X25519) backups taken by the operator and verified by a full restore into a scratch database; restores never bring back a person erased since".into(),
        (None, None) => "encrypted (age, X25519) online backups are available (kith backup create); none is scheduled".into(),
    };
    let transport = match setup.tls {
        Some(true) | None => "TLS on every connection; plain HTTP only on a loopback address".to_string(),
        Some(false) => {
            "this server speaks plain HTTP on a loopback address, behind a TLS-terminating proxy".to_string()
        }
    };
    let retention = match &setup.retention.every {
        Some(every) => format!("applied automatically every {every}: people whose periods have run are erased"),
        None => "applied by the operator (kith retention run)".into(),
    };
    Ok(vec![
        m(
            "encryption_at_rest",
            "Encryption at rest",
            "every personal value is sealed with XChaCha20-Poly1305 under a data key of its own data subject; data keys are stored only wrapped by a key-encryption key kept outside the database; look-ups use keyed blind indexes".into(),
        ),
        m("encryption_in_transit", "Encryption in transit", transport),
        m(
            "access_control",
            "Access control",
            "deny by default; roles and custom roles grant kinds of records, field classes and a scope; every request states a purpose checked against lawful basis, consent, restriction and objections; third parties use API keys bound to a registered recipient, its purposes and addresses".into(),
        ),
        m(
            "authentication",
            "Authentication",
            "staff passwords hashed with Argon2id, a second factor (TOTP), lockout after repeated failures, sessions with idle and absolute limits".into(),
        ),
        m(
            "audit",
            "Audit log",
            "every read and change of personal data is recorded before its answer in a hash-chained log with signed checkpoints; alerts on unusual reads".into(),
        ),
        m("backups", "Backups and restore", backups),
        m(
            "erasure",
            "Erasure",
            "erasure deletes the person's rows and index entries and destroys their data key; an erasure ledger keeps restores from bringing them back".into(),
        ),
        m("retention", "Retention", retention),
        m(
            "self_check",
            "Regular testing",
            "a daily security self-check of the installation (kith doctor): keys, files, transport, backups, audit chain".into(),
        ),
    ])
}
