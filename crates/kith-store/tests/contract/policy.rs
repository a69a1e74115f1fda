//! The consent ledger: numbered, verified, and what statuses follow from it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_numbers_and_verifies_and_statuses_follow_it() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        s.insert(contact(id, 1), Some(key(id, "k1"))).await.unwrap();
        let notice = NoticeRow { version: "1".into(), text: "Notice".into(), sha256: "0".repeat(64), created_at: 0 };
        s.add_notice(&notice).await.unwrap();
        assert!(matches!(s.add_notice(&notice).await, Err(StoreError::Duplicate)), "a notice never changes");
        // A seal that chains: the previous MAC and the entry's number.
        let seal = |e: &ConsentRow, previous: &[u8]| {
            let mut mac = previous.to_vec();
            mac.extend_from_slice(&e.seq.to_be_bytes());
            mac.push(u8::from(e.granted));
            mac
        };
        let entry = |granted: bool| ConsentRow {
            id: Uuid::new_v4(),
            contact_id: id,
            purpose: "marketing".into(),
            granted,
            at: 5,
            notice_version: "1".into(),
            method: "api".into(),
            recorded_by: "t".into(),
            sealed: vec![1],
            seq: 0,
            mac: Vec::new(),
        };
        for granted in [true, false, true] {
            s.append_consent(&entry(granted), &seal).await.unwrap();
        }
        let ledger = s.consents(id, &seal).await.unwrap();
        assert!(ledger.intact);
        assert_eq!(ledger.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        let status = s.statuses(&[id], &seal).await.unwrap().remove(&id).unwrap();
        assert_eq!(status.consents.get("marketing"), Some(&true));
        // Restriction, objection and a legal claim show in the status.
        s.restrict(id, 6, "dpo").await.unwrap();
        s.object(Uuid::new_v4(), id, "profiling", 7, "dpo").await.unwrap();
        let status = s.statuses(&[id], &seal).await.unwrap().remove(&id).unwrap();
        assert!(status.restricted && status.objections.contains("profiling"));
        assert!(s.lift_restriction(id).await.unwrap());
        assert!(!s.lift_restriction(id).await.unwrap());
        // Writes about a person who does not exist change nothing.
        let stranger = Uuid::new_v4();
        assert!(matches!(s.restrict(stranger, 1, "dpo").await, Err(StoreError::UnknownReference(..))));
        let mut lost = entry(true);
        lost.contact_id = stranger;
        assert!(matches!(s.append_consent(&lost, &seal).await, Err(StoreError::UnknownReference(..))));
        engine.cleanup().await;
    }
}
