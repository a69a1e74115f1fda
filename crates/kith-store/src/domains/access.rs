//! Custom roles, API keys, tokens and teams.

use crate::*;
use async_trait::async_trait;

/// Custom roles, API keys, tokens and teams.
#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// Stores a custom role (JSON document); with `replace` false, false if it exists.
    async fn put_role(&self, name: &str, document: &str, by: &str, at: i64, replace: bool) -> Result<bool>;
    /// Custom roles as (name, document), by name.
    async fn custom_roles(&self) -> Result<Vec<(String, String)>>;
    async fn custom_role(&self, name: &str) -> Result<Option<String>>;
    async fn delete_role(&self, name: &str) -> Result<bool>;
    async fn insert_api_key(&self, key: &ApiKeyRow) -> Result<()>;
    async fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRow>>;
    /// Every key, newest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>>;
    /// Revokes a key; false if it does not exist or was revoked already.
    async fn revoke_api_key(&self, id: Uuid, at: i64) -> Result<bool>;
    /// Records a use, at most once a minute per key (not a write per request).
    async fn touch_api_key(&self, id: Uuid, at: i64) -> Result<()>;
    /// The accounts (as the owner names records carry: their ids) that are
    /// members of any of these teams.
    async fn team_members(&self, teams: &[String]) -> Result<Vec<String>>;
    async fn insert_token(&self, token: &TokenRow) -> Result<()>;
    async fn token_by_hash(&self, hash: &[u8]) -> Result<Option<TokenRow>>;
    async fn revoke_token(&self, id: Uuid, at: i64) -> Result<bool>;
    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRow>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A third-party API key as stored: its hash, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub key_hash: Vec<u8>,
    /// Recipient, purposes, permissions, allowed addresses (JSON).
    pub document: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}
