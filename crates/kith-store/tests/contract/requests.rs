//! The data-subject request register and archive links.

use super::*;

pub(crate) fn request(kind: &str, status: &str, contact: Option<Uuid>, due_at: i64) -> DsrRow {
    DsrRow {
        id: Uuid::new_v4(),
        kind: kind.into(),
        status: status.into(),
        channel: "portal".into(),
        contact_id: contact,
        purpose: None,
        received_at: 1,
        due_at,
        extended_months: 0,
        person_told_at: None,
        verified_at: None,
        verification_method: None,
        failed_attempts: 0,
        token_hash: None,
        token_expires_at: None,
        completed_at: None,
        closed_at: None,
        created_by: "dpo".into(),
        created_at: 1,
        updated_at: 1,
        version: 1,
        sealed: vec![3],
        given_term: None,
        erased_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_register_lists_by_due_date_and_refuses_stale_updates() {
    for engine in engines().await {
        let s = &engine.store;
        let person = Uuid::new_v4();
        // Every column round-trips, the optional ones too; the request has a key of its own.
        let mut objection = request("objection", "identity_verification", Some(person), 300);
        objection.purpose = Some("marketing".into());
        (objection.failed_attempts, objection.token_hash, objection.token_expires_at) =
            (2, Some(vec![8; 32]), Some(50));
        objection.given_term = Some(vec![4; 16]);
        s.insert_dsr(&objection, &key(objection.id, "k1")).await.unwrap();
        assert_eq!(s.dsr(objection.id).await.unwrap(), Some(objection.clone()));
        assert_eq!(s.data_key(objection.id).await.unwrap(), Some(key(objection.id, "k1")));
        assert!(matches!(s.insert_dsr(&objection, &key(objection.id, "k1")).await, Err(StoreError::Duplicate)));
        let stray = request("access", "received", None, 1);
        assert!(matches!(s.insert_dsr(&stray, &key(person, "k1")).await, Err(StoreError::Corrupt(_))), "not its key");
        assert!(s.dsr(stray.id).await.unwrap().is_none());
        assert!(s.data_key(person).await.unwrap().is_none());
        // More requests: two due at the same time (then in id order), one about someone else.
        let access = request("access", "received", Some(person), 100);
        let erasure = request("erasure", "completed", Some(person), 200);
        let unmatched = request("erasure", "received", None, 200);
        let other = request("access", "in_progress", Some(Uuid::new_v4()), 400);
        for r in [&access, &erasure, &unmatched, &other] {
            s.insert_dsr(r, &key(r.id, "k1")).await.unwrap();
        }
        let mut ordered = vec![objection.clone(), access.clone(), erasure.clone(), unmatched.clone(), other.clone()];
        ordered.sort_by_key(|r| (r.due_at, r.id));
        let ids = |rows: &[DsrRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        let all = DsrQuery { limit: 10, ..Default::default() };
        assert_eq!(s.dsrs(&all).await.unwrap(), ordered);
        let listed = |query: DsrQuery| async move { ids(&s.dsrs(&query).await.unwrap()) };
        assert_eq!(
            listed(DsrQuery { contact: Some(person), ..all.clone() }).await,
            vec![access.id, erasure.id, objection.id]
        );
        let open = vec!["received".to_string(), "in_progress".to_string()];
        let mut received = vec![access.id, unmatched.id, other.id];
        assert_eq!(listed(DsrQuery { statuses: open.clone(), ..all.clone() }).await, received);
        let both = DsrQuery { contact: Some(person), statuses: open.clone(), ..all.clone() };
        assert_eq!(listed(both).await, vec![access.id]);
        let window = DsrQuery { due_from: Some(200), due_to: Some(400), ..all.clone() };
        assert_eq!(listed(window).await, ids(&ordered[1..4]), "from inclusive, to exclusive");
        assert_eq!(listed(DsrQuery { limit: 2, ..all.clone() }).await, ids(&ordered[..2]));
        // Pages of two, each after the last one seen, cover the register once, in order.
        let (mut seen, mut after) = (Vec::new(), None);
        loop {
            let page = s.dsrs(&DsrQuery { after, limit: 2, ..all.clone() }).await.unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some((last.due_at, last.id));
            seen.extend(ids(&page));
        }
        assert_eq!(seen, ids(&ordered));
        // Latest due first, and backwards after the last one seen.
        let mut reversed = ids(&ordered);
        reversed.reverse();
        let latest = DsrQuery { latest_first: true, ..all.clone() };
        assert_eq!(listed(latest.clone()).await, reversed);
        let after = Some((ordered[4].due_at, ordered[4].id));
        assert_eq!(listed(DsrQuery { after, limit: 2, ..latest }).await, reversed[1..3].to_vec());
        // An update names the version it read and bumps it; only the changing columns change.
        let mut done = s.dsr(access.id).await.unwrap().unwrap();
        (done.status, done.verified_at, done.verification_method) =
            ("completed".into(), Some(40), Some("staff_attestation".into()));
        (done.due_at, done.extended_months, done.person_told_at) = (1_000, 1, Some(45));
        (done.completed_at, done.closed_at, done.updated_at, done.sealed) = (Some(50), Some(50), 50, vec![4, 5]);
        done.kind = "erasure".into();
        assert!(s.update_dsr(&done, None).await.unwrap());
        let stored = s.dsr(access.id).await.unwrap().unwrap();
        assert_eq!(stored, DsrRow { version: 2, kind: "access".into(), ..done.clone() }, "the kind never changes");
        // A stale version, or a request that does not exist, changes nothing.
        assert!(!s.update_dsr(&DsrRow { status: "refused".into(), ..done.clone() }, None).await.unwrap());
        assert_eq!(s.dsr(access.id).await.unwrap().as_ref(), Some(&stored));
        assert!(!s.update_dsr(&request("access", "received", None, 1), None).await.unwrap());
        // Only a request whose key erasure destroyed is given a new one.
        assert!(!s.update_dsr(&stored, Some(&key(access.id, "k2"))).await.unwrap());
        assert_eq!(s.data_key(access.id).await.unwrap(), Some(key(access.id, "k1")));
        assert_eq!(s.dsr(access.id).await.unwrap().map(|r| r.version), Some(2));
        received.retain(|id| *id != access.id);
        assert_eq!(listed(DsrQuery { statuses: open, ..all.clone() }).await, received, "listed as it is now");
        // An archive link works once, for its own request, until it expires.
        s.insert_export_link(access.id, &[1; 32], 60, 1_000).await.unwrap();
        s.insert_export_link(access.id, &[2; 32], 60, 100).await.unwrap();
        assert!(matches!(s.insert_export_link(access.id, &[1; 32], 60, 1_000).await, Err(StoreError::Duplicate)));
        let unknown = s.insert_export_link(Uuid::new_v4(), &[3; 32], 60, 1_000).await;
        assert!(matches!(unknown, Err(StoreError::UnknownReference("dsr_requests", _))));
        let link = ExportLinkRow { request_id: access.id, expires_at: 1_000, used_at: None };
        assert_eq!(s.export_link(&[1; 32]).await.unwrap(), Some(link.clone()));
        assert_eq!(s.last_export(access.id).await.unwrap(), None);
        assert!(!s.use_export_link(other.id, &[1; 32], 70).await.unwrap(), "another request's link");
        assert!(s.use_export_link(access.id, &[1; 32], 70).await.unwrap());
        assert!(!s.use_export_link(access.id, &[1; 32], 71).await.unwrap(), "used already");
        assert!(!s.use_export_link(access.id, &[2; 32], 100).await.unwrap(), "expired");
        assert_eq!(s.export_link(&[1; 32]).await.unwrap(), Some(ExportLinkRow { used_at: Some(70), ..link }));
        assert_eq!(s.last_export(access.id).await.unwrap(), Some(70));
        engine.cleanup().await;
    }
}
