//! Settings, records and their keys, and key rotation.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_keep_the_first_value_until_set() {
    for engine in engines().await {
        let s = &engine.store;
        assert_eq!(s.setting("colour").await.unwrap(), None);
        assert_eq!(s.init_setting("colour", "blue").await.unwrap(), "blue");
        assert_eq!(s.init_setting("colour", "red").await.unwrap(), "blue", "init keeps the first value");
        s.set_setting("colour", "green").await.unwrap();
        assert_eq!(s.setting("colour").await.unwrap().as_deref(), Some("green"));
        s.ping().await.unwrap();
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_lives_and_dies_with_its_key() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        s.insert(contact(id, 1), Some(key(id, "k1"))).await.unwrap();
        assert!(matches!(s.insert(contact(id, 1), Some(key(id, "k1"))).await, Err(StoreError::Duplicate)));
        let stored = s.get(EntityKind::Contacts, id).await.unwrap().expect("stored");
        assert_eq!(
            (stored.version, stored.sealed.clone(), stored.owner.as_deref()),
            (1, vec![1, 2, 3], Some("owner-1"))
        );
        assert_eq!(stored.key, Some(key(id, "k1")));
        // An update names the version it read; a stale one changes nothing.
        let mut changed = contact(id, 1);
        changed.sealed = vec![9];
        let stale = RecordUpdate { record: changed.clone(), expected_version: 7, updated_at: 2 };
        assert!(matches!(s.update(stale, None).await, Err(StoreError::VersionConflict)));
        s.update(RecordUpdate { record: changed, expected_version: 1, updated_at: 2 }, None).await.unwrap();
        let stored = s.get(EntityKind::Contacts, id).await.unwrap().unwrap();
        assert_eq!((stored.version, stored.sealed), (2, vec![9]));
        // Deleting the row deletes its key; a second delete finds nothing.
        assert!(s.delete(EntityKind::Contacts, id).await.unwrap());
        assert!(s.get(EntityKind::Contacts, id).await.unwrap().is_none());
        assert!(s.data_key(id).await.unwrap().is_none());
        assert!(!s.delete(EntityKind::Contacts, id).await.unwrap());
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_rewraps_each_key_once() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        s.insert(contact(id, 1), Some(key(id, "k1"))).await.unwrap();
        assert_eq!(s.count_keys_not_under("k1").await.unwrap(), 0);
        assert_eq!(s.count_keys_not_under("k2").await.unwrap(), 1);
        let listed = s.keys_after(None, 10).await.unwrap();
        assert_eq!(listed, vec![key(id, "k1")]);
        assert!(s.rewrap(&key(id, "k1"), &key(id, "k2")).await.unwrap());
        assert!(!s.rewrap(&key(id, "k1"), &key(id, "k2")).await.unwrap(), "the old key is gone");
        assert_eq!(s.count_keys_not_under("k2").await.unwrap(), 0);
        assert_eq!(s.data_key(id).await.unwrap(), Some(key(id, "k2")));
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_rows_give_the_clear_columns_of_the_owners_records_and_nothing_sealed() {
    for engine in engines().await {
        let s = &engine.store;
        let person = Uuid::new_v4();
        s.insert(contact(person, 1), Some(key(person, "k1"))).await.unwrap();
        let purchase = |owner: &str, total: i64| {
            let columns = vec![
                ClearValue::Text(person.to_string()),
                ClearValue::Null,
                ClearValue::Text("EUR".into()),
                ClearValue::Int(total),
                ClearValue::Int(1_700_000_000_000),
            ];
            NewRecord {
                entity: EntityKind::Purchases,
                id: Uuid::new_v4(),
                subject_id: person,
                owner: Some(owner.into()),
                created_at: 5,
                sealed: vec![9; 8],
                columns,
                terms: Vec::new(),
                references: vec![(EntityKind::Contacts, person)],
            }
        };
        let (mine, theirs) = (purchase("ann", 25_000), purchase("bob", 7));
        s.insert_batch(vec![(mine.clone(), None), (theirs.clone(), None)]).await.unwrap();
        let all = s.clear_rows(EntityKind::Purchases, None).await.unwrap();
        assert_eq!(all.len(), 2);
        let anns = s.clear_rows(EntityKind::Purchases, Some(&["ann".to_string()])).await.unwrap();
        assert_eq!(anns.len(), 1);
        let row = &anns[0];
        assert_eq!((row.id, row.subject_id, row.owner.as_deref(), row.created_at), (mine.id, person, Some("ann"), 5));
        assert_eq!(row.columns, mine.columns, "every clear column, in order");
        assert!(s.clear_rows(EntityKind::Purchases, Some(&[])).await.unwrap().is_empty(), "no owner reaches nothing");
        assert_eq!(s.clear_rows(EntityKind::Contacts, None).await.unwrap()[0].columns, vec![ClearValue::Null]);
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_terms_name_the_records_two_to_a_few_hold() {
    for engine in engines().await {
        let s = &engine.store;
        let with = |terms: Vec<[u8; 16]>| {
            let id = Uuid::new_v4();
            (NewRecord { terms, ..contact(id, 1) }, Some(key(id, "k1")))
        };
        let (a, b, c, d) = (
            with(vec![[1; 16], [9; 16]]),
            with(vec![[1; 16], [9; 16]]),
            with(vec![[9; 16]]),
            with(vec![[9; 16], [5; 16]]),
        );
        let (a_id, b_id) = (a.0.id, b.0.id);
        s.insert_batch(vec![a, b, c, d]).await.unwrap();
        let shared = s.shared_terms(EntityKind::Contacts, 3).await.unwrap();
        let mut expected = vec![([1; 16], a_id), ([1; 16], b_id)];
        expected.sort();
        assert_eq!(shared, expected, "a term of four records is too common; one of one is not shared");
        assert_eq!(s.shared_terms(EntityKind::Contacts, 4).await.unwrap().len(), 6);
        assert!(s.shared_terms(EntityKind::Companies, 3).await.unwrap().is_empty());
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_is_whole_or_nothing_and_never_absorbs_a_held_person() {
    for engine in engines().await {
        let s = &engine.store;
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        s.insert(contact(a, 1), Some(key(a, "k1"))).await.unwrap();
        s.insert(contact(b, 1), Some(key(b, "k1"))).await.unwrap();
        let seal = |e: &ConsentRow, previous: &[u8]| {
            let mut mac = previous.to_vec();
            mac.extend_from_slice(&e.seq.to_be_bytes());
            mac
        };
        let order = |absorbed_version: i64| MergeOrder {
            survivor: RecordUpdate { record: contact(a, 1), expected_version: 1, updated_at: 5 },
            absorbed: b,
            absorbed_version,
            into_held: false,
            at: 9,
            moved: Vec::new(),
            ledger: Vec::new(),
        };
        // A stale read of the absorbed person changes nothing.
        assert!(matches!(s.merge_people(&order(7), &seal).await, Err(StoreError::VersionConflict)));
        assert!(s.get(EntityKind::Contacts, b).await.unwrap().is_some());
        assert_eq!(s.get(EntityKind::Contacts, a).await.unwrap().unwrap().version, 1);
        // A person under a legal hold is never absorbed.
        let hold = ErasureExceptionRow {
            id: Uuid::new_v4(),
            contact_id: b,
            ground: "legal_claims".into(),
            at: 2,
            recorded_by: "dpo".into(),
            sealed: vec![1],
        };
        s.add_erasure_exception(&hold).await.unwrap();
        assert_eq!(s.merge_people(&order(1), &seal).await.unwrap(), Merged::Held);
        assert!(s.data_key(b).await.unwrap().is_some());
        s.lift_erasure_exceptions(b).await.unwrap();
        // Then it goes, with its key; the survivor stays, rewritten.
        assert_eq!(s.merge_people(&order(1), &seal).await.unwrap(), Merged::Done);
        assert!(s.get(EntityKind::Contacts, b).await.unwrap().is_none());
        assert!(s.data_key(b).await.unwrap().is_none());
        assert_eq!(s.get(EntityKind::Contacts, a).await.unwrap().unwrap().version, 2);
        let ledger = s.erasure_ledger().await.unwrap();
        assert!(ledger.iter().any(|e| e.subject_id == b && e.terms.is_empty()), "a restore replays it");
        engine.cleanup().await;
    }
}
