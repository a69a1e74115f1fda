//! `kith user ...`: staff accounts from the command line, for the first
//! admin and for operators without a browser. The work is done by
//! `kith_server::accounts`; each change is audited as `system:cli`.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use kith_core::account::{AccountStatus, NewUserInput};
use kith_core::audit::AuditAction;
use kith_crypto::PasswordParams;
use kith_server::audit::record_command;
use kith_server::datadir::{DataDir, Opened};
use kith_server::service::accounts::{
    change_password, create_user, find_by_email, open_profile, shown_status, user_key,
};
use std::io::Read;
use zeroize::Zeroizing;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a staff account; the password is read from standard input.
    Add(UserAddArgs),
    /// Set an account's password, read from standard input; its sessions end and a lockout is lifted.
    Passwd(UserPasswdArgs),
    /// Disable an account: it can no longer log in and its sessions end.
    Disable(UserEmailArgs),
    /// List accounts: id, e-mail, name, roles, status.
    List(crate::cli::CommonArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    common: crate::cli::CommonArgs,
    /// The account's e-mail address, which it logs in with.
    #[arg(long)]
    email: String,
    /// A role (admin, dpo, sales, support, marketing, auditor); repeat for several.
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// The name shown for the account.
    #[arg(long)]
    name: Option<String>,
    /// A team whose records team-scoped rules reach; repeat for several.
    #[arg(long = "team")]
    teams: Vec<String>,
    /// Read the password from standard input (the only way: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserPasswdArgs {
    #[command(flatten)]
    common: crate::cli::CommonArgs,
    #[arg(long)]
    email: String,
    /// Read the new password from standard input.
    #[arg(long, required = true)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserEmailArgs {
    #[command(flatten)]
    common: crate::cli::CommonArgs,
    #[arg(long)]
    email: String,
}

/// The password on standard input, without the line break that ends it.
fn read_password() -> Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut text).context("cannot read the password from standard input")?;
    let password =
        Zeroizing::new(text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_string());
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

async fn open(common: &crate::cli::CommonArgs) -> Result<Opened> {
    let dir = DataDir::new(&common.data_dir, common.key_file.clone())?;
    dir.open(common.database_url.as_deref()).await
}

fn api(e: kith_server::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e.detail, e.code)
}

pub async fn run(command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add(args) => add(args).await,
        UserCommand::Passwd(args) => passwd(args).await,
        UserCommand::Disable(args) => disable(args).await,
        UserCommand::List(args) => list(args).await,
    }
}

async fn add(args: UserAddArgs) -> Result<()> {
    let password = read_password()?;
    let opened = open(&args.common).await?;
    let input = NewUserInput {
        email: args.email,
        display_name: args.name,
        roles: args.roles,
        teams: args.teams,
        password: password.to_string(),
    };
    let now = kith_server::now_millis();
    let (user, _) =
        create_user(&opened.store, &opened.keys, PasswordParams::default(), input, now).await.map_err(api)?;
    let fields = ["email", "display_name", "roles", "teams", "status", "password"];
    record_command(&opened.store, AuditAction::ConfigChange, "users", Some(user.id), &fields).await?;
    println!("{}", user.id);
    Ok(())
}

async fn find(opened: &Opened, email: &str) -> Result<kith_store::UserRow> {
    match find_by_email(&opened.store, &opened.keys, email).await.map_err(api)? {
        Some(user) => Ok(user),
        None => bail!("no account has this e-mail address"),
    }
}

async fn passwd(args: UserPasswdArgs) -> Result<()> {
    let password = read_password()?;
    let opened = open(&args.common).await?;
    let user = find(&opened, &args.email).await?;
    let now = kith_server::now_millis();
    change_password(&opened.store, &opened.keys, PasswordParams::default(), &user, &password, now)
        .await
        .map_err(api)?;
    let ended = opened.store.revoke_user_sessions(user.id, now, None).await?;
    record_command(&opened.store, AuditAction::ConfigChange, "users", Some(user.id), &["password"]).await?;
    record_command(&opened.store, AuditAction::TokenRevoke, "sessions", Some(user.id), &[&format!("revoked:{ended}")])
        .await?;
    println!("password set for {}", user.id);
    Ok(())
}

async fn disable(args: UserEmailArgs) -> Result<()> {
    let opened = open(&args.common).await?;
    let mut user = find(&opened, &args.email).await?;
    let now = kith_server::now_millis();
    user.status = AccountStatus::Disabled.as_str().into();
    user.updated_at = now;
    opened.store.update_user(&user, false).await?;
    let ended = opened.store.revoke_user_sessions(user.id, now, None).await?;
    record_command(&opened.store, AuditAction::ConfigChange, "users", Some(user.id), &["status"]).await?;
    record_command(&opened.store, AuditAction::TokenRevoke, "sessions", Some(user.id), &[&format!("revoked:{ended}")])
        .await?;
    println!("disabled {}", user.id);
    Ok(())
}

async fn list(args: crate::cli::CommonArgs) -> Result<()> {
    let opened = open(&args).await?;
    let now = kith_server::now_millis();
    let users = opened.store.users().await?;
    println!("{:<36}  {:<32}  {:<24}  {:<20}  status", "id", "email", "name", "roles");
    for user in &users {
        let key = user_key(&opened.store, &opened.keys, user.id).await.map_err(api)?;
        let profile = open_profile(&key, user).map_err(api)?;
        println!(
            "{:<36}  {:<32}  {:<24}  {:<20}  {}",
            user.id,
            profile.email,
            profile.display_name.as_deref().unwrap_or("-"),
            user.roles.join(","),
            shown_status(user, now)
        );
    }
    for user in &users {
        record_command(&opened.store, AuditAction::Read, "users", Some(user.id), &["email", "display_name"]).await?;
    }
    Ok(())
}
