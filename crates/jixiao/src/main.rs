//! `jixiao`: thin main. Parse the command line, load the configuration, run.

mod audit;
mod client;
mod documents;
mod export;
mod import;
mod queue;
mod score;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use jixiao_server::Config;

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
    /// Print the effective configuration (file, then JIXIAO_* variables, then the
    /// same flags as `serve`), secrets masked; fails on unknown keys or bad values.
    Config {
        #[command(flatten)]
        serve: ServeArgs,
    },
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
    fn load(self) -> anyhow::Result<Config> {
        let flags: Vec<(&str, String)> = [
            ("listen", self.listen),
            ("data_dir", self.data_dir.map(|d| d.display().to_string())),
            ("database_url", self.database_url),
            ("redis_url", self.redis_url),
            ("roles", self.role),
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
    init_tracing(&cli.log_format)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => {
            let config = args.load()?;
            runtime.block_on(serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config { serve } => {
            print!("{}", serve.load()?.show()?);
            Ok(ExitCode::SUCCESS)
        }
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

fn init_tracing(format: &str) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        "pretty" => builder.try_init(),
        "json" => builder.json().try_init(),
        other => anyhow::bail!("--log-format: expected pretty or json, got {other:?}"),
    }
    .map_err(|e| anyhow::anyhow!(e))
    .context("cannot initialise logging")
}
