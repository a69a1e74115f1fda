//! The consent ledger is sealed: a database writer who changes what an
//! entry says, drops or reorders entries, or adds one of their own, makes
//! the person's ledger fail to verify, and then none of its consents
//! counts. Entries written in the same millisecond keep the order written.

use crate::harness::{assert_problem, backends, run_sql, send_as, Server, TestDb};
use kith_store::ConsentRow;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const EMAIL: &str = "marketing.communications.email";

fn consent(granted: bool) -> Value {
    json!({"purpose": EMAIL, "granted": granted, "notice_version": "1", "method": "api"})
}

/// Who the marketing role sees among the people tagged `t`.
async fn marketing_sees(s: &Server, token: &str) -> Vec<String> {
    let (status, page) = send_as(s, token, Method::GET, "/api/v1/contacts?tag=t", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut ids: Vec<String> =
        page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().into()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_changed_outside_kith_grants_nothing_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let mut tokens = std::collections::HashMap::new();
        for role in ["dpo", "marketing"] {
            let (token, row) = kith_server::auth::new_token(role, role, kith_server::now_millis(), None);
            s.store.insert_token(&row).await.unwrap();
            tokens.insert(role, token);
        }
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(
            send_as(&s, &tokens["dpo"], Method::POST, "/api/v1/notices", Some(&notice)).await.0,
            StatusCode::CREATED
        );
        let mut people = std::collections::BTreeMap::new();
        for name in ["flipped", "dropped", "moved", "forged", "untouched"] {
            let id = s.create("contacts", json!({"given_name": name, "tags": ["t"]})).await;
            people.insert(name, id);
        }
        let append = |id: &str, body: Value| {
            let (s, path) = (&s, format!("/api/v1/contacts/{id}/consents"));
            async move { assert_eq!(s.post(&path, &body).await.0, StatusCode::CREATED) }
        };
        // Each ledger ends in the state the tampering below would reverse.
        append(&people["flipped"], consent(true)).await;
        append(&people["flipped"], consent(false)).await;
        append(&people["dropped"], consent(true)).await;
        append(&people["dropped"], consent(false)).await;
        append(
            &people["dropped"],
            json!({"purpose": "analytics.reporting", "granted": true, "notice_version": "1", "method": "api"}),
        )
        .await;
        append(&people["moved"], consent(true)).await;
        append(&people["moved"], consent(false)).await;
        append(&people["untouched"], consent(true)).await;
        assert_eq!(marketing_sees(&s, &tokens["marketing"]).await, vec![people["untouched"].clone()]);

        let forged = Uuid::new_v4();
        run_sql(
            &db,
            "kith.db",
            &[
                &format!("UPDATE consents SET granted = 1 WHERE contact_id = '{}'", people["flipped"]),
                &format!("DELETE FROM consents WHERE contact_id = '{}' AND seq = 2", people["dropped"]),
                &format!("UPDATE consents SET at = at - 60000 WHERE contact_id = '{}' AND granted = 0", people["moved"]),
                &format!(
                    "INSERT INTO consents (id, contact_id, purpose, granted, at, notice_version, method, recorded_by, sealed, seq, mac) \
                     SELECT '{forged}', '{}', purpose, 1, at + 1, notice_version, method, recorded_by, sealed, 1, mac \
                     FROM consents WHERE contact_id = '{}'",
                    people["forged"], people["untouched"]
                ),
            ],
        )
        .await;

        // Only the untouched ledger still counts, and the reads say which do not.
        assert_eq!(marketing_sees(&s, &tokens["marketing"]).await, vec![people["untouched"].clone()]);
        for name in ["flipped", "dropped", "moved", "forged"] {
            let id = &people[name];
            assert_problem(
                &send_as(&s, &tokens["marketing"], Method::GET, &format!("/api/v1/contacts/{id}"), None).await,
                403,
                "no_consent",
            );
            let (status, ledger) =
                send_as(&s, &tokens["dpo"], Method::GET, &format!("/api/v1/contacts/{id}/consents"), None).await;
            assert_eq!(status, StatusCode::OK, "{ledger}");
            assert_eq!(ledger["intact"], false, "{name}: {ledger}");
            assert_eq!(ledger["current"], json!({}), "{name}: nothing in it counts");
        }
        let (_, ledger) = s.get(&format!("/api/v1/contacts/{}/consents", people["untouched"])).await;
        assert_eq!(ledger["intact"], true, "{ledger}");
        assert_eq!(ledger["current"][EMAIL]["granted"], true);
        s.stop().await;
        db.cleanup().await;
    }
}

/// Notice "1", which the entries below name.
async fn add_notice(s: &Server) {
    let notice =
        kith_store::NoticeRow { version: "1".into(), text: "Notice".into(), sha256: "0".repeat(64), created_at: 0 };
    s.store.add_notice(&notice).await.unwrap();
}

fn entry(contact: Uuid, id: Uuid, granted: bool, at: i64) -> ConsentRow {
    ConsentRow {
        id,
        contact_id: contact,
        purpose: EMAIL.into(),
        granted,
        at,
        notice_version: "1".into(),
        method: "api".into(),
        recorded_by: "t".into(),
        sealed: vec![1],
        seq: 0,
        mac: Vec::new(),
    }
}

/// A grant and a withdrawal in the same millisecond: the one written last
/// decides, whatever their ids; before, a random id broke the tie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_of_one_millisecond_keep_the_order_written_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let contact = Uuid::parse_str(&s.create("contacts", json!({"given_name": "Same"})).await).unwrap();
        add_notice(&s).await;
        let seal = kith_server::consent_seal::sealer(&s.keys);
        let at = kith_server::now_millis();
        let (high, low) = (Uuid::from_u128(u128::MAX - 1), Uuid::from_u128(1));
        let first = s.store.append_consent(&entry(contact, high, true, at), &*seal).await.unwrap();
        let second = s.store.append_consent(&entry(contact, low, false, at), &*seal).await.unwrap();
        assert_eq!((first.seq, second.seq), (1, 2));
        let ledger = s.store.consents(contact, &*seal).await.unwrap();
        assert!(ledger.intact);
        assert_eq!(ledger.entries.iter().map(|e| e.id).collect::<Vec<_>>(), vec![high, low]);
        let status = s.store.statuses(&[contact], &*seal).await.unwrap().remove(&contact).unwrap();
        assert_eq!(status.consents.get(EMAIL), Some(&false), "the withdrawal, written last, decides");
        // A seal made with another key does not verify.
        let inner = kith_server::consent_seal::sealer(&s.keys);
        let other = move |e: &ConsentRow, previous: &[u8]| {
            let mut mac = inner(e, previous);
            mac[0] ^= 1;
            mac
        };
        assert!(!s.store.consents(contact, &other).await.unwrap().intact);
        assert!(s.store.statuses(&[contact], &other).await.unwrap()[&contact].consents.is_empty());
        s.stop().await;
        db.cleanup().await;
    }
}

/// Entries from before ledgers were sealed are sealed when the database is
/// first opened, once: an unsealed entry after that is never sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_from_before_the_seal_are_sealed_once_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let contact = s.create("contacts", json!({"given_name": "Legacy"})).await;
        let id = Uuid::parse_str(&contact).unwrap();
        add_notice(&s).await;
        let seal = kith_server::consent_seal::sealer(&s.keys);
        s.store.append_consent(&entry(id, Uuid::new_v4(), true, 1), &*seal).await.unwrap();
        s.store.append_consent(&entry(id, Uuid::new_v4(), false, 2), &*seal).await.unwrap();
        let unseal = ["UPDATE consents SET mac = NULL", "DELETE FROM settings WHERE name = 'consent_ledger_sealed'"];
        run_sql(&db, "kith.db", &unseal).await;
        assert!(!s.store.consents(id, &*seal).await.unwrap().intact, "unsealed entries do not count");
        assert_eq!(kith_server::consent_seal::seal_legacy_entries(&s.store, &s.keys).await.unwrap(), 2);
        let ledger = s.store.consents(id, &*seal).await.unwrap();
        assert!(ledger.intact);
        assert_eq!(ledger.entries.iter().map(|e| e.granted).collect::<Vec<_>>(), vec![true, false]);

        run_sql(&db, "kith.db", &["UPDATE consents SET mac = NULL, granted = 1"]).await;
        assert_eq!(kith_server::consent_seal::seal_legacy_entries(&s.store, &s.keys).await.unwrap(), 0, "only once");
        assert!(!s.store.consents(id, &*seal).await.unwrap().intact);
        s.stop().await;
        db.cleanup().await;
    }
}
