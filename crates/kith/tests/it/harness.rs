//! Test fixtures: a fresh database per test (a temporary SQLite directory,
//! or a schema of its own on PostgreSQL), a server on port 0 speaking TLS
//! with its generated certificate, and a client that trusts only that
//! certificate.

use kith_server::auth::{new_token, AccessPolicy};
use kith_server::config::ServerConfig;
use kith_server::datadir::DataDir;
use kith_store::DynStore;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use, if any. Under CI its absence fails.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KITH_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") => {
            panic!("CI must run the PostgreSQL suite: set KITH_TEST_POSTGRES_URL")
        }
        _ => None,
    }
}

/// The backends to run a story on.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if postgres_url().is_some() {
        all.push(Backend::Postgres);
    }
    all
}

/// A database of a test's own: the data directory's SQLite file, or a new
/// PostgreSQL schema.
pub struct TestDb {
    pub dir: tempfile::TempDir,
    /// The `--database-url` to pass, `None` for the embedded SQLite.
    pub url: Option<String>,
    pub schema: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => Self { dir, url: None, schema: None },
            Backend::Postgres => {
                let base = postgres_url().expect("PostgreSQL configured");
                let schema = format!("kith_test_{}", uuid::Uuid::new_v4().simple());
                admin_sql(&base, &format!("CREATE SCHEMA {schema}")).await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                Self { dir, url: Some(url), schema: Some(schema) }
            }
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Drops the PostgreSQL schema; the temporary directory goes with `self`.
    pub async fn cleanup(self) {
        if let Some(schema) = &self.schema {
            admin_sql(&postgres_url().expect("PostgreSQL configured"), &format!("DROP SCHEMA {schema} CASCADE")).await;
        }
    }

    /// `--database-url URL` for the command line, if any.
    pub fn url_args(&self) -> Vec<String> {
        self.url.iter().flat_map(|u| ["--database-url".to_string(), u.clone()]).collect()
    }
}

pub async fn admin_sql(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to PostgreSQL");
    sqlx::raw_sql(sql).execute(&mut conn).await.expect("admin SQL");
}

/// Runs SQL against the test's database directly, as someone with database
/// access but no keys would; on SQLite against `sqlite_file` of the data
/// directory (`kith.db`, or `kith.audit.db` for the audit log).
pub async fn run_sql(db: &TestDb, sqlite_file: &str, statements: &[&str]) {
    use sqlx::Connection;
    match &db.url {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            for sql in statements {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
        }
        None => {
            let path = db.data_dir().join(sqlite_file);
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            for sql in statements {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
        }
    }
}

/// A server running inside the test process.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub token: String,
    pub store: DynStore,
    pub keys: kith_crypto::KeyringHandle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A reqwest client that trusts exactly the certificate in `cert`.
pub fn client_trusting(cert: &Path) -> reqwest::Client {
    let pem = std::fs::read(cert).expect("certificate");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM certificate"))
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

impl Server {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, ServerConfig::default()).await
    }

    /// Password hashes made through the API are cheap in tests (the only
    /// place the Argon2id cost is lowered) unless a test asks for another
    /// cost than the default; the CLI keeps the real cost.
    pub async fn start_with(db: &TestDb, config: ServerConfig) -> Self {
        Self::start_serving(db, config, kith_server::http::serve::Transport::default()).await
    }

    /// A server with other transport limits (slow clients, connection count).
    pub async fn start_serving(
        db: &TestDb,
        mut config: ServerConfig,
        transport: kith_server::http::serve::Transport,
    ) -> Self {
        if config.accounts.password == kith_crypto::PasswordParams::default() {
            config.accounts.password = kith_crypto::PasswordParams { m_kib: 64, t: 1, p: 1 };
        }
        let data_dir = db.data_dir();
        let mut dir = DataDir::new(&data_dir, None).expect("data dir");
        let opened = dir.initialise(db.url.as_deref()).await.expect("initialise");
        if config.erasure_ledger.is_none() {
            config.erasure_ledger = Some(dir.erasure_ledger_file());
        }
        if config.installation.is_none() {
            config.installation = Some(kith_server::config::Installation {
                data_dir: data_dir.clone(),
                key_file: None,
                database_url: dir.database_url(db.url.as_deref()),
                backup_every_ms: None,
            });
        }
        let (token, row) = new_token("tester", "sales", kith_server::now_millis(), None);
        opened.store.insert_token(&row).await.expect("token");
        let tls_files = kith_server::tls::ensure_self_signed(&dir.tls_dir()).expect("certificate");
        let tls = kith_server::tls::rustls_config(&tls_files).await.expect("TLS config");
        let (store, keys) = (opened.store.clone(), opened.keys.clone());
        let state =
            kith_server::AppState::new(opened.store, opened.keys, opened.notary, Arc::new(AccessPolicy), config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = kith_server::build_app(state);
        let shutdown = async {
            let _ = rx.await;
        };
        let task = tokio::spawn(kith_server::http::serve::serve_with(app, listener, Some(tls), shutdown, transport));
        Self {
            base: format!("https://127.0.0.1:{port}"),
            client: client_trusting(&tls_files.cert),
            token,
            store,
            keys,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Shuts the server down gracefully and waits for it. The client goes
    /// first: its idle keep-alive connections would hold the grace period open.
    pub async fn stop(self) {
        let Server { client, shutdown, task, .. } = self;
        drop(client);
        if let Some(tx) = shutdown {
            let _ = tx.send(());
        }
        if let Some(task) = task {
            let result = tokio::time::timeout(Duration::from_secs(15), task).await;
            assert!(matches!(result, Ok(Ok(Ok(())))), "the server stopped cleanly: {result:?}");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Creates a record and returns its id, failing the test otherwise.
    pub async fn create(&self, kind: &str, body: Value) -> String {
        let (status, value) = self.post(&format!("/api/v1/{kind}"), &body).await;
        assert_eq!(status, StatusCode::CREATED, "create {kind}: {value}");
        value["id"].as_str().expect("id").to_string()
    }

    /// Every item of a list, following cursors.
    pub async fn list_all(&self, path_and_query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path_and_query.contains('?') { '&' } else { '?' };
            let path = match &cursor {
                Some(c) => format!("{path_and_query}{sep}cursor={c}"),
                None => path_and_query.to_string(),
            };
            let (status, page) = self.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {page}");
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }
}

/// Asserts a problem response with the given status and code.
pub fn assert_problem(result: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(result.0.as_u16(), status, "expected {status} {code}, got {}", result.1);
    assert_eq!(result.1["code"], code, "{}", result.1);
    for field in ["type", "title", "status", "detail"] {
        assert!(result.1.get(field).is_some(), "problem without {field}: {}", result.1);
    }
}

/// The `kith` binary under test.
pub fn kith() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kith"));
    cmd.env_remove("KITH_DATABASE_URL").env_remove("KITH_DATA_DIR").env("KITH_LOG", "warn");
    cmd
}

/// Runs `kith` to completion and returns (success, stdout, stderr).
pub fn run_kith(args: &[&str]) -> (bool, String, String) {
    let out = kith().args(args).output().expect("run kith");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `kith` off the async runtime (it may take a while, e.g. rotation).
pub async fn run_kith_async(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_kith(&refs)
    })
    .await
    .expect("kith process")
}

/// `kith serve` as a separate process.
pub struct ServeProcess {
    child: std::process::Child,
    /// The URL the server printed it serves on.
    pub base: String,
}

impl ServeProcess {
    /// Starts `kith serve ARGS` and waits for the line naming its URL.
    pub fn start(args: &[String], log_level: &str, stderr: std::process::Stdio) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = kith()
            .arg("serve")
            .args(args)
            .env("KITH_LOG", log_level)
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start kith serve");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("first line");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("https://") || w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Self { child, base }
    }

    /// Ends the process at once (SIGKILL): a crash, as far as Kith can tell.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks for a graceful shutdown (SIGTERM, through `kill`) and returns
    /// whether the process then exited successfully.
    pub fn stop(mut self) -> bool {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().is_ok_and(|s| s.success())
    }
}

/// Sends a request with another token than the server's own; the answer as
/// JSON (`Null` when it is not JSON).
pub async fn send_as(
    s: &Server,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = s.client.request(method, s.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A new token of `role` (named after it) on the server's database.
pub async fn token_for(s: &Server, role: &str) -> String {
    let (token, row) = new_token(role, role, kith_server::now_millis(), None);
    s.store.insert_token(&row).await.expect("token");
    token
}

/// Registers a processor in Ireland (inside the EEA: no transfer
/// mechanism needed) for `purpose`, as the DPO; its id.
pub async fn register_processor(s: &Server, dpo: &str, name: &str, purpose: &str) -> String {
    let entry = serde_json::json!({"name": name, "role": "processor", "country": "IE",
        "contract_reference": "DPA-2026-7", "purposes": [purpose],
        "data_categories": ["user.name", "user.contact.email"]});
    let (status, made) = send_as(s, dpo, reqwest::Method::POST, "/api/v1/recipients", Some(&entry)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made["id"].as_str().unwrap().to_string()
}

/// A key for `recipient` that reads names and contact details of contacts for `purpose`.
pub fn key_grant(recipient: &str, purpose: &str) -> Value {
    serde_json::json!({"recipient_id": recipient, "purposes": [purpose],
        "permissions": [{"actions": ["read"], "entities": ["contacts"], "fields": ["identity", "contact_details"], "scope": "all"}],
        "expires_in_days": 30})
}

/// The e-mail marketing processor most stories use.
pub async fn register_mailer(s: &Server, dpo: &str) -> String {
    register_processor(s, dpo, "Mailer Ltd", "marketing.communications.email").await
}

/// A key for the mailer: names and contact details, for e-mail marketing.
pub fn mailer_grant(recipient: &str) -> Value {
    key_grant(recipient, "marketing.communications.email")
}
