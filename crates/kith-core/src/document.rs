//! The plaintext form of a sealed document: one format byte, then the
//! document as a MessagePack array of its fields in declaration order.
//!
//! Positional encoding keeps field names out of every stored record (a
//! contact seals to about half the bytes of its JSON), which matters because
//! every byte is written to the database's pages and its WAL. The price is a
//! rule: **fields of an entity are only ever appended, always with
//! `#[serde(default)]`, never removed, renamed in place or reordered.** The
//! golden test below fails if the order changes. A new encoding gets a new
//! format byte; old records keep opening.

use crate::entity::EntityBody;
use crate::error::{ErrorCode, ValidationError};

const MSGPACK_POSITIONAL_V1: u8 = 1;

/// Encodes a document for sealing.
pub fn encode<B: EntityBody>(body: &B) -> Vec<u8> {
    let mut out = vec![MSGPACK_POSITIONAL_V1];
    // Writing into a Vec fails only for types serde cannot represent, which
    // entity documents never contain.
    rmp_serde::encode::write(&mut out, body).expect("entity documents encode as MessagePack");
    out
}

/// Decodes what [`encode`] wrote (after the AEAD has authenticated it).
pub fn decode<B: EntityBody>(bytes: &[u8]) -> Result<B, ValidationError> {
    let corrupt = |why: &str| ValidationError::new(ErrorCode::Internal, format!("stored document: {why}"));
    match bytes.split_first() {
        Some((&MSGPACK_POSITIONAL_V1, rest)) => rmp_serde::from_slice(rest).map_err(|_| corrupt("does not decode")),
        Some(_) => Err(corrupt("unknown format")),
        None => Err(corrupt("empty")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Contact, Interaction, InteractionKind, Purchase, PurchaseLine};
    use uuid::Uuid;

    fn contact() -> Contact {
        Contact {
            given_name: Some("Olena".into()),
            family_name: Some("Kovalenko".into()),
            emails: vec!["olena@example.org".into()],
            phones: vec!["+380441234567".into()],
            addresses: vec![Address { city: Some("Kyiv".into()), country: Some("UA".into()), ..Address::default() }],
            birthday: Some("1990-04-01".into()),
            company_id: Some(Uuid::from_u128(7)),
            custom: serde_json::json!({"tier": 2, "nested": {"list": [1, "two", null]}}).as_object().unwrap().clone(),
            ..Contact::default()
        }
    }

    #[test]
    fn documents_round_trip() {
        let c = contact();
        assert_eq!(decode::<Contact>(&encode(&c)).unwrap(), c);
        let p = Purchase {
            contact_id: Uuid::from_u128(1),
            company_id: None,
            purchased_at: "2026-01-31T10:00:00Z".into(),
            currency: "EUR".into(),
            lines: vec![PurchaseLine {
                sku: "A".into(),
                description: None,
                quantity: "2".parse().unwrap(),
                unit_price: "4.50".parse().unwrap(),
            }],
            notes: None,
            tags: vec![],
            custom: Default::default(),
            owner: Some("me".into()),
        };
        let back: Purchase = decode(&encode(&p)).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.lines[0].unit_price.to_string(), "4.50", "decimals keep their scale");
    }

    /// Pins the positional layout: if this fails, a field moved, and records
    /// already sealed would open into the wrong fields.
    #[test]
    fn field_order_is_stable() {
        let i = Interaction {
            contact_id: Uuid::from_u128(1),
            company_id: None,
            kind: InteractionKind::Call,
            occurred_at: "t".into(),
            subject: Some("s".into()),
            body: None,
            due_at: None,
            done: Some(true),
            tags: vec!["x".into()],
            custom: Default::default(),
            owner: Some("o".into()),
        };
        let hex: String = encode(&i).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "019bc41000000000000000000000000000000001c0a463616c6ca174a173c0c0c391a178 80a16f".replace(' ', "")
        );
    }

    #[test]
    fn foreign_bytes_are_refused() {
        assert!(decode::<Contact>(&[]).is_err());
        assert!(decode::<Contact>(&[9, 1, 2]).is_err());
        assert!(decode::<Contact>(&[1, 0xc1]).is_err());
    }
}
