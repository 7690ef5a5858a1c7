//! `jixiao loadgen`: a submission season on one machine. Synthetic forms made
//! from the real samples (their shapes and value ranges, amounts rescaled, a
//! chosen share with defects) are pushed through SubmitBatch or SubmitForm at a
//! chosen concurrency and rate; it reports intake throughput and latency, the
//! time until every form is scored and audited, and the servers' peak RSS. With
//! `--ceiling` the same client drives a bare tonic service with the same
//! payloads, so the pipeline can be quoted as a share of this machine's RPC
//! ceiling. Loads go to 127.0.0.1 only, bounded in forms and seconds.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use jixiao_proto::v1::{
    self, export_service_client::ExportServiceClient, intake_service_client::IntakeServiceClient,
    intake_service_server::IntakeServiceServer,
};
use rust_decimal::Decimal;
use tonic::transport::Channel;

const SAMPLES: [(&str, &str); 2] = [
    (
        "zhuzhou-gxj-2024.txt",
        include_str!("../../jixiao-parse/tests/samples/zhuzhou-gxj-2024.txt"),
    ),
    (
        "yueyang-gxj-2023.txt",
        include_str!("../../jixiao-parse/tests/samples/yueyang-gxj-2023.txt"),
    ),
];

/// Forms per synthetic department (a city bureau files a few dozen).
const FORMS_PER_DEPARTMENT: u64 = 40;
const MAX_FORMS: u64 = 10_000_000;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spawn {
    /// Use the server at --addr.
    None,
    /// Start `jixiao serve` on its defaults (SQLite, in-process queue).
    Embedded,
    /// Start a front (intake, audit, export) and --workers scoring processes
    /// on --postgres-url (a database of their own) and --redis-url.
    ScaleOut,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Forms to submit.
    #[arg(long, default_value_t = 10_000)]
    pub forms: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Forms per SubmitBatch stream; 0 sends each form with SubmitForm.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Forms per second to offer (paced); 0 for as fast as the server takes them.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Percent of forms given a defect (over-spent budget, inflated total, a
    /// missed target with full marks).
    #[arg(long, default_value_t = 20)]
    pub defect_percent: u8,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 1800)]
    pub max_secs: u64,
    #[arg(long, value_enum, default_value = "embedded")]
    pub spawn: Spawn,
    /// Scoring worker processes (scale-out).
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// PostgreSQL server for scale-out: each run creates a database of its
    /// own there (`jixiao_loadgen_<run>`) and drops it at the end, so every
    /// run starts as empty as the embedded one. Options after `?` are kept.
    /// TLS is off by default: on loopback it only costs both ends CPU (8 %
    /// of the machine in a profile).
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432?sslmode=disable"
    )]
    pub postgres_url: String,
    /// Redis for scale-out.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// The server when --spawn none.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    #[arg(long, env = "JIXIAO_TOKEN", hide_env_values = true, default_value = "")]
    pub token: String,
    /// Also drive a bare tonic service with the same payloads, for the ceiling.
    #[arg(long)]
    pub ceiling: bool,
    /// Dashboards following every event of the run (a WatchEvents stream
    /// each, beside the one that waits for the last form).
    #[arg(long, default_value_t = 0)]
    pub dashboards: usize,
    /// Configuration for the servers this command starts, as `key=value`
    /// (`worker.batch_size=256`); repeatable.
    #[arg(long = "server-config", value_name = "KEY=VALUE")]
    pub server_config: Vec<String>,
    /// Where spawned servers keep their data and logs (default: a new temp dir).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// A tiny xorshift generator: reproducible forms from a seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The sample forms as wire forms, the templates of the synthetic ones.
fn templates() -> anyhow::Result<Vec<v1::Form>> {
    let mut out = Vec::new();
    for (name, text) in SAMPLES {
        let parsed = jixiao_parse::parse_document(name, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("{name}: {}", e.reason))?;
        out.extend(
            parsed
                .forms
                .iter()
                .map(jixiao_proto::convert::form_to_proto),
        );
    }
    Ok(out)
}

fn scaled(amount: &str, percent: u64) -> String {
    match Decimal::from_str(amount) {
        Ok(d) => (d * Decimal::from(percent) / Decimal::ONE_HUNDRED)
            .round_dp(2)
            .to_string(),
        Err(_) => amount.to_string(),
    }
}

/// Form `i` of the run: a sample with its own name, department and amounts.
fn synthetic(
    templates: &[v1::Form],
    run: &str,
    tenant: &str,
    i: u64,
    defect_percent: u8,
) -> v1::Form {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1));
    let mut form = templates[(i % templates.len() as u64) as usize].clone();
    let department = format!("压测{run}市第{}局", i / FORMS_PER_DEPARTMENT);
    form.project_name = format!("{} #{i}", form.project_name);
    if let Some(u) = form.units.as_mut() {
        u.budget_unit = department.clone();
        u.competent_department = department;
        u.region = tenant.to_string();
    }
    let percent = 50 + rng.below(250);
    if let Some(funds) = form.funds.as_mut() {
        for r in &mut funds.rows {
            r.initial_budget = scaled(&r.initial_budget, percent);
            r.full_year_budget = scaled(&r.full_year_budget, percent);
            r.executed = scaled(&r.executed, percent);
        }
    }
    if rng.below(100) < u64::from(defect_percent) {
        match rng.below(3) {
            0 => {
                if let Some(total) = form.funds.as_mut().and_then(|f| f.rows.first_mut()) {
                    total.executed = scaled(&total.full_year_budget, 105);
                }
            }
            1 => {
                // A 总分 that is not the sum of its lines (still within 0–100).
                if let Ok(t) = Decimal::from_str(&form.stated_total) {
                    let three = Decimal::from(3);
                    form.stated_total = if t + three <= Decimal::ONE_HUNDRED {
                        t + three
                    } else {
                        t - three
                    }
                    .to_string();
                }
            }
            _ => {
                if let Some(ind) = form.indicators.iter_mut().find(|i| !i.weight.is_empty()) {
                    ind.actual = Some(v1::Measure {
                        raw: "0".into(),
                        ..Default::default()
                    });
                    ind.self_score = ind.weight.clone();
                    ind.deviation_reason.clear();
                }
            }
        }
    }
    form
}

/// A PostgreSQL database made for one run, dropped with it.
struct RunDatabase {
    admin: sea_orm::DatabaseConnection,
    name: String,
    url: String,
}

impl RunDatabase {
    async fn create(server: &str, run: &str) -> anyhow::Result<Self> {
        use sea_orm::ConnectionTrait;
        let (server, query) = match server.split_once('?') {
            Some((server, options)) => (server, format!("?{options}")),
            None => (server, String::new()),
        };
        let server = server.trim_end_matches('/');
        // Quiet: dropping a run's database takes seconds, which sqlx would
        // log as a slow statement in the middle of the report.
        let mut options = sea_orm::ConnectOptions::new(format!("{server}/postgres{query}"));
        options.sqlx_logging(false);
        let admin = sea_orm::Database::connect(options)
            .await
            .with_context(|| format!("--postgres-url: cannot reach PostgreSQL at {server}"))?;
        let name = format!("jixiao_loadgen_{run}");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(RunDatabase {
            admin,
            url: format!("{server}/{name}{query}"),
            name,
        })
    }

    /// After the servers are gone.
    async fn drop_database(self) -> anyhow::Result<()> {
        use sea_orm::ConnectionTrait;
        self.admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}

/// Deletes a run's keys (its jobs stream, the mirror of its events) from the
/// shared Redis, after the servers are gone: each run has its own prefix.
async fn delete_run_keys(url: &str, prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(url).context("--redis-url")?;
    let mut c = client.get_multiplexed_async_connection().await?;
    let pattern = format!("{prefix}:*");
    let mut cursor = 0u64;
    loop {
        // SCAN, not KEYS: the server is shared and may hold many keys.
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(keys)
                .query_async::<()>(&mut c)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Seconds the machine's CPUs have been busy (user, nice, system, irq and
/// softirq in `/proc/stat`): steadier than forms/s on a machine whose speed
/// varies, as it counts the work rather than the time. `None` off Linux.
fn machine_busy_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq …, in USER_HZ (100 on Linux).
    let busy = [0, 1, 2, 5, 6]
        .iter()
        .map(|&i| ticks.get(i).copied().unwrap_or(0))
        .sum::<u64>();
    Some(busy as f64 / 100.0)
}

/// A child `jixiao serve`, killed when dropped.
struct Spawned {
    child: Child,
    name: String,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Spawned {
    /// Peak resident memory (VmHWM) in MiB.
    fn peak_rss_mib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: u64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb / 1024)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn spawn(
    dir: &std::path::Path,
    name: &str,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<Spawned> {
    let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("JIXIAO_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().cloned());
    Ok(Spawned {
        child: cmd.spawn().context("cannot start jixiao serve")?,
        name: name.to_string(),
    })
}

/// Waits until `url` answers health checks; fails at once when one of
/// `servers` has exited (a bad setting, say: its log says which).
async fn connect(url: &str, servers: &mut [Spawned], wait: Duration) -> anyhow::Result<Channel> {
    let deadline = Instant::now() + wait;
    loop {
        for s in servers.iter_mut() {
            if let Some(status) = s.child.try_wait()? {
                anyhow::bail!(
                    "{} exited ({status}) before {url} came up: see its log, {}.log",
                    s.name,
                    s.name
                );
            }
        }
        match Channel::from_shared(url.to_string())?.connect().await {
            Ok(ch) => {
                let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
                if health
                    .check(tonic_health::pb::HealthCheckRequest::default())
                    .await
                    .is_ok()
                {
                    return Ok(ch);
                }
            }
            Err(e) if Instant::now() > deadline => anyhow::bail!("{url} did not come up: {e}"),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What one sending pass measured.
struct Sent {
    forms: u64,
    elapsed: Duration,
    /// Each RPC's latency, sorted.
    latencies: Vec<Duration>,
    rejected: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `channel` with the bearer token on every call (none when empty).
fn with_token(channel: Channel, token: &str) -> anyhow::Result<jixiao_telemetry::PeerChannel> {
    jixiao_telemetry::peer(channel, Some(token).filter(|t| !t.is_empty()))
        .map_err(|e| anyhow::anyhow!(e))
}

/// Sends forms `0..n` over `channel` from `concurrency` tasks.
async fn send_all(
    channel: Channel,
    token: &str,
    forms: Forms,
    n: u64,
    args: &Args,
) -> anyhow::Result<Sent> {
    let channel = with_token(channel, token)?;
    let next = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let step = args.batch.max(1) as u64;
    // Pacing: request k may start at k × interval.
    let interval = (args.rate > 0).then(|| Duration::from_secs_f64(step as f64 / args.rate as f64));
    let deadline = started + Duration::from_secs(args.max_secs);
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (channel, next, rejected, forms) = (
            channel.clone(),
            next.clone(),
            rejected.clone(),
            forms.clone(),
        );
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let mut client = IntakeServiceClient::new(channel)
                .max_encoding_message_size(64 << 20)
                .max_decoding_message_size(64 << 20);
            let mut latencies = Vec::new();
            loop {
                let from = next.fetch_add(step, Ordering::Relaxed);
                if from >= n || Instant::now() > deadline {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                if let Some(i) = interval {
                    tokio::time::sleep_until((started + i.mul_f64((from / step) as f64)).into())
                        .await;
                }
                let to = (from + step).min(n);
                let t = Instant::now();
                if batch == 0 {
                    client
                        .submit_form(forms(from))
                        .await
                        .context("SubmitForm")?;
                } else {
                    let items: Vec<_> = (from..to).map(|i| forms(i)).collect();
                    let r = client
                        .submit_batch(futures::stream::iter(items))
                        .await
                        .context("SubmitBatch")?
                        .into_inner();
                    rejected.fetch_add(u64::from(r.rejected), Ordering::Relaxed);
                }
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    latencies.sort();
    Ok(Sent {
        forms: next.load(Ordering::Relaxed).min(n),
        elapsed: started.elapsed(),
        latencies,
        rejected: rejected.load(Ordering::Relaxed),
    })
}

/// Counts `audited` events of the run's tenant until `expected` (the forms
/// sent, less those intake rejected or refused once the sending is done);
/// the time the last came.
async fn audited(
    channel: Channel,
    token: String,
    tenant: String,
    mut expected: tokio::sync::watch::Receiver<u64>,
    deadline: Instant,
) -> anyhow::Result<Instant> {
    let channel = with_token(channel, &token)?;
    let mut client = ExportServiceClient::new(channel);
    let mut cursor = 0;
    let mut seen = 0;
    // A watch ends when the server restarts a stream; resume from the cursor.
    while seen < *expected.borrow() {
        let mut stream = client
            .watch_events(v1::WatchEventsRequest {
                after_cursor: cursor,
                types: vec![v1::EventType::Audited as i32],
                tenant: tenant.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        loop {
            let n = *expected.borrow();
            if seen >= n {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::select! {
                // Fewer to wait for: some forms were refused.
                Ok(()) = expected.changed() => continue,
                next = tokio::time::timeout(left, stream.next()) => match next {
                    Err(_) => anyhow::bail!("only {seen} of {n} forms audited in time"),
                    Ok(None) => break,
                    Ok(Some(e)) => {
                        cursor = e?.cursor;
                        seen += 1;
                    }
                },
            }
        }
    }
    Ok(Instant::now())
}

/// A dashboard: follows every event of the run's tenant until aborted,
/// counting what it is sent.
async fn dashboard(
    channel: Channel,
    token: String,
    tenant: String,
    delivered: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let channel = with_token(channel, &token)?;
    let mut client = ExportServiceClient::new(channel);
    let mut cursor = 0;
    loop {
        let mut stream = client
            .watch_events(v1::WatchEventsRequest {
                after_cursor: cursor,
                tenant: tenant.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        while let Some(e) = stream.next().await {
            cursor = e?.cursor;
            delivered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<bool> {
    if args.forms == 0 || args.forms > MAX_FORMS {
        anyhow::bail!("--forms: between 1 and {MAX_FORMS}");
    }
    let templates = Arc::new(templates()?);
    let run = format!(
        "{:x}",
        args.seed ^ jixiao_proto::convert::now_millis() as u64
    );
    let tenant = format!("压测/{run}");
    let dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("jixiao-loadgen-{run}")),
    };
    std::fs::create_dir_all(&dir)?;
    let forms = {
        let (templates, run, tenant, defects) = (
            templates.clone(),
            run.clone(),
            tenant.clone(),
            args.defect_percent,
        );
        Arc::new(move |i: u64| v1::SubmitFormRequest {
            tenant: tenant.clone(),
            form: Some(synthetic(&templates, &run, &tenant, i, defects)),
            rulebook_id: String::new(),
        }) as Forms
    };
    let mut servers: Vec<Spawned> = Vec::new();
    let mut run_database = None;
    let measured = pipeline(
        &args,
        &dir,
        &run,
        &tenant,
        forms.clone(),
        &mut servers,
        &mut run_database,
    )
    .await;
    // What the run made goes with it, whether it succeeded or not: the
    // servers stop before their database is dropped.
    drop(servers);
    let cleaned = match run_database {
        Some(db) => async {
            db.drop_database().await?;
            delete_run_keys(&args.redis_url, &redis_prefix(&run)).await
        }
        .await
        .context("removing the run's database and Redis keys"),
        None => Ok(()),
    };
    let outcome = match measured {
        Ok(e2e) => match cleaned {
            Ok(()) if args.ceiling => ceiling(&args, &dir, forms, e2e).await,
            other => other,
        },
        Err(e) => Err(e),
    };
    // A directory of our own making goes with the run (a million forms is
    // ~8 GB); a failed run keeps the servers' logs in it.
    if args.work_dir.is_none() {
        if outcome.is_ok() {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            let _ = std::fs::remove_dir_all(dir.join("data"));
            eprintln!("loadgen: the servers' logs are kept in {}", dir.display());
        }
    }
    outcome.map(|()| true)
}

type Forms = Arc<dyn Fn(u64) -> v1::SubmitFormRequest + Send + Sync>;

/// Each run's keys in the shared Redis start with this, deleted with its database.
fn redis_prefix(run: &str) -> String {
    format!("loadgen-{run}")
}

/// Starts the servers `args` asks for (into `servers`, and the run's
/// database into `run_database`, for the caller to remove whatever happens
/// here), sends the forms, waits until every one is audited, and prints the
/// figures. Returns the end-to-end rate.
async fn pipeline(
    args: &Args,
    dir: &std::path::Path,
    run: &str,
    tenant: &str,
    forms: Forms,
    servers: &mut Vec<Spawned>,
    run_database: &mut Option<RunDatabase>,
) -> anyhow::Result<f64> {
    let mut settings: Vec<(String, String)> = Vec::new();
    for kv in &args.server_config {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--server-config {kv:?}: expected key=value"))?;
        settings.push((
            format!("JIXIAO_{}", k.trim().to_uppercase().replace('.', "__")),
            v.trim().to_string(),
        ));
    }
    let url = match args.spawn {
        Spawn::None => {
            let host = args
                .addr
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            if !host.starts_with("127.0.0.1:") && !host.starts_with("localhost:") {
                anyhow::bail!("--addr: loads target 127.0.0.1 only");
            }
            args.addr.clone()
        }
        Spawn::Embedded => {
            let port = free_port()?;
            servers.push(spawn(
                dir,
                "embedded",
                &[
                    "serve".into(),
                    "--listen".into(),
                    format!("127.0.0.1:{port}"),
                    "--data-dir".into(),
                    dir.join("data").display().to_string(),
                ],
                &settings,
            )?);
            format!("http://127.0.0.1:{port}")
        }
        Spawn::ScaleOut => {
            let db = run_database.insert(RunDatabase::create(&args.postgres_url, run).await?);
            let port = free_port()?;
            let front = format!("http://127.0.0.1:{port}");
            let mut env = vec![
                ("JIXIAO_DATABASE_URL".to_string(), db.url.clone()),
                ("JIXIAO_REDIS_URL".to_string(), args.redis_url.clone()),
                ("JIXIAO_REDIS_PREFIX".to_string(), redis_prefix(run)),
            ];
            env.extend(settings.iter().cloned());
            servers.push(spawn(
                dir,
                "front",
                &[
                    "serve".into(),
                    "--role".into(),
                    "intake,audit,export".into(),
                    "--listen".into(),
                    format!("127.0.0.1:{port}"),
                ],
                &env,
            )?);
            connect(&front, servers, Duration::from_secs(60)).await?;
            // Each worker audits its own batches (the audit role in its
            // process: findings commit with the scorecards) and reads forms
            // from the front.
            let mut worker_env = env.clone();
            worker_env.push(("JIXIAO_PEERS__INTAKE".into(), front.clone()));
            for w in 0..args.workers.max(1) {
                servers.push(spawn(
                    dir,
                    &format!("scoring-{w}"),
                    &[
                        "serve".into(),
                        "--role".into(),
                        "scoring,audit".into(),
                        "--listen".into(),
                        format!("127.0.0.1:{}", free_port()?),
                    ],
                    &worker_env,
                )?);
            }
            front
        }
    };
    let channel = connect(&url, servers, Duration::from_secs(60)).await?;
    let deadline = Instant::now() + Duration::from_secs(args.max_secs);
    let (expected, expected_rx) = tokio::sync::watch::channel(args.forms);
    let watcher = tokio::spawn(audited(
        channel.clone(),
        args.token.clone(),
        tenant.to_string(),
        expected_rx,
        deadline,
    ));
    let dashboard_events = Arc::new(AtomicU64::new(0));
    let dashboards: Vec<_> = (0..args.dashboards)
        .map(|_| {
            tokio::spawn(dashboard(
                channel.clone(),
                args.token.clone(),
                tenant.to_string(),
                dashboard_events.clone(),
            ))
        })
        .collect();
    let busy_before = machine_busy_secs();
    let first_sent = Instant::now();
    let sent = send_all(channel.clone(), &args.token, forms, args.forms, args).await?;
    // A form intake rejected or refused is never audited.
    expected.send_replace(sent.forms.saturating_sub(sent.rejected));
    let end_to_end = watcher.await??.duration_since(first_sent);
    let busy = machine_busy_secs()
        .zip(busy_before)
        .map(|(after, before)| after - before);
    for d in &dashboards {
        d.abort();
    }
    let rss: Vec<String> = servers
        .iter()
        .map(|s| format!("{} {} MiB", s.name, s.peak_rss_mib().unwrap_or(0)))
        .collect();

    let mode = if args.batch == 0 {
        "SubmitForm".to_string()
    } else {
        format!("SubmitBatch×{}", args.batch)
    };
    println!(
        "loadgen: {} forms ({mode}, concurrency {}, {} rate, {}% defects) against {:?}{}",
        sent.forms,
        args.concurrency,
        if args.rate == 0 {
            "open".to_string()
        } else {
            format!("{}/s", args.rate)
        },
        args.defect_percent,
        args.spawn,
        if args.spawn == Spawn::ScaleOut {
            format!(" with {} scoring worker(s)", args.workers)
        } else {
            String::new()
        }
    );
    println!(
        "intake:      {:.0} forms/s ({} in {:.1} s, {} rejected)",
        sent.forms as f64 / sent.elapsed.as_secs_f64(),
        sent.forms,
        sent.elapsed.as_secs_f64(),
        sent.rejected
    );
    println!(
        "latency:     p50 {}  p95 {}  p99 {}  (per {mode} RPC, {} RPCs)",
        ms(percentile(&sent.latencies, 0.50)),
        ms(percentile(&sent.latencies, 0.95)),
        ms(percentile(&sent.latencies, 0.99)),
        sent.latencies.len()
    );
    let e2e = sent.forms as f64 / end_to_end.as_secs_f64();
    println!(
        "end to end:  {e2e:.0} forms/s (every form scored and audited {:.1} s after the first was sent)",
        end_to_end.as_secs_f64()
    );
    if let Some(busy) = busy {
        println!(
            "machine CPU: {:.0} µs per form (every process on the machine, the client, PostgreSQL and Redis included)",
            busy * 1e6 / sent.forms.max(1) as f64
        );
    }
    if args.dashboards > 0 {
        println!(
            "dashboards:  {} following every event, {} events delivered to them",
            args.dashboards,
            dashboard_events.load(Ordering::Relaxed)
        );
    }
    println!(
        "peak RSS:    {}",
        if rss.is_empty() {
            "(server not started here)".into()
        } else {
            rss.join(", ")
        }
    );
    Ok(e2e)
}

/// The same forms through a bare tonic service, once the pipeline's servers
/// have stopped: the pipeline's rate as a share of this machine's RPC ceiling.
async fn ceiling(args: &Args, dir: &std::path::Path, forms: Forms, e2e: f64) -> anyhow::Result<()> {
    let port = free_port()?;
    let mut echo = spawn(
        dir,
        "echo",
        &[
            "loadgen-echo".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
        ],
        &[],
    )?;
    let url = format!("http://127.0.0.1:{port}");
    let ch = connect(
        &url,
        std::slice::from_mut(&mut echo),
        Duration::from_secs(30),
    )
    .await?;
    let ceiling = send_all(ch, "", forms, args.forms, args).await?;
    let rate = ceiling.forms as f64 / ceiling.elapsed.as_secs_f64();
    println!(
        "ceiling:     {rate:.0} forms/s through a bare tonic service (same payloads, same client; p99 {}); the pipeline is {:.0}% of it end to end",
        ms(percentile(&ceiling.latencies, 0.99)),
        100.0 * e2e / rate
    );
    drop(echo);
    Ok(())
}

/// The ceiling's server: intake's contract with nothing behind it.
struct Echo;

#[tonic::async_trait]
impl v1::intake_service_server::IntakeService for Echo {
    async fn submit_form(
        &self,
        request: tonic::Request<v1::SubmitFormRequest>,
    ) -> Result<tonic::Response<v1::SubmitFormResponse>, tonic::Status> {
        let r = request.into_inner();
        Ok(tonic::Response::new(echo(&r)))
    }

    async fn submit_batch(
        &self,
        request: tonic::Request<tonic::Streaming<v1::SubmitFormRequest>>,
    ) -> Result<tonic::Response<v1::SubmitBatchResponse>, tonic::Status> {
        let mut stream = request.into_inner();
        let mut response = v1::SubmitBatchResponse::default();
        while let Some(r) = stream.next().await {
            let r = r?;
            response.results.push(v1::BatchItemResult {
                index: response.accepted,
                outcome: Some(v1::batch_item_result::Outcome::Accepted(echo(&r))),
            });
            response.accepted += 1;
        }
        Ok(tonic::Response::new(response))
    }

    async fn import_document(
        &self,
        _: tonic::Request<v1::ImportDocumentRequest>,
    ) -> Result<tonic::Response<v1::ImportDocumentResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("echo"))
    }

    async fn get_submission(
        &self,
        _: tonic::Request<v1::GetSubmissionRequest>,
    ) -> Result<tonic::Response<v1::Submission>, tonic::Status> {
        Err(tonic::Status::unimplemented("echo"))
    }

    async fn get_submissions(
        &self,
        _: tonic::Request<v1::GetSubmissionsRequest>,
    ) -> Result<tonic::Response<v1::GetSubmissionsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("echo"))
    }

    async fn list_submissions(
        &self,
        _: tonic::Request<v1::ListSubmissionsRequest>,
    ) -> Result<tonic::Response<v1::ListSubmissionsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("echo"))
    }
}

/// The answer intake gives, without doing anything.
fn echo(r: &v1::SubmitFormRequest) -> v1::SubmitFormResponse {
    let form = r.form.as_ref();
    v1::SubmitFormResponse {
        submission: Some(v1::Submission {
            id: "sub_echo".into(),
            tenant: r.tenant.clone(),
            project_name: form.map(|f| f.project_name.clone()).unwrap_or_default(),
            ..Default::default()
        }),
        deduplicated: false,
    }
}

#[derive(clap::Args, Debug)]
pub struct EchoArgs {
    #[arg(long)]
    pub listen: std::net::SocketAddr,
}

/// Serves the echo until killed.
pub async fn serve_echo(args: EchoArgs) -> anyhow::Result<bool> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<IntakeServiceServer<Echo>>().await;
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(IntakeServiceServer::new(Echo).max_decoding_message_size(64 << 20))
        .serve(args.listen)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_forms_are_valid_distinct_and_reproducible() {
        let t = templates().unwrap();
        assert_eq!(t.len(), 37);
        let a = synthetic(&t, "r", "压测/r", 5, 20);
        assert_eq!(synthetic(&t, "r", "压测/r", 5, 20), a);
        let digests: std::collections::HashSet<String> = (0..200)
            .map(|i| {
                let f = jixiao_proto::convert::form_from_proto(synthetic(&t, "r", "压测/r", i, 20))
                    .unwrap();
                assert_eq!(jixiao_form::validate(&f), vec![], "form {i}");
                jixiao_form::content_digest(&f)
            })
            .collect();
        assert_eq!(digests.len(), 200);
        // Every defect-free form keeps its own amounts' shape: scaled, never negative.
        let clean = synthetic(&t, "r", "压测/r", 7, 0);
        for r in &clean.funds.unwrap().rows {
            assert!(!r.full_year_budget.starts_with('-'));
        }
    }
}
