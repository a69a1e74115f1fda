//! Staff accounts as pure rules: which roles and teams an account may hold,
//! what its display name may be, the password policy, and the bodies the
//! account routes take. Staff are data subjects too: their e-mail address
//! and name are personal data, sealed by the server like any other.

use crate::error::{ErrorCode, ValidationError};
use crate::values::check_text;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::OnceLock;
use utoipa::ToSchema;

/// Fewer characters than this are refused (NIST SP 800-63B asks for at
/// least 8; a CRM full of personal data asks for more).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A bound so hashing cannot be used to burn CPU; long passphrases fit.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The password frequency list of zxcvbn (MIT; see
/// `data/common-passwords/NOTICE.md`), most common first.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords/passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// An account's roles: at least one, each a role name, without repeats.
/// Whether a custom role exists is the server's to check (`roles::check_exist`).
pub fn check_roles(roles: &[String]) -> Result<Vec<String>, ValidationError> {
    let mut out: Vec<String> = Vec::new();
    for role in roles {
        let role = role.trim();
        if !crate::access::valid_role_name(role) {
            return Err(ValidationError::new(
                ErrorCode::InvalidValue,
                format!("roles: each is one of {} or a custom role", crate::ROLES.join(", ")),
            ));
        }
        if !out.iter().any(|r| r == role) {
            out.push(role.to_string());
        }
    }
    if out.is_empty() {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "roles: at least one role"));
    }
    Ok(out)
}

/// Team names are labels stored in clear: lower-case letters, digits and
/// `. _ -`, 1 to 64 characters, at most 20 teams.
pub fn check_teams(teams: &[String]) -> Result<Vec<String>, ValidationError> {
    let bad = || {
        ValidationError::new(
            ErrorCode::InvalidValue,
            "teams: at most 20, each 1 to 64 lower-case letters, digits or . _ -",
        )
    };
    if teams.len() > 20 {
        return Err(bad());
    }
    let mut out: Vec<String> = Vec::new();
    for team in teams {
        let team = team.trim();
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if team.is_empty() || team.len() > 64 || !team.chars().all(ok) {
            return Err(bad());
        }
        if !out.iter().any(|t| t == team) {
            out.push(team.to_string());
        }
    }
    Ok(out)
}

/// A display name: free text of at most 100 characters, sealed at rest.
pub fn check_display_name(name: &str) -> Result<String, ValidationError> {
    check_text(name, 100, false).map_err(|e| e.at("display_name"))
}

fn weak(why: &str) -> ValidationError {
    ValidationError::new(ErrorCode::WeakPassword, why.to_string())
}

/// The password policy: 12 to 1024 characters (counted as characters,
/// not bytes), not containing the account's e-mail local part or display
/// name (ignoring case), not on the list of common passwords, nor such a
/// password with digits or symbols appended, nor one character repeated.
/// The error names the rule broken, never the password.
pub fn check_password(password: &str, email: &str, display_name: Option<&str>) -> Result<(), ValidationError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(weak("password: at least 12 characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(weak("password: at most 1024 characters"));
    }
    let lower = password.to_lowercase();
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local).to_lowercase();
    if local.chars().count() >= 3 && lower.contains(&local) {
        return Err(weak("password: must not contain the account's e-mail address"));
    }
    if let Some(name) = display_name {
        let name = name.trim().to_lowercase();
        let parts = std::iter::once(name.as_str()).chain(name.split_whitespace());
        if parts.filter(|p| p.chars().count() >= 3).any(|p| lower.contains(p)) {
            return Err(weak("password: must not contain the account's name"));
        }
    }
    let mut distinct = lower.chars();
    let first = distinct.next();
    if distinct.all(|c| Some(c) == first) {
        return Err(weak("password: must not be one character repeated"));
    }
    let common = common_passwords();
    let base = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    if common.contains(lower.as_str()) || (base.chars().count() >= 4 && common.contains(base)) {
        return Err(weak("password: too common (on a list of passwords attackers try first)"));
    }
    Ok(())
}

/// The state an account is stored in. `locked` is never stored: it is
/// shown while a lockout after failed logins lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Disabled,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Disabled].into_iter().find(|s| s.as_str() == text)
    }
}

/// A new staff account as an administrator creates it.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    pub email: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    /// The first password; the password policy applies.
    pub password: String,
}

/// Changes to an account; each field given replaces the stored one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// An empty name removes it.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    /// `disabled` ends every session and stops logins; `active` enables
    /// the account again and lifts a lockout.
    #[serde(default)]
    pub status: Option<AccountStatus>,
}

/// A login.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// The current six-digit code, for an account with a second factor.
    #[serde(default)]
    pub totp: Option<String>,
    /// A recovery code instead of `totp`; each works once.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// A change of one's own password.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// An administrator's reset of an account's password.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub password: String,
}

/// The code that confirms a second-factor enrolment.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_policy() {
        let ok = |p: &str| check_password(p, "olena.k@example.org", Some("Olena Kovalenko"));
        assert!(ok("correct horse battery staple").is_ok());
        assert!(ok("Ünïcödé-pässwörd!").is_ok());
        assert_eq!(ok("short-pw").unwrap_err().code, ErrorCode::WeakPassword);
        // Eleven characters of two bytes each are still eleven characters.
        assert!(ok("ääääääääääb").is_err());
        assert!(ok("ääääääääääbc").is_ok());
        assert!(ok(&"x".repeat(1025)).is_err());
        assert!(ok("my-OLENA.K-is-long").is_err(), "e-mail local part");
        assert!(ok("kovalenko-rules-2024").is_err(), "name");
        assert!(ok("1qaz2wsx3edc").is_err(), "common");
        assert!(ok("Password1234").is_err(), "common with digits appended");
        assert!(ok("aaaaaaaaaaaaaa").is_err(), "repeated");
        assert!(!ok("short").unwrap_err().detail.contains("short"), "the error never repeats the password");
    }

    #[test]
    fn roles_and_teams() {
        assert_eq!(check_roles(&["sales".into(), "sales".into()]).unwrap(), vec!["sales"]);
        assert!(check_roles(&[]).is_err());
        assert!(check_roles(&["Root!".into()]).is_err(), "not a role name");
        assert!(check_roles(&["analyst".into()]).is_ok(), "a custom role's existence is the server's to check");
        assert!(check_teams(&["north-1".into()]).is_ok());
        assert!(check_teams(&["North Team".into()]).is_err());
    }
}
