//! `jixiao audit FILE`: every form's findings, with place and numbers.

use jixiao_proto::v1::{self, audit_service_client::AuditServiceClient};

use crate::client::{Connection, Target};
use crate::documents;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub target: Target,
}

pub async fn run(args: Args) -> anyhow::Result<bool> {
    let (forms, mut ok) = documents::read(&args.files);
    let conn = Connection::open(&args.target).await?;
    let mut audit = AuditServiceClient::new(conn.channel.clone());
    let mut total = 0;
    for found in forms {
        let mut form = found.form;
        if let Some(u) = form.units.as_mut().filter(|u| u.region.is_empty()) {
            u.region = args.target.tenant.clone();
        }
        match audit
            .audit_form(v1::AuditFormRequest {
                form: Some(form),
                scorecard: None,
            })
            .await
        {
            Ok(reply) => {
                let findings = reply.into_inner().findings;
                println!(
                    "== {}  {}  ({} findings)",
                    found.place,
                    found.title,
                    findings.len()
                );
                for f in &findings {
                    total += 1;
                    let loc = f.location.clone().unwrap_or_default();
                    let severity = v1::Severity::try_from(f.severity)
                        .map(|s| {
                            s.as_str_name()
                                .trim_start_matches("SEVERITY_")
                                .to_lowercase()
                        })
                        .unwrap_or_default();
                    println!(
                        "   {severity:<7} {}  [{} / {} / {}]  expected {}  stated {}  diff {}",
                        f.rule_id,
                        loc.section,
                        loc.row,
                        loc.column,
                        f.expected,
                        f.stated,
                        f.difference
                    );
                    println!("           {}", f.message_zh);
                }
            }
            Err(status) => {
                println!(
                    "== {}  {}: not audited: {}",
                    found.place,
                    found.title,
                    status.message()
                );
                ok = false;
            }
        }
    }
    println!("{total} findings");
    conn.close().await?;
    Ok(ok)
}
