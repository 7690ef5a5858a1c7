//! `jixiao score FILE`: every form's scorecard, stated against recomputed, with
//! the explanation of each line.

use jixiao_proto::v1::{self, scoring_service_client::ScoringServiceClient};

use crate::client::{Connection, Target};
use crate::documents;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// Rulebook id; by default the one the form's region and year call for.
    #[arg(long, default_value = "")]
    pub rulebook: String,
    #[command(flatten)]
    pub target: Target,
}

pub async fn run(args: Args) -> anyhow::Result<bool> {
    let (forms, mut ok) = documents::read(&args.files);
    let conn = Connection::open(&args.target).await?;
    let mut scoring = ScoringServiceClient::new(conn.channel.clone());
    for found in forms {
        let mut form = found.form;
        if let Some(u) = form.units.as_mut().filter(|u| u.region.is_empty()) {
            u.region = args.target.tenant.clone();
        }
        let card = scoring
            .score_form(v1::ScoreFormRequest {
                form: Some(form),
                rulebook_id: args.rulebook.clone(),
            })
            .await;
        println!("== {}  {}", found.place, found.title);
        match card {
            Ok(card) => print_card(&card.into_inner()),
            Err(status) => {
                println!("   not scored: {}", status.message());
                ok = false;
            }
        }
    }
    conn.close().await?;
    Ok(ok)
}

fn print_card(c: &v1::ScoreCard) {
    println!(
        "   rulebook {} {} (sha256 {}…), engine {}",
        c.rulebook_id,
        c.rulebook_version,
        &c.rulebook_digest[..12.min(c.rulebook_digest.len())],
        c.engine_version
    );
    println!(
        "   {:<28} {:>6} {:>8} {:>8}  explanation",
        "line", "分值", "填报得分", "重算得分"
    );
    for l in &c.lines {
        let status = match v1::LineStatus::try_from(l.status) {
            Ok(v1::LineStatus::Scored) => "",
            Ok(v1::LineStatus::NotApplicable) => "[n/a] ",
            Ok(v1::LineStatus::Unverifiable) => "[unverifiable] ",
            _ => "[self score kept] ",
        };
        let mark = if !l.recomputed_score.is_empty()
            && l.stated_score != l.recomputed_score
            && differs(&l.stated_score, &l.recomputed_score)
        {
            " ◀"
        } else {
            ""
        };
        let label: String = l.label.chars().take(26).collect();
        println!(
            "   {label:<28} {:>6} {:>8} {:>8}  {status}{}{mark}",
            l.weight, l.stated_score, l.recomputed_score, l.explanation
        );
    }
    println!(
        "   总分 stated {} recomputed {} → {}  ({})",
        c.stated_total, c.recomputed_total, c.grade, c.total_explanation
    );
}

/// Whether two decimal strings differ as numbers ("10" and "10.00" do not).
fn differs(a: &str, b: &str) -> bool {
    match (jixiao_form::parse_decimal(a), jixiao_form::parse_decimal(b)) {
        (Ok(x), Ok(y)) => x != y,
        _ => a != b,
    }
}
