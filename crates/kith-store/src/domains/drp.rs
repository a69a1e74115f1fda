//! Data Rights Protocol agents, tokens, requests and callbacks.

use crate::*;
use async_trait::async_trait;

/// Data Rights Protocol agents, tokens, requests and callbacks.
#[async_trait]
pub trait DrpStore: Send + Sync + 'static {
    /// Adds a Data Rights Protocol agent (`Duplicate` if the id is taken).
    async fn insert_drp_agent(&self, agent: &DrpAgentRow) -> Result<()>;
    async fn drp_agent(&self, agent_id: &str) -> Result<Option<DrpAgentRow>>;
    /// Every agent, by id.
    async fn drp_agents(&self) -> Result<Vec<DrpAgentRow>>;
    /// Removes an agent and its pairwise tokens; false if there was none.
    async fn delete_drp_agent(&self, agent_id: &str) -> Result<bool>;
    /// Stores a pairwise token of an agent (by the token's SHA-256).
    async fn insert_drp_token(&self, hash: &[u8], agent_id: &str, at: i64) -> Result<()>;
    /// The agent a pairwise token belongs to.
    async fn drp_token_agent(&self, hash: &[u8]) -> Result<Option<String>>;
    async fn insert_drp_request(&self, request: &DrpRequestRow) -> Result<()>;
    async fn drp_request(&self, id: Uuid) -> Result<Option<DrpRequestRow>>;
    /// Sets an agent request's own status and reason; false if there is none.
    async fn set_drp_request_status(&self, id: Uuid, status: &str, reason: Option<&str>) -> Result<bool>;
    /// The agent request a register request carries, if any.
    async fn drp_request_by_dsr(&self, dsr: Uuid) -> Result<Option<DrpRequestRow>>;
    /// Records one attempt to send a status callback.
    async fn record_drp_callback(&self, request: Uuid, status: &str, at: i64, outcome: &str) -> Result<()>;
    /// The callbacks sent for a request, oldest first: (status, outcome).
    async fn drp_callbacks(&self, request: Uuid) -> Result<Vec<(String, String)>>;
}

/// A Data Rights Protocol agent the DPO configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrpAgentRow {
    pub agent_id: String,
    pub name: String,
    /// The agent's Ed25519 public key (32 bytes).
    pub verify_key: Vec<u8>,
    pub created_by: String,
    pub created_at: i64,
    /// The host names its status callbacks may go to (lower case); none,
    /// and no callback is sent.
    pub callback_hosts: Vec<String>,
}

/// A request an agent filed: its own status only while no data-subject
/// request carries it (`dsr_id` none), else the register's state decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrpRequestRow {
    pub id: Uuid,
    pub agent_id: String,
    pub agent_request_id: String,
    pub exercise: String,
    pub dsr_id: Option<Uuid>,
    pub status: String,
    pub reason: Option<String>,
    pub status_callback: Option<String>,
    pub received_at: i64,
    pub expected_by: i64,
}
