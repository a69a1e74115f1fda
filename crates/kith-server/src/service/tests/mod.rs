//! The services in process, on a temporary SQLite database: the flows that
//! were reachable only over TLS, called as the routes call them.

mod capture;
mod dsr;
mod logins;

use super::*;
use crate::auth::caller::Caller;
use crate::auth::{AccessPolicy, Credential, Principal};
use crate::datadir::DataDir;
use crate::error::{ApiError, ApiResult};
use kith_core::account::NewUserInput;
use kith_core::ErrorCode;

const PASSWORD: &str = "Tangerine-Orbit-Lamp-93";

struct Fixture {
    svc: Services,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut data = DataDir::new(&dir.path().join("data"), None).unwrap();
    let opened = data.initialise(None).await.unwrap();
    let mut config = ServerConfig::default();
    // The Argon2id cost is lowered here only: these tests hash often.
    config.accounts.password = kith_crypto::PasswordParams { m_kib: 64, t: 1, p: 1 };
    let audit = AuditLog::start(opened.store.clone(), config.alerts.clone());
    let svc = Services::new(opened.store, opened.keys, opened.notary, Arc::new(AccessPolicy), config, audit);
    Fixture { svc, _dir: dir }
}

async fn account(svc: &Services, email: &str) -> kith_store::UserRow {
    let input = NewUserInput {
        email: email.into(),
        display_name: None,
        roles: vec!["sales".into()],
        teams: Vec::new(),
        password: PASSWORD.into(),
    };
    crate::service::accounts::create_user(
        &svc.store,
        &svc.keys,
        svc.config.accounts.password,
        input,
        crate::now_millis(),
    )
    .await
    .unwrap()
    .0
}

/// A member of staff with one built-in role, calling with an API token.
async fn staff(svc: &Services, role: &str) -> Caller {
    let roles = vec![role.to_string()];
    let permissions = crate::auth::roles::resolve_permissions(&svc.store, &roles).await.unwrap();
    Caller {
        principal: Principal {
            credential: Credential::Token(uuid::Uuid::new_v4()),
            name: format!("{role}-1"),
            roles,
            teams: Vec::new(),
            permissions,
        },
        request_id: None,
        client: None,
        purpose: None,
        override_suppression: false,
    }
}

fn person(email: &str) -> kith_core::model::Contact {
    serde_json::from_value(serde_json::json!({"given_name": "Test", "emails": [email]})).unwrap()
}

/// A contact holding one address, created by `who`.
async fn contact(svc: &Services, who: &Caller, email: &str) -> uuid::Uuid {
    svc.records.create::<kith_core::model::Contact>(who, person(email)).await.unwrap().id
}
