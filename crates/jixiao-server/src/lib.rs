//! Wires the roles of one jixiao process: storage, queue, the four gRPC
//! services, health and reflection, the scoring worker, graceful shutdown.
//! The binary and the tests call the same [`bind`] and [`Bound::run`].

mod admin;
mod auth;
pub mod config;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use jixiao_audit_service::AuditService;
use jixiao_export_service::{EventTail, ExportService, Window};
use jixiao_intake_service::{IntakeLimits, IntakeService};
use jixiao_proto::v1::{
    audit_service_client::AuditServiceClient, audit_service_server::AuditServiceServer,
    export_service_server::ExportServiceServer, intake_service_client::IntakeServiceClient,
    intake_service_server::IntakeServiceServer, scoring_service_server::ScoringServiceServer,
};
use jixiao_queue::{
    EventBus, InProcessEvents, InProcessQueue, Job, JobQueue, RedisEventStream, RedisQueue,
    RedisQueueOptions,
};
use jixiao_scoring::{builtin_rulebooks, Rulebooks};
use jixiao_scoring_service::{
    AuditPeer, DepartmentAudits, IntakePeer, ScoringService, ScoringWorker, WorkerOptions,
};
use jixiao_store::Store;
use jixiao_telemetry::PeerChannel;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity, Server, ServerTlsConfig};

pub use config::{Config, Role, ALL_ROLES};

/// HTTP/2 receive windows, for the megabyte batches clients and services send.
const STREAM_WINDOW: u32 = 8 << 20;
const CONNECTION_WINDOW: u32 = 16 << 20;
/// Scoring jobs re-read from the database per query at start.
const RELAY_PAGE: u64 = 1000;
/// Events kept in the Redis event stream for dashboards (approximately).
const EVENT_STREAM_CAP: usize = 100_000;

/// A process whose listener is bound (so tests can read the port) but not yet serving.
pub struct Bound {
    config: Config,
    listener: TcpListener,
    local_addr: SocketAddr,
    admin: Option<TcpListener>,
}

/// Binds the listen address of `config`, and its admin address if any.
pub async fn bind(config: Config) -> anyhow::Result<Bound> {
    let addr = config.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local_addr = listener.local_addr()?;
    let admin = if config.telemetry.admin_listen.is_empty() {
        None
    } else {
        Some(
            TcpListener::bind(&config.telemetry.admin_listen)
                .await
                .with_context(|| {
                    format!(
                        "cannot listen on {} (telemetry.admin_listen)",
                        config.telemetry.admin_listen
                    )
                })?,
        )
    };
    Ok(Bound {
        config,
        listener,
        local_addr,
        admin,
    })
}

/// How this process reaches the other services: their address (its own when
/// they share it), TLS, and the internal token when tokens are required.
struct Peers {
    local: SocketAddr,
    tls: Option<ClientTlsConfig>,
    internal_token: Option<String>,
}

impl Peers {
    fn new(
        config: &Config,
        local: SocketAddr,
        internal_token: Option<String>,
    ) -> anyhow::Result<Self> {
        let tls = if config.tls.enabled() {
            let ca = read_pem("tls.ca", &config.tls.ca)?;
            let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
            if !config.tls.server_name.is_empty() {
                tls = tls.domain_name(config.tls.server_name.clone());
            }
            if !config.tls.client_ca.as_os_str().is_empty() {
                // The server asks for client certificates: present our own.
                tls = tls.identity(Identity::from_pem(
                    read_pem("tls.cert", &config.tls.cert)?,
                    read_pem("tls.key", &config.tls.key)?,
                ));
            }
            Some(tls)
        } else {
            None
        };
        Ok(Peers {
            local,
            tls,
            internal_token,
        })
    }

    fn channel(&self, configured: &str) -> anyhow::Result<PeerChannel> {
        let uri = if !configured.is_empty() {
            configured.to_string()
        } else if self.tls.is_some() {
            format!("https://{}", self.local)
        } else {
            format!("http://{}", self.local)
        };
        let mut endpoint = Channel::from_shared(uri.clone())
            .with_context(|| format!("peer address {uri:?} is not a URI"))?
            .connect_timeout(Duration::from_secs(5))
            // Batches between the services are megabytes: a 64 KiB window
            // would make each one wait on dozens of window updates.
            .initial_stream_window_size(Some(STREAM_WINDOW))
            .initial_connection_window_size(Some(CONNECTION_WINDOW));
        if let Some(tls) = &self.tls {
            endpoint = endpoint
                .tls_config(tls.clone())
                .with_context(|| format!("TLS for peer {uri}"))?;
        }
        jixiao_telemetry::peer(endpoint.connect_lazy(), self.internal_token.as_deref())
            .map_err(|e| anyhow::anyhow!(e))
    }
}

fn read_pem(key: &str, path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str().is_empty() {
        anyhow::bail!("key `{key}`: required when TLS is on");
    }
    std::fs::read(path).with_context(|| format!("key `{key}`: cannot read {}", path.display()))
}

impl Bound {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where `/metrics` is served, when an admin address is configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes, then stops the workers (the batch in
    /// hand finishes; anything unacked stays queued in the database) and drains
    /// in-flight RPCs.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Bound {
            config,
            listener,
            local_addr,
            admin,
        } = self;
        if config.database_url.is_empty() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("cannot create data directory {}", config.data_dir.display())
            })?;
        }
        let store = Store::connect(&config.database_url())
            .await
            .context("cannot open the database")?;
        let rulebooks = Arc::new(load_rulebooks(&config)?);
        let catalogue = Arc::new(jixiao_audit::builtin_catalogue()?);
        let queue: Arc<dyn JobQueue> = if config.redis_url.is_empty() {
            Arc::new(InProcessQueue::with_capacity(config.worker.queue_capacity))
        } else {
            Arc::new(
                RedisQueue::connect(
                    &config.redis_url,
                    RedisQueueOptions {
                        prefix: config.redis_prefix.clone(),
                        group: "scoring".into(),
                        max_deliveries: config.worker.max_deliveries,
                        capacity: config.worker.queue_capacity,
                    },
                )
                .await
                .with_context(|| format!("cannot reach Redis at {}", redact(&config.redis_url)))?,
            )
        };
        let events: Arc<dyn EventBus> = Arc::new(InProcessEvents::new());

        let (health_reporter, health) = tonic_health::server::health_reporter();
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(jixiao_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(jixiao_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        // Tokens: one process makes its own internal token; separate ones share
        // the configured one (checked at load).
        let internal_token = if config.auth.required {
            Some(if config.auth.internal_token.is_empty() {
                jixiao_auth::random_secret().map_err(|e| anyhow::anyhow!(e))?
            } else {
                config.auth.internal_token.clone()
            })
        } else {
            tracing::warn!(
                addr = %local_addr,
                "TOKENS ARE OFF: every caller on this loopback address may do anything; set auth.required = true before exposing jixiao"
            );
            None
        };
        let auth_layer = auth::AuthLayer::new(
            store.clone(),
            auth::AuthPolicy {
                required: config.auth.required,
                internal_token: internal_token.clone().unwrap_or_default(),
                cache_for: Duration::from_secs(config.auth.cache_secs),
                rate: (config.limits.rate_per_sec > 0)
                    .then_some((config.limits.rate_per_sec, config.limits.rate_burst)),
                max_message_bytes: config.limits.max_message_bytes,
            },
        );
        let peers = Peers::new(&config, local_addr, internal_token)?;
        // Clients of the other services (connected lazily, in this process or across hosts).
        let intake_client = IntakeServiceClient::new(peers.channel(&config.peers.intake)?);
        let intake = config.has(Role::Intake).then(|| {
            Arc::new(IntakeService::new(
                store.clone(),
                queue.clone(),
                events.clone(),
                rulebooks.clone(),
                IntakeLimits {
                    max_batch_forms: config.limits.max_batch_forms,
                    max_document_bytes: config.limits.max_document_bytes,
                    max_message_bytes: config.limits.max_message_bytes,
                    backlog_wait: Duration::from_secs(config.worker.backlog_wait_secs),
                },
            ))
        });
        let max_message = config.limits.max_message_bytes;
        let scoring = config.has(Role::Scoring).then(|| {
            ScoringService::new(
                store.clone(),
                queue.clone(),
                rulebooks.clone(),
                Duration::from_secs(config.worker.backlog_wait_secs),
            )
            .into_server()
            .max_decoding_message_size(max_message)
        });
        let audit = config.has(Role::Audit).then(|| {
            Arc::new(AuditService::new(
                store.clone(),
                events.clone(),
                rulebooks.clone(),
                catalogue.clone(),
                intake_client.clone(),
            ))
        });
        let (stopping_tx, stopping) = watch::channel(false);
        let export = config.has(Role::Export).then(|| {
            let titles = catalogue
                .rules
                .iter()
                .map(|r| (r.id.clone(), r.title_zh.clone()))
                .collect();
            ExportService::new(store.clone(), events.clone(), stopping.clone(), titles)
        });
        if let (Some(export), false) = (&export, config.redis_url.is_empty()) {
            let stream = RedisEventStream::connect(
                &config.redis_url,
                &config.redis_prefix,
                EVENT_STREAM_CAP,
            )
            .await
            .with_context(|| format!("cannot reach Redis at {}", redact(&config.redis_url)))?;
            tokio::spawn(mirror_events(
                store.clone(),
                stream,
                export.tail(),
                stopping.clone(),
            ));
        }
        if let (Some(export), true) = (&export, config.events.trim_interval_secs > 0) {
            tokio::spawn(trim_events_periodically(
                store.clone(),
                export.tail(),
                config.events.retain,
                Duration::from_secs(config.events.trim_interval_secs),
                stopping.clone(),
            ));
        }
        let export = export.map(|e| e.into_server().max_decoding_message_size(max_message));
        if intake.is_some() {
            health_reporter
                .set_serving::<IntakeServiceServer<IntakeService>>()
                .await;
        }
        if scoring.is_some() {
            health_reporter
                .set_serving::<ScoringServiceServer<ScoringService>>()
                .await;
        }
        if audit.is_some() {
            health_reporter
                .set_serving::<AuditServiceServer<AuditService>>()
                .await;
        }
        if export.is_some() {
            health_reporter
                .set_serving::<ExportServiceServer<ExportService>>()
                .await;
        }

        let mut workers = Vec::new();
        if config.has(Role::Scoring) {
            relay_queued_jobs(&store, queue.as_ref()).await?;
            if config.worker.relay_interval_secs > 0 {
                tokio::spawn(relay_periodically(
                    store.clone(),
                    queue.clone(),
                    Duration::from_secs(config.worker.relay_interval_secs),
                    stopping.clone(),
                ));
            }
            // A service in this process (and not pointed elsewhere) is called
            // directly; any other over gRPC.
            let intake_peer = match &intake {
                Some(s) if config.peers.intake.is_empty() => IntakePeer::Local(s.clone()),
                _ => IntakePeer::Remote(IntakeServiceClient::new(
                    peers.channel(&config.peers.intake)?,
                )),
            };
            let audit_peer = match &audit {
                Some(s) if config.peers.audit.is_empty() => AuditPeer::Local(s.clone()),
                _ => {
                    AuditPeer::Remote(AuditServiceClient::new(peers.channel(&config.peers.audit)?))
                }
            };
            let rpc_timeout = Duration::from_secs(config.worker.rpc_timeout_secs.max(1));
            tokio::spawn(gauge_queue(queue.clone(), stopping.clone()));
            let departments = Arc::new(DepartmentAudits::default());
            tokio::spawn(departments.clone().run(
                audit_peer.clone(),
                Duration::from_secs(config.worker.department_audit_secs.max(1)),
                rpc_timeout,
                stopping.clone(),
            ));
            for n in 0..config.worker.concurrency {
                let worker = ScoringWorker {
                    store: store.clone(),
                    queue: queue.clone(),
                    events: events.clone(),
                    rulebooks: rulebooks.clone(),
                    intake: intake_peer.clone(),
                    audit: audit_peer.clone(),
                    departments: departments.clone(),
                    options: WorkerOptions {
                        consumer: format!("{local_addr}/{n}"),
                        batch_size: config.worker.batch_size,
                        batch_linger: Duration::from_millis(config.worker.batch_linger_ms),
                        reclaim_idle: Duration::from_secs(config.worker.reclaim_idle_secs),
                        rpc_timeout,
                    },
                };
                workers.push(tokio::spawn(worker.run(stopping.clone())));
            }
        }

        // Workers stop first, while the services they call are still up, and
        // event watches end; then the server drains.
        let grace = Duration::from_secs(config.shutdown_grace_secs);
        let (server_stop_tx, server_stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight scoring jobs");
            let _ = stopping_tx.send(true);
            let all = futures_join(workers);
            if tokio::time::timeout(grace, all).await.is_err() {
                tracing::warn!("scoring workers did not finish within the grace period; their jobs stay queued");
            }
            let _ = server_stop_tx.send(());
        });

        if let Some(admin) = admin {
            tracing::info!(addr = %admin.local_addr()?, "metrics on http://<addr>/metrics");
            tokio::spawn(admin::serve(admin, stopping.clone()));
        }

        tracing::info!(
            addr = %local_addr,
            roles = ?config.roles,
            database = %redact(&config.database_url()),
            queue = if config.redis_url.is_empty() { "in-process" } else { "redis streams" },
            tls = config.tls.enabled(),
            tokens = config.auth.required,
            "jixiao serving"
        );
        let mut server = Server::builder()
            .trace_fn(jixiao_telemetry::rpc_span)
            .initial_stream_window_size(Some(STREAM_WINDOW))
            .initial_connection_window_size(Some(CONNECTION_WINDOW));
        if config.limits.request_timeout_secs > 0 {
            // A client's shorter grpc-timeout wins; this caps the rest.
            server = server.timeout(Duration::from_secs(config.limits.request_timeout_secs));
        }
        if config.tls.enabled() {
            let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(
                read_pem("tls.cert", &config.tls.cert)?,
                read_pem("tls.key", &config.tls.key)?,
            ));
            if !config.tls.client_ca.as_os_str().is_empty() {
                tls = tls.client_ca_root(Certificate::from_pem(read_pem(
                    "tls.client_ca",
                    &config.tls.client_ca,
                )?));
            }
            server = server.tls_config(tls).context("TLS configuration")?;
        }
        server
            .layer(auth_layer)
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_optional_service(intake.map(IntakeService::into_server))
            .add_optional_service(scoring)
            .add_optional_service(
                audit.map(|a| a.into_server().max_decoding_message_size(max_message)),
            )
            .add_optional_service(export)
            // Small RPCs between the services must not wait out Nagle's algorithm.
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                async {
                    let _ = server_stop_rx.await;
                },
            )
            .await
            .context("gRPC server failed")?;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// The built-in rulebooks and those of `rulebook_dir`; a bad file stops the
/// start with its name, key and reason.
pub fn load_rulebooks(config: &Config) -> anyhow::Result<Rulebooks> {
    let mut books = builtin_rulebooks()?;
    if !config.rulebook_dir.as_os_str().is_empty() {
        let dir = &config.rulebook_dir;
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("rulebook_dir {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            books.push(jixiao_scoring::Rulebook::from_toml(
                &path.display().to_string(),
                &text,
            )?);
        }
    }
    Ok(Rulebooks::new(books, &config.default_rulebook)?)
}

/// Mirrors the event log into the Redis event stream for dashboards: catches
/// up from the stream's newest cursor (or the last `EVENT_STREAM_CAP` events
/// when the stream is empty), then follows the shared window on the log.
async fn mirror_events(
    store: Store,
    stream: RedisEventStream,
    tail: EventTail,
    mut stopping: watch::Receiver<bool>,
) {
    let mut window = tail.subscribe();
    loop {
        let w = window.borrow_and_update().clone();
        if let Err(e) = mirror_once(&store, &stream, &w).await {
            tracing::warn!(error = %e, "event stream mirror failed; it retries");
        }
        tokio::select! {
            _ = window.changed() => {}
            // A stream emptied meanwhile (Redis restarted) is filled again.
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

async fn mirror_once(store: &Store, stream: &RedisEventStream, w: &Window) -> anyhow::Result<()> {
    let mut cursor = stream.last_cursor().await?;
    if cursor == 0 {
        cursor = (store.last_event_seq().await? - EVENT_STREAM_CAP as i64).max(0);
    }
    loop {
        // From the window when it holds what follows; the log otherwise.
        // Borrowed either way: the fields are copied once, into the command.
        let read;
        let page: Vec<&jixiao_store::entity::event::Model> = if w.covers(cursor) {
            w.after(cursor).take(500).collect()
        } else {
            read = store
                .events_after(cursor, 500, &jixiao_store::EventFilter::default())
                .await?;
            read.iter().collect()
        };
        let Some(last) = page.last().map(|e| e.seq) else {
            return Ok(());
        };
        let numbers: Vec<[String; 2]> = page
            .iter()
            .map(|e| [e.fiscal_year.to_string(), e.at.to_string()])
            .collect();
        let entries: Vec<(i64, Vec<(&'static str, &str)>)> = page
            .iter()
            .zip(&numbers)
            .map(|(e, [year, at])| {
                (
                    e.seq,
                    vec![
                        ("type", e.event_type.as_str()),
                        ("submission", e.submission_id.as_str()),
                        ("tenant", e.tenant.as_str()),
                        ("unit", e.budget_unit.as_str()),
                        ("fiscal_year", year.as_str()),
                        ("at_ms", at.as_str()),
                        ("detail", e.detail.as_str()),
                    ],
                )
            })
            .collect();
        stream.append(&entries).await?;
        cursor = last;
        if page.len() < 500 {
            return Ok(());
        }
    }
}

/// Publishes the queue's depth (ready is the lag, pending in hand) as metrics.
async fn gauge_queue(queue: Arc<dyn JobQueue>, mut stopping: watch::Receiver<bool>) {
    loop {
        if let Ok((ready, pending)) = queue.depth().await {
            jixiao_telemetry::metrics::metrics().queue_depth(ready, pending);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

/// Keeps the newest `retain` events; watchers behind that are told so, those
/// this process serves from memory before the events go.
async fn trim_events_periodically(
    store: Store,
    tail: EventTail,
    retain: u64,
    interval: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        match store
            .trim_events(retain, |through| tail.trimming(through))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, retain, "trimmed the event log"),
            Err(e) => tracing::warn!(error = %e, "trimming the event log failed; it runs again"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

/// Every `interval`, compares what the queue holds with the jobs the
/// database queued more than an interval ago; when the queue holds fewer
/// (Redis restarted empty, or was flushed), the database's queued jobs are
/// published again. A duplicate is harmless: processing is idempotent. Only
/// jobs that old count, and the database is read before the queue: a job
/// just committed is enqueued a moment later, and counting it took a busy
/// pipeline for a lost queue (thousands of jobs published twice, the
/// stream past its bound and intake refusing forms).
async fn relay_periodically(
    store: Store,
    queue: Arc<dyn JobQueue>,
    interval: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        let cutoff = jixiao_proto::convert::now_millis()
            - i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        let queued = match store.count_jobs_queued_before(cutoff).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "database unreachable; relay waits");
                continue;
            }
        };
        let held = match queue.depth().await {
            Ok((ready, pending)) => (ready + pending) as u64,
            Err(e) => {
                tracing::warn!(error = %e, "queue unreachable; relay waits");
                continue;
            }
        };
        if held < queued {
            tracing::warn!(
                held,
                queued,
                "the queue lost jobs; publishing the database's queued jobs again"
            );
            if let Err(e) = relay_queued_jobs(&store, queue.as_ref()).await {
                tracing::warn!(error = %e, "relay of queued jobs failed; it runs again");
            }
        }
    }
}

/// Refills the queue from the jobs the database still has queued: those of a
/// previous run that stopped before acking, or whose enqueue failed or was lost.
async fn relay_queued_jobs(store: &Store, queue: &dyn JobQueue) -> anyhow::Result<()> {
    let mut after = 0;
    let mut total = 0;
    loop {
        let page = store.queued_jobs(after, RELAY_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        total += page.len();
        let full = page.len() as u64 == RELAY_PAGE;
        queue
            .enqueue(
                page.into_iter()
                    .map(|j| Job {
                        submission_id: j.submission_id,
                        rulebook_id: j.rulebook_id,
                        trace_context: j.trace_context,
                        form: None,
                    })
                    .collect(),
            )
            .await?;
        if !full {
            break;
        }
    }
    if total > 0 {
        tracing::info!(
            jobs = total,
            "re-queued scoring jobs left from a previous run"
        );
    }
    Ok(())
}

/// The URL without a password, for logs.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_logged() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact("sqlite://data/j.sqlite"),
            "sqlite://data/j.sqlite"
        );
    }
}
