//! How client subcommands reach jixiao: a running server (`--addr`), or one
//! started in this process on the configured data directory (`--embedded`).

use std::time::Duration;

use anyhow::Context;
use jixiao_server::Config;
use jixiao_telemetry::PeerChannel;
use tokio::sync::oneshot;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// Address of a running jixiao.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// Run jixiao in this process on the configured data directory instead.
    #[arg(long)]
    pub embedded: bool,
    /// Configuration file for --embedded.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Data directory for --embedded.
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Tenant (region path) the forms belong to; empty: the token's region, or
    /// the server's default tenant.
    #[arg(long, default_value = "")]
    pub tenant: String,
    /// API token (`jixiao token create`), sent as `authorization: Bearer …`.
    #[arg(long, env = "JIXIAO_TOKEN", hide_env_values = true, default_value = "")]
    pub token: String,
    /// PEM CA certificate to trust for an `https://` address.
    #[arg(long)]
    pub ca_cert: Option<std::path::PathBuf>,
}

/// A connection, and the embedded server behind it if there is one.
pub struct Connection {
    pub channel: PeerChannel,
    embedded: Option<(
        oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

impl Connection {
    pub async fn open(target: &Target) -> anyhow::Result<Connection> {
        let token = Some(target.token.as_str()).filter(|t| !t.is_empty());
        let with_token = |c: Channel| {
            jixiao_telemetry::peer(c, token).map_err(|e| anyhow::anyhow!("--token: {e}"))
        };
        if !target.embedded {
            let mut endpoint = Channel::from_shared(target.addr.clone())
                .with_context(|| format!("--addr {:?} is not a URL", target.addr))?
                .connect_timeout(Duration::from_secs(5));
            if let Some(ca) = &target.ca_cert {
                let pem = std::fs::read(ca)
                    .with_context(|| format!("--ca-cert: cannot read {}", ca.display()))?;
                endpoint = endpoint
                    .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
                    .context("--ca-cert")?;
            }
            let channel = endpoint.connect().await.with_context(|| {
                format!(
                    "cannot reach jixiao at {} (start it with `jixiao serve`, or pass --embedded)",
                    target.addr
                )
            })?;
            return Ok(Connection {
                channel: with_token(channel)?,
                embedded: None,
            });
        }
        let mut flags = vec![("listen", "127.0.0.1:0".to_string())];
        if let Some(d) = &target.data_dir {
            flags.push(("data_dir", d.display().to_string()));
        }
        let config = Config::load(target.config.as_deref(), std::env::vars(), &flags)?;
        let bound = jixiao_server::bind(config).await?;
        let url = format!("http://{}", bound.local_addr());
        let (stop, stopped) = oneshot::channel();
        let handle = tokio::spawn(bound.run(async {
            let _ = stopped.await;
        }));
        let mut last = None;
        for _ in 0..100 {
            match Channel::from_shared(url.clone())?.connect().await {
                Ok(channel) => {
                    return Ok(Connection {
                        channel: with_token(channel)?,
                        embedded: Some((stop, handle)),
                    })
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the embedded server did not start: {last:?}")
    }

    /// Stops the embedded server, if any, letting its workers finish.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Some((stop, handle)) = self.embedded {
            let _ = stop.send(());
            handle.await??;
        }
        Ok(())
    }
}
