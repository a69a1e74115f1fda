//! The administration page's forms: add an account, change its roles or
//! status, define a custom role from its grid, issue and revoke API keys.

use super::admin::{after, page, snake, ACTIONS, KINDS, SCOPES};
use super::posted::{all, first, listed, pairs, Pairs};
use super::{render, Chrome};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::service::{api_keys, roles, users};
use crate::AppState;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use kith_core::access::{Action, FieldClass, Permission, RoleInput};
use kith_core::account::{AccountStatus, NewUserInput, UserPatch};
use kith_core::api_key::ApiKeyInput;
use kith_core::{EntityKind, ErrorCode};
use std::collections::BTreeSet;

pub async fn add_account(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let form = pairs(&raw);
    let input = NewUserInput {
        email: first(&form, "email"),
        display_name: Some(first(&form, "display_name")).filter(|n| !n.is_empty()),
        roles: all(&form, "roles"),
        teams: listed(&first(&form, "teams")),
        password: first(&form, "password"),
    };
    let done = users::add(&state, &who, input).await.map(|_| ());
    after(&state, lang, &who, &session, done, "accounts-heading").await
}

/// Changes an account's roles, or enables or disables it.
pub async fn change_account(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw_id): Path<String>,
    RawForm(raw): RawForm,
) -> Response {
    let form = pairs(&raw);
    let patch = match first(&form, "change").as_str() {
        "roles" => Ok(UserPatch { roles: Some(all(&form, "roles")), ..UserPatch::default() }),
        "disable" => Ok(UserPatch { status: Some(AccountStatus::Disabled), ..UserPatch::default() }),
        "enable" => Ok(UserPatch { status: Some(AccountStatus::Active), ..UserPatch::default() }),
        _ => Err(ApiError::new(ErrorCode::InvalidValue, "change: roles, disable or enable")),
    };
    let done = match (path_id(&raw_id), patch) {
        (Ok(id), Ok(patch)) => users::update(&state, &who, id, patch).await.map(|_| ()),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    after(&state, lang, &who, &session, done, "accounts-heading").await
}

/// The actions ticked for `kind` in a grid (`contacts.read` …).
fn ticked(form: &Pairs, kind: EntityKind, offered: &[Action]) -> BTreeSet<Action> {
    let is_ticked = |a: &&Action| form.iter().any(|(k, _)| *k == format!("{}.{}", kind.as_str(), a.as_str()));
    offered.iter().filter(is_ticked).copied().collect()
}

/// A custom role from its grid: per kind, the actions ticked, at the
/// scope chosen, over the field classes ticked.
fn role_from(form: &Pairs) -> RoleInput {
    let fields: BTreeSet<FieldClass> =
        all(form, "fields").iter().filter_map(|f| serde_json::from_value(serde_json::json!(f)).ok()).collect();
    let permissions = KINDS
        .iter()
        .filter_map(|kind| {
            let actions = ticked(form, *kind, &ACTIONS);
            if actions.is_empty() {
                return None;
            }
            let chosen = first(form, &format!("{}.scope", kind.as_str()));
            let scope = SCOPES.iter().find(|s| snake(*s) == chosen).copied().unwrap_or(kith_core::access::Scope::Own);
            Some(Permission { actions, entities: [kind.as_str().to_string()].into(), fields: fields.clone(), scope })
        })
        .collect();
    RoleInput {
        name: first(form, "name"),
        description: Some(first(form, "description")).filter(|d| !d.is_empty()),
        permissions,
    }
}

pub async fn add_role(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let done = roles::write(&state, &who, role_from(&pairs(&raw)), false).await.map(|_| ());
    after(&state, lang, &who, &session, done, "roles-heading").await
}

pub async fn delete_role(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(name): Path<String>,
) -> Response {
    let done = roles::delete(&state, &who, &name).await;
    after(&state, lang, &who, &session, done, "roles-heading").await
}

/// Issues a key and shows its token on the page, once.
pub async fn issue_key(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    RawForm(raw): RawForm,
) -> Response {
    let form = pairs(&raw);
    let permissions = KINDS
        .iter()
        .filter_map(|kind| {
            // A third party reads, creates or updates; nothing more is offered.
            let actions = ticked(&form, *kind, &[Action::Read, Action::Create, Action::Update]);
            (!actions.is_empty()).then(|| Permission {
                actions,
                entities: [kind.as_str().to_string()].into(),
                fields: FieldClass::ALL
                    .iter()
                    .copied()
                    .filter(|f| !matches!(f, FieldClass::SpecialCategory | FieldClass::ConsentEvidence))
                    .collect(),
                scope: kith_core::access::Scope::All,
            })
        })
        .collect();
    let input = ApiKeyInput {
        recipient_id: first(&form, "recipient_id").parse().unwrap_or(uuid::Uuid::nil()),
        purposes: all(&form, "purposes"),
        permissions,
        expires_in_days: first(&form, "expires_in_days").parse().unwrap_or(0),
        allowed_addresses: listed(&first(&form, "allowed_addresses")),
    };
    match api_keys::issue(&state, &who, input).await {
        Ok((_, token)) => {
            let chrome = Chrome::load(&state, lang, &who, &session, "/admin").await;
            match page(&state, chrome, &who).await {
                Ok(mut page) => {
                    page.notice = Some(page.chrome.lang.t("key-issued"));
                    page.issued = Some(token);
                    render(StatusCode::CREATED, &page)
                }
                Err(refused) => refused,
            }
        }
        Err(e) => after(&state, lang, &who, &session, Err(e), "keys-heading").await,
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw_id): Path<String>,
) -> Response {
    let done = match path_id(&raw_id) {
        Ok(id) => api_keys::revoke(&state, &who, id).await,
        Err(e) => Err(e),
    };
    after(&state, lang, &who, &session, done, "keys-heading").await
}
