//! `jixiao loadgen` as a user runs it, on the real PostgreSQL and Redis: a
//! small scale-out run reports its figures, and a run that succeeds or fails
//! leaves no database, no Redis keys and no data behind.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const REDIS: &str = "redis://127.0.0.1:6379";

/// One run at a time: each test compares what exists before and after its run.
static ONE_RUN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The run databases and Redis keys a loadgen run makes.
async fn leftovers() -> (HashSet<String>, HashSet<String>) {
    let db = Database::connect(POSTGRES)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {POSTGRES} is required for this test: {e}"));
    let databases = db
        .query_all(Statement::from_string(
            DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'jixiao_loadgen_%'",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "datname").unwrap())
        .collect();
    let mut redis = redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {REDIS} is required for this test: {e}"));
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("loadgen-*")
        .query_async(&mut redis)
        .await
        .unwrap();
    (databases, keys.into_iter().collect())
}

/// Fails when a run database or Redis key exists that did not `before`.
async fn assert_nothing_left_since(before: &(HashSet<String>, HashSet<String>)) {
    let (databases, keys) = leftovers().await;
    assert!(
        databases.is_subset(&before.0),
        "databases left: {databases:?}"
    );
    assert!(keys.is_subset(&before.1), "Redis keys left: {keys:?}");
}

/// Runs `jixiao loadgen ARGS` (on its default PostgreSQL and Redis, the
/// local ones) with a temporary directory of its own.
fn loadgen(tmp: &PathBuf, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jixiao"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("JIXIAO_")) {
        cmd.env_remove(key);
    }
    cmd.env("TMPDIR", tmp)
        .args(["loadgen", "--spawn", "scale-out", "--max-secs", "120"])
        .args(args)
        .output()
        .unwrap()
}

fn private_tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jixiao-lg-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_scale_out_run_reports_its_figures_and_leaves_nothing_behind() {
    let _one = ONE_RUN.lock().await;
    let before = leftovers().await;
    let tmp = private_tmp("ok");
    let out = loadgen(
        &tmp,
        &[
            "--forms",
            "300",
            "--batch",
            "50",
            "--workers",
            "1",
            "--dashboards",
            "2",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("intake: ") && stdout.contains("(300 in "),
        "{stdout}"
    );
    assert!(stdout.contains(", 0 rejected)"), "{stdout}");
    assert!(stdout.contains("end to end: "), "{stdout}");
    assert!(stdout.contains(" µs per form (every process"), "{stdout}");
    assert!(stdout.contains("peak RSS:    front "), "{stdout}");
    assert!(stdout.contains("scoring-0 "), "{stdout}");
    // The dashboards stop when the last form is audited: each had at most
    // the run's 900 events (received, scored, audited) by then.
    let delivered: u64 = stdout
        .split("dashboards:  2 following every event, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no dashboards line: {stdout}"));
    assert!((1..=1800).contains(&delivered), "{stdout}");
    assert_nothing_left_since(&before).await;
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "run directory left"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A server that cannot start fails the run at once, naming it; the run's
/// database and keys go, and its directory keeps only the servers' logs.
#[tokio::test]
async fn a_failed_run_names_the_server_and_keeps_only_its_logs() {
    let _one = ONE_RUN.lock().await;
    let before = leftovers().await;
    let tmp = private_tmp("bad");
    let out = loadgen(
        &tmp,
        &[
            "--forms",
            "10",
            "--server-config",
            "worker.queue_capacity=lots",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("front exited"), "{stderr}");
    let kept = stderr
        .lines()
        .find_map(|l| l.strip_prefix("loadgen: the servers' logs are kept in "))
        .unwrap_or_else(|| panic!("no kept directory named: {stderr}"));
    let kept = PathBuf::from(kept);
    assert!(kept.starts_with(&tmp), "{}", kept.display());
    let log = std::fs::read_to_string(kept.join("front.log")).unwrap();
    assert!(log.contains("queue_capacity"), "{log}");
    assert!(!kept.join("data").exists());
    assert_nothing_left_since(&before).await;
    std::fs::remove_dir_all(&tmp).unwrap();
}
