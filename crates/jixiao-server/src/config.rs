//! The one place configuration is read: a TOML file, then `JIXIAO_…`
//! environment variables (`__` for nesting: `JIXIAO_WORKER__BATCH_SIZE`), then
//! command-line flags. Unknown keys and bad values fail at start, naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// A service this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Intake,
    Scoring,
    Audit,
    Export,
}

pub const ALL_ROLES: [Role; 4] = [Role::Intake, Role::Scoring, Role::Audit, Role::Export];

/// Where the other services are; empty means "in this process".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Peers {
    pub intake: String,
    pub scoring: String,
    pub audit: String,
    pub export: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Scoring worker tasks in this process.
    pub concurrency: usize,
    /// Jobs taken from the queue at once, scored together and stored in one
    /// transaction (512 ran 7 % faster than 256 embedded; 1,024 no faster
    /// and larger, BENCHMARKS.md).
    pub batch_size: usize,
    /// Milliseconds a short batch waits for more jobs before it is worked.
    pub batch_linger_ms: u64,
    /// Seconds a delivery may stay unacked before another worker takes it over.
    pub reclaim_idle_secs: u64,
    /// Deliveries after which a job goes to the dead-letter stream (Redis).
    pub max_deliveries: u32,
    /// Seconds between relays of jobs still queued in the database (0: at start only).
    pub relay_interval_secs: u64,
    /// Seconds a department's forms must be quiet before its cross-form audit
    /// runs (at the latest ten times this after its first change).
    pub department_audit_secs: u64,
    /// Deadline in seconds of each call the worker makes to intake and audit.
    pub rpc_timeout_secs: u64,
    /// Jobs the queue holds (in process, or in Redis where each entry
    /// carries its form) before intake waits for room.
    pub queue_capacity: usize,
    /// Seconds a submission waits for room in a full queue before it is
    /// refused with RESOURCE_EXHAUSTED, nothing stored.
    pub backlog_wait_secs: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            batch_size: 512,
            batch_linger_ms: 20,
            reclaim_idle_secs: 30,
            max_deliveries: 5,
            relay_interval_secs: 30,
            department_audit_secs: 5,
            rpc_timeout_secs: 30,
            queue_capacity: jixiao_queue::IN_PROCESS_CAPACITY,
            backlog_wait_secs: 10,
        }
    }
}

/// Who may call. Without `required`, every call is allowed — only on a
/// loopback address, and the log says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Every RPC needs `authorization: Bearer <token>` (`jixiao token create`).
    pub required: bool,
    /// The secret services present to each other. Needed when roles run in
    /// separate processes with tokens required; one process makes its own.
    pub internal_token: String,
    /// Seconds a checked token is trusted before it is read again (a revoke
    /// takes effect within this).
    pub cache_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            required: false,
            internal_token: String::new(),
            cache_secs: 5,
        }
    }
}

/// TLS (rustls) for the server and for the calls between services.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain of this server; with `key`, the server speaks TLS only.
    pub cert: PathBuf,
    /// PEM private key of `cert`.
    pub key: PathBuf,
    /// PEM CA that signs client certificates; when set, clients must present one.
    pub client_ca: PathBuf,
    /// PEM CA to trust for the other services (`https://` peers).
    pub ca: PathBuf,
    /// Name expected in the peers' certificates; default: the peer URL's host.
    pub server_name: String,
}

impl TlsConfig {
    pub fn enabled(&self) -> bool {
        !self.cert.as_os_str().is_empty()
    }
}

/// What one request, and one token, may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Bytes of one gRPC message (a form, a batch item).
    pub max_message_bytes: usize,
    /// Bytes of one document sent to ImportDocument.
    pub max_document_bytes: usize,
    /// Forms in one SubmitBatch stream.
    pub max_batch_forms: usize,
    /// RPCs per second per token (sustained); 0 for no limit.
    pub rate_per_sec: u32,
    /// RPCs a token may make at once above the rate.
    pub rate_burst: u32,
    /// Longest any RPC may run, in seconds (a client's shorter deadline wins); 0 for none.
    pub request_timeout_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 << 20,
            max_document_bytes: 32 << 20,
            max_batch_forms: 100_000,
            rate_per_sec: 200,
            rate_burst: 400,
            request_timeout_secs: 600,
        }
    }
}

/// Traces and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// OTLP/gRPC endpoint for traces, e.g. http://otel-collector:4317; empty: none.
    pub otlp_endpoint: String,
    /// service.name of the traces; default `jixiao-<roles>`.
    pub service_name: String,
    /// Address of the admin HTTP server (`/metrics` in Prometheus text); empty: none.
    pub admin_listen: String,
}

/// The event log WatchEvents serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Events kept; older ones are deleted, and a watcher behind them is told so.
    pub retain: u64,
    /// Seconds between trims (0: never trim).
    pub trim_interval_secs: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            retain: 1_000_000,
            trim_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// gRPC listen address.
    pub listen: String,
    /// Where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `<data_dir>/jixiao.sqlite`.
    pub database_url: String,
    /// `redis://…` for the Redis Streams queue; empty means the in-process queue.
    pub redis_url: String,
    /// Prefix of every Redis key of this deployment.
    pub redis_prefix: String,
    pub roles: Vec<Role>,
    /// Rulebook for submissions that name none and match no region.
    pub default_rulebook: String,
    /// A directory of further rulebook files (`*.toml`), loaded at start beside
    /// the built-in ones; empty for none.
    pub rulebook_dir: PathBuf,
    pub peers: Peers,
    pub worker: WorkerConfig,
    pub events: EventsConfig,
    pub auth: AuthConfig,
    pub tls: TlsConfig,
    pub limits: LimitsConfig,
    pub telemetry: TelemetryConfig,
    /// Seconds in-flight work may take to finish at shutdown.
    pub shutdown_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:50051".into(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            redis_url: String::new(),
            redis_prefix: "jixiao".into(),
            roles: ALL_ROLES.to_vec(),
            default_rulebook: jixiao_scoring::DEFAULT_RULEBOOK_ID.into(),
            rulebook_dir: PathBuf::new(),
            peers: Peers::default(),
            worker: WorkerConfig::default(),
            events: EventsConfig::default(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
            limits: LimitsConfig::default(),
            telemetry: TelemetryConfig::default(),
            shutdown_grace_secs: 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

const ENV_PREFIX: &str = "JIXIAO_";

impl Config {
    /// Layers `file`, then the `JIXIAO_` variables among `env`, then `flags`
    /// (dotted keys such as `worker.batch_size`).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &[(&str, String)],
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
                text.parse::<Table>()
                    .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
            }
            None => Table::new(),
        };
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_lowercase().replace("__", ".");
            set(
                &mut table,
                &key,
                &value,
                &format!("environment variable {name}"),
            )?;
        }
        for (key, value) in flags {
            set(&mut table, key, value, &format!("flag for {key}"))?;
        }
        let config: Config = serde_path_to_error::deserialize(Value::Table(table)).map_err(
            |e: serde_path_to_error::Error<toml::de::Error>| {
                let path = e.path().to_string();
                if path == "." {
                    ConfigError(e.inner().message().to_string())
                } else {
                    ConfigError(format!("key `{path}`: {}", e.inner().message()))
                }
            },
        )?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if self.roles.is_empty() {
            return Err(ConfigError(
                "key `roles`: at least one role is required".into(),
            ));
        }
        if self.worker.batch_size == 0
            || self.worker.concurrency == 0
            || self.worker.queue_capacity == 0
        {
            return Err(ConfigError(
                "keys `worker.batch_size`, `worker.concurrency` and `worker.queue_capacity` must be at least 1".into(),
            ));
        }
        let addr = self.listen_addr()?;
        if !self.auth.required && !addr.ip().is_loopback() {
            return Err(ConfigError(format!(
                "key `auth.required`: refusing to serve without tokens on {addr}, which is not a loopback address; \
                 set auth.required = true and create tokens with `jixiao token create`"
            )));
        }
        let separate = [&self.peers.intake, &self.peers.audit]
            .iter()
            .any(|p| !p.is_empty());
        if self.auth.required && separate && self.auth.internal_token.is_empty() {
            return Err(ConfigError(
                "key `auth.internal_token`: required when tokens are required and roles run in separate processes (peers.* set); every process must have the same".into(),
            ));
        }
        if !self.auth.internal_token.is_empty() && self.auth.internal_token.len() < 32 {
            return Err(ConfigError(
                "key `auth.internal_token`: at least 32 characters".into(),
            ));
        }
        if self.tls.enabled() == self.tls.key.as_os_str().is_empty() {
            return Err(ConfigError(
                "keys `tls.cert` and `tls.key`: give both or neither".into(),
            ));
        }
        for (key, v) in [
            ("limits.max_message_bytes", self.limits.max_message_bytes),
            ("limits.max_document_bytes", self.limits.max_document_bytes),
            ("limits.max_batch_forms", self.limits.max_batch_forms),
        ] {
            if v == 0 {
                return Err(ConfigError(format!("key `{key}`: must be at least 1")));
            }
        }
        if self.limits.rate_per_sec > 0 && self.limits.rate_burst == 0 {
            return Err(ConfigError(
                "key `limits.rate_burst`: must be at least 1 when limits.rate_per_sec is set"
                    .into(),
            ));
        }
        if !self.telemetry.admin_listen.is_empty() {
            self.telemetry
                .admin_listen
                .parse::<SocketAddr>()
                .map_err(|e| {
                    ConfigError(format!(
                        "key `telemetry.admin_listen`: {:?} is not an address ({e})",
                        self.telemetry.admin_listen
                    ))
                })?;
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|e| {
            ConfigError(format!(
                "key `listen`: {:?} is not an address such as 127.0.0.1:50051 ({e})",
                self.listen
            ))
        })
    }

    /// The effective configuration as TOML, passwords in URLs and secrets masked.
    pub fn show(&self) -> Result<String, ConfigError> {
        let mut shown = self.clone();
        shown.database_url = crate::redact(&shown.database_url);
        shown.redis_url = crate::redact(&shown.redis_url);
        if !shown.auth.internal_token.is_empty() {
            shown.auth.internal_token = "***".into();
        }
        toml::to_string(&shown)
            .map_err(|e| ConfigError(format!("cannot print the configuration: {e}")))
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The database URL, defaulting to SQLite under the data directory.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("jixiao.sqlite").display()
            )
        } else {
            self.database_url.clone()
        }
    }
}

/// Sets a dotted key from text: lists are comma-separated, whole numbers are integers.
fn set(table: &mut Table, key: &str, value: &str, source: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = key.split('.').collect();
    let (last, parents) = parts
        .split_last()
        .ok_or_else(|| ConfigError(format!("{source}: empty key")))?;
    let mut t = table;
    for p in parents {
        t = t
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError(format!("{source}: key `{p}` is not a section")))?;
    }
    let v = if *last == "roles" {
        Value::Array(
            value
                .split(',')
                .map(|r| Value::String(r.trim().to_string()))
                .collect(),
        )
    } else if let Ok(n) = value.parse::<i64>() {
        Value::Integer(n)
    } else if let Ok(b) = value.parse::<bool>() {
        Value::Boolean(b)
    } else {
        Value::String(value.to_string())
    };
    t.insert(last.to_string(), v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_standalone() {
        let c = Config::load(None, vec![], &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:50051");
        assert_eq!(c.roles, ALL_ROLES);
        assert_eq!(c.database_url(), "sqlite://data/jixiao.sqlite?mode=rwc");
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = std::env::temp_dir().join(format!("jixiao-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("jixiao.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1\"\ndata_dir = \"/srv/a\"\n[worker]\nbatch_size = 8\n",
        )
        .unwrap();
        let env = vec![
            ("JIXIAO_DATA_DIR".to_string(), "/srv/b".to_string()),
            ("JIXIAO_WORKER__BATCH_SIZE".to_string(), "16".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let c = Config::load(
            Some(&file),
            env,
            &[
                ("listen", "127.0.0.1:2".into()),
                ("roles", "intake, export".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.data_dir, PathBuf::from("/srv/b"));
        assert_eq!(c.worker.batch_size, 16);
        assert_eq!(c.roles, [Role::Intake, Role::Export]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = Config::load(None, vec![("JIXIAO_LISTN".into(), "x".into())], &[]).unwrap_err();
        assert!(e.to_string().contains("listn"), "{e}");
        let e = Config::load(None, vec![], &[("listen", "nowhere".into())]).unwrap_err();
        assert!(e.to_string().contains("key `listen`"), "{e}");
        let e = Config::load(None, vec![], &[("roles", "intake,billing".into())]).unwrap_err();
        assert!(e.to_string().contains("billing"), "{e}");
        let e = Config::load(
            None,
            vec![("JIXIAO_LIMITS__MAX_BATCH_FORMS".into(), "many".into())],
            &[],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("key `limits.max_batch_forms`"),
            "{e}"
        );
        let e = Config::load(None, vec![], &[("listen", "0.0.0.0:50051".into())]).unwrap_err();
        assert!(e.to_string().contains("auth.required"), "{e}");
        // A queue of no room would refuse every submission.
        let e = Config::load(None, vec![], &[("worker.queue_capacity", "0".into())]).unwrap_err();
        assert!(e.to_string().contains("worker.queue_capacity"), "{e}");
        let e = Config::load(
            None,
            vec![
                ("JIXIAO_AUTH__REQUIRED".into(), "true".into()),
                ("JIXIAO_PEERS__INTAKE".into(), "http://intake:50051".into()),
            ],
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("auth.internal_token"), "{e}");
    }
}
