//! `jixiao export --format xlsx|csv|jsonl|fdp|html --out FILE`: one export of
//! the selected forms, written whole or not at all.

use std::io::Write;

use anyhow::Context;
use futures::StreamExt;
use jixiao_proto::v1::{self, export_service_client::ExportServiceClient};

use crate::client::{Connection, Target};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Xlsx,
    Csv,
    Jsonl,
    /// Fiscal Data Package: a zip of amounts.csv and datapackage.json.
    Fdp,
    Html,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// File to write (replaced only once the export is complete).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// A region path and everything under it, e.g. 湖南省.
    #[arg(long, default_value = "")]
    pub region: String,
    /// 预算单位 / 主管部门 / 实施单位, exact.
    #[arg(long, default_value = "")]
    pub unit: String,
    /// Fiscal year; 0 for any.
    #[arg(long, default_value_t = 0)]
    pub year: i32,
    /// received, scored or audited; any when absent.
    #[arg(long)]
    pub status: Option<String>,
    /// Only forms scored with this rulebook.
    #[arg(long, default_value = "")]
    pub rulebook: String,
    #[command(flatten)]
    pub target: Target,
}

fn status(name: Option<&str>) -> anyhow::Result<v1::SubmissionStatus> {
    Ok(match name {
        None => v1::SubmissionStatus::Unspecified,
        Some("received") => v1::SubmissionStatus::Received,
        Some("scored") => v1::SubmissionStatus::Scored,
        Some("audited") => v1::SubmissionStatus::Audited,
        Some(other) => {
            anyhow::bail!("--status: expected received, scored or audited, got {other:?}")
        }
    })
}

pub async fn run(args: Args) -> anyhow::Result<bool> {
    let format = match args.format {
        FormatArg::Xlsx => v1::ExportFormat::Xlsx,
        FormatArg::Csv => v1::ExportFormat::Csv,
        FormatArg::Jsonl => v1::ExportFormat::Jsonl,
        FormatArg::Fdp => v1::ExportFormat::Fdp,
        FormatArg::Html => v1::ExportFormat::Html,
    };
    let request = v1::ExportBatchRequest {
        format: format as i32,
        tenant: args.target.tenant.clone(),
        unit: args.unit.clone(),
        fiscal_year: args.year,
        status: status(args.status.as_deref())? as i32,
        region: args.region.clone(),
        rulebook_id: args.rulebook.clone(),
    };
    let conn = Connection::open(&args.target).await?;
    let written = export(&args.out, request, conn.channel.clone()).await;
    conn.close().await?;
    let bytes = written?;
    println!("{}: {bytes} bytes", args.out.display());
    Ok(true)
}

async fn export(
    out: &std::path::Path,
    request: v1::ExportBatchRequest,
    channel: jixiao_telemetry::PeerChannel,
) -> anyhow::Result<u64> {
    let mut client = ExportServiceClient::new(channel);
    let mut stream = client
        .export_batch(request)
        .await
        .map_err(|s| anyhow::anyhow!("export refused: {}", s.message()))?
        .into_inner();
    // Written beside the target and renamed at the end: an export that fails
    // halfway leaves no half file behind.
    let partial = out.with_extension("partial");
    let mut file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(s) => {
                drop(file);
                let _ = std::fs::remove_file(&partial);
                anyhow::bail!("export failed: {}", s.message());
            }
        };
        file.write_all(&chunk.data)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        bytes += chunk.data.len() as u64;
    }
    file.sync_all()?;
    std::fs::rename(&partial, out)
        .with_context(|| format!("cannot move the export to {}", out.display()))?;
    Ok(bytes)
}
