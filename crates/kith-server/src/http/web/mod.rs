//! The staff interface: pages rendered on the server from compile-time
//! templates (`crates/kith-server/templates/`), in the reader's language
//! (`i18n.rs`), over the same services, authorisation and audit as the
//! API. Every page works without JavaScript; htmx (vendored) only improves.
//!
//! Pages authenticate with the session cookie (`session.rs`); every form
//! that changes something carries the session's CSRF token, checked before
//! the handler runs. Every answer carries a Content-Security-Policy without
//! `unsafe-inline` (scripts and styles come from `/assets/` only).

mod assets;
mod i18n;
mod pages;
mod portal_session;
mod presession;
mod session;

pub use i18n::Lang;

use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use kith_core::model::{Company, Contact, Deal};
use tower_http::set_header::SetResponseHeaderLayer;

/// Scripts, styles, images, forms and connections only from this server;
/// no frames, no plugins, no base URL but ours.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The value of the cookie `name` a request carries, if any (not empty,
/// at most 600 bytes).
pub(crate) fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty() && value.len() <= 600)
}

/// A `Set-Cookie` value the pages use: HttpOnly and SameSite=Strict
/// always, Secure over TLS; `value` `None` removes the cookie.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Option<u64>, path: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}{age}; Path={path}; HttpOnly; SameSite=Strict{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("kith_invalid=; Max-Age=0"))
}

/// The `Set-Cookie` value that removes the cookie `name`.
pub(crate) fn clear_cookie(name: &str, path: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", Some(0), path, secure)
}

/// The pages and their assets, to merge into the application's router.
pub fn routes(state: &AppState) -> Router<AppState> {
    let staff = Router::new()
        .route("/", get(pages::contacts::list))
        .route("/contacts", post(pages::editing::create::<Contact>))
        .route("/contacts/new", get(pages::editing::new_form::<Contact>))
        .route("/contacts/export", get(pages::contacts::export))
        .route("/analytics", get(pages::analytics::show))
        .route("/contacts/duplicates", get(pages::duplicates::show))
        .route("/contacts/{id}/merge", post(pages::duplicates::merge))
        .route("/contacts/import", get(pages::imports::show_form).post(pages::imports::start))
        .route("/imports/{id}", get(pages::imports::show_job))
        .route("/contacts/{id}", get(pages::contacts::show).post(pages::editing::update::<Contact>))
        .route("/contacts/{id}/edit", get(pages::editing::edit_form::<Contact>))
        .route("/contacts/{id}/interactions", post(pages::activity::add_interaction))
        .route("/contacts/{id}/deals", post(pages::activity::add_deal))
        .route("/contacts/{id}/purchases", post(pages::purchases::add))
        .route("/purchases/{id}", get(pages::purchases::show))
        .route("/deals", get(pages::deals::board))
        .route("/deals/{id}", post(pages::editing::update::<Deal>))
        .route("/deals/{id}/edit", get(pages::editing::edit_form::<Deal>))
        .route("/deals/{id}/stage", post(pages::deals::move_stage))
        .route("/today", get(pages::activity::today))
        .route("/tasks/{id}/done", post(pages::activity::done))
        .route("/companies", get(pages::companies::list).post(pages::editing::create::<Company>))
        .route("/companies/new", get(pages::editing::new_form::<Company>))
        .route("/companies/{id}", get(pages::companies::show).post(pages::editing::update::<Company>))
        .route("/companies/{id}/edit", get(pages::editing::edit_form::<Company>))
        .route("/audit", get(pages::audit::log))
        .route("/doctor", get(pages::doctor::show))
        .route("/retention", get(pages::retention::show))
        .route("/recipients", get(pages::recipients::list).post(pages::recipients::create))
        .route("/recipients/{id}", get(pages::recipients::show).post(pages::recipients::update))
        .route("/recipients/{id}/end", post(pages::recipients::end))
        .route("/ropa", get(pages::ropa::show))
        .route("/breaches", get(pages::breaches::list).post(pages::breaches::open))
        .route("/breaches/{id}", get(pages::breaches::show))
        .route("/breaches/{id}/{step}", post(pages::breaches::step))
        .route("/alerts/{id}/breach", post(pages::breaches::from_alert))
        .route("/ropa/controller", post(pages::ropa::set_controller))
        .route("/segments", get(pages::segments::list).post(pages::segments::save))
        .route("/segments/{id}", get(pages::segments::show))
        .route("/segments/{id}/delete", post(pages::segments::delete))
        .route("/admin", get(pages::admin::show))
        .route("/admin/accounts", post(pages::admin_changes::add_account))
        .route("/admin/accounts/{id}", post(pages::admin_changes::change_account))
        .route("/admin/roles", post(pages::admin_changes::add_role))
        .route("/admin/roles/{name}/delete", post(pages::admin_changes::delete_role))
        .route("/admin/keys", post(pages::admin_changes::issue_key))
        .route("/admin/keys/{id}/revoke", post(pages::admin_changes::revoke_key))
        .route("/consent", get(pages::consent::show))
        .route("/consent/purposes", post(pages::consent::add_purpose))
        .route("/consent/notices", post(pages::consent::add_notice))
        .route("/consent/forms", post(pages::consent::add_form))
        .route("/consent/forms/{key}/disable", post(pages::consent::disable_form))
        .route("/requests", get(pages::requests::queue))
        .route("/requests/{id}", get(pages::requests::show))
        .route("/requests/{id}/steps", post(pages::requests::step))
        .route("/requests/{id}/archive", get(pages::requests::download))
        .route("/account", get(pages::account::show))
        .route("/account/totp", post(pages::account::begin_totp))
        .route("/account/totp/confirm", post(pages::account::confirm_totp))
        .route("/account/password", post(pages::account::change_password))
        .route("/account/language", post(pages::account::choose_language))
        .route("/logout", post(pages::login::sign_out))
        .route("/purpose", post(pages::purpose::choose))
        .route("/contacts/{id}/consents", post(pages::contacts::record_consent))
        .route_layer(axum::middleware::from_fn(session::form_token))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), session::staff));
    let portal = Router::new()
        .route("/privacy/me", get(pages::portal_me::show))
        .route("/privacy/me/archive", post(pages::portal_me::download))
        .route("/privacy/me/consents", post(pages::portal_me::consent))
        .route("/privacy/me/corrections", post(pages::portal_me::correct))
        .route("/privacy/me/objection", post(pages::portal_me::object))
        .route("/privacy/me/erasure", post(pages::portal_me::erase))
        .route("/privacy/logout", post(pages::portal::sign_out))
        .route_layer(axum::middleware::from_fn(session::form_token))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), portal_session::subject));
    let public = Router::new()
        .route("/login", get(pages::login::form).post(pages::login::sign_in))
        .route("/privacy", get(pages::portal::ask_form).post(pages::portal::ask))
        .route("/forms/confirm", get(pages::capture::confirm_form).post(pages::capture::confirm))
        .route("/forms/{key}", get(pages::capture::show).post(pages::capture::submit))
        .route("/privacy/open", get(pages::portal::open_form).post(pages::portal::open))
        .route("/assets/{name}", get(assets::serve));
    staff
        .merge(portal)
        .merge(public)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}
