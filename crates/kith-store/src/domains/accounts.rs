//! Staff accounts, their second factor, lockout and sessions.

use crate::*;
use async_trait::async_trait;

/// Staff accounts, their second factor, lockout and sessions.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new account with its data key (checked against the active
    /// KEK); `Duplicate` when the e-mail term is taken.
    async fn insert_user(&self, user: &UserRow, key: &KeyRow) -> Result<()>;
    async fn user(&self, id: Uuid) -> Result<Option<UserRow>>;
    async fn user_by_email_term(&self, term: &[u8]) -> Result<Option<UserRow>>;
    /// Every account, oldest first.
    async fn users(&self) -> Result<Vec<UserRow>>;
    /// Writes the profile columns (sealed, roles, teams, status, updated_at);
    /// `lift_lockout` (an admin setting the status to active) also clears
    /// the failure count and any lockout. False if there is no such account.
    async fn update_user(&self, user: &UserRow, lift_lockout: bool) -> Result<bool>;
    /// Replaces the password hash and lifts a lockout.
    async fn set_password(&self, id: Uuid, hash: &str, at: i64) -> Result<bool>;
    /// Sets or clears the TOTP secret waiting for confirmation.
    async fn set_totp_pending(&self, id: Uuid, sealed: Option<&[u8]>, at: i64) -> Result<bool>;
    /// Makes the pending secret the enrolled one, remembers the step its
    /// confirming code used, and replaces the recovery codes.
    async fn enrol_totp(&self, id: Uuid, sealed: &[u8], step: i64, recovery: &[Vec<u8>], at: i64) -> Result<bool>;
    /// Accepts a TOTP step only if it is later than the last one accepted,
    /// atomically, so a code works once even when two servers race.
    async fn accept_totp_step(&self, id: Uuid, step: i64) -> Result<bool>;
    /// Uses a recovery code (by hash) once; false if unknown or used.
    async fn use_recovery_code(&self, id: Uuid, hash: &[u8], at: i64) -> Result<bool>;
    /// Counts a failed login; locks the account when the rule says so.
    /// Returns the end of the lock, if the account is now locked.
    async fn record_login_failure(&self, id: Uuid, now: i64, rule: LockoutRule) -> Result<Option<i64>>;
    /// Opens a session for a login whose password (as hashed at
    /// `password_changed_at`) and second factor were right: in one
    /// transaction, under the account's row lock, refuses a disabled or
    /// locked account or a password changed meanwhile, else clears the
    /// failure counters and stores the session. A failure recorded by a
    /// concurrent guess is seen here, so a lock cannot be raced.
    async fn start_session(&self, session: &SessionRow, password_changed_at: i64) -> Result<SessionStart>;
    async fn session_by_hash(&self, hash: &[u8]) -> Result<Option<SessionRow>>;
    async fn touch_session(&self, id: Uuid, at: i64) -> Result<()>;
    /// Revokes one session; false if it was not active.
    async fn revoke_session(&self, id: Uuid, at: i64) -> Result<bool>;
    /// Revokes every active session of a user but `except`; returns how many.
    async fn revoke_user_sessions(&self, user: Uuid, at: i64, except: Option<Uuid>) -> Result<u64>;
}

/// A staff account as stored. `sealed` (e-mail address, display name) and
/// the TOTP secrets are under the data key whose subject is `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Uuid,
    /// The blind-index term of the lower-cased e-mail address (unique).
    pub email_term: Vec<u8>,
    pub sealed: Vec<u8>,
    pub roles: Vec<String>,
    pub teams: Vec<String>,
    /// `active` or `disabled`.
    pub status: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    pub password_changed_at: i64,
    /// The enrolled TOTP secret, sealed.
    pub totp: Option<Vec<u8>>,
    /// A TOTP secret waiting for its confirming code, sealed.
    pub totp_pending: Option<Vec<u8>>,
    /// The last time step a code was accepted for.
    pub totp_last_step: Option<i64>,
    pub failed_logins: i64,
    pub first_failed_at: Option<i64>,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How an attempt to open a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    Started,
    Disabled,
    Locked,
    /// The password was changed after the attempt read the account.
    PasswordChanged,
}

/// A browser session: only the hash of its secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub secret_hash: Vec<u8>,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Absolute expiry.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// How failed logins lead to a lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    /// Failures that lock the account...
    pub max_failures: i64,
    /// ...when they fall within this many milliseconds of the first.
    pub window_ms: i64,
    /// How long the lock lasts, in milliseconds.
    pub lock_ms: i64,
}
