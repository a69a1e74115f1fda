//! The same story on every backend: create, read, update, search, list and
//! delete every kind of record, then every kind of bad input, which must be
//! refused with a problem and change nothing.

use crate::harness::{assert_problem, backends, Backend, Server, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn with_server<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Server) -> Fut,
    Fut: std::future::Future<Output = Server>,
{
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let server = test(server).await;
    server.stop().await;
    db.cleanup().await;
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_story_on_every_backend() {
    for backend in backends() {
        with_server(backend, |s| async move {
            crm_story(&s).await;
            s
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing_on_every_backend() {
    for backend in backends() {
        with_server(backend, |s| async move {
            bad_inputs(&s).await;
            s
        })
        .await;
    }
}

async fn crm_story(s: &Server) {
    // Companies.
    let acme =
        s.create("companies", json!({"name": "Acme Trading", "domain": "ACME.example", "tags": ["supplier"]})).await;
    let (status, company) = s.get(&format!("/api/v1/companies/{acme}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(company["domain"], "acme.example");
    let (status, changed) = s.patch(&format!("/api/v1/companies/{acme}"), &json!({"name": "Acme Trading Ltd"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Acme Trading Ltd");
    assert_eq!(changed["tags"], json!(["supplier"]), "a patch keeps the fields it does not name");
    assert_eq!(ids(&s.list_all("/api/v1/companies?q=acme").await), vec![acme.clone()]);

    // Contacts.
    let olena = s
        .create(
            "contacts",
            json!({
                "given_name": "Olena", "family_name": "Kovalenko",
                "emails": ["Olena@Example.org"], "phones": ["+380 44 123 4567"],
                "addresses": [{"street": "Khreshchatyk 1", "city": "Kyiv", "postal_code": "01001", "country": "ua"}],
                "birthday": "1990-04-01", "company_id": acme, "job_title": "Buyer",
                "notes": "Prefers e-mail.", "tags": ["vip"], "custom": {"loyalty": {"tier": 2}}
            }),
        )
        .await;
    let (status, contact) = s.get(&format!("/api/v1/contacts/{olena}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contact["emails"], json!(["Olena@example.org"]));
    assert_eq!(contact["phones"], json!(["+380441234567"]));
    assert_eq!(contact["addresses"][0]["country"], "UA");
    assert_eq!(contact["custom"]["loyalty"]["tier"], 2);
    assert_eq!(contact["owner"], "tester");
    for field in [
        "id",
        "created_at",
        "updated_at",
        "given_name",
        "family_name",
        "birthday",
        "company_id",
        "job_title",
        "notes",
        "tags",
    ] {
        assert!(contact.get(field).is_some(), "contact lacks {field}");
    }
    let taras = s.create("contacts", json!({"given_name": "Taras", "family_name": "Shevchenko", "emails": ["taras@example.org"], "tags": ["poet"]})).await;
    let aiko = s
        .create(
            "contacts",
            json!({"given_name": "Aiko", "family_name": "Tanaka", "phones": ["+81312345678"], "company_id": acme}),
        )
        .await;
    let wei = s.create("contacts", json!({"given_name": "Wei", "family_name": "Zhang", "owner": "someone-else"})).await;
    let chloe = s.create("contacts", json!({"given_name": "Chloé", "family_name": "Dubois-Kovalenko"})).await;

    // Partial update: only the named field changes; null resets.
    let (status, patched) =
        s.patch(&format!("/api/v1/contacts/{olena}"), &json!({"job_title": "Head of buying", "notes": null})).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["job_title"], "Head of buying");
    assert_eq!(patched["notes"], Value::Null);
    assert_eq!(patched["family_name"], "Kovalenko");
    assert_eq!(patched["created_at"], contact["created_at"]);
    assert!(patched["updated_at"].as_str() >= contact["updated_at"].as_str());

    // Exact lookups, search and filters.
    assert_eq!(ids(&s.list_all("/api/v1/contacts?email=olena@EXAMPLE.org").await), vec![olena.clone()]);
    assert_eq!(ids(&s.list_all("/api/v1/contacts?phone=%2B380441234567").await), vec![olena.clone()]);
    assert!(s.list_all("/api/v1/contacts?email=nobody@example.org").await.is_empty());
    let mut kovalenkos = ids(&s.list_all("/api/v1/contacts?q=KOVALENKO").await);
    kovalenkos.sort();
    let mut expected = vec![olena.clone(), chloe.clone()];
    expected.sort();
    assert_eq!(kovalenkos, expected, "name words match across hyphens and case");
    assert_eq!(ids(&s.list_all("/api/v1/contacts?q=chloe").await), vec![chloe.clone()], "accents fold");
    assert_eq!(
        ids(&s.list_all("/api/v1/contacts?q=olena%20kovalenko").await),
        vec![olena.clone()],
        "all words must match"
    );
    assert_eq!(ids(&s.list_all("/api/v1/contacts?tag=VIP").await), vec![olena.clone()]);
    let mut at_acme = ids(&s.list_all(&format!("/api/v1/contacts?company_id={acme}")).await);
    at_acme.sort();
    let mut expected = vec![olena.clone(), aiko.clone()];
    expected.sort();
    assert_eq!(at_acme, expected);
    assert_eq!(ids(&s.list_all("/api/v1/contacts?owner=someone-else").await), vec![wei.clone()]);
    assert_eq!(s.list_all("/api/v1/contacts?created_from=2000-01-01T00:00:00Z").await.len(), 5);
    assert!(s.list_all("/api/v1/contacts?created_to=2000-01-01T00:00:00Z").await.is_empty());
    assert_eq!(
        s.list_all("/api/v1/contacts?updated_from=2000-01-01T00:00:00Z&updated_to=2999-01-01T00:00:00Z").await.len(),
        5
    );

    // February 29th exists only in leap years.
    assert_problem(
        &s.post(
            "/api/v1/interactions",
            &json!({"contact_id": olena, "kind": "note", "occurred_at": "2026-02-29T10:00:00Z"}),
        )
        .await,
        422,
        "invalid_date",
    );

    // Pagination: pages of two cover everything once, in order, both ways.
    let all = ids(&s.list_all("/api/v1/contacts?limit=2").await);
    assert_eq!(all.len(), 5);
    let (_, first) = s.get("/api/v1/contacts?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert!(first["next_cursor"].is_string());
    let mut backwards = ids(&s.list_all("/api/v1/contacts?limit=2&sort=-created_at").await);
    backwards.reverse();
    assert_eq!(all, backwards);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5);
    let by_update = s.list_all("/api/v1/contacts?sort=-updated_at&limit=1").await;
    assert_eq!(by_update[0]["id"], olena, "the last changed comes first");
    let _ = taras;

    // Interactions.
    let call = s
        .create(
            "interactions",
            json!({"contact_id": olena, "kind": "call", "occurred_at": "2026-01-31T09:30:00+02:00", "subject": "Order", "body": "Discussed the January order."}),
        )
        .await;
    let task = s
        .create(
            "interactions",
            json!({"contact_id": olena, "company_id": acme, "kind": "task", "occurred_at": "2026-02-01T08:00:00Z", "subject": "Send offer", "due_at": "2026-02-05T17:00:00Z", "done": false}),
        )
        .await;
    let (_, got) = s.get(&format!("/api/v1/interactions/{call}")).await;
    assert_eq!(got["occurred_at"], "2026-01-31T07:30:00Z", "times are stored in UTC");
    assert_eq!(got["body"], "Discussed the January order.");
    let (status, done) = s.patch(&format!("/api/v1/interactions/{task}"), &json!({"done": true})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["done"], true);
    assert_eq!(
        ids(&s.list_all(&format!("/api/v1/interactions?contact_id={olena}&sort=-occurred_at")).await),
        [task.clone(), call.clone()]
    );
    assert_eq!(ids(&s.list_all("/api/v1/interactions?kind=task").await), vec![task.clone()]);

    // Deals.
    let big = s.create("deals", json!({"title": "Annual supply", "amount": "12000.50", "currency": "eur", "stage": "proposal", "contact_id": olena, "company_id": acme, "expected_close": "2026-03-31"})).await;
    let small = s
        .create(
            "deals",
            json!({"title": "Sample box", "amount": 99.9, "currency": "EUR", "stage": "lead", "company_id": acme}),
        )
        .await;
    let lone = s.create("deals", json!({"title": "Inbound enquiry", "stage": "lead"})).await;
    let (_, deal) = s.get(&format!("/api/v1/deals/{big}")).await;
    assert_eq!(deal["amount"], "12000.50");
    assert_eq!(deal["currency"], "EUR");
    assert_eq!(ids(&s.list_all("/api/v1/deals?sort=-amount").await), [big.clone(), small.clone(), lone.clone()]);
    assert_eq!(ids(&s.list_all("/api/v1/deals?stage=lead&sort=amount").await), [lone.clone(), small.clone()]);
    let (status, won) = s.patch(&format!("/api/v1/deals/{big}"), &json!({"stage": "won"})).await;
    assert_eq!(status, StatusCode::OK, "{won}");
    assert_eq!(won["stage"], "won");
    // A deal that gains a person is re-sealed under that person's key.
    let (status, adopted) = s.patch(&format!("/api/v1/deals/{lone}"), &json!({"contact_id": taras})).await;
    assert_eq!(status, StatusCode::OK, "{adopted}");
    assert_eq!(s.get(&format!("/api/v1/deals/{lone}")).await.1["contact_id"], taras);

    // Purchases.
    let order = s
        .create(
            "purchases",
            json!({"contact_id": olena, "purchased_at": "2028-02-29T12:00:00Z", "currency": "EUR",
                   "lines": [{"sku": "TEA-1", "description": "Green tea", "quantity": "2", "unit_price": "4.50"},
                             {"sku": "CUP-9", "description": "Cup", "quantity": 1, "unit_price": "12.00"}]}),
        )
        .await
        .clone();
    assert_problem(
        &s.post("/api/v1/purchases", &json!({"contact_id": olena, "purchased_at": "2026-02-30T12:00:00Z", "currency": "EUR", "lines": [{"sku": "X", "quantity": 1, "unit_price": 1}]})).await,
        422,
        "invalid_date",
    );
    let (_, purchase) = s.get(&format!("/api/v1/purchases/{order}")).await;
    assert_eq!(purchase["total"], "21.00");
    let second = s.create("purchases", json!({"contact_id": aiko, "purchased_at": "2026-12-31T23:59:59Z", "currency": "JPY", "lines": [{"sku": "A", "quantity": 3, "unit_price": 1000}]})).await;
    assert_eq!(ids(&s.list_all("/api/v1/purchases?sort=-total").await), [second.clone(), order.clone()]);
    assert_eq!(ids(&s.list_all("/api/v1/purchases?currency=jpy").await), vec![second.clone()]);
    let (status, relined) = s
        .patch(
            &format!("/api/v1/purchases/{order}"),
            &json!({"lines": [{"sku": "TEA-1", "quantity": 10, "unit_price": "4.50"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{relined}");
    assert_eq!(relined["total"], "45.00");

    // Deletion: a referenced company stays; a contact takes its records along.
    assert_problem(&s.delete(&format!("/api/v1/companies/{acme}")).await, 409, "in_use");
    assert_eq!(s.delete(&format!("/api/v1/interactions/{call}")).await.0, StatusCode::NO_CONTENT);
    assert_problem(&s.get(&format!("/api/v1/interactions/{call}")).await, 404, "not_found");
    assert_eq!(s.delete(&format!("/api/v1/contacts/{olena}")).await.0, StatusCode::NO_CONTENT);
    for gone in [
        format!("/api/v1/contacts/{olena}"),
        format!("/api/v1/interactions/{task}"),
        format!("/api/v1/deals/{big}"),
        format!("/api/v1/purchases/{order}"),
    ] {
        assert_problem(&s.get(&gone).await, 404, "not_found");
    }
    assert!(s.list_all("/api/v1/contacts?email=olena@example.org").await.is_empty(), "no index entry survives");
    assert!(s.store.data_key(olena.parse().unwrap()).await.unwrap().is_none(), "the person's data key is destroyed");
    assert_problem(&s.delete(&format!("/api/v1/contacts/{olena}")).await, 404, "not_found");
    assert_eq!(s.delete(&format!("/api/v1/purchases/{second}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.delete(&format!("/api/v1/deals/{small}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.delete(&format!("/api/v1/contacts/{aiko}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.delete(&format!("/api/v1/companies/{acme}")).await.0, StatusCode::NO_CONTENT);
    assert!(s.store.data_key(acme.parse().unwrap()).await.unwrap().is_none());
    assert_problem(&s.get(&format!("/api/v1/companies/{acme}")).await, 404, "not_found");
}

async fn count(s: &Server, kind: &str) -> usize {
    s.list_all(&format!("/api/v1/{kind}?limit=200")).await.len()
}

async fn raw(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = s.client.request(method, s.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    assert!(resp.headers().contains_key("x-request-id"), "every response has a request id");
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn bad_inputs(s: &Server) {
    let olena = s.create("contacts", json!({"given_name": "Olena", "emails": ["olena@example.org"]})).await;
    let before: Vec<usize> = futures_counts(s).await;
    let post = |body: &'static str| {
        raw(
            s,
            reqwest::Method::POST,
            "/api/v1/contacts",
            Some("application/json"),
            body.as_bytes().to_vec(),
            Some(&s.token),
        )
    };

    assert_problem(&post("{\"given_name\": \"Ol").await, 400, "malformed_json");
    assert_problem(&post("").await, 400, "malformed_json");
    assert_problem(&post("{} {}").await, 400, "malformed_json");
    assert_problem(&post("{\"given_name\": 42}").await, 422, "invalid_type");
    assert_problem(&post("{\"given_name\": \"A\", \"emails\": \"a@b.org\"}").await, 422, "invalid_type");
    assert_problem(&post("[]").await, 422, "invalid_type");
    assert_problem(&post("{\"given_name\": \"A\", \"shoe_size\": 44}").await, 422, "unknown_field");
    assert_problem(
        &post("{\"given_name\": \"A\", \"addresses\": [{\"planet\": \"Mars\"}]}").await,
        422,
        "unknown_field",
    );
    assert_problem(&post("{\"given_name\": \"A\", \"emails\": [\"not-an-address\"]}").await, 422, "invalid_email");
    assert_problem(&post("{\"given_name\": \"A\", \"phones\": [\"12345\"]}").await, 422, "invalid_phone");
    assert_problem(&post("{\"given_name\": \"A\", \"birthday\": \"31/01/1990\"}").await, 422, "invalid_date");
    assert_problem(
        &post("{\"given_name\": \"A\", \"company_id\": \"00000000-0000-4000-8000-000000000000\"}").await,
        422,
        "unknown_reference",
    );
    assert_problem(&post("{\"given_name\": \"A\", \"company_id\": \"nope\"}").await, 422, "invalid_value");
    assert_problem(&post("{\"given_name\": \"A\\u0007\"}").await, 422, "invalid_value");
    assert_problem(&post("{\"given_name\": \"A\u{0007}\"}").await, 400, "malformed_json");
    assert_problem(&post("{}").await, 422, "missing_field");
    assert_problem(&post("{\"given_name\": \"A\", \"owner\": \"Olena Kovalenko\"}").await, 422, "invalid_value");
    let injection = "{\"given_name\": \"Robert'); DROP TABLE contacts;--\", \"family_name\": \"\\\" OR 1=1 --\"}";
    let (status, created) = post(injection).await;
    assert_eq!(status, StatusCode::CREATED, "injection strings are just text: {created}");
    let injected = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.get(&format!("/api/v1/contacts/{injected}")).await.1["given_name"],
        "Robert'); DROP TABLE contacts;--"
    );
    assert_eq!(
        ids(&s.list_all("/api/v1/contacts?q=%27%20OR%201%3D1%20--").await),
        vec![injected.clone()],
        "an injection string in a search is a search for its words"
    );
    assert_eq!(s.delete(&format!("/api/v1/contacts/{injected}")).await.0, StatusCode::NO_CONTENT);

    // Bodies: non-UTF-8, wrong media type, too large.
    let non_utf8 = raw(
        s,
        reqwest::Method::POST,
        "/api/v1/contacts",
        Some("application/json"),
        b"{\"given_name\": \"\xff\xfe\"}".to_vec(),
        Some(&s.token),
    )
    .await;
    assert_problem(&non_utf8, 400, "malformed_json");
    let form =
        raw(s, reqwest::Method::POST, "/api/v1/contacts", Some("text/plain"), b"{}".to_vec(), Some(&s.token)).await;
    assert_problem(&form, 415, "unsupported_media_type");
    let long_notes = format!("{{\"given_name\": \"A\", \"notes\": \"{}\"}}", "x".repeat(70_000));
    let over_rule = raw(
        s,
        reqwest::Method::POST,
        "/api/v1/contacts",
        Some("application/json"),
        long_notes.into_bytes(),
        Some(&s.token),
    )
    .await;
    assert_problem(&over_rule, 422, "invalid_value");

    // Authentication.
    let anonymous = raw(s, reqwest::Method::GET, "/api/v1/contacts", None, vec![], None).await;
    assert_problem(&anonymous, 401, "unauthenticated");
    let forged = raw(s, reqwest::Method::GET, "/api/v1/contacts", None, vec![], Some("kith_not-a-real-token")).await;
    assert_problem(&forged, 401, "unauthenticated");
    let now = kith_server::now_millis();
    let (expired, row) = kith_server::auth::new_token("old", "sales", now - 10_000, Some(now - 1));
    s.store.insert_token(&row).await.unwrap();
    assert_problem(
        &raw(s, reqwest::Method::GET, "/api/v1/contacts", None, vec![], Some(&expired)).await,
        401,
        "unauthenticated",
    );
    let (revoked, row) = kith_server::auth::new_token("gone", "sales", now, None);
    s.store.insert_token(&row).await.unwrap();
    assert!(s.store.revoke_token(row.id, now).await.unwrap());
    assert_problem(
        &raw(s, reqwest::Method::GET, "/api/v1/contacts", None, vec![], Some(&revoked)).await,
        401,
        "unauthenticated",
    );
    let (auditor, row) = kith_server::auth::new_token("audit", "auditor", now, None);
    s.store.insert_token(&row).await.unwrap();
    assert_problem(
        &raw(s, reqwest::Method::GET, &format!("/api/v1/contacts/{olena}"), None, vec![], Some(&auditor)).await,
        403,
        "forbidden",
    );

    // Paths, ids and queries.
    assert_problem(&s.get("/api/v1/contacts/not-a-uuid").await, 404, "not_found");
    assert_problem(&s.get("/api/v1/contacts/00000000-0000-4000-8000-000000000000").await, 404, "not_found");
    assert_problem(
        &s.patch("/api/v1/contacts/00000000-0000-4000-8000-000000000000", &json!({"given_name": "X"})).await,
        404,
        "not_found",
    );
    assert_problem(&s.get("/api/v1/nothing-here").await, 404, "not_found");
    assert_problem(
        &s.send(reqwest::Method::PUT, "/api/v1/contacts", Some(&json!({}))).await,
        405,
        "method_not_allowed",
    );
    assert_problem(&s.get("/api/v1/contacts?colour=red").await, 400, "invalid_query");
    assert_problem(&s.get("/api/v1/contacts?limit=0").await, 400, "invalid_query");
    assert_problem(&s.get("/api/v1/contacts?limit=many").await, 400, "invalid_query");
    assert_problem(&s.get("/api/v1/contacts?sort=given_name").await, 400, "invalid_query");
    assert_problem(&s.get("/api/v1/contacts?stage=won").await, 400, "invalid_query");
    assert_problem(&s.get("/api/v1/contacts?email=not-an-address").await, 400, "invalid_query");
    assert_problem(&s.get("/api/v1/contacts?created_from=yesterday").await, 400, "invalid_query");
    assert_problem(&s.get("/api/v1/contacts?cursor=garbage").await, 400, "invalid_cursor");
    let (_, page) = s.get("/api/v1/contacts?limit=1").await;
    let _ = page;
    assert_problem(&s.get("/api/v1/interactions?q=call").await, 400, "invalid_query");

    // Updates that break a rule change nothing.
    assert_problem(
        &s.patch(&format!("/api/v1/contacts/{olena}"), &json!({"emails": ["broken"]})).await,
        422,
        "invalid_email",
    );
    assert_problem(
        &s.patch(&format!("/api/v1/contacts/{olena}"), &json!({"shoe_size": 44})).await,
        422,
        "unknown_field",
    );
    assert_problem(
        &s.patch(&format!("/api/v1/contacts/{olena}"), &json!({"shoe_size": null})).await,
        422,
        "unknown_field",
    );
    assert_problem(
        &s.patch(&format!("/api/v1/contacts/{olena}"), &json!({"id": "00000000-0000-4000-8000-000000000000"})).await,
        422,
        "unknown_field",
    );
    assert_problem(
        &s.patch(&format!("/api/v1/contacts/{olena}"), &json!({"given_name": null, "emails": []})).await,
        422,
        "missing_field",
    );
    assert_problem(
        &s.send(reqwest::Method::PATCH, &format!("/api/v1/contacts/{olena}"), Some(&json!([1]))).await,
        422,
        "invalid_type",
    );
    let (_, unchanged) = s.get(&format!("/api/v1/contacts/{olena}")).await;
    assert_eq!(unchanged["emails"], json!(["olena@example.org"]));
    assert_eq!(unchanged["given_name"], "Olena");

    // Other kinds' rules.
    assert_problem(
        &s.post(
            "/api/v1/interactions",
            &json!({"contact_id": olena, "kind": "fax", "occurred_at": "2026-01-01T00:00:00Z"}),
        )
        .await,
        422,
        "invalid_value",
    );
    assert_problem(
        &s.post("/api/v1/interactions", &json!({"contact_id": olena, "kind": "call", "occurred_at": "tomorrow"})).await,
        422,
        "invalid_date",
    );
    assert_problem(
        &s.post("/api/v1/deals", &json!({"title": "T", "stage": "lead", "amount": "10.123456", "currency": "EUR"}))
            .await,
        422,
        "invalid_amount",
    );
    assert_problem(
        &s.post("/api/v1/deals", &json!({"title": "T", "stage": "lead", "amount": "10", "currency": "EURO"})).await,
        422,
        "invalid_currency",
    );
    assert_problem(&s.post("/api/v1/deals", &json!({"title": "  ", "stage": "lead"})).await, 422, "missing_field");
    assert_problem(
        &s.post(
            "/api/v1/purchases",
            &json!({"contact_id": olena, "purchased_at": "2026-01-01T00:00:00Z", "currency": "EUR", "lines": []}),
        )
        .await,
        422,
        "missing_field",
    );
    assert_problem(&s.post("/api/v1/purchases", &json!({"contact_id": olena, "purchased_at": "2026-01-01T00:00:00Z", "currency": "EUR", "lines": [{"sku": "A", "quantity": "-1", "unit_price": "1"}]})).await, 422, "invalid_amount");
    assert_problem(&s.post("/api/v1/companies", &json!({"domain": "example.org"})).await, 422, "missing_field");

    assert_eq!(futures_counts(s).await, before, "refused requests wrote nothing");
}

async fn futures_counts(s: &Server) -> Vec<usize> {
    let mut counts = Vec::new();
    for kind in ["contacts", "companies", "interactions", "deals", "purchases"] {
        counts.push(count(s, kind).await);
    }
    counts
}

/// The body limit is the server's setting. A small limit keeps the refused
/// body inside socket buffers, so the client always reads the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_configured_limit_are_refused() {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = kith_server::config::ServerConfig { max_body_bytes: 4096, ..Default::default() };
    let s = Server::start_with(&db, config).await;
    let body = |notes: usize| format!("{{\"given_name\": \"A\", \"notes\": \"{}\"}}", "x".repeat(notes)).into_bytes();
    let too_large =
        raw(&s, reqwest::Method::POST, "/api/v1/contacts", Some("application/json"), body(5000), Some(&s.token)).await;
    assert_problem(&too_large, 413, "payload_too_large");
    assert!(s.list_all("/api/v1/contacts").await.is_empty());
    let fits =
        raw(&s, reqwest::Method::POST, "/api/v1/contacts", Some("application/json"), body(4000), Some(&s.token)).await;
    assert_eq!(fits.0, StatusCode::CREATED, "{}", fits.1);
    s.stop().await;
    db.cleanup().await;
}
