//! The settings a server runs with (from `kith.toml`, flags and the
//! environment, resolved by the command line).

/// Settings the request path and the services need.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a client has to send a body, and the server to answer.
    pub body_deadline: std::time::Duration,
    pub response_deadline: std::time::Duration,
    /// Whether the server speaks TLS (then it sends HSTS).
    pub tls: bool,
    pub alerts: crate::audit::alerts::AlertRules,
    /// The age of digital consent (Art. 8: 13 to 16 by member state):
    /// below it a consent needs a guardian record.
    pub digital_consent_age: u8,
    /// Public capture: confirmation lifetime, link, rate limits.
    pub capture: crate::capture::CaptureSettings,
    /// Staff accounts: lockout, session lifetimes, login rate, hash cost.
    pub accounts: crate::accounts::AccountSettings,
    /// The business id Data Rights Protocol agents put in their signed
    /// claims: a claim for another business is refused.
    pub drp_business_id: String,
    /// Where and how status callbacks to agents may go.
    pub drp_callbacks: crate::drp_callback::CallbackRules,
}

/// How long a client has to send a request's body.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);
/// How long the server has to answer, once the body is in.
pub const RESPONSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// The Data Rights Protocol business id when `kith.toml` names none.
pub const DEFAULT_DRP_BUSINESS_ID: &str = "kith";

/// Art. 8(1)'s default; member states may lower it to 13.
pub const DEFAULT_DIGITAL_CONSENT_AGE: u8 = 16;

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            body_deadline: BODY_DEADLINE,
            response_deadline: RESPONSE_DEADLINE,
            tls: true,
            alerts: Default::default(),
            digital_consent_age: DEFAULT_DIGITAL_CONSENT_AGE,
            capture: Default::default(),
            accounts: Default::default(),
            drp_business_id: DEFAULT_DRP_BUSINESS_ID.into(),
            drp_callbacks: Default::default(),
        }
    }
}
