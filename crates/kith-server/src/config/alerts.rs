//! `[alerts]` in `kith.toml`: the thresholds of the unusual-access rules.

use serde::{Deserialize, Serialize};

/// Thresholds, set in `kith.toml` under `[alerts]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertRules {
    /// The window the counting rules look back over, in minutes.
    pub window_minutes: u32,
    /// More distinct people read by one actor within the window raises `mass_read`.
    pub max_people_read: i64,
    /// More people in the reads of one request raises `bulk_read` (exports).
    pub max_people_per_request: i64,
    /// More refused requests by one actor within the window raises `repeated_denials`.
    pub max_denied: i64,
    /// Working hours in UTC, `[start, end)` in whole hours; reads outside
    /// raise `out_of_hours`. Absent: no such rule.
    pub working_hours_utc: Option<[u8; 2]>,
    /// Refused credentials are counted over windows of this many seconds:
    /// the first of each client network at once, the rest as one event.
    pub refusal_window_seconds: u32,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            window_minutes: 10,
            max_people_read: 200,
            max_people_per_request: 1000,
            max_denied: 10,
            working_hours_utc: None,
            refusal_window_seconds: 60,
        }
    }
}

impl AlertRules {
    /// Refuses settings that could only misfire.
    pub fn check(&self) -> Result<(), String> {
        if self.window_minutes == 0 {
            return Err("alerts.window_minutes must be at least 1".into());
        }
        if self.refusal_window_seconds == 0 || self.refusal_window_seconds > 3600 {
            return Err("alerts.refusal_window_seconds must be between 1 and 3600".into());
        }
        if let Some([start, end]) = self.working_hours_utc {
            if start > 23 || end > 24 || start == end {
                return Err(
                    "alerts.working_hours_utc is [start, end] in whole hours 0-24, start and end differing".into()
                );
            }
        }
        Ok(())
    }
}
