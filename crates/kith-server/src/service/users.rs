//! Staff accounts as admins manage them: list, create, change, reset a
//! password, end sessions. Only a DPO touches an account whose roles reach
//! everyone's personal data; granting personal-data access raises an alert.

use crate::auth::caller::Caller;
use crate::auth::Credential;
use crate::error::{ApiError, ApiResult};
use crate::service::accounts::{change_password, create_user, open_profile, seal_profile, user_key, Profile};
use crate::service::login::caller_event;
use crate::service::Services;
use kith_core::access::is_high_privilege;
use kith_core::account::{
    check_display_name, check_roles, check_teams, AccountStatus, NewUserInput, PasswordReset, UserPatch,
};
use kith_core::audit::AuditAction;
use kith_core::ErrorCode;
use kith_store::UserRow;
use uuid::Uuid;

async fn current_user(svc: &Services, id: Uuid) -> ApiResult<UserRow> {
    svc.store.user(id).await?.ok_or_else(|| ApiError::not_found("account"))
}

/// Accounts with their profiles opened, as admins see them; the read is audited.
async fn show_users(svc: &Services, who: &Caller, users: Vec<UserRow>) -> ApiResult<Vec<(UserRow, Profile)>> {
    let mut items = Vec::with_capacity(users.len());
    let mut events = Vec::with_capacity(users.len());
    for user in users {
        let profile = open_profile(&user_key(&svc.store, &svc.keys, user.id).await?, &user)?;
        events.push(caller_event(who, AuditAction::Read, "users", user.id, &["email", "display_name"]));
        items.push((user, profile));
    }
    if !events.is_empty() {
        svc.audit.record(events).await?;
    }
    Ok(items)
}

/// Every account.
pub async fn list(svc: &Services, who: &Caller) -> ApiResult<Vec<(UserRow, Profile)>> {
    svc.authorizer.authorize_accounts(&who.principal)?;
    let users = svc.store.users().await?;
    show_users(svc, who, users).await
}

/// What a change to an account's roles means for who may make it: only a
/// DPO touches an account that reaches everyone's personal data (before or
/// after the change). Returns whether the roles after it grant personal
/// data at all, which is then raised as an alert.
async fn check_privilege(svc: &Services, who: &Caller, before: &[String], after: &[String]) -> ApiResult<bool> {
    let held = crate::auth::roles::resolve_permissions(&svc.store, before).await?;
    // A reset changes no role: the same permissions, resolved once.
    let granted = match before == after {
        true => held.clone(),
        false => crate::auth::roles::resolve_permissions(&svc.store, after).await?,
    };
    let high = is_high_privilege(&held) || is_high_privilege(&granted);
    if high && !who.principal.has_role("dpo") {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a DPO manages an account whose roles reach everyone's personal data",
        ));
    }
    Ok(!granted.is_empty())
}

/// Raises the alert that personal-data access was granted to an account.
async fn alert_grant(svc: &Services, who: &Caller, user: Uuid, roles: &[String]) -> ApiResult<()> {
    let now = crate::now_millis();
    let alert = kith_store::AlertRow {
        id: Uuid::new_v4(),
        at: now,
        rule: "access_granted".into(),
        actor: who.actor(),
        detail: format!("roles {} given to user:{user}", roles.join(", ")),
    };
    if svc.store.raise_alert(&alert, now).await? {
        tracing::warn!(
            rule = alert.rule,
            actor = alert.actor,
            detail = alert.detail,
            "access to personal data granted"
        );
    }
    Ok(())
}

/// Creates an account; granting personal-data access raises an alert.
pub async fn add(svc: &Services, who: &Caller, input: NewUserInput) -> ApiResult<(UserRow, Profile)> {
    svc.authorizer.authorize_accounts(&who.principal)?;
    crate::auth::roles::check_exist(&svc.store, &input.roles).await?;
    let grants = check_privilege(svc, who, &[], &input.roles).await?;
    let now = crate::now_millis();
    let (user, profile) = create_user(&svc.store, &svc.keys, svc.config.accounts.password, input, now).await?;
    let mut fields = vec!["email", "roles", "teams", "status", "password"];
    if profile.display_name.is_some() {
        fields.insert(1, "display_name");
    }
    svc.audit.record(vec![caller_event(who, AuditAction::ConfigChange, "users", user.id, &fields)]).await?;
    if grants {
        alert_grant(svc, who, user.id, &user.roles).await?;
    }
    Ok((user, profile))
}

/// One account.
pub async fn get(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<(UserRow, Profile)> {
    svc.authorizer.authorize_accounts(&who.principal)?;
    let user = current_user(svc, id).await?;
    Ok(show_users(svc, who, vec![user]).await?.remove(0))
}

/// Changes an account's name, roles, teams or status; an account may not
/// change its own roles or status.
pub async fn update(svc: &Services, who: &Caller, id: Uuid, patch: UserPatch) -> ApiResult<(UserRow, Profile)> {
    svc.authorizer.authorize_accounts(&who.principal)?;
    let mut user = current_user(svc, id).await?;
    // An admin gives roles to others, never to themselves: no one widens
    // their own access (an admin holds no personal data by default).
    let own = matches!(who.principal.credential, Credential::User { user: me, .. } if me == user.id);
    if own && (patch.roles.is_some() || patch.status.is_some()) {
        return Err(ApiError::new(ErrorCode::Forbidden, "an account may not change its own roles or status"));
    }
    let new_roles = match &patch.roles {
        Some(roles) => check_roles(roles)?,
        None => user.roles.clone(),
    };
    crate::auth::roles::check_exist(&svc.store, &new_roles).await?;
    let grants = check_privilege(svc, who, &user.roles, &new_roles).await? && patch.roles.is_some();
    let key = user_key(&svc.store, &svc.keys, user.id).await?;
    let mut profile = open_profile(&key, &user)?;
    let mut changed: Vec<&str> = Vec::new();
    if let Some(name) = &patch.display_name {
        profile.display_name = Some(check_display_name(name)?).filter(|n| !n.is_empty());
        user.sealed = seal_profile(&key, user.id, &profile)?;
        changed.push("display_name");
    }
    if patch.roles.is_some() {
        user.roles = new_roles;
        changed.push("roles");
    }
    if let Some(teams) = &patch.teams {
        user.teams = check_teams(teams)?;
        changed.push("teams");
    }
    let now = crate::now_millis();
    if let Some(status) = patch.status {
        user.status = status.as_str().into();
        if status == AccountStatus::Active {
            // Enabling an account also lifts a lockout (the store clears it).
            (user.locked_until, user.failed_logins, user.first_failed_at) = (None, 0, None);
        }
        changed.push("status");
    }
    user.updated_at = now;
    let lift_lockout = patch.status == Some(AccountStatus::Active);
    if !svc.store.update_user(&user, lift_lockout).await? {
        return Err(ApiError::not_found("account"));
    }
    let mut events = vec![caller_event(who, AuditAction::ConfigChange, "users", user.id, &changed)];
    if patch.status == Some(AccountStatus::Disabled) {
        let ended = svc.store.revoke_user_sessions(user.id, now, None).await?;
        events.push(caller_event(who, AuditAction::TokenRevoke, "sessions", user.id, &[&format!("revoked:{ended}")]));
    }
    svc.audit.record(events).await?;
    if grants {
        alert_grant(svc, who, user.id, &user.roles).await?;
    }
    Ok((user, profile))
}

/// Sets an account's password; its sessions end.
pub async fn reset_password(svc: &Services, who: &Caller, id: Uuid, input: PasswordReset) -> ApiResult<()> {
    svc.authorizer.authorize_accounts(&who.principal)?;
    let user = current_user(svc, id).await?;
    check_privilege(svc, who, &user.roles, &user.roles).await?;
    let now = crate::now_millis();
    change_password(&svc.store, &svc.keys, svc.config.accounts.password, &user, &input.password, now).await?;
    let ended = svc.store.revoke_user_sessions(user.id, now, None).await?;
    svc.audit
        .record(vec![
            caller_event(who, AuditAction::ConfigChange, "users", user.id, &["password"]),
            caller_event(who, AuditAction::TokenRevoke, "sessions", user.id, &[&format!("revoked:{ended}")]),
        ])
        .await?;
    Ok(())
}

/// Ends every session of an account; how many.
pub async fn revoke_sessions(svc: &Services, who: &Caller, id: Uuid) -> ApiResult<u64> {
    svc.authorizer.authorize_accounts(&who.principal)?;
    let user = current_user(svc, id).await?;
    let ended = svc.store.revoke_user_sessions(user.id, crate::now_millis(), None).await?;
    svc.audit
        .record(vec![caller_event(who, AuditAction::TokenRevoke, "sessions", user.id, &[&format!("revoked:{ended}")])])
        .await?;
    Ok(ended)
}
