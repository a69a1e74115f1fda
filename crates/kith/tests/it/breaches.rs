//! The breach register: the 72-hour clock, the people a leaked credential
//! reached computed from the audit log (exactly those, no others), the
//! Art. 33(3) and Art. 34 drafts, notices through the outbox, phases, and
//! a candidate opened from an alert; bad input changes nothing.

use crate::harness::{assert_problem, backends, send_as, token_for, Server, TestDb};
use kith_store::AlertRow;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn time(millis: i64) -> String {
    kith_server::clock::rfc3339_millis(millis)
}

const HOUR: i64 = 3_600_000;

async fn open(s: &Server, dpo: &str, body: Value) -> Value {
    let (status, made) = send_as(s, dpo, Method::POST, "/api/v1/breaches", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

fn description(aware_at: i64) -> Value {
    json!({"title": "Sales token published in a public repository", "aware_at": time(aware_at),
           "nature": "An API token of the sales team was committed to a public code repository.",
           "data_categories": ["user.contact.email", "user.name"], "subject_categories": ["customer"],
           "consequences": "Phishing e-mails to the people whose details were read.",
           "measures_taken": "The token was revoked within an hour.",
           "measures_proposed": "Be wary of e-mails asking for payment details.",
           "risk": "high_risk"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_from_its_clock_to_the_notices_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let details = json!({"controller": {"name": "Kith Shop GmbH", "email": "privacy@shop.example"},
                             "dpo": {"name": "Dora Data", "email": "dpo@shop.example"}});
        assert_eq!(send_as(&s, &dpo, Method::PUT, "/api/v1/controller", Some(&details)).await.0, StatusCode::OK);

        // The leaked token reads Ann and Ben (and Ann's call), is refused
        // Dan (restricted); another token reads Cai. Only Ann and Ben count.
        let start = kith_server::now_millis();
        let person =
            |name: &str| json!({"given_name": name, "emails": [format!("{}@example.org", name.to_lowercase())]});
        let (ann, ben) = (s.create("contacts", person("Ann")).await, s.create("contacts", person("Ben")).await);
        let (cai, dan) = (s.create("contacts", person("Cai")).await, s.create("contacts", person("Dan")).await);
        let call = s
            .create("interactions", json!({"contact_id": ann, "kind": "call", "occurred_at": "2026-11-30T10:00:00Z"}))
            .await;
        assert_eq!(
            send_as(&s, &dpo, Method::POST, &format!("/api/v1/contacts/{dan}/restriction"), None).await.0,
            StatusCode::OK
        );
        let (leaked, row) = kith_server::auth::new_token("leaked", "sales", kith_server::now_millis(), None);
        s.store.insert_token(&row).await.unwrap();
        for path in [
            format!("/api/v1/contacts/{ann}"),
            format!("/api/v1/contacts/{ben}"),
            format!("/api/v1/interactions/{call}"),
        ] {
            assert_eq!(send_as(&s, &leaked, Method::GET, &path, None).await.0, StatusCode::OK, "{path}");
        }
        assert_eq!(
            send_as(&s, &leaked, Method::GET, &format!("/api/v1/contacts/{dan}"), None).await.0,
            StatusCode::FORBIDDEN
        );
        let other = token_for(&s, "sales").await;
        assert_eq!(send_as(&s, &other, Method::GET, &format!("/api/v1/contacts/{cai}"), None).await.0, StatusCode::OK);

        // Aware an hour ago: due 71 hours from now, open.
        let aware = kith_server::now_millis() - HOUR;
        let breach = open(&s, &dpo, description(aware)).await;
        assert_eq!(breach["authority_due_at"], time(aware + 72 * HOUR));
        assert_eq!((breach["clock"].clone(), breach["status"].clone()), (json!("open"), json!("open")));
        assert_eq!(
            (breach["authority_notification_due"].clone(), breach["people_notification_due"].clone()),
            (json!(true), json!(true))
        );
        let id = breach["id"].as_str().unwrap().to_string();

        // The people the leaked token reached, exactly.
        let scope =
            json!({"token_id": row.id, "from": time(start - 1000), "to": time(kith_server::now_millis() + 60_000)});
        let (status, found) =
            send_as(&s, &dpo, Method::POST, &format!("/api/v1/breaches/{id}/affected"), Some(&scope)).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let mut ids: Vec<&str> = found["subject_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        ids.sort();
        let mut expected = vec![ann.as_str(), ben.as_str()];
        expected.sort();
        assert_eq!(ids, expected, "{found}");
        assert_eq!(found["by_category"]["interactions"], 1, "{found}");
        assert_eq!(found["by_category"]["identity"], 2, "{found}");
        assert!(!found.to_string().contains("ann@example.org"), "ids and counts, no value");
        // A network the reads did not come from reaches no one; the loopback does.
        let mut elsewhere = scope.clone();
        elsewhere["network"] = json!("192.0.2.0/24");
        let (_, none) =
            send_as(&s, &dpo, Method::POST, &format!("/api/v1/breaches/{id}/affected"), Some(&elsewhere)).await;
        assert_eq!(none["people"], 0, "{none}");
        let mut loopback = scope.clone();
        loopback["network"] = json!("127.0.0.1");
        let (_, again) =
            send_as(&s, &dpo, Method::POST, &format!("/api/v1/breaches/{id}/affected"), Some(&loopback)).await;
        assert_eq!(again["people"], 2, "{again}");
        let mut calls_only = scope.clone();
        calls_only["entity"] = json!("interactions");
        let (_, calls) =
            send_as(&s, &dpo, Method::POST, &format!("/api/v1/breaches/{id}/affected"), Some(&calls_only)).await;
        assert_eq!(calls["subject_ids"], json!([ann]), "{calls}");
        let (_, kept) = send_as(&s, &dpo, Method::POST, &format!("/api/v1/breaches/{id}/affected"), Some(&scope)).await;
        assert_eq!(kept["people"], 2);

        // The authority's draft holds every Art. 33(3) item.
        let (status, draft) =
            send_as(&s, &dpo, Method::GET, &format!("/api/v1/breaches/{id}/notifications/authority"), None).await;
        assert_eq!(status, StatusCode::OK, "{draft}");
        assert_eq!(draft["affected"]["people"], 2);
        assert_eq!(draft["contact"], "Dora Data, dpo@shop.example");
        for (field, value) in [
            ("nature", "committed to a public code repository"),
            ("consequences", "Phishing"),
            ("measures_taken", "revoked"),
            ("measures_proposed", "Be wary"),
        ] {
            assert!(draft[field].as_str().unwrap().contains(value), "{field}: {draft}");
        }
        let md = draft["markdown"].as_str().unwrap();
        for item in [
            "Nature of the breach (Art. 33(3)(a))",
            "Categories of data subjects: customer",
            "Approximate number of data subjects: 2",
            "Categories of personal data",
            "records:",
            "Dora Data, dpo@shop.example",
            "Likely consequences (Art. 33(3)(c))",
            "Measures (Art. 33(3)(d))",
        ] {
            assert!(md.contains(item), "{item}:\n{md}");
        }

        // The notice to each person goes through the outbox; taking it is sending it.
        let people = format!("/api/v1/breaches/{id}/notifications/people");
        let (_, notice) = send_as(&s, &dpo, Method::GET, &people, None).await;
        assert_eq!((notice["due"].clone(), notice["people"].clone()), (json!(true), json!(2)), "{notice}");
        assert!(notice["text"].as_str().unwrap().contains("Dora Data"), "{notice}");
        let (status, queued) = send_as(&s, &dpo, Method::POST, &people, None).await;
        assert_eq!((status, queued["queued"].clone()), (StatusCode::OK, json!(2)), "{queued}");
        let (_, twice) = send_as(&s, &dpo, Method::POST, &people, None).await;
        assert_eq!((twice["queued"].clone(), twice["already"].clone()), (json!(0), json!(2)), "once per person");
        let (_, claimed) = send_as(&s, &dpo, Method::POST, "/api/v1/outbox/claim", None).await;
        let mut to: Vec<&str> =
            claimed["items"].as_array().unwrap().iter().map(|m| m["to"].as_str().unwrap()).collect();
        to.sort();
        assert_eq!(to, ["ann@example.org", "ben@example.org"], "{claimed}");
        let (_, notice) = send_as(&s, &dpo, Method::GET, &people, None).await;
        assert!(notice["items"].as_array().unwrap().iter().all(|n| n["sent_at"].is_string()), "{notice}");

        // Notified after the deadline: only with the reasons for the delay.
        let late = json!({"authority_notified_at": time(kith_server::now_millis())});
        let path = format!("/api/v1/breaches/{id}");
        let mut past = description(kith_server::now_millis() - 80 * HOUR);
        past["title"] = json!("Backup disk lost in transit");
        let overdue = open(&s, &dpo, past).await;
        assert_eq!(overdue["clock"], "overdue", "{overdue}");
        let checks = |report: &Value| -> Vec<String> {
            report["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap().to_string()).collect()
        };
        let (_, report) = send_as(&s, &dpo, Method::GET, "/api/v1/doctor", None).await;
        assert!(checks(&report).contains(&"overdue_breaches".to_string()), "{report}");
        let overdue_path = format!("/api/v1/breaches/{}", overdue["id"].as_str().unwrap());
        assert_problem(&send_as(&s, &dpo, Method::PATCH, &overdue_path, Some(&late)).await, 422, "missing_field");
        let (_, unchanged) = send_as(&s, &dpo, Method::GET, &overdue_path, None).await;
        assert!(unchanged["authority_notified_at"].is_null(), "{unchanged}");
        let mut explained = late.clone();
        explained["delay_reasons"] = json!("The courier reported the loss three days later.");
        let (status, notified) = send_as(&s, &dpo, Method::PATCH, &overdue_path, Some(&explained)).await;
        assert_eq!((status, notified["clock"].clone()), (StatusCode::OK, json!("notified")), "{notified}");
        let (_, report) = send_as(&s, &dpo, Method::GET, "/api/v1/doctor", None).await;
        assert!(!checks(&report).contains(&"overdue_breaches".to_string()), "{report}");
        let (_, md) = send_as(&s, &dpo, Method::GET, &format!("{overdue_path}/notifications/authority"), None).await;
        assert!(md["markdown"].as_str().unwrap().contains("Reasons for the delay (Art. 33(1)): The courier"), "{md}");

        // Phased information, dated; then closed for good.
        let phase = json!({"update": "Forensics confirmed no other token was exposed.", "authority_notified_at": time(kith_server::now_millis())});
        assert_eq!(send_as(&s, &dpo, Method::PATCH, &path, Some(&phase)).await.0, StatusCode::OK);
        let (_, full) = send_as(&s, &dpo, Method::GET, &path, None).await;
        let updates = full["updates"].as_array().unwrap();
        assert!(updates.iter().any(|u| u["note"] == "Forensics confirmed no other token was exposed."), "{full}");
        assert_eq!(full["affected"]["people"], 2);
        let (_, md) = send_as(&s, &dpo, Method::GET, &format!("{path}/notifications/authority"), None).await;
        assert!(md["markdown"].as_str().unwrap().contains("Information given in phases (Art. 33(4))"));
        assert_eq!(send_as(&s, &dpo, Method::PATCH, &path, Some(&json!({"status": "closed"}))).await.0, StatusCode::OK);
        assert_problem(
            &send_as(&s, &dpo, Method::PATCH, &path, Some(&json!({"status": "open"}))).await,
            409,
            "invalid_transition",
        );

        // An alert of mass reads opens a candidate with its scope filled in.
        let alert = AlertRow {
            id: uuid::Uuid::new_v4(),
            at: kith_server::now_millis(),
            rule: "mass_read".into(),
            actor: format!("token:{}", row.id),
            detail: "people:2 window_minutes:10".into(),
        };
        assert!(s.store.raise_alert(&alert, 0).await.unwrap());
        let (status, candidate) =
            send_as(&s, &dpo, Method::POST, &format!("/api/v1/alerts/{}/breach", alert.id), None).await;
        assert_eq!(status, StatusCode::CREATED, "{candidate}");
        assert_eq!(candidate["breach"]["status"], "candidate");
        assert_eq!(candidate["breach"]["scope"]["actor"], format!("token:{}", row.id));
        assert_eq!(candidate["affected"]["people"], 2, "{candidate}");
        let again = send_as(&s, &dpo, Method::POST, &format!("/api/v1/alerts/{}/breach", alert.id), None).await;
        assert_problem(&again, 409, "conflict");
        let candidate_id = candidate["breach"]["id"].as_str().unwrap();
        let unconfirmed = format!("/api/v1/breaches/{candidate_id}/notifications/people");
        assert_problem(&send_as(&s, &dpo, Method::POST, &unconfirmed, None).await, 409, "invalid_transition");
        let (_, register) = send_as(&s, &dpo, Method::GET, "/api/v1/breaches", None).await;
        assert_eq!(register["items"].as_array().unwrap().len(), 3);
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_breach_input_changes_nothing_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let now = kith_server::now_millis();
        for (change, status, code) in [
            (json!({"aware_at": time(now + 3_600_000)}), 422, "invalid_value"),
            (json!({"aware_at": "yesterday"}), 422, "invalid_date"),
            (json!({"risk": "catastrophic"}), 422, "invalid_value"),
            (json!({"subject_categories": ["martians"]}), 422, "invalid_value"),
            (json!({"nature": ""}), 422, "missing_field"),
            (json!({"title": "a\u{0}b"}), 422, "invalid_value"),
            (json!({"severity": 9}), 422, "unknown_field"),
        ] {
            let mut body = description(now - HOUR);
            body.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            assert_problem(&send_as(&s, &dpo, Method::POST, "/api/v1/breaches", Some(&body)).await, status, code);
        }
        let malformed = s
            .client
            .post(s.url("/api/v1/breaches"))
            .bearer_auth(&dpo)
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
        for role in ["admin", "auditor", "sales"] {
            let token = token_for(&s, role).await;
            assert_problem(&send_as(&s, &token, Method::GET, "/api/v1/breaches", None).await, 403, "forbidden");
            assert_problem(
                &send_as(&s, &token, Method::POST, "/api/v1/breaches", Some(&description(now - HOUR))).await,
                403,
                "forbidden",
            );
        }
        let breach = open(&s, &dpo, description(now - HOUR)).await;
        let path = format!("/api/v1/breaches/{}", breach["id"].as_str().unwrap());
        for (body, code) in [
            (json!({"aware_at": time(now + HOUR)}), "invalid_value"),
            (json!({"authority_notified_at": time(now + HOUR)}), "invalid_value"),
            (json!({}), "missing_field"),
            (json!({"risk": "none", "colour": "red"}), "unknown_field"),
        ] {
            assert_problem(&send_as(&s, &dpo, Method::PATCH, &path, Some(&body)).await, 422, code);
        }
        for scope in [
            json!({"from": time(now), "to": time(now - HOUR)}),
            json!({"from": time(now + HOUR), "to": time(now + 2 * HOUR)}),
            json!({"from": time(now - HOUR), "to": time(now), "network": "the office"}),
            json!({"from": time(now - HOUR), "to": time(now), "actor": "someone"}),
            json!({"from": time(now - HOUR), "to": time(now), "entity": "pets"}),
        ] {
            let answer = send_as(&s, &dpo, Method::POST, &format!("{path}/affected"), Some(&scope)).await;
            assert_problem(&answer, 422, "invalid_value");
        }
        // No notice to people for a mere risk.
        let mere = json!({"risk": "risk"});
        assert_eq!(send_as(&s, &dpo, Method::PATCH, &path, Some(&mere)).await.0, StatusCode::OK);
        assert_problem(
            &send_as(&s, &dpo, Method::POST, &format!("{path}/notifications/people"), None).await,
            409,
            "invalid_transition",
        );
        let (_, after) = send_as(&s, &dpo, Method::GET, &path, None).await;
        assert_eq!(after["title"], breach["title"], "refused changes left it as it was");
        assert_eq!(after["aware_at"], breach["aware_at"]);
        assert_eq!(after["updates"].as_array().unwrap().len(), 2, "opened, and the one accepted change: {after}");
        assert_problem(&send_as(&s, &dpo, Method::GET, "/api/v1/breaches/not-an-id", None).await, 404, "not_found");
        assert_problem(
            &send_as(&s, &dpo, Method::POST, &format!("/api/v1/alerts/{}/breach", uuid::Uuid::new_v4()), None).await,
            404,
            "not_found",
        );
        s.stop().await;
        db.cleanup().await;
    }
}
