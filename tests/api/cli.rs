//! The `cloop` binary as an operator runs it: no config, bad config, both databases.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{Backend, TestDatabase};

pub(crate) fn cloop(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cloop"));
    command
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("RUST_BACKTRACE");
    for (key, _) in std::env::vars() {
        if key.starts_with("CLOOP_") {
            command.env_remove(key);
        }
    }
    command
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Asserts the run failed with exactly one clear line on stderr and no panic.
fn assert_one_line_failure(output: &Output, expected: &str) {
    assert!(!output.status.success(), "should fail: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(
        lines[0].contains(expected),
        "{:?} should mention {expected:?}",
        lines[0]
    );
    assert!(!stderr.contains("panicked") && !stderr.to_lowercase().contains("backtrace"));
}

pub(crate) async fn wait_healthy(port: u16, child: &mut Child) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            assert_eq!(response.status(), 200);
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "cloop serve exited early"
        );
        assert!(
            Instant::now() < deadline,
            "cloop serve did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            return;
        }
        assert!(Instant::now() < deadline, "cloop serve ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn version_and_help_describe_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let version = cloop(dir.path()).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("cloop {}", env!("CARGO_PKG_VERSION"))
    );
    let help = cloop(dir.path()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("serve") && text.contains("migrate") && text.contains("LTI 1.3"),
        "{text}"
    );
}

#[tokio::test]
async fn serve_with_no_config_creates_cloop_db_and_answers_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = cloop(dir.path())
        .arg("serve")
        .env("CLOOP_LISTEN", format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child).await;
    assert!(
        dir.path().join("cloop.db").exists(),
        "cloop.db is created in the working folder"
    );
    terminate(child);
}

#[tokio::test]
async fn serve_on_postgres_from_the_environment() {
    let Some(db) =
        TestDatabase::fresh(Backend::Postgres, "serve_on_postgres_from_the_environment").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = cloop(dir.path())
        .arg("serve")
        .env("CLOOP_LISTEN", format!("127.0.0.1:{port}"))
        .env("CLOOP_DATABASE_URL", &db.url)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child).await;
    assert!(!dir.path().join("cloop.db").exists());
    terminate(child);
}

#[test]
fn mysql_url_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = cloop(dir.path())
        .arg("serve")
        .env("CLOOP_DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert_one_line_failure(&output, "database_url");
}

#[test]
fn unreachable_postgres_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let started = Instant::now();
    let output = cloop(dir.path())
        .arg("serve")
        .env(
            "CLOOP_DATABASE_URL",
            format!("postgres://cloop@127.0.0.1:{port}/cloop"),
        )
        .output()
        .unwrap();
    assert_one_line_failure(&output, &format!("127.0.0.1:{port}"));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn bad_value_in_config_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cloop.toml"), "listen = \"everywhere\"\n").unwrap();
    let output = cloop(dir.path()).arg("migrate").output().unwrap();
    assert_one_line_failure(&output, "config key `listen`");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("example"), "{stderr}");
}

#[test]
fn environment_overrides_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cloop.toml"),
        "database_url = \"mysql://x\"\n",
    )
    .unwrap();
    let output = cloop(dir.path())
        .arg("migrate")
        .env("CLOOP_DATABASE_URL", "sqlite://from-env.db")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("from-env.db").exists());
}

#[test]
fn named_config_file_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let output = cloop(dir.path())
        .args(["--config", "missing.toml", "migrate"])
        .output()
        .unwrap();
    assert_one_line_failure(&output, "missing.toml");
}

#[test]
fn migrate_creates_and_upgrades_the_database() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = cloop(dir.path()).arg("migrate").output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
    }
    assert!(dir.path().join("cloop.db").exists());
}
