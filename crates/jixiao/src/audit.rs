//! `jixiao audit FILE`: every form's findings, with place and numbers.

use jixiao_proto::v1::{self, audit_service_client::AuditServiceClient};

use crate::client::{Connection, Target};
use crate::documents;

/// The unit a form is filed under: 预算单位, else 主管部门, else 实施单位.
fn unit_of(form: &v1::Form) -> String {
    let u = form.units.clone().unwrap_or_default();
    [u.budget_unit, u.competent_department, u.implementing_unit]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub target: Target,
}

pub async fn run(args: Args) -> anyhow::Result<bool> {
    let (mut forms, mut ok) = documents::read(&args.files);
    for found in &mut forms {
        if let Some(u) = found.form.units.as_mut().filter(|u| u.region.is_empty()) {
            u.region = args.target.tenant.clone();
        }
    }
    let conn = Connection::open(&args.target).await?;
    let mut audit = AuditServiceClient::new(conn.channel.clone());
    let mut total = 0;
    for found in &forms {
        let form = found.form.clone();
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
    // Cross-form checks, per department and year.
    let mut departments: Vec<(String, i32)> = forms
        .iter()
        .map(|f| (unit_of(&f.form), f.form.fiscal_year))
        .collect();
    departments.sort();
    departments.dedup();
    for (unit, year) in departments {
        let group: Vec<&documents::FoundForm> = forms
            .iter()
            .filter(|f| unit_of(&f.form) == unit && f.form.fiscal_year == year)
            .collect();
        let reply = audit
            .audit_department(v1::AuditDepartmentRequest {
                forms: group.iter().map(|f| f.form.clone()).collect(),
                ..Default::default()
            })
            .await;
        match reply {
            Ok(reply) => {
                let findings = reply.into_inner().findings;
                println!(
                    "== {unit} {year}: {} forms together  ({} findings)",
                    group.len(),
                    findings.len()
                );
                for d in findings {
                    total += 1;
                    let f = d.finding.unwrap_or_default();
                    println!(
                        "   {}  at {}  expected {}  stated {}  diff {}",
                        f.rule_id,
                        group[d.form_index as usize].place,
                        f.expected,
                        f.stated,
                        f.difference
                    );
                    println!("           {}", f.message_zh);
                }
            }
            Err(status) => {
                println!("== {unit} {year}: not audited: {}", status.message());
                ok = false;
            }
        }
    }
    println!("{total} findings");
    conn.close().await?;
    Ok(ok)
}
