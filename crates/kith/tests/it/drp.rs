//! The Data Rights Protocol 1.0, Covered Business side, on every backend,
//! from the protocol's text: signed registration and what refuses it,
//! the pairwise token, a deletion that becomes an erasure request in the
//! register, another agent's request, revocation, and an access request
//! whose status follows identity verification.

use crate::harness::{backends, send_as, token_for, Server, TestDb};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// A fresh agent: the DPO's input for it, and its signing key.
pub fn agent_input(agent_id: &str) -> (Value, SigningKey) {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key = SigningKey::from_bytes(&seed);
    let input = json!({"agent_id": agent_id, "name": "Consumer agent", "verify_key": B64.encode(key.verifying_key().as_bytes()),
                       "callback_hosts": ["127.0.0.1", "Agent.Example"]});
    (input, key)
}

fn at(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// The protocol's framing: base64 of the signature followed by the JSON.
fn signed(key: &SigningKey, claims: &Value) -> String {
    let message = serde_json::to_vec(claims).unwrap();
    let mut framed = key.sign(&message).to_bytes().to_vec();
    framed.extend_from_slice(&message);
    B64.encode(framed)
}

/// The claims every body carries, valid for an hour, with `extra` merged in.
fn claims(agent: &str, business: &str, extra: Value) -> Value {
    let now = OffsetDateTime::now_utc();
    let mut claims = json!({
        "agent-id": agent,
        "business-id": business,
        "issued-at": at(now - Duration::minutes(1)),
        "expires-at": at(now + Duration::hours(1)),
        "drp.version": "1.0",
    });
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

struct Agent<'a> {
    s: &'a Server,
    id: String,
    key: SigningKey,
    token: String,
}

impl<'a> Agent<'a> {
    /// Configured by the DPO, then registered with signed claims.
    async fn new(s: &'a Server, dpo: &str, id: &str) -> Agent<'a> {
        let (input, key) = agent_input(id);
        let (status, made) = send_as(s, dpo, Method::POST, "/api/v1/drp/agents", Some(&input)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let (status, body) =
            post_text(s, &format!("/v1/agent/{id}"), None, signed(&key, &claims(id, "kith", json!({})))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["agent-id"], id);
        let token = answer["token"].as_str().unwrap().to_string();
        Agent { s, id: id.into(), key, token }
    }

    async fn file(&self, extra: Value) -> (StatusCode, Value) {
        let body = signed(&self.key, &claims(&self.id, "kith", extra));
        let (status, text) = post_text(self.s, "/v1/data-rights-request", Some(&self.token), body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn status(&self, id: &Value) -> (StatusCode, Value) {
        let url = self.s.url(&format!("/v1/data-rights-request/{}", id.as_str().unwrap()));
        let resp = self.s.client.get(url).bearer_auth(&self.token).send().await.unwrap();
        (resp.status(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn revoke(&self, id: &Value) -> (StatusCode, Value) {
        let url = self.s.url(&format!("/v1/data-rights-request/{}", id.as_str().unwrap()));
        let body = signed(&self.key, &claims(&self.id, "kith", json!({"reason": "the person changed their mind"})));
        let resp = self.s.client.delete(url).bearer_auth(&self.token).body(body).send().await.unwrap();
        (resp.status(), resp.json().await.unwrap_or(Value::Null))
    }
}

/// What an agent's callback endpoint received.
type Received = std::sync::Arc<std::sync::Mutex<Vec<Value>>>;

/// An agent's callback endpoint on a loopback port, plain HTTP: it answers
/// 503 to the first `failures` posts, then 200.
async fn callback_endpoint(failures: usize) -> (String, Received) {
    let got = Received::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                let mut got = sink.lock().unwrap();
                got.push(body);
                if got.len() <= failures {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// A server whose callbacks may go to a loopback endpoint over HTTP, and
/// are tried again after a fifth of a second: only tests relax the rules.
fn loopback_callbacks() -> kith_server::config::ServerConfig {
    let drp_callbacks = kith_server::config::CallbackRules {
        https_only: false,
        public_addresses_only: false,
        retry_delays: vec![std::time::Duration::from_millis(200)],
    };
    kith_server::config::ServerConfig { drp_callbacks, ..Default::default() }
}

/// The callback attempts recorded for a request, once there are `count`.
async fn attempts(s: &Server, request: &Value, count: usize) -> Vec<(String, String)> {
    let id = uuid::Uuid::parse_str(request.as_str().unwrap()).unwrap();
    let mut recorded = Vec::new();
    for _ in 0..100 {
        recorded = s.store.drp_callbacks(id).await.unwrap();
        if recorded.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    recorded
}

async fn post_text(s: &Server, path: &str, token: Option<&str>, body: String) -> (StatusCode, String) {
    let mut req = s.client.post(s.url(path)).header("content-type", "text/plain").body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drp_registration_and_what_refuses_it_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let (status, _) = send_as(&s, &s.token, Method::POST, "/api/v1/drp/agents", Some(&agent_input("nope").0)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "only the DPO configures agents");
        let agent = Agent::new(&s, &dpo, "agent-a").await;
        let (status, listed) = send_as(&s, &dpo, Method::GET, "/api/v1/drp/agents", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed["items"][0]["agent_id"], "agent-a");

        let now = OffsetDateTime::now_utc();
        let (other_key, _) = (agent_input("x").1, ());
        let expired = json!({"issued-at": at(now - Duration::hours(2)), "expires-at": at(now - Duration::hours(1))});
        for (why, body) in [
            ("wrong signature", signed(&other_key, &claims("agent-a", "kith", json!({})))),
            ("wrong business", signed(&agent.key, &claims("agent-a", "someone-else", json!({})))),
            ("expired", signed(&agent.key, &claims("agent-a", "kith", expired))),
            ("agent id mismatch", signed(&agent.key, &claims("agent-b", "kith", json!({})))),
            ("not base64", "%%%".to_string()),
        ] {
            let (status, text) = post_text(&s, "/v1/agent/agent-a", None, body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{why}");
            assert!(text.is_empty(), "{why}: no body, got {text}");
        }
        // The refusals of the configured agent are in the audit log: the
        // first at once, the rest counted when the window runs out.
        let (_, log) =
            send_as(&s, &dpo, Method::GET, "/api/v1/audit?actor=agent:agent-a&action=authenticate", None).await;
        let refused = log["items"].as_array().unwrap().iter().filter(|e| e["outcome"] == "denied").count();
        assert_eq!(refused, 1, "{log}");

        let info = |token: String, id: &str| {
            let req = s.client.get(s.url(&format!("/v1/agent/{id}"))).bearer_auth(token);
            async move {
                let resp = req.send().await.unwrap();
                (resp.status(), resp.text().await.unwrap())
            }
        };
        let (status, text) = info(agent.token.clone(), "agent-a").await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "{}"));
        assert_eq!(info(agent.token.clone(), "agent-b").await.0, StatusCode::FORBIDDEN);
        assert_eq!(info("kith_drp_guess".into(), "agent-a").await.0, StatusCode::FORBIDDEN);

        // Removing the agent voids its tokens.
        let (status, _) = send_as(&s, &dpo, Method::DELETE, "/api/v1/drp/agents/agent-a", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(info(agent.token.clone(), "agent-a").await.0, StatusCode::FORBIDDEN);
        s.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drp_deletion_access_and_revocation_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, loopback_callbacks()).await;
        let dpo = token_for(&s, "dpo").await;
        let person = json!({"given_name": "Ada", "emails": ["ada@example.org"]});
        let (status, made) = send_as(&s, &dpo, Method::POST, "/api/v1/contacts", Some(&person)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let contact = made["id"].clone();
        let a = Agent::new(&s, &dpo, "agent-a").await;
        let b = Agent::new(&s, &dpo, "agent-b").await;
        let (callback, received) = callback_endpoint(0).await;

        // A deletion becomes an erasure request of the register, channel agent.
        let (status, deletion) = a
            .file(json!({"exercise": "deletion", "agent-request-id": "r-1", "email": "ada@example.org",
                         "email_verified": true, "name": "Ada", "status_callback": callback}))
            .await;
        assert_eq!(status, StatusCode::OK, "{deletion}");
        assert_eq!(deletion["status"], "in_progress", "{deletion}");
        assert_eq!(deletion["reason"], "need_user_verification");
        assert_eq!(deletion["agent_request_id"], "r-1");
        assert!(deletion["received_at"].as_str().unwrap().ends_with("+00:00"), "{deletion}");
        assert!(deletion["expected_by"].as_str().unwrap().ends_with("+00:00"));
        let (_, register) = send_as(&s, &dpo, Method::GET, "/api/v1/dsr", None).await;
        let items = register["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{register}");
        let (dsr, request) = (items[0]["id"].clone(), &items[0]);
        assert_eq!((request["kind"].as_str(), request["channel"].as_str()), (Some("erasure"), Some("agent")));
        assert_eq!(request["contact_id"], contact);

        // Another agent learns nothing about it.
        assert_eq!(b.status(&deletion["request_id"]).await.0, StatusCode::FORBIDDEN);
        assert_eq!(b.revoke(&deletion["request_id"]).await.0, StatusCode::FORBIDDEN);

        // A signed body that is no revocation does not revoke: the request
        // body replayed, or claims without a reason.
        let url = s.url(&format!("/v1/data-rights-request/{}", deletion["request_id"].as_str().unwrap()));
        for extra in [json!({"exercise": "deletion", "agent-request-id": "r-1", "email": "ada@example.org"}), json!({})]
        {
            let body = signed(&a.key, &claims(&a.id, "kith", extra));
            let resp = s.client.delete(&url).bearer_auth(&a.token).body(body).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        }
        assert_eq!(a.status(&deletion["request_id"]).await.1["status"], "in_progress", "not revoked");

        // Revocation withdraws the register's request.
        let (status, revoked) = a.revoke(&deletion["request_id"]).await;
        assert_eq!(status, StatusCode::OK, "{revoked}");
        assert_eq!(revoked["status"], "revoked");
        let (_, withdrawn) =
            send_as(&s, &dpo, Method::GET, &format!("/api/v1/dsr/{}", dsr.as_str().unwrap()), None).await;
        assert_eq!(withdrawn["status"], "withdrawn");
        assert_eq!(a.status(&deletion["request_id"]).await.1["status"], "revoked");
        // The change reaches the agent's callback, and the attempt is recorded.
        assert_eq!(
            attempts(&s, &deletion["request_id"], 1).await,
            vec![("revoked".to_string(), "delivered".to_string())]
        );
        let posted = received.lock().unwrap().clone();
        assert_eq!(posted.len(), 1);
        assert_eq!(
            (posted[0]["status"].as_str(), posted[0]["request_id"].as_str()),
            (Some("revoked"), deletion["request_id"].as_str())
        );

        // An access request's status follows identity verification.
        let (status, access) =
            a.file(json!({"exercise": "access", "agent-request-id": "r-2", "email": "ada@example.org"})).await;
        assert_eq!(status, StatusCode::OK, "{access}");
        assert_eq!(
            (access["status"].as_str(), access["reason"].as_str()),
            (Some("in_progress"), Some("need_user_verification"))
        );
        let (_, register) = send_as(&s, &dpo, Method::GET, "/api/v1/dsr?status=received", None).await;
        let id = register["items"][0]["id"].as_str().unwrap().to_string();
        let attestation = json!({"method": "staff_attestation", "note": "called back"});
        let (status, _) =
            send_as(&s, &dpo, Method::POST, &format!("/api/v1/dsr/{id}/verify"), Some(&attestation)).await;
        assert_eq!(status, StatusCode::OK);
        let (_, now) = a.status(&access["request_id"]).await;
        assert_eq!((now["status"].as_str(), now["reason"].as_str()), (Some("in_progress"), None), "{now}");

        // Opt-in is not covered; an opt-out of nobody known matches no one;
        // an opt-out records the objections.
        let (_, optin) =
            a.file(json!({"exercise": "sale:opt-in", "agent-request-id": "r-3", "email": "ada@example.org"})).await;
        assert_eq!((optin["status"].as_str(), optin["reason"].as_str()), (Some("denied"), Some("claim_not_covered")));
        let (_, nobody) =
            a.file(json!({"exercise": "sale:opt-out", "agent-request-id": "r-4", "email": "nobody@example.org"})).await;
        assert_eq!((nobody["status"].as_str(), nobody["reason"].as_str()), (Some("denied"), Some("no_match")));
        let (_, optout) =
            a.file(json!({"exercise": "sale:opt-out", "agent-request-id": "r-5", "email": "ada@example.org"})).await;
        assert_eq!(optout["status"], "fulfilled", "{optout}");

        // A bad exercise is an error object; a wrong token is refused.
        let (status, bad) = a.file(json!({"exercise": "teleport", "agent-request-id": "r-6"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(bad["code"].is_string() && bad["message"].is_string(), "{bad}");
        let body = signed(&a.key, &claims("agent-a", "kith", json!({"exercise": "access", "agent-request-id": "x"})));
        assert_eq!(
            post_text(&s, "/v1/data-rights-request/", Some("kith_drp_guess"), body).await.0,
            StatusCode::FORBIDDEN
        );
        s.stop().await;
        db.cleanup().await;
    }
}

/// `sale:opt-out` tells an agent whether an address is known: an agent
/// cannot test addresses faster than the throttle allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_outs_are_throttled_per_agent_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let a = Agent::new(&s, &dpo, "agent-a").await;
        // The burst, then more than the refill (one per two seconds) brings back.
        let burst = kith_server::config::DRP_OPT_OUT_RATE.burst as usize;
        let mut reasons = Vec::new();
        for i in 0..burst + 20 {
            let probe = json!({"exercise": "sale:opt-out", "agent-request-id": format!("p-{i}"),
                               "email": format!("probe{i}@example.org")});
            let (status, answer) = a.file(probe).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            reasons.push(answer["reason"].as_str().unwrap_or_default().to_string());
            if reasons.last().is_some_and(|r| r == "too_many_requests") {
                break;
            }
        }
        assert!(reasons[..burst].iter().all(|r| r == "no_match"), "{reasons:?}");
        assert_eq!(reasons.last().map(String::as_str), Some("too_many_requests"), "{reasons:?}");
        s.stop().await;
        db.cleanup().await;
    }
}

/// Callbacks go only over HTTPS to a host the DPO listed for the agent
/// that resolves to public addresses only; anything else is recorded as
/// refused and nothing is sent. A delivery that fails is tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_callbacks_go_only_where_they_may_on_every_backend() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let s = Server::start(&db).await;
        let dpo = token_for(&s, "dpo").await;
        let a = Agent::new(&s, &dpo, "agent-a").await;
        let (endpoint, received) = callback_endpoint(0).await;
        let port = endpoint.trim_start_matches("http://127.0.0.1:").trim_end_matches("/cb").to_string();
        for (n, (callback, refusal)) in [
            (endpoint.clone(), "refused:not_https"),
            (format!("https://127.0.0.1:{port}/cb"), "refused:not_public"),
            (format!("https://localhost:{port}/cb"), "refused:host_not_allowed"),
            ("https://user:secret@agent.example/cb".to_string(), "refused:credentials_in_url"),
            ("https://agent.example.evil.test/cb".to_string(), "refused:host_not_allowed"),
        ]
        .into_iter()
        .enumerate()
        {
            let (status, filed) = a
                .file(
                    json!({"exercise": "deletion", "agent-request-id": format!("r-{n}"), "email": "nobody@example.org",
                             "status_callback": callback}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{filed}");
            assert_eq!(a.revoke(&filed["request_id"]).await.0, StatusCode::OK);
            assert_eq!(
                attempts(&s, &filed["request_id"], 1).await,
                vec![("revoked".to_string(), refusal.to_string())],
                "{callback}"
            );
        }
        // An agent configured with no hosts gets no callback anywhere.
        let (input, _) = agent_input("agent-b");
        let mut input = input;
        input["callback_hosts"] = json!([]);
        let (status, made) = send_as(&s, &dpo, Method::POST, "/api/v1/drp/agents", Some(&input)).await;
        assert_eq!((status, made["callback_hosts"].clone()), (StatusCode::CREATED, json!([])));
        for hosts in [json!(["https://agent.example"]), json!(["agent.example:443"]), json!(["a b"]), json!([""])] {
            let (input, _) = agent_input(&format!("agent-{}", uuid::Uuid::new_v4().simple()));
            let mut input = input;
            input["callback_hosts"] = hosts.clone();
            let (status, _) = send_as(&s, &dpo, Method::POST, "/api/v1/drp/agents", Some(&input)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{hosts}");
        }
        assert!(received.lock().unwrap().is_empty(), "nothing reached the endpoint");
        s.stop().await;
        db.cleanup().await;

        // With the rules relaxed for a loopback endpoint: a delivery that
        // fails is tried again.
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, loopback_callbacks()).await;
        let dpo = token_for(&s, "dpo").await;
        let a = Agent::new(&s, &dpo, "agent-a").await;
        let (endpoint, received) = callback_endpoint(1).await;
        let (status, filed) = a
            .file(json!({"exercise": "deletion", "agent-request-id": "r-retry", "email": "nobody@example.org",
                         "status_callback": endpoint}))
            .await;
        assert_eq!(status, StatusCode::OK, "{filed}");
        assert_eq!(a.revoke(&filed["request_id"]).await.0, StatusCode::OK);
        let expected =
            vec![("revoked".to_string(), "http_503".to_string()), ("revoked".to_string(), "delivered".to_string())];
        assert_eq!(attempts(&s, &filed["request_id"], 2).await, expected);
        assert_eq!(received.lock().unwrap().len(), 2);
        s.stop().await;
        db.cleanup().await;
    }
}
