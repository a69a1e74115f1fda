//! The audit log: appending with group commit, and verifying the chain.
//!
//! Requests hand their events to one writer task and wait. While the writer
//! commits a batch, the next requests queue; it then takes all of them in
//! one transaction. Many concurrent requests share one commit, and no
//! response leaves before its events are durable.

use crate::error::{ApiError, ApiResult};
use kith_core::audit::AuditEvent;
use kith_crypto::audit_chain::{chain_hash, leaf_hash, Hash, GENESIS};
use kith_store::DynStore;
use tokio::sync::{mpsc, oneshot};

/// Most events one commit takes.
const MAX_BATCH: usize = 4096;

/// The leaf and chain hashes of an event after `previous`.
pub fn hash_event(event: &AuditEvent, previous: &Hash) -> (Hash, Hash) {
    let leaf = leaf_hash(&event.canonical());
    (leaf, chain_hash(previous, &leaf))
}

struct Pending {
    events: Vec<AuditEvent>,
    done: oneshot::Sender<Result<(), String>>,
}

#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Pending>,
}

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(store: DynStore) -> Self {
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
                let events: Vec<AuditEvent> = batch.iter().flat_map(|p| p.events.iter().cloned()).collect();
                let result = store.append_audit(events, &hash_event).await.map(|_| ()).map_err(|e| e.to_string());
                for pending in batch {
                    let _ = pending.done.send(result.clone());
                }
            }
        });
        Self { queue }
    }

    /// Appends events and returns once they are committed.
    pub async fn record(&self, events: Vec<AuditEvent>) -> ApiResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, committed) = oneshot::channel();
        self.queue
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

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    pub intact: bool,
    /// Events that verified before the first break (all of them if intact).
    pub events: i64,
    /// The chain hash after the last verified event, hex.
    pub head: String,
    pub first_broken: Option<Broken>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Recomputes every hash in sequence order and names the first event that
/// was modified, deleted, inserted or reordered, or a tail cut off below
/// the head the log records.
pub async fn verify(store: &DynStore) -> Result<Verification, kith_store::StoreError> {
    let mut previous = GENESIS;
    let mut expected = 1_i64;
    let broken = |seq: i64, reason: String, verified: i64, previous: &Hash| Verification {
        intact: false,
        events: verified,
        head: hex(previous),
        first_broken: Some(Broken { seq, reason }),
    };
    loop {
        let rows = store.audit_rows(expected - 1, 1000).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let seq = row.event.seq;
            if seq != expected {
                let reason = format!("event {expected} is missing: the next stored event is {seq}");
                return Ok(broken(expected, reason, expected - 1, &previous));
            }
            let (leaf, chain) = hash_event(&row.event, &previous);
            if leaf.as_slice() != row.leaf_hash {
                let reason = "its contents do not match its hash: the event was modified".to_string();
                return Ok(broken(seq, reason, expected - 1, &previous));
            }
            if chain.as_slice() != row.chain_hash {
                let reason = "its chain hash does not follow from the events before it: \
                              an event was inserted, removed or reordered"
                    .to_string();
                return Ok(broken(seq, reason, expected - 1, &previous));
            }
            previous = chain;
            expected += 1;
        }
    }
    let last = expected - 1;
    let (head_seq, head_hash) = store.audit_head().await?;
    if head_seq != last || head_hash != previous {
        let reason = format!(
            "the log ends at event {last} but its head names event {head_seq}: events were cut off the end or the head was altered"
        );
        return Ok(broken(last.min(head_seq) + 1, reason, last, &previous));
    }
    Ok(Verification { intact: true, events: last, head: hex(&previous), first_broken: None })
}
