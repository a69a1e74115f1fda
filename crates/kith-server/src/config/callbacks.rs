//! Where Data Rights Protocol status callbacks may go.

use std::time::Duration;

/// What a callback must satisfy; the defaults are the only ones `kith
/// serve` uses (tests deliver to a loopback endpoint over HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRules {
    pub https_only: bool,
    pub public_addresses_only: bool,
    /// The waits before the second, third… attempt.
    pub retry_delays: Vec<Duration>,
}

impl Default for CallbackRules {
    fn default() -> Self {
        Self {
            https_only: true,
            public_addresses_only: true,
            retry_delays: [10, 60, 300, 1800].map(Duration::from_secs).to_vec(),
        }
    }
}
