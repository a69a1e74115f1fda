//! The store's interface per domain; `Store` is their sum. Each trait's
//! SQL is in `sql/<domain>.rs`.

use super::*;

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
}

/// Records of the five kinds with their keys, clear columns and index terms.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    async fn data_key(&self, subject: Uuid) -> Result<Option<KeyRow>>;
    /// Inserts a record, with a new data key for its subject when given.
    /// A new key must be wrapped under the active KEK, checked in the same
    /// transaction, so a rotation can never miss it.
    async fn insert(&self, record: NewRecord, new_key: Option<KeyRow>) -> Result<()>;
    /// Inserts many records and keys in one transaction (imports).
    async fn insert_batch(&self, records: Vec<(NewRecord, Option<KeyRow>)>) -> Result<()>;
    async fn update(&self, update: RecordUpdate, new_key: Option<KeyRow>) -> Result<()>;
    async fn get(&self, entity: EntityKind, id: Uuid) -> Result<Option<StoredRecord>>;
    /// Deletes a record with its index terms. A contact takes with it every
    /// record sealed under its key, and the key itself.
    async fn delete(&self, entity: EntityKind, id: Uuid) -> Result<bool>;
    async fn list(&self, query: &ListQuery) -> Result<Vec<StoredRecord>>;
}

/// Data keys as a key rotation sweeps them.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Wrapped keys in subject order, for rotation and checks.
    async fn keys_after(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<KeyRow>>;
    async fn count_keys_not_under(&self, kek_id: &str) -> Result<u64>;
    /// Replaces `old` by `new` only if it is unchanged; false otherwise.
    async fn rewrap(&self, old: &KeyRow, new: &KeyRow) -> Result<bool>;
}

/// Purposes, notices, the consent ledger, restriction, objections and legal claims.
#[async_trait]
pub trait PolicyStore: Send + Sync + 'static {
    /// The purposes catalogue, as JSON documents in key order.
    async fn purposes(&self) -> Result<Vec<String>>;
    /// One purpose's JSON document.
    async fn purpose(&self, key: &str) -> Result<Option<String>>;
    /// Stores a purpose (replacing one with the same key when `replace`);
    /// returns whether it was written.
    async fn put_purpose(&self, key: &str, document: &str, at: i64, replace: bool) -> Result<bool>;
    /// Adds a notice version; a version, once added, never changes (`Duplicate`).
    async fn add_notice(&self, notice: &NoticeRow) -> Result<()>;
    async fn notices(&self) -> Result<Vec<NoticeRow>>;
    /// Appends to a person's consent ledger; the contact must exist. The
    /// entry's `seq` and `mac` are the store's to give: the next number of
    /// the person's ledger (taken under a lock on the person) and `seal`'s
    /// result. Returns the entry as stored.
    async fn append_consent(&self, entry: &ConsentRow, seal: &LedgerSeal) -> Result<ConsentRow>;
    /// A person's ledger in sequence order, verified with `seal`.
    async fn consents(&self, contact: Uuid, seal: &LedgerSeal) -> Result<Ledger>;
    /// Seals the entries that have no seal (written before ledgers were
    /// sealed), continuing each person's chain; the number sealed. Run once,
    /// at the upgrade: after that an unsealed entry is a tampered one.
    async fn seal_unsealed_consents(&self, seal: &LedgerSeal) -> Result<u64>;
    /// Restricts processing of a person (Art. 18); the contact must exist.
    async fn restrict(&self, contact: Uuid, at: i64, by: &str) -> Result<()>;
    /// Lifts a restriction; false if there was none.
    async fn lift_restriction(&self, contact: Uuid) -> Result<bool>;
    /// Records an objection to a purpose (Art. 21); the contact must exist.
    async fn object(&self, id: Uuid, contact: Uuid, purpose: &str, at: i64, by: &str) -> Result<()>;
    /// Restriction, objections and current consents of each person given.
    /// A person whose ledger does not verify with `seal` has no consent
    /// that counts: what the ledger says cannot be trusted, so processing
    /// on the basis of consent stops until the DPO has looked.
    async fn statuses(
        &self,
        contacts: &[Uuid],
        seal: &LedgerSeal,
    ) -> Result<std::collections::HashMap<Uuid, kith_core::policy::PersonStatus>>;
    /// Records a legal-claims exception to a person's restriction; false
    /// when the person is not restricted. Lifting the restriction drops it.
    async fn add_legal_claim(&self, claim: &LegalClaimRow) -> Result<bool>;
    async fn legal_claims(&self, contact: Uuid) -> Result<Vec<LegalClaimRow>>;
}

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

/// Saved segments.
#[async_trait]
pub trait SegmentStore: Send + Sync + 'static {
    /// Stores a segment with the data key its definition is sealed under.
    async fn insert_segment(&self, segment: &SegmentRow, key: &KeyRow) -> Result<()>;
    /// Every segment, oldest first.
    async fn segments(&self) -> Result<Vec<SegmentRow>>;
    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>>;
    /// Deletes a segment and its key; false if there was none.
    async fn delete_segment(&self, id: Uuid) -> Result<bool>;
}

/// The audit log, its checkpoints and alerts.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends events to the audit chain in one transaction, assigning
    /// their sequence numbers; returns the events as stored.
    async fn append_audit(&self, events: Vec<AuditEvent>, hasher: &AuditHasher) -> Result<Vec<AuditEvent>>;
    /// Stored events with their hashes, in sequence order after `after`.
    async fn audit_rows(&self, after: i64, limit: u32) -> Result<Vec<AuditRow>>;
    /// The last sequence number and chain hash the log records.
    async fn audit_head(&self) -> Result<(i64, Vec<u8>)>;
    async fn audit_query(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// Keeps a signed checkpoint of the first `size` events (once per size).
    async fn insert_checkpoint(&self, size: i64, note: &str, at: i64) -> Result<()>;
    /// The checkpoint covering the most events, if any.
    async fn latest_checkpoint(&self) -> Result<Option<String>>;
    /// Stores an alert unless the same rule fired for the same actor since `since`;
    /// returns whether it was stored.
    async fn raise_alert(&self, alert: &AlertRow, since: i64) -> Result<bool>;
    /// Alerts, newest first.
    async fn alerts(&self, limit: u32) -> Result<Vec<AlertRow>>;
}

/// Capture forms, pending confirmations and the outbox.
#[async_trait]
pub trait CaptureStore: Send + Sync + 'static {
    /// Adds a capture form (`Duplicate` if the key exists).
    async fn add_form(&self, form: &FormRow) -> Result<()>;
    /// Every capture form, disabled ones too, oldest first.
    async fn forms(&self) -> Result<Vec<FormRow>>;
    async fn form(&self, key: &str) -> Result<Option<FormRow>>;
    /// Disables a form; false if there is no such enabled form.
    async fn disable_form(&self, key: &str, at: i64) -> Result<bool>;
    /// Stores a pending confirmation with its new data key (checked against
    /// the active KEK like every new key) and its outbox message, together.
    async fn add_pending(&self, pending: &PendingRow, key: KeyRow, message: &OutboxRow) -> Result<()>;
    /// Takes the pending confirmation a token hash names: returns it with its
    /// key and deletes it, its key and its outbox messages in the same
    /// transaction, so a token works at most once even under concurrency.
    /// The caller decides whether it had expired.
    async fn take_pending(&self, token_hash: &[u8]) -> Result<Option<(PendingRow, Option<KeyRow>)>>;
    /// Deletes up to `limit` pending confirmations that expired at `now`,
    /// with their keys and outbox messages; returns how many.
    async fn sweep_pending(&self, now: i64, limit: u32) -> Result<u64>;
    /// Takes up to `limit` outbox messages, oldest first, with the keys that
    /// open them, and deletes them.
    async fn claim_outbox(&self, limit: u32) -> Result<Vec<(OutboxRow, Option<KeyRow>)>>;
}

/// Staff accounts, their second factor, lockout and sessions.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new account with its data key (checked against the active
    /// KEK); `Duplicate` when the e-mail term is taken.
    async fn insert_user(&self, user: &UserRow, key: &KeyRow) -> Result<()>;
    async fn user(&self, id: Uuid) -> Result<Option<UserRow>>;
    async fn user_by_email_term(&self, term: &[u8]) -> Result<Option<UserRow>>;
    /// Every account, oldest first.
    async fn users(&self) -> Result<Vec<UserRow>>;
    /// Writes the profile columns (sealed, roles, teams, status, updated_at);
    /// `lift_lockout` (an admin setting the status to active) also clears
    /// the failure count and any lockout. False if there is no such account.
    async fn update_user(&self, user: &UserRow, lift_lockout: bool) -> Result<bool>;
    /// Replaces the password hash and lifts a lockout.
    async fn set_password(&self, id: Uuid, hash: &str, at: i64) -> Result<bool>;
    /// Sets or clears the TOTP secret waiting for confirmation.
    async fn set_totp_pending(&self, id: Uuid, sealed: Option<&[u8]>, at: i64) -> Result<bool>;
    /// Makes the pending secret the enrolled one, remembers the step its
    /// confirming code used, and replaces the recovery codes.
    async fn enrol_totp(&self, id: Uuid, sealed: &[u8], step: i64, recovery: &[Vec<u8>], at: i64) -> Result<bool>;
    /// Accepts a TOTP step only if it is later than the last one accepted,
    /// atomically, so a code works once even when two servers race.
    async fn accept_totp_step(&self, id: Uuid, step: i64) -> Result<bool>;
    /// Uses a recovery code (by hash) once; false if unknown or used.
    async fn use_recovery_code(&self, id: Uuid, hash: &[u8], at: i64) -> Result<bool>;
    /// Counts a failed login; locks the account when the rule says so.
    /// Returns the end of the lock, if the account is now locked.
    async fn record_login_failure(&self, id: Uuid, now: i64, rule: LockoutRule) -> Result<Option<i64>>;
    /// Opens a session for a login whose password (as hashed at
    /// `password_changed_at`) and second factor were right: in one
    /// transaction, under the account's row lock, refuses a disabled or
    /// locked account or a password changed meanwhile, else clears the
    /// failure counters and stores the session. A failure recorded by a
    /// concurrent guess is seen here, so a lock cannot be raced.
    async fn start_session(&self, session: &SessionRow, password_changed_at: i64) -> Result<SessionStart>;
    async fn session_by_hash(&self, hash: &[u8]) -> Result<Option<SessionRow>>;
    async fn touch_session(&self, id: Uuid, at: i64) -> Result<()>;
    /// Revokes one session; false if it was not active.
    async fn revoke_session(&self, id: Uuid, at: i64) -> Result<bool>;
    /// Revokes every active session of a user but `except`; returns how many.
    async fn revoke_user_sessions(&self, user: Uuid, at: i64, except: Option<Uuid>) -> Result<u64>;
}

/// The data-subject request register and archive links.
#[async_trait]
pub trait RequestStore: Send + Sync + 'static {
    /// Registers a data-subject request with its data key (checked against
    /// the active KEK like every new key).
    async fn insert_dsr(&self, request: &DsrRow, key: &KeyRow) -> Result<()>;
    async fn dsr(&self, id: Uuid) -> Result<Option<DsrRow>>;
    async fn dsrs(&self, query: &DsrQuery) -> Result<Vec<DsrRow>>;
    /// Writes every changing column of a request if its version is still
    /// `request.version` (bumping it); false when someone changed it first.
    /// `new_key` re-keys a request whose key erasure destroyed (staff wrote
    /// something new on it), in the same transaction.
    async fn update_dsr(&self, request: &DsrRow, new_key: Option<&KeyRow>) -> Result<bool>;
    /// Stores a download link of a request's archive (by the token's hash).
    async fn insert_export_link(&self, request: Uuid, hash: &[u8], created_at: i64, expires_at: i64) -> Result<()>;
    async fn export_link(&self, hash: &[u8]) -> Result<Option<ExportLinkRow>>;
    /// Uses a link of this request once, atomically: false if it is
    /// unknown, used or expired (so it works once even when two servers race).
    async fn use_export_link(&self, request: Uuid, hash: &[u8], now: i64) -> Result<bool>;
    /// When the request's archive was last downloaded, if ever.
    async fn last_export(&self, request: Uuid) -> Result<Option<i64>>;
}

/// Erasure, its exceptions, the suppression list, receipts and notification tasks.
#[async_trait]
pub trait ErasureStore: Send + Sync + 'static {
    /// Records an exception to erasure; the contact must exist.
    async fn add_erasure_exception(&self, exception: &ErasureExceptionRow) -> Result<()>;
    async fn erasure_exceptions(&self, contact: Uuid) -> Result<Vec<ErasureExceptionRow>>;
    /// Lifts every exception to a person's erasure; returns how many.
    async fn lift_erasure_exceptions(&self, contact: Uuid) -> Result<u64>;
    /// Erases a person in one transaction, unless an exception holds: the
    /// contact with every record sealed under its key and their index
    /// entries, ledger, restriction, objections, legal claims, exceptions,
    /// the data key; adds the suppression terms, the notification tasks and
    /// the receipt `sign` makes of the counts. Then, outside it, pushes the
    /// deletion below the database (SQLite: a truncating WAL checkpoint;
    /// PostgreSQL: VACUUM of the tables touched).
    async fn erase_person(&self, order: &ErasureOrder, sign: &ReceiptSigner) -> Result<Erased>;
    /// Whether any of these terms is on the suppression list.
    async fn suppressed(&self, terms: &[Term]) -> Result<bool>;
    /// The signed receipt of an erasure request, if it was carried out.
    async fn erasure_receipt(&self, request: Uuid) -> Result<Option<String>>;
    async fn erasure_notifications(&self, request: Uuid) -> Result<Vec<NotificationRow>>;
    /// Records notification tasks (Art. 19) for a rectification or restriction; repeats are ignored.
    async fn add_notifications(&self, tasks: &[NotificationRow]) -> Result<()>;
}

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
