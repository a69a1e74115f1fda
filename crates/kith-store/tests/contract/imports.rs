//! Imports: jobs, the questions asked of many rows, batches written whole.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_jobs_are_kept_and_changed() {
    for engine in engines().await {
        let s = &engine.store;
        let job = |id, at| ImportJobRow {
            id,
            created_by: "alice".into(),
            created_at: at,
            updated_at: at,
            status: "running".into(),
            document: "{}".into(),
        };
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        s.insert_import(&job(first, 1)).await.unwrap();
        s.insert_import(&job(second, 2)).await.unwrap();
        assert!(matches!(s.insert_import(&job(first, 3)).await, Err(StoreError::Duplicate)));
        let done = ImportJobRow {
            status: "completed".into(),
            document: r#"{"created":3}"#.into(),
            updated_at: 9,
            ..job(first, 1)
        };
        assert!(s.update_import(&done).await.unwrap());
        assert_eq!(s.import_job(first).await.unwrap(), Some(done));
        assert!(!s.update_import(&job(Uuid::new_v4(), 1)).await.unwrap());
        let listed: Vec<Uuid> = s.import_jobs(10, None).await.unwrap().into_iter().map(|j| j.id).collect();
        assert_eq!(listed, [second, first], "the most recent first");
        assert_eq!(s.import_jobs(1, None).await.unwrap().len(), 1);
        let bobs = ImportJobRow { id: Uuid::new_v4(), created_by: "bob".into(), ..job(Uuid::nil(), 9) };
        s.insert_import(&bobs).await.unwrap();
        assert_eq!(s.import_jobs(10, Some("alice")).await.unwrap().len(), 2, "only alice's");
        assert_eq!(s.import_jobs(1, Some("bob")).await.unwrap()[0].id, bobs.id);
        engine.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_first_consents_is_written_whole_or_not_at_all() {
    for engine in engines().await {
        let s = &engine.store;
        s.add_notice(&NoticeRow { version: "1".into(), text: "N".into(), sha256: "0".repeat(64), created_at: 0 })
            .await
            .unwrap();
        let seal = |e: &ConsentRow, previous: &[u8]| {
            let mut mac = previous.to_vec();
            mac.extend_from_slice(&e.seq.to_be_bytes());
            mac
        };
        let entry = |contact| ConsentRow {
            id: Uuid::new_v4(),
            contact_id: contact,
            purpose: "marketing".into(),
            granted: true,
            at: 5,
            notice_version: "1".into(),
            method: "import".into(),
            recorded_by: "alice".into(),
            sealed: vec![1],
            seq: 0,
            mac: Vec::new(),
        };
        let with_term = |id, term: [u8; 16]| NewRecord { terms: vec![term], ..contact(id, 1) };
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let batch = vec![(with_term(a, [1; 16]), Some(key(a, "k1"))), (with_term(b, [2; 16]), Some(key(b, "k1")))];
        s.insert_with_consents(batch, &[entry(a), entry(b)], &seal).await.unwrap();
        let ledger = s.consents(a, &seal).await.unwrap();
        assert!(ledger.intact);
        assert_eq!((ledger.entries.len(), ledger.entries[0].seq, ledger.entries[0].method.as_str()), (1, 1, "import"));

        let mut found = s.indexed(EntityKind::Contacts, &[[1; 16], [2; 16], [3; 16]]).await.unwrap();
        found.sort();
        let mut expected = vec![([1; 16], a), ([2; 16], b)];
        expected.sort();
        assert_eq!(found, expected);
        assert!(s.indexed(EntityKind::Companies, &[[1; 16]]).await.unwrap().is_empty(), "terms are per kind");

        // A first entry about someone outside the batch is refused.
        let c = Uuid::new_v4();
        let record = || vec![(with_term(c, [4; 16]), Some(key(c, "k1")))];
        let stranger = s.insert_with_consents(record(), &[entry(Uuid::new_v4())], &seal).await;
        assert!(matches!(stranger, Err(StoreError::UnknownReference("contacts", _))));
        // A batch that breaks midway (the same entry twice, after the records) leaves nothing behind.
        let twice = entry(c);
        assert!(s.insert_with_consents(record(), &[twice.clone(), twice], &seal).await.is_err());
        assert!(s.get(EntityKind::Contacts, c).await.unwrap().is_none());
        assert!(s.indexed(EntityKind::Contacts, &[[4; 16]]).await.unwrap().is_empty());
        engine.cleanup().await;
    }
}
