//! `jixiao import FILE...`: sends documents to ImportDocument, waits for their
//! forms to be scored and audited, and prints one line per form.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use jixiao_proto::v1::{
    self, audit_service_client::AuditServiceClient, imported_form::Outcome,
    intake_service_client::IntakeServiceClient, scoring_service_client::ScoringServiceClient,
};
use jixiao_telemetry::PeerChannel;

use crate::client::{Connection, Target};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Documents: text exports (.txt) of the Word files departments send.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub target: Target,
    /// Rulebook to score with; by default the one each form's region and year call for.
    #[arg(long, default_value = "")]
    pub rulebook: String,
    /// Seconds to wait for scoring and audit before printing what is there.
    #[arg(long, default_value_t = 120)]
    pub wait_secs: u64,
}

struct Row {
    file: String,
    line: u32,
    submission_id: String,
    deduplicated: bool,
}

pub async fn run(args: Args) -> anyhow::Result<bool> {
    let conn = Connection::open(&args.target).await?;
    let ok = import(&args, conn.channel.clone()).await;
    conn.close().await?;
    ok
}

async fn import(args: &Args, channel: PeerChannel) -> anyhow::Result<bool> {
    let mut intake = IntakeServiceClient::new(channel.clone()).max_encoding_message_size(64 << 20);
    let progress = std::io::stderr().is_terminal();
    let mut rows = Vec::new();
    let (mut failed_files, mut rejected, mut notes) = (0, 0, 0);
    for (n, path) in args.files.iter().enumerate() {
        let name = path.display().to_string();
        if progress {
            eprint!("\r\x1b[K[{}/{}] {name}", n + 1, args.files.len());
        }
        let content = match std::fs::read(path) {
            Ok(c) => c,
            Err(e) => {
                println!("{name}: cannot read: {e}");
                failed_files += 1;
                continue;
            }
        };
        let reply = intake
            .import_document(v1::ImportDocumentRequest {
                tenant: args.target.tenant.clone(),
                file_name: name.clone(),
                content,
                content_type: String::new(),
                rulebook_id: args.rulebook.clone(),
            })
            .await;
        let reply = match reply {
            Ok(r) => r.into_inner(),
            Err(status) => {
                println!("{name}: not imported: {}", status.message());
                failed_files += 1;
                continue;
            }
        };
        for d in &reply.diagnostics {
            println!("{name}:{}: {}: {}", d.line, d.code, d.message);
            notes += 1;
        }
        for form in reply.forms {
            let line = form.origin.as_ref().map(|o| o.first_line).unwrap_or(0);
            for d in &form.diagnostics {
                println!("{name}:{}: {}: {} ({})", d.line, d.code, d.message, d.path);
                notes += 1;
            }
            match form.outcome {
                Some(Outcome::Accepted(a)) => rows.push(Row {
                    file: name.clone(),
                    line,
                    submission_id: a.submission.map(|s| s.id).unwrap_or_default(),
                    deduplicated: a.deduplicated,
                }),
                Some(Outcome::Error(e)) => {
                    println!("{name}:{line}: rejected ({}): {}", e.code, e.message);
                    rejected += 1;
                }
                None => {}
            }
        }
    }
    if progress {
        eprintln!(
            "\r\x1b[K{} files read; waiting for scoring and audit…",
            args.files.len()
        );
    }
    wait_audited(&mut intake, &rows, Duration::from_secs(args.wait_secs)).await?;
    print_table(channel, &rows).await?;
    let duplicates = rows.iter().filter(|r| r.deduplicated).count();
    println!(
        "{} files, {} forms stored ({} new, {duplicates} already there), {rejected} rejected, {notes} diagnostics, {failed_files} files failed",
        args.files.len(),
        rows.len(),
        rows.len() - duplicates,
    );
    Ok(failed_files == 0)
}

async fn wait_audited(
    intake: &mut IntakeServiceClient<PeerChannel>,
    rows: &[Row],
    wait: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + wait;
    for row in rows {
        loop {
            let s = intake
                .get_submission(v1::GetSubmissionRequest {
                    id: row.submission_id.clone(),
                })
                .await?
                .into_inner();
            if s.status == v1::SubmissionStatus::Audited as i32 || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// The 年度资金总额 amounts of a stored form.
fn totals(form: &v1::Form) -> (String, String) {
    let funds = form.funds.clone().unwrap_or_default();
    funds
        .rows
        .iter()
        .find(|r| r.source == v1::FundSource::Total as i32)
        .map(|r| (r.full_year_budget.clone(), r.executed.clone()))
        .unwrap_or_default()
}

async fn print_table(channel: PeerChannel, rows: &[Row]) -> anyhow::Result<()> {
    let mut intake = IntakeServiceClient::new(channel.clone());
    let mut scoring = ScoringServiceClient::new(channel.clone());
    let mut audit = AuditServiceClient::new(channel);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "file:line\t预算单位\t项目\t全年预算数\t全年执行数\t总分(填报)\t总分(重算)\t等级\t问题数"
    )?;
    for row in rows {
        let s = intake
            .get_submission(v1::GetSubmissionRequest {
                id: row.submission_id.clone(),
            })
            .await?
            .into_inner();
        let (budget, executed) = s.form.as_ref().map(totals).unwrap_or_default();
        let card = scoring
            .get_score_card(v1::GetScoreCardRequest {
                submission_id: s.id.clone(),
                rulebook_id: String::new(),
            })
            .await
            .map(|c| c.into_inner())
            .ok();
        let findings = audit
            .list_findings(v1::ListFindingsRequest {
                submission_id: s.id.clone(),
                page_size: 1000,
                ..Default::default()
            })
            .await
            .context("listing findings")?
            .into_inner()
            .findings;
        let dash = |v: &str| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.to_string()
            }
        };
        writeln!(
            out,
            "{}:{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            row.file,
            row.line,
            s.budget_unit,
            dash(&s.project_name),
            dash(&budget),
            dash(&executed),
            dash(
                &card
                    .as_ref()
                    .map(|c| c.stated_total.clone())
                    .unwrap_or_default()
            ),
            dash(
                &card
                    .as_ref()
                    .map(|c| c.recomputed_total.clone())
                    .unwrap_or_default()
            ),
            dash(&card.as_ref().map(|c| c.grade.clone()).unwrap_or_default()),
            findings.len()
        )?;
    }
    Ok(())
}
