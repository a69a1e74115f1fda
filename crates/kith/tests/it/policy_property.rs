//! The property the privacy machinery stands on, over the running server:
//! for random ledgers, restrictions, legal claims and objections, no list,
//! segment or single read returns a person for a purpose the rules deny,
//! each returns everyone they allow, and the consent state the server derives
//! is a replay of the ledger written. The rules are restated here on their
//! own, so a change to the server's policy that breaks them fails.

use crate::harness::{backends, send_as, token_for, Server, TestDb};
use crate::segments::send_for;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const PEOPLE: usize = 3;
/// Purposes a person can consent to (both on the consent basis) or object to.
const CONSENT_PURPOSES: [&str; 2] = ["marketing.communications.email", "personalize.content.profiling"];
const OBJECTIONS: [&str; 4] = ["marketing", "marketing.communications.email", "sales", "analytics.reporting"];
const CLAIM_PURPOSES: [&str; 2] = ["sales", "marketing.communications.email"];

#[derive(Debug, Clone)]
enum Op {
    Consent { person: usize, purpose: usize, granted: bool },
    Restrict { person: usize },
    Lift { person: usize },
    Object { person: usize, purpose: usize },
    LegalClaim { person: usize, purpose: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let person = 0..PEOPLE;
    prop_oneof![
        4 => (person.clone(), 0..CONSENT_PURPOSES.len(), any::<bool>())
            .prop_map(|(person, purpose, granted)| Op::Consent { person, purpose, granted }),
        2 => person.clone().prop_map(|person| Op::Restrict { person }),
        1 => person.clone().prop_map(|person| Op::Lift { person }),
        1 => (person.clone(), 0..OBJECTIONS.len()).prop_map(|(person, purpose)| Op::Object { person, purpose }),
        2 => (person, 0..CLAIM_PURPOSES.len()).prop_map(|(person, purpose)| Op::LegalClaim { person, purpose }),
    ]
}

/// What the test itself knows about one person.
#[derive(Debug, Default, Clone)]
struct Model {
    restricted: bool,
    claims: BTreeSet<&'static str>,
    objections: BTreeSet<&'static str>,
    /// The ledger as written: purpose and yes/no, in order.
    ledger: Vec<(&'static str, bool)>,
}

fn marketing(key: &str) -> bool {
    key == "marketing" || key.starts_with("marketing.")
}

impl Model {
    fn latest(&self, purpose: &str) -> Option<bool> {
        self.ledger.iter().rev().find(|(p, _)| *p == purpose).map(|(_, g)| *g)
    }

    /// The rules of Art. 6, 18 and 21 as this test states them. The DPO's
    /// view is not stopped by restriction, and by nothing else.
    fn allows(&self, purpose: &str, consent_basis: bool, dpo: bool) -> bool {
        if self.restricted && !dpo && !self.claims.contains(purpose) {
            return false;
        }
        let objected =
            self.objections.contains(purpose) || (marketing(purpose) && self.objections.iter().any(|o| marketing(o)));
        !objected && (!consent_basis || self.latest(purpose) == Some(true))
    }
}

/// A role, the purpose its requests name (None: the role's default), the
/// purpose that means, and whether it rests on consent.
const VIEWS: [(&str, Option<&str>, &str, bool); 6] = [
    ("sales", None, "sales", false),
    ("marketing", None, "marketing.communications.email", true),
    ("marketing", Some("personalize.content.profiling"), "personalize.content.profiling", true),
    ("sales", Some("analytics.reporting"), "analytics.reporting", false),
    ("support", None, "essential.service.operations.support", false),
    ("dpo", Some("marketing.communications.email"), "marketing.communications.email", true),
];

struct Fixture {
    s: Server,
    tokens: BTreeMap<&'static str, String>,
}

async fn apply(f: &Fixture, ids: &[String], models: &mut [Model], op: &Op) -> Result<(), TestCaseError> {
    let (s, dpo) = (&f.s, &f.tokens["dpo"]);
    let (method, path, body, expected) = match *op {
        Op::Consent { person, purpose, granted } => {
            models[person].ledger.push((CONSENT_PURPOSES[purpose], granted));
            let body = json!({"purpose": CONSENT_PURPOSES[purpose], "granted": granted, "notice_version": "1", "method": "api"});
            (Method::POST, format!("/api/v1/contacts/{}/consents", ids[person]), Some(body), StatusCode::CREATED)
        }
        Op::Restrict { person } => {
            models[person].restricted = true;
            (Method::POST, format!("/api/v1/contacts/{}/restriction", ids[person]), None, StatusCode::OK)
        }
        Op::Lift { person } => {
            let was = std::mem::take(&mut models[person].restricted);
            models[person].claims.clear();
            let expected = if was { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND };
            (Method::DELETE, format!("/api/v1/contacts/{}/restriction", ids[person]), None, expected)
        }
        Op::Object { person, purpose } => {
            models[person].objections.insert(OBJECTIONS[purpose]);
            let body = json!({"purpose": OBJECTIONS[purpose]});
            (Method::POST, format!("/api/v1/contacts/{}/objections", ids[person]), Some(body), StatusCode::CREATED)
        }
        Op::LegalClaim { person, purpose } => {
            let expected = if models[person].restricted {
                models[person].claims.insert(CLAIM_PURPOSES[purpose]);
                StatusCode::CREATED
            } else {
                StatusCode::CONFLICT
            };
            let body = json!({"purpose": CLAIM_PURPOSES[purpose], "note": "claim"});
            let path = format!("/api/v1/contacts/{}/restriction/legal-claims", ids[person]);
            (Method::POST, path, Some(body), expected)
        }
    };
    let (status, answer) = send_as(s, dpo, method, &path, body.as_ref()).await;
    prop_assert_eq!(status, expected, "{:?}: {}", op, answer);
    Ok(())
}

fn listed_ids(page: &Value) -> BTreeSet<String> {
    page["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

async fn check_case(f: &Fixture, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let s = &f.s;
    let tag = format!("case{}", uuid::Uuid::new_v4().simple());
    let mut ids = Vec::new();
    for i in 0..PEOPLE {
        ids.push(s.create("contacts", json!({"given_name": format!("P{i}"), "tags": [tag]})).await);
    }
    let (status, segment) = s.post("/api/v1/segments", &json!({"name": "case", "filter": {"tags": [tag]}})).await;
    prop_assert_eq!(status, StatusCode::CREATED);
    let segment = segment["id"].as_str().unwrap().to_string();
    let mut models = vec![Model::default(); PEOPLE];
    for op in &ops {
        apply(f, &ids, &mut models, op).await?;
    }

    for (role, named, purpose, consent_basis) in VIEWS {
        let token = &f.tokens[role];
        let allowed: BTreeSet<String> = (0..PEOPLE)
            .filter(|i| models[*i].allows(purpose, consent_basis, role == "dpo"))
            .map(|i| ids[i].clone())
            .collect();
        let (status, page) = send_for(s, token, Method::GET, &format!("/api/v1/contacts?tag={tag}"), named, None).await;
        prop_assert_eq!(status, StatusCode::OK, "{}", page);
        prop_assert_eq!(&listed_ids(&page), &allowed, "list as {} for {}", role, purpose);
        let (status, page) =
            send_for(s, token, Method::GET, &format!("/api/v1/segments/{segment}/members"), named, None).await;
        prop_assert_eq!(status, StatusCode::OK, "{}", page);
        prop_assert_eq!(&listed_ids(&page), &allowed, "segment as {} for {}", role, purpose);
        let excluded: u64 = page["excluded"].as_object().unwrap().values().filter_map(Value::as_u64).sum();
        prop_assert_eq!(excluded as usize, PEOPLE - allowed.len());
        for id in &ids {
            let (status, _) = send_for(s, token, Method::GET, &format!("/api/v1/contacts/{id}"), named, None).await;
            let expected = if allowed.contains(id) { StatusCode::OK } else { StatusCode::FORBIDDEN };
            prop_assert_eq!(status, expected, "read of {} as {} for {}", id, role, purpose);
        }
    }

    // The derived state equals a replay of what was written.
    for (i, id) in ids.iter().enumerate() {
        let (_, consents) =
            send_as(s, &f.tokens["dpo"], Method::GET, &format!("/api/v1/contacts/{id}/consents"), None).await;
        let ledger: Vec<(String, bool)> = consents["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["purpose"].as_str().unwrap().to_string(), e["granted"].as_bool().unwrap()))
            .collect();
        let written: Vec<(String, bool)> = models[i].ledger.iter().map(|(p, g)| (p.to_string(), *g)).collect();
        prop_assert_eq!(&ledger, &written, "the ledger keeps every entry in order");
        for purpose in CONSENT_PURPOSES {
            let derived = consents["current"][purpose]["granted"].as_bool();
            prop_assert_eq!(derived, models[i].latest(purpose), "current state of {}", purpose);
        }
    }
    Ok(())
}

/// proptest drives the cases; each runs against one server per backend on
/// a runtime of its own, with people of its own (a fresh tag).
#[test]
fn no_path_returns_a_person_the_policy_denies_on_every_backend() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for backend in backends() {
        let (db, fixture) = rt.block_on(async {
            let db = TestDb::new(backend).await;
            let s = Server::start(&db).await;
            let mut tokens = BTreeMap::new();
            for role in ["dpo", "sales", "marketing", "support"] {
                tokens.insert(role, token_for(&s, role).await);
            }
            let notice = json!({"version": "1", "text": "Notice"});
            assert_eq!(
                send_as(&s, &tokens["dpo"], Method::POST, "/api/v1/notices", Some(&notice)).await.0,
                StatusCode::CREATED
            );
            (db, Fixture { s, tokens })
        });
        let mut runner = TestRunner::new(Config { cases: 24, failure_persistence: None, ..Config::default() });
        let result = runner.run(&proptest::collection::vec(op(), 0..14), |ops| rt.block_on(check_case(&fixture, ops)));
        rt.block_on(async {
            fixture.s.stop().await;
            db.cleanup().await;
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}
