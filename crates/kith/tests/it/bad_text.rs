//! One rule for control characters and bytes that are not text, the same on
//! both engines: NUL (which PostgreSQL refuses in text and SQLite stores)
//! and every other control character, and invalid UTF-8, are refused at the
//! edge with problem JSON, in every path parameter and every documented
//! query parameter of every operation, with or without a credential; and in
//! every string of a body, where free text keeps only tab and line breaks.

use crate::harness::{backends, token_for, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ID: &str = "00000000-0000-4000-8000-000000000000";

/// `template` with every `{param}` filled with `ID`, except `bad` with `value`.
fn fill(template: &str, bad: Option<&str>, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        out.push_str(if Some(name) == bad { value } else { ID });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

async fn problem(s: &Server, token: Option<&str>, method: Method, url: &str, body: Option<&str>) -> (u16, Value) {
    let mut req = s.client.request(method, s.url(url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{url}: {status} {body}");
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_and_broken_utf8_are_refused_at_the_edge_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let (_, doc) = s.get("/api/v1/openapi.json").await;
        let mut checked = 0;
        for (template, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                for p in &params {
                    let name = p["name"].as_str().unwrap();
                    for value in ["%00", "%FF", "a%0Ab", "%E2%80"] {
                        let url = match p["in"].as_str() {
                            Some("path") => fill(template, Some(name), value),
                            Some("query") => format!("{}?{name}={value}", fill(template, None, "")),
                            _ => continue,
                        };
                        let code = if p["in"] == "path" { "invalid_path" } else { "invalid_query" };
                        for token in [Some(dpo.as_str()), None] {
                            let (status, body) = problem(&s, token, method.clone(), &url, Some("{}")).await;
                            assert_eq!((status, body["code"].as_str()), (400, Some(code)), "{method} {url}: {body}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 400, "every path and query parameter: {checked}");

        // Bodies: NUL and other controls in any string, a control in a key,
        // a key twice at any depth.
        for body in [
            r#"{"given_name": "A\u0000B"}"#,
            r#"{"given_name": "A", "notes": "line\u001b[31m"}"#,
            r#"{"given_name": "A", "notes": "x\u0085y"}"#,
            r#"{"given_name": "A", "custom": {"k\u0000": 1}}"#,
            r#"{"given_name": "A", "custom": {"k": 1, "k": 2}}"#,
            r#"{"given_name": "A", "addresses": [{"city": "Kyiv", "city": "Lviv"}]}"#,
            r#"{"given_name": "A", "given_name": "B"}"#,
        ] {
            let (status, answer) = problem(&s, Some(&dpo), Method::POST, "/api/v1/contacts", Some(body)).await;
            assert_eq!((status, answer["code"].as_str()), (422, Some("invalid_value")), "{body}: {answer}");
        }
        for (url, body) in [
            ("/api/v1/notices", r#"{"version": "2", "text": "Notice\u0000"}"#),
            ("/api/v1/forms", r#"{"name": "x\u0000", "purposes": ["sales"], "notice_version": "1"}"#),
            ("/api/v1/purposes", r#"{"key": "sales\u0000", "name": "x"}"#),
        ] {
            let (status, answer) = problem(&s, Some(&dpo), Method::POST, url, Some(body)).await;
            assert_eq!(status, 422, "{url}: {answer}");
        }
        // Free text keeps tabs and line breaks.
        let text = json!({"given_name": "A", "notes": "one\ttwo\r\nthree"});
        let (status, made) = s.post("/api/v1/contacts", &text).await;
        assert_eq!((status, made["notes"].clone()), (StatusCode::CREATED, json!("one\ttwo\r\nthree")));
        let (_, list) = s.get("/api/v1/contacts").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing else was written: {list}");
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_input_is_refused_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        // Filter values no record can hold.
        for (url, status, code) in [
            ("/api/v1/deals?stage=bogus", 422, "invalid_value"),
            ("/api/v1/interactions?kind=bogus", 422, "invalid_value"),
            ("/api/v1/purchases?currency=EURO", 422, "invalid_currency"),
            ("/api/v1/contacts?owner=two%20words", 422, "invalid_value"),
            ("/api/v1/audit?cursor=-1", 400, "invalid_cursor"),
            ("/api/v1/audit?cursor=007", 400, "invalid_cursor"),
        ] {
            let (got, body) = problem(&s, Some(&dpo), Method::GET, url, None).await;
            assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{url}: {body}");
        }
        assert_eq!(s.get("/api/v1/deals?stage=won").await.0, StatusCode::OK);
        // One purpose per request.
        let resp = s
            .client
            .get(s.url("/api/v1/contacts"))
            .bearer_auth(&s.token)
            .header("kith-purpose", "essential.service")
            .header("kith-purpose", "marketing.advertising")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "invalid_header", "{body}");
        // A refused caller hears 403 before anything about the body's rules.
        for url in ["/api/v1/purposes", "/api/v1/roles", "/api/v1/api-keys", "/api/v1/forms", "/api/v1/notices"] {
            let (status, body) = problem(&s, Some(&s.token), Method::POST, url, Some("{}")).await;
            assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{url}: {body}");
        }
        s.stop().await;
        db.cleanup().await;
    }
}
