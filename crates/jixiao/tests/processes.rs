//! Every role as its own process, on the real PostgreSQL and Redis: a front
//! process (intake, audit, export) and two scoring workers in one consumer
//! group. One worker is killed with SIGKILL in the middle of a batch; every
//! form is still scored exactly once.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use jixiao_proto::v1::{
    self, export_service_client::ExportServiceClient, intake_service_client::IntakeServiceClient,
};
use tonic::transport::Channel;

static NEXT: AtomicU32 = AtomicU32::new(0);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn fresh_postgres() -> String {
    use sea_orm::ConnectionTrait;
    let admin_url = std::env::var("JIXIAO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin = sea_orm::Database::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is required for this test: {e}"));
    let db = format!(
        "jixiao_t_{}_{}_procs",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    admin
        .execute_unprepared(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    format!("{}/{db}", admin_url.rsplit_once('/').unwrap().0)
}

/// A `jixiao serve` child process; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    name: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(
    name: &str,
    roles: &str,
    database: &str,
    redis: &str,
    prefix: &str,
    peer: Option<u16>,
) -> Server {
    let port = free_port();
    let dir =
        std::env::temp_dir().join(format!("jixiao-proc-{}-{name}-{port}", std::process::id()));
    let log = std::fs::File::create(dir.with_extension("log")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jixiao"));
    // The test's own JIXIAO_TEST_* variables are no configuration of the server
    // (which refuses unknown keys): only what is set below reaches it.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("JIXIAO_")) {
        cmd.env_remove(key);
    }
    cmd.args([
        "serve",
        "--role",
        roles,
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .args([
        "--data-dir",
        &dir.display().to_string(),
        "--database-url",
        database,
    ])
    .env("JIXIAO_REDIS_URL", redis)
    .env("JIXIAO_REDIS_PREFIX", prefix)
    .env("JIXIAO_WORKER__RECLAIM_IDLE_SECS", "2")
    .env("JIXIAO_WORKER__BATCH_SIZE", "50")
    .env("JIXIAO_WORKER__RELAY_INTERVAL_SECS", "5")
    .env("RUST_LOG", "warn")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(log);
    if let Some(peer) = peer {
        cmd.env("JIXIAO_PEERS__INTAKE", format!("http://127.0.0.1:{peer}"))
            .env("JIXIAO_PEERS__AUDIT", format!("http://127.0.0.1:{peer}"));
    }
    Server {
        child: cmd.spawn().unwrap(),
        port,
        name: name.to_string(),
    }
}

async fn ready(s: &Server) -> Channel {
    let url = format!("http://127.0.0.1:{}", s.port);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(ch) = Channel::from_shared(url.clone()).unwrap().connect().await {
            let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
            if health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok()
            {
                return ch;
            }
        }
        assert!(Instant::now() < deadline, "{} did not start", s.name);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn form(n: usize) -> v1::Form {
    let m = |raw: &str| {
        Some(v1::Measure {
            raw: raw.into(),
            ..Default::default()
        })
    };
    v1::Form {
        kind: v1::FormKind::Project as i32,
        project_name: format!("负载项目{n}"),
        units: Some(v1::Units {
            competent_department: format!("单位{}", n % 7),
            ..Default::default()
        }),
        fiscal_year: 2024,
        funds: Some(v1::FundBlock {
            rows: vec![v1::FundRow {
                source: v1::FundSource::Total as i32,
                label: "年度资金总额".into(),
                initial_budget: "100".into(),
                full_year_budget: "100".into(),
                executed: format!("{}", 80 + n % 20),
            }],
            weight: "10".into(),
            stated_execution_rate: format!("{}%", 80 + n % 20),
            stated_score: format!("{}", 8 + (n % 20) / 10),
        }),
        indicators: vec![v1::Indicator {
            level1: "产出指标".into(),
            level2: "数量指标".into(),
            name: "完成数".into(),
            target: m("≥10个"),
            actual: m(&format!("{}个", 5 + n % 10)),
            weight: "90".into(),
            self_score: "90".into(),
            ..Default::default()
        }],
        stated_total: "100".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scoring_workers_one_killed_every_form_scored_exactly_once() {
    // 2,000 keeps CI short on debug builds; JIXIAO_TEST_FORMS=10000 for the full run.
    let forms_count: usize = std::env::var("JIXIAO_TEST_FORMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let database = fresh_postgres().await;
    let redis =
        std::env::var("JIXIAO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("jixiao-test:{}:procs", std::process::id());

    let front = serve(
        "front",
        "intake,audit,export",
        &database,
        &redis,
        &prefix,
        None,
    );
    let ch = ready(&front).await;
    let w1 = serve(
        "worker-1",
        "scoring",
        &database,
        &redis,
        &prefix,
        Some(front.port),
    );
    let w2 = serve(
        "worker-2",
        "scoring",
        &database,
        &redis,
        &prefix,
        Some(front.port),
    );
    ready(&w1).await;
    ready(&w2).await;

    let requests = (0..forms_count).map(|n| v1::SubmitFormRequest {
        tenant: "湖南省/测试市".into(),
        form: Some(form(n)),
        rulebook_id: String::new(),
    });
    let started = Instant::now();
    let reply = IntakeServiceClient::new(ch.clone())
        .submit_batch(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.accepted as usize, forms_count);
    eprintln!("PROGRESS submitted at {:?}", started.elapsed());

    // Follow the scored events; kill worker 1 once a quarter is done.
    let mut events = ExportServiceClient::new(ch.clone())
        .watch_events(v1::WatchEventsRequest {
            types: vec![v1::EventType::Scored as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut scored: std::collections::HashMap<String, u32> = Default::default();
    let mut w1 = Some(w1);
    // Debug builds score about 25 forms a second here; allow four times that.
    let deadline =
        Instant::now() + Duration::from_secs(60) + Duration::from_millis(160 * forms_count as u64);
    while scored.len() < forms_count {
        let e = tokio::time::timeout(Duration::from_secs(60), events.next())
            .await
            .unwrap_or_else(|_| panic!("no progress after {} of {forms_count} forms", scored.len()))
            .expect("stream open")
            .unwrap();
        *scored.entry(e.submission_id).or_default() += 1;
        if scored.len().is_multiple_of(200) {
            eprintln!(
                "PROGRESS {} scored at {:?}",
                scored.len(),
                started.elapsed()
            );
        }
        if scored.len() == forms_count / 4 {
            if let Some(mut w) = w1.take() {
                // SIGKILL: no clean shutdown, its deliveries stay pending in Redis.
                w.child.kill().unwrap();
                w.child.wait().unwrap();
            }
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {forms_count} scored in time",
            scored.len()
        );
    }
    assert!(w1.is_none(), "worker 1 was killed mid-batch");
    // Exactly once: no submission has a second scored event (no second scorecard).
    tokio::time::sleep(Duration::from_secs(3)).await;
    while let Ok(Some(Ok(e))) =
        tokio::time::timeout(Duration::from_millis(500), events.next()).await
    {
        *scored.entry(e.submission_id).or_default() += 1;
    }
    let twice: Vec<_> = scored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "scored more than once: {twice:?}");
    assert_eq!(scored.len(), forms_count);
    drop(w2);
    drop(front);
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}:scoring-jobs"))
        .arg(format!("{prefix}:scoring-jobs:dead"))
        .arg(format!("{prefix}:events"))
        .query_async(&mut c)
        .await
        .unwrap();
}
