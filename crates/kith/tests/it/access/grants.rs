//! Field rules and scope, third-party keys, and custom roles.

use super::*;

/// Fields a role may not see are absent (not null); writing, filtering or
/// sorting by them is refused with `field_forbidden`; a marketing user
/// changes only the records they own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_rules_and_scope_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (dpo, marketing) = (token_for(&s, "dpo").await, token_for(&s, "marketing").await);
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let admin = token_for(&s, "admin").await;
        let recipient = register_mailer(&s, &dpo).await;
        let f = Fixture { s: &s, dpo: &dpo, admin: &admin, recipient, unused_purposes: Default::default() };
        let id = f.contact().await;
        let (status, seen) = send_as(&s, &marketing, Method::GET, &format!("/api/v1/contacts/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        for absent in ["birthday", "notes", "addresses", "custom"] {
            assert!(seen.get(absent).is_none(), "{absent} is absent, not null: {seen}");
        }
        for present in ["given_name", "emails", "phones", "tags", "id"] {
            assert!(seen.get(present).is_some(), "{present}: {seen}");
        }
        let refused = |body: Value| {
            let (s, marketing) = (&s, marketing.clone());
            async move { send_as(s, &marketing, Method::POST, "/api/v1/contacts", Some(&body)).await }
        };
        let (status, answer) = refused(json!({"given_name": "X", "notes": "hidden"})).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("field_forbidden")), "{answer}");
        for query in ["phone=%2B380441234567", "sort=-updated_at"] {
            let (status, _) = send_as(&s, &marketing, Method::GET, &format!("/api/v1/contacts?{query}"), None).await;
            assert_eq!(status, StatusCode::OK, "{query} uses fields marketing sees");
        }
        // A key that sees contact details only: names and tags are absent,
        // and filtering by them is refused rather than silently answered.
        let mut grant = mailer_grant(&f.recipient);
        grant["permissions"][0]["fields"] = json!(["contact_details"]);
        let (status, issued) = send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        let details_only = issued["key"].as_str().unwrap();
        let (status, seen) = send_as(&s, details_only, Method::GET, &format!("/api/v1/contacts/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        assert!(seen.get("given_name").is_none() && seen.get("tags").is_none() && seen.get("emails").is_some());
        for query in ["tag=fixture", "q=Fixture", "owner=dpo"] {
            let (status, answer) =
                send_as(&s, details_only, Method::GET, &format!("/api/v1/contacts?{query}"), None).await;
            assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("field_forbidden")), "{query}");
        }
        let (status, page) =
            send_as(&s, details_only, Method::GET, "/api/v1/contacts?email=fixture%40example.org", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        // A marketing user's own lead: changed; someone else's: not found.
        let (status, lead) = refused(json!({"given_name": "Lead", "emails": ["lead@example.org"]})).await;
        assert_eq!(status, StatusCode::CREATED, "{lead}");
        assert!(lead.get("notes").is_none());
        let consent = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "1", "method": "api"});
        let lead_id = lead["id"].as_str().unwrap();
        let (status, _) =
            send_as(&s, &marketing, Method::POST, &format!("/api/v1/contacts/{lead_id}/consents"), Some(&consent))
                .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) =
            send_as(&s, &marketing, Method::POST, &format!("/api/v1/contacts/{id}/consents"), Some(&consent)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the ledger of a person outside the scope is not theirs to write");
        let rename = json!({"family_name": "Renamed"});
        let (status, answer) =
            send_as(&s, &marketing, Method::PATCH, &format!("/api/v1/contacts/{lead_id}"), Some(&rename)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, _) =
            send_as(&s, &marketing, Method::PATCH, &format!("/api/v1/contacts/{id}"), Some(&rename)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "outside marketing's scope");
        let (status, answer) = send_as(
            &s,
            &marketing,
            Method::PATCH,
            &format!("/api/v1/contacts/{lead_id}"),
            Some(&json!({"notes": "x"})),
        )
        .await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("field_forbidden")));
        let (status, answer) = send_as(
            &s,
            &marketing,
            Method::PATCH,
            &format!("/api/v1/contacts/{lead_id}"),
            Some(&json!({"owner": "someone-else"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "giving a record away leaves the scope: {answer}");
        s.stop().await;
        db.cleanup().await;
    }
}

/// Keys: shown once, stored hashed, limited to their purposes, actions and
/// addresses; revocation and expiry end them at once; use is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_keys_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (dpo, admin) = (token_for(&s, "dpo").await, token_for(&s, "admin").await);
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let recipient = register_mailer(&s, &dpo).await;
        let f = Fixture { s: &s, dpo: &dpo, admin: &admin, recipient, unused_purposes: Default::default() };
        let person = f.contact().await;
        let issue = |grant: Value| {
            let (s, dpo) = (&s, dpo.clone());
            async move {
                let (status, issued) = send_as(s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
                assert_eq!(status, StatusCode::CREATED, "{issued}");
                (issued["id"].as_str().unwrap().to_string(), issued["key"].as_str().unwrap().to_string())
            }
        };
        let (id, key) = issue(mailer_grant(&f.recipient)).await;
        let read = format!("/api/v1/contacts/{person}");
        assert_eq!(send_as(&s, &key, Method::GET, &read, None).await.0, StatusCode::OK);
        let (status, answer) = crate::segments::send_for(&s, &key, Method::GET, &read, Some("sales"), None).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("purpose_not_allowed")));
        let create = json!({"given_name": "Not yours"});
        assert_eq!(send_as(&s, &key, Method::POST, "/api/v1/contacts", Some(&create)).await.0, StatusCode::FORBIDDEN);

        // Listed with its grant and last use, never with the key or its hash.
        let (_, keys) = send_as(&s, &admin, Method::GET, "/api/v1/api-keys", None).await;
        let listed = keys["items"].as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap().clone();
        assert!(listed["last_used_at"].is_string(), "{listed}");
        assert_eq!(listed["recipient_id"], f.recipient.as_str());
        assert!(!keys.to_string().contains(&key) && listed.get("key").is_none() && listed.get("key_hash").is_none());
        let stored = s.store.api_keys().await.unwrap();
        assert!(stored.iter().all(|k| !k.document.contains(&key) && k.key_hash.len() == 32));

        // Addresses: the test client is 127.0.0.1.
        let mut elsewhere = mailer_grant(&f.recipient);
        elsewhere["allowed_addresses"] = json!(["192.0.2.0/24"]);
        let (far_id, far) = issue(elsewhere).await;
        let (status, answer) = send_as(&s, &far, Method::GET, &read, None).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("address_not_allowed")));
        let mut here = mailer_grant(&f.recipient);
        here["allowed_addresses"] = json!(["127.0.0.1", "::1"]);
        let (_, near) = issue(here).await;
        assert_eq!(send_as(&s, &near, Method::GET, &read, None).await.0, StatusCode::OK);
        let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/audit?actor=key:{far_id}"), None).await;
        assert_eq!(log["items"][0]["outcome"], "denied", "{log}");

        // Revoked: refused at once, like an unknown key.
        assert_eq!(
            send_as(&s, &admin, Method::DELETE, &format!("/api/v1/api-keys/{id}"), None).await.0,
            StatusCode::NO_CONTENT
        );
        let (status, answer) = send_as(&s, &key, Method::GET, &read, None).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        let (_, unknown) = send_as(&s, "kith_key_nonsense", Method::GET, &read, None).await;
        assert_eq!(answer, unknown, "a revoked key is answered like an unknown one");
        assert_eq!(
            send_as(&s, &admin, Method::DELETE, &format!("/api/v1/api-keys/{id}"), None).await.0,
            StatusCode::NOT_FOUND
        );

        // Expired: a key whose time has passed.
        let mut row = s.store.api_keys().await.unwrap().into_iter().find(|k| k.id.to_string() == far_id).unwrap();
        let expired = "kith_key_expired_for_this_test";
        (row.id, row.key_hash, row.expires_at) =
            (uuid::Uuid::new_v4(), kith_server::auth::hash_token(expired), kith_server::now_millis() - 1);
        s.store.insert_api_key(&row).await.unwrap();
        assert_eq!(send_as(&s, expired, Method::GET, &read, None).await.0, StatusCode::UNAUTHORIZED);

        // Bad grants are refused and issue nothing.
        let before = s.store.api_keys().await.unwrap().len();
        for (change, code) in [
            (
                json!({"permissions": [{"actions": ["delete"], "entities": ["contacts"], "fields": ["identity"], "scope": "all"}]}),
                "invalid_value",
            ),
            (json!({"purposes": ["marketing.mind_reading"]}), "unknown_reference"),
            (json!({"expires_in_days": 1000}), "invalid_value"),
            (json!({"allowed_addresses": ["the office"]}), "invalid_value"),
            (json!({"scope": "all"}), "unknown_field"),
        ] {
            let mut grant = mailer_grant(&f.recipient);
            grant.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            let (status, answer) = send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
            assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some(code)), "{grant}");
        }
        let sales = token_for(&s, "sales").await;
        assert_eq!(
            send_as(&s, &sales, Method::POST, "/api/v1/api-keys", Some(&mailer_grant(&f.recipient))).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(s.store.api_keys().await.unwrap().len(), before);
        s.stop().await;
        db.cleanup().await;
    }
}

/// A custom role: defined by the DPO (an admin may not grant personal data
/// it does not hold), usable once a purpose names it,
/// changed or deleted with effect from the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_roles_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let (dpo, admin) = (token_for(&s, "dpo").await, token_for(&s, "admin").await);
        let notice = json!({"version": "1", "text": "Notice"});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let recipient = register_mailer(&s, &dpo).await;
        let f = Fixture { s: &s, dpo: &dpo, admin: &admin, recipient, unused_purposes: Default::default() };
        let person = f.contact().await;
        let mut role = json!({"name": "analyst", "description": "Reads names for reports",
            "permissions": [{"actions": ["read"], "entities": ["contacts"], "fields": ["identity"], "scope": "all"}]});
        let refused = send_as(&s, &admin, Method::POST, "/api/v1/roles", Some(&role)).await;
        assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
        let (status, made) = send_as(&s, &dpo, Method::POST, "/api/v1/roles", Some(&role)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        for (bad, code) in [
            (json!({"name": "sales", "permissions": []}), "conflict"),
            (json!({"name": "Bad Name", "permissions": []}), "invalid_value"),
        ] {
            let (status, answer) = send_as(&s, &admin, Method::POST, "/api/v1/roles", Some(&bad)).await;
            assert_eq!(answer["code"], code, "{status} {answer}");
        }
        let analyst = token_for(&s, "analyst").await;
        let read = format!("/api/v1/contacts/{person}");
        let as_analyst =
            || crate::segments::send_for(&s, &analyst, Method::GET, &read, Some("analytics.reporting"), None);
        assert_eq!(as_analyst().await.1["code"], "purpose_not_allowed", "no purpose names the role yet");

        // The DPO lets analysts use analytics; a role that does not exist cannot be named.
        let (_, purposes) = send_as(&s, &dpo, Method::GET, "/api/v1/purposes", None).await;
        let mut analytics =
            purposes["items"].as_array().unwrap().iter().find(|p| p["key"] == "analytics.reporting").unwrap().clone();
        analytics["roles"] = json!(["analyst", "ghost"]);
        let path = "/api/v1/purposes/analytics.reporting";
        let (status, answer) = send_as(&s, &dpo, Method::PUT, path, Some(&analytics)).await;
        assert_eq!((status.as_u16(), answer["code"].as_str()), (422, Some("unknown_reference")));
        analytics["roles"] = json!(["analyst", "marketing", "sales"]);
        assert_eq!(send_as(&s, &dpo, Method::PUT, path, Some(&analytics)).await.0, StatusCode::OK);
        let (status, seen) = as_analyst().await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        assert!(seen.get("given_name").is_some() && seen.get("emails").is_none(), "{seen}");

        // Changed: contact details too, from the next request.
        role["permissions"][0]["fields"] = json!(["identity", "contact_details"]);
        assert_eq!(
            send_as(&s, &admin, Method::PUT, "/api/v1/roles/analyst", Some(&role)).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(send_as(&s, &dpo, Method::PUT, "/api/v1/roles/analyst", Some(&role)).await.0, StatusCode::OK);
        assert!(as_analyst().await.1.get("emails").is_some());
        let (_, roles) = send_as(&s, &dpo, Method::GET, "/api/v1/roles", None).await;
        let names: Vec<&str> = roles["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"analyst") && names.contains(&"sales"), "{names:?}");
        // Deleted: whoever holds it has nothing.
        assert_eq!(send_as(&s, &admin, Method::DELETE, "/api/v1/roles/analyst", None).await.0, StatusCode::NO_CONTENT);
        assert_eq!(as_analyst().await.0, StatusCode::FORBIDDEN);
        let (_, log) = send_as(&s, &dpo, Method::GET, "/api/v1/audit?action=config_change", None).await;
        let changes =
            log["items"].as_array().unwrap().iter().filter(|e| e["entity"] == "roles" && e["outcome"] == "ok").count();
        assert_eq!(changes, 3, "defined, changed, deleted: {log}");
        s.stop().await;
        db.cleanup().await;
    }
}
