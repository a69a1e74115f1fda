//! `[accounts]` in `kith.toml`: lockout, session lifetimes, login rate.

use super::Rate;
use kith_crypto::PasswordParams;
use kith_store::LockoutRule;
use serde::{Deserialize, Serialize};

/// `[accounts]` in `kith.toml`: lockout, session lifetimes, login rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountSettings {
    /// Failed logins that lock an account (default 5)...
    pub max_failures: u32,
    /// ...within this many seconds of the first (default 900).
    pub failure_window_seconds: u64,
    /// How long the lock lasts (default 900).
    pub lockout_seconds: u64,
    /// A session unused this long ends (default 1800).
    pub session_idle_seconds: u64,
    /// A session ends this long after login whatever its use (default 43200).
    pub session_absolute_seconds: u64,
    /// Login attempts per client address (IPv6: per /64).
    pub login_per_client: Rate,
    /// The cost of new password hashes; not in `kith.toml` (only tests lower it).
    #[serde(skip)]
    pub password: PasswordParams,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            failure_window_seconds: 15 * 60,
            lockout_seconds: 15 * 60,
            session_idle_seconds: 30 * 60,
            session_absolute_seconds: 12 * 3600,
            login_per_client: Rate { per_minute: 20, burst: 40 },
            password: PasswordParams::default(),
        }
    }
}

impl AccountSettings {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.max_failures) {
            return Err("accounts.max_failures: between 1 and 100".into());
        }
        for (name, value) in [
            ("failure_window_seconds", self.failure_window_seconds),
            ("lockout_seconds", self.lockout_seconds),
            ("session_idle_seconds", self.session_idle_seconds),
            ("session_absolute_seconds", self.session_absolute_seconds),
        ] {
            if !(1..=30 * 86_400).contains(&value) {
                return Err(format!("accounts.{name}: between 1 and 2592000 (30 days)"));
            }
        }
        if self.session_idle_seconds > self.session_absolute_seconds {
            return Err("accounts.session_idle_seconds: at most session_absolute_seconds".into());
        }
        self.login_per_client.check("accounts.login_per_client")
    }

    pub fn lockout(&self) -> LockoutRule {
        LockoutRule {
            max_failures: i64::from(self.max_failures),
            window_ms: crate::clock::seconds_as_millis(self.failure_window_seconds),
            lock_ms: crate::clock::seconds_as_millis(self.lockout_seconds),
        }
    }
}
