//! The command line: initialisation, tokens, and the errors an operator
//! meets (missing directory, bad URL, port in use, unreadable key file).

use crate::harness::{kith, run_kith};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

fn path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_str().unwrap().to_string()
}

#[test]
fn help_explains_every_command() {
    for (args, expect) in [
        (vec!["--help"], vec!["serve", "init", "token", "keys"]),
        (
            vec!["serve", "--help"],
            vec![
                "--data-dir",
                "--listen",
                "--database-url",
                "--http",
                "loopback",
                "--tls-cert",
            ],
        ),
        (
            vec!["init", "--help"],
            vec!["--data-dir", "--database-url", "never overwrites"],
        ),
        (
            vec!["token", "create", "--help"],
            vec!["--name", "--role", "--expires", "shown only"],
        ),
        (
            vec!["keys", "rotate", "--help"],
            vec!["--data-dir", "rewrap"],
        ),
    ] {
        let (ok, out, err) = run_kith(&args);
        assert!(ok, "{args:?}: {err}");
        for word in expect {
            assert!(
                out.contains(word),
                "`kith {}` lacks {word}:\n{out}",
                args.join(" ")
            );
        }
    }
}

#[test]
fn init_is_idempotent_and_never_overwrites_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let (ok, out, err) = run_kith(&["init", "--data-dir", &data]);
    assert!(ok, "{err}");
    assert!(out.contains("initialised"), "{out}");
    let key_path = dir.path().join("data/kith.key");
    let key = std::fs::read(&key_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (ok, _, err) = run_kith(&["init", "--data-dir", &data]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(&key_path).unwrap(),
        key,
        "a second init keeps the key"
    );

    // Without its key file the data cannot be read: init refuses to make a new one.
    std::fs::rename(&key_path, dir.path().join("elsewhere.key")).unwrap();
    let (ok, _, err) = run_kith(&["init", "--data-dir", &data]);
    assert!(!ok);
    assert!(err.contains("key file") && err.contains("missing"), "{err}");
    assert!(!key_path.exists(), "no replacement key was written");
}

#[test]
fn token_create_prints_the_token_alone_and_checks_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let (ok, _, err) = run_kith(&[
        "token",
        "create",
        "--data-dir",
        &data,
        "--name",
        "n",
        "--role",
        "sales",
    ]);
    assert!(!ok, "a missing data directory is an error");
    assert!(
        err.contains("does not exist") && err.contains("kith init"),
        "{err}"
    );

    assert!(run_kith(&["init", "--data-dir", &data]).0);
    let (ok, out, err) = run_kith(&[
        "token",
        "create",
        "--data-dir",
        &data,
        "--name",
        "crm-sync",
        "--role",
        "sales",
        "--expires",
        "30",
    ]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        lines[0].starts_with("kith_") && lines[0].len() > 40,
        "{out}"
    );
    let (_, again, _) = run_kith(&[
        "token",
        "create",
        "--data-dir",
        &data,
        "--name",
        "crm-sync",
        "--role",
        "sales",
    ]);
    assert_ne!(again.trim(), lines[0], "every token is new");

    let (ok, _, err) = run_kith(&[
        "token",
        "create",
        "--data-dir",
        &data,
        "--name",
        "x",
        "--role",
        "emperor",
    ]);
    assert!(!ok);
    assert!(err.contains("not a role") && err.contains("sales"), "{err}");
    let db = std::fs::read(dir.path().join("data/kith.db")).unwrap();
    assert!(
        !db.windows(lines[0].len()).any(|w| w == lines[0].as_bytes()),
        "tokens are stored hashed"
    );
}

#[test]
fn bad_database_urls_and_key_files_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let (ok, _, err) = run_kith(&[
        "init",
        "--data-dir",
        &data,
        "--database-url",
        "mysql://root@localhost/kith",
    ]);
    assert!(!ok);
    assert!(
        err.contains("postgres://") && err.contains("sqlite://"),
        "{err}"
    );
    let (ok, _, err) = run_kith(&[
        "init",
        "--data-dir",
        &data,
        "--database-url",
        "postgres://nobody:secret@127.0.0.1:1/none",
    ]);
    assert!(!ok);
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(!err.contains("secret"), "passwords are not printed: {err}");

    let data2 = path(&dir, "data2");
    assert!(run_kith(&["init", "--data-dir", &data2]).0);
    let key_path = dir.path().join("data2/kith.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (ok, _, err) = run_kith(&[
            "token",
            "create",
            "--data-dir",
            &data2,
            "--name",
            "n",
            "--role",
            "sales",
        ]);
        assert!(!ok);
        assert!(
            err.contains("may be read by other users") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(&key_path, b"not json at all").unwrap();
    let (ok, _, err) = run_kith(&[
        "token",
        "create",
        "--data-dir",
        &data2,
        "--name",
        "n",
        "--role",
        "sales",
    ]);
    assert!(!ok);
    assert!(err.contains("not a Kith key file"), "{err}");
    assert!(
        !err.contains("not json at all"),
        "key file contents are never printed"
    );
}

#[test]
fn a_port_in_use_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (ok, _, err) = run_kith(&["serve", "--data-dir", &data, "--listen", &addr]);
    assert!(!ok);
    assert!(err.contains("already in use"), "{err}");
    let (ok, _, err) = run_kith(&["serve", "--data-dir", &data, "--listen", "localhost-ish"]);
    assert!(!ok);
    assert!(err.contains("not an address"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_loopback_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(&dir, "data");
    let mut child = kith()
        .args([
            "serve",
            "--data-dir",
            &data,
            "--http",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let resp = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        !resp.headers().contains_key("strict-transport-security"),
        "no HSTS without TLS"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "graceful shutdown exits cleanly: {status}"
    );
}
