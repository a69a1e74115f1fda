//! The privacy portal over HTTP: a link by e-mail that never tells whether
//! an address is known, a short session bound to one person, and every
//! action a request or ledger entry the DPO sees. The browser walk is in
//! `browser.rs`; here are the rules, refusals and limits.

use crate::harness::{backends, send_as, token_for, Server, TestDb};
use kith_server::config::{PortalSettings, Rate, ServerConfig};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const KNOWN: &str = "olena.portal@example.org";
const EMAIL_MARKETING: &str = "marketing.communications.email";

/// A browser without a browser: its cookies, no redirects followed.
struct Visitor {
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// What a page answered.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Visitor {
    fn new() -> Self {
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { client, cookies: BTreeMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.header(COOKIE, self.cookie_header()).send().await.unwrap();
        for value in resp.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            match value {
                "" => self.cookies.remove(name),
                v => self.cookies.insert(name.to_string(), v.to_string()),
            };
        }
        let status = resp.status();
        let location = resp.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string());
        Answer { status, location, body: resp.text().await.unwrap_or_default() }
    }

    async fn get(&mut self, s: &Server, path: &str) -> Answer {
        let req = self.client.get(s.url(path));
        self.send(req).await
    }

    async fn post(&mut self, s: &Server, path: &str, form: &[(&str, &str)]) -> Answer {
        let req = self.client.post(s.url(path)).form(form);
        self.send(req).await
    }

    /// The hidden field `name`'s value in the last page's first form carrying it.
    fn hidden(body: &str, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = body.find(&marker).unwrap_or_else(|| panic!("no {name} field in {body}")) + marker.len();
        body[start..].split('"').next().unwrap().to_string()
    }

    /// Asks for a link to `email`, as the form on `/privacy` does.
    async fn ask(&mut self, s: &Server, email: &str) -> Answer {
        let page = self.get(s, "/privacy").await;
        let form = Self::hidden(&page.body, "form");
        self.post(s, "/privacy", &[("email", email), ("form", &form)]).await
    }

    /// Opens the portal with a token; answers the page it lands on.
    async fn open(&mut self, s: &Server, token: &str) -> Answer {
        let page = self.get(s, &format!("/privacy/open?token={token}")).await;
        let form = Self::hidden(&page.body, "form");
        self.post(s, "/privacy/open", &[("token", token), ("form", &form)]).await
    }

    /// Posts a form of the person's page with the session's token.
    async fn act(&mut self, s: &Server, path: &str, fields: &[(&str, &str)]) -> Answer {
        let page = self.get(s, "/privacy/me").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = Self::hidden(&page.body, "csrf");
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(s, path, &form).await
    }
}

struct Portal {
    db: TestDb,
    s: Server,
    dpo: String,
    person: String,
}

impl Portal {
    async fn start(backend: crate::harness::Backend, portal: PortalSettings) -> Self {
        let db = TestDb::new(backend).await;
        let s = Server::start_with(&db, ServerConfig { portal, ..Default::default() }).await;
        let dpo = token_for(&s, "dpo").await;
        let notice = json!({"version": "n1", "text": "We write to you about offers."});
        assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
        let person =
            s.create("contacts", json!({"given_name": "Olena", "family_name": "Kovalenko", "emails": [KNOWN]})).await;
        Self { db, s, dpo, person }
    }

    /// The messages waiting in the outbox (claiming empties it).
    async fn claim(&self) -> Vec<Value> {
        let (status, page) = send_as(&self.s, &self.dpo, Method::POST, "/api/v1/outbox/claim", None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// A visitor in a live portal session of the known person.
    async fn signed_in(&self) -> Visitor {
        let mut v = Visitor::new();
        assert_eq!(v.ask(&self.s, KNOWN).await.status, StatusCode::OK);
        let messages = self.claim().await;
        let message = messages.iter().find(|m| m["to"] == KNOWN).expect("a message to the person");
        let token = message["token"].as_str().unwrap().to_string();
        let landed = v.open(&self.s, &token).await;
        assert_eq!((landed.status, landed.location.as_deref()), (StatusCode::SEE_OTHER, Some("/privacy/me")));
        v
    }

    async fn requests(&self) -> Vec<Value> {
        let (status, page) = send_as(&self.s, &self.dpo, Method::GET, "/api/v1/dsr?limit=100", None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().iter().filter(|r| r["contact_id"] == self.person.as_str()).cloned().collect()
    }

    async fn stop(self) {
        self.s.stop().await;
        self.db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_is_asked_for_without_learning_whether_the_address_is_known_and_works_once() {
    for backend in backends() {
        let p = Portal::start(backend, PortalSettings::default()).await;
        let s = &p.s;
        let mut v = Visitor::new();
        let known = v.ask(s, KNOWN).await;
        let unknown = v.ask(s, "nobody.here@example.org").await;
        assert_eq!((known.status, unknown.status), (StatusCode::OK, StatusCode::OK));
        assert_eq!(known.body, unknown.body, "one answer whoever asks");
        assert!(known.body.contains("on its way"), "{}", known.body);

        // Both addresses get a message; only the known one a token.
        let messages = p.claim().await;
        assert_eq!(messages.len(), 2, "{messages:?}");
        let to = |who: &str| messages.iter().find(|m| m["to"] == who).unwrap().clone();
        let (for_known, for_unknown) = (to(KNOWN), to("nobody.here@example.org"));
        let token = for_known["token"].as_str().unwrap().to_string();
        assert!(token.starts_with("kith_portal_") && for_known["text"].as_str().unwrap().contains(&token));
        assert_eq!(for_unknown["token"], "");
        assert!(for_unknown["text"].as_str().unwrap().contains("no personal data under this address"));

        // The landing page only shows a button: following the link uses nothing up.
        let landing = v.get(s, &format!("/privacy/open?token={token}")).await;
        assert_eq!(landing.status, StatusCode::OK);
        assert!(landing.body.contains(&token));
        let landed = v.open(s, &token).await;
        assert_eq!((landed.status, landed.location.as_deref()), (StatusCode::SEE_OTHER, Some("/privacy/me")));
        let me = v.get(s, "/privacy/me").await;
        assert_eq!(me.status, StatusCode::OK);
        assert!(me.body.contains("Olena") && me.body.contains(KNOWN), "{}", me.body);

        // Used once: a second use, a made-up token and a bad address are refused plainly.
        let mut other = Visitor::new();
        let again = other.open(s, &token).await;
        assert_eq!(again.status, StatusCode::GONE);
        assert!(again.body.contains("already used or has expired"));
        assert_eq!(other.open(s, "kith_portal_madeup").await.status, StatusCode::GONE);
        assert_eq!(other.get(s, "/privacy/me").await.location.as_deref(), Some("/privacy?ended=1"));
        let bad = other.ask(s, "not-an-address").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("aria-invalid=\"true\""));
        assert!(p.claim().await.is_empty(), "a refused address queues nothing");

        // The session ends when asked, and with it the page.
        let out = v.act(s, "/privacy/logout", &[]).await;
        assert_eq!(out.location.as_deref(), Some("/privacy?ended=1"));
        assert_eq!(v.get(s, "/privacy/me").await.status, StatusCode::SEE_OTHER);

        // The link's life is in the audit log, and the person's access log shows them.
        let path = format!("/api/v1/contacts/{}/access-log", p.person);
        let (_, log) = send_as(s, &p.dpo, Method::GET, &path, None).await;
        let actors: Vec<&str> = log["items"].as_array().unwrap().iter().filter_map(|e| e["actor"].as_str()).collect();
        assert!(actors.contains(&"public:portal"), "{actors:?}");
        assert!(actors.contains(&format!("subject:{}", p.person).as_str()), "{actors:?}");
        p.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_in_the_portal_is_a_request_or_a_ledger_entry_the_dpo_sees() {
    for backend in backends() {
        let p = Portal::start(backend, PortalSettings::default()).await;
        let s = &p.s;
        let mut v = p.signed_in().await;

        // Consent given and withdrawn, with method portal and the current notice.
        let given = v.act(s, "/privacy/me/consents", &[("purpose", EMAIL_MARKETING), ("granted", "yes")]).await;
        assert_eq!(given.location.as_deref(), Some("/privacy/me?done=consent"));
        v.act(s, "/privacy/me/consents", &[("purpose", EMAIL_MARKETING), ("granted", "no")]).await;
        let (_, ledger) =
            send_as(s, &p.dpo, Method::GET, &format!("/api/v1/contacts/{}/consents", p.person), None).await;
        let entries = ledger["ledger"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{ledger}");
        assert!(entries.iter().all(|e| e["method"] == "portal" && e["notice_version"] == "n1"), "{ledger}");
        assert_eq!(entries[0]["recorded_by"], format!("subject:{}", p.person));
        // A purpose that does not rest on consent is not the person's to give.
        let refused = v.act(s, "/privacy/me/consents", &[("purpose", "essential.service"), ("granted", "yes")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        // Staff cannot claim the person used the portal.
        let claimed = json!({"purpose": EMAIL_MARKETING, "granted": true, "notice_version": "n1", "method": "portal"});
        let path = format!("/api/v1/contacts/{}/consents", p.person);
        assert_eq!(send_as(s, &p.dpo, Method::POST, &path, Some(&claimed)).await.0, StatusCode::UNPROCESSABLE_ENTITY);

        // The archive: an access request filed, verified by the portal, completed by the download.
        let zip = v.act(s, "/privacy/me/archive", &[]).await;
        assert_eq!(zip.status, StatusCode::OK);
        assert!(zip.body.starts_with("PK"), "a zip archive");

        // A correction that would not be valid files nothing; a valid one a rectification with the changes.
        let bad = v
            .act(
                s,
                "/privacy/me/corrections",
                &[("given_name", "Olena"), ("family_name", "Kovalenko"), ("emails", "not an address"), ("note", "")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("not an address"), "what was typed is kept");
        let good = v
            .act(
                s,
                "/privacy/me/corrections",
                &[
                    ("given_name", "Olena"),
                    ("family_name", "Kovalenko-Shevchuk"),
                    ("emails", KNOWN),
                    ("note", "I married"),
                ],
            )
            .await;
        assert_eq!(good.location.as_deref(), Some("/privacy/me?done=correction"));

        // The objection to direct marketing holds at once.
        let objected = v.act(s, "/privacy/me/objection", &[]).await;
        assert_eq!(objected.location.as_deref(), Some("/privacy/me?done=objection"));

        // Erasure needs the box ticked, and is asked once.
        assert_eq!(v.act(s, "/privacy/me/erasure", &[("note", "")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        let asked = v.act(s, "/privacy/me/erasure", &[("note", "Please forget me"), ("confirm", "yes")]).await;
        assert_eq!(asked.location.as_deref(), Some("/privacy/me?done=erasure"));
        assert_eq!(v.act(s, "/privacy/me/erasure", &[("confirm", "yes")]).await.status, StatusCode::CONFLICT);

        // The register holds all four, from the portal, verified, with deadlines.
        let requests = p.requests().await;
        let of = |kind: &str| {
            requests.iter().find(|r| r["kind"] == kind).unwrap_or_else(|| panic!("{kind}: {requests:?}")).clone()
        };
        assert!(requests.iter().all(|r| r["channel"] == "portal" && r["due_at"].is_string()), "{requests:?}");
        assert_eq!(of("access")["status"], "completed");
        assert_eq!(of("objection")["status"], "completed");
        assert_eq!(of("rectification")["status"], "in_progress");
        assert_eq!(of("erasure")["status"], "in_progress");
        let rectification = of("rectification")["id"].as_str().unwrap().to_string();
        let (_, detail) = send_as(s, &p.dpo, Method::GET, &format!("/api/v1/dsr/{rectification}"), None).await;
        assert_eq!(detail["changes"], json!({"family_name": "Kovalenko-Shevchuk"}), "{detail}");
        assert_eq!(detail["note"], "I married");
        let me = v.get(s, "/privacy/me").await.body;
        assert!(me.contains("You have objected to direct marketing") && me.contains("Rectification"), "{me}");

        // The DPO applies the proposed correction as it stands.
        let path = format!("/api/v1/dsr/{rectification}/fulfil");
        let (status, done) = send_as(s, &p.dpo, Method::POST, &path, Some(&json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        let (_, contact) = send_as(s, &p.dpo, Method::GET, &format!("/api/v1/contacts/{}", p.person), None).await;
        assert_eq!(contact["family_name"], "Kovalenko-Shevchuk");

        // The DPO carries the erasure out: the session and the person are gone.
        let erasure = of("erasure")["id"].as_str().unwrap().to_string();
        let (status, _) =
            send_as(s, &p.dpo, Method::POST, &format!("/api/v1/dsr/{erasure}/fulfil"), Some(&json!({}))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v.get(s, "/privacy/me").await.location.as_deref(), Some("/privacy?ended=1"));
        p.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_before_a_session_and_in_the_portal_need_their_tokens_and_links_per_address_are_limited() {
    let portal = PortalSettings { per_address: Rate { per_minute: 1, burst: 2 }, ..Default::default() };
    let p = Portal::start(crate::harness::Backend::Sqlite, portal).await;
    let s = &p.s;
    // Another site's form has neither the browser's cookie nor its token.
    let mut stranger = Visitor::new();
    let forged = stranger.post(s, "/privacy", &[("email", KNOWN), ("form", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // The staff sign-in form is guarded the same way (no signing a browser in to another's account).
    let login = [("email", "someone@example.org"), ("password", "guess-guess-guess")];
    assert_eq!(stranger.post(s, "/login", &login).await.status, StatusCode::FORBIDDEN);
    let page = stranger.get(s, "/login").await;
    let form = Visitor::hidden(&page.body, "form");
    let attempt = stranger.post(s, "/login", &[login[0], login[1], ("form", form.as_str())]).await;
    assert_eq!(
        attempt.status,
        StatusCode::UNAUTHORIZED,
        "with its token the form is heard (and the password is wrong)"
    );
    let mut v = p.signed_in().await;
    let page = v.get(s, "/privacy/me").await;
    assert_eq!(page.status, StatusCode::OK);
    let no_token = v.post(s, "/privacy/me/objection", &[]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(p.requests().await.is_empty(), "nothing was filed");
    // The portal's cookie is no staff session, and no API credential.
    assert_eq!(v.get(s, "/").await.location.as_deref(), Some("/login"));
    let api = v.get(s, &format!("/api/v1/contacts/{}", p.person)).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    // One link went to the address already; one more, then 429 for that address only.
    assert_eq!(v.ask(s, KNOWN).await.status, StatusCode::OK);
    assert_eq!(v.ask(s, KNOWN).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v.ask(s, "someone.else@example.org").await.status, StatusCode::OK);
    p.stop().await;
}

/// Markers in an address asked for (known to nobody) and in a proposed
/// correction never appear in clear in the data directory or PostgreSQL,
/// in the waiting message, the link, the request or the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_value_given_to_the_portal_is_kept_in_clear() {
    use crate::canary::{scan_dir, scan_postgres};
    for backend in backends() {
        let p = Portal::start(backend, PortalSettings::default()).await;
        let s = &p.s;
        let (asked, corrected) =
            (format!("Pa{}", uuid::Uuid::new_v4().simple()), format!("Pc{}", uuid::Uuid::new_v4().simple()));
        let mut v = p.signed_in().await;
        let mut stranger = Visitor::new();
        assert_eq!(stranger.ask(s, &format!("{asked}@example.org")).await.status, StatusCode::OK);
        let fields = [("given_name", "Olena"), ("family_name", corrected.as_str()), ("emails", KNOWN), ("note", "")];
        assert_eq!(v.act(s, "/privacy/me/corrections", &fields).await.status, StatusCode::SEE_OTHER);
        let mut needles = Vec::new();
        for marker in [&asked, &corrected] {
            for form in [marker.clone(), marker.to_lowercase()] {
                let hex: String = form.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
                needles.push((format!("hex of {form}"), hex.into_bytes()));
                needles.push((form.clone(), form.into_bytes()));
            }
        }
        let mut found = Vec::new();
        scan_dir(&p.db.data_dir(), &needles, &mut found, &mut Vec::new());
        if let Some(url) = &p.db.url {
            scan_postgres(url, &needles, &mut found).await;
        }
        assert!(found.is_empty(), "personal values in clear: {found:?}");
        // The message is there, sealed: the outbox opens it.
        let messages = p.claim().await;
        assert!(messages.iter().any(|m| m["to"] == format!("{asked}@example.org")), "{messages:?}");
        p.stop().await;
    }
}
