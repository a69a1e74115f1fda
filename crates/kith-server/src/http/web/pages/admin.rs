//! Administration: staff accounts, roles as a grid of permissions, and
//! third-party API keys (the token shown once). Each section appears to
//! the roles the authoriser lets see it; every change goes through the
//! API's services, with their checks (no one widens their own access, a
//! role grants no more than its author holds, only the DPO issues keys).

use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::{api_keys, roles, users};
use crate::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kith_core::access::{Action, FieldClass, Permission, Scope};
use kith_core::EntityKind;
use serde_json::Value;

/// The record kinds a role's grid has rows for.
pub const KINDS: [EntityKind; 5] =
    [EntityKind::Contacts, EntityKind::Companies, EntityKind::Interactions, EntityKind::Deals, EntityKind::Purchases];
pub const ACTIONS: [Action; 6] =
    [Action::Read, Action::Create, Action::Update, Action::Delete, Action::Export, Action::Erase];
pub const SCOPES: [Scope; 3] = [Scope::Own, Scope::Team, Scope::All];

pub fn snake<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub struct AccountLine {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: String,
    pub teams: String,
    pub status: String,
    pub active: bool,
}

/// One row of a role's grid: a kind, the actions allowed on it, the scope
/// and the field classes.
pub struct GridRow {
    pub kind: String,
    pub allowed: Vec<bool>,
    pub scope: String,
    pub fields: String,
}

pub struct RoleLine {
    pub name: String,
    pub built_in: bool,
    pub description: String,
    pub grid: Vec<GridRow>,
}

pub struct KeyLine {
    pub id: String,
    pub recipient: String,
    pub purposes: String,
    pub permissions: String,
    pub expires: String,
    pub state: String,
    pub live: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub chrome: Chrome,
    pub accounts: Option<Vec<AccountLine>>,
    pub roles: Option<Vec<RoleLine>>,
    pub keys: Option<Vec<KeyLine>>,
    pub may_write_roles: bool,
    pub may_issue_keys: bool,
    /// Role names an account may be given.
    pub role_names: Vec<String>,
    pub kinds: Vec<String>,
    pub actions: Vec<String>,
    pub scopes: Vec<String>,
    pub field_classes: Vec<String>,
    /// Purposes a key may be for (key, name).
    pub purposes: Vec<(String, String)>,
    /// Recipients a key may be issued to (id, name): current, with a valid transfer.
    pub recipients: Vec<(String, String)>,
    pub notice: Option<String>,
    pub problem: Option<String>,
    /// A key's token, shown once, right after it was issued.
    pub issued: Option<String>,
}

/// A role's permissions as a grid: one row per kind it reaches.
fn grid(permissions: &[Permission]) -> Vec<GridRow> {
    KINDS
        .iter()
        .filter_map(|kind| {
            let on: Vec<&Permission> = permissions.iter().filter(|p| p.entities.contains(kind.as_str())).collect();
            if on.is_empty() {
                return None;
            }
            let allowed = ACTIONS.iter().map(|a| on.iter().any(|p| p.actions.contains(a))).collect();
            let scope = on.iter().map(|p| p.scope).max().unwrap_or(Scope::Own);
            let mut fields: Vec<String> = on.iter().flat_map(|p| p.fields.iter().map(snake)).collect();
            fields.sort();
            fields.dedup();
            Some(GridRow { kind: kind.as_str().into(), allowed, scope: snake(&scope), fields: fields.join(", ") })
        })
        .collect()
}

fn key_line(row: &kith_store::ApiKeyRow, names: &[(String, String)], lang: &Lang, now: i64) -> KeyLine {
    let doc: Value = serde_json::from_str(&row.document).unwrap_or(Value::Null);
    let strings =
        |v: &Value| v.as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ");
    let permissions = doc["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{} {}", strings(&p["actions"]), strings(&p["entities"])))
        .collect::<Vec<_>>()
        .join("; ");
    let (state, live) = match (row.revoked_at, row.expires_at <= now) {
        (Some(_), _) => (lang.t("key-revoked"), false),
        (None, true) => (lang.t("key-expired"), false),
        (None, false) => (lang.t("key-live"), true),
    };
    KeyLine {
        id: row.id.to_string(),
        recipient: doc["recipient_id"]
            .as_str()
            .and_then(|id| names.iter().find(|(known, _)| known == id))
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| lang.t("key-no-recipient")),
        purposes: strings(&doc["purposes"]),
        permissions,
        expires: lang.date(&crate::clock::rfc3339_millis(row.expires_at)),
        state,
        live,
    }
}

/// The page with the sections the reader may see.
pub async fn page(state: &AppState, chrome: Chrome, who: &Caller) -> Result<AdminPage, Response> {
    let authorizer = &state.authorizer;
    let principal = &who.principal;
    let lang = &chrome.lang;
    let now = crate::now_millis();
    let accounts = match authorizer.authorize_accounts(principal) {
        Ok(()) => match users::list(state, who).await {
            Ok(list) => Some(
                list.iter()
                    .map(|(user, profile)| AccountLine {
                        id: user.id.to_string(),
                        email: profile.email.clone(),
                        name: profile.display_name.clone().unwrap_or_default(),
                        roles: user.roles.join(", "),
                        teams: user.teams.join(", "),
                        status: lang
                            .t(&format!("account-status-{}", crate::service::accounts::shown_status(user, now))),
                        active: user.status == "active",
                    })
                    .collect(),
            ),
            Err(e) => return Err(error(chrome, e)),
        },
        Err(_) => None,
    };
    let role_entries = match authorizer.authorize_roles(principal, false) {
        Ok(()) => match roles::list(state, who).await {
            Ok(list) => Some(list),
            Err(e) => return Err(error(chrome, e)),
        },
        Err(_) => None,
    };
    // Every recipient by name for the key lines; the current ones data may go to, to issue keys for.
    let (names, recipients) = match crate::service::recipients::list(state, who).await {
        Ok(list) => (
            list.iter().map(|r| (r.recipient.row.id.to_string(), r.recipient.input.name.clone())).collect(),
            list.iter()
                .filter(|r| r.transfer.is_ok())
                .map(|r| (r.recipient.row.id.to_string(), r.recipient.input.name.clone()))
                .collect(),
        ),
        Err(_) => (Vec::new(), Vec::new()),
    };
    let keys = match authorizer.authorize_api_keys(principal, false) {
        Ok(()) => match api_keys::list(state, who).await {
            Ok(list) => Some(list.iter().map(|k| key_line(k, &names, lang, now)).collect()),
            Err(e) => return Err(error(chrome, e)),
        },
        Err(_) => None,
    };
    if accounts.is_none() && role_entries.is_none() && keys.is_none() {
        return Err(error(chrome, ApiError::new(kith_core::ErrorCode::Forbidden, "administration")));
    }
    let purposes = crate::service::purposes::catalogue(state).await.unwrap_or_default();
    Ok(AdminPage {
        accounts,
        role_names: role_entries.iter().flatten().map(|r| r.name.clone()).collect(),
        roles: role_entries.map(|list| {
            list.iter()
                .map(|r| RoleLine {
                    name: r.name.clone(),
                    built_in: r.built_in,
                    description: r.description.clone().unwrap_or_default(),
                    grid: grid(&r.permissions),
                })
                .collect()
        }),
        keys,
        may_write_roles: authorizer.authorize_roles(principal, true).is_ok(),
        may_issue_keys: authorizer.authorize_api_keys(principal, true).is_ok(),
        kinds: KINDS.iter().map(|k| k.as_str().to_string()).collect(),
        actions: ACTIONS.iter().map(|a| a.as_str().to_string()).collect(),
        scopes: SCOPES.iter().map(snake).collect(),
        field_classes: FieldClass::ALL.iter().map(snake).collect(),
        recipients,
        purposes: purposes.into_iter().map(|p| (p.key, p.name)).collect(),
        notice: None,
        problem: None,
        issued: None,
        chrome,
    })
}

pub async fn show(
    axum::extract::State(state): axum::extract::State<AppState>,
    lang: Lang,
    who: Caller,
    axum::Extension(session): axum::Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/admin").await;
    match page(&state, chrome, &who).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(refused) => refused,
    }
}

/// After a change: back to the section, or the page again with the refusal.
pub async fn after(
    state: &AppState,
    lang: Lang,
    who: &Caller,
    session: &PageSession,
    done: Result<(), ApiError>,
    anchor: &str,
) -> Response {
    let refusal = match done {
        Ok(()) => return Redirect::to(&format!("/admin#{anchor}")).into_response(),
        Err(e) if e.code.status() >= 500 => return e.into_response(),
        Err(e) => e,
    };
    let status = super::status_of(&refusal);
    let problem = super::problem_with_detail(&lang, &refusal);
    let chrome = Chrome::load(state, lang, who, session, "/admin").await;
    match page(state, chrome, who).await {
        Ok(mut page) => {
            page.problem = Some(problem);
            render(status, &page)
        }
        Err(refused) => refused,
    }
}
