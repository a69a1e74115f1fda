//! The transfer guard: whether data may go to a recipient of the register
//! now, under the adequacy decisions in force. Every path that sends data
//! to a recipient (a request with its API key, an export made for it)
//! passes here, so a removed or expired mechanism stops all of them at once.

use crate::error::{ApiError, ApiResult};
use kith_core::recipient::RecipientInput;
use kith_core::transfer::{assess, shipped_decisions, AdequacyDecision, TransferBasis};
use kith_store::{DynStore, RecipientRow};
use uuid::Uuid;

/// The setting that holds an operator's list of adequacy decisions (JSON);
/// without it the list Kith ships applies.
pub const DECISIONS_SETTING: &str = "adequacy_decisions";

/// The adequacy decisions in force for this installation.
pub async fn decisions(store: &DynStore) -> ApiResult<Vec<AdequacyDecision>> {
    match store.setting(DECISIONS_SETTING).await? {
        Some(json) => serde_json::from_str(&json).map_err(|e| ApiError::internal("adequacy decisions", e)),
        None => Ok(shipped_decisions()),
    }
}

/// A recipient of the register, parsed.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub row: RecipientRow,
    pub input: RecipientInput,
}

impl Recipient {
    pub fn parse(row: RecipientRow) -> ApiResult<Self> {
        let input = serde_json::from_str(&row.document).map_err(|e| ApiError::internal("recipient", e))?;
        Ok(Self { row, input })
    }

    /// What the transfer to it rests on at `at`, or why it may not happen.
    pub fn assess(&self, decisions: &[AdequacyDecision], at: i64) -> Result<TransferBasis, ApiError> {
        assess(&self.input.terms(self.row.ended_at.is_some()), decisions, crate::clock::time_of(at).date())
            .map_err(|refusal| ApiError::new(refusal.code, format!("recipient: {}", refusal.reason)))
    }
}

/// The recipient, if data may go to it at `at`; the refusal, with a code
/// that says why, otherwise.
pub async fn guard(store: &DynStore, recipient: Uuid, at: i64) -> ApiResult<Recipient> {
    let row = store.recipient(recipient).await?.ok_or_else(|| {
        ApiError::new(kith_core::ErrorCode::UnknownReference, "recipient_id: no such recipient in the register")
    })?;
    let recipient = Recipient::parse(row)?;
    recipient.assess(&decisions(store).await?, at)?;
    // A sub-processor receives data only while the processor that engaged it does.
    if let Some(processor) = recipient.input.processor_id {
        let ended = store.recipient(processor).await?.is_none_or(|p| p.ended_at.is_some());
        if ended {
            return Err(ApiError::new(
                kith_core::ErrorCode::RecipientEnded,
                "recipient: the processor that engaged this sub-processor has ended",
            ));
        }
    }
    Ok(recipient)
}

/// The purposes of `wanted` the recipient is registered for (the key's
/// purposes narrowed to the register's, as it stands now).
pub fn registered_purposes(recipient: &Recipient, wanted: &[String]) -> Vec<String> {
    wanted.iter().filter(|p| recipient.input.purposes.contains(p)).cloned().collect()
}
