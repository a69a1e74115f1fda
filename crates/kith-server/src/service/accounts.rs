//! Staff accounts: creating them, sealing and opening their personal
//! values, passwords, and how an account is shown. The HTTP routes
//! (`http/routes/accounts.rs`) and the command line (`kith user ...`) both go
//! through here.
//!
//! Staff are data subjects too. An account's e-mail address and display
//! name are sealed under a data key of the account's own (kept in
//! `data_keys` with the user id as subject, so key rotation rewraps it);
//! login finds the account through the blind-index term of the
//! lower-cased address. The TOTP secret is sealed under the same key.
//! Roles, teams, status, times and the Argon2id hash are clear columns.

use crate::error::{ApiError, ApiResult};
use crate::sealing::to_crypto;
use kith_core::account::{check_display_name, check_password, check_roles, check_teams, AccountStatus, NewUserInput};
use kith_core::values::{email_lookup_key, parse_email};
use kith_core::ErrorCode;
use kith_crypto::{DataKey, KeyringHandle, PasswordParams};
use kith_store::{DynStore, StoreError, UserRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

/// The blind-index field of account e-mail addresses: unrelated to the
/// terms of contacts' addresses, so a staff member's address does not
/// match a contact's in the index.
pub const EMAIL_FIELD: &str = "user_email";

/// What is sealed about an account.
#[derive(Clone, Serialize, Deserialize)]
pub struct Profile {
    pub email: String,
    pub display_name: Option<String>,
    /// The interface language the person chose (a primary language tag,
    /// `uk`); without it the browser's language applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The blind-index term an address is found by.
pub fn email_term(keys: &KeyringHandle, email: &str) -> Vec<u8> {
    keys.current().blind_term(EMAIL_FIELD, &email_lookup_key(email)).to_vec()
}

/// Argon2id jobs running at once. Each holds 19 MiB and a core for a
/// while: without a bound, a burst of logins from many addresses would
/// queue hundreds of them on the blocking pool. The others wait here.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS
        .get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)))
}

/// Hashes a password off the async runtime (Argon2id is slow on purpose).
pub async fn hash_password(params: PasswordParams, password: &str) -> ApiResult<String> {
    let password = Zeroizing::new(password.to_string());
    let _slot = hashing_slots().acquire().await.map_err(|e| ApiError::internal("password hashing", e))?;
    tokio::task::spawn_blocking(move || kith_crypto::password::hash_password(params, &password))
        .await
        .map_err(|e| ApiError::internal("password hashing", e))?
        .map_err(ApiError::from)
}

/// Checks a password against a PHC string off the async runtime.
pub async fn verify_password(hash: String, password: &str) -> bool {
    let password = Zeroizing::new(password.to_string());
    let Ok(_slot) = hashing_slots().acquire().await else { return false };
    tokio::task::spawn_blocking(move || kith_crypto::password::verify_password(&hash, &password)).await.unwrap_or(false)
}

/// The account's data key.
pub async fn user_key(store: &DynStore, keys: &KeyringHandle, id: Uuid) -> ApiResult<DataKey> {
    let row = store.data_key(id).await?.ok_or_else(|| ApiError::internal("accounts", "an account has no data key"))?;
    Ok(keys.unwrap(&to_crypto(&row))?)
}

pub fn open_profile(key: &DataKey, user: &UserRow) -> ApiResult<Profile> {
    let plain = key.open(&crate::sealing::user_profile(user.id), &user.sealed)?;
    serde_json::from_slice(&plain).map_err(|_| ApiError::undecodable("accounts"))
}

pub fn seal_profile(key: &DataKey, id: Uuid, profile: &Profile) -> ApiResult<Vec<u8>> {
    let plain = Zeroizing::new(serde_json::to_vec(profile).map_err(|e| ApiError::internal("accounts", e))?);
    Ok(key.seal(&crate::sealing::user_profile(id), &plain))
}

/// Whether a lockout after failed logins lasts at `now`.
pub fn is_locked(user: &UserRow, now: i64) -> bool {
    user.locked_until.is_some_and(|until| until > now)
}

/// The status shown: `disabled`, `locked` while a lockout lasts, else `active`.
pub fn shown_status(user: &UserRow, now: i64) -> &'static str {
    match AccountStatus::parse(&user.status) {
        Some(AccountStatus::Disabled) => "disabled",
        _ if is_locked(user, now) => "locked",
        _ => "active",
    }
}

/// Validates a new account, hashes its password and stores it sealed.
/// `Conflict` when the address has an account already.
pub async fn create_user(
    store: &DynStore,
    keys: &KeyringHandle,
    params: PasswordParams,
    input: NewUserInput,
    now: i64,
) -> ApiResult<(UserRow, Profile)> {
    let email = parse_email(&input.email).map_err(|e| ApiError::from(e.at("email")))?;
    let display_name = match &input.display_name {
        Some(name) => Some(check_display_name(name)?).filter(|n| !n.is_empty()),
        None => None,
    };
    let roles = check_roles(&input.roles)?;
    crate::auth::roles::check_exist(store, &roles).await?;
    let teams = check_teams(&input.teams)?;
    check_password(&input.password, &email, display_name.as_deref())?;
    let password_hash = hash_password(params, &input.password).await?;
    let id = Uuid::new_v4();
    let key = DataKey::generate();
    let profile = Profile { email, display_name, language: None };
    let user = UserRow {
        id,
        email_term: email_term(keys, &profile.email),
        sealed: seal_profile(&key, id, &profile)?,
        roles,
        teams,
        status: AccountStatus::Active.as_str().into(),
        password_hash,
        password_changed_at: now,
        totp: None,
        totp_pending: None,
        totp_last_step: None,
        failed_logins: 0,
        first_failed_at: None,
        locked_until: None,
        created_at: now,
        updated_at: now,
    };
    let stored = crate::sealing::write_with_new_key(store, keys, id, &key, |wrapped| {
        let user = &user;
        async move { store.insert_user(user, &wrapped).await }
    })
    .await?;
    match stored {
        Err(StoreError::Duplicate) => {
            return Err(ApiError::new(ErrorCode::Conflict, "email: an account with this address exists"))
        }
        other => other?,
    }
    Ok((user, profile))
}

/// The account an address names, with its opened profile.
pub async fn find_by_email(store: &DynStore, keys: &KeyringHandle, email: &str) -> ApiResult<Option<UserRow>> {
    Ok(store.user_by_email_term(&email_term(keys, email)).await?)
}

/// Checks a new password against the policy for this account, and
/// stores its hash; the account's lockout is lifted.
pub async fn change_password(
    store: &DynStore,
    keys: &KeyringHandle,
    params: PasswordParams,
    user: &UserRow,
    password: &str,
    now: i64,
) -> ApiResult<()> {
    let profile = open_profile(&user_key(store, keys, user.id).await?, user)?;
    check_password(password, &profile.email, profile.display_name.as_deref())?;
    let hash = hash_password(params, password).await?;
    if !store.set_password(user.id, &hash, now).await? {
        return Err(ApiError::not_found("account"));
    }
    Ok(())
}
