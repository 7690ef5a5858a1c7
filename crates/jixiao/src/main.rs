//! `jixiao`: thin main. Parse the command line, load the configuration, run.

mod audit;
mod client;
mod documents;
mod export;
mod import;
mod loadgen;
mod queue;
mod score;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use jixiao_server::Config;

// Forms, scorecards and protobuf buffers are many short-lived allocations of
// a few KiB; glibc's allocator spent a quarter of the server's time on them.
// mimalloc 2, not 3: 3 took ~10 % more CPU per form and ~50 MiB more
// (BENCHMARKS.md, fifteenth session).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 2's `purge_delay` option: its place in `mi_option_e` of the
/// sources `libmimalloc-sys` 0.1.49 vendors (pinned in Cargo.toml, since the
/// bindings name no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Pages freed are handed back to the OS after a second rather than 10 ms
/// (arena memory after ten rather than 0.1): a batch frees what the next one
/// allocates again, and each page handed back came back as a fault and a
/// zeroed page. ~10 % less CPU per form for ~30 MiB more (BENCHMARKS.md,
/// fifteenth session); idle, memory still goes. `MIMALLOC_PURGE_DELAY`, when
/// set, is left to decide.
fn keep_freed_pages_a_second() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets a plain integer option, read when freed pages are purged.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
}

#[derive(Parser)]
#[command(
    name = "jixiao",
    version,
    about = "Collects, scores, audits and exports budget performance self-evaluation forms (预算绩效自评表)"
)]
struct Cli {
    /// Log format: pretty or json.
    #[arg(long, global = true, default_value = "pretty")]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run services (all four by default, on the embedded SQLite database and in-process queue).
    Serve(ServeArgs),
    /// Import documents (text exports of the Word forms) and print one line per form.
    Import(import::Args),
    /// Print the explained scorecard of every form in documents (nothing is stored).
    Score(score::Args),
    /// Print the findings of every form in documents (nothing is stored).
    Audit(audit::Args),
    /// Export the stored forms with their scorecards and findings: xlsx, csv,
    /// jsonl, fdp (Fiscal Data Package zip) or html (a self-contained report).
    Export(export::Args),
    /// Show the Redis scoring queue (lag, pending, dead letters) or replay a dead letter.
    Queue(queue::Args),
    /// The configuration: `jixiao config show` prints the effective one (file,
    /// then JIXIAO_* variables, then the same flags as `serve`), secrets masked;
    /// it fails on unknown keys or bad values, naming the key.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// API tokens: create (printed once), list, revoke.
    Token(token::Args),
    /// Push synthetic forms through a server and measure throughput, latency,
    /// end-to-end time and memory (see BENCHMARKS.md).
    Loadgen(loadgen::Args),
    /// The bare tonic service `loadgen --ceiling` measures against.
    #[command(hide = true)]
    LoadgenEcho(loadgen::EchoArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration, secrets masked.
    Show(ServeArgs),
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// TOML configuration file; JIXIAO_* variables and these flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:50051.
    #[arg(long)]
    listen: Option<String>,
    /// Directory of the embedded database.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://…
    #[arg(long)]
    database_url: Option<String>,
    /// redis://… for the Redis Streams queue (default: in-process).
    #[arg(long)]
    redis_url: Option<String>,
    /// Comma-separated roles: intake,scoring,audit,export.
    #[arg(long)]
    role: Option<String>,
}

impl ServeArgs {
    /// The configuration: file, then the environment, then these flags.
    fn load(&self) -> anyhow::Result<Config> {
        let flags: Vec<(&str, String)> = [
            ("listen", self.listen.clone()),
            (
                "data_dir",
                self.data_dir.as_ref().map(|d| d.display().to_string()),
            ),
            ("database_url", self.database_url.clone()),
            ("redis_url", self.redis_url.clone()),
            ("roles", self.role.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        Ok(Config::load(
            self.config.as_deref(),
            std::env::vars(),
            &flags,
        )?)
    }
}

fn main() -> ExitCode {
    keep_freed_pages_a_second();
    match run() {
        Ok(code) => code,
        Err(e) => {
            // One line a person can act on, never a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let serving = match &cli.command {
        Command::Serve(args) => Some(args.load()?),
        _ => None,
    };
    // The OTLP exporter starts inside the runtime it sends from.
    let provider = runtime.block_on(async { init_tracing(&cli.log_format, serving.as_ref()) })?;
    match cli.command {
        Command::Serve(_) => {
            let config = serving.context("the configuration was not loaded")?;
            let served = runtime.block_on(serve(config));
            if let Some(p) = provider {
                let _ = p.shutdown();
            }
            served?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Show(serve),
        } => {
            print!("{}", serve.load()?.show()?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Loadgen(args) => exit(runtime.block_on(loadgen::run(args))?),
        Command::LoadgenEcho(args) => exit(runtime.block_on(loadgen::serve_echo(args))?),
        Command::Token(args) => exit(runtime.block_on(token::run(args))?),
        Command::Import(args) => exit(runtime.block_on(import::run(args))?),
        Command::Score(args) => exit(runtime.block_on(score::run(args))?),
        Command::Audit(args) => exit(runtime.block_on(audit::run(args))?),
        Command::Export(args) => exit(runtime.block_on(export::run(args))?),
        Command::Queue(args) => exit(runtime.block_on(queue::run(args))?),
    }
}

fn exit(ok: bool) -> anyhow::Result<ExitCode> {
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bound = jixiao_server::bind(config).await?;
    bound.run(shutdown_signal()).await
}

/// SIGTERM or ctrl-c.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Logs on stderr (pretty or JSON, filtered by RUST_LOG), and traces over
/// OTLP when the configuration names an endpoint; returns the trace provider
/// to flush at exit.
fn init_tracing(
    format: &str,
    config: Option<&Config>,
) -> anyhow::Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,h2=warn"));
    let logs = match format {
        "pretty" => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        "json" => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
        other => anyhow::bail!("--log-format: expected pretty or json, got {other:?}"),
    };
    let registry = tracing_subscriber::registry().with(filter).with(logs);
    let endpoint = config
        .map(|c| c.telemetry.otlp_endpoint.as_str())
        .filter(|e| !e.is_empty());
    match (endpoint, config) {
        (Some(endpoint), Some(config)) => {
            let name = if config.telemetry.service_name.is_empty() {
                let roles: Vec<String> = config
                    .roles
                    .iter()
                    .map(|r| format!("{r:?}").to_lowercase())
                    .collect();
                format!("jixiao-{}", roles.join("-"))
            } else {
                config.telemetry.service_name.clone()
            };
            let (layer, provider) =
                jixiao_telemetry::otlp_layer(endpoint, &name).map_err(|e| anyhow::anyhow!(e))?;
            registry
                .with(layer)
                .try_init()
                .context("cannot initialise logging")?;
            Ok(Some(provider))
        }
        _ => {
            registry.try_init().context("cannot initialise logging")?;
            Ok(None)
        }
    }
}
