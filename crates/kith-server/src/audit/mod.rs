//! The audit log: appending with group commit, and verifying the chain.
//!
//! Requests hand their events to one writer task and wait. While the writer
//! commits a batch, the next requests queue; it then takes all of them in
//! one transaction. Many concurrent requests share one commit, and no
//! response leaves before its events are durable.

pub mod alerts;
pub mod event;
pub mod refusals;

use crate::audit::alerts::Watcher;
use crate::audit::refusals::RefusalTally;
use crate::config::AlertRules;
use crate::error::{ApiError, ApiResult};
use kith_core::audit::{AuditEvent, AuditOutcome};
use kith_crypto::audit_chain::{chain_hash, leaf_hash, merkle_root, Hash, GENESIS};
use kith_crypto::signed_note::{NoteSigner, NoteVerifier};
use kith_store::DynStore;
use tokio::sync::{mpsc, oneshot};

/// Settings the doctor reads: when the chain was last verified intact,
/// and when a checkpoint was last exported (ms).
pub const VERIFIED_AT: &str = "audit_verified_at";
pub const CHECKPOINT_EXPORTED_AT: &str = "checkpoint_exported_at";

/// Most events one commit takes.
const MAX_BATCH: usize = 4096;

/// The leaf and chain hashes of an event after `previous`.
pub fn hash_event(event: &AuditEvent, previous: &Hash) -> (Hash, Hash) {
    let leaf = leaf_hash(&event.canonical());
    (leaf, chain_hash(previous, &leaf))
}

/// Appends a batch, trying again after short pauses: a failed batch fails
/// every request waiting on it.
async fn append_with_retries(store: &DynStore, events: &[AuditEvent]) -> Result<(), String> {
    let mut pause = std::time::Duration::from_millis(20);
    let mut attempt = 1;
    loop {
        match store.append_audit(events.to_vec(), &hash_event).await {
            Ok(_) => return Ok(()),
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, attempt, "audit append failed; retrying");
                tokio::time::sleep(pause).await;
                pause *= 4;
                attempt += 1;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

struct Pending {
    events: Vec<AuditEvent>,
    done: oneshot::Sender<Result<(), String>>,
}

#[derive(Clone)]
pub struct AuditLog {
    /// `None` only in [`AuditLog::unaudited_for_benchmarks`].
    queue: Option<mpsc::Sender<Pending>>,
    /// Refused credentials, counted per window (`refusals.rs`).
    refusals: std::sync::Arc<std::sync::Mutex<RefusalTally>>,
}

/// Most distinct (actor, network, kind) keys a refusal window keeps apart.
const MAX_REFUSAL_KEYS: usize = 10_000;

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(store: DynStore, rules: AlertRules) -> Self {
        let window_ms = i64::from(rules.refusal_window_seconds) * 1000;
        let refusals = std::sync::Arc::new(std::sync::Mutex::new(RefusalTally::new(window_ms, MAX_REFUSAL_KEYS)));
        // Alert rules run in a task of their own, one batch after another,
        // off the writer's path: a slow rule never delays a response.
        let (alert_queue, mut to_check) = mpsc::unbounded_channel::<Vec<AuditEvent>>();
        let alert_store = store.clone();
        let mut watcher = Watcher::new(rules);
        tokio::spawn(async move {
            while let Some(batch) = to_check.recv().await {
                if let Err(e) = watcher.check(&alert_store, &batch).await {
                    tracing::warn!(error = %e, "alert rules could not be checked");
                }
            }
        });
        let (queue, mut incoming) = mpsc::channel::<Pending>(1024);
        tokio::spawn(async move {
            while let Some(first) = incoming.recv().await {
                let mut batch = vec![first];
                let mut count = batch[0].events.len();
                while count < MAX_BATCH {
                    match incoming.try_recv() {
                        Ok(next) => {
                            count += next.events.len();
                            batch.push(next);
                        }
                        Err(_) => break,
                    }
                }
                let events: Vec<AuditEvent> = batch.iter_mut().flat_map(|p| std::mem::take(&mut p.events)).collect();
                let result = append_with_retries(&store, &events).await;
                if result.is_ok() {
                    let _ = alert_queue.send(events);
                }
                for pending in batch {
                    let _ = pending.done.send(result.clone());
                }
            }
        });
        let log = Self { queue: Some(queue), refusals };
        // A window's count is recorded when it runs out, even if no refusal
        // follows; the task holds the queue weakly, so it ends with the log.
        let (weak, tally) = (log.queue.as_ref().map(mpsc::Sender::downgrade), log.refusals.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(window_ms.max(1000) as u64));
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(queue) = weak.as_ref().and_then(mpsc::WeakSender::upgrade) else { break };
                let log = Self { queue: Some(queue), refusals: tally.clone() };
                if let Err(e) = log.close_refusals(false).await {
                    tracing::warn!(error = %e.detail, "refusal counts could not be recorded");
                }
            }
        });
        log
    }

    /// Records a refused credential: at once if it is the first of its
    /// actor, network and kind in the window, else only counted.
    pub async fn record_refusal(&self, event: AuditEvent) -> ApiResult<()> {
        let due = self.tally()?.note(event, crate::now_millis());
        self.record(due).await
    }

    fn tally(&self) -> ApiResult<std::sync::MutexGuard<'_, RefusalTally>> {
        self.refusals.lock().map_err(|_| ApiError::internal("audit", "refusal tally poisoned"))
    }

    /// Makes a write whose events must never be missing: the events are
    /// durable before the write runs, so a crash in between leaves an event
    /// without its write, never a write without its event. If the write
    /// fails, a `failed` event (same action and record, no field) follows
    /// and the write's own error comes back inside `Ok`.
    pub async fn intend<T, E>(
        &self,
        events: Vec<AuditEvent>,
        write: impl std::future::Future<Output = Result<T, E>>,
    ) -> ApiResult<Result<T, E>> {
        let failed: Vec<AuditEvent> = events
            .iter()
            .map(|e| AuditEvent { outcome: AuditOutcome::Failed, fields: Vec::new(), ..e.clone() })
            .collect();
        self.record(events).await?;
        let result = write.await;
        if result.is_err() {
            if let Err(e) = self.record(failed).await {
                tracing::warn!(error = %e.detail, "a failed write could not be recorded as failed");
            }
        }
        Ok(result)
    }

    /// Records the counts of the refusal window if it has run out (or at
    /// once with `force`, at shutdown).
    pub async fn close_refusals(&self, force: bool) -> ApiResult<()> {
        let due = self.tally()?.close(crate::now_millis(), force);
        self.record(due).await
    }

    /// A log that records nothing. It exists so a benchmark can measure what
    /// auditing costs against the same server without it; no server path
    /// builds one.
    pub fn unaudited_for_benchmarks() -> Self {
        Self { queue: None, refusals: std::sync::Arc::new(std::sync::Mutex::new(RefusalTally::new(1, 0))) }
    }

    /// Appends events and returns once they are committed.
    pub async fn record(&self, mut events: Vec<AuditEvent>) -> ApiResult<()> {
        let Some(queue) = &self.queue else { return Ok(()) };
        if events.is_empty() {
            return Ok(());
        }
        for event in &mut events {
            if event.confine() {
                // A route put unvalidated text into an event; it never reaches the log.
                tracing::warn!(action = event.action.as_str(), "an audit event carried text that is not a name");
                debug_assert!(false, "an audit event carried text that is not a name");
            }
        }
        let (done, committed) = oneshot::channel();
        queue
            .send(Pending { events, done })
            .await
            .map_err(|_| ApiError::internal("audit", "the audit writer has stopped"))?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ApiError::internal("audit", e)),
            Err(_) => Err(ApiError::internal("audit", "the audit writer has stopped")),
        }
    }
}

/// Appends one event of an operator's command (`system:cli`), committed
/// before the command reports success.
pub async fn record_command(
    store: &DynStore,
    action: kith_core::audit::AuditAction,
    entity: &str,
    record: Option<uuid::Uuid>,
    fields: &[&str],
) -> Result<(), kith_store::StoreError> {
    record_system(store, "system:cli", action, entity, record, fields).await
}

/// Appends one event of work no caller asked for (`system:cli`, or
/// `system:scheduler` for what a server runs on its own).
pub async fn record_system(
    store: &DynStore,
    actor: &str,
    action: kith_core::audit::AuditAction,
    entity: &str,
    record: Option<uuid::Uuid>,
    fields: &[&str],
) -> Result<(), kith_store::StoreError> {
    let fields = fields.iter().map(|f| f.to_string()).collect();
    let event = event::event(actor.into(), action, event::About { entity, record, subject: None }, fields);
    store.append_audit(vec![event], &hash_event).await.map(|_| ())
}

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    pub intact: bool,
    /// Events that verified before the first break (all of them if intact).
    pub events: i64,
    /// The chain hash after the last verified event, hex.
    pub head: String,
    /// The size of the newest signed checkpoint the log was checked against.
    pub checkpoint: Option<i64>,
    pub first_broken: Option<Broken>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

/// A signed checkpoint and where it was found (for messages).
#[derive(Debug, Clone)]
pub struct CheckpointNote {
    pub source: String,
    pub note: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What walking the chain found: the first break, if any, and the leaf
/// hashes recomputed from the events up to it.
struct Walk {
    leaves: Vec<Hash>,
    head: Hash,
    broken: Option<Broken>,
}

/// Recomputes every hash in sequence order and names the first event that
/// was modified, deleted, inserted or reordered, or a tail cut off below
/// the head the log records. The head is read first and the walk stops
/// there, so events appended meanwhile by a live server are not mistaken
/// for tampering; a row beyond the head that the head still does not cover
/// afterwards is.
async fn walk(store: &DynStore) -> Result<Walk, kith_store::StoreError> {
    let (head_seq, head_hash) = store.audit_head().await?;
    let mut previous = GENESIS;
    let mut leaves: Vec<Hash> = Vec::new();
    let broken = |seq: i64, reason: String| Some(Broken { seq, reason });
    'pages: while (leaves.len() as i64) < head_seq {
        let rows = store.audit_rows(leaves.len() as i64, 1000).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let expected = leaves.len() as i64 + 1;
            if expected > head_seq {
                break 'pages;
            }
            let seq = row.event.seq;
            if seq != expected {
                let reason = format!("event {expected} is missing: the next stored event is {seq}");
                return Ok(Walk { leaves, head: previous, broken: broken(expected, reason) });
            }
            if !row.canonical {
                let reason =
                    "a stored id or field list is not in the form Kith writes: the event was modified".to_string();
                return Ok(Walk { leaves, head: previous, broken: broken(seq, reason) });
            }
            let (leaf, chain) = hash_event(&row.event, &previous);
            if leaf.as_slice() != row.leaf_hash {
                let reason = "its contents do not match its hash: the event was modified".to_string();
                return Ok(Walk { leaves, head: previous, broken: broken(seq, reason) });
            }
            if chain.as_slice() != row.chain_hash {
                let reason = "its chain hash does not follow from the events before it: \
                              an event was inserted, removed or reordered"
                    .to_string();
                return Ok(Walk { leaves, head: previous, broken: broken(seq, reason) });
            }
            previous = chain;
            leaves.push(leaf);
        }
    }
    let last = leaves.len() as i64;
    if last < head_seq || head_hash != previous {
        let reason = format!(
            "the log ends at event {last} but its head names event {head_seq}: \
             events were cut off the end or the head was altered"
        );
        return Ok(Walk { leaves, head: previous, broken: broken(last + 1, reason) });
    }
    if let Some(beyond) = store.audit_rows(head_seq, 1).await?.first() {
        // A live server may have appended since the head was read: then the
        // head has moved past it by now.
        let (now_seq, _) = store.audit_head().await?;
        if now_seq < beyond.event.seq {
            let reason = format!(
                "event {} lies beyond the head (event {now_seq}): it was added around the chain",
                beyond.event.seq
            );
            return Ok(Walk { leaves, head: previous, broken: broken(beyond.event.seq, reason) });
        }
    }
    Ok(Walk { leaves, head: previous, broken: None })
}

/// The body of a checkpoint: origin, tree size, RFC 6962 root (base64).
fn checkpoint_body(origin: &str, leaves: &[Hash]) -> String {
    use base64::Engine;
    let root = merkle_root(leaves);
    format!("{origin}\n{}\n{}\n", leaves.len(), base64::engine::general_purpose::STANDARD.encode(root))
}

/// Checks the log against every checkpoint that verifies under `verifier`:
/// a log shorter than a checkpoint was truncated, a log whose first events
/// no longer hash to a checkpoint's root was rewritten. Every checkpoint is
/// checked, not only the newest: a newer one signed over a rewritten log
/// must not hide an older, honest one. Returns the largest size checked.
fn check_against(
    walk: &Walk,
    verifier: &NoteVerifier,
    checkpoints: &[CheckpointNote],
) -> (Option<i64>, Option<Broken>) {
    let events = walk.leaves.len() as i64;
    let mut largest = None;
    for checkpoint in checkpoints {
        let source = &checkpoint.source;
        let Ok(body) = verifier.open(&checkpoint.note) else {
            let reason = format!("the checkpoint from {source} is not signed by the audit key");
            return (largest, Some(Broken { seq: events, reason }));
        };
        let mut lines = body.lines();
        let (origin, size) = (lines.next().unwrap_or_default(), lines.next().and_then(|l| l.parse::<i64>().ok()));
        let Some(size) = size.filter(|s| *s >= 0 && origin == verifier.name()) else {
            let reason = format!("the checkpoint from {source} is malformed or belongs to another log");
            return (largest, Some(Broken { seq: events, reason }));
        };
        if size > events {
            let reason = format!(
                "the log holds {events} events but the checkpoint from {source} vouches for {size}: events were cut off or removed"
            );
            return (Some(size), Some(Broken { seq: events + 1, reason }));
        }
        if checkpoint_body(origin, &walk.leaves[..size as usize]) != body {
            let reason = format!(
                "the first {size} events no longer match the checkpoint from {source}: an event at or below {size} was rewritten"
            );
            return (Some(size), Some(Broken { seq: size, reason }));
        }
        largest = largest.max(Some(size));
    }
    (largest, None)
}

/// Verifies the chain, then the log against `checkpoints` (when a verifier
/// key is given).
pub async fn verify(
    store: &DynStore,
    verifier: Option<&NoteVerifier>,
    checkpoints: &[CheckpointNote],
) -> Result<Verification, kith_store::StoreError> {
    let walk = walk(store).await?;
    let events = walk.leaves.len() as i64;
    let head = hex(&walk.head);
    if let Some(broken) = walk.broken {
        return Ok(Verification { intact: false, events, head, checkpoint: None, first_broken: Some(broken) });
    }
    let (checkpoint, broken) = match verifier {
        Some(v) => check_against(&walk, v, checkpoints),
        None => (None, None),
    };
    Ok(Verification { intact: broken.is_none(), events, head, checkpoint, first_broken: broken })
}

/// The audit log's notary: the signing key, and the file in the data
/// directory that keeps a copy of the newest checkpoint outside the database.
#[derive(Clone)]
pub struct Notary {
    signer: std::sync::Arc<NoteSigner>,
    file: std::path::PathBuf,
}

impl Notary {
    pub fn new(signer: NoteSigner, file: std::path::PathBuf) -> Self {
        Self { signer: std::sync::Arc::new(signer), file }
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// Signs a note that is not a checkpoint (an erasure receipt) with the
    /// same key, so whoever checks checkpoints can check it too. `body`
    /// ends with a newline.
    pub fn sign(&self, body: &str) -> String {
        self.signer.sign(body)
    }

    /// Signs a checkpoint, keeps it in the database and in the data
    /// directory. Refuses unless the log still matches every checkpoint
    /// signed before: signing over a rewritten log would launder it.
    pub async fn checkpoint(&self, store: &DynStore) -> anyhow::Result<(i64, String)> {
        let walk = walk(store).await?;
        let earlier = self.known_checkpoints(store, None).await?;
        let broken = walk.broken.clone().or_else(|| check_against(&walk, &self.verifier(), &earlier).1);
        if let Some(broken) = broken {
            anyhow::bail!("the audit log is broken at event {} ({}); no checkpoint signed", broken.seq, broken.reason);
        }
        let size = walk.leaves.len() as i64;
        let note = self.signer.sign(&checkpoint_body(self.signer.name(), &walk.leaves));
        store.insert_checkpoint(size, &note, crate::now_millis()).await?;
        kith_crypto::private_file::write_atomic(&self.file, note.as_bytes())?;
        Ok((size, note))
    }

    /// The checkpoints at hand: the database's newest, the data directory's,
    /// and `extra` (one exported elsewhere).
    async fn known_checkpoints(
        &self,
        store: &DynStore,
        extra: Option<CheckpointNote>,
    ) -> Result<Vec<CheckpointNote>, kith_store::StoreError> {
        let mut notes: Vec<CheckpointNote> = extra.into_iter().collect();
        if let Some(note) = store.latest_checkpoint().await? {
            notes.push(CheckpointNote { source: "the database".into(), note });
        }
        if let Ok(note) = std::fs::read_to_string(&self.file) {
            notes.push(CheckpointNote { source: self.file.display().to_string(), note });
        }
        Ok(notes)
    }

    /// Verifies against every checkpoint at hand, `extra` included.
    pub async fn verify(
        &self,
        store: &DynStore,
        extra: Option<CheckpointNote>,
    ) -> Result<Verification, kith_store::StoreError> {
        self.verify_with_key(store, extra, &self.verifier()).await
    }

    /// The same, trusting only `key`: the verifier key a DPO kept apart,
    /// so that a replaced `audit.key` cannot vouch for a rewritten log.
    pub async fn verify_with_key(
        &self,
        store: &DynStore,
        extra: Option<CheckpointNote>,
        key: &NoteVerifier,
    ) -> Result<Verification, kith_store::StoreError> {
        let notes = self.known_checkpoints(store, extra).await?;
        verify(store, Some(key), &notes).await
    }
}
