//! The database itself: engine, reachability, settings.

use crate::*;
use async_trait::async_trait;

/// The database itself: its engine, reachability and settings.
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Answers when the database can be reached.
    async fn ping(&self) -> Result<()>;
    async fn setting(&self, name: &str) -> Result<Option<String>>;
    /// Sets a value only if it is not set yet; returns the value now stored.
    async fn init_setting(&self, name: &str, value: &str) -> Result<String>;
    async fn set_setting(&self, name: &str, value: &str) -> Result<()>;
    async fn remove_setting(&self, name: &str) -> Result<()>;
}
