//! Retention: each person's facts (times and names, no value) and the
//! records of a category past a date.

use super::erasure::about;
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_reads_each_persons_facts_and_the_records_past_a_date() {
    for engine in engines().await {
        let s = &engine.store;
        let (busy, quiet) = (Uuid::new_v4(), Uuid::new_v4());
        s.insert(contact(busy, 5), Some(key(busy, "k1"))).await.unwrap();
        s.insert(contact(quiet, 7), Some(key(quiet, "k1"))).await.unwrap();
        let interaction = about(EntityKind::Interactions, busy);
        let purchase = about(EntityKind::Purchases, busy);
        s.insert_batch(vec![(interaction.clone(), None), (purchase.clone(), None)]).await.unwrap();
        s.object(Uuid::new_v4(), busy, "sales", 9, "dpo").await.unwrap();
        let hold = ErasureExceptionRow {
            id: Uuid::new_v4(),
            contact_id: quiet,
            ground: "legal_claims".into(),
            at: 9,
            recorded_by: "dpo".into(),
            sealed: vec![1],
        };
        s.add_erasure_exception(&hold).await.unwrap();

        let mut facts = s.retention_facts(None, 10).await.unwrap();
        facts.sort_by_key(|(id, _)| *id != busy);
        assert_eq!(facts.len(), 2);
        let (id, busy_facts) = &facts[0];
        assert_eq!(*id, busy);
        // `about` dates its records at 1 (the sortable columns).
        assert_eq!(
            (busy_facts.last_interaction, busy_facts.last_purchase, busy_facts.last_deal),
            (Some(1), Some(1), None)
        );
        assert_eq!(busy_facts.objected, vec!["sales".to_string()]);
        assert!(!busy_facts.held && facts[1].1.held);
        assert_eq!(facts[1].1.last_interaction, None);
        // Paged by id.
        let first = s.retention_facts(None, 1).await.unwrap();
        let rest = s.retention_facts(Some(first[0].0), 10).await.unwrap();
        assert_eq!(first.len() + rest.len(), 2);
        assert!(rest.iter().all(|(id, _)| *id > first[0].0));

        assert_eq!(s.expired_records(EntityKind::Interactions, 2, 10).await.unwrap(), vec![interaction.id]);
        assert!(s.expired_records(EntityKind::Interactions, 1, 10).await.unwrap().is_empty(), "strictly before");
        assert_eq!(s.expired_records(EntityKind::Purchases, 2, 10).await.unwrap(), vec![purchase.id]);
        assert!(matches!(s.expired_records(EntityKind::Contacts, 2, 10).await, Err(StoreError::Corrupt(_))));
        engine.cleanup().await;
    }
}
