//! The consent ledger's seal: a keyed MAC over everything in an entry that
//! decides processing (purpose, yes or no, notice, method, time, who
//! recorded it), its place in the person's ledger and the seal before it.
//! The key comes from the key file, never the database, so a database
//! writer who flips a withdrawal into a grant, or drops or reorders
//! entries inside a ledger, breaks the chain; a ledger that does not
//! verify grants nothing (see `Store::statuses`).

use kith_crypto::KeyringHandle;
use kith_store::{ConsentRow, DynStore, LedgerSeal};

/// The setting that marks the one-time sealing of entries written before
/// ledgers were sealed as done.
const LEGACY_SEALED: &str = "consent_ledger_sealed";

/// The seal of entries under the keyring's ledger key.
pub fn sealer(keys: &KeyringHandle) -> Box<LedgerSeal> {
    let ring = keys.current();
    Box::new(move |entry: &ConsentRow, previous: &[u8]| ring.ledger_mac(&canonical(entry, previous)).to_vec())
}

/// Every sealed field, length-prefixed so no two entries share a message.
fn canonical(entry: &ConsentRow, previous: &[u8]) -> Vec<u8> {
    let fields: [&[u8]; 10] = [
        entry.id.as_bytes(),
        entry.contact_id.as_bytes(),
        entry.purpose.as_bytes(),
        if entry.granted { b"granted" } else { b"withdrawn" },
        &entry.at.to_be_bytes(),
        entry.notice_version.as_bytes(),
        entry.method.as_bytes(),
        entry.recorded_by.as_bytes(),
        &entry.seq.to_be_bytes(),
        previous,
    ];
    let mut message = b"kith/consent-ledger/v1".to_vec();
    for field in fields {
        message.extend_from_slice(&(field.len() as u64).to_be_bytes());
        message.extend_from_slice(field);
    }
    message
}

/// Seals the entries written before ledgers were sealed, once per
/// database: after that, an entry without a seal is one someone wrote
/// around Kith, and sealing it would make it count.
pub async fn seal_legacy_entries(store: &DynStore, keys: &KeyringHandle) -> kith_store::Result<u64> {
    if store.setting(LEGACY_SEALED).await?.is_some() {
        return Ok(0);
    }
    let sealed = store.seal_unsealed_consents(&*sealer(keys)).await?;
    store.set_setting(LEGACY_SEALED, &crate::now_millis().to_string()).await?;
    if sealed > 0 {
        tracing::info!(sealed, "consent entries written before ledgers were sealed are now sealed");
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> ConsentRow {
        ConsentRow {
            id: uuid::Uuid::from_u128(1),
            contact_id: uuid::Uuid::from_u128(2),
            purpose: "marketing.communications.email".into(),
            granted: true,
            at: 1_700_000_000_000,
            notice_version: "2026-01".into(),
            method: "web_form".into(),
            recorded_by: "public".into(),
            sealed: vec![1, 2, 3],
            seq: 1,
            mac: Vec::new(),
        }
    }

    #[test]
    fn every_deciding_field_is_in_the_message() {
        let base = canonical(&entry(), b"");
        let variants: Vec<ConsentRow> = vec![
            ConsentRow { granted: false, ..entry() },
            ConsentRow { purpose: "sales".into(), ..entry() },
            ConsentRow { notice_version: "2026-02".into(), ..entry() },
            ConsentRow { method: "api".into(), ..entry() },
            ConsentRow { at: 1_700_000_000_001, ..entry() },
            ConsentRow { recorded_by: "someone".into(), ..entry() },
            ConsentRow { seq: 2, ..entry() },
            ConsentRow { id: uuid::Uuid::from_u128(3), ..entry() },
            ConsentRow { contact_id: uuid::Uuid::from_u128(3), ..entry() },
        ];
        for variant in variants {
            assert_ne!(canonical(&variant, b""), base, "{variant:?}");
        }
        assert_ne!(canonical(&entry(), b"x"), base, "the previous seal is in it");
        // The proof is sealed under the person's key on its own; the seal does not need it.
        assert_eq!(canonical(&ConsentRow { sealed: vec![], ..entry() }, b""), base);
        // Length prefixes: moving a byte from one field to the next changes the message.
        let shifted = ConsentRow { notice_version: "2026-0".into(), method: "1web_form".into(), ..entry() };
        assert_ne!(
            canonical(&shifted, b""),
            canonical(&ConsentRow { notice_version: "2026-01".into(), ..entry() }, b"")
        );
    }
}
