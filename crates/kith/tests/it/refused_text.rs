//! A refused caller writes nothing of its own into the append-only audit
//! log, nor anywhere else in clear. Every operation of the OpenAPI document
//! is called without a credential and as roles that may not do it, with a
//! marker in every path parameter, every query parameter, the purpose
//! header and every string of a body built from the operation's schema;
//! then the audit storage and the whole database are scanned for it.

use crate::canary::{contains, scan_dir, scan_postgres};
use crate::harness::{backends, token_for, Server, TestDb};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// A value for `schema` in which every free string is `marker` (a closed
/// set keeps its first value, so the body gets past the type checks).
fn instance(schema: &Value, doc: &Value, marker: &str, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return instance(&doc["components"]["schemas"][name], doc, marker, depth + 1);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            let mut merged = Map::new();
            for part in parts {
                match instance(part, doc, marker, depth + 1) {
                    Value::Object(o) => merged.extend(o),
                    other if merged.is_empty() && combinator != "allOf" => return other,
                    _ => {}
                }
            }
            return Value::Object(merged);
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ if schema["properties"].is_object() => vec!["object"],
        _ => vec!["string"],
    };
    match types.iter().find(|t| **t != "null").copied().unwrap_or("null") {
        "object" => {
            let mut out = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                out.insert(name.clone(), instance(property, doc, marker, depth + 1));
            }
            if out.is_empty() {
                out.insert(marker.to_string(), json!(marker));
            }
            Value::Object(out)
        }
        "array" => json!([instance(&schema["items"], doc, marker, depth + 1)]),
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => json!(marker),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callers_leave_no_text_of_their_own_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let callers = [None, Some(token_for(&s, "auditor").await), Some(token_for(&s, "sales").await)];
        let tag = uuid::Uuid::new_v4().simple().to_string();
        // Lower case and digits: the hardest marker, it passes every charset rule.
        let marker = format!("rq{}", &tag[..10]);
        let lower = marker.clone();
        let (_, doc) = s.get("/api/v1/openapi.json").await;
        let mut sent = 0;
        for (template, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut path = template.clone();
                let mut query = Vec::new();
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let name = p["name"].as_str().unwrap();
                    match p["in"].as_str() {
                        Some("path") => path = path.replace(&format!("{{{name}}}"), &marker),
                        Some("query") => query.push(format!("{name}={marker}")),
                        _ => {}
                    }
                }
                let url = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
                let body = op["requestBody"]["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|schema| instance(&Value::Object(schema.clone()), &doc, &marker, 0));
                for caller in &callers {
                    let mut req = s.client.request(method.clone(), s.url(&url)).header("kith-purpose", &lower);
                    if let Some(token) = caller {
                        req = req.bearer_auth(token);
                    }
                    if let Some(body) = &body {
                        req = req.json(body);
                    }
                    let status = req.send().await.unwrap().status();
                    assert!(status.as_u16() < 500, "{method} {url}: {status}");
                    sent += 1;
                }
            }
        }
        assert!(sent > 300, "{sent}");

        let needles: Vec<(String, Vec<u8>)> =
            [marker.clone(), lower.clone()].into_iter().map(|m| (m.clone(), m.into_bytes())).collect();
        let dpo = token_for(&s, "dpo").await;
        let (status, log) = crate::harness::send_as(&s, &dpo, Method::GET, "/api/v1/audit?limit=200", None).await;
        assert!(status.is_success(), "{log}");
        assert!(log["items"].as_array().unwrap().len() > 10, "refusals were audited: {log}");
        let mut found = Vec::new();
        for (name, needle) in &needles {
            if contains(log.to_string().as_bytes(), needle) {
                found.push(format!("{name} in the audit log's answer"));
            }
        }
        s.stop().await;
        let mut scanned = Vec::new();
        scan_dir(db.dir.path(), &needles, &mut found, &mut scanned);
        if let Some(url) = &db.url {
            scan_postgres(url, &needles, &mut found).await;
        }
        assert!(found.is_empty(), "a refused caller's text was stored: {found:?}");
        db.cleanup().await;
    }
}
