//! The staff interface in a real browser: Debian's chromium driven through
//! chromedriver (WebDriver). Without chromedriver these tests say so and
//! pass outside CI; in CI (`CI` set) its absence fails them.
//!
//! Every page visited is checked by axe-core (vendored in `assets/`, run
//! in the page) for serious and critical accessibility violations.

use crate::harness::{assert_problem, send_as, token_for, Backend, Server, TestDb};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const AXE: &str = include_str!("assets/axe.min.js");
const PASSWORD: &str = "violet-harbour-lantern-92";
const NOTE: &str = "NoteMarkerB7";

/// A headless browser session and the chromedriver it talks to.
struct Browser {
    client: Client,
    driver: Child,
}

impl Browser {
    /// A browser whose preferred language is `lang`; `None` when there is
    /// no chromedriver here (and this is not CI).
    async fn start(lang: &str) -> Option<Self> {
        if !std::path::Path::new(CHROMEDRIVER).exists() {
            assert!(std::env::var_os("CI").is_none(), "CI needs {CHROMEDRIVER} (Debian's chromium-driver)");
            eprintln!("skipped: {CHROMEDRIVER} is not installed (apt-get install chromium chromium-driver)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut capabilities = serde_json::Map::new();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--ignore-certificate-errors",
            "--window-size=1280,900",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--lang={lang}"));
        let options = json!({"binary": CHROMIUM, "args": args, "prefs": {"intl.accept_languages": lang}});
        capabilities.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..50 {
            // chromedriver listens on loopback: plain HTTP, no TLS stack needed.
            let mut builder = ClientBuilder::new(HttpConnector::new());
            match builder.capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => return Some(Self { client, driver }),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    async fn open(&self, s: &Server, path: &str) {
        self.client.goto(&s.url(path)).await.unwrap();
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Waits until the browser shows `path` with a query that contains `query`.
    async fn arrive(&self, path: &str, query: &str) {
        for _ in 0..100 {
            let url = self.client.current_url().await.unwrap();
            let ready: bool =
                self.client.execute("return document.readyState === 'complete';", Vec::new()).await.unwrap()
                    == json!(true);
            if url.path() == path && url.query().unwrap_or_default().contains(query) && ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never arrived at {path}?{query}: at {}", self.client.current_url().await.unwrap());
    }

    async fn fill(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn press(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
    }

    /// Presses what submits a form and waits for the next page to load,
    /// even when it has the same address as this one.
    async fn submit(&self, css: &str) {
        self.client.execute("window.kithLeaving = true;", Vec::new()).await.unwrap();
        self.press(css).await;
        self.new_page().await;
    }

    /// Waits until the page marked as left is replaced and loaded.
    async fn new_page(&self) {
        let script = "return window.kithLeaving === undefined && document.readyState === 'complete';";
        for _ in 0..100 {
            if self.client.execute(script, Vec::new()).await.ok() == Some(json!(true)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page did not change: at {}", self.client.current_url().await.unwrap());
    }

    async fn sign_in(&self, s: &Server, email: &str) {
        self.open(s, "/login").await;
        self.fill("email", email).await;
        self.fill("password", PASSWORD).await;
        self.press("form[action='/login'] button").await;
        self.arrive("/", "").await;
    }

    async fn html(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// axe-core's serious and critical violations on the page shown.
    async fn accessibility_problems(&self) -> Vec<String> {
        self.client.execute(AXE, Vec::new()).await.unwrap();
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document).then(r => done(r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.help + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))));";
        let found = self.client.execute_async(script, Vec::new()).await.unwrap();
        found.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
    }

    /// The browser's session cookie, for a request made beside it.
    async fn session_cookie(&self) -> String {
        let cookie = self.client.get_named_cookie("kith_session").await.unwrap();
        format!("kith_session={}", cookie.value())
    }

    /// A form posted with the browser's session, as another page might.
    async fn post_form(&self, s: &Server, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let cookie = self.session_cookie().await;
        s.client.post(s.url(path)).header("cookie", cookie).form(form).send().await.unwrap()
    }

    /// A page fetched with the browser's session (a download, say).
    async fn get_with_session(&self, s: &Server, path: &str) -> reqwest::Response {
        let cookie = self.session_cookie().await;
        s.client.get(s.url(path)).header("cookie", cookie).send().await.unwrap()
    }

    /// A picture of the page for the documentation, when
    /// `KITH_SCREENSHOTS` names the folder to put it in.
    async fn snapshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("KITH_SCREENSHOTS") else { return };
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }

    /// Presses a key on whatever has the focus.
    async fn key(&self, key: Key) {
        self.client.active_element().await.unwrap().send_keys(&char::from(key).to_string()).await.unwrap();
    }

    /// Presses Tab until what has the focus is `target` (its id or text);
    /// false when `limit` presses do not reach it.
    async fn tab_to(&self, target: &str, limit: usize) -> bool {
        for _ in 0..limit {
            self.key(Key::Tab).await;
            if self.focused().await == target {
                return true;
            }
        }
        false
    }

    /// What has the focus: its id, else its text.
    async fn focused(&self) -> String {
        let script = "const e = document.activeElement; return e.id || e.textContent.trim();";
        self.client.execute(script, Vec::new()).await.unwrap().as_str().unwrap_or_default().to_string()
    }

    async fn assert_accessible(&self, page: &str) {
        let problems = self.accessibility_problems().await;
        assert!(problems.is_empty(), "{page}: {problems:#?}");
    }
}

/// A browser, a server on SQLite and its database: where each test starts.
async fn scene(lang: &str) -> Option<(Browser, Server, TestDb)> {
    let browser = Browser::start(lang).await?;
    let db = TestDb::new(Backend::Sqlite).await;
    let s = Server::start(&db).await;
    Some((browser, s, db))
}

async fn finish(browser: Browser, s: Server, db: TestDb) {
    browser.stop().await;
    s.stop().await;
    db.cleanup().await;
}

/// A notice, and the person's consent to e-mail marketing under it.
async fn consent_to_email_marketing(s: &Server, dpo: &str, person: &str) {
    let notice = json!({"version": "2026-11", "text": "We send offers by e-mail."});
    assert_eq!(send_as(s, dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);
    let consent = json!({"purpose": "marketing.communications.email", "granted": true, "notice_version": "2026-11",
                         "method": "api"});
    let path = format!("/api/v1/contacts/{person}/consents");
    let (status, entry) = send_as(s, dpo, Method::POST, &path, Some(&consent)).await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
}

async fn add_user(s: &Server, admin: &str, email: &str, role: &str) {
    let body = json!({"email": email, "display_name": "Test Person", "roles": [role], "password": PASSWORD});
    let (status, user) = send_as(s, admin, Method::POST, "/api/v1/users", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
}

async fn add_contact(s: &Server, body: &Value) -> String {
    let (status, contact) = s.post("/api/v1/contacts", body).await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    contact["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_find_a_contact_and_see_only_what_their_role_may() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;
    add_user(&s, &admin, "mia@example.org", "marketing").await;
    let olena = add_contact(
        &s,
        &json!({"given_name": "Olena", "family_name": "Kovalenko", "emails": ["olena@example.org"],
                "notes": NOTE, "tags": ["fair-2026"]}),
    )
    .await;
    add_contact(&s, &json!({"given_name": "Petro", "family_name": "Shevchuk"})).await;

    // A page without a session sends the reader to sign in.
    browser.open(&s, "/").await;
    assert_eq!(browser.path().await, "/login");
    assert_eq!(browser.client.title().await.unwrap(), "Sign in to Kith");
    browser.assert_accessible("sign-in").await;
    browser.snapshot("sign-in").await;

    // A wrong password is refused with a message, nothing else.
    browser.fill("email", "sam@example.org").await;
    browser.fill("password", "not-the-password-1").await;
    browser.press("form[action='/login'] button").await;
    browser.client.wait().for_element(Locator::Id("sign-in-error")).await.unwrap();
    assert_eq!(browser.path().await, "/login");

    browser.sign_in(&s, "sam@example.org").await;
    assert_eq!(browser.path().await, "/");
    let list = browser.html().await;
    assert!(list.contains("Olena Kovalenko") && list.contains("Petro Shevchuk"), "{list}");
    assert!(list.contains("olena@example.org"));
    let who = browser.client.find(Locator::Css("header .who")).await.unwrap().text().await.unwrap();
    assert_eq!(who, "Signed in as Test Person", "the header names the reader, not their account id");
    browser.assert_accessible("contacts").await;
    browser.snapshot("contacts").await;
    // Nothing on the page needs an inline style the policy would block.
    let styles = browser.client.execute("return document.querySelectorAll('style').length;", Vec::new()).await;
    assert_eq!(styles.unwrap(), json!(0));
    // The check finds what it should: a control without a label is serious.
    let unlabelled = "document.querySelector('main').appendChild(document.createElement('input'));";
    browser.client.execute(unlabelled, Vec::new()).await.unwrap();
    let problems = browser.accessibility_problems().await;
    assert!(problems.iter().any(|p| p.starts_with("label")), "{problems:?}");

    // Search by name words.
    browser.fill("q", "kovalenko").await;
    browser.press("form.search button").await;
    browser.arrive("/", "q=kovalenko").await;
    let found = browser.html().await;
    assert!(found.contains("Olena Kovalenko") && !found.contains("Petro Shevchuk"), "{found}");

    // The contact page shows what sales may see, notes included.
    browser.press(&format!("a[href='/contacts/{olena}']")).await;
    browser.arrive(&format!("/contacts/{olena}"), "").await;
    assert!(browser.html().await.contains(NOTE));
    browser.assert_accessible("contact").await;

    // The policy forbids inline script: one injected into the page does not run.
    let ran = browser
        .client
        .execute(
            "const s = document.createElement('script'); s.textContent = 'window.inlineRan = true;';
             document.body.appendChild(s); return window.inlineRan === true;",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(ran, json!(false), "the Content-Security-Policy blocks inline script");

    // A form without the session's token changes nothing.
    let forged = browser.post_form(&s, "/logout", &[("csrf", "not-the-token")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    browser.open(&s, "/").await;
    assert_eq!(browser.path().await, "/", "the session still holds");

    // Signing out ends the session; marketing does not see notes.
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;
    browser.open(&s, "/").await;
    assert_eq!(browser.path().await, "/login", "the old session is gone");
    browser.sign_in(&s, "mia@example.org").await;
    // Marketing e-mail needs consent: without it the person is not shown...
    browser.open(&s, &format!("/contacts/{olena}")).await;
    let refused = browser.html().await;
    assert!(!refused.contains("Kovalenko") && refused.contains("may not be used for the purpose"), "{refused}");
    browser.assert_accessible("refusal").await;
    // ...and with it, shown without the notes marketing may not read.
    let dpo = token_for(&s, "dpo").await;
    consent_to_email_marketing(&s, &dpo, &olena).await;
    browser.open(&s, &format!("/contacts/{olena}")).await;
    let page = browser.html().await;
    assert!(page.contains("Kovalenko") && !page.contains(NOTE), "{page}");

    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interface_speaks_ukrainian_to_a_ukrainian_browser() {
    let Some((browser, s, db)) = scene("uk").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "oksana@example.org", "sales").await;
    add_contact(&s, &json!({"given_name": "Тарас", "family_name": "Мельник"})).await;

    browser.open(&s, "/login").await;
    assert_eq!(browser.client.title().await.unwrap(), "Вхід до Kith");
    let lang = browser.client.find(Locator::Css("html")).await.unwrap().attr("lang").await.unwrap();
    assert_eq!(lang.as_deref(), Some("uk"));
    browser.sign_in(&s, "oksana@example.org").await;
    let list = browser.html().await;
    assert!(list.contains("Контакти") && list.contains("Тарас Мельник"), "{list}");
    assert!(list.contains("Один контакт на цій сторінці"), "{list}");
    let today = kith_server::clock::rfc3339_millis(kith_server::now_millis());
    let (year, month, day) = (&today[0..4], &today[5..7], &today[8..10]);
    assert!(list.contains(&format!("{day}.{month}.{year}")), "dates as Ukrainian writes them: {list}");
    browser.assert_accessible("contacts, uk").await;
    browser.snapshot("contacts-uk").await;

    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purpose_selector_filters_the_list_as_the_api_does() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "mia@example.org", "marketing").await;
    let olena = add_contact(&s, &json!({"given_name": "Olena", "family_name": "Kovalenko"})).await;
    add_contact(&s, &json!({"given_name": "Petro", "family_name": "Shevchuk"})).await;
    let dpo = token_for(&s, "dpo").await;
    consent_to_email_marketing(&s, &dpo, &olena).await;

    // Marketing's own purpose needs consent: only Olena gave it.
    browser.sign_in(&s, "mia@example.org").await;
    let list = browser.html().await;
    assert!(list.contains("Olena Kovalenko") && !list.contains("Petro Shevchuk"), "{list}");

    // Service delivery rests on the contract: everybody, and the choice stays.
    let select = browser.client.find(Locator::Id("purpose-select")).await.unwrap();
    select.select_by_value("essential.service").await.unwrap();
    browser.press("form.purpose-choice button").await;
    browser.arrive("/", "").await;
    browser.open(&s, "/").await;
    let list = browser.html().await;
    assert!(list.contains("Olena Kovalenko") && list.contains("Petro Shevchuk"), "{list}");
    let chosen = browser.client.find(Locator::Css("#purpose-select option[selected]")).await.unwrap();
    assert_eq!(chosen.attr("value").await.unwrap().as_deref(), Some("essential.service"));
    browser.assert_accessible("contacts, another purpose").await;

    // A purpose the role may not use is refused, and the list stays as chosen.
    let page = browser.client.find(Locator::Css("form.purpose-choice input[name=csrf]")).await.unwrap();
    let csrf = page.attr("value").await.unwrap().unwrap();
    let refused =
        browser.post_form(&s, "/purpose", &[("csrf", csrf.as_str()), ("purpose", "sales"), ("back", "/")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_page_shows_the_timeline_the_consents_and_who_looked_and_records_consent() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    // Only a DPO makes an account that reaches everyone's data.
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    let olena = add_contact(&s, &json!({"given_name": "Olena", "family_name": "Kovalenko"})).await;
    let call = json!({"contact_id": olena, "kind": "call", "occurred_at": "2026-11-30T10:00:00Z",
                      "subject": "Asked about the spring offer"});
    assert_eq!(s.post("/api/v1/interactions", &call).await.0, StatusCode::CREATED);
    let notice = json!({"version": "2026-11", "text": "We send offers by e-mail."});
    assert_eq!(send_as(&s, &dpo, Method::POST, "/api/v1/notices", Some(&notice)).await.0, StatusCode::CREATED);

    browser.sign_in(&s, "dora@example.org").await;
    browser.open(&s, &format!("/contacts/{olena}")).await;
    let page = browser.html().await;
    assert!(page.contains("Asked about the spring offer") && page.contains("Call"), "timeline: {page}");
    assert!(page.contains("Nov 30, 2026"), "dates as English writes them: {page}");
    assert!(page.contains("No consent recorded."), "{page}");
    assert!(page.contains("Processing is not restricted."), "{page}");
    // The access log names the sales token that created the person.
    assert!(page.contains("Who accessed this person") && page.contains("token:"), "{page}");
    browser.assert_accessible("contact, DPO").await;
    browser.snapshot("contact").await;

    // Record a consent given in person; the ledger and the API agree.
    let purpose = browser.client.find(Locator::Id("consent-purpose")).await.unwrap();
    purpose.select_by_value("marketing.communications.email").await.unwrap();
    let method = browser.client.find(Locator::Id("consent-method")).await.unwrap();
    method.select_by_value("in_person").await.unwrap();
    browser.submit("form.record-consent button").await;
    let page = browser.html().await;
    assert!(page.contains("In person") && page.contains("given"), "{page}");
    let (_, ledger) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{olena}/consents"), None).await;
    assert_eq!(ledger["current"]["marketing.communications.email"]["granted"], json!(true), "{ledger}");
    assert_eq!(ledger["current"]["marketing.communications.email"]["method"], json!("in_person"), "{ledger}");

    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_created_and_changed_through_forms_with_errors_at_their_fields() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;
    add_user(&s, &admin, "sue@example.org", "support").await;

    browser.sign_in(&s, "sam@example.org").await;
    browser.press("a[href='/contacts/new']").await;
    browser.arrive("/contacts/new", "").await;
    browser.assert_accessible("new contact").await;
    browser.fill("f-given_name", "Iryna").await;
    browser.fill("f-emails", "not-an-address").await;
    browser.fill("f-birthday", "1990-04-25").await;
    browser.press("form.contact-form button").await;
    browser.client.wait().for_element(Locator::Id("e-emails")).await.unwrap();
    let refused = browser.html().await;
    assert!(refused.contains("not-an-address"), "what was typed stays");
    let message = browser.client.find(Locator::Id("e-emails")).await.unwrap().text().await.unwrap();
    assert_eq!(message, "This is not an e-mail address.", "the reader's words for the rule");
    let field = browser.client.find(Locator::Id("f-emails")).await.unwrap();
    assert_eq!(field.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    browser.assert_accessible("new contact, refused").await;

    browser.fill("f-emails", "iryna@example.org").await;
    browser.press("form.contact-form button").await;
    browser.client.wait().for_element(Locator::Css("dl.fields")).await.unwrap();
    let id = browser.path().await.trim_start_matches("/contacts/").to_string();
    let (status, stored) = s.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(
        (stored["given_name"].as_str(), stored["emails"][0].as_str()),
        (Some("Iryna"), Some("iryna@example.org"))
    );
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    // Support may not see birthdays: the form lacks the field, and a change
    // leaves it as it was.
    browser.sign_in(&s, "sue@example.org").await;
    browser.open(&s, &format!("/contacts/{id}/edit")).await;
    assert!(browser.client.find(Locator::Id("f-birthday")).await.is_err(), "no birthday field for support");
    browser.fill("f-job_title", "Buyer").await;
    browser.submit("form.contact-form button").await;
    browser.arrive(&format!("/contacts/{id}"), "").await;
    assert!(browser.html().await.contains("Buyer"));
    let (_, stored) = s.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!((stored["job_title"].as_str(), stored["birthday"].as_str()), (Some("Buyer"), Some("1990-04-25")));

    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_works_through_the_request_queue_to_the_archive_and_the_erasure_receipt() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    let admin = token_for(&s, "admin").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;
    let olena = add_contact(&s, &json!({"given_name": "Olena", "family_name": "Kovalenko"})).await;
    let petro = add_contact(&s, &json!({"given_name": "Petro", "family_name": "Shevchuk"})).await;
    let register = |kind: &str, person: &str| json!({"kind": kind, "contact_id": person});
    let (_, access) = send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&register("access", &olena))).await;
    let (_, erasure) = send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&register("erasure", &petro))).await;
    let (access, erasure) = (access["id"].as_str().unwrap().to_string(), erasure["id"].as_str().unwrap().to_string());

    // Sales has no register: no link, and the page refuses.
    browser.sign_in(&s, "sam@example.org").await;
    assert!(browser.client.find(Locator::Css("a[href='/requests']")).await.is_err());
    browser.open(&s, "/requests").await;
    assert!(browser.html().await.contains("Your role may not see this."));
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "dora@example.org").await;
    browser.press("a[href='/requests']").await;
    browser.arrive("/requests", "").await;
    let queue = browser.html().await;
    assert!(queue.contains("Access") && queue.contains("Erasure"), "{queue}");
    browser.assert_accessible("request queue").await;
    browser.snapshot("requests").await;

    // Access: identity confirmed, archive downloaded, then completed.
    browser.press(&format!("a[href='/requests/{access}']")).await;
    browser.arrive(&format!("/requests/{access}"), "").await;
    browser.assert_accessible("request").await;
    browser.fill("verify-note", "passport seen at the counter").await;
    browser.press("form.step button").await;
    browser.client.wait().for_element(Locator::Id("archive-link")).await.unwrap();
    let status = browser.client.find(Locator::Id("request-status")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "In progress");
    let zip = browser.get_with_session(&s, &format!("/requests/{access}/archive")).await;
    assert_eq!(zip.status(), StatusCode::OK);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    assert!(zip.bytes().await.unwrap().starts_with(b"PK"));
    browser.open(&s, &format!("/requests/{access}")).await;
    browser.submit("#fulfil").await;
    let status = browser.client.find(Locator::Id("request-status")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "Completed");

    // Erasure: the person is gone, the receipt is shown.
    browser.open(&s, &format!("/requests/{erasure}")).await;
    browser.fill("verify-note", "called back on the number we hold").await;
    browser.press("form.step button").await;
    browser.client.wait().for_element(Locator::Id("fulfil")).await.unwrap();
    browser.press("#fulfil").await;
    browser.client.wait().for_element(Locator::Id("receipt")).await.unwrap();
    assert_eq!(s.get(&format!("/api/v1/contacts/{petro}")).await.0, StatusCode::NOT_FOUND);
    browser.assert_accessible("erasure receipt").await;

    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_pages_work_from_the_keyboard_alone() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;
    let olena = add_contact(&s, &json!({"given_name": "Olena", "family_name": "Kovalenko"})).await;

    // Sign in by typing and Enter only.
    browser.open(&s, "/login").await;
    browser.client.find(Locator::Id("email")).await.unwrap().click().await.unwrap();
    browser.client.active_element().await.unwrap().send_keys("sam@example.org").await.unwrap();
    browser.key(Key::Tab).await;
    assert_eq!(browser.focused().await, "password");
    browser.client.active_element().await.unwrap().send_keys(PASSWORD).await.unwrap();
    browser.key(Key::Enter).await;
    browser.arrive("/", "").await;

    // The first Tab reaches the skip link, which moves the focus to the content.
    browser.key(Key::Tab).await;
    assert_eq!(browser.focused().await, "Skip to content");
    browser.key(Key::Enter).await;
    assert_eq!(browser.focused().await, "main");

    // From there, Tab reaches the person's link, and Enter opens the page.
    let mut reached = false;
    for _ in 0..12 {
        browser.key(Key::Tab).await;
        if browser.focused().await == "Olena Kovalenko" {
            reached = true;
            break;
        }
    }
    assert!(reached, "the contact's link is reachable by Tab");
    browser.key(Key::Enter).await;
    browser.arrive(&format!("/contacts/{olena}"), "").await;

    // Signing out is a Tab away from the header's start.
    browser.open(&s, "/").await;
    assert!(browser.tab_to("Sign out", 20).await, "sign out is reachable by Tab");
    browser.key(Key::Enter).await;
    browser.arrive("/login", "").await;

    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_set_up_an_authenticator_and_change_their_password_in_the_browser() {
    use kith_crypto::totp;
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;

    browser.sign_in(&s, "sam@example.org").await;
    browser.press("a[href='/account']").await;
    browser.arrive("/account", "").await;
    browser.assert_accessible("account").await;
    browser.press("#totp-begin").await;
    browser.client.wait().for_element(Locator::Id("totp-secret")).await.unwrap();
    let qr = browser.client.find(Locator::Css("img.qr")).await.unwrap().attr("src").await.unwrap().unwrap();
    assert!(qr.starts_with("data:image/svg+xml;base64,"), "{qr}");
    browser.assert_accessible("account, enrolling").await;
    let shown = browser.client.find(Locator::Id("totp-secret")).await.unwrap().text().await.unwrap();
    let secret = totp::base32_decode(&shown).unwrap();
    let now = u64::try_from(kith_server::now_millis() / 1000).unwrap();
    let code = totp::code_at(&secret, totp::step_at(now));

    let wrong = if code == "000000" { "111111" } else { "000000" };
    browser.fill("totp-code", wrong).await;
    browser.press("form[action='/account/totp/confirm'] button").await;
    browser.client.wait().for_element(Locator::Id("account-problem")).await.unwrap();
    // A wrong code is refused; starting again gives a new key, whose code completes it.
    browser.press("#totp-begin").await;
    browser.client.wait().for_element(Locator::Id("totp-secret")).await.unwrap();
    let shown = browser.client.find(Locator::Id("totp-secret")).await.unwrap().text().await.unwrap();
    let secret = totp::base32_decode(&shown).unwrap();
    let code = totp::code_at(&secret, totp::step_at(now));
    browser.fill("totp-code", &code).await;
    browser.press("form[action='/account/totp/confirm'] button").await;
    browser.client.wait().for_element(Locator::Id("recovery-codes")).await.unwrap();
    let codes = browser.client.find_all(Locator::Css("#recovery-codes li")).await.unwrap();
    assert_eq!(codes.len(), 10);

    // A wrong current password changes nothing; the right one does.
    browser.open(&s, "/account").await;
    browser.fill("current-password", "not-the-password-1").await;
    browser.fill("new-password", "amber-orchard-whistle-57").await;
    browser.press("#password-change").await;
    browser.client.wait().for_element(Locator::Id("account-problem")).await.unwrap();
    browser.fill("current-password", PASSWORD).await;
    browser.fill("new-password", "amber-orchard-whistle-57").await;
    browser.press("#password-change").await;
    browser.client.wait().for_element(Locator::Id("account-notice")).await.unwrap();

    // Signing in now takes the new password and a code.
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;
    browser.fill("email", "sam@example.org").await;
    browser.fill("password", "amber-orchard-whistle-57").await;
    browser.press("form[action='/login'] button").await;
    browser.client.wait().for_element(Locator::Id("sign-in-error")).await.unwrap();
    browser.fill("password", "amber-orchard-whistle-57").await;
    browser.fill("code", &totp::code_at(&secret, totp::step_at(now) + 1)).await;
    browser.press("form[action='/login'] button").await;
    browser.arrive("/", "").await;

    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_list_and_show_their_people() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;
    let (status, acme) = s
        .post("/api/v1/companies", &json!({"name": "Acme GmbH", "domain": "acme.example", "tags": ["supplier"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{acme}");
    let acme = acme["id"].as_str().unwrap().to_string();
    add_contact(
        &s,
        &json!({"given_name": "Olena", "family_name": "Kovalenko", "company_id": acme,
                            "job_title": "Buyer"}),
    )
    .await;
    add_contact(&s, &json!({"given_name": "Petro", "family_name": "Shevchuk"})).await;

    browser.sign_in(&s, "sam@example.org").await;
    browser.press("a[href='/companies']").await;
    browser.arrive("/companies", "").await;
    assert!(browser.html().await.contains("acme.example"));
    browser.assert_accessible("companies").await;
    browser.press(&format!("a[href='/companies/{acme}']")).await;
    browser.arrive(&format!("/companies/{acme}"), "").await;
    let page = browser.html().await;
    assert!(page.contains("Olena Kovalenko") && page.contains("Buyer") && !page.contains("Petro"), "{page}");
    browser.assert_accessible("company").await;

    // A new company through its form, refused at its field first, then changed.
    browser.open(&s, "/companies").await;
    browser.press("a[href='/companies/new']").await;
    browser.arrive("/companies/new", "").await;
    browser.assert_accessible("new company").await;
    browser.fill("f-name", "Bilyi Lebid TOV").await;
    browser.fill("f-emails", "not-an-address").await;
    browser.submit("form.contact-form button").await;
    let message = browser.client.find(Locator::Id("e-emails")).await.unwrap().text().await.unwrap();
    assert_eq!(message, "This is not an e-mail address.");
    browser.fill("f-emails", "office@lebid.example").await;
    browser.submit("form.contact-form button").await;
    let company = browser.path().await.trim_start_matches("/companies/").to_string();
    assert!(browser.html().await.contains("office@lebid.example"));
    browser.press(&format!("a[href='/companies/{company}/edit']")).await;
    browser.arrive(&format!("/companies/{company}/edit"), "").await;
    browser.fill("f-domain", "lebid.example").await;
    browser.submit("form.contact-form button").await;
    let (_, stored) = s.get(&format!("/api/v1/companies/{company}")).await;
    assert_eq!((stored["name"].as_str(), stored["domain"].as_str()), (Some("Bilyi Lebid TOV"), Some("lebid.example")));

    finish(browser, s, db).await;
}

/// The message the outbox holds for `to`, claimed as the mail integration would.
async fn message_to(s: &Server, dpo: &str, to: &str) -> Value {
    let (status, page) = send_as(s, dpo, Method::POST, "/api/v1/outbox/claim", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().iter().find(|m| m["to"] == to).cloned().unwrap_or_else(|| panic!("{page}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_uses_the_privacy_portal_from_the_link_to_an_erasure_request() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    let email = "mykola.portal@example.org";
    let person = add_contact(&s, &json!({"given_name": "Mykola", "family_name": "Bondar", "emails": [email]})).await;
    consent_to_email_marketing(&s, &dpo, &person).await;

    browser.open(&s, "/privacy").await;
    browser.assert_accessible("privacy portal").await;
    browser.fill("email", email).await;
    browser.press("form[action='/privacy'] button").await;
    browser.client.wait().for_element(Locator::Id("privacy-notice")).await.unwrap();
    browser.assert_accessible("privacy portal, link sent").await;

    // The link from the message lands on a page with one button.
    let message = message_to(&s, &dpo, email).await;
    let token = message["token"].as_str().unwrap();
    browser.open(&s, &format!("/privacy/open?token={token}")).await;
    browser.assert_accessible("privacy portal, open").await;
    browser.press("#open-portal").await;
    browser.arrive("/privacy/me", "").await;
    let page = browser.html().await;
    assert!(page.contains("Mykola") && page.contains(email) && page.contains("Given on"), "{page}");
    browser.assert_accessible("privacy portal, the person's page").await;
    browser.snapshot("privacy-portal").await;

    // Withdrawing the consent is a ledger entry of the person's.
    browser.press("#consents form button").await;
    browser.arrive("/privacy/me", "done=consent").await;
    assert!(browser.html().await.contains("Withdrawn on"));
    let (_, ledger) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{person}/consents"), None).await;
    assert_eq!(ledger["current"]["marketing.communications.email"]["method"], "portal", "{ledger}");
    assert_eq!(ledger["current"]["marketing.communications.email"]["granted"], false);

    // A correction proposed: the DPO applies it from the request's page.
    browser.fill("family_name", "Bondarenko").await;
    browser.fill("correction-note", "My name changed").await;
    browser.press("#propose-correction").await;
    browser.arrive("/privacy/me", "done=correction").await;
    let (_, register) = send_as(&s, &dpo, Method::GET, "/api/v1/dsr", None).await;
    let rectification = register["items"].as_array().unwrap().iter().find(|r| r["kind"] == "rectification").unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Erasure asked for: a request in the DPO's register, running.
    browser.fill("erasure-note", "I moved abroad").await;
    browser.press("#erasure-confirm").await;
    browser.press("#ask-erasure").await;
    browser.arrive("/privacy/me", "done=erasure").await;
    let requests = browser.client.find(Locator::Id("my-requests")).await.unwrap().text().await.unwrap();
    assert!(requests.contains("Erasure") && requests.contains("In progress"), "{requests}");
    let (_, register) = send_as(&s, &dpo, Method::GET, "/api/v1/dsr", None).await;
    let filed = register["items"].as_array().unwrap().iter().find(|r| r["kind"] == "erasure").unwrap();
    assert_eq!((filed["kind"].as_str(), filed["channel"].as_str()), (Some("erasure"), Some("portal")), "{register}");
    assert_eq!(filed["contact_id"], person.as_str());
    browser.assert_accessible("privacy portal, after the requests").await;

    // Signing out ends the session: the page is gone.
    browser.press("form.sign-out button").await;
    browser.arrive("/privacy", "ended=1").await;
    browser.open(&s, "/privacy/me").await;
    browser.arrive("/privacy", "ended=1").await;

    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    browser.sign_in(&s, "dora@example.org").await;
    browser.open(&s, &format!("/requests/{rectification}")).await;
    let changes = browser.client.find(Locator::Id("request-changes")).await.unwrap().text().await.unwrap();
    assert!(changes.contains("Family name") && changes.contains("Bondarenko"), "{changes}");
    browser.assert_accessible("a rectification from the portal").await;
    browser.submit("#rectify").await;
    let status = browser.client.find(Locator::Id("request-status")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "Completed");
    let (_, contact) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{person}"), None).await;
    assert_eq!(contact["family_name"], "Bondarenko");
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_privacy_portal_speaks_ukrainian() {
    let Some((browser, s, db)) = scene("uk").await else { return };
    browser.open(&s, "/privacy").await;
    let page = browser.html().await;
    assert!(page.contains("Перегляд і керування вашими персональними даними"), "{page}");
    browser.fill("email", "nobody@example.org").await;
    browser.press("form[action='/privacy'] button").await;
    browser.client.wait().for_element(Locator::Id("privacy-notice")).await.unwrap();
    assert!(browser.html().await.contains("Перевірте свою пошту"));
    browser.assert_accessible("privacy portal, uk").await;
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_add_a_task_and_a_deal_move_it_through_the_pipeline_and_finish_the_day() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;
    browser.sign_in(&s, "sam@example.org").await;
    // A contact of Sam's own, so that everything about them is in Sam's scope.
    browser.open(&s, "/contacts/new").await;
    browser.fill("f-given_name", "Iryna").await;
    browser.fill("f-family_name", "Tkachenko").await;
    browser.press("form.contact-form button").await;
    browser.client.wait().for_element(Locator::Id("add-interaction")).await.unwrap();
    let person = browser.path().await.trim_start_matches("/contacts/").to_string();

    // A call, then a task due today.
    browser.press("#add-interaction summary").await;
    browser.client.find(Locator::Css("#interaction-kind option[value='call']")).await.unwrap().click().await.unwrap();
    browser.fill("interaction-subject", "Asked about the annual plan").await;
    browser.submit("#add-interaction-submit").await;
    browser.press("#add-interaction summary").await;
    browser.client.find(Locator::Css("#interaction-kind option[value='task']")).await.unwrap().click().await.unwrap();
    browser.fill("interaction-subject", "Send the offer").await;
    let today = &kith_server::clock::rfc3339_millis(kith_server::now_millis())[..10];
    let due = browser.client.find(Locator::Id("interaction-due")).await.unwrap();
    browser
        .client
        .execute("arguments[0].value = arguments[1];", vec![serde_json::to_value(&due).unwrap(), json!(today)])
        .await
        .unwrap();
    browser.submit("#add-interaction-submit").await;
    let timeline = browser.client.find(Locator::Css("ol.timeline")).await.unwrap().text().await.unwrap();
    assert!(timeline.contains("Asked about the annual plan") && timeline.contains("Send the offer"), "{timeline}");

    // A deal, moved on the board from proposal to won.
    browser.press("#add-deal summary").await;
    browser.fill("deal-title", "Annual plan").await;
    browser.fill("deal-amount", "1200.50").await;
    browser.fill("deal-currency", "EUR").await;
    browser.client.find(Locator::Css("#deal-stage option[value='proposal']")).await.unwrap().click().await.unwrap();
    browser.submit("#add-deal-submit").await;
    browser.assert_accessible("contact with its forms").await;
    // A purchase of two lines, with its page and total.
    browser.open(&s, &format!("/contacts/{person}")).await;
    browser.press("#add-purchase summary").await;
    browser.fill("purchase-currency", "EUR").await;
    for (n, sku, quantity, price) in [(1, "PLAN-Y", "1", "1000.00"), (2, "SEAT", "3", "66.50")] {
        browser.fill(&format!("line-{n}-sku"), sku).await;
        browser.fill(&format!("line-{n}-quantity"), quantity).await;
        browser.fill(&format!("line-{n}-unit-price"), price).await;
    }
    browser.submit("#add-purchase-submit").await;
    assert!(browser.path().await.starts_with("/purchases/"));
    let purchase = browser.client.find(Locator::Id("purchase")).await.unwrap().text().await.unwrap();
    assert!(purchase.contains("PLAN-Y") && purchase.contains("199.50"), "{purchase}");
    let total = browser.client.find(Locator::Id("purchase-total")).await.unwrap().text().await.unwrap();
    assert_eq!(total, "1,199.50 EUR");
    browser.assert_accessible("a purchase").await;

    browser.press("a[href='/deals']").await;
    browser.arrive("/deals", "").await;
    browser.assert_accessible("deal pipeline").await;
    let proposal = browser.client.find(Locator::Id("column-proposal")).await.unwrap().text().await.unwrap();
    assert!(proposal.contains("Annual plan") && proposal.contains("1,200.50 EUR"), "{proposal}");
    browser.submit("#column-proposal button[data-stage='negotiation']").await;
    // From the keyboard: focus the move to "won" and press Enter.
    let won = browser.client.find(Locator::Css("#column-negotiation button[data-stage='won']")).await.unwrap();
    browser.client.execute("arguments[0].focus();", vec![serde_json::to_value(&won).unwrap()]).await.unwrap();
    browser.client.execute("window.kithLeaving = true;", Vec::new()).await.unwrap();
    browser.key(Key::Enter).await;
    browser.new_page().await;
    let won = browser.client.find(Locator::Id("column-won")).await.unwrap().text().await.unwrap();
    assert!(won.contains("Annual plan"), "{won}");
    browser.snapshot("deals").await;
    // The deal's details are edited through its form, and the board shows them.
    browser.press("#column-won a[href$='/edit']").await;
    browser.client.find(Locator::Id("f-amount")).await.unwrap();
    browser.assert_accessible("a deal's form").await;
    browser.fill("f-amount", "1500").await;
    browser.fill("f-expected_close", "not a date").await;
    browser.submit("form.contact-form button").await;
    assert!(browser.client.find(Locator::Id("e-expected_close")).await.is_ok(), "refused at its field");
    browser.fill("f-expected_close", "2027-01-15").await;
    browser.submit("form.contact-form button").await;
    let won = browser.client.find(Locator::Id("column-won")).await.unwrap().text().await.unwrap();
    assert!(won.contains("1,500 EUR"), "{won}");
    // Each move is an audited update of the deal's stage.
    let dpo = token_for(&s, "dpo").await;
    let (_, log) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{person}/access-log"), None).await;
    let moves = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["entity"] == "deals"
                && e["action"] == "update"
                && e["fields"].as_array().unwrap().contains(&json!("stage"))
        })
        .count();
    assert_eq!(moves, 2, "two moves, and the edit changed no stage: {log}");

    // My day: the task due today, then done.
    browser.press("a[href='/today']").await;
    browser.arrive("/today", "").await;
    browser.assert_accessible("my day").await;
    let tasks = browser.client.find(Locator::Id("tasks")).await.unwrap().text().await.unwrap();
    assert!(tasks.contains("Send the offer") && tasks.contains("due today"), "{tasks}");
    assert!(!tasks.contains("Asked about the annual plan"), "a call is no task");
    browser.submit("#tasks form button").await;
    assert!(browser.html().await.contains("No open tasks"));
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_keeps_its_own_language_across_browsers_and_sign_ins() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "oksana@example.org", "sales").await;
    let person = add_contact(&s, &json!({"given_name": "Taras", "family_name": "Melnyk"})).await;
    let deal =
        json!({"title": "Supply", "stage": "lead", "amount": "1234567.50", "currency": "UAH", "contact_id": person});
    assert_eq!(s.post("/api/v1/deals", &deal).await.0, StatusCode::CREATED);

    browser.sign_in(&s, "oksana@example.org").await;
    assert!(browser.html().await.contains("Contacts"));
    browser.open(&s, "/account").await;
    browser.client.find(Locator::Css("#language option[value='uk']")).await.unwrap().click().await.unwrap();
    browser.submit("#language-save").await;
    let page = browser.html().await;
    assert!(page.contains("Мова інтерфейсу"), "{page}");
    browser.assert_accessible("account, uk").await;
    // Numbers as Ukrainian writes them.
    browser.open(&s, "/deals").await;
    let lead = browser.client.find(Locator::Id("column-lead")).await.unwrap().text().await.unwrap();
    assert!(lead.contains("1 234 567,50 UAH"), "{lead}");

    // Signing out gives the browser its own language back; signing in, the account's.
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;
    assert_eq!(browser.client.title().await.unwrap(), "Sign in to Kith");
    browser.sign_in(&s, "oksana@example.org").await;
    assert!(browser.html().await.contains("Контакти"));

    // Back to the browser's language.
    browser.open(&s, "/account").await;
    browser.client.find(Locator::Css("#language option[value='']")).await.unwrap().click().await.unwrap();
    browser.submit("#language-save").await;
    assert!(browser.html().await.contains("Language of the interface"));
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_reads_the_audit_log_newest_first_filters_it_and_verifies_the_chain() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;
    let olena = add_contact(&s, &json!({"given_name": "Olena", "family_name": "Kovalenko"})).await;
    add_contact(&s, &json!({"given_name": "Petro", "family_name": "Shevchuk"})).await;
    assert_eq!(s.get(&format!("/api/v1/contacts/{olena}")).await.0, StatusCode::OK);

    // Sales may not read the log: no link, and the page refuses.
    browser.sign_in(&s, "sam@example.org").await;
    assert!(browser.client.find(Locator::Css("a[href='/audit']")).await.is_err());
    browser.open(&s, "/audit").await;
    assert!(browser.html().await.contains("Your role may not see this."));
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "dora@example.org").await;
    browser.press("a[href='/audit']").await;
    browser.arrive("/audit", "").await;
    browser.assert_accessible("audit log").await;
    let seqs: Vec<i64> = {
        let cells = browser.client.find_all(Locator::Css("#events tbody tr td:first-child")).await.unwrap();
        let mut out = Vec::new();
        for cell in cells {
            out.push(cell.text().await.unwrap().parse().unwrap());
        }
        out
    };
    assert!(seqs.len() > 3 && seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");

    // Filtered to one person: only events about Olena.
    browser.fill("subject", &olena).await;
    browser.client.find(Locator::Css("#action option[value='read']")).await.unwrap().click().await.unwrap();
    browser.submit("#filter-audit").await;
    let events = browser.client.find(Locator::Id("events")).await.unwrap().text().await.unwrap();
    assert!(events.contains(&olena) && events.contains("read") && !events.contains("create"), "{events}");
    let filtered = browser.client.find(Locator::Id("subject")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(filtered.as_deref(), Some(olena.as_str()), "the filter stays in the form");

    // The chain verifies.
    browser.submit("#verify-chain").await;
    let state = browser.client.find(Locator::Id("chain-state")).await.unwrap().text().await.unwrap();
    assert!(state.starts_with("Intact"), "{state}");
    browser.assert_accessible("audit log, verified").await;
    // A malformed filter is refused plainly.
    browser.open(&s, "/audit?subject=not-an-id").await;
    assert!(browser.html().await.contains("<h1>"), "a page, not a crash");
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_publishes_a_notice_and_a_form_whose_page_collects_a_confirmed_consent() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    browser.sign_in(&s, "dora@example.org").await;
    browser.press("a[href='/consent']").await;
    browser.arrive("/consent", "").await;
    let purposes = browser.client.find(Locator::Id("purposes")).await.unwrap().text().await.unwrap();
    assert!(purposes.contains("E-mail marketing") && purposes.contains("Consent"), "{purposes}");
    browser.assert_accessible("purposes, notices and forms").await;

    // A purpose on legitimate interests without its balancing note is refused, at the top.
    browser.press("#add-purpose summary").await;
    browser.fill("purpose-key", "marketing.advertising.first_party").await;
    browser.fill("purpose-name", "Our own adverts").await;
    browser
        .client
        .find(Locator::Css("#purpose-basis option[value='legitimate_interests']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.fill("purpose-categories", "user.contact.email").await;
    browser.fill("purpose-retention", "365").await;
    browser.submit("#add-purpose-submit").await;
    let problem = browser.client.find(Locator::Id("consent-problem")).await.unwrap().text().await.unwrap();
    assert!(problem.contains("balancing_note"), "{problem}");

    // A notice, then a form under it.
    browser.press("#add-notice summary").await;
    browser.fill("notice-version", "2026-12").await;
    browser.fill("notice-text", "We write to you about our offers until you say stop.").await;
    browser.submit("#add-notice-submit").await;
    assert!(browser.client.find(Locator::Id("notices")).await.unwrap().text().await.unwrap().contains("2026-12"));
    browser.press("#add-form summary").await;
    browser.fill("form-name", "Newsletter footer").await;
    browser
        .client
        .find(Locator::Css("input[name='purposes'][value='marketing.communications.email']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.submit("#add-form-submit").await;
    let link =
        browser.client.find(Locator::Css(".capture-form dd a")).await.unwrap().attr("href").await.unwrap().unwrap();
    let snippet =
        browser.client.find(Locator::Css("textarea.snippet")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(snippet.contains(&link), "{snippet}");
    browser.assert_accessible("a form with its link").await;

    // A visitor fills in the form's page and confirms from the message.
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;
    browser.client.goto(&link).await.unwrap();
    browser.assert_accessible("a capture form's page").await;
    browser.fill("email", "reader@example.org").await;
    browser.press("input[name='purposes']").await;
    browser.submit("#capture-submit").await;
    browser.client.find(Locator::Id("capture-sent")).await.unwrap();
    let message = message_to(&s, &dpo, "reader@example.org").await;
    let token = message["token"].as_str().unwrap();
    browser.open(&s, &format!("/forms/confirm?token={token}")).await;
    browser.assert_accessible("confirmation").await;
    browser.submit("#capture-confirm").await;
    browser.client.find(Locator::Id("capture-confirmed")).await.unwrap();
    let (_, found) = send_as(&s, &dpo, Method::GET, "/api/v1/contacts?email=reader@example.org", None).await;
    let person = found["items"][0]["id"].as_str().unwrap().to_string();
    let (_, ledger) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{person}/consents"), None).await;
    let current = &ledger["current"]["marketing.communications.email"];
    assert_eq!(
        (current["granted"].as_bool(), current["method"].as_str()),
        (Some(true), Some("double_opt_in")),
        "{ledger}"
    );
    // Used once.
    browser.open(&s, &format!("/forms/confirm?token={token}")).await;
    browser.submit("#capture-confirm").await;
    browser.client.find(Locator::Id("capture-problem")).await.unwrap();
    finish(browser, s, db).await;
}

/// Defines a role reading and updating contacts' identity and contact details, from the grid.
async fn define_role(browser: &Browser, name: &str) {
    browser.press("#add-role summary").await;
    browser.fill("role-name", name).await;
    browser.press("#grid-contacts-read").await;
    browser.press("#grid-contacts-update").await;
    browser.press("#role-field-identity").await;
    browser.press("#role-field-contact_details").await;
    browser.submit("#add-role-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administration_accounts_a_role_from_its_grid_and_a_key_shown_once() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "ada@example.org", "admin").await;

    // The admin adds an account and disables it.
    browser.sign_in(&s, "ada@example.org").await;
    browser.press("a[href='/admin']").await;
    browser.arrive("/admin", "").await;
    browser.assert_accessible("administration, admin").await;
    assert!(browser.client.find(Locator::Id("issue-key")).await.is_err(), "only the DPO issues keys");
    browser.press("#add-account summary").await;
    browser.fill("account-email", "sid@example.org").await;
    browser.fill("account-display-name", "Sid").await;
    browser.press("#account-role-sales").await;
    browser.fill("account-password", PASSWORD).await;
    browser.submit("#add-account-submit").await;
    let accounts = browser.client.find(Locator::Id("accounts")).await.unwrap().text().await.unwrap();
    assert!(accounts.contains("sid@example.org") && accounts.contains("sales"), "{accounts}");
    browser.submit("button[aria-label='Disable sid@example.org']").await;
    let accounts = browser.client.find(Locator::Id("accounts")).await.unwrap().text().await.unwrap();
    assert!(accounts.contains("Disabled"), "{accounts}");

    // A role reaching people's data is more than the admin holds: refused.
    define_role(&browser, "field_sales").await;
    assert!(browser.client.find(Locator::Id("admin-problem")).await.is_ok(), "the admin may not grant it");
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    // The DPO may: the role appears as a grid; then a key, shown once, and revoked.
    browser.sign_in(&s, "dora@example.org").await;
    browser.open(&s, "/admin").await;
    define_role(&browser, "field_sales").await;
    let role = browser.client.find(Locator::Id("role-field_sales")).await.unwrap().text().await.unwrap();
    assert!(role.contains("contacts") && role.contains("contact_details, identity"), "{role}");
    let mailer = crate::harness::register_mailer(&s, &dpo).await;
    browser.open(&s, "/admin").await;
    browser.press("#issue-key summary").await;
    let recipient = browser.client.find(Locator::Id("key-recipient")).await.unwrap();
    recipient.select_by_value(&mailer).await.unwrap();
    browser.press("input[name='purposes'][value='marketing.communications.email']").await;
    browser.press("#key-contacts-read").await;
    browser.submit("#issue-key-submit").await;
    let token = browser.client.find(Locator::Id("issued-token")).await.unwrap().text().await.unwrap();
    assert!(token.len() > 20, "{token}");
    browser.assert_accessible("administration, a key issued").await;
    let with_key = |token: String| {
        let s = &s;
        async move { s.client.get(s.url("/api/v1/contacts")).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(with_key(token.clone()).await, StatusCode::OK);
    browser.open(&s, "/admin").await;
    assert!(browser.client.find(Locator::Id("issued-token")).await.is_err(), "shown once");
    browser.submit("button[aria-label='Revoke the key of Mailer Ltd']").await;
    assert_eq!(with_key(token).await, StatusCode::UNAUTHORIZED);
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketing_builds_a_segment_sees_who_is_left_out_and_why_and_saves_it() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "mia@example.org", "marketing").await;
    let dpo = token_for(&s, "dpo").await;
    let tagged = |given: &str| json!({"given_name": given, "family_name": "Fairgoer", "tags": ["fair2026"]});
    let olena = add_contact(&s, &tagged("Olena")).await;
    let petro = add_contact(&s, &tagged("Petro")).await;
    add_contact(&s, &tagged("Iryna")).await;
    add_contact(&s, &json!({"given_name": "Taras", "family_name": "Elsewhere"})).await;
    consent_to_email_marketing(&s, &dpo, &olena).await;
    let restricted = send_as(&s, &dpo, Method::POST, &format!("/api/v1/contacts/{petro}/restriction"), None).await;
    assert_eq!(restricted.0, StatusCode::OK, "{}", restricted.1);

    // Marketing's own purpose (e-mail marketing) needs consent.
    browser.sign_in(&s, "mia@example.org").await;
    browser.press("a[href='/segments']").await;
    browser.arrive("/segments", "").await;
    browser.assert_accessible("segments").await;
    browser.fill("tags", "fair2026").await;
    browser.submit("#count-segment").await;
    let counts = browser.client.find(Locator::Id("segment-counts")).await.unwrap().text().await.unwrap();
    assert!(counts.contains("1 people may be used") && counts.contains("3 matched the filter"), "{counts}");
    assert!(
        counts.contains("no consent for this purpose: 1") && counts.contains("processing is restricted: 1"),
        "{counts}"
    );
    browser.assert_accessible("segments, counted").await;
    browser.fill("segment-name", "Fair leads").await;
    browser.submit("#save-segment").await;
    assert!(browser.path().await.starts_with("/segments/"));
    let members = browser.client.find(Locator::Id("segment-members")).await.unwrap().text().await.unwrap();
    assert_eq!(members, "Olena Fairgoer", "only who may be written to");
    browser.assert_accessible("a segment").await;
    browser.open(&s, "/segments").await;
    assert!(browser
        .client
        .find(Locator::Id("saved-segments"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Fair leads"));
    // A filter of the wrong shape is refused plainly.
    browser.open(&s, "/segments?count=1&deal_stage=nowhere").await;
    assert!(browser.client.find(Locator::Id("segment-problem")).await.is_ok());
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_verifies_a_request_by_a_token_and_unlocks_one_locked_by_wrong_tokens() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    let person = add_contact(&s, &json!({"given_name": "Olena", "family_name": "Kovalenko"})).await;
    let body = json!({"kind": "access", "contact_id": person});
    let (_, request) = send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&body)).await;
    let id = request["id"].as_str().unwrap().to_string();
    browser.sign_in(&s, "dora@example.org").await;
    browser.open(&s, &format!("/requests/{id}")).await;
    browser.submit("#issue-token").await;
    let first = browser.client.find(Locator::Id("issued-token")).await.unwrap().text().await.unwrap();
    assert!(first.starts_with("kith_dsr_"), "{first}");
    browser.assert_accessible("a request with its token").await;

    // Five wrong tokens lock the request; the DPO unlocks it.
    for _ in 0..5 {
        browser.open(&s, &format!("/requests/{id}")).await;
        browser.fill("check-token", "kith_dsr_wrong").await;
        browser.submit("#check-token-submit").await;
    }
    browser.open(&s, &format!("/requests/{id}")).await;
    let status = browser.client.find(Locator::Id("request-status")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "Locked after failed verifications");
    browser.submit("#unlock").await;
    let status = browser.client.find(Locator::Id("request-status")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "Received");

    // A new token, given back right, verifies the person.
    browser.submit("#issue-token").await;
    let token = browser.client.find(Locator::Id("issued-token")).await.unwrap().text().await.unwrap();
    assert_ne!(token, first, "a new token");
    browser.open(&s, &format!("/requests/{id}")).await;
    browser.fill("check-token", &token).await;
    browser.submit("#check-token-submit").await;
    let status = browser.client.find(Locator::Id("request-status")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "In progress");
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_privacy_portal_works_from_the_keyboard_alone() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    let email = "keys.only@example.org";
    let person = add_contact(&s, &json!({"given_name": "Oleh", "family_name": "Keys", "emails": [email]})).await;
    consent_to_email_marketing(&s, &dpo, &person).await;

    browser.open(&s, "/privacy").await;
    assert!(browser.tab_to("Skip to content", 3).await);
    assert!(browser.tab_to("email", 5).await, "the address field is reachable");
    browser.client.active_element().await.unwrap().send_keys(email).await.unwrap();
    browser.client.execute("window.kithLeaving = true;", Vec::new()).await.unwrap();
    browser.key(Key::Enter).await;
    browser.new_page().await;
    browser.client.find(Locator::Id("privacy-notice")).await.unwrap();

    let token = message_to(&s, &dpo, email).await["token"].as_str().unwrap().to_string();
    browser.open(&s, &format!("/privacy/open?token={token}")).await;
    assert!(browser.tab_to("open-portal", 6).await, "the button is reachable");
    browser.key(Key::Enter).await;
    browser.arrive("/privacy/me", "").await;
    assert!(browser.tab_to("Withdraw consent", 20).await, "a consent's button is reachable");
    browser.key(Key::Enter).await;
    browser.arrive("/privacy/me", "done=consent").await;
    assert!(browser.html().await.contains("Withdrawn on"));
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contacts_list_filters_by_phone_tag_company_and_owner_and_sorts() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;
    let (_, acme) = s.post("/api/v1/companies", &json!({"name": "Acme GmbH"})).await;
    let acme = acme["id"].as_str().unwrap().to_string();
    add_contact(
        &s,
        &json!({"given_name": "Olena", "family_name": "A", "company_id": acme, "phones": ["+380441234567"]}),
    )
    .await;
    add_contact(&s, &json!({"given_name": "Petro", "family_name": "B", "tags": ["vip"]})).await;
    add_contact(&s, &json!({"given_name": "Iryna", "family_name": "C"})).await;
    browser.sign_in(&s, "sam@example.org").await;
    // Sam's own contact.
    browser.open(&s, "/contacts/new").await;
    browser.fill("f-given_name", "Taras").await;
    browser.fill("f-family_name", "D").await;
    browser.submit("form.contact-form button").await;

    let names = |html: String| {
        ["Olena A", "Petro B", "Iryna C", "Taras D"].into_iter().filter(|n| html.contains(n)).collect::<Vec<_>>()
    };
    let search = |query: String| {
        let (browser, s) = (&browser, &s);
        async move {
            browser.open(s, &format!("/?{query}")).await;
            names(browser.html().await)
        }
    };
    assert_eq!(search("phone=%2B380441234567".into()).await, ["Olena A"]);
    assert_eq!(search("tag=vip".into()).await, ["Petro B"]);
    assert_eq!(search(format!("company={acme}")).await, ["Olena A"]);
    assert_eq!(search("mine=1".into()).await, ["Taras D"]);
    // Oldest first: the page lists them in the order they were added.
    browser.open(&s, "/?sort=created_at").await;
    let html = browser.html().await;
    let at = |name: &str| html.find(name).unwrap();
    assert!(at("Olena A") < at("Petro B") && at("Petro B") < at("Iryna C") && at("Iryna C") < at("Taras D"));
    // The form keeps the choices, and works from its controls.
    browser.open(&s, "/").await;
    browser
        .client
        .find(Locator::Css(&format!("#company option[value='{acme}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.submit("#search-contacts").await;
    assert_eq!(names(browser.html().await), ["Olena A"]);
    browser.assert_accessible("contacts, filtered").await;
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_carries_out_a_rectification_registered_by_letter_from_its_page() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    let person = add_contact(&s, &json!({"given_name": "Olena", "family_name": "Kovalenko"})).await;
    let body = json!({"kind": "rectification", "contact_id": person, "note": "letter of 28 November"});
    let (_, request) = send_as(&s, &dpo, Method::POST, "/api/v1/dsr", Some(&body)).await;
    let id = request["id"].as_str().unwrap().to_string();
    browser.sign_in(&s, "dora@example.org").await;
    browser.open(&s, &format!("/requests/{id}")).await;
    browser.fill("verify-note", "signature compared with the contract").await;
    browser.submit("form.step button").await;
    browser
        .client
        .find(Locator::Css("#correct-field option[value='family_name']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.fill("correct-value", "Kovalenko-Bondar").await;
    browser.assert_accessible("a rectification to carry out").await;
    browser.submit("#correct").await;
    let status = browser.client.find(Locator::Id("request-status")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "Completed");
    let (_, contact) = send_as(&s, &dpo, Method::GET, &format!("/api/v1/contacts/{person}"), None).await;
    assert_eq!(contact["family_name"], "Kovalenko-Bondar");
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reads_the_security_self_check_and_sales_may_not() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let admin = token_for(&s, "admin").await;
    add_user(&s, &admin, "ada@example.org", "admin").await;
    add_user(&s, &admin, "sam@example.org", "sales").await;

    browser.sign_in(&s, "sam@example.org").await;
    assert!(browser.client.find(Locator::Css("a[href='/doctor']")).await.is_err(), "no link for sales");
    browser.open(&s, "/doctor").await;
    assert!(browser.html().await.contains("Your role may not see this."));
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "ada@example.org").await;
    browser.press("a[href='/doctor']").await;
    browser.arrive("/doctor", "").await;
    browser.assert_accessible("security self-check").await;
    let counts = browser.client.find(Locator::Id("doctor-counts")).await.unwrap().text().await.unwrap();
    assert!(counts.contains("high") && counts.contains("medium"), "{counts}");
    // No backup yet, and Ada herself signs in without a second factor (high, as an admin).
    for check in ["backup_missing", "second_factor", "audit_not_verified"] {
        let row = browser.client.find(Locator::Css(&format!("#findings tr[data-check='{check}']"))).await;
        assert!(row.is_ok(), "{check} is listed:\n{}", browser.html().await);
    }
    let second = browser.client.find(Locator::Css("#findings tr[data-check='second_factor']")).await.unwrap();
    assert_eq!(second.attr("data-severity").await.unwrap().as_deref(), Some("high"));
    assert!(second.text().await.unwrap().contains("Accounts without a second factor"));
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_reads_the_retention_rules_and_what_they_would_do() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    add_user(&s, &dpo, "sam@example.org", "sales").await;
    add_contact(&s, &json!({"given_name": "Olena"})).await;

    browser.sign_in(&s, "sam@example.org").await;
    assert!(browser.client.find(Locator::Css("a[href='/retention']")).await.is_err(), "no link for sales");
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "dora@example.org").await;
    browser.press("a[href='/retention']").await;
    browser.arrive("/retention", "").await;
    browser.assert_accessible("retention").await;
    let kept = browser.client.find(Locator::Id("people-kept")).await.unwrap().text().await.unwrap();
    assert_eq!(kept.trim(), "1", "Olena is kept today");
    let service = browser.client.find(Locator::Css("#purpose-periods tr[data-purpose='essential.service']")).await;
    let service = service.unwrap().text().await.unwrap();
    assert!(
        service.contains("Service delivery") && service.contains("Contract") && service.contains("2555 days"),
        "{service}"
    );
    let purchases = browser.client.find(Locator::Css("#categories tr[data-category='purchases']")).await.unwrap();
    assert!(purchases.text().await.unwrap().contains("none of its own"));
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_registers_recipients_and_sees_which_may_receive_data() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    add_user(&s, &dpo, "sam@example.org", "sales").await;
    let person = add_contact(&s, &json!({"given_name": "Olena", "emails": ["olena@example.org"]})).await;

    browser.sign_in(&s, "sam@example.org").await;
    assert!(browser.client.find(Locator::Css("a[href='/recipients']")).await.is_err(), "no link for sales");
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "dora@example.org").await;
    browser.press("a[href='/recipients']").await;
    browser.arrive("/recipients", "").await;
    browser.assert_accessible("recipients, empty").await;
    let adequacy = browser.client.find(Locator::Id("adequacy")).await.unwrap().text().await.unwrap();
    assert!(adequacy.contains("Japan (JP)") && adequacy.contains("(EU) 2019/419"), "{adequacy}");

    // A processor in India without a mechanism: registered, its transfer refused.
    browser.fill("recipient-name", "Pune Analytics").await;
    browser.fill("recipient-country", "IN").await;
    browser.fill("recipient-contract", "DPA-2026-3").await;
    browser.press("input[name='purposes'][value='sales']").await;
    browser.submit("#recipient-submit").await;
    let transfer = browser.client.find(Locator::Id("recipient-transfer")).await.unwrap().text().await.unwrap();
    assert!(transfer.contains("outside the EEA without a valid transfer mechanism"), "{transfer}");
    browser.assert_accessible("a recipient without a mechanism").await;

    // A derogation without its ground is refused at the form, nothing changes.
    let mechanism = browser.client.find(Locator::Id("recipient-mechanism")).await.unwrap();
    mechanism.select_by_value("derogation").await.unwrap();
    browser.submit("#recipient-submit").await;
    let problem = browser.client.find(Locator::Id("recipient-problem")).await.unwrap().text().await.unwrap();
    assert!(problem.contains("derogation_ground"), "{problem}");
    let transfer = browser.client.find(Locator::Id("recipient-transfer")).await.unwrap().text().await.unwrap();
    assert!(transfer.contains("without a valid transfer mechanism"), "unchanged: {transfer}");

    // On standard contractual clauses, module 2: allowed.
    let mechanism = browser.client.find(Locator::Id("recipient-mechanism")).await.unwrap();
    mechanism.select_by_value("scc").await.unwrap();
    let module = browser.client.find(Locator::Id("recipient-scc")).await.unwrap();
    module.select_by_value("2").await.unwrap();
    browser.submit("#recipient-submit").await;
    let transfer = browser.client.find(Locator::Id("recipient-transfer")).await.unwrap().text().await.unwrap();
    assert_eq!(transfer.trim(), "Allowed");
    let pune = browser.path().await.trim_start_matches("/recipients/").to_string();

    // Its key reads Olena: the contact page names the recipient and what it received.
    let grant = crate::harness::key_grant(&pune, "sales");
    let (status, key) = send_as(&s, &dpo, Method::POST, "/api/v1/api-keys", Some(&grant)).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let read = format!("/api/v1/contacts/{person}");
    assert_eq!(send_as(&s, key["key"].as_str().unwrap(), Method::GET, &read, None).await.0, StatusCode::OK);
    browser.open(&s, &format!("/contacts/{person}")).await;
    let received = browser.client.find(Locator::Id("received-list")).await.unwrap().text().await.unwrap();
    assert!(received.contains("Pune Analytics") && received.contains("contact details"), "{received}");
    browser.assert_accessible("a contact with its recipients").await;

    // Ended: the register says so and offers no change.
    browser.open(&s, &format!("/recipients/{pune}")).await;
    browser.submit("#end-recipient").await;
    browser.arrive("/recipients", "").await;
    let register = browser.client.find(Locator::Id("recipients")).await.unwrap().text().await.unwrap();
    assert!(register.contains("Pune Analytics") && register.contains("Ended"), "{register}");
    assert_problem(&send_as(&s, key["key"].as_str().unwrap(), Method::GET, &read, None).await, 403, "recipient_ended");
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_sets_the_controllers_details_and_reads_the_record_of_processing() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    crate::harness::register_mailer(&s, &dpo).await;

    browser.sign_in(&s, "dora@example.org").await;
    browser.press("a[href='/ropa']").await;
    browser.arrive("/ropa", "").await;
    browser.assert_accessible("record of processing").await;
    let gaps = browser.client.find(Locator::Id("ropa-gaps")).await.unwrap().text().await.unwrap();
    assert!(gaps.contains("controller's name and contact details are not set"), "{gaps}");
    let email =
        browser.client.find(Locator::Css("#activities tr[data-purpose='marketing.communications.email']")).await;
    let email = email.unwrap().text().await.unwrap();
    assert!(email.contains("E-mail marketing") && email.contains("Mailer Ltd") && email.contains("Consent"), "{email}");

    // A malformed address is refused at the form; then the details are set.
    browser.press("#controller-edit summary").await;
    browser.fill("controller-name", "Kith Shop GmbH").await;
    browser.fill("controller-email", "privacy@shop.example").await;
    browser.fill("dpo-name", "Dora Data").await;
    browser.client.execute("document.getElementById('dpo-email').type = 'text';", Vec::new()).await.unwrap();
    browser.fill("dpo-email", "dora at shop").await;
    browser.submit("#controller-submit").await;
    let problem = browser.client.find(Locator::Id("ropa-problem")).await.unwrap().text().await.unwrap();
    assert!(problem.contains("dpo.email"), "{problem}");
    assert!(browser.client.find(Locator::Id("controller-details")).await.is_err(), "nothing was set");
    browser.fill("dpo-email", "dpo@shop.example").await;
    browser.submit("#controller-submit").await;
    let details = browser.client.find(Locator::Id("controller-details")).await.unwrap().text().await.unwrap();
    assert!(details.contains("Kith Shop GmbH") && details.contains("Dora Data, dpo@shop.example"), "{details}");
    browser.assert_accessible("record of processing, details set").await;

    // The downloads open with the session; people see who is responsible.
    let record = browser.get_with_session(&s, "/api/v1/ropa?format=html").await;
    assert_eq!(record.status(), StatusCode::OK);
    assert!(record.text().await.unwrap().contains("Data protection officer: Dora Data"));
    browser.open(&s, "/privacy").await;
    let responsible = browser.client.find(Locator::Id("controller")).await.unwrap().text().await.unwrap();
    assert!(responsible.contains("Kith Shop GmbH") && responsible.contains("dpo@shop.example"), "{responsible}");
    finish(browser, s, db).await;
}

/// Sets a field's value directly (date and time inputs take typed keys by locale).
async fn set_value(browser: &Browser, id: &str, value: &str) {
    let script = format!("document.getElementById('{id}').value = '{value}';");
    browser.client.execute(&script, Vec::new()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_records_a_breach_finds_the_people_and_notifies_within_72_hours() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    add_user(&s, &dpo, "sam@example.org", "sales").await;
    let start = kith_server::now_millis();
    let (leaked, row) = kith_server::auth::new_token("leaked", "sales", start, None);
    s.store.insert_token(&row).await.unwrap();
    for name in ["Ann", "Ben"] {
        let person = add_contact(&s, &json!({"given_name": name})).await;
        assert_eq!(
            send_as(&s, &leaked, Method::GET, &format!("/api/v1/contacts/{person}"), None).await.0,
            StatusCode::OK
        );
    }
    let alert = kith_store::AlertRow {
        id: uuid::Uuid::new_v4(),
        at: kith_server::now_millis(),
        rule: "mass_read".into(),
        actor: format!("token:{}", row.id),
        detail: "people:2".into(),
    };
    assert!(s.store.raise_alert(&alert, 0).await.unwrap());
    let minute = |offset_minutes: i64| {
        kith_server::clock::rfc3339_millis(kith_server::now_millis() + offset_minutes * 60_000)[..16].to_string()
    };

    browser.sign_in(&s, "sam@example.org").await;
    assert!(browser.client.find(Locator::Css("a[href='/breaches']")).await.is_err(), "no link for sales");
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "dora@example.org").await;
    browser.press("a[href='/breaches']").await;
    browser.arrive("/breaches", "").await;
    browser.assert_accessible("breaches, empty").await;
    // Aware in the future: refused, nothing recorded.
    browser.fill("breach-title", "Sales token published").await;
    set_value(&browser, "breach-aware", &minute(90)).await;
    browser.fill("breach-nature", "A sales token was committed to a public repository.").await;
    let risk = browser.client.find(Locator::Id("breach-risk")).await.unwrap();
    risk.select_by_value("high_risk").await.unwrap();
    browser.submit("#breach-submit").await;
    let problem = browser.client.find(Locator::Id("breach-problem")).await.unwrap().text().await.unwrap();
    assert!(problem.contains("aware_at"), "{problem}");
    assert!(browser.client.find(Locator::Id("breaches")).await.is_err(), "nothing recorded");
    set_value(&browser, "breach-aware", &minute(-60)).await;
    browser.submit("#breach-submit").await;
    let clock = browser.client.find(Locator::Id("breach-clock")).await.unwrap();
    assert_eq!(clock.attr("data-clock").await.unwrap().as_deref(), Some("open"));
    browser.assert_accessible("a breach").await;

    // The people the leaked token read.
    browser.fill("scope-actor", &format!("token:{}", row.id)).await;
    set_value(&browser, "scope-from", &minute(-30)).await;
    set_value(&browser, "scope-to", &minute(30)).await;
    browser.submit("#scope-submit").await;
    let count = browser.client.find(Locator::Id("affected-count")).await.unwrap().text().await.unwrap();
    assert!(count.starts_with("2 people"), "{count}");
    assert!(browser.html().await.contains("Approximate number of data subjects: 2"), "the draft counts them");

    // Notified in time; a phase added; the register shows it notified.
    set_value(&browser, "notified-at", &minute(-1)).await;
    browser.fill("notified-reference", "BlnBDI-2026-113").await;
    browser.submit("#notify-submit").await;
    let clock = browser.client.find(Locator::Id("breach-clock")).await.unwrap();
    assert_eq!(clock.attr("data-clock").await.unwrap().as_deref(), Some("notified"));
    browser.fill("breach-update", "No other token was exposed.").await;
    browser.submit("#update-submit").await;
    let updates = browser.client.find(Locator::Id("breach-updates")).await.unwrap().text().await.unwrap();
    assert!(updates.contains("No other token was exposed."), "{updates}");
    browser.assert_accessible("a breach notified").await;

    // The alert opens a candidate with the same people.
    browser.open(&s, "/audit").await;
    browser.submit("button[aria-label='Open a breach from the alert mass_read']").await;
    let count = browser.client.find(Locator::Id("affected-count")).await.unwrap().text().await.unwrap();
    assert!(count.starts_with("2 people"), "{count}");
    browser.open(&s, "/breaches").await;
    let register = browser.client.find(Locator::Id("breaches")).await.unwrap().text().await.unwrap();
    assert!(register.contains("Candidate") && register.contains("Notified"), "{register}");
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_exports_the_contacts_the_purpose_allows_and_sales_may_not() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    add_user(&s, &dpo, "sam@example.org", "sales").await;
    add_contact(&s, &json!({"given_name": "Olena", "family_name": "=1+1", "emails": ["olena@example.org"]})).await;

    browser.sign_in(&s, "sam@example.org").await;
    assert!(browser.client.find(Locator::Id("export-links")).await.is_err(), "sales may not export");
    assert_eq!(browser.get_with_session(&s, "/contacts/export?format=csv").await.status(), StatusCode::FORBIDDEN);
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "dora@example.org").await;
    let links = browser.client.find(Locator::Id("export-links")).await.unwrap().text().await.unwrap();
    assert!(links.contains("CSV") && links.contains("vCard") && links.contains("JSON"), "{links}");
    browser.assert_accessible("contacts with export links").await;
    let download = browser.get_with_session(&s, "/contacts/export?format=csv").await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.headers()["content-disposition"].to_str().unwrap().contains("kith-contacts.csv"));
    let text = download.text().await.unwrap();
    assert!(text.contains("Olena") && text.contains("'=1+1") && text.contains("olena@example.org"), "{text}");
    finish(browser, s, db).await;
}

/// Waits on an import's page (which refreshes itself) until the job is done.
async fn import_done(browser: &Browser) -> String {
    for _ in 0..100 {
        let status = browser.client.find(Locator::Id("import-status")).await.unwrap();
        let text = status.text().await.unwrap();
        if !text.starts_with("Running") {
            return browser.client.find(Locator::Id("import-counts")).await.unwrap().text().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        browser.client.refresh().await.unwrap();
    }
    panic!("the import did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_import_a_crm_export_after_a_dry_run_and_see_each_row_that_was_left_out() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "sam@example.org", "sales").await;
    add_user(&s, &dpo, "audrey@example.org", "auditor").await;
    let file = db.dir.path().join("hubspot-export.csv");
    std::fs::write(
        &file,
        "First Name,Last Name,Email,Phone Number,Company Name,Lifecycle Stage\n\
         Olena,Kovalenko,olena@example.org,+380 44 123 4567,Acme,customer\n\
         Marek,Nowak,marek@example.pl,,Firma,lead\n\
         Broken,Row,not-an-address,,,lead\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();

    browser.sign_in(&s, "sam@example.org").await;
    browser.arrive("/", "").await;
    browser.submit("#import-link").await;
    browser.arrive("/contacts/import", "").await;
    browser.assert_accessible("the import form").await;
    let dry_run = browser.client.find(Locator::Id("import-dry-run")).await.unwrap();
    assert_eq!(dry_run.prop("checked").await.unwrap().as_deref(), Some("true"), "a dry run comes first");
    browser.client.find(Locator::Id("import-file")).await.unwrap().send_keys(path).await.unwrap();
    browser.submit("#import-submit").await;
    let counts = import_done(&browser).await;
    assert!(counts.contains("New 2") && counts.contains("Invalid 1"), "{counts}");
    let problems = browser.client.find(Locator::Id("import-problems")).await.unwrap().text().await.unwrap();
    assert!(problems.contains("4") && problems.contains("Email") && !problems.contains("not-an-address"), "{problems}");
    let columns = browser.client.find(Locator::Id("import-columns")).await.unwrap().text().await.unwrap();
    assert!(columns.contains("Lifecycle Stage left out"), "{columns}");
    browser.assert_accessible("a dry run's result").await;
    let (_, listed) = send_as(&s, &dpo, Method::GET, "/api/v1/contacts?email=olena%40example.org", None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "a dry run writes nothing");

    // The import itself: the file chosen again, the dry run unticked.
    browser.open(&s, "/contacts/import").await;
    browser.client.find(Locator::Id("import-file")).await.unwrap().send_keys(path).await.unwrap();
    browser.fill("import-source", "trade fair 2026").await;
    browser.press("#import-dry-run").await;
    browser.submit("#import-submit").await;
    let counts = import_done(&browser).await;
    assert!(counts.contains("Created 2"), "{counts}");
    let (_, listed) = send_as(&s, &dpo, Method::GET, "/api/v1/contacts?email=olena%40example.org", None).await;
    assert_eq!(listed["items"][0]["custom"]["source"], "trade fair 2026", "{listed}");
    assert!(listed["items"][0]["owner"].as_str().is_some_and(|o| !o.is_empty()), "owned by the importer: {listed}");
    browser.open(&s, "/contacts/import").await;
    let jobs = browser.client.find(Locator::Id("import-jobs")).await.unwrap().text().await.unwrap();
    assert!(jobs.contains("dry run") && jobs.contains("Completed"), "{jobs}");

    // A file over the forms' usual 2 MiB goes through (its token read from the form).
    let large = db.dir.path().join("large.csv");
    let filler = "x".repeat(1_200_000);
    std::fs::write(
        &large,
        format!("Name,Email,Lifecycle Stage\nAnn Lee,ann@example.org,{filler}\nBo Li,bo@example.org,{filler}\n"),
    )
    .unwrap();
    browser.client.find(Locator::Id("import-file")).await.unwrap().send_keys(large.to_str().unwrap()).await.unwrap();
    browser.submit("#import-submit").await;
    let counts = import_done(&browser).await;
    assert!(counts.contains("New 2"), "{counts}");
    browser.open(&s, "/contacts/import").await;

    // A file without a name, address or number is refused whole, on the form.
    let colours = db.dir.path().join("colours.csv");
    std::fs::write(&colours, "Colour,Size\nred,L\n").unwrap();
    browser.client.find(Locator::Id("import-file")).await.unwrap().send_keys(colours.to_str().unwrap()).await.unwrap();
    browser.submit("#import-submit").await;
    let refused = browser.client.find(Locator::Id("import-problem")).await.unwrap().text().await.unwrap();
    assert!(refused.contains("no column"), "{refused}");
    browser.assert_accessible("a refused import").await;
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "audrey@example.org").await;
    assert_eq!(browser.get_with_session(&s, "/contacts/import").await.status(), StatusCode::FORBIDDEN);
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_read_the_analytics_with_small_cells_hidden_and_an_auditor_sees_none() {
    let Some((browser, s, db)) = scene("uk").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "sam@example.org", "sales").await;
    add_user(&s, &dpo, "audrey@example.org", "auditor").await;
    for i in 0..6 {
        let person = add_contact(&s, &json!({"given_name": format!("Buyer{i}")})).await;
        let currency = if i < 5 { "EUR" } else { "USD" };
        let body = json!({"contact_id": person, "purchased_at": "2026-01-10T10:00:00Z", "currency": currency,
                          "lines": [{"sku": "A", "quantity": "1", "unit_price": "20"}]});
        assert_eq!(s.post("/api/v1/purchases", &body).await.0, StatusCode::CREATED);
    }

    browser.sign_in(&s, "sam@example.org").await;
    browser.open(&s, "/analytics").await;
    let revenue = browser.client.find(Locator::Id("analytics-revenue")).await.unwrap().text().await.unwrap();
    assert!(revenue.contains("2026-01 EUR 5 5 100.00"), "{revenue}");
    assert!(revenue.contains("USD <5 <5 <5"), "one buyer in dollars is hidden: {revenue}");
    assert!(browser.client.find(Locator::Id("analytics-funnel")).await.is_ok());
    let heading = browser.client.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "Аналітика");
    browser.assert_accessible("the analytics page").await;
    browser.press("form.sign-out button").await;
    browser.arrive("/login", "").await;

    browser.sign_in(&s, "audrey@example.org").await;
    browser.open(&s, "/analytics").await;
    assert!(browser.client.find(Locator::Id("analytics-revenue")).await.is_err(), "an auditor reads no purchases");
    assert!(!browser.html().await.contains("href=\"/analytics\""), "nor is the page offered");
    finish(browser, s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_finds_likely_duplicates_from_the_contacts_list() {
    let Some((browser, s, db)) = scene("en-US").await else { return };
    let dpo = token_for(&s, "dpo").await;
    add_user(&s, &dpo, "dora@example.org", "dpo").await;
    add_contact(&s, &json!({"given_name": "Olena", "family_name": "Kovalenko", "emails": ["olena@example.org"]})).await;
    add_contact(&s, &json!({"given_name": "O.", "emails": ["Olena@Example.org"], "phones": ["+380441234567"]})).await;

    browser.sign_in(&s, "dora@example.org").await;
    browser.arrive("/", "").await;
    browser.submit("#duplicates-link").await;
    browser.arrive("/contacts/duplicates", "").await;
    let table = browser.client.find(Locator::Id("duplicates")).await.unwrap().text().await.unwrap();
    assert!(table.contains("Olena Kovalenko") && table.contains("same e-mail address"), "{table}");
    browser.assert_accessible("the likely duplicates").await;
    browser.submit("button.merge").await;
    // Either may be first (pairs come in id order): the survivor has the number and one address.
    let merged = browser.html().await.to_lowercase();
    assert!(merged.contains("+380441234567") && merged.contains("olena@example.org"), "the first contact has both");
    browser.open(&s, "/contacts/duplicates").await;
    assert!(browser.client.find(Locator::Id("duplicates-none")).await.is_ok(), "no duplicates left");
    finish(browser, s, db).await;
}
