//! Erasure: the person and their key go; suppression and a receipt stay.

use super::requests::request;
use super::*;

/// A record of `entity` about `contact`, sealed under the contact's key.
pub(crate) fn about(entity: EntityKind, contact: Uuid) -> NewRecord {
    let columns = entity
        .columns()
        .iter()
        .map(|c| match (c.name, c.ty) {
            ("contact_id", _) => ClearValue::Text(contact.to_string()),
            (_, ColumnType::Int) => ClearValue::Int(1),
            (_, ColumnType::Text) if c.sortable => ClearValue::Text("2030-01-01".into()),
            _ => ClearValue::Null,
        })
        .collect();
    NewRecord {
        entity,
        id: Uuid::new_v4(),
        subject_id: contact,
        owner: Some("owner-1".into()),
        created_at: 2,
        sealed: vec![4],
        columns,
        terms: Vec::new(),
        references: vec![(EntityKind::Contacts, contact)],
    }
}

fn task(request: Uuid, api_key: Uuid, at: i64) -> NotificationRow {
    NotificationRow {
        request_id: request,
        api_key_id: api_key,
        recipient: "Partner".into(),
        status: "pending".into(),
        created_at: at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_takes_the_person_and_their_key_and_leaves_suppression_and_a_receipt() {
    for engine in engines().await {
        let s = &engine.store;
        let (person, bystander) = (Uuid::new_v4(), Uuid::new_v4());
        s.insert(contact(person, 1), Some(key(person, "k1"))).await.unwrap();
        s.insert(contact(bystander, 1), Some(key(bystander, "k1"))).await.unwrap();
        let (interaction, purchase) = (about(EntityKind::Interactions, person), about(EntityKind::Purchases, person));
        s.insert_batch(vec![(interaction.clone(), None), (purchase.clone(), None)]).await.unwrap();
        let kept = about(EntityKind::Interactions, bystander);
        s.insert(kept.clone(), None).await.unwrap();
        s.restrict(person, 3, "dpo").await.unwrap();
        // The erasure request; one that gave the person's address but matched no one; one about someone else.
        let email: Term = [5; 16];
        let ordered = request("erasure", "in_progress", Some(person), 100);
        let mut unmatched = request("access", "received", None, 100);
        unmatched.given_term = Some(email.to_vec());
        let unrelated = request("access", "received", Some(bystander), 100);
        for r in [&ordered, &unmatched, &unrelated] {
            s.insert_dsr(r, &key(r.id, "k1")).await.unwrap();
        }
        let recipient = ApiKeyRow {
            id: Uuid::new_v4(),
            key_hash: vec![6; 32],
            document: "{}".into(),
            created_by: "admin".into(),
            created_at: 1,
            expires_at: 1_000_000,
            revoked_at: None,
            last_used_at: Some(2),
        };
        s.insert_api_key(&recipient).await.unwrap();
        let order = ErasureOrder {
            request_id: ordered.id,
            contact_id: person,
            suppressions: vec![email],
            notifications: vec![task(ordered.id, recipient.id, 10)],
            at: 10,
        };
        let sign = |counts: &ErasureCounts| format!("signed {counts:?}");
        // No such person, or no such request: nothing happens.
        let nobody = ErasureOrder { contact_id: Uuid::new_v4(), ..order.clone() };
        assert_eq!(s.erase_person(&nobody, &sign).await.unwrap(), Erased::Missing);
        let unfiled = ErasureOrder { request_id: Uuid::new_v4(), ..order.clone() };
        assert!(matches!(s.erase_person(&unfiled, &sign).await, Err(StoreError::UnknownReference("dsr_requests", _))));
        assert!(s.get(EntityKind::Contacts, person).await.unwrap().is_some());
        // An exception holds the erasure, changing nothing, until it is lifted.
        let hold = ErasureExceptionRow {
            id: Uuid::new_v4(),
            contact_id: person,
            ground: "legal_obligation".into(),
            at: 4,
            recorded_by: "dpo".into(),
            sealed: vec![1],
        };
        s.add_erasure_exception(&hold).await.unwrap();
        let stranger = ErasureExceptionRow { id: Uuid::new_v4(), contact_id: Uuid::new_v4(), ..hold.clone() };
        assert!(matches!(s.add_erasure_exception(&stranger).await, Err(StoreError::UnknownReference(..))));
        assert_eq!(s.erasure_exceptions(person).await.unwrap(), vec![hold]);
        assert_eq!(s.erase_person(&order, &sign).await.unwrap(), Erased::Held);
        assert!(s.get(EntityKind::Interactions, interaction.id).await.unwrap().is_some(), "held: nothing erased");
        assert_eq!(s.data_key(person).await.unwrap(), Some(key(person, "k1")));
        assert!(!s.suppressed(&[email]).await.unwrap());
        assert_eq!(s.erasure_receipt(ordered.id).await.unwrap(), None);
        assert_eq!(s.dsr(ordered.id).await.unwrap().as_ref(), Some(&ordered));
        assert_eq!(s.lift_erasure_exceptions(person).await.unwrap(), 1);
        assert_eq!(s.lift_erasure_exceptions(person).await.unwrap(), 0);
        // Erased: the records, the key, the restriction; the counts go into the signed receipt.
        let Erased::Done { counts, receipt } = s.erase_person(&order, &sign).await.unwrap() else {
            panic!("the erasure was carried out")
        };
        assert_eq!(receipt, sign(&counts));
        let count = |name: &str| counts.get(name).copied();
        assert_eq!(
            [count("contacts"), count("interactions"), count("purchases"), count("deals")],
            [Some(1), Some(1), Some(1), Some(0)]
        );
        assert_eq!(
            [count("restrictions"), count("consents"), count("erasure_exceptions"), count("request_details")],
            [Some(1), Some(0), Some(0), Some(2)]
        );
        for (entity, id) in [
            (EntityKind::Contacts, person),
            (EntityKind::Interactions, interaction.id),
            (EntityKind::Purchases, purchase.id),
        ] {
            assert!(s.get(entity, id).await.unwrap().is_none(), "{entity:?} erased");
        }
        assert!(s.data_key(person).await.unwrap().is_none(), "the key is destroyed");
        assert!(!s.lift_restriction(person).await.unwrap(), "the restriction went with the person");
        // What is not the person's stays.
        assert!(s.get(EntityKind::Contacts, bystander).await.unwrap().is_some());
        assert!(s.get(EntityKind::Interactions, kept.id).await.unwrap().is_some());
        assert_eq!(s.data_key(bystander).await.unwrap(), Some(key(bystander, "k1")));
        // The address is suppressed; the receipt and the Art. 19 tasks are kept with the request.
        assert!(s.suppressed(&[[9; 16], email]).await.unwrap());
        assert!(!s.suppressed(&[[9; 16]]).await.unwrap());
        assert!(!s.suppressed(&[]).await.unwrap());
        assert_eq!(s.suppressed_among(&[[9; 16], email]).await.unwrap(), [email], "which of many are suppressed");
        assert!(s.suppressed_among(&[]).await.unwrap().is_empty());
        assert_eq!(s.erasure_receipt(ordered.id).await.unwrap(), Some(receipt));
        assert_eq!(s.erasure_receipt(unrelated.id).await.unwrap(), None);
        assert_eq!(s.erasure_notifications(ordered.id).await.unwrap(), order.notifications);
        // The register keeps the requests about the person, without their details or keys.
        for r in [&ordered, &unmatched] {
            let stored = s.dsr(r.id).await.unwrap().expect("the request stays");
            let forgotten =
                DsrRow { erased_at: Some(10), sealed: Vec::new(), given_term: None, version: 2, ..r.clone() };
            assert_eq!(stored, forgotten);
            assert!(s.data_key(r.id).await.unwrap().is_none());
        }
        assert_eq!(s.dsr(unrelated.id).await.unwrap().as_ref(), Some(&unrelated));
        assert_eq!(s.data_key(unrelated.id).await.unwrap(), Some(key(unrelated.id, "k1")));
        // Erased once: the person is gone now. A request carries out one erasure:
        // a second under it fails whole, the bystander and their request untouched.
        assert_eq!(s.erase_person(&order, &sign).await.unwrap(), Erased::Missing);
        let again = ErasureOrder {
            contact_id: bystander,
            suppressions: Vec::new(),
            notifications: Vec::new(),
            ..order.clone()
        };
        assert!(matches!(s.erase_person(&again, &sign).await, Err(StoreError::Duplicate)));
        assert!(s.get(EntityKind::Contacts, bystander).await.unwrap().is_some());
        assert_eq!(s.data_key(bystander).await.unwrap(), Some(key(bystander, "k1")));
        assert_eq!(s.dsr(unrelated.id).await.unwrap().as_ref(), Some(&unrelated));
        // Staff writing on an erased request give it a new key, naming the version erasure left.
        let mut noted = s.dsr(ordered.id).await.unwrap().unwrap();
        (noted.status, noted.completed_at, noted.sealed, noted.updated_at) =
            ("completed".into(), Some(11), vec![7], 11);
        let stale = DsrRow { version: 1, ..noted.clone() };
        assert!(!s.update_dsr(&stale, Some(&key(ordered.id, "k2"))).await.unwrap(), "erasure bumped the version");
        assert!(s.data_key(ordered.id).await.unwrap().is_none(), "the refused update left no key behind");
        assert!(s.update_dsr(&noted, Some(&key(ordered.id, "k2"))).await.unwrap());
        assert_eq!(s.data_key(ordered.id).await.unwrap(), Some(key(ordered.id, "k2")));
        assert_eq!(s.dsr(ordered.id).await.unwrap().map(|r| (r.version, r.sealed)), Some((3, vec![7])));
        // Art. 19 tasks of a rectification: one per recipient, a repeat ignored, only for what exists.
        let rectification = request("rectification", "completed", Some(bystander), 100);
        s.insert_dsr(&rectification, &key(rectification.id, "k1")).await.unwrap();
        let second = ApiKeyRow { id: Uuid::new_v4(), key_hash: vec![7; 32], ..recipient.clone() };
        s.insert_api_key(&second).await.unwrap();
        let tasks = vec![task(rectification.id, recipient.id, 20), task(rectification.id, second.id, 21)];
        s.add_notifications(&tasks).await.unwrap();
        let repeat = NotificationRow { status: "done".into(), created_at: 30, ..tasks[0].clone() };
        s.add_notifications(&[repeat]).await.unwrap();
        assert_eq!(s.erasure_notifications(rectification.id).await.unwrap(), tasks, "the repeat changed nothing");
        let no_key = s.add_notifications(&[task(rectification.id, Uuid::new_v4(), 22)]).await;
        assert!(matches!(no_key, Err(StoreError::UnknownReference("api_keys", _))));
        let no_request = s.add_notifications(&[task(Uuid::new_v4(), recipient.id, 22)]).await;
        assert!(matches!(no_request, Err(StoreError::UnknownReference("dsr_requests", _))));
        assert_eq!(s.erasure_notifications(ordered.id).await.unwrap(), order.notifications);
        engine.cleanup().await;
    }
}
