//! `jixiao token create|list|revoke`: API tokens, straight in the configured
//! database (an operator's command, like `jixiao queue`). A token is printed
//! once, at creation; only its hash is stored.

use anyhow::Context;
use jixiao_auth::{issue_token, Scope, ALL_REGIONS};
use jixiao_server::Config;
use jixiao_store::{entity::api_token, Store};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
    /// Configuration file (database_url, data_dir); JIXIAO_* variables override it.
    #[arg(long, global = true)]
    pub config: Option<std::path::PathBuf>,
    /// sqlite://… or postgres://… (default: the configuration's).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Directory of the embedded database (default: the configuration's).
    #[arg(long, global = true)]
    pub data_dir: Option<std::path::PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Make a token; it is printed once and cannot be shown again.
    Create {
        /// Region path the token sees, with every region under it (湖南省/株洲市); `*` for all.
        #[arg(long)]
        tenant: String,
        /// Comma-separated: submit, read, export, rescore.
        #[arg(long)]
        scopes: String,
        /// Days until it expires; 0 for never.
        #[arg(long, default_value_t = 90)]
        expires_in_days: u32,
        /// A note on whom it is for.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by its id (the 12 characters after `jx_`).
    Revoke { id: String },
}

pub async fn run(args: Args) -> anyhow::Result<bool> {
    let mut flags: Vec<(&str, String)> = Vec::new();
    if let Some(u) = &args.database_url {
        flags.push(("database_url", u.clone()));
    }
    if let Some(d) = &args.data_dir {
        flags.push(("data_dir", d.display().to_string()));
    }
    let config = Config::load(args.config.as_deref(), std::env::vars(), &flags)?;
    if config.database_url.is_empty() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&config.database_url())
        .await
        .context("cannot open the database")?;
    let now = jixiao_proto::convert::now_millis();
    match args.command {
        Command::Create {
            tenant,
            scopes,
            expires_in_days,
            name,
        } => {
            let tenant = tenant.trim().trim_end_matches('/').to_string();
            if tenant.is_empty() {
                anyhow::bail!(
                    "--tenant: a region path such as 湖南省/株洲市, or {ALL_REGIONS} for all"
                );
            }
            let scopes =
                Scope::parse_list(&scopes).map_err(|e| anyhow::anyhow!("--scopes: {e}"))?;
            let issued = issue_token().map_err(|e| anyhow::anyhow!(e))?;
            let expires_at =
                (expires_in_days > 0).then(|| now + i64::from(expires_in_days) * 86_400_000);
            store
                .create_token(api_token::Model {
                    id: issued.id.clone(),
                    token_hash: issued.hash,
                    tenant: tenant.clone(),
                    scopes: scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    name,
                    created_at: now,
                    expires_at,
                    revoked_at: None,
                })
                .await?;
            eprintln!(
                "token {} for {tenant} ({}), {}; it is shown only this once:",
                issued.id,
                scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                match expires_at {
                    Some(_) => format!("expires in {expires_in_days} days"),
                    None => "never expires".into(),
                }
            );
            println!("{}", issued.token);
        }
        Command::List => {
            println!("id\ttenant\tscopes\tstate\tname");
            for t in store.tokens().await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}\t{state}\t{}", t.id, t.tenant, t.scopes, t.name);
            }
        }
        Command::Revoke { id } => {
            if !store.revoke_token(&id, now).await? {
                println!("no active token {id}");
                return Ok(false);
            }
            println!("token {id} revoked");
        }
    }
    Ok(true)
}
