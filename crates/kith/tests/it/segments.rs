//! Segments, roles per purpose, legal-claims exceptions and guardians:
//! every path that selects people asks the policy, and says how many it
//! left out and why without naming them.

use crate::harness::{assert_problem, backends, send_as, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A request as `token` for `purpose` (the role's default when `None`).
pub async fn send_for(
    s: &Server,
    token: &str,
    method: Method,
    path: &str,
    purpose: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = s.client.request(method, s.url(path)).bearer_auth(token);
    if let Some(purpose) = purpose {
        req = req.header("kith-purpose", purpose);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        page["items"].as_array().expect("items").iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_return_only_whom_the_purpose_allows_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let marketing = token_for(&s, "marketing").await;
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let marker = format!("seg{}", uuid::Uuid::new_v4().simple());

        // Four VIPs and one other; deals and purchases on some.
        let mut vip = Vec::new();
        for name in ["Ada", "Bo", "Cy", "Di"] {
            vip.push(s.create("contacts", json!({"given_name": name, "tags": ["vip", marker]})).await);
        }
        let other = s.create("contacts", json!({"given_name": "Ed", "tags": ["vip"]})).await;
        for (who, stage) in [(&vip[0], "won"), (&vip[1], "won"), (&vip[2], "lead"), (&other, "won")] {
            s.create("deals", json!({"title": "Deal", "contact_id": who, "stage": stage})).await;
        }
        let purchase = |who: &str, price: &str, at: &str| {
            json!({"contact_id": who, "purchased_at": at, "currency": "EUR",
                   "lines": [{"sku": "A", "quantity": "1", "unit_price": price}]})
        };
        s.create("purchases", purchase(&vip[0], "60.00", "2026-03-01T00:00:00Z")).await;
        s.create("purchases", purchase(&vip[0], "50.00", "2026-04-01T00:00:00Z")).await;
        s.create("purchases", purchase(&vip[1], "500.00", "2025-01-01T00:00:00Z")).await;
        s.create("purchases", purchase(&vip[2], "150.00", "2026-05-01T00:00:00Z")).await;

        let segment = |filter: Value| json!({"name": format!("Segment {marker}"), "filter": filter});
        let create = |body: Value| {
            let s = &s;
            async move {
                let (status, made) = s.post("/api/v1/segments", &body).await;
                assert_eq!(status, StatusCode::CREATED, "{made}");
                made["id"].as_str().unwrap().to_string()
            }
        };
        let tagged = create(segment(json!({"tags": ["vip", marker]}))).await;
        let winners = create(segment(json!({"tags": [marker], "deal_stage": "won"}))).await;
        let buyers = create(segment(json!({"purchases": {"currency": "eur", "min_total": "100",
                                                        "from": "2026-01-01T00:00:00Z"}})))
        .await;
        let consenting = create(segment(json!({"tags": [marker],
            "consent": {"purpose": "marketing.communications.email", "state": "granted"}})))
        .await;
        let members = |id: &str, token: &str, purpose: Option<&str>| {
            let (s, path, token, purpose) =
                (&s, format!("/api/v1/segments/{id}/members"), token.to_string(), purpose.map(str::to_string));
            async move {
                let (status, page) = send_for(s, &token, Method::GET, &path, purpose.as_deref(), None).await;
                assert_eq!(status, StatusCode::OK, "{page}");
                page
            }
        };

        // Sales (legitimate interests) sees everyone the filters match.
        let page = members(&tagged, &s.token, None).await;
        assert_eq!(ids(&page), sorted(vip.clone()));
        assert_eq!((page["matched"].as_u64(), page["members"].as_u64()), (Some(4), Some(4)));
        assert_eq!(ids(&members(&winners, &s.token, None).await), sorted(vec![vip[0].clone(), vip[1].clone()]));
        assert_eq!(
            ids(&members(&buyers, &s.token, None).await),
            sorted(vec![vip[0].clone(), vip[2].clone()]),
            "110 in two purchases and 150 count; 500 is before the window"
        );
        // Marketing (consent basis) sees nobody yet: all four are counted as lacking consent.
        let page = members(&tagged, &marketing, None).await;
        assert!(ids(&page).is_empty());
        assert_eq!(page["excluded"], json!({"no_consent": 4}));
        assert!(!page.to_string().contains("Ada"), "the left-out are not named");

        // Consent for Ada and Bo; Bo objects to marketing; Cy is restricted.
        for who in [&vip[0], &vip[1]] {
            let consent = json!({"purpose": "marketing.communications.email", "granted": true,
                                 "notice_version": "1", "method": "api"});
            assert_eq!(s.post(&format!("/api/v1/contacts/{who}/consents"), &consent).await.0, StatusCode::CREATED);
        }
        let objection = json!({"purpose": "marketing"});
        assert_eq!(s.post(&format!("/api/v1/contacts/{}/objections", vip[1]), &objection).await.0, StatusCode::CREATED);
        let restrict = format!("/api/v1/contacts/{}/restriction", vip[2]);
        assert_eq!(send_as(&s, &dpo, Method::POST, &restrict, None).await.0, StatusCode::OK);

        let page = members(&tagged, &marketing, None).await;
        assert_eq!(ids(&page), vec![vip[0].clone()]);
        assert_eq!(page["excluded"], json!({"no_consent": 1, "objected_purpose": 1, "processing_restricted": 1}));
        let page = members(&consenting, &s.token, None).await;
        assert_eq!(ids(&page), sorted(vec![vip[0].clone(), vip[1].clone()]), "a filter on consent state");
        let (status, count) =
            send_for(&s, &s.token, Method::GET, &format!("/api/v1/segments/{tagged}/count"), None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            count,
            json!({"purpose": "sales", "matched": 4, "members": 3, "excluded": {"processing_restricted": 1}})
        );
        // The DPO's own view is not stopped by the restriction.
        assert_eq!(ids(&members(&tagged, &dpo, None).await), sorted(vip.clone()));

        // A legal-claims exception lets one purpose through, for the DPO to record only.
        let claim = json!({"purpose": "sales", "note": format!("Defence of claim {marker}")});
        let claims = format!("{restrict}/legal-claims");
        assert_problem(&s.post(&claims, &claim).await, 403, "forbidden");
        let (status, recorded) = send_as(&s, &dpo, Method::POST, &claims, Some(&claim)).await;
        assert_eq!(status, StatusCode::CREATED, "{recorded}");
        assert_eq!(ids(&members(&tagged, &s.token, None).await), sorted(vip.clone()));
        assert_eq!(s.get(&format!("/api/v1/contacts/{}", vip[2])).await.0, StatusCode::OK);
        let as_dpo_for_marketing = |who: &str| {
            let path = format!("/api/v1/contacts/{who}");
            let (s, dpo) = (&s, dpo.clone());
            async move { send_for(s, &dpo, Method::GET, &path, Some("marketing.communications.email"), None).await }
        };
        assert_eq!(as_dpo_for_marketing(&vip[0]).await.0, StatusCode::OK, "the DPO may use any purpose");
        assert_problem(&as_dpo_for_marketing(&vip[1]).await, 403, "objected_purpose");
        assert_problem(&as_dpo_for_marketing(&vip[2]).await, 403, "no_consent");
        let (_, state) = send_as(&s, &dpo, Method::GET, &restrict, None).await;
        assert_eq!(state["restricted"], true);
        assert_eq!(state["legal_claims"][0]["note"], claim["note"]);
        assert_eq!(send_as(&s, &dpo, Method::DELETE, &restrict, None).await.0, StatusCode::NO_CONTENT);
        assert_problem(&send_as(&s, &dpo, Method::POST, &claims, Some(&claim)).await, 409, "conflict");
        assert_eq!(send_as(&s, &dpo, Method::POST, &restrict, None).await.0, StatusCode::OK);
        assert_problem(&s.get(&format!("/api/v1/contacts/{}", vip[2])).await, 403, "processing_restricted");
        // Recording more about a restricted person is processing too; the DPO still may.
        let note = json!({"contact_id": vip[2], "kind": "note", "occurred_at": "2026-06-01T00:00:00Z"});
        assert_problem(&s.post("/api/v1/interactions", &note).await, 403, "processing_restricted");
        let rename = json!({"job_title": "Director"});
        assert_problem(&s.patch(&format!("/api/v1/contacts/{}", vip[2]), &rename).await, 403, "processing_restricted");
        let (status, _) =
            send_as(&s, &dpo, Method::PATCH, &format!("/api/v1/contacts/{}", vip[2]), Some(&rename)).await;
        assert_eq!(status, StatusCode::OK);
        // Marketing may add a person, but not change one whose consent it lacks.
        let (status, lead) =
            send_as(&s, &marketing, Method::POST, "/api/v1/contacts", Some(&json!({"given_name": "Lead"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{lead}");
        let lead_path = format!("/api/v1/contacts/{}", lead["id"].as_str().unwrap());
        let change = json!({"family_name": "Later"});
        assert_problem(&send_as(&s, &marketing, Method::PATCH, &lead_path, Some(&change)).await, 403, "no_consent");

        // Paging over members.
        let first =
            send_for(&s, &dpo, Method::GET, &format!("/api/v1/segments/{tagged}/members?limit=3"), None, None).await.1;
        assert_eq!(first["items"].as_array().unwrap().len(), 3);
        let cursor = first["next_cursor"].as_str().expect("a next page");
        let second = send_for(
            &s,
            &dpo,
            Method::GET,
            &format!("/api/v1/segments/{tagged}/members?limit=3&cursor={cursor}"),
            None,
            None,
        )
        .await
        .1;
        assert_eq!(second["items"].as_array().unwrap().len(), 1);
        assert!(second["next_cursor"].is_null());

        // A purpose the role may not use is refused, and the refusal audited.
        let (status, refused) =
            send_for(&s, &marketing, Method::GET, &format!("/api/v1/segments/{tagged}/members"), Some("sales"), None)
                .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(refused["code"], "purpose_not_allowed");
        assert_problem(
            &send_for(&s, &marketing, Method::GET, &format!("/api/v1/contacts/{}", vip[0]), Some("sales"), None).await,
            403,
            "purpose_not_allowed",
        );
        let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?subject_id={}", vip[0]), None).await;
        let refusals = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["outcome"] == "denied" && e["purpose"] == "sales")
            .count();
        assert_eq!(refusals, 1, "{log}");
        let (_, log) = send_as(&s, &dpo, Method::GET, "/api/v1/audit?action=read&limit=1000", None).await;
        let refused_segments = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["entity"] == "segments" && e["outcome"] == "denied" && e["record_id"] == tagged.as_str())
            .count();
        assert_eq!(refused_segments, 1, "the refused segment evaluation is audited");

        // Bad input writes nothing.
        for (body, code) in [
            (json!({"name": "x", "filter": {"stage": "won"}}), "unknown_field"),
            (json!({"name": "x", "filter": {"deal_stage": "sold"}}), "invalid_value"),
            (json!({"name": "", "filter": {}}), "missing_field"),
            (
                json!({"name": "x", "filter": {"purchases": {"currency": "EUR", "min_total": "9", "max_total": "1"}}}),
                "invalid_value",
            ),
            (
                json!({"name": "x", "filter": {"consent": {"purpose": "marketing.mind_reading", "state": "granted"}}}),
                "unknown_reference",
            ),
            (json!({"name": "x", "filter": {"consent": {"purpose": "sales", "state": "maybe"}}}), "invalid_value"),
        ] {
            assert_problem(&s.post("/api/v1/segments", &body).await, 422, code);
        }
        let (_, all) = s.get("/api/v1/segments").await;
        assert_eq!(all["items"].as_array().unwrap().len(), 4, "{all}");
        assert_eq!(all["items"][0]["filter"]["tags"], json!(["vip", marker]));
        assert_problem(&s.get(&format!("/api/v1/segments/{tagged}/members?limit=0")).await, 400, "invalid_query");
        assert_problem(&s.get(&format!("/api/v1/segments/{tagged}/members?cursor=zz")).await, 400, "invalid_cursor");
        assert_problem(&s.get("/api/v1/segments/not-an-id").await, 404, "not_found");
        let auditor = token_for(&s, "auditor").await;
        assert_problem(&send_as(&s, &auditor, Method::GET, "/api/v1/segments", None).await, 403, "forbidden");

        // Definitions are sealed: the marker tag and name are not in the database in clear.
        if db.url.is_none() {
            for file in ["kith.db", "kith.db-wal"] {
                let bytes = std::fs::read(db.data_dir().join(file)).unwrap_or_default();
                assert!(!bytes.windows(marker.len()).any(|w| w == marker.as_bytes()), "{file}");
            }
        }
        assert_eq!(s.delete(&format!("/api/v1/segments/{tagged}")).await.0, StatusCode::NO_CONTENT);
        assert_problem(&s.get(&format!("/api/v1/segments/{tagged}")).await, 404, "not_found");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_s_consent_needs_a_guardian_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let this_year: i32 = time::OffsetDateTime::now_utc().year();
        let child =
            s.create("contacts", json!({"given_name": "Kid", "birthday": format!("{}-01-01", this_year - 12)})).await;
        let adult =
            s.create("contacts", json!({"given_name": "Grown", "birthday": format!("{}-01-01", this_year - 30)})).await;
        let unknown_age = s.create("contacts", json!({"given_name": "Ageless"})).await;
        let consent = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "1", "method": "web_form"});
        let path = |id: &str| format!("/api/v1/contacts/{id}/consents");

        assert_problem(&s.post(&path(&child), &consent).await, 422, "guardian_required");
        let (_, ledger) = s.get(&path(&child)).await;
        assert_eq!(ledger["ledger"], json!([]), "the refused consent wrote nothing");
        let mut with_guardian = consent.clone();
        with_guardian["guardian"] = json!({"name": "Parent", "relation": "mother", "verification": "ID seen in store"});
        let (status, entry) = s.post(&path(&child), &with_guardian).await;
        assert_eq!(status, StatusCode::CREATED, "{entry}");
        assert_eq!(entry["guardian"]["relation"], "mother");
        let withdraw = json!({"purpose": "marketing.communications.email", "granted": false, "notice_version": "1", "method": "api"});
        assert_eq!(s.post(&path(&child), &withdraw).await.0, StatusCode::CREATED, "a withdrawal needs no guardian");
        for id in [&adult, &unknown_age] {
            assert_eq!(s.post(&path(id), &consent).await.0, StatusCode::CREATED);
        }
        let mut bad = consent.clone();
        bad["guardian"] = json!({"name": "Parent"});
        assert_problem(&s.post(&path(&child), &bad).await, 422, "missing_field");
        bad["guardian"] = json!({"name": "Parent", "relation": "aunt", "age": 40});
        assert_problem(&s.post(&path(&child), &bad).await, 422, "unknown_field");
        s.stop().await;
        db.cleanup().await;
    }
}

/// One rule decides every filter: a field whose class reaches fewer records
/// than the caller's read scope may not be filtered by, in a list or in a
/// segment's members and counts (a count would tell about the field on
/// records where it is hidden).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_keep_the_per_class_scope_rule_of_lists_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        // Contact details of everyone, names and tags only of their own.
        let role = json!({"name": "desk", "permissions": [
            {"actions": ["read"], "entities": ["contacts"], "fields": ["contact_details"], "scope": "all"},
            {"actions": ["read", "create"], "entities": ["contacts"], "fields": ["identity"], "scope": "own"}]});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/roles", Some(&role)).await.0, StatusCode::CREATED);
        let (_, purposes) = send_as(&s, &dpo, Method::GET, "/api/v1/purposes", None).await;
        let mut service =
            purposes["items"].as_array().unwrap().iter().find(|p| p["key"] == "essential.service").unwrap().clone();
        service["roles"].as_array_mut().unwrap().push(json!("desk"));
        let path = "/api/v1/purposes/essential.service";
        assert_eq!(send_as(&s, &dpo, Method::PUT, path, Some(&service)).await.0, StatusCode::OK);
        s.create("contacts", json!({"given_name": "Someone", "tags": ["vip"]})).await;
        let desk = token_for(&s, "desk").await;

        let listed = send_as(&s, &desk, Method::GET, "/api/v1/contacts?tag=vip", None).await;
        assert_problem(&listed, 403, "field_forbidden");
        let segment = json!({"name": "VIPs", "filter": {"tags": ["vip"]}});
        let (status, made) = send_as(&s, &dpo, Method::POST, "/api/v1/segments", Some(&segment)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let id = made["id"].as_str().unwrap();
        for view in ["members", "count"] {
            let answer = send_as(&s, &desk, Method::GET, &format!("/api/v1/segments/{id}/{view}"), None).await;
            assert_problem(&answer, 403, "field_forbidden");
        }
        // The DPO's scope is the same for every class: allowed.
        let (status, count) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/segments/{id}/count"), None).await;
        assert_eq!((status, count["matched"].clone()), (StatusCode::OK, json!(1)), "{count}");
        s.stop().await;
        db.cleanup().await;
    }
}
